// Sampler: exact masks of the warpers, penalty arithmetic, seeds, empirical distributions, float16 input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "core/float16.h"
#include "gemma4/sampling.h"

namespace gemma4 {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Logits whose softmax is `probs` (up to float rounding).
std::vector<float> LogitsOf(std::vector<double> probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(p > 0 ? static_cast<float>(std::log(p)) : -kInf);
  return out;
}

SamplingParams Params(std::function<void(SamplingParams&)> edit) {
  SamplingParams p;
  edit(p);
  return p;
}

// Ids the sampler can still draw, sorted.
std::vector<int32_t> Kept(const SamplingParams& params, std::vector<float> logits,
                          std::vector<int32_t> context = {}, size_t prompt_length = 0) {
  Sampler sampler(params, logits.size());
  std::vector<int32_t> ids;
  for (const auto& tp : sampler.Distribution(logits, context, prompt_length)) ids.push_back(tp.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.what();
  }
  return "(no error)";
}

// ---- transformers' warpers, written literally with full sorts (the reference the fast paths must match) ----

std::vector<double> Softmax(const std::vector<float>& s, const std::vector<bool>& keep) {
  double m = -INFINITY;
  for (size_t i = 0; i < s.size(); ++i) if (keep[i]) m = std::max(m, double(s[i]));
  std::vector<double> p(s.size(), 0.0);
  double z = 0;
  for (size_t i = 0; i < s.size(); ++i) if (keep[i]) z += p[i] = std::exp(double(s[i]) - m);
  for (double& v : p) v /= z;
  return p;
}

std::vector<int32_t> ReferenceKept(const SamplingParams& params, const std::vector<float>& logits) {
  const size_t n = logits.size();
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = logits[i] / params.temperature;  // TemperatureLogitsWarper
  std::vector<bool> keep(n);
  for (size_t i = 0; i < n; ++i) keep[i] = s[i] > -kInf;
  // Ascending order with ties by descending id, so that "the tail" agrees with lower-id-first tie breaking.
  auto ascending = [&](std::vector<size_t>& idx) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] < s[b] || (s[a] == s[b] && a > b); });
  };
  auto kept_indices = [&] {
    std::vector<size_t> idx;
    for (size_t i = 0; i < n; ++i) if (keep[i]) idx.push_back(i);
    return idx;
  };
  if (params.top_k > 0 && size_t(params.top_k) < n) {  // scores < topk(scores, k)[-1] -> removed
    std::vector<float> sorted(s);
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    const float kth = sorted[params.top_k - 1];
    for (size_t i = 0; i < n; ++i) if (s[i] < kth) keep[i] = false;
  }
  if (params.top_p < 1.0f) {  // cumsum(softmax(sorted ascending)) <= 1 - top_p -> removed; the last stays
    auto idx = kept_indices();
    ascending(idx);
    const auto p = Softmax(s, keep);
    double cum = 0;
    for (size_t j = 0; j + 1 < idx.size(); ++j) {
      cum += p[idx[j]];
      if (cum <= 1.0 - double(params.top_p)) keep[idx[j]] = false;
    }
  }
  if (params.min_p > 0.0f) {  // probs < min_p * max(probs) -> removed
    const auto p = Softmax(s, keep);
    const double pmax = *std::max_element(p.begin(), p.end());
    for (size_t i = 0; i < n; ++i) if (keep[i] && p[i] < params.min_p * pmax) keep[i] = false;
  }
  if (params.typical_p < 1.0f) {
    const auto p = Softmax(s, keep);
    double ent = 0;
    for (size_t i = 0; i < n; ++i) if (keep[i] && p[i] > 0) ent -= std::log(p[i]) * p[i];
    auto idx = kept_indices();
    std::vector<double> shifted(n);
    for (size_t i : idx) shifted[i] = std::abs(-std::log(p[i]) - ent);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return shifted[a] < shifted[b] || (shifted[a] == shifted[b] && a < b);
    });
    double cum = 0;
    size_t last_ind = 0;
    for (size_t i : idx) {
      cum += p[i];
      if (cum < params.typical_p) ++last_ind;
    }
    last_ind = std::min(last_ind, idx.size() - 1);
    const double cut = shifted[idx[last_ind]];
    for (size_t j = 1; j < idx.size(); ++j) if (shifted[idx[j]] > cut) keep[idx[j]] = false;
  }
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; ++i) if (keep[i]) out.push_back(int32_t(i));
  return out;
}

