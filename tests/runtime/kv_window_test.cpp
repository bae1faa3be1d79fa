// Sliding-window layers that keep only their window: which layers the load-time edit trims on each
// graph form (and why not, where it does not), that the trimmed caches compute what the whole
// history computes at every step over conversations many windows long, rewinds into evicted
// positions, clones, bounded buffers, and the memory plan.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "gemma4/describe.h"
#include "gemma4/runtime.h"
#include "runtime/discovered_io.h"
#include "runtime/onnx_kv_window.h"
#include "runtime/kv_state.h"
#include "runtime/runtime_fixture.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyLogits;
using testing::kOtherBatchShapes;
using testing::Load;
using testing::Loaded;
using testing::MaxAbsDiff;
using testing::Prompt;

// Between two runtimes over the same steps (the trimmed and the whole caches run the same ops over
// the same values; only float16 rounds more).
float Tolerance(const std::string& dtype) { return dtype == "q4f16" || dtype == "fp16" ? 1e-1f : 2e-3f; }

RuntimeOptions Untrimmed() {
  RuntimeOptions o;
  o.kv_window = false;
  return o;
}

// Trimming is opt-in (RuntimeOptions::kv_window).
RuntimeOptions Trimmed(RuntimeOptions o = {}) {
  o.kv_window = true;
  return o;
}

KvStateImpl& Impl(KvState& s) { return static_cast<KvStateImpl&>(s); }

struct Form {
  const char* package;
  const char* dtype;
};

class KvWindowFormTest : public ::testing::TestWithParam<Form> {};

TEST_P(KvWindowFormTest, SlidingLayersAndOnlyThoseAreTrimmedToTheConfigWindow) {
  const Form f = GetParam();
  Loaded l = Load(f.package, f.dtype, Trimmed());
  const DecoderIo& d = DecoderIoOf(*l.runtime);
  ASSERT_TRUE(d.window_mask.has_value()) << d.window_note;
  const auto& types = l.package.config.layer_types;
  for (const KvLayerSpec& layer : d.kv_layers) {
    const bool sliding = types.at(layer.index) == "sliding_attention";
    EXPECT_EQ(layer.window, sliding ? l.package.config.sliding_window : 0) << layer.past_key.name;
  }
}

// The packages whose MatMulNBits use accuracy_level 4 (int8 activations): quantizing activations
// to int8 turns a last-bit difference into a step of the int8 grid, so positions re-prefilled in
// one call after a rewind into evicted positions differ from the same positions fed a few at a
// time by more than float rounding (as one full pass and single steps do in kv_state_test.cpp).
// Before any re-prefill the trimmed caches must match the whole ones as closely as any package.
bool RoundsByBatchShape(const std::string& package) { return package == "gqa" || package == "kv-shared-alt"; }

// Steps of varied sizes, rewinds of 2 (within the margin) and, every 150 positions, a rewind to
// just past the oldest position the trimmed layers hold (so they re-prefill): logits of every step.
// `trimmed` runs with trimmed windows unless `untrimmed_too` (then both may hold every position).
// `tolerance` > 0 replaces the one the package and dtype would get.
void ExpectSameConversation(const Runtime& trimmed, const Runtime& whole, const std::string& package,
                            const std::string& dtype, size_t length, bool untrimmed_too = false, float tolerance_override = 0) {
  const int32_t vocab = static_cast<int32_t>(trimmed.vocab_size());
  const auto ids = Prompt(length, vocab, 11);
  auto a = trimmed.NewState();
  auto b = whole.NewState();
  size_t done = 0, step = 0, next_far_rewind = 70, far_rewinds = 0;
  bool reprefilled = false;
  const size_t sizes[] = {13, 1, 1, 3, 1, 5, 1, 2, 30};
  while (done < ids.size()) {
    const size_t n = std::min(sizes[step++ % std::size(sizes)], ids.size() - done);
    const size_t keep = std::min<size_t>(n, 2);
    auto la = CopyLogits(trimmed.Forward(*a, std::span(ids).subspan(done, n), keep));
    const float tolerance = tolerance_override > 0                                     ? tolerance_override
                            : reprefilled && RoundsByBatchShape(package) ? kOtherBatchShapes
                                                                         : Tolerance(dtype);
    ASSERT_LT(MaxAbsDiff(la, whole.Forward(*b, std::span(ids).subspan(done, n), keep)), tolerance)
        << "step " << step << " at position " << done << ", " << far_rewinds << " re-prefills before";
    done += n;
    if (step % 5 == 0 && done > 4) {  // rejected draft tokens: rewind 2, then feed them again
      a->Truncate(done - 2);
      b->Truncate(done - 2);
      done -= 2;
    }
    if (done >= next_far_rewind) {
      // Just past the first position the trimmed layers still hold, once they have slid.
      const size_t offset = Impl(*a).window_offset();
      const size_t target = offset > 0 ? offset + 3 : done - 50;
      a->Truncate(target);
      b->Truncate(target);
      done = target;
      next_far_rewind += 150;  // from the trigger, not from where the rewind landed: always ahead
      const bool pending = static_cast<KvStateImpl&>(*a).cached() < a->length();
      far_rewinds += pending;
      reprefilled = reprefilled || pending;
    }
  }
  EXPECT_EQ(a->tokens(), ids);
  EXPECT_EQ(b->tokens(), ids);
  if (untrimmed_too) return;
  EXPECT_GT(Impl(*a).window_offset(), 0u) << "the window never slid";
  EXPECT_GT(far_rewinds, 0u) << "no rewind reached evicted positions";
}

