// Creating ONNX Runtime sessions with our options and execution-provider choice.
#pragma once

#include <filesystem>
#include <string>

#include "runtime/ort.h"

namespace gemma4 {

// Creates a session for `onnx` on `device` ("cpu" or "cuda"). Errors from ONNX Runtime come back
// as gemma4::Error naming the file.
Ort::Session CreateSession(const std::filesystem::path& onnx, const std::string& device, const RuntimeOptions& options);

// The same from a serialized model held in memory (e.g. part of `onnx`) whose external data is
// read from `data_folder`. `onnx` names the model in errors; `part` ("_kv") is added to its name
// in profiles.
Ort::Session CreateSessionFromBytes(const std::string& bytes, const std::filesystem::path& onnx,
                                    const std::filesystem::path& data_folder, const std::string& device,
                                    const RuntimeOptions& options, const std::string& part);

}  // namespace gemma4
