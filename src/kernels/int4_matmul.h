// An int4 x int8 matrix product for ONNX Runtime's MatMulNBits weights (bits 4, block 32), read
// in the layout the model file holds: no repacked copy of the weights.
//
// Weights B: N columns, each ceil(K/32) blocks of 16 bytes; byte j of a block holds element 2j in
// its low nibble and element 2j+1 in its high nibble. One scale per (column, block), float32 or
// float16. Zero points: none (8), or 4-bit packed two blocks a byte ([N, ceil(blocks/2)], low
// nibble first). Column n's weight for element k is (code - zero_point) * scale.
//
// Activations are quantized the way ONNX Runtime's accuracy_level 4 (CompInt8) path does it:
// per block of 32, scale = max|a| / 127, codes = round-half-even(a * (127 / max|a|)), the
// padding past K is 0. Each block's integer dot product is exact; blocks are summed in float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/float16.h"
#include "kernels/cpu_features.h"

namespace gemma4::kernels {

inline constexpr size_t kBlockSize = 32;

struct Int4Weights {
  const uint8_t* codes = nullptr;        // [n][blocks][16]
  const void* scales = nullptr;          // [n * blocks], float or uint16_t (IEEE half)
  bool scales_are_half = false;
  const uint8_t* zero_points = nullptr;  // [n][(blocks + 1) / 2] packed 4-bit, or null (8)
  size_t n = 0;
  size_t k = 0;  // the logical depth; blocks = ceil(k / 32)
  size_t blocks() const { return (k + kBlockSize - 1) / kBlockSize; }
};

// Rows of activations quantized to int8 per block, laid out for the kernels: in units of four
// blocks, the even elements of the four blocks (16 each), then their odd elements, so that the
// low nibbles of 64 weight bytes (four blocks) meet the first half and the high nibbles the
// second with no shuffling of the weights. All rows of one unit index sit next to each other
// (unit-major): the rows a kernel works on are at fixed offsets from one pointer.
struct QuantizedRows {
  // One row's four blocks: codes [128] (even elements of blocks 0..3, then odd elements), a
  // float scale per int32 lane of a dot product over them [16] (block i's scale in lanes
  // 4i..4i+3), and int32 -8 x the sum of the 8 codes each lane covers [16] (which turns a dot
  // product with raw codes into one with code - 8). Blocks past the last are all zeros.
  static constexpr size_t kBlocksPerUnit = 4;
  static constexpr size_t kUnitBytes = 256;
  static constexpr size_t kOddAt = 64, kLaneScalesAt = 128, kMinus8At = 192;

  size_t rows = 0;
  size_t blocks = 0;
  size_t units_per_row = 0;
  std::vector<uint8_t> units;         // [units_per_row][rows][kUnitBytes]
  std::vector<float> scales;          // [rows][blocks]: max|a| / 127
  std::vector<int32_t> block_sums;    // [rows][blocks]: the sum of the block's codes

  const uint8_t* Unit(size_t row, size_t unit) const { return units.data() + (unit * rows + row) * kUnitBytes; }
  uint8_t* Unit(size_t row, size_t unit) { return units.data() + (unit * rows + row) * kUnitBytes; }
  // Element 2j (j < 16) of block `b` of `row`, and element 2j + 1.
  int8_t Even(size_t row, size_t b, size_t j) const {
    return static_cast<int8_t>(Unit(row, b / kBlocksPerUnit)[(b % kBlocksPerUnit) * 16 + j]);
  }
  int8_t Odd(size_t row, size_t b, size_t j) const {
    return static_cast<int8_t>(Unit(row, b / kBlocksPerUnit)[kOddAt + (b % kBlocksPerUnit) * 16 + j]);
  }
};

// Quantizes `rows` rows of `k` floats (row r at a + r * lda).
void QuantizeRows(const float* a, size_t rows, size_t k, size_t lda, QuantizedRows& out);
// The same in two steps, so that threads can quantize rows in parallel: sizes `out` for `rows`
// rows of depth `k`, then quantizes one row into row `r`.
void PrepareRows(size_t rows, size_t k, QuantizedRows& out);
void QuantizeRow(const float* row, size_t k, size_t r, QuantizedRows& out);

// c[r * ldc + j] = sum_k a[r][k] * w(k, n_begin + j) for j in [0, n_end - n_begin), all rows of `a`.
void MatMulInt4(Isa isa, const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c,
                size_t ldc);

// The same for one dispatch target each (what MatMulInt4 calls); only those IsaSupported()
// accepts may run.
void MatMulInt4Scalar(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c, size_t ldc);
void MatMulInt4Avx2(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c, size_t ldc);
void MatMulInt4AvxVnni(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c, size_t ldc);
void MatMulInt4Avx512Vnni(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c,
                          size_t ldc);

// The scale of column `n`'s block `b` as float.
inline float WeightScale(const Int4Weights& w, size_t n, size_t b) {
  const size_t i = n * w.blocks() + b;
  return w.scales_are_half ? HalfToFloat(static_cast<const uint16_t*>(w.scales)[i]) : static_cast<const float*>(w.scales)[i];
}
// The zero point of column `n`'s block `b`.
inline int WeightZeroPoint(const Int4Weights& w, size_t n, size_t b) {
  if (w.zero_points == nullptr) return 8;
  const uint8_t byte = w.zero_points[n * ((w.blocks() + 1) / 2) + b / 2];
  return (b & 1) ? byte >> 4 : byte & 0x0F;
}

// Asks for the codes and the scales of the block `kPrefetchBlocks` after `block` (its index in
// [N][K/32] order) to be brought into cache. Why: a column's weights are a short stream (768 bytes
// at K = 1536), four columns are read side by side, and the hardware prefetcher starts each stream
// too late; read once from DRAM, as every decode step's weights are, the kernel reached 11-13 GB/s
// of this machine's 16 without it and 17-20 with it (docs/BENCHMARKS.md). A prefetch never faults,
// so the address past the end of the weights is harmless; it is formed as an integer.
inline constexpr size_t kPrefetchBlocks = 256;  // 4 KiB of codes ahead
template <bool kHalfScales>
inline void PrefetchWeights(const Int4Weights& w, size_t block) {
  const size_t ahead = block + kPrefetchBlocks;
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(w.codes) + ahead * 16));
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(w.scales) +
                                                   ahead * (kHalfScales ? sizeof(uint16_t) : sizeof(float))));
}

}  // namespace gemma4::kernels
