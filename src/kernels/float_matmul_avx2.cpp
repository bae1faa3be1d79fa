// The AVX2 float kernel: tiles of 64 columns (8 ymm accumulators per row), as the AVX-512 one.
#include "kernels/float_matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#define GEMMA4_FLOAT256_TARGET __attribute__((target("avx2,fma,f16c")))

namespace gemma4::kernels {

namespace {

constexpr int kYmmVectors = static_cast<int>(kFloatTileAvx2 / 8);

template <bool kHalf>
GEMMA4_FLOAT256_TARGET inline __attribute__((always_inline)) __m256 Load8(const void* data, size_t index) {
  if constexpr (kHalf) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(data) + index)));
  } else {
    return _mm256_loadu_ps(static_cast<const float*>(data) + index);
  }
}

template <bool kHalf>
GEMMA4_FLOAT256_TARGET void YmmTiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha,
                                     size_t n_begin, size_t tiles, float* c, size_t ldc) {
  const __m256 va = _mm256_set1_ps(alpha);
  for (size_t t = 0; t < tiles; ++t) {
    const size_t n0 = n_begin + t * kFloatTileAvx2;
    for (size_t k0 = 0; k0 < w.k; k0 += kFloatStrideK) {
      const size_t k1 = std::min(w.k, k0 + kFloatStrideK);
      for (size_t r = 0; r < m; ++r) {
        const float* ar = a + r * lda;
        __m256 acc[kYmmVectors];
        for (int v = 0; v < kYmmVectors; ++v) acc[v] = _mm256_setzero_ps();
        for (size_t k = k0; k < k1; ++k) {
          const __m256 x = _mm256_set1_ps(ar[k]);
          const size_t row = k * w.n + n0;
          for (int v = 0; v < kYmmVectors; ++v) acc[v] = _mm256_fmadd_ps(x, Load8<kHalf>(w.data, row + 8 * v), acc[v]);
        }
        float* cr = c + r * ldc + t * kFloatTileAvx2;
        for (int v = 0; v < kYmmVectors; ++v) {
          const __m256 out = k0 == 0 ? _mm256_mul_ps(acc[v], va) : _mm256_fmadd_ps(acc[v], va, _mm256_loadu_ps(cr + 8 * v));
          _mm256_storeu_ps(cr + 8 * v, out);
        }
      }
    }
  }
}

}  // namespace

void MatMulFloatAvx2Tiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                          size_t tiles, float* c, size_t ldc) {
  if (w.half) YmmTiles<true>(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
  else YmmTiles<false>(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
}

}  // namespace gemma4::kernels

#endif  // __x86_64__
