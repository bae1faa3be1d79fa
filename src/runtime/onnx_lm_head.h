// The LM head of a decoder graph, found from the graph (never from names), and the edits at load
// that give a float head another implementation: our float kernel reading the weight in place
// (kernels/float_matmul.h), or MatMulNBits at 8 bits over a copy re-quantized at load. The head is
// the MatMul whose output reaches the logits output through a chain of nodes that each read one
// tensor of the chain and otherwise only small inline constants (Gemma's softcapping: Mul, Tanh,
// Mul), where every tensor of the chain is read by the next node only. A float head's weight is an
// initializer [K, N] of float16 or float32, fed to the MatMul directly or through a Cast to float.
// Anything else is left as it is, with the reason in LmHead::note. The file on disk is never modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "package/onnx_graph.h"

namespace gemma4::onnx {

struct LmHead {
  std::string form;     // what computes the logits, e.g. "MatMul, float16 weight [64, 1536] through a Cast"
  bool float_head = false;  // a MatMul over a float initializer (the edits below apply)
  std::string note;     // why not, when !float_head
  // Only when float_head:
  size_t matmul = 0;                  // node indices in the GraphView
  std::optional<size_t> cast;         // the weight's Cast to float, when there is one
  bool cast_private = false;          // the MatMul is the Cast's only reader (the Cast goes with it)
  std::string activation, weight, output;  // the MatMul's A, its weight initializer, its output
  int32_t weight_type = 0;            // kElemFloat16 or kElemFloat
  bool float32_activations = false;   // A is float32 (else float16: a float16 MatMul)
  int64_t k = 0, n = 0;
  // The Mul or Div by a scalar constant that reads the MatMul's output, if any: ONNX Runtime folds
  // it into FusedMatMul's alpha, so an edit that wants its arithmetic takes it in too.
  std::optional<size_t> scale;
  float scale_alpha = 1.0f;           // the factor (1 / divisor for a Div), in float
  std::vector<size_t> chain;          // the nodes after the MatMul up to the logits output, in order
  std::string logits;
  int32_t logits_type = 0;            // the logits output's element type (0 when not declared)
};

// Finds the head of the graph output `logits` in `g`.
LmHead FindLmHead(const GraphView& g, std::string_view logits);

// Where an initializer's bytes are: inline (raw_data) or in an external file.
struct InitializerData {
  std::string_view inline_bytes;  // when !external
  bool external = false;
  std::string location;
  uint64_t offset = 0, length = 0;  // length 0: to the end of the file
};
// nullopt when `name` is no initializer or stores its values in typed fields rather than raw_data.
std::optional<InitializerData> FindInitializerData(const GraphView& g, std::string_view name);

// `g`'s model with the head's MatMul (with its private Cast, and the scale node when `with_scale`)
// replaced by one node `domain`:`op`(activation, weight) writing the last replaced node's output,
// with float attribute alpha = scale_alpha when `with_scale`; an opset_import for `domain` added.
std::string WithFloatHeadOp(const GraphView& g, const LmHead& head, std::string_view domain, std::string_view op,
                            bool with_scale);

// The head alone, for checking an edit against ONNX Runtime on small data: input kProbeInput
// [1, "M", K] float (or float16 with float16 activations), the Cast, the MatMul and the chain over
// the initializer `weight_raw` ([K, probe_n] of the weight's type) in place of the real weight,
// output the logits name. `edited` is the same through WithFloatHeadOp(domain, op, with_scale).
inline constexpr const char* kProbeInput = "gemma4_probe_activation";
struct HeadProbe {
  std::string original, edited;
};
HeadProbe MakeHeadProbe(const GraphView& g, const LmHead& head, int64_t probe_n, std::string_view weight_raw,
                        std::string_view domain, std::string_view op, bool with_scale);

// The head re-quantized to com.microsoft MatMulNBits, bits 8, block kInt8Block, symmetric (the
// default zero point 128), accuracy_level 4: per column and block of 32 along K, scale =
// max|w| / 127 and code = round(w / scale) + 128. Codes are [N][blocks][32] bytes, scales
// [N * blocks] in the activations' type (float, or float16 with float16 activations).
inline constexpr int64_t kInt8Block = 32;
struct Int8HeadLayout {
  int64_t blocks = 0;
  uint64_t codes_bytes = 0, scales_bytes = 0;  // codes first, then scales, in one buffer
};
Int8HeadLayout Int8Layout(const LmHead& head);
// Fills `out` (codes_bytes + scales_bytes) from the weight's values `weight` ([K, N] row-major).
void QuantizeHeadInt8(const LmHead& head, const void* weight, uint8_t* out);
// `g`'s model with the head's MatMul (and its private Cast) replaced by the MatMulNBits node, whose
// two initializers declare external data in `location` (their values are to be given to ONNX
// Runtime from memory, e.g. SessionOptions::AddExternalInitializers), and the float weight's
// initializer dropped when nothing else reads it.
struct Int8HeadModel {
  std::string model;
  std::string codes, scales;  // the initializers' names
};
Int8HeadModel WithInt8Head(const GraphView& g, const LmHead& head, std::string_view location);

}  // namespace gemma4::onnx