TEST_P(KvWindowFormTest, LogitsEqualTheWholeHistoryAtEveryStep) {
  const Form f = GetParam();
  Loaded trimmed = Load(f.package, f.dtype, Trimmed());
  Loaded whole = Load(f.package, f.dtype, Untrimmed());
  ASSERT_TRUE(DecoderIoOf(*trimmed.runtime).window_mask.has_value());
  ASSERT_FALSE(DecoderIoOf(*whole.runtime).window_mask.has_value());
  // The window of the test packages is 8: 700 positions wrap it many times (and slide the held
  // range, which moves 256 positions at a time).
  ExpectSameConversation(*trimmed.runtime, *whole.runtime, f.package, f.dtype, 700);
}

INSTANTIATE_TEST_SUITE_P(Packages, KvWindowFormTest,
                         ::testing::Values(Form{"text-q4", "q4"}, Form{"text-q4f16", "q4f16"},
                                           Form{"text-q4-sidecar", "q4"}, Form{"text-fp", "fp32"},
                                           Form{"text-fp", "fp16"}, Form{"community", "q4"},
                                           Form{"community", "q4f16"}, Form{"no-logits-to-keep", "q4"},
                                           Form{"no-logits-to-keep", "q4f16"}, Form{"sidecar-split", "q4"},
                                           Form{"kv-shared-alt", "q4"}, Form{"kv-shared-alt", "q4f16"},
                                           Form{"gqa", "q4"}, Form{"gqa", "q4f16"}),
                         [](const auto& info) {
                           return testing::ParamName(std::string(info.param.package) + "_" + info.param.dtype);
                         });

// Our decode attention kernel (RuntimeOptions::attention "gemma4") against ONNX Runtime's
// GroupQueryAttention over the same conversation: decode steps and short verification calls on
// ours, prompts and long chunks handed to ONNX Runtime's, rewinds, re-prefills after a far rewind,
// with whole and trimmed windows.
struct AttentionForm {
  const char* dtype;
  bool trimmed;
};
class OwnAttentionTest : public ::testing::TestWithParam<AttentionForm> {};

TEST_P(OwnAttentionTest, LogitsEqualOnnxRuntimesAtEveryStep) {
  const AttentionForm f = GetParam();
  RuntimeOptions ours_options = f.trimmed ? Trimmed() : Untrimmed(), ort_options = ours_options;
  ours_options.attention = "gemma4";
  ort_options.attention = "ort";
  Loaded ours = Load("gqa", f.dtype, ours_options);
  Loaded ort = Load("gqa", f.dtype, ort_options);
  EXPECT_GT(ours.runtime->own_attention_nodes(), 0u);
  EXPECT_EQ(ours.runtime->ort_attention_nodes(), 0u);
  EXPECT_EQ(ort.runtime->own_attention_nodes(), 0u);
  // The gqa package's MatMulNBits quantize activations to int8 (accuracy_level 4): the kernels'
  // float rounding (ulps: tests/kernels/decode_attention_test.cpp) moves a code now and then in
  // the layers after, as other batch shapes do, so the logits drift apart by up to that much.
  ExpectSameConversation(*ours.runtime, *ort.runtime, "gqa", f.dtype, 700, !f.trimmed, kOtherBatchShapes);
}

INSTANTIATE_TEST_SUITE_P(Packages, OwnAttentionTest,
                         ::testing::Values(AttentionForm{"q4", false}, AttentionForm{"q4", true},
                                           AttentionForm{"q4f16", false}, AttentionForm{"q4f16", true}),
                         [](const auto& info) {
                           return testing::ParamName(std::string(info.param.dtype) +
                                                     (info.param.trimmed ? "_trimmed" : "_whole"));
                         });

