// The one place that includes ONNX Runtime's C++ header. We build against older headers than
// the library we may load (the C API is versioned), so the API table is fetched by hand,
// after checking the library is new enough, instead of at static initialisation.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "gemma4/runtime.h"

namespace gemma4 {

// The process-wide Ort::Env, created on first use after GetOrtInfo() succeeded.
Ort::Env& OrtEnv();

TensorType ToTensorType(ONNXTensorElementDataType type);
ONNXTensorElementDataType ToOrtType(TensorType type);

}  // namespace gemma4
