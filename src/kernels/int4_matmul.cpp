// Activation quantization, the portable kernel and the dispatch over the SIMD ones.
#include "kernels/int4_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gemma4::kernels {

void PrepareRows(size_t rows, size_t k, QuantizedRows& out) {
  const size_t blocks = (k + kBlockSize - 1) / kBlockSize;
  out.rows = rows;
  out.blocks = blocks;
  out.pairs = (blocks + 1) / 2;
  out.units.resize(out.pairs * rows * QuantizedRows::kUnitBytes);
  out.scales.resize(rows * blocks);
  out.block_sums.resize(rows * blocks);
}

void QuantizeRow(const float* row, size_t k, size_t r, QuantizedRows& out) {
  const size_t blocks = out.blocks;
  // 1.5 * 2^23: adding and subtracting it rounds |x| < 2^22 to an integer, half to even (the
  // default rounding mode), without a libm call, so the loop vectorizes.
  constexpr float kRound = 12582912.0f;
  for (size_t b = 0; b < out.pairs * 2; ++b) {
    uint8_t* unit = out.Unit(r, b / 2);
    int8_t* dst = reinterpret_cast<int8_t*>(unit) + (b & 1) * kBlockSize;
    float lane_scales[8];
    int32_t minus8[8];
    if (b >= blocks) {  // the missing half of the last pair
      std::memset(dst, 0, kBlockSize);
      std::memset(unit + QuantizedRows::kLaneScalesAt + 32, 0, 32);
      std::memset(unit + QuantizedRows::kMinus8At + 32, 0, 32);
      continue;
    }
    const size_t begin = b * kBlockSize;
    const size_t count = std::min(kBlockSize, k - begin);
    float v[kBlockSize] = {};
    for (size_t i = 0; i < count; ++i) v[i] = row[begin + i];
    float amax = 0.0f;
    for (size_t i = 0; i < kBlockSize; ++i) {
      const float m = std::fabs(v[i]);
      amax = m > amax ? m : amax;
    }
    // ONNX Runtime's CompInt8 arithmetic: the stored scale is amax / 127 and the codes are
    // a * (127 / amax) rounded half to even (its vector rounding), saturated to int8.
    const float scale = amax / 127.0f;
    const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
    int8_t q[kBlockSize];
    for (size_t i = 0; i < kBlockSize; ++i) {
      float x = v[i] * inverse;
      x = x > 127.0f ? 127.0f : x >= -128.0f ? x : -128.0f;  // NaN saturates to -128, as ONNX Runtime's packs do
      q[i] = static_cast<int8_t>(static_cast<int>((x + kRound) - kRound));
    }
    // Even elements first, then odd ones: the order of a weight block's low, then high, nibbles.
    int32_t sum = 0;
    for (size_t i = 0; i < kBlockSize / 2; ++i) {
      dst[i] = q[2 * i];
      dst[16 + i] = q[2 * i + 1];
      sum += q[2 * i] + q[2 * i + 1];
    }
    out.scales[r * blocks + b] = scale;
    out.block_sums[r * blocks + b] = sum;
    for (size_t lane = 0; lane < 8; ++lane) {
      lane_scales[lane] = scale;
      minus8[lane] = -8 * (dst[4 * lane] + dst[4 * lane + 1] + dst[4 * lane + 2] + dst[4 * lane + 3]);
    }
    std::memcpy(unit + QuantizedRows::kLaneScalesAt + (b & 1) * 32, lane_scales, 32);
    std::memcpy(unit + QuantizedRows::kMinus8At + (b & 1) * 32, minus8, 32);
  }
}

void QuantizeRows(const float* a, size_t rows, size_t k, size_t lda, QuantizedRows& out) {
  PrepareRows(rows, k, out);
  for (size_t r = 0; r < rows; ++r) QuantizeRow(a + r * lda, k, r, out);
}

void MatMulInt4Scalar(const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c, size_t ldc) {
  const size_t blocks = w.blocks();
  for (size_t r = 0; r < a.rows; ++r) {
    for (size_t n = n_begin; n < n_end; ++n) {
      float acc = 0.0f;
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* wb = w.codes + (n * blocks + b) * 16;
        const int8_t* ab = a.Codes(r, b);
        const int zp = WeightZeroPoint(w, n, b);
        int32_t dot = 0;
        for (size_t j = 0; j < 16; ++j) {
          dot += ((wb[j] & 0x0F) - zp) * ab[j] + ((wb[j] >> 4) - zp) * ab[16 + j];
        }
        const float scale = a.scales[r * blocks + b] * WeightScale(w, n, b);
        acc += static_cast<float>(dot) * scale;
      }
      c[r * ldc + (n - n_begin)] = acc;
    }
  }
}

void MatMulInt4(Isa isa, const Int4Weights& w, const QuantizedRows& a, size_t n_begin, size_t n_end, float* c,
                size_t ldc) {
  switch (isa) {
    case Isa::kScalar: return MatMulInt4Scalar(w, a, n_begin, n_end, c, ldc);
#if defined(__x86_64__)
    case Isa::kAvx2: return MatMulInt4Avx2(w, a, n_begin, n_end, c, ldc);
    case Isa::kAvxVnni: return MatMulInt4AvxVnni(w, a, n_begin, n_end, c, ldc);
    case Isa::kAvx512Vnni: return MatMulInt4Avx512Vnni(w, a, n_begin, n_end, c, ldc);
#else
    default: return MatMulInt4Scalar(w, a, n_begin, n_end, c, ldc);
#endif
  }
}

}  // namespace gemma4::kernels
