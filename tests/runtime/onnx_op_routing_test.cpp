// Which MatMulNBits nodes RouteMatMulNBits moves, and that everything else survives verbatim.
#include "runtime/onnx_op_routing.h"

#include <gtest/gtest.h>

#include "gemma4/error.h"
#include "kernels/matmulnbits_graph.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

using kernels::testing::MatMulNBitsCase;
using kernels::testing::MatMulNBitsModel;

const MatMulRouting kRouting{"test.domain", "OpF32", "OpF16"};

MatMulNBitsCase Case(bool half, int accuracy_level, bool zero_points) {
  MatMulNBitsCase c;
  c.m = 1, c.n = 3, c.k = 64, c.half = half, c.accuracy_level = accuracy_level;
  c.codes.assign(3 * 2 * 16, 0x88);
  c.scale_bytes.assign(3 * 2 * (half ? 2 : 4), 0);
  if (zero_points) c.zero_points.assign(3, 0x88);
  return c;
}

// (op_type, domain) of every node, and the opset imports, of a serialized model.
struct Parsed {
  std::vector<std::pair<std::string, std::string>> nodes;
  std::vector<std::string> opset_domains;
};
Parsed Parse(const std::string& model) {
  const auto* p = reinterpret_cast<const uint8_t*>(model.data());
  Parsed out;
  for (const auto& f : wire::Fields({p, p + model.size(), p})) {
    if (f.number == 8) out.opset_domains.emplace_back(wire::StringField(f.payload, 1));
    if (f.number != 7) continue;
    for (const auto& g : wire::Fields(f.payload)) {
      if (g.number == 1) {
        out.nodes.emplace_back(std::string(wire::StringField(g.payload, 4)), std::string(wire::StringField(g.payload, 7)));
      }
    }
  }
  return out;
}

TEST(RouteMatMulNBits, MovesAccuracyLevel4NodesByScaleType) {
  for (bool half : {false, true}) {
    for (bool zp : {false, true}) {
      const RoutedModel r = RouteMatMulNBits(MatMulNBitsModel(Case(half, 4, zp)), kRouting, "m.onnx");
      ASSERT_EQ(r.routed, 1u);
      EXPECT_EQ(r.kept, 0u);
      const Parsed parsed = Parse(r.model);
      ASSERT_EQ(parsed.nodes.size(), 1u);
      EXPECT_EQ(parsed.nodes[0].first, half ? "OpF16" : "OpF32");
      EXPECT_EQ(parsed.nodes[0].second, "test.domain");
      EXPECT_EQ(parsed.opset_domains.back(), "test.domain");
    }
  }
}

TEST(RouteMatMulNBits, KeepsHalfNodesWhenNoHalfOpIsGiven) {
  const RoutedModel r = RouteMatMulNBits(MatMulNBitsModel(Case(true, 4, false)), {"test.domain", "OpF32", ""}, "m.onnx");
  EXPECT_EQ(r.routed, 0u);
  EXPECT_EQ(r.kept, 1u);
}

TEST(RouteMatMulNBits, KeepsFloatActivationNodesOnOnnxRuntime) {
  for (int level : {0, 1, 2, 3}) {
    const std::string model = MatMulNBitsModel(Case(false, level, false));
    const RoutedModel r = RouteMatMulNBits(model, kRouting, "m.onnx");
    EXPECT_EQ(r.routed, 0u) << level;
    EXPECT_EQ(r.kept, 1u) << level;
    EXPECT_TRUE(r.model.empty());
  }
}

TEST(RouteMatMulNBits, CopiesEveryOtherFieldVerbatim) {
  const std::string model = MatMulNBitsModel(Case(false, 4, true));
  const RoutedModel r = RouteMatMulNBits(model, kRouting, "m.onnx");
  // Initializers (5), graph inputs (11) and outputs (12) come through byte for byte.
  auto payloads = [](const std::string& m, uint32_t graph_field) {
    const auto* p = reinterpret_cast<const uint8_t*>(m.data());
    std::vector<std::string> out;
    for (const auto& f : wire::Fields({p, p + m.size(), p})) {
      if (f.number != 7) continue;
      for (const auto& g : wire::Fields(f.payload)) {
        if (g.number == graph_field) out.emplace_back(g.encoded);
      }
    }
    return out;
  };
  for (uint32_t field : {5u, 11u, 12u}) EXPECT_EQ(payloads(r.model, field), payloads(model, field)) << field;
}

TEST(RouteMatMulNBits, NamesTheModelOnCorruptBytes) {
  std::string model = MatMulNBitsModel(Case(false, 4, false));
  model.resize(model.size() - 7);
  try {
    RouteMatMulNBits(model, kRouting, "broken.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("broken.onnx: at byte"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4::onnx