std::vector<float> RandomLogits(size_t n, uint32_t seed, float stddev, float quantum = 0) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = dist(gen);
    if (quantum > 0) x = std::round(x / quantum) * quantum;  // many exact ties
  }
  return v;
}

// ---- parameters ----

TEST(SamplingParams, ValidateNamesTheFieldAndValue) {
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.top_p = 1.5f; }).Validate(); }), "top_p must be in (0, 1], got 1.5");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.top_p = 0.0f; }).Validate(); }), "top_p must be in (0, 1], got 0");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.temperature = -1.0f; }).Validate(); }),
            "temperature must be >= 0, got -1");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.top_k = -3; }).Validate(); }),
            "top_k must be >= 0 (0 disables it), got -3");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.min_p = 2.0f; }).Validate(); }), "min_p must be in [0, 1], got 2");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.typical_p = 0.0f; }).Validate(); }),
            "typical_p must be in (0, 1], got 0");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.repetition_penalty = 0.0f; }).Validate(); }),
            "repetition_penalty must be > 0 (1 disables it), got 0");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.presence_penalty = 2.5f; }).Validate(); }),
            "presence_penalty must be in [-2, 2], got 2.5");
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.frequency_penalty = -3.0f; }).Validate(); }),
            "frequency_penalty must be in [-2, 2], got -3");
  EXPECT_THAT(ErrorOf([] { Params([](auto& p) { p.top_p = NAN; }).Validate(); }), testing::StartsWith("top_p must be"));
  EXPECT_EQ(ErrorOf([] { Params([](auto& p) { p.logit_bias = {{3, 1.0f}, {4, kInf}}; }).Validate(); }),
            "logit_bias[1] (token 4) must be finite or -inf, got inf");
  EXPECT_EQ(ErrorOf([] { Sampler(Params([](auto& p) { p.logit_bias = {{10, 1.0f}}; }), 10); }),
            "logit_bias[0] token id 10 is out of range for vocab size 10");
  EXPECT_EQ(ErrorOf([] { Sampler(Params([](auto& p) { p.logit_bias = {{-1, 1.0f}}; }), 10); }),
            "logit_bias[0] token id must be >= 0, got -1");
  SamplingParams{}.Validate();  // defaults are valid
}

