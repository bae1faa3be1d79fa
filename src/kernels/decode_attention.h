// Attention of a few new positions over a long KV cache (a decode step, a speculative
// verification of a few drafts), with the semantics of com.microsoft GroupQueryAttention on the
// CPU: query heads share a KV head in groups of heads / kv_heads; a query at position p sees the
// keys [0, p], or the last `window` of them, [p - window + 1, p], when local_window_size = window > 0
// (what ONNX Runtime 1.30's operator computes); scores are
// scale * q . k (then softcap * tanh(score / softcap) when softcap > 0), softmax over the keys
// seen, times the values.
//
// Why not ONNX Runtime's kernel: it runs one GEMM per query head, so each cached row is read once
// per head (8 times for Gemma 4), over the whole buffer on sliding layers before the keys outside
// the window are zeroed. Here each cached row is read once for every query head that shares it,
// only inside the window, and the keys are split into chunks so that every thread streams its
// own part of the cache (a softmax per chunk, rescaled when the chunks are combined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

struct AttentionShape {
  size_t heads = 0, kv_heads = 0, head_size = 0;
  size_t rows = 0;      // new positions (the query's sequence length)
  size_t past = 0;      // positions before the first new one: the last query sees keys up to past + rows - 1
  size_t capacity = 0;  // rows of each KV head's cache buffer (>= past + rows)
  int64_t window = -1;  // local_window_size: the keys a query sees, itself included; <= 0: every earlier key
  float scale = 1.0f;
  float softcap = 0.0f;
};

// One batch row's operands. q and out: [rows][heads][head_size] float. k and v: [kv_heads]
// [capacity][head_size], float or IEEE half (cache_is_half), with the new positions already
// written at [past, past + rows).
struct AttentionOperands {
  const float* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  bool cache_is_half = false;
  float* out = nullptr;
};

// Runs `count` tasks, each as task(context, index); ParallelForSerial runs them in order.
using TaskRunner = void (*)(void* runner_context, void (*task)(void*, size_t), size_t count, void* task_context);
void ParallelForSerial(void* runner_context, void (*task)(void*, size_t), size_t count, void* task_context);

// Partial results of the chunks, reused between calls (one per calling thread).
struct AttentionScratch {
  std::vector<float> partial_out;  // [tasks][kv rows][head_size]
  std::vector<float> partial_max;  // [tasks][kv rows]
  std::vector<float> partial_sum;  // [tasks][kv rows]
};

// Computes out for one batch row. Throws nothing; the shape must be consistent (the operator
// checks it against the tensors).
void DecodeAttention(Isa isa, const AttentionShape& shape, const AttentionOperands& operands, AttentionScratch& scratch,
                     TaskRunner runner, void* runner_context);

}  // namespace gemma4::kernels
