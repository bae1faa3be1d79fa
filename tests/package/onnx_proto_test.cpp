// The ONNX protobuf walker on hand-built hostile models: sizes that would overflow 64 bits and
// numbers that are not numbers are errors naming the byte offset, never a wrapped small value.
#include "package/onnx_proto.h"

#include <gtest/gtest.h>

#include "package/proto_wire.h"
#include "test_util.h"

namespace gemma4::onnx {
namespace {

using wire::PutBytesField;
using wire::PutVarint;

std::string KeyValue(const std::string& key, const std::string& value) {
  std::string kv;
  PutBytesField(kv, 1, key);
  PutBytesField(kv, 2, value);
  return kv;
}

// ModelProto { graph { initializer { dims..., data_type float, name "w", external_data..., data_location EXTERNAL } } }
std::string Model(const std::vector<uint64_t>& dims, const std::vector<std::pair<std::string, std::string>>& external) {
  std::string tensor;
  for (uint64_t d : dims) {
    PutVarint(tensor, (1 << 3) | 0);
    PutVarint(tensor, d);
  }
  PutVarint(tensor, (2 << 3) | 0);
  PutVarint(tensor, 1);
  PutBytesField(tensor, 8, "w");
  for (const auto& [k, v] : external) PutBytesField(tensor, 13, KeyValue(k, v));
  PutVarint(tensor, (14 << 3) | 0);
  PutVarint(tensor, 1);
  std::string graph;
  PutBytesField(graph, 5, tensor);
  std::string model;
  PutBytesField(model, 7, graph);
  return model;
}

ModelSummary Parse(const std::string& bytes) {
  return ParseModelSummary({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "hostile.onnx");
}

TEST(OnnxProto, WellFormedExternalTensorIsSummarised) {
  const ModelSummary s = Parse(Model({4, 8}, {{"location", "w.bin"}, {"offset", "64"}}));
  ASSERT_EQ(s.external.size(), 1u);
  EXPECT_EQ(s.external[0].location, "w.bin");
  EXPECT_EQ(s.external[0].offset, 64u);
  EXPECT_EQ(s.external[0].length, 4u * 8u * 4u);
}

TEST(OnnxProto, DimsWhoseProductOverflowsAreCorrupt) {
  // 2^33 * 2^33 wraps to 0 in 64 bits: the length would pass every truncation check.
  EXPECT_GEMMA4_ERROR(Parse(Model({1ull << 33, 1ull << 33}, {{"location", "w.bin"}})), ErrorKind::kCorrupt,
                      "hostile.onnx: not a valid ONNX model (byte ");
  EXPECT_GEMMA4_ERROR(Parse(Model({1ull << 33, 1ull << 33}, {{"location", "w.bin"}})), ErrorKind::kCorrupt,
                      "the product of the tensor's dims overflows 64 bits");
  // 2^62 floats: the element count fits, the byte size does not.
  EXPECT_GEMMA4_ERROR(Parse(Model({1ull << 62}, {{"location", "w.bin"}})), ErrorKind::kCorrupt,
                      "the tensor's byte size overflows 64 bits");
}

TEST(OnnxProto, OffsetPlusLengthThatOverflowsIsCorrupt) {
  EXPECT_GEMMA4_ERROR(Parse(Model({4}, {{"location", "w.bin"}, {"offset", "18446744073709551615"}, {"length", "16"}})),
                      ErrorKind::kCorrupt, "external data of 'w': offset + length overflows 64 bits");
}

TEST(OnnxProto, ExternalNumbersAreStrictDecimals) {
  for (const std::string bad : {"-1", "12abc", " 12", "+3", "", "99999999999999999999"}) {
    EXPECT_GEMMA4_ERROR(Parse(Model({4}, {{"location", "w.bin"}, {"offset", bad}})), ErrorKind::kCorrupt,
                        "external_data 'offset' is not a number: '" + bad + "'");
  }
}

}  // namespace
}  // namespace gemma4::onnx