TEST(SamplingParams, FromGenerationConfig) {
  // Gemma 4's generation_config.json (DESIGN.md §2).
  const auto file = nlohmann::json::parse(
      R"({"bos_token_id": 2, "do_sample": true, "eos_token_id": [1, 106, 50], "pad_token_id": 0,
          "top_k": 64, "top_p": 0.95, "temperature": 1.0})");
  const SamplingParams p = SamplingParamsFromGenerationConfig(file);
  EXPECT_TRUE(p.do_sample);
  EXPECT_EQ(p.top_k, 64);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_FLOAT_EQ(p.temperature, 1.0f);
  EXPECT_FLOAT_EQ(p.min_p, 0.0f);  // absent: the base value

  SamplingParams base;
  base.min_p = 0.1f;
  base.seed = 7;
  const auto q = SamplingParamsFromGenerationConfig(
      nlohmann::json::parse(R"({"do_sample": false, "top_k": null, "min_p": 0.05, "typical_p": 0.9,
                                "repetition_penalty": 1.1})"),
      base);
  EXPECT_FALSE(q.do_sample);
  EXPECT_TRUE(q.greedy());
  EXPECT_EQ(q.top_k, 0);  // null keeps the base
  EXPECT_FLOAT_EQ(q.min_p, 0.05f);
  EXPECT_FLOAT_EQ(q.typical_p, 0.9f);
  EXPECT_FLOAT_EQ(q.repetition_penalty, 1.1f);
  EXPECT_EQ(q.seed, 7u);
  EXPECT_EQ(SamplingParamsFromGenerationConfig(nlohmann::json()).top_k, 0);  // GenerationConfig::sampling unset

  auto error = [](const char* text) -> std::string {
    try {
      SamplingParamsFromGenerationConfig(nlohmann::json::parse(text));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error(R"({"top_k": "64"})"), "generation_config.json: /top_k must be an integer, got string \"64\"");
  EXPECT_EQ(error(R"({"top_k": 6.5})"), "generation_config.json: /top_k must be an integer, got number 6.5");
  EXPECT_EQ(error(R"({"do_sample": 1})"), "generation_config.json: /do_sample must be a boolean, got number 1");
  EXPECT_EQ(error(R"({"top_p": [0.9]})"), "generation_config.json: /top_p must be a number, got array [0.9]");
  EXPECT_EQ(error(R"({"top_p": 1.5})"), "generation_config.json: top_p must be in (0, 1], got 1.5");
  EXPECT_EQ(error(R"([1])"), "generation_config.json: expected a JSON object, got array");
}

// ---- masks ----

TEST(Sampler, TopKKeepsTheKLargestAndEveryTieAtTheCut) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.5f, -1.0f};
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 1; }), logits), testing::ElementsAre(1));
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 2; }), logits), testing::ElementsAre(1, 2));
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 3; }), logits), testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 5; }), logits), testing::ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 50; }), logits), testing::ElementsAre(0, 1, 2, 3, 4));
  // transformers removes only scores < the k-th value: all three 4s stay with k = 2.
  const std::vector<float> tied = {5.0f, 4.0f, 1.0f, 4.0f, 4.0f};
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 2; }), tied), testing::ElementsAre(0, 1, 3, 4));
  // -inf never survives, even when k is larger than the finite count.
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 3; }), {-kInf, 1.0f, -kInf, 0.0f}), testing::ElementsAre(1, 3));
}

TEST(Sampler, ApplyTopKOnACandidateListKeepsTiesLikeTheRowPath) {
  const auto logits = RandomLogits(5000, 8, 2.0f, 0.5f);  // coarse values: many ties at any cut
  for (int k : {1, 7, 64, 600}) {
    std::vector<Sampler::Candidate> list;
    for (size_t i = 0; i < logits.size(); ++i) list.push_back({logits[i], static_cast<int32_t>(i)});
    ApplyTopK(list, k);
    std::vector<int32_t> ids;
    for (const auto& c : list) ids.push_back(c.id);
    std::sort(ids.begin(), ids.end());
    SamplingParams p;
    p.top_k = k;
    EXPECT_EQ(ids, ReferenceKept(p, logits)) << "k " << k;
    EXPECT_EQ(ids, Kept(p, logits)) << "k " << k;
    if (k > 1) EXPECT_GT(ids.size(), size_t(k)) << "k " << k << ": the coarse row should tie at the cut";
  }
}

