// The float kernel (float_matmul.h) as ONNX Runtime custom operators: domain kFloatOpDomain, op
// kOpF16Weight (B float16) or kOpF32Weight (B float32); inputs A float [..., K] and B [K, N], an
// optional float attribute `alpha` (default 1) scaling the product as FusedMatMul's does; output
// float [..., N]. B is read where ONNX Runtime keeps the initializer (for external data, its memory
// mapping of the file): a custom operator gets no PrePack call, so no copy of the weight is made.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "kernels/cpu_features.h"

namespace gemma4::kernels {

inline constexpr const char* kFloatOpDomain = "gemma4.kernels.float";
inline constexpr const char* kOpF16Weight = "MatMulF16Weight";
inline constexpr const char* kOpF32Weight = "MatMulF32Weight";

// Adds the operators' domain to `options`; `isa` picks the kernel target of every node of the
// sessions made with them. Ort::GetApi() must be initialised (the runtime does it first).
void AddFloatMatMulOps(Ort::SessionOptions& options, Isa isa);

}  // namespace gemma4::kernels
