// The int4 kernel as an ONNX Runtime custom operator: domain kOpDomain, op kOpF32 (float A,
// scales, Y) or kOpF16 (float16), the inputs and attributes of com.microsoft MatMulNBits
// (A, B, scales, optional packed uint8 zero_points; K, N). B, scales and zero points are read
// where ONNX Runtime keeps the initializers (for external data, its memory mapping of the file):
// a custom operator gets no PrePack call, so no copy of the weights is made.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

inline constexpr const char* kOpDomain = "gemma4.kernels";
inline constexpr const char* kOpF32 = "Int4MatMulF32";
inline constexpr const char* kOpF16 = "Int4MatMulF16";

// Adds the operators' domain to `options`. `isa` picks the kernel target for every node of the
// sessions made with them. Ort::GetApi() must be initialised (the runtime does it first).
void AddInt4MatMulOps(Ort::SessionOptions& options, Isa isa);

}  // namespace gemma4::kernels
