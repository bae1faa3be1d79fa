// Pointing com.microsoft nodes at our own operators at the protobuf level, before ONNX Runtime
// sees the graph: MatMulNBits at the int4 kernel (src/kernels/int4_matmul_op.h) and
// GroupQueryAttention at the decode attention kernel (src/kernels/decode_attention_op.h). Only
// nodes the operator handles move; every other node, and everything inside subgraphs, stays as it
// was, and every field of a moved node but its op_type and domain is copied verbatim. The file on
// disk is never modified.
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

// MatMulNBits nodes with 4 bits, block 32, accuracy_level 4 (int8 activations), K and N given,
// float or float16 scales held in an initializer, zero points absent or packed uint8
// initializers, no g_idx and no bias. `name` names the model in errors (Error(kCorrupt) with the
// byte offset on malformed bytes).
RoutedModel RouteMatMulNBits(const std::string& model, const MatMulRouting& routing, const std::string& name);

// GroupQueryAttention nodes with separate query, key and value, both past caches (graph inputs of
// type float or float16, which picks op_float or op_half), seqlens_k and total_sequence_length
// and no input after them (no rotary caches, position ids, attention bias or sinks), three
// outputs, and no attribute but num_heads, kv_num_heads, local_window_size, scale and softcap
// (do_rotary, rotary_interleaved and smooth_softmax are accepted at 0).
RoutedModel RouteGroupQueryAttention(const std::string& model, const MatMulRouting& routing, const std::string& name);

}  // namespace gemma4::onnx
