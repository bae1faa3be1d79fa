// RuntimeOptions::fuse_norms: the rewritten decoder computes what the graph as written computes,
// step by step, in float32 and float16 graphs, split and whole, and says how many norms it fused.
#include <gtest/gtest.h>

#include "gemma4/describe.h"
#include "gemma4/runtime.h"
#include "runtime/runtime_fixture.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyLogits;
using testing::Load;
using testing::Loaded;
using testing::MaxAbsDiff;
using testing::Prompt;

struct Case {
  std::string package, dtype;
  // float32 ulps through a few layers (text-q4: float activations into MatMulNBits). The gqa
  // package's MatMulNBits quantize their activations to int8 per block (accuracy_level 4), so an
  // ulp in a norm's output can move one activation to the next int8 step: logits ~0.05 apart, the
  // bound kv_state_test.cpp uses between calls of other shapes. float16 graphs round to float16.
  float tolerance;
};

class NormFusionRuntime : public ::testing::TestWithParam<Case> {};

TEST_P(NormFusionRuntime, FusedLogitsMatchTheGraphAsWrittenAtEveryStep) {
  const Case c = GetParam();
  RuntimeOptions fused_options;
  fused_options.fuse_norms = true;
  Loaded fused = Load(c.package, c.dtype, fused_options);
  Loaded plain = Load(c.package, c.dtype);
  EXPECT_GT(fused.runtime->rms_norms_fused(), 0u);
  EXPECT_EQ(plain.runtime->rms_norms_fused(), 0u);
  EXPECT_EQ(DescribeModel(fused.package, fused.runtime.get(), 0)["discovery"]["rms_norms_fused"],
            fused.runtime->rms_norms_fused());

  const int32_t vocab = static_cast<int32_t>(plain.runtime->vocab_size());
  const auto ids = Prompt(60, vocab, 3);
  auto sf = fused.runtime->NewState();
  auto sp = plain.runtime->NewState();
  size_t done = 0;
  for (size_t n : {17u, 1u, 4u, 1u, 1u, 9u, 1u, 1u, 25u}) {
    n = std::min(n, ids.size() - done);
    if (n == 0) break;
    const auto fused_logits = CopyLogits(fused.runtime->Forward(*sf, std::span(ids).subspan(done, n), 1));
    EXPECT_LT(MaxAbsDiff(fused_logits, plain.runtime->Forward(*sp, std::span(ids).subspan(done, n), 1)), c.tolerance)
        << c.package << "/" << c.dtype << " at position " << done;
    done += n;
  }
}

INSTANTIATE_TEST_SUITE_P(Generated, NormFusionRuntime,
                         ::testing::Values(Case{"gqa", "q4", 1e-1f}, Case{"gqa", "q4f16", 1e-1f},
                                           Case{"text-q4", "q4", 1e-3f}, Case{"text-q4f16", "q4f16", 1e-1f}),
                         [](const auto& info) { return testing::ParamName(info.param.package + "_" + info.param.dtype); });

}  // namespace
}  // namespace gemma4
