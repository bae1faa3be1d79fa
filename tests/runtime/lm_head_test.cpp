// How the decoder's LM head runs (runtime/lm_head.h): a float head moves onto gemma4's float kernel
// only where that gives ONNX Runtime's logits bit for bit, every other head stays as the graph has
// it with the reason said, `lm_head_quant = "int8"` re-quantizes a float head with its accuracy
// measured, and a package whose head weight lies about its data is refused naming the file.
#include "runtime/lm_head.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/read_file.h"
#include "gemma4/describe.h"
#include "gemma4/error.h"
#include "gemma4/runtime.h"
#include "runtime/proto_graph.h"
#include "runtime/runtime_fixture.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyLogits;
using testing::Load;
using testing::Loaded;
using testing::Prompt;

struct HeadCase {
  std::string package, dtype;
  bool in_place;          // what the load decides by default
  std::string form_part;  // in LmHeadInfo::form
  std::string note_part;  // in LmHeadInfo::note
};

std::string CaseName(const HeadCase& c) { return testing::ParamName(c.package + "_" + c.dtype); }

void PrintTo(const HeadCase& c, std::ostream* os) { *os << c.package << "/" << c.dtype; }

class LmHeadPlan : public ::testing::TestWithParam<HeadCase> {};

// The in-place kernel is on by default because it changes nothing: every step's logits equal
// ONNX Runtime's own head's bit for bit, prefill and decode steps alike.
TEST_P(LmHeadPlan, DefaultPlanAndItsLogitsEqualOnnxRuntimesHeadBitForBit) {
  const HeadCase c = GetParam();
  Loaded chosen = Load(c.package, c.dtype);
  RuntimeOptions ort_options;
  ort_options.lm_head_in_place = false;
  Loaded ort = Load(c.package, c.dtype, ort_options);

  const LmHeadInfo& head = chosen.runtime->lm_head();
  EXPECT_EQ(head.in_place, c.in_place) << head.note;
  EXPECT_FALSE(head.quantized);
  EXPECT_NE(head.form.find(c.form_part), std::string::npos) << head.form;
  EXPECT_NE(head.note.find(c.note_part), std::string::npos) << head.note;
  EXPECT_EQ(head.kernel.rfind(c.in_place ? "gemma4 float kernel (" : "onnxruntime", 0), 0u) << head.kernel;
  EXPECT_FALSE(ort.runtime->lm_head().in_place);
  EXPECT_EQ(ort.runtime->lm_head().kernel, "onnxruntime");
  const nlohmann::json info = DescribeModel(chosen.package, chosen.runtime.get(), 0)["lm_head"];
  EXPECT_EQ(info["in_place"], c.in_place);
  EXPECT_EQ(info["form"], head.form);

  const int32_t vocab = static_cast<int32_t>(chosen.runtime->vocab_size());
  const auto ids = Prompt(48, vocab, 5);
  auto sc = chosen.runtime->NewState();
  auto so = ort.runtime->NewState();
  size_t done = 0;
  for (size_t n : {13u, 1u, 5u, 1u, 1u, 20u, 1u}) {
    n = std::min(n, ids.size() - done);
    if (n == 0) break;
    const auto keep = std::min<size_t>(n, 3);  // several rows of logits: the kernel's multi-row path
    const auto got = CopyLogits(chosen.runtime->Forward(*sc, std::span(ids).subspan(done, n), keep));
    const auto want = CopyLogits(ort.runtime->Forward(*so, std::span(ids).subspan(done, n), keep));
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
        << c.package << "/" << c.dtype << ": logits differ at position " << done << " (max |diff| "
        << testing::MaxAbsDiff(got, want) << ")";
    done += n;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Generated, LmHeadPlan,
    ::testing::Values(
        HeadCase{"lm-head-fp16", "q4", true, "float16 weight [64, 1536] through a Cast to float32", "bit for bit"},
        HeadCase{"lm-head-fp32", "q4", true, "float32 weight [64, 1536]", "bit for bit"},
        HeadCase{"lm-head-fp32", "q4f16", true, "float32 weight [64, 1536]", "bit for bit"},
        HeadCase{"lm-head-fp16", "q4f16", false, "MatMul in float16", "float16 MatMul"},
        HeadCase{"text-fp", "fp32", true, "float32 weight", "bit for bit"},
        HeadCase{"gqa", "q4", false, "MatMulNBits (4 bits)", "already quantized"}),
    [](const auto& info) { return CaseName(info.param); });

TEST(LmHeadPlan, TurnedOffTheHeadStaysOnOnnxRuntimeAndSaysSo) {
  RuntimeOptions off;
  off.lm_head_in_place = false;
  Loaded l = Load("lm-head-fp16", "q4", off);
  EXPECT_NE(l.runtime->lm_head().note.find("--no-lm-head-in-place"), std::string::npos) << l.runtime->lm_head().note;
}

TEST(LmHeadPlan, OnAnotherDeviceTheGraphIsLeftAsItIs) {
  const auto onnx = testing::TestModel("lm-head-fp16") / "onnx" / "decoder_model_merged_q4.onnx";
  RuntimeOptions cuda;
  cuda.device = "cuda";  // planned only: no session is created here
  const LmHeadLoad load = PlanLmHead(onnx, ReadTextFile(onnx), cuda);
  EXPECT_TRUE(load.model.empty());
  EXPECT_FALSE(load.info.in_place);
  EXPECT_NE(load.info.note.find("runs on cuda"), std::string::npos) << load.info.note;
}

struct QuantCase {
  std::string package, dtype;
};

void PrintTo(const QuantCase& c, std::ostream* os) { *os << c.package << "/" << c.dtype; }

class LmHeadQuant : public ::testing::TestWithParam<QuantCase> {};

// Opt-in, because it changes the logits: how much is measured and reported, and it is close.
TEST_P(LmHeadQuant, Int8HeadIsCloseToTheFloatHeadAndReportsItsAccuracy) {
  const QuantCase c = GetParam();
  RuntimeOptions quant;
  quant.lm_head_quant = "int8";
  Loaded q = Load(c.package, c.dtype, quant);
  const LmHeadInfo& head = q.runtime->lm_head();
  ASSERT_TRUE(head.quantized) << head.note;
  EXPECT_FALSE(head.in_place);
  EXPECT_EQ(head.kernel, "onnxruntime MatMulNBits int8");

  const LmHeadAccuracy a = MeasureLmHeadQuant(q.package, *q.runtime);
  EXPECT_GT(a.positions, 8u);
  EXPECT_GT(a.max_abs_logit, 0.0);
  // It is a different head: logits move, a little. Per-block int8 keeps each weight within 1/254
  // of its block's largest, so the error is a small fraction of the logits' scale.
  EXPECT_GT(a.max_abs_error, 0.0);
  EXPECT_LT(a.max_abs_error, 0.05 * a.max_abs_logit) << "max |error| " << a.max_abs_error;
  EXPECT_GE(a.top1_agreement, 0.9);

  const nlohmann::json j = DescribeModel(q.package, q.runtime.get(), 0)["lm_head"];
  EXPECT_EQ(j["quantized"], true);
  EXPECT_EQ(j["accuracy"]["positions"], a.positions);
  EXPECT_DOUBLE_EQ(j["accuracy"]["top1_agreement"].get<double>(), a.top1_agreement);
  EXPECT_DOUBLE_EQ(j["accuracy"]["max_abs_logit_error"].get<double>(), a.max_abs_error);

  // It generates: a decode step after a prefill gives finite logits.
  const int32_t vocab = static_cast<int32_t>(q.runtime->vocab_size());
  const auto ids = Prompt(20, vocab, 2);
  auto s = q.runtime->NewState();
  q.runtime->Forward(*s, std::span(ids).first(19), 1);
  const auto step = CopyLogits(q.runtime->Forward(*s, std::span(ids).subspan(19, 1), 1));
  for (float v : step) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Generated, LmHeadQuant,
                         ::testing::Values(QuantCase{"lm-head-fp16", "q4"}, QuantCase{"lm-head-fp32", "q4"},
                                           QuantCase{"lm-head-fp16", "q4f16"}, QuantCase{"text-fp", "fp32"}),
                         [](const auto& info) { return CaseName(HeadCase{info.param.package, info.param.dtype}); });

TEST(LmHeadQuant, OnAQuantizedHeadItDoesNothingAndSaysSo) {
  RuntimeOptions quant;
  quant.lm_head_quant = "int8";
  Loaded l = Load("gqa", "q4", quant);
  EXPECT_FALSE(l.runtime->lm_head().quantized);
  EXPECT_NE(l.runtime->lm_head().note.find("does nothing"), std::string::npos) << l.runtime->lm_head().note;
  EXPECT_THROW(MeasureLmHeadQuant(l.package, *l.runtime), Error);
}

TEST(LmHeadQuant, AnUnknownFormIsRefused) {
  RuntimeOptions quant;
  quant.lm_head_quant = "int4";
  try {
    Load("lm-head-fp16", "q4", quant);
    FAIL() << "lm_head_quant int4 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("int4"), std::string::npos) << e.what();
  }
}

// A float head whose weight's data does not fit its shape, or lives outside the package, is refused
// naming the file, before anything reads past the data.
TEST(LmHeadQuant, AWeightWhoseDataDoesNotFitItsShapeIsCorrupt) {
  testing::TempDir dir;
  const auto pkg = testing::CopyPackage("lm-head-fp16", dir);
  const auto onnx = pkg / "onnx" / "decoder_model_merged_q4.onnx";
  std::filesystem::resize_file(pkg / "onnx" / "decoder_model_merged_q4.onnx_data", 1000);
  RuntimeOptions quant;
  quant.lm_head_quant = "int8";
  try {
    PlanLmHead(onnx, ReadTextFile(onnx), quant);
    FAIL() << "a truncated head weight was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("decoder_model_merged_q4.onnx: LM head weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("its shape needs"), std::string::npos) << e.what();
  }
}

TEST(LmHeadQuant, AWeightOutsideThePackageIsNotRead) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "pkg");
  testing::WriteFile(dir / "outside.bin", std::string(4 * 6 * 4, '\0'));
  testing::ProtoGraph p;
  p.ExternalInitializer("W", 1, {4, 6}, "../outside.bin", 0, 96);
  p.Node("MatMul", {"hidden", "W"}, "logits");
  p.TypedValue(12, "logits", 1, {1, -1, 6});
  const auto onnx = dir / "pkg" / "decoder.onnx";
  RuntimeOptions quant;
  quant.lm_head_quant = "int8";
  try {
    PlanLmHead(onnx, p.Model(), quant);
    FAIL() << "a weight at ../outside.bin was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(e.what()).find("is not a file beside the model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