TEST(OwnAttention, LeavesGraphsWithoutGroupQueryAttentionAlone) {
  RuntimeOptions options;
  options.attention = "gemma4";
  Loaded plain = Load("text-q4", "q4", options);
  EXPECT_EQ(plain.runtime->own_attention_nodes(), 0u);
  options.attention = "fastest";
  EXPECT_THROW(Load("text-q4", "q4", options), Error);
}

TEST(KvWindow, TheWholeDecoderUnsplitComputesTheSame) {
  for (const char* package : {"text-q4", "gqa"}) {
    RuntimeOptions unsplit;
    unsplit.kv_prefill = false;
    RuntimeOptions unsplit_whole = Untrimmed();
    unsplit_whole.kv_prefill = false;
    Loaded trimmed = Load(package, "q4", Trimmed(unsplit));
    Loaded whole = Load(package, "q4", unsplit_whole);
    ExpectSameConversation(*trimmed.runtime, *whole.runtime, package, "q4", 700);
  }
}

TEST(KvWindow, IncrementalDecodingEqualsOneFullPass) {
  for (const char* package : {"text-q4", "gqa"}) {
    Loaded l = Load(package, "q4", Trimmed());
    const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
    const auto ids = Prompt(400, vocab, 5);
    auto full = l.runtime->NewState();
    const auto reference = CopyLogits(l.runtime->Forward(*full, ids, 1));
    auto step = l.runtime->NewState();
    std::span<const float> last = l.runtime->Forward(*step, std::span(ids).first(3), 1);
    for (size_t i = 3; i < ids.size(); ++i) last = l.runtime->Forward(*step, std::span(ids).subspan(i, 1), 1);
    EXPECT_GT(Impl(*step).window_offset(), 0u);
    // gqa's MatMulNBits (accuracy_level 4) round one row and many rows differently.
    EXPECT_LT(MaxAbsDiff(reference, last), std::string(package) == "gqa" ? 1e-1f : 2e-3f) << package;
  }
}

TEST(KvWindow, ARewindIntoEvictedPositionsReprefillsAndGivesTheSameLogits) {
  Loaded l = Load("text-q4", "q4", Trimmed());
  Loaded whole = Load("text-q4", "q4", Untrimmed());
  const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
  const auto ids = Prompt(300, vocab, 3);
  auto s = l.runtime->NewState();
  for (size_t i = 0; i < 290; ++i) l.runtime->Forward(*s, std::span(ids).subspan(i, 1), 1);
  ASSERT_GT(Impl(*s).window_offset(), 40u);
  const size_t window = static_cast<size_t>(l.package.config.sliding_window);
  // Within the margin: a length change.
  s->Truncate(290 - window);
  EXPECT_EQ(Impl(*s).cached(), 290 - window);
  // Past what the window layers hold: the tokens stay, the caches empty, the next Forward re-prefills.
  s->Truncate(30);
  EXPECT_EQ(s->length(), 30u);
  EXPECT_EQ(Impl(*s).cached(), 0u);
  EXPECT_EQ(s->tokens(), std::vector<int32_t>(ids.begin(), ids.begin() + 30));
  auto clone = s->Clone();  // a pending state clones as it is
  const auto got = CopyLogits(l.runtime->Forward(*s, std::span(ids).subspan(30, 5), 2));
  EXPECT_EQ(Impl(*s).cached(), 35u);
  EXPECT_EQ(s->tokens(), std::vector<int32_t>(ids.begin(), ids.begin() + 35));
  auto reference = whole.runtime->NewState();
  whole.runtime->Forward(*reference, std::span(ids).first(30), 1);
  const auto want = CopyLogits(whole.runtime->Forward(*reference, std::span(ids).subspan(30, 5), 2));
  EXPECT_LT(MaxAbsDiff(got, want), 2e-3f);
  EXPECT_LT(MaxAbsDiff(want, l.runtime->Forward(*clone, std::span(ids).subspan(30, 5), 2)), 2e-3f);
  // Truncating only pending tokens keeps the rest pending.
  s->Truncate(10);
  s->Truncate(5);
  EXPECT_EQ(s->length(), 5u);
}

