// A minimal, bounds-checked reader of the ONNX protobuf: just enough to list a graph's
// inputs, outputs, operators and initializers and where each initializer's bytes live,
// without ONNX Runtime and without loading weights. Used to validate a package up front.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace gemma4::onnx {

struct ExternalRef {
  std::string tensor;    // initializer name
  std::string location;  // file, relative to the model's folder
  uint64_t offset = 0;
  uint64_t length = 0;   // 0 when the entry omits it (then the whole rest of the file)
};

struct ValueInfo {
  std::string name;
  int32_t elem_type = 0;             // onnx TensorProto.DataType
  std::vector<int64_t> dims;         // -1 where symbolic
  std::vector<std::string> dim_params;  // the symbolic names ("" where numeric)
};

struct ModelSummary {
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<std::string> op_types;  // distinct "domain:op" (domain empty for ai.onnx), sorted
  uint64_t initializer_count = 0;
  uint64_t inline_bytes = 0;         // raw_data and typed data stored in the file
  std::vector<ExternalRef> external; // one per externally stored tensor
};

// Parses `path`. Throws gemma4::Error(kCorrupt) naming the file and byte offset when the
// protobuf is truncated or malformed, kNotFound when the file is missing.
ModelSummary ReadModelSummary(const std::filesystem::path& path);
// The same walk over bytes in memory; `name` stands for the file in messages.
ModelSummary ParseModelSummary(std::span<const uint8_t> bytes, const std::string& name);

// Human name of an ONNX element type ("float32", "float16", "int64", ...).
const char* ElementTypeName(int32_t elem_type);

}  // namespace gemma4::onnx
