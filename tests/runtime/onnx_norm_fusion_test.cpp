// The load-time RMSNorm rewrite: which spellings it fuses, which near-misses it leaves alone, and
// that on the generated packages every norm goes and nothing else changes.
#include "runtime/onnx_norm_fusion.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gemma4/error.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"
#include "runtime/proto_graph.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::ProtoGraph;

std::map<std::string, int> CountOps(const std::string& model) {
  std::map<std::string, int> count;
  for (const auto& n : onnx::ParseGraph(model).nodes) ++count[n.Op()];
  return count;
}

const onnx::GraphNode* FindOp(const onnx::GraphView& g, const std::string& op) {
  for (const auto& n : g.nodes) {
    if (n.Op() == op) return &n;
  }
  return nullptr;
}

// x [.., 4] -> x * Reciprocal(Sqrt(ReduceMean(x * x) + eps)) * w, the float32 spelling.
ProtoGraph ReciprocalNorm() {
  ProtoGraph p;
  p.Initializer("eps", 1, {}, {1e-6});
  p.Initializer("w", 1, {4}, {1, 2, 3, 4});
  p.Node("Mul", {"x", "x"}, "sq");
  p.Node("ReduceMean", {"sq"}, "ms", {{"keepdims", 1}}, {-1});
  p.Node("Add", {"ms", "eps"}, "ms_eps");
  p.Node("Sqrt", {"ms_eps"}, "rms");
  p.Node("Reciprocal", {"rms"}, "inv");
  p.Node("Mul", {"x", "inv"}, "normed");
  p.Node("Mul", {"normed", "w"}, "y");
  p.Output("y");
  return p;
}

TEST(NormFusion, FusesTheReciprocalSpellingIntoOneNode) {
  const std::string model = ReciprocalNorm().Model();
  onnx::NormFusion f = onnx::FuseRmsNorms("norm.onnx", model);
  ASSERT_EQ(f.fused, 1u);
  const auto g = onnx::ParseGraph(f.model);
  ASSERT_EQ(g.nodes.size(), 1u);
  const auto& n = g.nodes[0];
  EXPECT_EQ(n.Op(), "SimplifiedLayerNormalization");
  EXPECT_EQ(std::vector<std::string_view>(n.inputs.begin(), n.inputs.end()), (std::vector<std::string_view>{"x", "w"}));
  ASSERT_EQ(n.outputs.size(), 1u);
  EXPECT_EQ(n.outputs[0], "y");  // the graph output keeps its name
  EXPECT_EQ(n.ints.at("axis"), -1);
  EXPECT_EQ(n.ints.at("stash_type"), 1);
  EXPECT_FLOAT_EQ(n.floats.at("epsilon"), 1e-6f);
  EXPECT_EQ(g.initializers.size(), 2u);  // initializers are kept as they were
}

TEST(NormFusion, FusesThePowSpellingWithAConstantNodeAndOpset18Axes) {
  ProtoGraph p;
  p.Initializer("axes", 7, {1}, {-1});
  p.Initializer("half", 1, {}, {-0.5});
  p.Initializer("w", 1, {4}, {1, 1, 1, 1});
  p.ConstantNode("eps", 1e-5);
  p.Node("Mul", {"x", "x"}, "sq");
  p.Node("ReduceMean", {"sq", "axes"}, "ms");
  p.Node("Add", {"eps", "ms"}, "ms_eps");  // epsilon first: Add is commutative
  p.Node("Pow", {"ms_eps", "half"}, "inv");
  p.Node("Mul", {"inv", "x"}, "normed");
  p.Node("Mul", {"w", "normed"}, "y");
  p.Output("y");
  onnx::NormFusion f = onnx::FuseRmsNorms("pow.onnx", p.Model());
  ASSERT_EQ(f.fused, 1u);
  auto ops = CountOps(f.model);
  EXPECT_EQ(ops["SimplifiedLayerNormalization"], 1);
  EXPECT_EQ(ops["Pow"] + ops["ReduceMean"] + ops["Mul"] + ops["Add"], 0);
  EXPECT_FLOAT_EQ(FindOp(onnx::ParseGraph(f.model), "SimplifiedLayerNormalization")->floats.at("epsilon"), 1e-5f);
}

TEST(NormFusion, FusesTheDivSpelling) {
  ProtoGraph p;
  p.Initializer("two", 1, {}, {2});
  p.Initializer("eps", 1, {}, {1e-6});
  p.Initializer("w", 1, {4}, {1, 1, 1, 1});
  p.Node("Pow", {"x", "two"}, "sq");
  p.Node("ReduceMean", {"sq"}, "ms", {}, {-1});
  p.Node("Add", {"ms", "eps"}, "ms_eps");
  p.Node("Sqrt", {"ms_eps"}, "rms");
  p.Node("Div", {"x", "rms"}, "normed");
  p.Node("Mul", {"normed", "w"}, "y");
  p.Output("y");
  EXPECT_EQ(onnx::FuseRmsNorms("div.onnx", p.Model()).fused, 1u);
}

