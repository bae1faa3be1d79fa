// Creating ONNX Runtime sessions with our options and execution-provider choice.
#pragma once

#include <filesystem>
#include <string>

#include "runtime/ort.h"

namespace gemma4 {

// Whether sessions on `device` run MatMulNBits on our kernels (RuntimeOptions::kernels "gemma4"
// on the CPU); throws Error(kInvalidArgument) on an unknown RuntimeOptions::kernels. Only
// CreateSessionFromBytes routes nodes to them (the decoder's sessions are all made from bytes
// when it is on).
bool UsesOwnKernels(const std::string& device, const RuntimeOptions& options);

// Creates a session for `onnx` on `device` ("cpu" or "cuda"). Errors from ONNX Runtime come back
// as gemma4::Error naming the file.
Ort::Session CreateSession(const std::filesystem::path& onnx, const std::string& device, const RuntimeOptions& options);

// The same from a serialized model held in memory (e.g. part of `onnx`) whose external data is
// read from `data_folder`. `onnx` names the model in errors; `part` ("_kv") is added to its name
// in profiles.
Ort::Session CreateSessionFromBytes(const std::string& bytes, const std::filesystem::path& onnx,
                                    const std::filesystem::path& data_folder, const std::string& device,
                                    const RuntimeOptions& options, const std::string& part);
// The same, adding to `own` and `ort` the MatMulNBits nodes put on our kernel and left on
// ONNX Runtime's.
Ort::Session CreateSessionFromBytes(const std::string& bytes, const std::filesystem::path& onnx,
                                    const std::filesystem::path& data_folder, const std::string& device,
                                    const RuntimeOptions& options, const std::string& part, size_t& own, size_t& ort);

}  // namespace gemma4
