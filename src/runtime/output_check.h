// Checks a tensor ONNX Runtime handed back against what load-time discovery promised, before a
// byte of it is read. A graph may declare one shape and compute another (ORT only warns when the
// two disagree), so the declared vocabulary size alone must never size a read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/ort.h"

namespace gemma4 {

// `logits` must be [1, rows, vocab] of float or float16 with exactly rows * vocab elements and
// rows >= keep. Returns rows. Throws Error(kRuntime) naming `graph`, the output `name`, the shape
// found and the one expected.
size_t CheckLogitsOutput(const Ort::Value& logits, int64_t vocab, size_t keep, const std::string& graph,
                         const std::string& name);

}  // namespace gemma4
