// Creating ONNX Runtime sessions with our options and execution-provider choice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/ort.h"

namespace gemma4 {

// Whether sessions on `device` run MatMulNBits on our kernels (RuntimeOptions::kernels "gemma4"
// on the CPU); throws Error(kInvalidArgument) on an unknown RuntimeOptions::kernels. Only
// CreateSessionFromBytes routes nodes to them (the decoder's sessions are all made from bytes
// when it is on).
bool UsesOwnKernels(const std::string& device, const RuntimeOptions& options);

// What a session made from edited bytes needs besides them: our float kernel's operators (for a
// graph the LM head edit gave them, runtime/lm_head.h), and initializers whose values we hold in
// memory (the graph declares them with an external data reference that is never read; ONNX Runtime
// copies the values while it creates the session, after which `bytes` may go).
struct HeldInitializers {
  struct Tensor {
    std::string name;
    int32_t elem_type = 0;  // onnx TensorProto.DataType
    std::vector<int64_t> dims;
    size_t offset = 0, size = 0;  // bytes in `bytes`
  };
  std::vector<Tensor> tensors;
  std::vector<uint8_t> bytes;
};
struct SessionExtras {
  bool float_ops = false;
  const HeldInitializers* initializers = nullptr;
  // Where to add the GroupQueryAttention nodes put on our decode attention kernel and those left
  // on ONNX Runtime's (RuntimeOptions::attention); null: not counted.
  size_t* own_attention = nullptr;
  size_t* ort_attention = nullptr;
};

// Whether sessions on `device` run GroupQueryAttention's decode steps on our kernel
// (RuntimeOptions::attention "gemma4" on the CPU); throws Error(kInvalidArgument) on an unknown value.
bool UsesOwnAttention(const std::string& device, const RuntimeOptions& options);

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
                                    const RuntimeOptions& options, const std::string& part, size_t& own, size_t& ort,
                                    const SessionExtras& extras = {});

}  // namespace gemma4