TEST(Sampler, TopPKeepsTheShortestRunReachingP) {
  const auto logits = LogitsOf({0.5, 0.3, 0.2});
  auto with = [&](float top_p) { return Kept(Params([&](auto& p) { p.top_p = top_p; }), logits); };
  EXPECT_THAT(with(0.79f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(0.81f), testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(with(0.49f), testing::ElementsAre(0));       // the first token alone reaches it
  EXPECT_THAT(with(0.51f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(0.001f), testing::ElementsAre(0));      // min_keep = 1
  EXPECT_THAT(with(1.0f), testing::ElementsAre(0, 1, 2));  // off
  // Reached exactly (equal logits make every mass exact): 0.25 + 0.25 == 0.5 stops at two tokens, and
  // the tie at the cut goes to the lower ids.
  const std::vector<float> uniform = {0.0f, 0.0f, 0.0f, 0.0f};
  auto flat = [&](float top_p) { return Kept(Params([&](auto& p) { p.top_p = top_p; }), uniform); };
  EXPECT_THAT(flat(0.5f), testing::ElementsAre(0, 1));
  EXPECT_THAT(flat(0.75f), testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(flat(0.5000001f), testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(flat(0.25f), testing::ElementsAre(0));
  // Ties at the cut: of two equally likely tokens only the lower id fits.
  const auto tied = LogitsOf({0.3, 0.4, 0.3});
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_p = 0.6f; }), tied), testing::ElementsAre(0, 1));
  // Probabilities come out renormalised over the kept set.
  Sampler sampler(Params([](auto& p) { p.top_p = 0.79f; }), 3);
  auto l = logits;
  const auto dist = sampler.Distribution(l, {});
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[0].id, 0);
  EXPECT_NEAR(dist[0].prob, 0.625, 1e-6);
  EXPECT_NEAR(dist[1].prob, 0.375, 1e-6);
}

TEST(Sampler, MinPKeepsTokensAtLeastMinPTimesTheMax) {
  const auto logits = LogitsOf({0.5, 0.25, 0.125, 0.125});
  auto with = [&](float min_p) { return Kept(Params([&](auto& p) { p.min_p = min_p; }), logits); };
  EXPECT_THAT(with(0.49f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(0.51f), testing::ElementsAre(0));
  EXPECT_THAT(with(0.24f), testing::ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(with(0.26f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(1.0f), testing::ElementsAre(0));  // the max always survives
  // At the boundary (p == min_p * p_max, exact with equal logits) the token stays.
  const std::vector<float> tied = {1.0f, -1.0f, 1.0f};
  EXPECT_THAT(Kept(Params([](auto& p) { p.min_p = 1.0f; }), tied), testing::ElementsAre(0, 2));
}

TEST(Sampler, TypicalPKeepsTheMostTypicalTokens) {
  // H = 1.75 bits; -log2 p = 1, 2, 3, 3 -> |.-H| = 0.75, 0.25, 1.25, 1.25: order 1, 0, {2, 3};
  // cumulative mass in that order 0.25, 0.75, 0.875, 1.
  const auto logits = LogitsOf({0.5, 0.25, 0.125, 0.125});
  auto with = [&](float typical_p) { return Kept(Params([&](auto& p) { p.typical_p = typical_p; }), logits); };
  EXPECT_THAT(with(0.2f), testing::ElementsAre(1));
  EXPECT_THAT(with(0.26f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(0.7f), testing::ElementsAre(0, 1));
  EXPECT_THAT(with(0.8f), testing::ElementsAre(0, 1, 2, 3));  // token 3 ties token 2 on typicality
  EXPECT_THAT(with(0.001f), testing::ElementsAre(1));         // min_keep = 1
}

TEST(Sampler, WarpersApplyInTransformersOrder) {
  const auto logits = LogitsOf({0.4, 0.3, 0.2, 0.1});
  // top_p alone: 0.4 + 0.3 < 0.75 -> three tokens; after top_k = 3 the mass is 4/9, 7/9 -> two tokens.
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_p = 0.75f; }), logits), testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_p = 0.75f; p.top_k = 3; }), logits), testing::ElementsAre(0, 1));
  // Temperature comes before top_p: at T = 0.5 the probabilities are 16:9:4:1 / 30, so 0.75 needs two.
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_p = 0.75f; p.temperature = 0.5f; }), logits), testing::ElementsAre(0, 1));
  Sampler sampler(Params([](auto& p) { p.temperature = 0.5f; }), 4);
  auto l = logits;
  const auto dist = sampler.Distribution(l, {});
  ASSERT_EQ(dist.size(), 4u);
  const double expected[] = {16 / 30.0, 9 / 30.0, 4 / 30.0, 1 / 30.0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(dist[i].id, i);
    EXPECT_NEAR(dist[i].prob, expected[i], 1e-6);
  }
}

