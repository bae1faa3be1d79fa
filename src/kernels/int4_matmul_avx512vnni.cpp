// The AVX-512 VNNI kernel: two weight blocks (64 codes) per zmm, one vpdpbusd per row and column.
#include "kernels/int4_matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

// GCC 12 warns that the upper halves _mm512_cast*128/256 leave undefined are uninitialised;
// they are, by design, and every use below overwrites or masks them.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define GEMMA4_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace gemma4::kernels {

namespace {

#define GEMMA4_ALWAYS_INLINE inline __attribute__((always_inline))

// Scales of blocks b and b+1 of one column as [s0 x 8, s1 x 8] (kTail: s0, then zeros).
template <bool kHalf, bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE __m512 PairScales(const void* scales, size_t index) {
  __m128 s;
  if constexpr (kHalf) {
    const uint16_t* h = static_cast<const uint16_t*>(scales) + index;
    uint32_t bits = h[0];
    if constexpr (!kTail) bits |= static_cast<uint32_t>(h[1]) << 16;
    s = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)));
  } else {
    const float* f = static_cast<const float*>(scales) + index;
    if constexpr (kTail) {
      s = _mm_load_ss(f);
    } else {
      double d;
      std::memcpy(&d, f, sizeof d);
      s = _mm_castpd_ps(_mm_set_sd(d));
    }
  }
  const __m512i pick = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(pick, _mm512_castps128_ps512(s));
}

// Codes of blocks b and b+1 as bytes [b lo | b hi | b+1 lo | b+1 hi] (kTail: b only).
template <bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE __m512i PairCodes(const uint8_t* p) {
  __m256i raw;
  if constexpr (kTail) {
    raw = _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  __m512i x = _mm512_zextsi256_si512(raw);
  x = _mm512_shuffle_i64x2(x, x, _MM_SHUFFLE(1, 1, 0, 0));
  x = _mm512_srlv_epi64(x, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
  return _mm512_and_si512(x, _mm512_set1_epi8(0x0F));
}

// One pair of blocks (b, b+1; kTail: b alone, the last) for M rows and NC columns.
template <int M, int NC, bool kZeroPoints, bool kHalf, bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE void PairStep(const Int4Weights& w, const QuantizedRows& a, size_t row0,
                                                         size_t n, size_t b, __m512 (&acc)[M][NC]) {
  const size_t blocks = w.blocks();
  __m512i codes[NC];
  __m512 wscale[NC];
  [[maybe_unused]] __m512i zero_points[NC];
#pragma GCC unroll 8
  for (int j = 0; j < NC; ++j) {
    codes[j] = PairCodes<kTail>(w.codes + ((n + j) * blocks + b) * 16);
    wscale[j] = PairScales<kHalf, kTail>(w.scales, (n + j) * blocks + b);
    if constexpr (kZeroPoints) {
      const uint8_t zp = w.zero_points[(n + j) * ((blocks + 1) / 2) + b / 2];
      zero_points[j] = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(zp & 0x0F)),
                                          _mm256_set1_epi8(static_cast<char>(zp >> 4)), 1);
    }
  }
  // The rows' units are contiguous: row m's at m * kUnitBytes (a missing second block is zeros).
  const uint8_t* unit = a.Unit(row0, b / 2);
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    const uint8_t* u = unit + m * QuantizedRows::kUnitBytes;
    const __m512i act = _mm512_loadu_si512(u);
    const __m512 ascale = _mm512_loadu_ps(u + QuantizedRows::kLaneScalesAt);
    [[maybe_unused]] __m512i init;
    [[maybe_unused]] __m512i negated;
    if constexpr (kZeroPoints) {
      negated = _mm512_sub_epi8(_mm512_setzero_si512(), act);
    } else {
      init = _mm512_loadu_si512(u + QuantizedRows::kMinus8At);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) {
      __m512i dot;
      if constexpr (kZeroPoints) {
        dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), zero_points[j], negated);
        dot = _mm512_dpbusd_epi32(dot, codes[j], act);
      } else {
        dot = _mm512_dpbusd_epi32(init, codes[j], act);
      }
      acc[m][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ascale, wscale[j]), acc[m][j]);
    }
  }
}

// M rows from `row0`, NC columns from `n`; results at c[m * ldc + j].
template <int M, int NC, bool kZeroPoints, bool kHalf>
GEMMA4_AVX512_TARGET void Tile(const Int4Weights& w, const QuantizedRows& a, size_t row0, size_t n, float* c,
                               size_t ldc) {
  const size_t blocks = w.blocks();
  __m512 acc[M][NC];
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) acc[m][j] = _mm512_setzero_ps();
  size_t b = 0;
  for (; b + 2 <= blocks; b += 2) PairStep<M, NC, kZeroPoints, kHalf, false>(w, a, row0, n, b, acc);
  if (b < blocks) PairStep<M, NC, kZeroPoints, kHalf, true>(w, a, row0, n, b, acc);
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) c[m * ldc + j] = _mm512_reduce_add_ps(acc[m][j]);
}

template <int M, bool kZeroPoints>
GEMMA4_AVX512_TARGET void Columns(const Int4Weights& w, const QuantizedRows& a, size_t row0, size_t n_begin,
                                  size_t n_end, float* c, size_t ldc) {
  size_t n = n_begin;
  if (w.scales_are_half) {
    for (; n + 2 <= n_end; n += 2) Tile<M, 2, kZeroPoints, true>(w, a, row0, n, c + (n - n_begin), ldc);
    if (n < n_end) Tile<M, 1, kZeroPoints, true>(w, a, row0, n, c + (n - n_begin), ldc);
  } else {
    for (; n + 2 <= n_end; n += 2) Tile<M, 2, kZeroPoints, false>(w, a, row0, n, c + (n - n_begin), ldc);
    if (n < n_end) Tile<M, 1, kZeroPoints, false>(w, a, row0, n, c + (n - n_begin), ldc);
  }
}

template <bool kZeroPoints>
GEMMA4_AVX512_TARGET void Rows(const Int4Weights& w, const QuantizedRows& a, size_t row0, size_t rows,
                               size_t n_begin, size_t n_end, float* c, size_t ldc) {
  switch (rows) {
    case 1: return Columns<1, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 2: return Columns<2, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 3: return Columns<3, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 4: return Columns<4, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 5: return Columns<5, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 6: return Columns<6, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    case 7: return Columns<7, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
    default: return Columns<8, kZeroPoints>(w, a, row0, n_begin, n_end, c, ldc);
  }
}

}  // namespace

void MatMulInt4Avx512Vnni(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c,
                          size_t ldc) {
  // Column chunks outside, rows inside: with many rows a chunk's weights stay in cache while
  // every group of 8 rows passes over them.
  constexpr size_t kChunk = 32;
  for (size_t n0 = n_begin; n0 < n_end; n0 += kChunk) {
    const size_t n1 = std::min(n_end, n0 + kChunk);
    for (size_t r = 0; r < a.rows; r += 8) {
      const size_t rows = std::min<size_t>(8, a.rows - r);
      float* out = c + r * ldc + (n0 - n_begin);
      if (w.zero_points != nullptr) {
        Rows<true>(w, a, r, rows, n0, n1, out, ldc);
      } else {
        Rows<false>(w, a, r, rows, n0, n1, out, ldc);
      }
    }
  }
}

}  // namespace gemma4::kernels

#endif  // __x86_64__
