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
  out.units_per_row = (blocks + QuantizedRows::kBlocksPerUnit - 1) / QuantizedRows::kBlocksPerUnit;
  out.units.resize(out.units_per_row * rows * QuantizedRows::kUnitBytes);
  out.scales.resize(rows * blocks);
  out.block_sums.resize(rows * blocks);
}

void QuantizeRow(const float* row, size_t k, size_t r, QuantizedRows& out) {
  const size_t blocks = out.blocks;
  // 1.5 * 2^23: adding and subtracting it rounds |x| < 2^22 to an integer, half to even (the
  // default rounding mode), without a libm call, so the loop vectorizes.
  constexpr float kRound = 12582912.0f;
  for (size_t b = 0; b < out.units_per_row * QuantizedRows::kBlocksPerUnit; ++b) {
    uint8_t* unit = out.Unit(r, b / QuantizedRows::kBlocksPerUnit);
    const size_t slot = b % QuantizedRows::kBlocksPerUnit;
    int8_t* even = reinterpret_cast<int8_t*>(unit) + slot * 16;
    int8_t* odd = reinterpret_cast<int8_t*>(unit + QuantizedRows::kOddAt) + slot * 16;
    float lane_scales[4] = {};
    int32_t minus8[4] = {};
    int8_t q[kBlockSize] = {};
    float scale = 0.0f;
    if (b < blocks) {
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
      scale = amax / 127.0f;
      const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (size_t i = 0; i < kBlockSize; ++i) {
        float x = v[i] * inverse;
        x = x > 127.0f ? 127.0f : x >= -128.0f ? x : -128.0f;  // NaN saturates to -128, as ONNX Runtime's packs do
        q[i] = static_cast<int8_t>(static_cast<int>((x + kRound) - kRound));
      }
    }
    // Even elements in the first half, odd ones in the second: the order of a weight block's
    // low, then high, nibbles.
    int32_t sum = 0;
    for (size_t i = 0; i < kBlockSize / 2; ++i) {
      even[i] = q[2 * i];
      odd[i] = q[2 * i + 1];
      sum += q[2 * i] + q[2 * i + 1];
    }
    for (size_t lane = 0; lane < 4; ++lane) {
      lane_scales[lane] = scale;
      int32_t s = 0;
      for (size_t i = 0; i < 4; ++i) s += even[4 * lane + i] + odd[4 * lane + i];
      minus8[lane] = -8 * s;
    }
    std::memcpy(unit + QuantizedRows::kLaneScalesAt + slot * 16, lane_scales, 16);
    std::memcpy(unit + QuantizedRows::kMinus8At + slot * 16, minus8, 16);
    if (b < blocks) {
      out.scales[r * blocks + b] = scale;
      out.block_sums[r * blocks + b] = sum;
    }
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
        const int zp = WeightZeroPoint(w, n, b);
        int32_t dot = 0;
        for (size_t j = 0; j < 16; ++j) {
          dot += ((wb[j] & 0x0F) - zp) * a.Even(r, b, j) + ((wb[j] >> 4) - zp) * a.Odd(r, b, j);
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
