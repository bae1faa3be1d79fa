// Creating ONNX Runtime sessions with our options and execution-provider choice.
#pragma once

#include <filesystem>

#include "runtime/ort.h"

namespace gemma4 {

// Creates a session for `onnx` on `device` ("cpu" or "cuda"). Errors from ONNX Runtime come back
// as gemma4::Error naming the file.
Ort::Session CreateSession(const std::filesystem::path& onnx, const std::string& device, const RuntimeOptions& options);

}  // namespace gemma4
