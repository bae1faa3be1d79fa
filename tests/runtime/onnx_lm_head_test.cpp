// Finding the LM head from the graph, the edits that give a float head another implementation, and
// the int8 re-quantization's arithmetic: which heads are taken, which near-misses are left alone
// (with a reason a user can read), and what the edited graphs contain.
#include "runtime/onnx_lm_head.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"
#include "runtime/proto_graph.h"

namespace gemma4 {
namespace {

using testing::ProtoGraph;

constexpr int32_t kFloat = 1, kFloat16 = 10;

std::vector<double> Ramp(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.25 * static_cast<double>(i % 7) - 0.5;
  return v;
}

// hidden [1, S, 4] @ W [4, 6] -> Div(cap) -> Tanh -> Mul(cap) -> logits [1, S, 6]: Gemma's softcapped head.
// `weight_elem` float16 puts a Cast to float32 between the weight and the MatMul.
ProtoGraph SoftcappedHead(int32_t weight_elem) {
  ProtoGraph p;
  p.Initializer("cap", kFloat, {}, {30.0});
  p.Initializer("W", weight_elem, {4, 6}, Ramp(24));
  std::string weight = "W";
  if (weight_elem == kFloat16) {
    p.Node("Cast", {"W"}, "W32", {{"to", kFloat}});
    weight = "W32";
  }
  p.Node("MatMul", {"hidden", weight}, "raw_logits");
  p.Node("Div", {"raw_logits", "cap"}, "scaled");
  p.Node("Tanh", {"scaled"}, "capped");
  p.Node("Mul", {"capped", "cap"}, "logits");
  p.TypedValue(11, "hidden", kFloat, {1, -1, 4});
  p.TypedValue(12, "logits", kFloat, {1, -1, 6});
  return p;
}

const onnx::GraphNode* FindOp(const onnx::GraphView& g, std::string_view op) {
  for (const auto& n : g.nodes) {
    if (n.Op() == op) return &n;
  }
  return nullptr;
}

size_t CountOp(const onnx::GraphView& g, std::string_view op) {
  size_t count = 0;
  for (const auto& n : g.nodes) count += n.Op() == op;
  return count;
}

size_t OpsetImports(const onnx::GraphView& g, std::string_view domain) {
  size_t count = 0;
  for (const auto& f : g.model_fields) {
    count += f.number == 8 && f.wire_type == 2 && onnx::wire::StringField(f.payload, 1) == domain;
  }
  return count;
}

TEST(LmHead, FindsAFloat32HeadAndItsSoftcappingChain) {
  const std::string model = SoftcappedHead(kFloat).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  ASSERT_TRUE(h.float_head) << h.note;
  EXPECT_EQ(h.form, "MatMul, float32 weight [4, 6]");
  EXPECT_EQ(h.k, 4);
  EXPECT_EQ(h.n, 6);
  EXPECT_EQ(h.weight, "W");
  EXPECT_EQ(h.activation, "hidden");
  EXPECT_EQ(h.output, "raw_logits");
  EXPECT_EQ(h.weight_type, kFloat);
  EXPECT_TRUE(h.float32_activations);
  EXPECT_FALSE(h.cast.has_value());
  EXPECT_EQ(h.logits_type, kFloat);
  // The chain in graph order: Div, Tanh, Mul; the Div by a constant is the scale FusedMatMul would take.
  ASSERT_EQ(h.chain.size(), 3u);
  EXPECT_EQ(g.nodes[h.chain[0]].Op(), "Div");
  EXPECT_EQ(g.nodes[h.chain[2]].Op(), "Mul");
  ASSERT_TRUE(h.scale.has_value());
  EXPECT_EQ(*h.scale, h.chain[0]);
  EXPECT_FLOAT_EQ(h.scale_alpha, 1.0f / 30.0f);
}

TEST(LmHead, FindsAFloat16WeightThroughItsCast) {
  const std::string model = SoftcappedHead(kFloat16).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  ASSERT_TRUE(h.float_head) << h.note;
  EXPECT_EQ(h.form, "MatMul, float16 weight [4, 6] through a Cast to float32");
  EXPECT_EQ(h.weight, "W");  // the initializer, not the Cast's output
  EXPECT_EQ(h.weight_type, kFloat16);
  EXPECT_TRUE(h.float32_activations);
  ASSERT_TRUE(h.cast.has_value());
  EXPECT_EQ(g.nodes[*h.cast].Op(), "Cast");
  EXPECT_TRUE(h.cast_private);
}

TEST(LmHead, ACastAnotherNodeReadsIsNotPrivate) {
  ProtoGraph p = SoftcappedHead(kFloat16);
  p.Node("Identity", {"W32"}, "W32_again");  // a second reader of the Cast's output
  p.Output("W32_again");
  const std::string model = p.Model();
  const onnx::LmHead h = onnx::FindLmHead(onnx::ParseGraph(model), "logits");
  ASSERT_TRUE(h.float_head) << h.note;
  EXPECT_FALSE(h.cast_private);
}

TEST(LmHead, AFloat16MatMulIsAFloatHeadWithFloat16Activations) {
  ProtoGraph p;
  p.Initializer("W", kFloat16, {4, 6}, Ramp(24));
  p.Node("MatMul", {"hidden16", "W"}, "logits");
  p.TypedValue(12, "logits", kFloat16, {1, -1, 6});
  const std::string model = p.Model();
  const onnx::LmHead h = onnx::FindLmHead(onnx::ParseGraph(model), "logits");
  ASSERT_TRUE(h.float_head) << h.note;
  EXPECT_FALSE(h.float32_activations);
  EXPECT_EQ(h.form, "MatMul in float16 (float16 weight [4, 6])");
  EXPECT_TRUE(h.chain.empty());
  EXPECT_FALSE(h.scale.has_value());
}

struct Refusal {
  std::string what;
  ProtoGraph graph;
  std::string form, note_part;
};

std::vector<Refusal> Refusals() {
  std::vector<Refusal> r;
  {
    ProtoGraph p;
    p.Node("MatMulNBits", {"hidden", "Wq", "Ws"}, "logits", {{"bits", 4}, {"K", 4}, {"N", 6}}, {}, "com.microsoft");
    p.Output("logits");
    r.push_back({"a quantized head", p, "MatMulNBits (4 bits)", "already quantized"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {4, 6}, Ramp(24));
    p.TypedValue(11, "W", kFloat, {4, 6});  // an initializer a caller may override
    p.Node("MatMul", {"hidden", "W"}, "logits");
    p.Output("logits");
    r.push_back({"a weight that is also a graph input", p, "MatMul", "graph input"});
  }
  {
    ProtoGraph p;
    p.Initializer("Wt", kFloat, {6, 4}, Ramp(24));
    p.Node("Transpose", {"Wt"}, "W");
    p.Node("MatMul", {"hidden", "W"}, "logits");
    p.Output("logits");
    r.push_back({"a computed weight", p, "MatMul", "not an initializer"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat16, {4, 6}, Ramp(24));
    p.Node("Cast", {"W"}, "W8", {{"to", 11}});  // to double
    p.Node("MatMul", {"hidden", "W8"}, "logits");
    p.Output("logits");
    r.push_back({"a Cast to another type", p, "MatMul", "another type than float32"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", 7, {4, 6}, Ramp(24));  // int64
    p.Node("MatMul", {"hidden", "W"}, "logits");
    p.Output("logits");
    r.push_back({"an integer weight", p, "MatMul", "neither float16 nor float32"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {2, 2, 6}, Ramp(24));
    p.Node("MatMul", {"hidden", "W"}, "logits");
    p.Output("logits");
    r.push_back({"a weight of rank 3", p, "MatMul", "[K, N] matrix"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {4, 6}, Ramp(24));
    p.Node("MatMul", {"hidden", "W"}, "logits");
    p.TypedValue(12, "logits", kFloat, {1, -1, 8});
    r.push_back({"N other than the logits' width", p, "MatMul, float32 weight [4, 6]", "last dimension (8)"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {4, 6}, Ramp(24));
    p.Node("MatMul", {"hidden", "W"}, "raw");
    p.Node("Tanh", {"raw"}, "logits");
    p.Output("logits");
    p.Output("raw");  // the chain's tensor leaves the graph too
    r.push_back({"a chain tensor read elsewhere", p, "not recognised", "read elsewhere too"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {4, 6}, Ramp(24));
    p.Node("MatMul", {"hidden", "W"}, "raw");
    p.Node("Add", {"raw", "bias_from_elsewhere"}, "logits");  // two computed inputs
    p.Output("logits");
    r.push_back({"a chain node with two computed inputs", p, "not recognised", "more than one computed tensor"});
  }
  {
    ProtoGraph p;
    p.Initializer("W", kFloat, {4, 6}, Ramp(24));
    p.Node("MatMul", {"hidden", "W"}, "t0");
    for (int i = 0; i < 9; ++i) p.Node("Tanh", {"t" + std::to_string(i)}, i == 8 ? "logits" : "t" + std::to_string(i + 1));
    p.Output("logits");
    r.push_back({"a chain longer than eight nodes", p, "not found", "within 8 nodes"});
  }
  {
    ProtoGraph p;
    p.Node("Identity", {"hidden"}, "other");
    p.Output("other");
    r.push_back({"no logits output", p, "not found", "no output 'logits'"});
  }
  return r;
}

TEST(LmHead, LeavesEveryOtherFormAloneAndSaysWhy) {
  for (const Refusal& r : Refusals()) {
    SCOPED_TRACE(r.what);
    const std::string model = r.graph.Model();
    const onnx::LmHead h = onnx::FindLmHead(onnx::ParseGraph(model), "logits");
    EXPECT_FALSE(h.float_head);
    EXPECT_EQ(h.form, r.form);
    EXPECT_NE(h.note.find(r.note_part), std::string::npos) << h.note;
  }
}

TEST(LmHead, FloatHeadOpReplacesTheMatMulAndItsPrivateCast) {
  const std::string model = SoftcappedHead(kFloat16).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  ASSERT_TRUE(h.float_head);
  const std::string edited = onnx::WithFloatHeadOp(g, h, "test.domain", "HeadOp", /*with_scale=*/false);
  const auto e = onnx::ParseGraph(edited);
  EXPECT_EQ(CountOp(e, "MatMul"), 0u);
  EXPECT_EQ(CountOp(e, "Cast"), 0u);  // the kernel reads the float16 weight itself
  const onnx::GraphNode* op = FindOp(e, "test.domain:HeadOp");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(std::vector<std::string_view>(op->inputs.begin(), op->inputs.end()),
            (std::vector<std::string_view>{"hidden", "W"}));
  ASSERT_EQ(op->outputs.size(), 1u);
  EXPECT_EQ(op->outputs[0], "raw_logits");
  EXPECT_EQ(CountOp(e, "Div") + CountOp(e, "Tanh") + CountOp(e, "Mul"), 3u);  // the softcapping stays
  EXPECT_EQ(OpsetImports(e, "test.domain"), 1u);
}

TEST(LmHead, ADomainTheModelImportsAlreadyIsNotImportedTwice) {
  ProtoGraph p = SoftcappedHead(kFloat);
  p.opsets = {{"", 17}, {"test.domain", 1}};
  const std::string model = p.Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  ASSERT_TRUE(h.float_head) << h.note;
  const std::string edited = onnx::WithFloatHeadOp(g, h, "test.domain", "HeadOp", false);
  EXPECT_EQ(OpsetImports(onnx::ParseGraph(edited), "test.domain"), 1u);
}

TEST(LmHead, FloatHeadOpTakesTheScaleInAsAlpha) {
  const std::string model = SoftcappedHead(kFloat).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  const std::string edited = onnx::WithFloatHeadOp(g, h, "test.domain", "HeadOp", /*with_scale=*/true);
  const auto e = onnx::ParseGraph(edited);  // views into `edited`
  EXPECT_EQ(CountOp(e, "Div"), 0u);
  const onnx::GraphNode* op = FindOp(e, "test.domain:HeadOp");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->outputs[0], "scaled");  // what the Div wrote, so Tanh reads it unchanged
  EXPECT_FLOAT_EQ(op->floats.at("alpha"), 1.0f / 30.0f);
  EXPECT_EQ(CountOp(e, "Tanh"), 1u);
}

TEST(LmHead, ASharedCastStaysForItsOtherReaders) {
  ProtoGraph p = SoftcappedHead(kFloat16);
  p.Node("Identity", {"W32"}, "W32_again");
  p.Output("W32_again");
  const std::string model = p.Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  const std::string edited = onnx::WithFloatHeadOp(g, h, "test.domain", "HeadOp", false);
  const auto e = onnx::ParseGraph(edited);
  EXPECT_EQ(CountOp(e, "Cast"), 1u);
  EXPECT_EQ(CountOp(e, "Identity"), 1u);
}

TEST(LmHead, TheProbeIsTheHeadAloneOverTheGivenWeight) {
  const std::string model = SoftcappedHead(kFloat16).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  const std::string weight(4 * 10 * 2, '\0');  // [K=4, 10] float16 zeros
  const onnx::HeadProbe probe = onnx::MakeHeadProbe(g, h, 10, weight, "test.domain", "HeadOp", true);
  const auto o = onnx::ParseGraph(probe.original);
  const onnx::LmHead again = onnx::FindLmHead(o, "logits");
  ASSERT_TRUE(again.float_head) << again.note;
  EXPECT_EQ(again.k, 4);
  EXPECT_EQ(again.n, 10);  // the probe's width, not the head's
  EXPECT_EQ(again.activation, onnx::kProbeInput);
  EXPECT_EQ(o.nodes.size(), 5u);  // Cast, MatMul, Div, Tanh, Mul
  EXPECT_TRUE(o.initializers.count("cap"));  // the chain's constants come along
  const auto e = onnx::ParseGraph(probe.edited);
  EXPECT_NE(FindOp(e, "test.domain:HeadOp"), nullptr);
  EXPECT_EQ(CountOp(e, "MatMul") + CountOp(e, "Div"), 0u);
}

// The int8 re-quantization: per column and block of 32 along K, scale = max|w| / 127, code =
// round(w / scale) + 128, the block's tail past K padded with the zero code.
TEST(LmHeadInt8, QuantizesEachColumnsBlocksSymmetrically) {
  constexpr int64_t k = 40, n = 5;  // two blocks, the second 8 long
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> w(k * n);
  for (float& v : w) v = normal(rng);
  for (int64_t r = 0; r < k; ++r) w[r * n + 3] = 0.0f;  // an all-zero column
  w[5 * n + 4] = 1e6f;                                 // an extreme value in one block
  onnx::LmHead head;
  head.k = k;
  head.n = n;
  head.weight_type = kFloat;
  head.float32_activations = true;
  const onnx::Int8HeadLayout l = onnx::Int8Layout(head);
  ASSERT_EQ(l.blocks, 2);
  ASSERT_EQ(l.codes_bytes, static_cast<uint64_t>(n * 2 * 32));
  ASSERT_EQ(l.scales_bytes, static_cast<uint64_t>(n * 2 * 4));
  std::vector<uint8_t> out(l.codes_bytes + l.scales_bytes);
  onnx::QuantizeHeadInt8(head, w.data(), out.data());
  const uint8_t* codes = out.data();
  const auto* scales = reinterpret_cast<const float*>(out.data() + l.codes_bytes);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t b = 0; b < 2; ++b) {
      const float scale = scales[c * 2 + b];
      float amax = 0;
      for (int64_t r = b * 32; r < std::min(k, b * 32 + 32); ++r) amax = std::max(amax, std::fabs(w[r * n + c]));
      EXPECT_FLOAT_EQ(scale, amax / 127.0f) << "column " << c << " block " << b;
      for (int64_t i = 0; i < 32; ++i) {
        const uint8_t code = codes[(c * 2 + b) * 32 + i];
        const int64_t r = b * 32 + i;
        if (r >= k) {
          EXPECT_EQ(code, 128) << "padding at column " << c;
          continue;
        }
        EXPECT_GE(code, 1);  // -127..127: symmetric, 0 never used
        const float back = static_cast<float>(static_cast<int>(code) - 128) * scale;
        EXPECT_LE(std::fabs(back - w[r * n + c]), scale * 0.5f + 1e-6f) << "row " << r << " column " << c;
      }
    }
  }
  EXPECT_EQ(scales[3 * 2], 0.0f);
  EXPECT_EQ(codes[(4 * 2) * 32 + 5], 255);  // the extreme value is the block's +127
}

TEST(LmHeadInt8, Float16ActivationsGetFloat16ScalesAndCodesForThoseScales) {
  constexpr int64_t k = 32, n = 2;
  std::vector<uint16_t> w(k * n);
  for (int64_t i = 0; i < k * n; ++i) w[i] = FloatToHalf(0.01f * static_cast<float>(i % 13) - 0.05f);
  onnx::LmHead head;
  head.k = k;
  head.n = n;
  head.weight_type = kFloat16;
  head.float32_activations = false;
  const onnx::Int8HeadLayout l = onnx::Int8Layout(head);
  ASSERT_EQ(l.scales_bytes, static_cast<uint64_t>(n * 2));
  std::vector<uint8_t> out(l.codes_bytes + l.scales_bytes);
  onnx::QuantizeHeadInt8(head, w.data(), out.data());
  for (int64_t c = 0; c < n; ++c) {
    uint16_t s16;
    std::memcpy(&s16, out.data() + l.codes_bytes + 2 * c, 2);
    const float scale = HalfToFloat(s16);
    ASSERT_GT(scale, 0.0f);
    for (int64_t r = 0; r < k; ++r) {
      const float back = static_cast<float>(static_cast<int>(out[c * 32 + r]) - 128) * scale;
      EXPECT_LE(std::fabs(back - HalfToFloat(w[r * n + c])), scale * 0.5f + 1e-7f);
    }
  }
}

TEST(LmHeadInt8, TheEditIsAMatMulNBitsNodeAndDropsAWeightOnlyTheHeadRead) {
  const std::string model = SoftcappedHead(kFloat16).Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  const onnx::Int8HeadModel edit = onnx::WithInt8Head(g, h, "int8.bin");
  const auto e = onnx::ParseGraph(edit.model);
  const onnx::GraphNode* q = FindOp(e, "com.microsoft:MatMulNBits");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->ints.at("bits"), 8);
  EXPECT_EQ(q->ints.at("block_size"), 32);
  EXPECT_EQ(q->ints.at("K"), 4);
  EXPECT_EQ(q->ints.at("N"), 6);
  EXPECT_EQ(q->ints.at("accuracy_level"), 4);
  EXPECT_EQ(std::vector<std::string_view>(q->inputs.begin(), q->inputs.end()),
            (std::vector<std::string_view>{"hidden", edit.codes, edit.scales}));
  EXPECT_EQ(q->outputs[0], "raw_logits");
  EXPECT_EQ(CountOp(e, "Cast") + CountOp(e, "MatMul"), 0u);
  EXPECT_FALSE(e.initializers.count("W"));  // nothing else read it
  ASSERT_TRUE(e.initializers.count(edit.codes));
  const auto codes = onnx::FindInitializerData(e, edit.codes);
  ASSERT_TRUE(codes.has_value());
  EXPECT_TRUE(codes->external);
  EXPECT_EQ(codes->location, "int8.bin");
  EXPECT_EQ(codes->length, 6u * 1 * 32);
  const auto scales = onnx::FindInitializerData(e, edit.scales);
  ASSERT_TRUE(scales.has_value());
  EXPECT_EQ(scales->offset, 6u * 32);
  EXPECT_EQ(scales->length, 6u * 4);  // float32 activations: float32 scales
  EXPECT_EQ(OpsetImports(e, "com.microsoft"), 1u);
}

TEST(LmHeadInt8, ATiedWeightStaysForTheEmbeddingThatReadsIt) {
  ProtoGraph p = SoftcappedHead(kFloat);
  p.Node("Gather", {"W", "ids"}, "embedded");  // the tied embedding reads the head's weight too
  p.Output("embedded");
  const std::string model = p.Model();
  const auto g = onnx::ParseGraph(model);
  const onnx::LmHead h = onnx::FindLmHead(g, "logits");
  ASSERT_TRUE(h.float_head);
  const onnx::Int8HeadModel edit = onnx::WithInt8Head(g, h, "int8.bin");
  const auto e = onnx::ParseGraph(edit.model);
  EXPECT_TRUE(e.initializers.count("W"));
  EXPECT_EQ(CountOp(e, "Gather"), 1u);
}

TEST(LmHead, InitializerDataInlineAndExternal) {
  ProtoGraph p;
  p.Initializer("inline", kFloat, {2}, {1.0, 2.0});
  p.ExternalInitializer("outside", kFloat16, {4, 6}, "weights.bin", 4096, 48);
  p.Node("Add", {"inline", "outside"}, "y");
  p.Output("y");
  const std::string model = p.Model();
  const auto g = onnx::ParseGraph(model);
  const auto in = onnx::FindInitializerData(g, "inline");
  ASSERT_TRUE(in.has_value());
  EXPECT_FALSE(in->external);
  ASSERT_EQ(in->inline_bytes.size(), 8u);
  float second;
  std::memcpy(&second, in->inline_bytes.data() + 4, 4);
  EXPECT_EQ(second, 2.0f);
  const auto out = onnx::FindInitializerData(g, "outside");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->external);
  EXPECT_EQ(out->location, "weights.bin");
  EXPECT_EQ(out->offset, 4096u);
  EXPECT_EQ(out->length, 48u);
  EXPECT_FALSE(onnx::FindInitializerData(g, "y").has_value());
}

TEST(LmHead, AnExternalOffsetThatIsNotANumberIsAWireError) {
  ProtoGraph p;
  p.ExternalInitializer("outside", kFloat, {2}, "weights.bin", 0, 8);
  std::string model = p.Model();
  // Overwrite the offset's text "0" with a letter: same length, so the framing stays valid.
  const std::string key = std::string("offset") + '\x12' + '\x01' + '0';
  const size_t at = model.find(key);
  ASSERT_NE(at, std::string::npos);
  model[at + key.size() - 1] = 'x';
  const auto g = onnx::ParseGraph(model);
  EXPECT_THROW(onnx::FindInitializerData(g, "outside"), onnx::wire::WireError);
}

}  // namespace
}  // namespace gemma4
