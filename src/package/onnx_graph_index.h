// A read-only index of one ONNX graph's nodes, straight from the protobuf bytes (no ONNX Runtime,
// no weights loaded): each node's op, inputs, outputs and integer attributes, who produces and who
// consumes every tensor, the graph's inputs and outputs, and the values of small integer
// constants. The load-time edits (onnx_kv_attention.h, onnx_kv_window.h) decide from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "package/proto_wire.h"

namespace gemma4::onnx {

// GraphProto / ModelProto field numbers.
inline constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12,
                          kGraphValueInfo = 13, kModelGraph = 7;
// NodeProto field numbers.
inline constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                          kNodeDomain = 7;

struct GraphNode {
  size_t field = 0;  // index in the graph's fields
  std::string_view name, op_type, domain;
  std::vector<std::string_view> inputs, outputs;
  std::map<std::string_view, int64_t> ints;  // integer attributes
  // "com.microsoft:GroupQueryAttention", or the bare op type in the default domain.
  std::string Op() const {
    return (domain.empty() || domain == "ai.onnx" ? "" : std::string(domain) + ":") + std::string(op_type);
  }
};

struct TensorUse {
  size_t node = 0, slot = 0;
};

struct GraphIndex {
  std::vector<wire::Field> model_fields;
  size_t graph = 0;  // index of the graph in model_fields
  std::vector<wire::Field> fields;
  std::vector<GraphNode> nodes;
  std::map<std::string_view, std::vector<TensorUse>> consumers;
  std::map<std::string_view, TensorUse> producer;
  std::set<std::string_view> inputs, outputs;
  std::map<std::string_view, size_t> input_field;  // graph input name -> index in fields
  // Integer tensors of at most 4 elements (initializers and Constant nodes): their values.
  std::map<std::string_view, std::vector<int64_t>> small_ints;

  const std::vector<TensorUse>& ConsumersOf(std::string_view name) const;
};

// Throws wire::WireError on a malformed protobuf (callers name the file).
GraphIndex IndexGraph(std::string_view model);

// A NodeProto's bytes (as a graph field) with inputs and outputs renamed per `rename`, its name
// suffixed with `name_suffix` when that is not empty, every other field verbatim.
std::string RenamedNodeField(const wire::Field& field, const std::map<std::string, std::string, std::less<>>& rename,
                             std::string_view name_suffix = {});

}  // namespace gemma4::onnx
