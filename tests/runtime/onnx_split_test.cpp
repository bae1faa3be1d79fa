// Splitting a decoder graph after its KV outputs, on the generated test packages and on
// hand-written protobufs: what each half declares, and when a split is refused.
#include "runtime/onnx_split.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "gemma4/error.h"
#include "package/onnx_proto.h"
#include "package/proto_wire.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::TempDir;
using testing::TestModel;
using testing::WriteFile;

std::filesystem::path Decoder(const std::string& package) { return TestModel(package) / "onnx" / "decoder_model_merged_q4.onnx"; }

std::vector<std::string> PresentOutputs(const std::filesystem::path& onnx) {
  std::vector<std::string> names;
  for (const auto& out : onnx::ReadModelSummary(onnx).outputs) {
    if (out.name.rfind("present.", 0) == 0) names.push_back(out.name);
  }
  return names;
}

std::vector<std::string> Names(const std::vector<onnx::ValueInfo>& infos) {
  std::vector<std::string> names;
  for (const auto& i : infos) names.push_back(i.name);
  return names;
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

class SplitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SplitTest, FirstHalfReturnsTheCacheAndTheBoundarySecondHalfTheLogits) {
  const auto path = Decoder(GetParam());
  const auto present = PresentOutputs(path);
  ASSERT_FALSE(present.empty());
  auto split = onnx::SplitAfterOutputs(path, present);
  ASSERT_TRUE(split.has_value());
  EXPECT_LT(split->nodes_first, split->nodes_total);  // the KV-shared layers and the LM head went
  EXPECT_GT(split->nodes_first, 0u);
  EXPECT_LT(split->initializers_first, split->initializers_total);
  ASSERT_FALSE(split->boundary.empty());

  TempDir dir;
  WriteFile(dir / "first.onnx", split->first);
  const auto first = onnx::ReadModelSummary(dir / "first.onnx");
  const auto original = onnx::ReadModelSummary(path);
  EXPECT_EQ(Names(first.inputs), Names(original.inputs));  // fed exactly like the whole graph
  const auto first_outputs = Names(first.outputs);
  for (const auto& p : present) EXPECT_TRUE(Contains(first_outputs, p)) << p;
  for (const auto& b : split->boundary) EXPECT_TRUE(Contains(first_outputs, b)) << b;
  EXPECT_FALSE(Contains(first_outputs, "logits"));
  // Weights stay where they are: every external reference points into the original sidecars.
  EXPECT_EQ(split->data_folder, std::filesystem::canonical(path.parent_path()));
  for (const auto& ref : first.external) EXPECT_TRUE(std::filesystem::exists(split->data_folder / ref.location)) << ref.location;

  std::map<std::string, int32_t> types;
  for (const auto& b : split->boundary) types[b] = 1;
  WriteFile(dir / "second.onnx", split->Second(types));
  const auto second = onnx::ReadModelSummary(dir / "second.onnx");
  EXPECT_EQ(Names(second.outputs), std::vector<std::string>{"logits"});
  const auto second_inputs = Names(second.inputs);
  for (const auto& b : split->boundary) EXPECT_TRUE(Contains(second_inputs, b)) << b;
  for (const auto& in : second_inputs) {
    EXPECT_TRUE(Contains(Names(original.inputs), in) || Contains(split->boundary, in)) << in;
  }
  EXPECT_FALSE(Contains(second_inputs, "past_key_values.0.key"));  // the cache is the first half's business
  // Between them the halves hold every weight of the original.
  EXPECT_GE(first.external.size() + second.external.size(), original.external.size());
}

INSTANTIATE_TEST_SUITE_P(Packages, SplitTest, ::testing::Values("text-q4", "no-logits-to-keep", "kv-shared-alt"),
                         [](const auto& info) { return testing::ParamName(info.param); });

TEST(Split, SidecarsBehindSymlinksAreNamedByTheirRealFile) {
  // The Hugging Face cache layout: snapshots/REV/onnx/x.onnx_data -> ../../../blobs/HASH.
  TempDir dir;
  const auto package = testing::CopyPackage("sidecar-split", dir);
  const auto onnx_dir = package / "onnx";
  std::filesystem::create_directories(dir / "blobs");
  const std::vector<std::string> sidecars = {"decoder_model_merged_q4.onnx_data", "decoder_model_merged_q4.onnx_data_1",
                                             "decoder_model_merged_q4.onnx_data_2"};
  for (size_t i = 0; i < sidecars.size(); ++i) {
    const auto blob = dir / "blobs" / ("hash" + std::to_string(i));
    std::filesystem::rename(onnx_dir / sidecars[i], blob);
    std::filesystem::create_symlink(blob, onnx_dir / sidecars[i]);
  }
  const auto path = onnx_dir / "decoder_model_merged_q4.onnx";
  auto split = onnx::SplitAfterOutputs(path, PresentOutputs(path));
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->data_folder, std::filesystem::canonical(dir / "blobs"));
  for (size_t i = 0; i < sidecars.size(); ++i) EXPECT_EQ(split->relocated.at(sidecars[i]), "hash" + std::to_string(i));
  WriteFile(dir / "first.onnx", split->first);
  const auto first = onnx::ReadModelSummary(dir / "first.onnx");
  ASSERT_FALSE(first.external.empty());
  for (const auto& ref : first.external) {
    EXPECT_EQ(ref.location.rfind("hash", 0), 0u) << ref.location;
    EXPECT_TRUE(std::filesystem::exists(split->data_folder / ref.location));
  }

  // Sidecars in two different real folders cannot be given to ONNX Runtime as one: no split.
  std::filesystem::create_directories(dir / "other");
  std::filesystem::remove(onnx_dir / sidecars[2]);
  std::filesystem::rename(dir / "blobs" / "hash2", dir / "other" / "hash2");
  std::filesystem::create_symlink(dir / "other" / "hash2", onnx_dir / sidecars[2]);
  EXPECT_FALSE(onnx::SplitAfterOutputs(path, PresentOutputs(path)).has_value());
}

