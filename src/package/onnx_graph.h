// A node-level view of an ONNX graph read straight from the protobuf bytes (no ONNX Runtime, no
// weights loaded): each node's op, inputs, outputs and scalar attributes, who produces and who
// consumes each tensor, and where each initializer is. The graph edits done at load
// (onnx_kv_attention.h, onnx_kv_window.h, onnx_norm_fusion.h) match patterns on it and re-emit the ModelProto with
// only the nodes they change re-encoded; every other field is copied verbatim.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "package/proto_wire.h"

namespace gemma4::onnx {

// GraphProto / ModelProto field numbers.
inline constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12,
                          kGraphValueInfo = 13, kModelGraph = 7;
// onnx TensorProto.DataType values the edits read (one list for the package module: its sanitizer
// builds compile several sources as one, where two file-local copies would collide).
inline constexpr int32_t kElemFloat = 1, kElemUint8 = 2, kElemInt32 = 6, kElemInt64 = 7, kElemFloat16 = 10,
                         kElemDouble = 11;
// NodeProto field numbers.
inline constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                          kNodeDomain = 7;

struct GraphNode {
  size_t field = 0;  // index in the graph's fields
  std::string_view name, op_type, domain;
  std::vector<std::string_view> inputs, outputs;
  std::map<std::string_view, int64_t> ints;                // integer attributes
  std::map<std::string_view, float> floats;                // float attributes
  std::map<std::string_view, std::vector<int64_t>> int_lists;  // integer list attributes (axes, perm)
  std::map<std::string_view, wire::Reader> tensors;        // tensor attributes (a Constant's value)
  // "domain:op", the domain empty for ai.onnx.
  std::string Op() const;
};

struct TensorUse {
  size_t node = 0, slot = 0;
};

struct GraphView {
  std::vector<wire::Field> model_fields;
  size_t graph = 0;  // index of the graph in model_fields
  std::vector<wire::Field> fields;
  std::vector<GraphNode> nodes;
  std::map<std::string_view, std::vector<TensorUse>> consumers;
  std::map<std::string_view, TensorUse> producer;
  std::map<std::string_view, wire::Reader> initializers;  // name -> TensorProto
  std::set<std::string_view> inputs, outputs;
  std::map<std::string_view, size_t> input_field;  // graph input name -> index in fields
  // Integer tensors of at most 4 elements (initializers and Constant nodes): their values.
  std::map<std::string_view, std::vector<int64_t>> small_ints;

  const std::vector<TensorUse>& ConsumersOf(std::string_view tensor) const;
  // The node that produces `tensor`, or nullptr (a graph input, an initializer, a missing name).
  const GraphNode* ProducerOf(std::string_view tensor) const;
};

// Parses a ModelProto; the view points into `bytes`, which must outlive it. Throws
// wire::WireError on a malformed protobuf.
GraphView ParseGraph(std::string_view bytes);

// A constant tensor's facts, from an initializer or a Constant node's `value` / `value_float`.
struct ConstantInfo {
  int32_t elem_type = 0;              // onnx TensorProto.DataType
  std::vector<int64_t> dims;
  std::optional<double> scalar;       // the value, when it has one element of type float, float16,
                                      // double, int32 or int64 stored inline
  bool external = false;              // its data lives in a sidecar
};
// What `tensor` is when it is an initializer or the output of a Constant node; nullopt otherwise.
std::optional<ConstantInfo> ConstantOf(const GraphView& g, std::string_view tensor);

// A NodeProto's bytes (as a graph field) with inputs and outputs renamed per `rename`, its name
// suffixed with `name_suffix` when that is not empty, every other field verbatim.
std::string RenamedNodeField(const wire::Field& field, const std::map<std::string, std::string, std::less<>>& rename,
                             std::string_view name_suffix = {});

// Appends an AttributeProto (an int or a float) to the NodeProto bytes `node`.
void PutIntAttribute(std::string& node, std::string_view name, int64_t value);
void PutFloatAttribute(std::string& node, std::string_view name, float value);

// Re-emits the ModelProto: the graph's fields in order, with `replaced` (field index -> encoded
// graph field, tag included; "" drops the field) in place of the originals, and `appended` after
// the nodes it follows (field index -> encoded fields inserted right after that field).
std::string EmitModel(const GraphView& g, const std::map<size_t, std::string>& replaced,
                      const std::map<size_t, std::string>& appended = {});

}  // namespace gemma4::onnx