TEST(Sampler, FastPathsMatchTransformersDefinitions) {
  struct Case {
    int top_k;
    float top_p, min_p, typical_p, temperature;
  };
  const Case cases[] = {{0, 0.9f, 0, 1, 1},    {0, 0.5f, 0, 1, 0.7f},   {0, 0.99f, 0, 1, 1.3f},
                        {64, 0.95f, 0, 1, 1},  {40, 1, 0, 1, 0.8f},     {1000, 0.3f, 0, 1, 1},
                        {0, 1, 0.05f, 1, 1},   {0, 0.95f, 0.01f, 1, 1}, {0, 1, 0, 0.9f, 1},
                        {100, 0.9f, 0.02f, 0.95f, 0.9f}};
  int checked = 0;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    for (float quantum : {0.0f, 0.25f}) {  // 0.25: thousands of exact ties
      const auto logits = RandomLogits(20000, seed, 2.5f, quantum);
      for (const auto& c : cases) {
        SamplingParams p;
        p.top_k = c.top_k, p.top_p = c.top_p, p.min_p = c.min_p, p.typical_p = c.typical_p;
        p.temperature = c.temperature;
        const auto expected = ReferenceKept(p, logits);
        const auto actual = Kept(p, logits);
        ASSERT_EQ(actual, expected) << "seed " << seed << " quantum " << quantum << " top_k " << c.top_k << " top_p "
                                    << c.top_p << " min_p " << c.min_p << " typical_p " << c.typical_p << " T "
                                    << c.temperature << ": kept " << actual.size() << " vs " << expected.size();
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 60);
}

TEST(Sampler, FullVocabularyRowMatchesReference) {
  const size_t vocab = 262144;
  const auto logits = RandomLogits(vocab, 99, 3.0f);
  SamplingParams p;
  p.top_k = 64;
  p.top_p = 0.95f;
  EXPECT_EQ(Kept(p, logits), ReferenceKept(p, logits));
  p.top_k = 0;
  p.top_p = 0.5f;
  EXPECT_EQ(Kept(p, logits), ReferenceKept(p, logits));
  SamplingParams g;
  g.do_sample = false;
  Sampler greedy(g, vocab);
  auto copy = logits;
  EXPECT_EQ(greedy.Sample(copy, {}), std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// ---- greedy, penalties, bias ----

TEST(Sampler, GreedyBreaksTiesTowardTheLowerId) {
  std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 2.0f};
  Sampler by_flag(Params([](auto& p) { p.do_sample = false; p.top_k = 1; }), logits.size());
  EXPECT_EQ(by_flag.Sample(logits, {}), 1);
  Sampler by_temperature(Params([](auto& p) { p.temperature = 0.0f; }), logits.size());
  EXPECT_EQ(by_temperature.Sample(logits, {}), 1);
  // Ties far apart in a long row (the argmax scans blocks): still the lower id.
  std::vector<float> wide = RandomLogits(10000, 4, 1.0f);
  wide[123] = wide[9876] = wide[5000] = 50.0f;
  EXPECT_EQ(Sampler(Params([](auto& p) { p.do_sample = false; }), wide.size()).Sample(wide, {}), 123);
  wide[123] = 0.0f;
  EXPECT_EQ(Sampler(Params([](auto& p) { p.do_sample = false; }), wide.size()).Sample(wide, {}), 5000);
  std::vector<float> nan_first = {NAN, 0.5f, 0.5f};
  EXPECT_EQ(Sampler(Params([](auto& p) { p.do_sample = false; }), 3).Sample(nan_first, {}), 1);
  // top_k = 1 is greedy too when sampling, with the same tie rule on the draw's single candidate... except ties
  // at the cut are kept (transformers), so both 3s remain.
  EXPECT_THAT(Kept(Params([](auto& p) { p.top_k = 1; }), logits), testing::ElementsAre(1, 3));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  std::vector<float> logits = {2.0f, -2.0f, 1.5f, 0.5f, 0.0f};
  Sampler sampler(Params([](auto& p) { p.do_sample = false; p.repetition_penalty = 2.0f; }), logits.size());
  const std::vector<int32_t> context = {0, 1, 0, 4};  // token 0 twice: penalised once (a set, as transformers)
  EXPECT_EQ(sampler.Sample(logits, context, /*prompt_length=*/4), 2);  // prompt tokens count too
  EXPECT_THAT(logits, testing::ElementsAre(1.0f, -4.0f, 1.5f, 0.5f, 0.0f));
  // Below 1 it rewards: 2 * 0.5 -> 4, -2 -> -1.
  std::vector<float> again = {2.0f, -2.0f, 3.0f};
  Sampler reward(Params([](auto& p) { p.do_sample = false; p.repetition_penalty = 0.5f; }), 3);
  EXPECT_EQ(reward.Sample(again, std::vector<int32_t>{0, 1}), 0);
  EXPECT_THAT(again, testing::ElementsAre(4.0f, -1.0f, 3.0f));
}

TEST(Sampler, PresenceAndFrequencyPenaltiesCountGeneratedTokensOnly) {
  std::vector<float> logits = {1.0f, 1.0f, 1.0f, 1.0f};
  Sampler sampler(Params([](auto& p) {
                    p.do_sample = false;
                    p.frequency_penalty = 0.5f;
                    p.presence_penalty = 0.25f;
                  }),
                  logits.size());
  const std::vector<int32_t> context = {3, 2, 0, 0, 1};  // prompt {3, 2}; generated {0, 0, 1}
  EXPECT_EQ(sampler.Sample(logits, context, 2), 2);
  EXPECT_THAT(logits, testing::ElementsAre(1.0f - 2 * 0.5f - 0.25f, 1.0f - 0.5f - 0.25f, 1.0f, 1.0f));
  // prompt_length 0: the whole context counts.
  std::vector<float> all = {1.0f, 1.0f, 1.0f, 1.0f};
  sampler.Sample(all, context, 0);
  EXPECT_THAT(all, testing::ElementsAre(-0.25f, 0.25f, 0.25f, 0.25f));
  // Applied after the repetition penalty: (2 / 2) - 0.5 - 0.25.
  std::vector<float> both = {2.0f, 0.0f};
  Sampler chained(Params([](auto& p) {
                    p.do_sample = false;
                    p.repetition_penalty = 2.0f;
                    p.frequency_penalty = 0.5f;
                    p.presence_penalty = 0.25f;
                  }),
                  2);
  chained.Sample(both, std::vector<int32_t>{0});
  EXPECT_THAT(both, testing::ElementsAre(0.25f, 0.0f));
}

TEST(Sampler, LogitBiasIsAddedAndMinusInfinityBans) {
  std::vector<float> logits = {3.0f, 1.0f, 2.0f};
  Sampler sampler(Params([](auto& p) { p.do_sample = false; p.logit_bias = {{1, 2.5f}, {0, -kInf}}; }), 3);
  EXPECT_EQ(sampler.Sample(logits, {}), 1);
  EXPECT_THAT(logits, testing::ElementsAre(-kInf, 3.5f, 2.0f));
  // When sampling, a banned token is never drawn.
  std::vector<float> flat(5, 0.0f);
  Sampler banned(Params([](auto& p) { p.logit_bias = {{2, -kInf}}; p.seed = 3; }), 5);
  for (int i = 0; i < 200; ++i) {
    auto row = flat;
    EXPECT_NE(banned.Sample(row, {}), 2);
  }
}

TEST(Sampler, RejectsBadInput) {
  Sampler sampler(SamplingParams{}, 4);
  std::vector<float> short_row(3, 0.0f), row(4, 0.0f);
  EXPECT_EQ(ErrorOf([&] { sampler.Sample(short_row, {}); }), "logits row has 3 values, expected the vocab size 4");
  Sampler penalised(Params([](auto& p) { p.repetition_penalty = 1.2f; }), 4);
  EXPECT_EQ(ErrorOf([&] { penalised.Sample(row, std::vector<int32_t>{1, 9}); }),
            "context token 9 at position 1 is out of range for vocab size 4");
  EXPECT_EQ(ErrorOf([&] { penalised.Sample(row, std::vector<int32_t>{1}, 2); }),
            "prompt_length 2 exceeds the context length 1");
  std::vector<float> masked(4, -kInf);
  EXPECT_THAT(ErrorOf([&] { sampler.Sample(masked, {}); }), testing::StartsWith("every token is masked"));
  Sampler greedy(Params([](auto& p) { p.do_sample = false; }), 4);
  EXPECT_THAT(ErrorOf([&] { greedy.Sample(masked, {}); }), testing::StartsWith("every token is masked"));
}

// ---- randomness ----

TEST(Sampler, RngIsTheStandardMt19937_64) {
  // [rand.predef]: the 10000th output of a default-constructed mt19937_64 is 9981545732273789042.
  Sampler sampler(Params([](auto& p) { p.seed = 5489; }), 2);
  for (int i = 0; i < 9999; ++i) sampler.NextUniform();
  EXPECT_EQ(sampler.NextUniform(), static_cast<double>(9981545732273789042ull >> 11) * 0x1.0p-53);
}

std::vector<int32_t> Draws(uint64_t seed, int n) {
  const auto logits = RandomLogits(1000, 5, 1.5f);
  SamplingParams p;
  p.seed = seed;
  p.top_k = 200;
  p.top_p = 0.98f;
  p.repetition_penalty = 1.1f;
  Sampler sampler(p, logits.size());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    auto row = logits;
    out.push_back(sampler.Sample(row, out));
  }
  return out;
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const auto a = Draws(42, 300);
  EXPECT_EQ(a, Draws(42, 300));
  EXPECT_NE(a, Draws(43, 300));
  EXPECT_GT(std::set<int32_t>(a.begin(), a.end()).size(), 20u);  // it does sample
  // Reseed replays.
  const auto logits = RandomLogits(1000, 5, 1.5f);
  Sampler sampler(Params([](auto& p) { p.seed = 1; }), logits.size());
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) { auto row = logits; first.push_back(sampler.Sample(row, {})); }
  sampler.Reseed(1);
  for (int i = 0; i < 50; ++i) { auto row = logits; second.push_back(sampler.Sample(row, {})); }
  EXPECT_EQ(first, second);
}

