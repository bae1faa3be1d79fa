// DecodeAttention: the keys every query row may see are cut into chunks, one task per (KV head,
// chunk), each a softmax over its own keys with its own maximum; the chunks are then combined,
// each rescaled by exp(its maximum - the row's maximum).
#include "kernels/decode_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/float16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace gemma4::kernels {

namespace {

struct AttentionTask {
  Isa isa;
  const AttentionShape* shape;
  const AttentionOperands* operands;
  AttentionScratch* scratch;
  const size_t* first_key;  // [rows]: the first key each new position sees
  size_t lo, hi;            // the keys any row sees: [lo, hi)
  size_t chunk_keys, chunks;
};

// Keys per task: enough that a task's fixed cost (its partial output, the combine) stays small
// against streaming its rows, few enough that both threads get several tasks at a decode step.
constexpr size_t kMinChunkKeys = 64;
constexpr size_t kTargetChunks = 16;

void ScalarHalfRow(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

#define ATTN_TARGET
#define ATTN_TASK ScalarTask
#define ATTN_DOT ScalarDot
#define ATTN_AXPY ScalarAxpy
#define ATTN_HALF_ROW ScalarHalfRow
#include "kernels/decode_attention_task.inc"
#undef ATTN_TARGET
#undef ATTN_TASK
#undef ATTN_DOT
#undef ATTN_AXPY
#undef ATTN_HALF_ROW

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"))) void F16cHalfRow(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

#define ATTN_TARGET __attribute__((target("avx2,fma,f16c")))
#define ATTN_TASK Avx2Task
#define ATTN_DOT Avx2Dot
#define ATTN_AXPY Avx2Axpy
#define ATTN_HALF_ROW F16cHalfRow
#include "kernels/decode_attention_task.inc"
#undef ATTN_TARGET
#undef ATTN_TASK
#undef ATTN_DOT
#undef ATTN_AXPY

#define ATTN_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define ATTN_TASK Avx512Task
#define ATTN_DOT Avx512Dot
#define ATTN_AXPY Avx512Axpy
#include "kernels/decode_attention_task.inc"
#undef ATTN_TARGET
#undef ATTN_TASK
#undef ATTN_DOT
#undef ATTN_AXPY
#undef ATTN_HALF_ROW
#endif  // __x86_64__

void RunTask(void* context, size_t task) {
  const AttentionTask& c = *static_cast<const AttentionTask*>(context);
#if defined(__x86_64__)
  switch (c.isa) {
    case Isa::kAvx512Vnni: Avx512Task(c, task); return;
    case Isa::kAvx2:
    case Isa::kAvxVnni: Avx2Task(c, task); return;
    case Isa::kScalar: break;
  }
#endif
  ScalarTask(c, task);
}

}  // namespace

void ParallelForSerial(void*, void (*task)(void*, size_t), size_t count, void* task_context) {
  for (size_t i = 0; i < count; ++i) task(task_context, i);
}

void DecodeAttention(Isa isa, const AttentionShape& shape, const AttentionOperands& operands, AttentionScratch& scratch,
                     TaskRunner runner, void* runner_context) {
  const size_t hd = shape.head_size, group = shape.heads / shape.kv_heads, rows = shape.rows * group;
  std::vector<size_t> first_key(shape.rows);
  for (size_t row = 0; row < shape.rows; ++row) {
    const size_t position = shape.past + row;
    // ONNX Runtime 1.30's window: the position itself and the window - 1 before it (checked
    // against its operator by tests/kernels/decode_attention_test.cpp).
    const bool windowed = shape.window > 0 && position + 1 > static_cast<size_t>(shape.window);
    first_key[row] = windowed ? position + 1 - static_cast<size_t>(shape.window) : 0;
  }
  AttentionTask task{};
  task.isa = isa;
  task.shape = &shape;
  task.operands = &operands;
  task.scratch = &scratch;
  task.first_key = first_key.data();
  task.lo = first_key[0];
  task.hi = shape.past + shape.rows;
  const size_t keys = task.hi - task.lo;
  task.chunk_keys = std::max(kMinChunkKeys, (keys + kTargetChunks - 1) / kTargetChunks);
  task.chunks = (keys + task.chunk_keys - 1) / task.chunk_keys;
  const size_t tasks = shape.kv_heads * task.chunks;
  scratch.partial_out.resize(tasks * rows * hd);
  scratch.partial_max.resize(tasks * rows);
  scratch.partial_sum.resize(tasks * rows);
  runner(runner_context, RunTask, tasks, &task);

  // Combine: out = sum_c exp(m_c - M) o_c / sum_c exp(m_c - M) l_c, per row.
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (size_t g = 0; g < shape.kv_heads; ++g) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t row = r / group, head = g * group + r % group;
      float* out = operands.out + (row * shape.heads + head) * hd;
      float m = neg_inf;
      for (size_t c = 0; c < task.chunks; ++c) m = std::max(m, scratch.partial_max[(g * task.chunks + c) * rows + r]);
      std::fill(out, out + hd, 0.0f);
      if (m == neg_inf) continue;
      float total = 0.0f;
      for (size_t c = 0; c < task.chunks; ++c) {
        const size_t t = g * task.chunks + c;
        const float chunk_max = scratch.partial_max[t * rows + r];
        if (chunk_max == neg_inf) continue;
        const float weight = std::exp(chunk_max - m);
        total += weight * scratch.partial_sum[t * rows + r];
        const float* partial = scratch.partial_out.data() + (t * rows + r) * hd;
        for (size_t i = 0; i < hd; ++i) out[i] += weight * partial[i];
      }
      const float inv = 1.0f / total;
      for (size_t i = 0; i < hd; ++i) out[i] *= inv;
    }
  }
}

}  // namespace gemma4::kernels
