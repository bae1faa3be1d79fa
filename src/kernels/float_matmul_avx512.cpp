// The AVX-512 float kernel: tiles of 256 columns (16 zmm accumulators per row), the weight row
// segment of each k loaded (and widened from float16) once per row of activations.
#include "kernels/float_matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

// GCC 12 warns that _mm512_cvtph_ps's undefined upper source is uninitialised; by design (as in
// int4_matmul_avx512vnni.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define GEMMA4_FLOAT512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace gemma4::kernels {

namespace {

constexpr int kVectors = static_cast<int>(kFloatTileAvx512 / 16);
// Weight rows prefetched ahead of the one in use: each k jumps a whole weight row (N values), so the
// hardware's stream prefetchers, which stay within a page, do not see the next one coming.
constexpr size_t kPrefetchRows = 8;

template <bool kHalf>
GEMMA4_FLOAT512_TARGET inline __attribute__((always_inline)) __m512 Load16(const void* data, size_t index) {
  if constexpr (kHalf) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(data) + index)));
  } else {
    return _mm512_loadu_ps(static_cast<const float*>(data) + index);
  }
}

template <bool kHalf>
GEMMA4_FLOAT512_TARGET void Tiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha,
                                  size_t n_begin, size_t tiles, float* c, size_t ldc) {
  const __m512 va = _mm512_set1_ps(alpha);
  constexpr size_t kElem = kHalf ? 2 : 4;
  for (size_t t = 0; t < tiles; ++t) {
    const size_t n0 = n_begin + t * kFloatTileAvx512;
    for (size_t k0 = 0; k0 < w.k; k0 += kFloatStrideK) {
      const size_t k1 = std::min(w.k, k0 + kFloatStrideK);
      for (size_t r = 0; r < m; ++r) {
        const float* ar = a + r * lda;
        __m512 acc[kVectors];
        for (int v = 0; v < kVectors; ++v) acc[v] = _mm512_setzero_ps();
        for (size_t k = k0; k < k1; ++k) {
          if (k + kPrefetchRows < w.k) {
            const char* ahead = static_cast<const char*>(w.data) + ((k + kPrefetchRows) * w.n + n0) * kElem;
            for (size_t line = 0; line < kFloatTileAvx512 * kElem; line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
          }
          const __m512 x = _mm512_set1_ps(ar[k]);
          const size_t row = k * w.n + n0;
          for (int v = 0; v < kVectors; ++v) acc[v] = _mm512_fmadd_ps(x, Load16<kHalf>(w.data, row + 16 * v), acc[v]);
        }
        float* cr = c + r * ldc + t * kFloatTileAvx512;
        for (int v = 0; v < kVectors; ++v) {
          const __m512 out = k0 == 0 ? _mm512_mul_ps(acc[v], va) : _mm512_fmadd_ps(acc[v], va, _mm512_loadu_ps(cr + 16 * v));
          _mm512_storeu_ps(cr + 16 * v, out);
        }
      }
    }
  }
}

}  // namespace

void MatMulFloatAvx512Tiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                            size_t tiles, float* c, size_t ldc) {
  if (w.half) Tiles<true>(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
  else Tiles<false>(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
}

}  // namespace gemma4::kernels

#endif  // __x86_64__