TEST(KvWindow, AClonedSlidStateContinuesLikeTheOriginal) {
  Loaded l = Load("kv-shared-alt", "q4", Trimmed());  // two KV heads: eviction moves each head
  const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
  const auto ids = Prompt(320, vocab, 8);
  auto s = l.runtime->NewState();
  l.runtime->Forward(*s, std::span(ids).first(290), 1);
  for (size_t i = 290; i < 300; ++i) l.runtime->Forward(*s, std::span(ids).subspan(i, 1), 1);
  ASSERT_GT(Impl(*s).window_offset(), 0u);
  auto clone = s->Clone();
  const auto a = CopyLogits(l.runtime->Forward(*s, std::span(ids).subspan(300, 20), 1));
  EXPECT_LT(MaxAbsDiff(a, l.runtime->Forward(*clone, std::span(ids).subspan(300, 20), 1)), 1e-6f);
}

TEST(KvWindow, BuffersStayBoundedOverALongContext) {
  Loaded l = Load("gqa", "q4", Trimmed());
  const int32_t vocab = static_cast<int32_t>(l.runtime->vocab_size());
  const size_t window = static_cast<size_t>(l.package.config.sliding_window);
  auto s = l.runtime->NewState();
  l.runtime->Forward(*s, Prompt(3000, vocab, 2), 1);  // prefilled in chunks of 2048 at most
  for (int i = 0; i < 50; ++i) {
    const auto next = Prompt(2, vocab, i);
    l.runtime->Forward(*s, std::span(next).subspan(1), 1);
  }
  // The window buffers hold the kept positions plus one chunk at most.
  const size_t held = KvWindowPositions(window, 0);
  EXPECT_LE(Impl(*s).window_capacity(), held + 2048);
  EXPECT_GE(Impl(*s).capacity(), 3050u);
  EXPECT_LE(s->length() - Impl(*s).window_offset(), held);
}

TEST(KvWindow, APackageWithoutSlidingLayersKeepsEverythingAndSaysSo) {
  Loaded l = Load("no-sliding", "q4", Trimmed());
  const DecoderIo& d = DecoderIoOf(*l.runtime);
  EXPECT_FALSE(d.window_mask.has_value());
  for (const KvLayerSpec& layer : d.kv_layers) EXPECT_EQ(layer.window, 0);
  EXPECT_NE(d.window_note.find("no sliding-window layer"), std::string::npos) << d.window_note;
  nlohmann::json j = DescribeModel(l.package, l.runtime.get(), 100);
  EXPECT_FALSE(j["discovery"]["kv_window"]["trimmed"].get<bool>());
}

TEST(KvWindow, AGraphTheEditDoesNotRecogniseRunsWholeAndSaysWhy) {
  // Its mask takes the query positions from position_ids: with a trimmed cache they would no longer
  // line up with the key indices, so every layer keeps its history and the output is unchanged.
  Loaded l = Load("mask-from-position-ids", "q4", Trimmed());
  const DecoderIo& d = DecoderIoOf(*l.runtime);
  EXPECT_FALSE(d.window_mask.has_value());
  for (const KvLayerSpec& layer : d.kv_layers) EXPECT_EQ(layer.window, 0);
  EXPECT_NE(d.window_note.find("not recognised"), std::string::npos) << d.window_note;
  EXPECT_NE(d.window_note.find("position_ids"), std::string::npos) << d.window_note;
  nlohmann::json j = DescribeModel(l.package, l.runtime.get(), 100);
  EXPECT_FALSE(j["discovery"]["kv_window"]["trimmed"].get<bool>());
  EXPECT_EQ(j["discovery"]["kv_window"]["note"], d.window_note);
  // Same tokens as the standard graph (same weights and seed): the form changes nothing else.
  Loaded standard = Load("text-q4");
  const int32_t vocab = static_cast<int32_t>(d.vocab_size);
  const auto ids = Prompt(60, vocab, 4);
  auto a = l.runtime->NewState();
  auto b = standard.runtime->NewState();
  EXPECT_LT(MaxAbsDiff(CopyLogits(l.runtime->Forward(*a, ids, 1)), standard.runtime->Forward(*b, ids, 1)), 2e-3f);
}

