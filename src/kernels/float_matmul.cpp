// The portable float kernel and the dispatch over the SIMD ones (which do whole tiles of columns).
#include "kernels/float_matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/float16.h"

namespace gemma4::kernels {

void MatMulFloatScalar(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                       size_t n_end, float* c, size_t ldc) {
  if (n_end <= n_begin) return;
  const size_t width = n_end - n_begin;
  // One slice's sums for a row, so that the weight is read row by row (its layout) while every
  // output still accumulates its own products in k order. std::fma rounds once, as the FMA
  // instructions of MLAS's kernels do.
  thread_local std::vector<float> slice;
  slice.resize(width);
  for (size_t r = 0; r < m; ++r) {
    const float* ar = a + r * lda;
    float* cr = c + r * ldc;
    for (size_t k0 = 0; k0 < w.k; k0 += kFloatStrideK) {
      const size_t k1 = std::min(w.k, k0 + kFloatStrideK);
      std::fill(slice.begin(), slice.end(), 0.0f);
      for (size_t k = k0; k < k1; ++k) {
        const float x = ar[k];
        if (w.half) {
          const uint16_t* row = static_cast<const uint16_t*>(w.data) + k * w.n + n_begin;
          for (size_t j = 0; j < width; ++j) slice[j] = std::fma(x, HalfToFloat(row[j]), slice[j]);
        } else {
          const float* row = static_cast<const float*>(w.data) + k * w.n + n_begin;
          for (size_t j = 0; j < width; ++j) slice[j] = std::fma(x, row[j], slice[j]);
        }
      }
      for (size_t j = 0; j < width; ++j) cr[j] = k0 == 0 ? slice[j] * alpha : std::fma(slice[j], alpha, cr[j]);
    }
  }
}

void MatMulFloat(Isa isa, const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                 size_t n_end, float* c, size_t ldc) {
  if (n_end <= n_begin || m == 0) return;
  size_t tile = 0;
#if defined(__x86_64__)
  if (isa == Isa::kAvx512Vnni) tile = kFloatTileAvx512;
  else if (isa == Isa::kAvx2 || isa == Isa::kAvxVnni) tile = kFloatTileAvx2;
#endif
  size_t done = 0;
  if (tile > 0) {
    const size_t tiles = (n_end - n_begin) / tile;
#if defined(__x86_64__)
    if (tile == kFloatTileAvx512) MatMulFloatAvx512Tiles(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
    else MatMulFloatAvx2Tiles(w, a, m, lda, alpha, n_begin, tiles, c, ldc);
#endif
    done = tiles * tile;
  }
  MatMulFloatScalar(w, a, m, lda, alpha, n_begin + done, n_end, c + done, ldc);
}

}  // namespace gemma4::kernels
