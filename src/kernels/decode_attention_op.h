// DecodeAttention (kernels/decode_attention.h) as an ONNX Runtime custom operator standing in for
// com.microsoft GroupQueryAttention: the same seven inputs (query, key, value, past_key,
// past_value, seqlens_k, total_sequence_length), the same three outputs and the attributes
// num_heads, kv_num_heads, local_window_size, scale and softcap. Calls of up to
// kMaxOwnAttentionRows new positions after a past (decode steps, verification of drafts) run on
// our kernel; every other call (a prompt, the first call of a conversation, anything our checks
// do not accept) is handed to ONNX Runtime's own GroupQueryAttention with the same attributes,
// inputs and outputs, so prefill stays exactly what it was.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include <cstddef>

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

inline constexpr const char* kAttentionOpDomain = "gemma4.kernels.attention";
inline constexpr const char* kAttentionOpF32 = "GroupQueryAttentionF32";
inline constexpr const char* kAttentionOpF16 = "GroupQueryAttentionF16";
inline constexpr size_t kMaxOwnAttentionRows = 8;

// Adds the operators' domain to `options`; `isa` picks the kernel target of every node.
void AddDecodeAttentionOps(Ort::SessionOptions& options, Isa isa);

}  // namespace gemma4::kernels
