// The AVX-VNNI kernel (VEX-encoded vpdpbusd on ymm): the AVX2 body with one instruction per dot.
#include "kernels/int4_matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#define YMM_TARGET __attribute__((target("avx2,fma,f16c,avxvnni")))
#define YMM_DOT(acc, u8, s8) _mm256_dpbusd_avx_epi32((acc), (u8), (s8))
#define YMM_ENTRY MatMulInt4AvxVnni

namespace gemma4::kernels {
#include "kernels/int4_matmul_ymm.inc"
}  // namespace gemma4::kernels

#endif  // __x86_64__
