// The AVX-512 VNNI kernel: four weight blocks (128 codes) per pair of zmm, two vpdpbusd per row
// and column.
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

// Scales of blocks b..b+3 of one column as [s0 x 4, s1 x 4, s2 x 4, s3 x 4] (the int32 lanes
// of a dot product over a unit); `count` < 4 (kTail) reads only those and zeroes the rest.
template <bool kHalf, bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE __m512 QuadScales(const void* scales, size_t index, unsigned count) {
  __m128 s;
  if constexpr (kHalf) {
    const uint16_t* h = static_cast<const uint16_t*>(scales) + index;
    s = _mm_cvtph_ps(kTail ? _mm_maskz_loadu_epi16(static_cast<__mmask8>((1u << count) - 1), h)
                           : _mm_loadl_epi64(reinterpret_cast<const __m128i*>(h)));
  } else {
    const float* f = static_cast<const float*>(scales) + index;
    s = kTail ? _mm_maskz_loadu_ps(static_cast<__mmask8>((1u << count) - 1), f) : _mm_loadu_ps(f);
  }
  const __m512i pick = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(pick, _mm512_castps128_ps512(s));
}

// The codes of blocks b..b+3 (64 bytes): low nibbles and high nibbles, each lane of 16 bytes
// one block, in the order QuantizedRows keeps the even and odd activations.
template <bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE void QuadCodes(const uint8_t* p, unsigned count, __m512i& lo, __m512i& hi) {
  const __m512i x = kTail ? _mm512_maskz_loadu_epi8((__mmask64{1} << (16 * count)) - 1, p) : _mm512_loadu_si512(p);
  const __m512i mask = _mm512_set1_epi8(0x0F);
  lo = _mm512_and_si512(x, mask);
  hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), mask);
}

// Zero points of blocks b..b+count-1 of column n, each broadcast over its block's 16-byte lane.
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE __m512i QuadZeroPoints(const Int4Weights& w, size_t n, size_t b,
                                                                  unsigned count) {
  uint32_t packed = 0;
  for (unsigned i = 0; i < count; ++i) packed |= static_cast<uint32_t>(WeightZeroPoint(w, n, b + i)) << (8 * i);
  // Byte i of every lane's dword picks that lane's zero point: lane i takes byte i.
  const __m512i pick = _mm512_set_epi32(0x03030303, 0x03030303, 0x03030303, 0x03030303, 0x02020202, 0x02020202,
                                        0x02020202, 0x02020202, 0x01010101, 0x01010101, 0x01010101, 0x01010101, 0, 0, 0, 0);
  return _mm512_shuffle_epi8(_mm512_set1_epi32(static_cast<int>(packed)), pick);
}

// One unit of four blocks from b (kTail: `count` < 4 of them, the last) for M rows and NC columns.
template <int M, int NC, bool kZeroPoints, bool kHalf, bool kTail>
GEMMA4_AVX512_TARGET GEMMA4_ALWAYS_INLINE void QuadStep(const Int4Weights& w, const QuantizedRows& a, size_t row0,
                                                         size_t n, size_t b, unsigned count, __m512 (&acc)[M][NC]) {
  const size_t blocks = w.blocks();
  __m512i lo[NC], hi[NC];
  __m512 wscale[NC];
  [[maybe_unused]] __m512i zero_points[NC];
#pragma GCC unroll 8
  for (int j = 0; j < NC; ++j) {
    PrefetchWeights<kHalf>(w, (n + j) * blocks + b);
    QuadCodes<kTail>(w.codes + ((n + j) * blocks + b) * 16, count, lo[j], hi[j]);
    wscale[j] = QuadScales<kHalf, kTail>(w.scales, (n + j) * blocks + b, count);
    if constexpr (kZeroPoints) zero_points[j] = QuadZeroPoints(w, n + j, b, count);
  }
  // The rows' units are contiguous: row m's at m * kUnitBytes.
  const uint8_t* unit = a.Unit(row0, b / QuantizedRows::kBlocksPerUnit);
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    const uint8_t* u = unit + m * QuantizedRows::kUnitBytes;
    const __m512i even = _mm512_loadu_si512(u);
    const __m512i odd = _mm512_loadu_si512(u + QuantizedRows::kOddAt);
    const __m512 ascale = _mm512_loadu_ps(u + QuantizedRows::kLaneScalesAt);
    [[maybe_unused]] __m512i init;
    [[maybe_unused]] __m512i neg_even, neg_odd;
    if constexpr (kZeroPoints) {
      neg_even = _mm512_sub_epi8(_mm512_setzero_si512(), even);
      neg_odd = _mm512_sub_epi8(_mm512_setzero_si512(), odd);
    } else {
      init = _mm512_loadu_si512(u + QuantizedRows::kMinus8At);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) {
      __m512i dot;
      if constexpr (kZeroPoints) {
        dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), zero_points[j], neg_even);
        dot = _mm512_dpbusd_epi32(dot, zero_points[j], neg_odd);
      } else {
        dot = init;
      }
      dot = _mm512_dpbusd_epi32(dot, lo[j], even);
      dot = _mm512_dpbusd_epi32(dot, hi[j], odd);
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
  for (; b + 4 <= blocks; b += 4) QuadStep<M, NC, kZeroPoints, kHalf, false>(w, a, row0, n, b, 4, acc);
  if (b < blocks) {
    QuadStep<M, NC, kZeroPoints, kHalf, true>(w, a, row0, n, b, static_cast<unsigned>(blocks - b), acc);
  }
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) c[m * ldc + j] = _mm512_reduce_add_ps(acc[m][j]);
}

template <int M, bool kZeroPoints>
GEMMA4_AVX512_TARGET void Columns(const Int4Weights& w, const QuantizedRows& a, size_t row0, size_t n_begin,
                                  size_t n_end, float* c, size_t ldc) {
  // Four columns at a time where the registers allow (one or two rows): each row's activations
  // are loaded once for all of them.
  constexpr int kWide = M <= 2 ? 4 : 2;
  size_t n = n_begin;
  if (w.scales_are_half) {
    for (; n + kWide <= n_end; n += kWide) Tile<M, kWide, kZeroPoints, true>(w, a, row0, n, c + (n - n_begin), ldc);
    for (; n < n_end; ++n) Tile<M, 1, kZeroPoints, true>(w, a, row0, n, c + (n - n_begin), ldc);
  } else {
    for (; n + kWide <= n_end; n += kWide) Tile<M, kWide, kZeroPoints, false>(w, a, row0, n, c + (n - n_begin), ldc);
    for (; n < n_end; ++n) Tile<M, 1, kZeroPoints, false>(w, a, row0, n, c + (n - n_begin), ldc);
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
  // Two rows and four columns a pass measured faster than eight rows and two columns (the
  // 32-column chunk's weights stay in L1 between passes; more rows spill registers).
  constexpr size_t kRowsPerPass = 2;
  for (size_t n0 = n_begin; n0 < n_end; n0 += kChunk) {
    const size_t n1 = std::min(n_end, n0 + kChunk);
    for (size_t r = 0; r < a.rows; r += kRowsPerPass) {
      const size_t rows = std::min(kRowsPerPass, a.rows - r);
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