// Cast(x16 -> float32) ... Cast(-> float16) * w16, `tag` naming the tensors of one norm.
void Float16Norm(ProtoGraph& p, const std::string& tag) {
  p.Node("Cast", {"x16" + tag}, "x32" + tag, {{"to", 1}});
  p.Node("Mul", {"x32" + tag, "x32" + tag}, "sq" + tag);
  p.Node("ReduceMean", {"sq" + tag}, "ms" + tag, {}, {-1});
  p.Node("Add", {"ms" + tag, "eps"}, "ms_eps" + tag);
  p.Node("Sqrt", {"ms_eps" + tag}, "rms" + tag);
  p.Node("Reciprocal", {"rms" + tag}, "inv" + tag);
  p.Node("Mul", {"x32" + tag, "inv" + tag}, "normed" + tag);
  p.Node("Cast", {"normed" + tag}, "normed16" + tag, {{"to", 10}});
  p.Node("Mul", {"normed16" + tag, "w16"}, "y" + tag);
  p.Output("y" + tag);
}

TEST(NormFusion, FusesOnlyTheFloat32CoreOfAFloat16Norm) {
  ProtoGraph p;
  p.Initializer("eps", 1, {}, {1e-6});
  p.Initializer("w16", 10, {4}, {1, 1, 1, 1});
  Float16Norm(p, "");
  onnx::NormFusion f = onnx::FuseRmsNorms("f16.onnx", p.Model());
  ASSERT_EQ(f.fused, 1u);
  const auto g = onnx::ParseGraph(f.model);
  // Both roundings to float16 stay where they were: Cast, fused core, Cast, weight Mul.
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0].Op(), "Cast");
  const auto& n = g.nodes[1];
  EXPECT_EQ(n.Op(), "SimplifiedLayerNormalization");
  EXPECT_EQ(n.inputs[0], "x32");
  EXPECT_EQ(n.outputs[0], "normed");
  auto ones = onnx::ConstantOf(g, n.inputs[1]);
  ASSERT_TRUE(ones.has_value());
  EXPECT_EQ(ones->elem_type, 1);
  EXPECT_EQ(ones->dims, std::vector<int64_t>{4});
  EXPECT_EQ(g.nodes[2].Op(), "Cast");
  EXPECT_EQ(g.nodes[3].Op(), "Mul");
  EXPECT_EQ(g.outputs.count("y"), 1u);
}

TEST(NormFusion, Float16NormsOfOneWidthShareOneOnesVector) {
  ProtoGraph p;
  p.Initializer("eps", 1, {}, {1e-6});
  p.Initializer("w16", 10, {4}, {1, 1, 1, 1});
  Float16Norm(p, "_a");
  Float16Norm(p, "_b");
  onnx::NormFusion f = onnx::FuseRmsNorms("f16.onnx", p.Model());
  ASSERT_EQ(f.fused, 2u);
  const auto g = onnx::ParseGraph(f.model);
  EXPECT_EQ(g.initializers.size(), 3u);  // eps, w16 and one ones vector
  EXPECT_EQ(CountOps(f.model)["SimplifiedLayerNormalization"], 2);
}

TEST(NormFusion, AWeightClaimingAHugeWidthIsNoNorms) {
  ProtoGraph p;
  p.Initializer("eps", 1, {}, {1e-6});
  p.Initializer("w16", 10, {int64_t{1} << 40}, {1, 1, 1, 1});  // dims that lie about the data
  Float16Norm(p, "");
  EXPECT_EQ(onnx::FuseRmsNorms("huge.onnx", p.Model()).fused, 0u);  // and nothing of that size allocated
}

