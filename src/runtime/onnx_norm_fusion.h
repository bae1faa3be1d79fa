// Rewrites RMSNorms written out in elementary ops into one SimplifiedLayerNormalization node, at
// load, on the protobuf bytes. ONNX Runtime 1.30 fuses only the Pow(x, 2) ... Div form itself; an
// export that writes x * Reciprocal(Sqrt(mean(x * x) + eps)) or x * Pow(mean + eps, -0.5) keeps
// five or six small kernels per norm (227 in the full-size package, docs/BENCHMARKS.md), each a pass over its
// row. The rewrite fires only where the pattern matches exactly: the last-axis mean of x squared,
// a scalar epsilon, intermediates read by nothing else, a 1-D weight. In a float16 graph (the
// Cast-to-float32 ... Cast-back sandwich) only the float32 core is fused, with a weight of ones, so
// that every rounding to float16 stays where it was. The file on disk is never modified.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace gemma4::onnx {

struct NormFusion {
  size_t fused = 0;    // norms rewritten
  std::string model;   // the edited ModelProto, empty when nothing matched
};

// Finds and rewrites every matching norm in `model` (the bytes of `path`, which names it in
// errors). Initializers are kept byte for byte, so external data references are unchanged.
// Throws Error(kCorrupt) naming the file and byte offset on a malformed protobuf.
NormFusion FuseRmsNorms(const std::filesystem::path& path, std::string_view model);

}  // namespace gemma4::onnx
