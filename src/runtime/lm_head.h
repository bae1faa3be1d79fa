// How the decoder's LM head runs, decided at load from the graph (runtime/onnx_lm_head.h):
//  - a float head (MatMul over a float16 or float32 [K, N] initializer, float32 activations) moves
//    to gemma4's float kernel (kernels/float_matmul.h), which reads the weight where ONNX Runtime
//    maps it, but only after a probe shows that it gives ONNX Runtime's own results bit for bit:
//    the head alone over a small random weight, run by ONNX Runtime as the graph has it and with the
//    edit, on the session options the decoder gets (whatever ONNX Runtime fuses or folds there);
//  - RuntimeOptions::lm_head_quant "int8" re-quantizes a float head to MatMulNBits at 8 bits (opt-in:
//    it changes the logits; MeasureLmHeadQuant says by how much).
// Anything else keeps the graph as it is, with the reason in LmHeadInfo::note.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gemma4/runtime.h"
#include "runtime/session_factory.h"

namespace gemma4 {

struct LmHeadLoad {
  LmHeadInfo info;
  std::string model;                          // the edited graph; empty when unchanged
  SessionExtras extras;                       // what the decoder's sessions need for it
  std::shared_ptr<const HeldInitializers> held;  // owns extras.initializers (the int8 weights) until the
                                                 // sessions exist
};

// Plans the head of `model` (the bytes of `onnx`, after the edits before this one) whose output is
// `logits`. Throws Error(kInvalidArgument) for an unknown lm_head_quant, Error(kCorrupt) naming the
// file on a malformed protobuf or a float weight whose data does not fit its shape.
LmHeadLoad PlanLmHead(const std::filesystem::path& onnx, std::string_view model, const RuntimeOptions& options,
                      const std::string& logits = "logits");

// How far a re-quantized head's logits are from the float head's: both runtimes fed the same
// teacher-forced text (kLmHeadSampleText, tokenized with the package's tokenizer, at most
// kLmHeadSampleTokens ids), every position's logits compared (after whatever the graph applies to
// the head's output, e.g. Gemma's softcapping).
inline constexpr const char* kLmHeadSampleText =
    "The quick brown fox jumps over the lazy dog. Bonjour, explique en une phrase ce que tu es. "
    "Water boils at one hundred degrees Celsius at sea level, and the capital of Italy is Rome.";
inline constexpr size_t kLmHeadSampleTokens = 64;
struct LmHeadAccuracy {
  size_t positions = 0;
  double top1_agreement = 0;       // fraction of positions whose arg max agrees
  double max_abs_error = 0;        // largest |quantized - float| over every logit of every position
  double max_abs_logit = 0;        // largest |float logit|, for scale
};
// `quantized` must have a re-quantized head (lm_head().quantized); loads the float head beside it
// (same options, lm_head_quant off) for the comparison.
LmHeadAccuracy MeasureLmHeadQuant(const Package& package, const Runtime& quantized);

}  // namespace gemma4
