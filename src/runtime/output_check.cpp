// Output checks (output_check.h).
#include "runtime/output_check.h"

#include "gemma4/error.h"

namespace gemma4 {

size_t CheckLogitsOutput(const Ort::Value& logits, int64_t vocab, size_t keep, const std::string& graph,
                         const std::string& name) {
  if (!logits || !logits.IsTensor()) throw Error(ErrorKind::kRuntime, graph + ": output '" + name + "' is not a tensor");
  const auto info = logits.GetTensorTypeAndShapeInfo();
  const auto shape = info.GetShape();
  std::string found = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) found += ',';
    found += std::to_string(shape[i]);
  }
  found += "]";
  auto fail = [&](const std::string& why) {
    return Error(ErrorKind::kRuntime, graph + ": output '" + name + "' came back as " + found + " (" +
                                          std::to_string(info.GetElementCount()) + " elements); expected [1,rows," +
                                          std::to_string(vocab) + "]: " + why);
  };
  const auto type = info.GetElementType();
  if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
    throw fail("its element type is neither float nor float16");
  }
  if (shape.size() != 3 || shape[0] != 1 || shape[1] < 0 || shape[2] != vocab) throw fail("the shape differs");
  const uint64_t rows = static_cast<uint64_t>(shape[1]);
  // rows * vocab cannot overflow: both are below 2^63 and ORT allocated that many elements, but
  // compare by division so a lying count cannot wrap the product either.
  if (vocab <= 0 || info.GetElementCount() / static_cast<uint64_t>(vocab) != rows ||
      info.GetElementCount() % static_cast<uint64_t>(vocab) != 0) {
    throw fail("its element count is not rows x vocabulary");
  }
  if (rows < keep) throw fail("it has fewer than the " + std::to_string(keep) + " rows asked for");
  return static_cast<size_t>(rows);
}

}  // namespace gemma4
