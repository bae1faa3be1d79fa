// The one place that includes ONNX Runtime's C++ header. We build against older headers than
// the library we may load (the C API is versioned), so the API table is fetched by hand,
// after checking the library is new enough, instead of at static initialisation.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "runtime/discovered_io.h"

namespace gemma4 {

// The process-wide Ort::Env, created on first use after GetOrtInfo() succeeded, with one global
// intra-op thread pool that every session sized like it shares (the embedding graph and both
// halves of a split decoder run one after the other: separate pools would spin against each
// other on the same cores). `intra_op_threads` sizes that pool when this call creates the Env
// (0: one thread per physical core); later calls get the Env as it is.
Ort::Env& OrtEnv(int intra_op_threads = 0);
// The size requested for the global pool (0: ONNX Runtime's default).
int GlobalPoolThreads();

TensorType ToTensorType(ONNXTensorElementDataType type);
ONNXTensorElementDataType ToOrtType(TensorType type);

}  // namespace gemma4