// Pearson's chi-square of `counts` against `probs`; with a fixed seed the statistic is deterministic.
double ChiSquare(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
  double chi = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double expected = probs[i] * n;
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -1.5f, 1.2f, 0.7f};
  const float temperature = 0.8f;
  std::vector<double> probs(logits.size());
  double z = 0;
  for (size_t i = 0; i < logits.size(); ++i) z += probs[i] = std::exp(double(logits[i]) / temperature);
  for (double& p : probs) p /= z;
  Sampler sampler(Params([&](auto& p) { p.temperature = temperature; p.seed = 2024; }), logits.size());
  const int n = 200000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    auto row = logits;
    counts[sampler.Sample(row, {})]++;
  }
  // 7 degrees of freedom: P(chi2 > 24.32) = 0.001.
  EXPECT_LT(ChiSquare(counts, probs, n), 24.32) << testing::PrintToString(counts);

  // With warpers: the masked tokens never come out, the kept ones follow the renormalised softmax.
  Sampler warped(Params([](auto& p) { p.top_k = 4; p.top_p = 0.8f; p.seed = 7; }), logits.size());
  auto row = logits;
  const auto dist = warped.Distribution(row, {});
  std::vector<double> kept_probs(logits.size(), 0.0);
  for (const auto& tp : dist) kept_probs[tp.id] = tp.prob;
  std::fill(counts.begin(), counts.end(), 0);
  for (int i = 0; i < n; ++i) {
    auto r = logits;
    counts[warped.Sample(r, {})]++;
  }
  std::vector<int> kept_counts;
  std::vector<double> kept_p;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (kept_probs[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " is masked";
    } else {
      kept_counts.push_back(counts[i]);
      kept_p.push_back(kept_probs[i]);
    }
  }
  ASSERT_GE(kept_p.size(), 2u);
  ASSERT_LE(kept_p.size(), 4u);
  EXPECT_LT(ChiSquare(kept_counts, kept_p, n), 16.27) << testing::PrintToString(counts);  // 3 dof, p = 0.001
}

