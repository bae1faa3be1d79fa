// A float32 matrix product with a constant weight read as the model file holds it: [K, N] row-major,
// float16 or float32, no converted or repacked copy. Meant for a float LM head (262144 x 1536), where
// ONNX Runtime would hold a float32 copy of the whole weight (its constant-folded Cast of a float16
// weight, and MLAS's packed B).
//
// The arithmetic is MLAS's packed SGEMM (what ONNX Runtime's MatMul and FusedMatMul run when B is a
// constant initializer; onnxruntime/core/mlas/lib/sgemm.cpp, FgemmKernel*Common.inc), so that the
// result equals ONNX Runtime's bit for bit: K is cut into slices of kFloatStrideK; within a slice
// each output starts at 0 and adds a[k] * b[k][n] by one fused multiply-add per k, in order; the
// first slice's sum times alpha is the output, each later slice's sum s updates it to fma(s, alpha, c).
// A float16 weight is widened exactly. Whether this matches on a given ONNX Runtime build and CPU is
// checked at load against ONNX Runtime itself (runtime/lm_head.h) before any graph uses it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

inline constexpr size_t kFloatStrideK = 256;  // MLAS_SGEMM_PACKED_STRIDEK

struct FloatWeights {
  const void* data = nullptr;  // [k][n], float or uint16_t (IEEE half)
  bool half = false;
  size_t k = 0, n = 0;
};

// c[r * ldc + (j - n_begin)] = (a[r] . column j of w) for r < m and j in [n_begin, n_end), in the
// arithmetic above; row r of `a` at a + r * lda.
void MatMulFloat(Isa isa, const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                 size_t n_end, float* c, size_t ldc);

// The dispatch targets MatMulFloat picks from: kScalar, kAvx2 and kAvxVnni (AVX2 + FMA + F16C),
// kAvx512Vnni (AVX-512 F/BW/VL). The SIMD ones compute whole tiles of columns (their width below)
// and leave the rest to the scalar one, which computes the same values.
inline constexpr size_t kFloatTileAvx2 = 64, kFloatTileAvx512 = 256;
void MatMulFloatScalar(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                       size_t n_end, float* c, size_t ldc);
void MatMulFloatAvx2Tiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                          size_t tiles, float* c, size_t ldc);
void MatMulFloatAvx512Tiles(const FloatWeights& w, const float* a, size_t m, size_t lda, float alpha, size_t n_begin,
                            size_t tiles, float* c, size_t ldc);

}  // namespace gemma4::kernels
