// The ONNX protobuf walker and the external-data checks on fuzzed bytes: a summary or a
// gemma4::Error naming the byte offset. Every external reference that survives the walk must
// have an offset + length that fits 64 bits (what the truncation check of a sidecar relies on).
#include "fuzz_util.h"
#include "package/onnx_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const gemma4::onnx::ModelSummary s = gemma4::onnx::ParseModelSummary({data, size}, "fuzz.onnx");
    for (const auto& ref : s.external) {
      uint64_t end = 0;
      gemma4::fuzz::Require(!__builtin_add_overflow(ref.offset, ref.length, &end), "offset + length fits 64 bits");
    }
    for (const auto& v : s.inputs) (void)gemma4::onnx::ElementTypeName(v.elem_type);
  });
  return 0;
}