TEST(NormFusion, LeavesNearMissesAlone) {
  {  // an intermediate that is also a graph output
    ProtoGraph p = ReciprocalNorm();
    p.Output("ms");
    EXPECT_EQ(onnx::FuseRmsNorms("a.onnx", p.Model()).fused, 0u);
  }
  {  // an intermediate another node reads
    ProtoGraph p = ReciprocalNorm();
    p.Node("Neg", {"inv"}, "z");
    p.Output("z");
    EXPECT_EQ(onnx::FuseRmsNorms("b.onnx", p.Model()).fused, 0u);
  }
  {  // a mean over another axis
    ProtoGraph p;
    p.Initializer("eps", 1, {}, {1e-6});
    p.Initializer("w", 1, {4}, {1, 1, 1, 1});
    p.Node("Mul", {"x", "x"}, "sq");
    p.Node("ReduceMean", {"sq"}, "ms", {}, {1});
    p.Node("Add", {"ms", "eps"}, "ms_eps");
    p.Node("Sqrt", {"ms_eps"}, "rms");
    p.Node("Reciprocal", {"rms"}, "inv");
    p.Node("Mul", {"x", "inv"}, "normed");
    p.Node("Mul", {"normed", "w"}, "y");
    p.Output("y");
    EXPECT_EQ(onnx::FuseRmsNorms("c.onnx", p.Model()).fused, 0u);
  }
  {  // the square of another tensor than the one normalised
    ProtoGraph p;
    p.Initializer("eps", 1, {}, {1e-6});
    p.Initializer("w", 1, {4}, {1, 1, 1, 1});
    p.Node("Mul", {"x2", "x2"}, "sq");
    p.Node("ReduceMean", {"sq"}, "ms", {}, {-1});
    p.Node("Add", {"ms", "eps"}, "ms_eps");
    p.Node("Sqrt", {"ms_eps"}, "rms");
    p.Node("Reciprocal", {"rms"}, "inv");
    p.Node("Mul", {"x", "inv"}, "normed");
    p.Node("Mul", {"normed", "w"}, "y");
    p.Output("y");
    EXPECT_EQ(onnx::FuseRmsNorms("d.onnx", p.Model()).fused, 0u);
  }
  {  // a non-scalar epsilon, and a Pow exponent that is not -0.5
    ProtoGraph p;
    p.Initializer("eps", 1, {2}, {1e-6, 1e-6});
    p.Initializer("half", 1, {}, {-0.25});
    p.Initializer("w", 1, {4}, {1, 1, 1, 1});
    p.Node("Mul", {"x", "x"}, "sq");
    p.Node("ReduceMean", {"sq"}, "ms", {}, {-1});
    p.Node("Add", {"ms", "eps"}, "ms_eps");
    p.Node("Pow", {"ms_eps", "half"}, "inv");
    p.Node("Mul", {"x", "inv"}, "normed");
    p.Node("Mul", {"normed", "w"}, "y");
    p.Output("y");
    EXPECT_EQ(onnx::FuseRmsNorms("e.onnx", p.Model()).fused, 0u);
  }
  {  // a scalar "weight" (a plain scale, not a norm's)
    ProtoGraph p = ReciprocalNorm();
    p.Initializer("s", 1, {}, {2});
    p.Node("Mul", {"y", "s"}, "y2");
    p.Output("y2");
    EXPECT_EQ(onnx::FuseRmsNorms("f.onnx", p.Model()).fused, 1u);  // the norm itself, not the scale
  }
}

TEST(NormFusion, NamesTheFileOnAMalformedModel) {
  try {
    onnx::FuseRmsNorms("bad.onnx", std::string("\x3a\xff\xff\xff\x0f", 5));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("bad.onnx"), std::string::npos) << e.what();
  }
}

// Every norm of the generated packages (float32 and float16 graphs) is one node afterwards, and
// every other node is still there.
class PackageNormFusion : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(PackageNormFusion, FusesEveryNormAndKeepsEverythingElse) {
  const auto path = testing::TestModel(GetParam().first) / "onnx" / GetParam().second;
  const std::string model = testing::ReadFile(path);
  const auto before = CountOps(model);
  ASSERT_GT(before.at("ReduceMean"), 0);
  onnx::NormFusion f = onnx::FuseRmsNorms(path, model);
  EXPECT_EQ(f.fused, static_cast<size_t>(before.at("ReduceMean")));
  auto after = CountOps(f.model);
  EXPECT_EQ(after["SimplifiedLayerNormalization"], before.at("ReduceMean"));
  EXPECT_EQ(after["ReduceMean"] + after["Reciprocal"] + after["Sqrt"], 0);
  EXPECT_EQ(after["com.microsoft:MatMulNBits"], before.at("com.microsoft:MatMulNBits"));
  // Initializers are kept; a float16 graph gains one ones vector per norm width.
  const size_t added = onnx::ParseGraph(f.model).initializers.size() - onnx::ParseGraph(model).initializers.size();
  EXPECT_LE(added, 3u);
  EXPECT_EQ(added > 0, GetParam().second.find("q4f16") != std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Generated, PackageNormFusion,
                         ::testing::Values(std::pair{"gqa", "decoder_model_merged_q4.onnx"},
                                           std::pair{"gqa", "decoder_model_merged_q4f16.onnx"},
                                           std::pair{"text-q4", "decoder_model_merged_q4.onnx"},
                                           std::pair{"text-q4f16", "decoder_model_merged_q4f16.onnx"}));

}  // namespace
}  // namespace gemma4
