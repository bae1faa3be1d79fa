// The AVX2 kernel: vpmaddubsw + vpmaddwd per block (no VNNI). Products of a code (0..15) and an
// int8 (-128..127) summed in pairs stay within int16, so nothing saturates.
#include "kernels/int4_matmul.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#define YMM_TARGET __attribute__((target("avx2,fma,f16c")))
#define YMM_DOT(acc, u8, s8) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u8), (s8)), _mm256_set1_epi16(1)))
#define YMM_ENTRY MatMulInt4Avx2

namespace gemma4::kernels {
#include "kernels/int4_matmul_ymm.inc"
}  // namespace gemma4::kernels

#endif  // __x86_64__
