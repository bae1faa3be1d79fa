// Pointing com.microsoft MatMulNBits nodes at another implementation (our int4 kernel, see
// src/kernels/int4_matmul_op.h) at the protobuf level, before ONNX Runtime sees the graph.
// Only nodes that implementation handles move: 4 bits, block 32, accuracy_level 4 (int8
// activations), K and N given, float or float16 scales held in an initializer, zero points
// absent or packed uint8 initializers, no g_idx and no bias. Every other node, and everything
// inside subgraphs, stays as it was. The file on disk is never modified.
#pragma once

#include <cstddef>
#include <string>

namespace gemma4::onnx {

struct MatMulRouting {
  std::string domain;    // the new nodes' domain (an opset_import for it is added, version 1)
  std::string op_float;  // op_type for nodes with float scales (float activations)
  std::string op_half;   // op_type for nodes with float16 scales ("": they stay)
};

struct RoutedModel {
  std::string model;    // the edited ModelProto (empty when no node moved)
  size_t routed = 0;    // nodes now on `routing`'s ops
  size_t kept = 0;      // MatMulNBits nodes left on ONNX Runtime's op
};

// `name` names the model in errors (Error(kCorrupt) with the byte offset on malformed bytes).
RoutedModel RouteMatMulNBits(const std::string& model, const MatMulRouting& routing, const std::string& name);

}  // namespace gemma4::onnx
