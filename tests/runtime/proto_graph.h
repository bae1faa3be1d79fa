// A hand-written ONNX model for the graph edits' tests, built node by node with the same wire
// writers the edits use (package/proto_wire.h), so a test states exactly the graph it means.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/float16.h"
#include "package/proto_wire.h"

namespace gemma4::testing {

struct ProtoGraph {
  std::string graph;
  std::vector<std::pair<std::string, int64_t>> opsets;  // ModelProto.opset_import, when set

  // `domain` empty: the default ONNX domain.
  void Node(const std::string& op, const std::vector<std::string>& ins, const std::string& out,
            const std::map<std::string, int64_t>& ints = {}, const std::vector<int64_t>& axes = {},
            const std::string& domain = "") {
    using onnx::wire::PutBytesField;
    using onnx::wire::PutVarint;
    std::string n;
    for (const auto& in : ins) PutBytesField(n, 1, in);
    PutBytesField(n, 2, out);
    PutBytesField(n, 3, out + "_node");
    PutBytesField(n, 4, op);
    for (const auto& [name, value] : ints) {
      std::string attr;
      PutBytesField(attr, 1, name);
      PutVarint(attr, 3 << 3);
      PutVarint(attr, static_cast<uint64_t>(value));
      PutBytesField(n, 5, attr);
    }
    if (!axes.empty()) {
      std::string attr, packed;
      PutBytesField(attr, 1, "axes");
      for (int64_t a : axes) PutVarint(packed, static_cast<uint64_t>(a));
      PutBytesField(attr, 8, packed);
      PutBytesField(n, 5, attr);
    }
    if (!domain.empty()) PutBytesField(n, 7, domain);
    PutBytesField(graph, 1, n);
  }
  // A TensorProto's dims, data_type and name.
  static std::string TensorHeader(const std::string& name, int32_t elem, const std::vector<int64_t>& dims) {
    std::string t;
    for (int64_t d : dims) {
      onnx::wire::PutVarint(t, 1 << 3);
      onnx::wire::PutVarint(t, static_cast<uint64_t>(d));
    }
    onnx::wire::PutVarint(t, 2 << 3);
    onnx::wire::PutVarint(t, static_cast<uint64_t>(elem));
    onnx::wire::PutBytesField(t, 8, name);
    return t;
  }
  // A float32 (elem 1), float16 (elem 10) or int64 (elem 7) tensor, raw little-endian data.
  static std::string Tensor(const std::string& name, int32_t elem, const std::vector<int64_t>& dims,
                            const std::vector<double>& values) {
    using onnx::wire::PutBytesField;
    using onnx::wire::PutVarint;
    std::string t = TensorHeader(name, elem, dims);
    std::string raw;
    for (double v : values) {
      if (elem == 7) {
        int64_t i = static_cast<int64_t>(v);
        raw.append(reinterpret_cast<const char*>(&i), 8);
      } else if (elem == 10) {
        const uint16_t h = FloatToHalf(static_cast<float>(v));
        raw.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        float f = static_cast<float>(v);
        raw.append(reinterpret_cast<const char*>(&f), 4);
      }
    }
    PutBytesField(t, 9, raw);
    return t;
  }
  void Initializer(const std::string& name, int32_t elem, const std::vector<int64_t>& dims,
                   const std::vector<double>& values) {
    onnx::wire::PutBytesField(graph, 5, Tensor(name, elem, dims, values));
  }
  // An initializer whose `length` bytes are at `offset` of the file `location` beside the model.
  void ExternalInitializer(const std::string& name, int32_t elem, const std::vector<int64_t>& dims,
                           const std::string& location, uint64_t offset, uint64_t length) {
    using onnx::wire::PutBytesField;
    using onnx::wire::PutVarint;
    std::string t = TensorHeader(name, elem, dims);
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"location", location}, {"offset", std::to_string(offset)}, {"length", std::to_string(length)}}) {
      std::string entry;
      PutBytesField(entry, 1, key);
      PutBytesField(entry, 2, value);
      PutBytesField(t, 13, entry);
    }
    PutVarint(t, 14 << 3);
    PutVarint(t, 1);  // data_location EXTERNAL
    PutBytesField(graph, 5, t);
  }
  void ConstantNode(const std::string& out, double value) {
    using onnx::wire::PutBytesField;
    std::string n, attr;
    PutBytesField(n, 2, out);
    PutBytesField(n, 4, "Constant");
    PutBytesField(attr, 1, "value");
    PutBytesField(attr, 5, Tensor("", 1, {}, {value}));
    PutBytesField(n, 5, attr);
    PutBytesField(graph, 1, n);
  }
  void Output(const std::string& name) {
    std::string v;
    onnx::wire::PutBytesField(v, 1, name);
    onnx::wire::PutBytesField(graph, 12, v);
  }
  // A graph input or output (`field` 11 or 12) with a tensor type; dims < 0 are symbolic.
  void TypedValue(int field, const std::string& name, int32_t elem, const std::vector<int64_t>& dims) {
    using onnx::wire::PutBytesField;
    using onnx::wire::PutVarint;
    std::string shape;
    for (int64_t d : dims) {
      std::string dim;
      if (d < 0) {
        PutBytesField(dim, 2, "d" + std::to_string(-d));
      } else {
        PutVarint(dim, 1 << 3);
        PutVarint(dim, static_cast<uint64_t>(d));
      }
      PutBytesField(shape, 1, dim);
    }
    std::string tensor, type, v;
    PutVarint(tensor, 1 << 3);
    PutVarint(tensor, static_cast<uint64_t>(elem));
    PutBytesField(tensor, 2, shape);
    PutBytesField(type, 1, tensor);
    PutBytesField(v, 1, name);
    PutBytesField(v, 2, type);
    PutBytesField(graph, static_cast<uint32_t>(field), v);
  }
  std::string Model() const {
    using onnx::wire::PutBytesField;
    using onnx::wire::PutVarint;
    std::string model;
    if (!opsets.empty()) {
      PutVarint(model, 1 << 3);  // ir_version
      PutVarint(model, 8);
    }
    PutBytesField(model, 7, graph);
    for (const auto& [domain, version] : opsets) {
      std::string opset;
      PutBytesField(opset, 1, domain);
      PutVarint(opset, 2 << 3);
      PutVarint(opset, static_cast<uint64_t>(version));
      PutBytesField(model, 8, opset);
    }
    return model;
  }
};

}  // namespace gemma4::testing