TEST(Split, SecondHalfNeedsEveryBoundaryType) {
  const auto path = Decoder("text-q4");
  auto split = onnx::SplitAfterOutputs(path, PresentOutputs(path));
  ASSERT_TRUE(split.has_value());
  EXPECT_GEMMA4_ERROR(split->Second({}), ErrorKind::kInvalidArgument, "no element type for the split boundary tensor");
}

TEST(Split, UnknownOutputIsNoSplit) {
  EXPECT_FALSE(onnx::SplitAfterOutputs(Decoder("text-q4"), {"present.0.key", "no_such_output"}).has_value());
}

TEST(Split, EverythingNeededIsNoSplit) {
  // Asking for every output leaves nothing for a second half.
  const auto path = Decoder("text-q4");
  EXPECT_FALSE(onnx::SplitAfterOutputs(path, Names(onnx::ReadModelSummary(path).outputs)).has_value());
}

// A ModelProto with one graph: x -> Relu -> a (output), a -> `second_op` -> y (output).
std::string TinyModel(bool second_has_subgraph) {
  using onnx::wire::PutBytesField;
  auto node = [](const std::string& in, const std::string& out, const std::string& op, bool subgraph) {
    std::string n;
    PutBytesField(n, 1, in);
    PutBytesField(n, 2, out);
    PutBytesField(n, 4, op);
    if (subgraph) {
      std::string attr, body;
      PutBytesField(attr, 1, "then_branch");
      PutBytesField(attr, 6, body);
      PutBytesField(n, 5, attr);
    }
    return n;
  };
  auto value = [](const std::string& name) {
    std::string v;
    PutBytesField(v, 1, name);
    return v;
  };
  std::string graph;
  PutBytesField(graph, 1, node("x", "a", "Relu", false));
  PutBytesField(graph, 1, node("a", "y", second_has_subgraph ? "If" : "Neg", second_has_subgraph));
  PutBytesField(graph, 11, value("x"));
  PutBytesField(graph, 12, value("a"));
  PutBytesField(graph, 12, value("y"));
  std::string model;
  PutBytesField(model, 7, graph);
  return model;
}

TEST(Split, HandWrittenGraphSplitsAtTheRequestedOutput) {
  TempDir dir;
  WriteFile(dir / "m.onnx", TinyModel(false));
  auto split = onnx::SplitAfterOutputs(dir / "m.onnx", {"a"});
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->nodes_total, 2u);
  EXPECT_EQ(split->nodes_first, 1u);
  EXPECT_EQ(split->boundary, std::vector<std::string>{"a"});
  WriteFile(dir / "second.onnx", split->Second({{"a", 1}}));
  const auto second = onnx::ReadModelSummary(dir / "second.onnx");
  ASSERT_EQ(second.inputs.size(), 1u);
  EXPECT_EQ(second.inputs[0].name, "a");
  EXPECT_EQ(second.inputs[0].elem_type, 1);
  EXPECT_EQ(Names(second.outputs), std::vector<std::string>{"y"});
}