TEST(KvWindow, AConfigThatDisagreesWithTheGraphKeepsEverything) {
  // config.json says a window of 6, the graphs were built with 8: neither the mask constant
  // (MatMul attention) nor local_window_size (GroupQueryAttention) matches, so nothing is trimmed.
  for (const char* package : {"text-q4", "gqa"}) {
    testing::TempDir dir;
    const auto root = testing::CopyPackage(package, dir);
    nlohmann::json config = nlohmann::json::parse(testing::ReadFile(root / "config.json"));
    auto& text = config.contains("text_config") ? config["text_config"] : config;
    text["sliding_window"] = 6;
    testing::WriteFile(root / "config.json", config.dump());
    Package p = OpenPackage(root, PackageOptions{"q4"});
    RuntimeOptions o = Trimmed();
    o.threads = 1;
    Runtime runtime(p, o);
    EXPECT_FALSE(DecoderIoOf(runtime).window_mask.has_value()) << package;
    const std::string& note = DecoderIoOf(runtime).window_note;
    EXPECT_NE(note.find("not recognised"), std::string::npos) << note;
    EXPECT_NE(note.find(std::string(package) == "gqa" ? "local_window_size 8" : "no constant 6"), std::string::npos)
        << note;
  }
}

// The gqa decoder with do_rotary set on its sliding GroupQueryAttention nodes (edited with python's
// onnx, weights left out: the plan reads only the graph).
TEST(KvWindow, GroupQueryAttentionThatRotatesKeysItselfIsNotTrimmed) {
  testing::TempDir dir;
  const auto src = testing::TestModel("gqa") / "onnx" / "decoder_model_merged_q4.onnx";
  const auto dst = dir / "rotary.onnx";
  const std::string script =
      "import onnx, sys\n"
      "from onnx import helper\n"
      "m = onnx.load(sys.argv[1], load_external_data=False)\n"
      "for n in m.graph.node:\n"
      "    if n.op_type == 'GroupQueryAttention' and any(a.name == 'local_window_size' and a.i > 0 for a in n.attribute):\n"
      "        n.attribute.append(helper.make_attribute('do_rotary', 1))\n"
      "onnx.save(m, sys.argv[2])\n";
  testing::WriteFile(dir / "edit.py", script);
  const std::string command = std::string(GEMMA4_PYTHON) + " " + (dir / "edit.py").string() + " " + src.string() + " " +
                              dst.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  Loaded l = Load("gqa");
  std::vector<onnx::KvWindowLayer> layers;
  for (const KvLayerSpec& layer : DecoderIoOf(*l.runtime).kv_layers) {
    layers.push_back({layer.past_key.name, layer.past_value.name,
                      l.package.config.layer_types.at(layer.index) == "sliding_attention", 0});
  }
  const std::string bytes = testing::ReadFile(dst);
  onnx::KvWindowPlan plan = onnx::PlanKvWindow(dst, bytes, layers, l.package.config.sliding_window);
  EXPECT_FALSE(plan.trimmed);
  EXPECT_TRUE(plan.model.empty());
  EXPECT_NE(plan.note.find("do_rotary"), std::string::npos) << plan.note;
  // The unedited graph is recognised with the same layers.
  const std::string original = testing::ReadFile(src);
  EXPECT_TRUE(onnx::PlanKvWindow(src, original, layers, l.package.config.sliding_window).trimmed);
}

TEST(KvWindow, SwitchedOffEveryLayerKeepsItsHistory) {
  Loaded l = Load("gqa", "q4", Untrimmed());
  for (const KvLayerSpec& layer : DecoderIoOf(*l.runtime).kv_layers) EXPECT_EQ(layer.window, 0);
  EXPECT_NE(DecoderIoOf(*l.runtime).window_note.find("--kv-window"), std::string::npos);
  Loaded by_default = Load("gqa");
  EXPECT_FALSE(DecoderIoOf(*by_default.runtime).window_mask.has_value());
}

TEST(KvWindow, TheMemoryPlanIsBoundedForALongContext) {
  Loaded l = Load("gqa", "q4", Trimmed());
  const DecoderIo& d = DecoderIoOf(*l.runtime);
  const size_t ctx = 131072, held = KvWindowPositions(static_cast<size_t>(l.package.config.sliding_window), 0);
  uint64_t expect = 0;
  for (const KvLayerSpec& layer : d.kv_layers) expect += layer.BytesPerToken() * (layer.window > 0 ? held : ctx);
  nlohmann::json j = DescribeModel(l.package, l.runtime.get(), ctx);
  EXPECT_EQ(j["memory"]["decoder"]["kv_cache_bytes"].get<uint64_t>(), expect);
  EXPECT_LT(expect, d.KvBytesPerToken() * ctx);
  EXPECT_TRUE(j["discovery"]["kv_window"]["trimmed"].get<bool>());
  EXPECT_EQ(j["discovery"]["kv_window"]["held_positions"], held);
  for (const auto& layer : j["discovery"]["kv_layers"]) EXPECT_TRUE(layer.contains("window"));
}

}  // namespace
}  // namespace gemma4