// ---- float16 ----

// IEEE 754 binary16 by its definition, independent of the bit manipulation under test.
double HalfByDefinition(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

TEST(Float16, EveryHalfConvertsExactly) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float got = HalfToFloat(static_cast<uint16_t>(h));
    const double want = HalfByDefinition(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
    } else {
      ASSERT_EQ(double(got), want) << std::hex << h;
      ASSERT_EQ(std::signbit(got), bool(h & 0x8000)) << std::hex << h;
    }
  }
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x7c00), kInf);
  EXPECT_EQ(HalfToFloat(0xfc00), -kInf);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
}

// The one resolver the CLI, the server and the C API share.
TEST(ResolveSampling, OverridesApplyOverTheModelDefaults) {
  SamplingParams defaults;
  defaults.do_sample = false;  // generation_config.json may say so
  defaults.top_k = 64;
  defaults.top_p = 0.95f;
  SamplingOverrides none;
  const SamplingParams same = ResolveSampling(defaults, none, 42);
  EXPECT_FALSE(same.do_sample);
  EXPECT_EQ(same.top_k, 64);
  EXPECT_EQ(same.seed, 42u);  // no seed given: the random one
  SamplingOverrides hot;
  hot.temperature = 0.7f;
  hot.seed = 5;
  const SamplingParams sampled = ResolveSampling(defaults, hot, 42);
  EXPECT_TRUE(sampled.do_sample);  // a temperature > 0 asks for sampling
  EXPECT_FALSE(sampled.greedy());
  EXPECT_EQ(sampled.seed, 5u);
  hot.do_sample = false;  // an explicit do_sample wins
  EXPECT_TRUE(ResolveSampling(defaults, hot, 42).greedy());
  SamplingOverrides zero;
  zero.temperature = 0.0f;
  EXPECT_TRUE(ResolveSampling(SamplingParams{}, zero, 1).greedy());
  SamplingOverrides all;
  all.top_k = 3;
  all.top_p = 0.5f;
  all.min_p = 0.1f;
  all.typical_p = 0.9f;
  all.repetition_penalty = 1.2f;
  all.presence_penalty = 0.5f;
  all.frequency_penalty = -0.5f;
  all.logit_bias = {{7, -1.0f}};
  const SamplingParams p = ResolveSampling(defaults, all, 1);
  EXPECT_EQ(p.top_k, 3);
  EXPECT_EQ(p.top_p, 0.5f);
  EXPECT_EQ(p.min_p, 0.1f);
  EXPECT_EQ(p.typical_p, 0.9f);
  EXPECT_EQ(p.repetition_penalty, 1.2f);
  EXPECT_EQ(p.presence_penalty, 0.5f);
  EXPECT_EQ(p.frequency_penalty, -0.5f);
  ASSERT_EQ(p.logit_bias.size(), 1u);
  SamplingOverrides bad;
  bad.top_p = 1.5f;
  EXPECT_EQ(ErrorOf([&] { ResolveSampling(defaults, bad, 1); }), "top_p must be in (0, 1], got 1.5");
}

TEST(ResolveSampling, RandomSeedsDiffer) {
  const uint64_t a = RandomSeed(), b = RandomSeed(), c = RandomSeed();
  EXPECT_FALSE(a == b && b == c);
}

}  // namespace
}  // namespace gemma4