// A float16 graph with each pattern ONNX Runtime rounds differently when it is cut:
//   x(f16) -> Mul -> t;  t -> Gather[0] -> g0 -> Identity -> a (output);  t -> Gather[1] -> g1
//   x -> Cast(f32) -> c;  c -> Mul -> b (output);  g1 + g0 -> s;  s + t -> y;  -c -> z
std::string Float16Model() {
  using onnx::wire::PutBytesField;
  using onnx::wire::PutVarint;
  auto node = [](std::vector<std::string> ins, const std::string& out, const std::string& op, int to = -1) {
    std::string n;
    for (const auto& in : ins) PutBytesField(n, 1, in);
    PutBytesField(n, 2, out);
    PutBytesField(n, 4, op);
    if (to >= 0) {
      std::string attr;
      PutBytesField(attr, 1, "to");
      PutVarint(attr, 3 << 3);
      PutVarint(attr, static_cast<uint64_t>(to));
      PutBytesField(n, 5, attr);
    }
    return n;
  };
  auto value = [](const std::string& name, int elem_type) {
    std::string tensor, type, v;
    PutVarint(tensor, 1 << 3);
    PutVarint(tensor, static_cast<uint64_t>(elem_type));
    PutBytesField(type, 1, tensor);
    PutBytesField(v, 1, name);
    PutBytesField(v, 2, type);
    return v;
  };
  auto index = [](const std::string& name, int64_t i) {
    std::string t;
    PutVarint(t, 2 << 3);  // data_type int64
    PutVarint(t, 7);
    PutVarint(t, 7 << 3);  // int64_data
    PutVarint(t, static_cast<uint64_t>(i));
    PutBytesField(t, 8, name);
    return t;
  };
  std::string graph;
  PutBytesField(graph, 1, node({"x", "x"}, "t", "Mul"));
  PutBytesField(graph, 1, node({"t", "i0"}, "g0", "Gather"));
  PutBytesField(graph, 1, node({"g0"}, "a", "Identity"));
  PutBytesField(graph, 1, node({"t", "i1"}, "g1", "Gather"));
  PutBytesField(graph, 1, node({"x"}, "c", "Cast", 1));
  PutBytesField(graph, 1, node({"c", "c"}, "b", "Mul"));
  PutBytesField(graph, 1, node({"g1", "g0"}, "s", "Add"));
  PutBytesField(graph, 1, node({"s", "t"}, "y", "Add"));
  PutBytesField(graph, 1, node({"c"}, "z", "Neg"));
  PutBytesField(graph, 5, index("i0", 0));
  PutBytesField(graph, 5, index("i1", 1));
  PutBytesField(graph, 11, value("x", 10));
  for (const char* out : {"a", "b", "y", "z"}) PutBytesField(graph, 12, value(out, out[0] == 'b' || out[0] == 'z' ? 1 : 10));
  std::string model;
  PutBytesField(model, 7, graph);
  return model;
}

TEST(Split, CutKeepsTheWholeGraphsRounding) {
  TempDir dir;
  WriteFile(dir / "m.onnx", Float16Model());
  auto split = onnx::SplitAfterOutputs(dir / "m.onnx", {"a", "b"});
  ASSERT_TRUE(split.has_value());
  // Gather[1] joins Gather[0] (ONNX Runtime fuses them into one Split); g0 crosses as the output
  // that copies it; float16 activations cross as float32; the Cast is recomputed, c never crosses.
  EXPECT_EQ(split->nodes_first, 6u);
  EXPECT_EQ(split->boundary, (std::vector<std::string>{"g1/float32", "a", "t/float32"}));
  WriteFile(dir / "first.onnx", split->first);
  const auto first = onnx::ReadModelSummary(dir / "first.onnx");
  EXPECT_EQ(Names(first.outputs), (std::vector<std::string>{"a", "b", "g1/float32", "t/float32"}));

  WriteFile(dir / "second.onnx", split->Second({{"g1/float32", 1}, {"a", 10}, {"t/float32", 1}}));
  const auto second = onnx::ReadModelSummary(dir / "second.onnx");
  EXPECT_EQ(Names(second.inputs), (std::vector<std::string>{"x", "g1/float32", "a", "t/float32"}));
  EXPECT_EQ(second.inputs[1].elem_type, 1);
  EXPECT_EQ(second.inputs[2].elem_type, 10);
  EXPECT_EQ(Names(second.outputs), (std::vector<std::string>{"y", "z"}));
  EXPECT_TRUE(Contains(second.op_types, ":Cast"));
  EXPECT_TRUE(Contains(second.op_types, ":Identity"));
  EXPECT_FALSE(Contains(second.op_types, ":Gather"));
}

TEST(Split, SubgraphsAreNotSplit) {
  // An If/Loop body may read any outer name, which a byte-level liveness pass cannot see.
  TempDir dir;
  WriteFile(dir / "m.onnx", TinyModel(true));
  EXPECT_FALSE(onnx::SplitAfterOutputs(dir / "m.onnx", {"a"}).has_value());
}

TEST(Split, TruncatedFileNamesTheFileAndOffset) {
  TempDir dir;
  const std::string bytes = testing::ReadFile(Decoder("text-q4"));
  WriteFile(dir / "cut.onnx", bytes.substr(0, bytes.size() / 2));
  EXPECT_GEMMA4_ERROR(onnx::SplitAfterOutputs(dir / "cut.onnx", {"present.0.key"}), ErrorKind::kCorrupt,
                      (dir / "cut.onnx").string() + ": not a valid ONNX model (byte ");
  WriteFile(dir / "empty.onnx", "");
  EXPECT_GEMMA4_ERROR(onnx::SplitAfterOutputs(dir / "empty.onnx", {"present.0.key"}), ErrorKind::kCorrupt, "empty file");
  EXPECT_GEMMA4_ERROR(onnx::SplitAfterOutputs(dir / "missing.onnx", {"present.0.key"}), ErrorKind::kNotFound, "missing.onnx");
}

}  // namespace
}  // namespace gemma4
