// A one-node ONNX model around com.microsoft MatMulNBits (initializer weights), built in memory
// so the kernel tests can run ONNX Runtime's own kernel on the very inputs ours gets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "package/proto_wire.h"

namespace gemma4::kernels::testing {

struct MatMulNBitsCase {
  size_t m = 1, n = 1, k = 32;  // m = 0: A and Y declare a symbolic first dimension "M"
  bool half = false;  // A, scales and Y in float16 (else float)
  int accuracy_level = 4;
  std::vector<uint8_t> codes;        // [n][blocks][16]
  std::vector<uint8_t> scale_bytes;  // [n * blocks] floats or halves, raw
  std::vector<uint8_t> zero_points;  // packed 4-bit, empty for none
};

namespace detail {
using onnx::wire::PutBytesField;
using onnx::wire::PutVarint;
inline void PutInt(std::string& out, uint32_t field, int64_t v) {
  PutVarint(out, uint64_t(field) << 3);
  PutVarint(out, static_cast<uint64_t>(v));
}
inline std::string Tensor(const std::string& name, int type, const std::vector<int64_t>& dims, const std::vector<uint8_t>& raw) {
  std::string t;
  for (int64_t d : dims) PutInt(t, 1, d);
  PutInt(t, 2, type);
  PutBytesField(t, 8, name);
  PutBytesField(t, 9, std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  return t;
}
inline std::string ValueInfo(const std::string& name, int type, const std::vector<int64_t>& dims) {
  std::string shape;
  for (int64_t d : dims) {
    std::string dim;
    if (d > 0) PutInt(dim, 1, d);
    else PutBytesField(dim, 2, "M");
    PutBytesField(shape, 1, dim);
  }
  std::string tensor;
  PutInt(tensor, 1, type);
  PutBytesField(tensor, 2, shape);
  std::string type_proto;
  PutBytesField(type_proto, 1, tensor);
  std::string vi;
  PutBytesField(vi, 1, name);
  PutBytesField(vi, 2, type_proto);
  return vi;
}
inline std::string IntAttribute(const std::string& name, int64_t v) {
  std::string a;
  PutBytesField(a, 1, name);
  PutInt(a, 3, v);
  PutInt(a, 20, 2);  // AttributeProto.INT
  return a;
}
}  // namespace detail

// The serialized ModelProto: input "A" [m, k], output "Y" [m, n].
inline std::string MatMulNBitsModel(const MatMulNBitsCase& c) {
  using namespace detail;
  const int ftype = c.half ? 10 : 1;
  const int64_t blocks = static_cast<int64_t>((c.k + 31) / 32);
  std::string node;
  PutBytesField(node, 1, "A");
  PutBytesField(node, 1, "B");
  PutBytesField(node, 1, "scales");
  if (!c.zero_points.empty()) PutBytesField(node, 1, "zero_points");
  PutBytesField(node, 2, "Y");
  PutBytesField(node, 3, "matmul");
  PutBytesField(node, 4, "MatMulNBits");
  PutBytesField(node, 7, "com.microsoft");
  PutBytesField(node, 5, IntAttribute("K", static_cast<int64_t>(c.k)));
  PutBytesField(node, 5, IntAttribute("N", static_cast<int64_t>(c.n)));
  PutBytesField(node, 5, IntAttribute("bits", 4));
  PutBytesField(node, 5, IntAttribute("block_size", 32));
  PutBytesField(node, 5, IntAttribute("accuracy_level", c.accuracy_level));
  std::string graph;
  PutBytesField(graph, 1, node);
  PutBytesField(graph, 2, "matmulnbits_test");
  PutBytesField(graph, 5, Tensor("B", 2, {static_cast<int64_t>(c.n), blocks, 16}, c.codes));
  PutBytesField(graph, 5, Tensor("scales", ftype, {static_cast<int64_t>(c.n) * blocks}, c.scale_bytes));
  if (!c.zero_points.empty()) {
    PutBytesField(graph, 5, Tensor("zero_points", 2, {static_cast<int64_t>(c.zero_points.size())}, c.zero_points));
  }
  PutBytesField(graph, 11, ValueInfo("A", ftype, {static_cast<int64_t>(c.m), static_cast<int64_t>(c.k)}));
  PutBytesField(graph, 12, ValueInfo("Y", ftype, {static_cast<int64_t>(c.m), static_cast<int64_t>(c.n)}));
  std::string model;
  PutInt(model, 1, 8);  // ir_version
  std::string opset;
  PutBytesField(opset, 1, "");
  PutInt(opset, 2, 21);
  PutBytesField(model, 8, opset);
  std::string ms;
  PutBytesField(ms, 1, "com.microsoft");
  PutInt(ms, 2, 1);
  PutBytesField(model, 8, ms);
  PutBytesField(model, 7, graph);
  return model;
}

}  // namespace gemma4::kernels::testing
