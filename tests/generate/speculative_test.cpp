// Speculative decoding: the prompt lookup draft on its own, then the Generator verifying drafts in
// one decoder call, whose output must be token for token that of plain greedy decoding whatever
// the drafts are (all right, all wrong, mixed, from the prompt), under every stop rule.
#include "gemma4/speculative.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "gemma4/generator.h"
#include "gemma4/tokenizer.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::TestModel;
using Ids = std::vector<int32_t>;

// --- PromptLookupDraft ---------------------------------------------------------------------------

TEST(PromptLookup, LongestNgramWinsOverAMoreRecentShorterOne) {
  // The 3-gram [1 2 3] occurred at the start (followed by 10 5); the 1-gram [3] more recently
  // (followed by 20).
  const Ids context = {1, 2, 3, 10, 5, 3, 20, 9, 1, 2, 3};
  PromptLookupDraft lookup(3, 1);
  EXPECT_EQ(lookup.Propose(context, 2), (Ids{10, 5}));
  // Limited to 1-grams, the most recent [3] wins.
  PromptLookupDraft unigram(1, 1);
  EXPECT_EQ(unigram.Propose(context, 2), (Ids{20, 9}));
  // A 2-gram limit finds [2 3] at position 1.
  PromptLookupDraft bigram(2, 2);
  EXPECT_EQ(bigram.Propose(context, 3), (Ids{10, 5, 3}));
}

TEST(PromptLookup, MostRecentOccurrenceWins) {
  const Ids context = {7, 1, 8, 7, 2, 8, 4, 7};
  PromptLookupDraft lookup(1, 1);
  EXPECT_EQ(lookup.Propose(context, 2), (Ids{2, 8}));
  PromptLookupDraft longer(3, 1);  // no 2- or 3-gram repeats: falls back to the 1-gram
  EXPECT_EQ(longer.Propose(context, 1), (Ids{2}));
}

TEST(PromptLookup, NoMatchProposesNothing) {
  PromptLookupDraft lookup(3, 1);
  EXPECT_TRUE(lookup.Propose(Ids{1, 2, 3, 4}, 5).empty());
  EXPECT_TRUE(lookup.Propose(Ids{}, 5).empty());
  EXPECT_TRUE(lookup.Propose(Ids{4}, 5).empty());
  // ngram_min 2: a lone repeated token is not enough.
  PromptLookupDraft two(3, 2);
  EXPECT_TRUE(two.Propose(Ids{5, 1, 6, 1}, 5).empty());
  EXPECT_EQ(PromptLookupDraft(3, 1).Propose(Ids{5, 1, 6, 1}, 5), (Ids{6, 1}));
}

TEST(PromptLookup, NeverProposesPastTheEndOfTheContext) {
  PromptLookupDraft lookup(3, 1);
  // [5 6] matched at the start: what follows runs into the tail itself and stops at the end.
  EXPECT_EQ(lookup.Propose(Ids{5, 6, 9, 5, 6}, 10), (Ids{9, 5, 6}));
  // A run of one token: the most recent earlier [x x x] is one step back, one token follows.
  EXPECT_EQ(lookup.Propose(Ids{4, 4, 4, 4}, 10), (Ids{4}));
  EXPECT_EQ(lookup.Propose(Ids{4, 4}, 10), (Ids{4}));
}

TEST(PromptLookup, MaxTokensIsRespected) {
  const Ids context = {1, 2, 3, 4, 5, 6, 7, 8, 1};
  PromptLookupDraft lookup(3, 1);
  EXPECT_EQ(lookup.Propose(context, 0), Ids{});
  EXPECT_EQ(lookup.Propose(context, 1), (Ids{2}));
  EXPECT_EQ(lookup.Propose(context, 4), (Ids{2, 3, 4, 5}));
  EXPECT_EQ(lookup.Propose(context, 100).size(), 8u);
}

TEST(PromptLookup, RejectsBadNgramBounds) {
  EXPECT_GEMMA4_ERROR(PromptLookupDraft(3, 0), ErrorKind::kInvalidArgument, "need 1 <= ngram_min <= ngram_max");
  EXPECT_GEMMA4_ERROR(PromptLookupDraft(1, 2), ErrorKind::kInvalidArgument, "got ngram_min 2 and ngram_max 1");
}

// --- Draft sources for the exactness tests --------------------------------------------------------

// Proposes from a known continuation of the prompt: right while `Right(call, i)` says so, else a
// token that differs from the known one.
class ScriptedDraft : public DraftSource {
 public:
  enum class Mode { kOracle, kWrong, kMixed };
  ScriptedDraft(size_t prompt_len, Ids continuation, size_t vocab, Mode mode)
      : prompt_len_(prompt_len), continuation_(std::move(continuation)), vocab_(vocab), mode_(mode) {}

  Ids Propose(std::span<const int32_t> context, size_t max_tokens) override {
    ++calls;
    max_asked = std::max(max_asked, max_tokens);
    const size_t generated = context.size() - prompt_len_;
    Ids out;
    for (size_t i = 0; i < max_tokens && generated + i < continuation_.size(); ++i) {
      const int32_t known = continuation_[generated + i];
      out.push_back(Right(i) ? known : static_cast<int32_t>((static_cast<size_t>(known) + 1) % vocab_));
    }
    return out;
  }

  size_t calls = 0;
  size_t max_asked = 0;

 private:
  bool Right(size_t i) const {
    switch (mode_) {
      case Mode::kOracle: return true;
      case Mode::kWrong: return false;
      case Mode::kMixed: return i < calls % 4;  // 0, 1, 2, 3 right drafts before the first wrong one
    }
    return true;
  }
  size_t prompt_len_;
  Ids continuation_;
  size_t vocab_;
  Mode mode_;
};

std::shared_ptr<const Model> LoadModel(const std::string& name, RuntimeOptions runtime = {}) {
  LoadOptions options;
  options.runtime = runtime;
  options.runtime.threads = 1;
  if (name == "text-q4f16") options.dtype = "q4f16";
  return Model::Load(TestModel(name).string(), options);
}

std::shared_ptr<const Model> CachedModel(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const Model>> models;
  auto& m = models[name];
  if (!m) m = LoadModel(name);
  return m;
}

GenerateOptions Greedy(size_t n, bool ignore_eos = true) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0;
  o.ignore_eos = ignore_eos;
  return o;
}

Ids ChatPrompt(const Model& model, const std::string& text) {
  ChatRequest r;
  r.messages.push_back({{"role", "user"}, {"content", text}});
  return model.TokenizeChat(r);
}

size_t Vocab(const Model& model) { return model.vocab_size(); }

// Without drafts, a finished generation leaves the prompt and the output minus its last token.
Ids ExpectedCache(const GenerationResult& r) {
  Ids ids = r.prompt_ids;
  ids.insert(ids.end(), r.output_ids.begin(), r.output_ids.end());
  if (!r.output_ids.empty()) ids.pop_back();
  return ids;
}

struct Outcome {
  GenerationResult result;
  Ids cache;
  std::string streamed;
};

Outcome Generate(const std::shared_ptr<const Model>& model, const Ids& prompt, GenerateOptions o) {
  Session s(model);
  Outcome run;
  o.on_token = [&](std::string_view text, int32_t) {
    run.streamed += text;
    return true;
  };
  run.result = s.Generate(prompt, o);
  run.cache = s.cached_tokens();
  return run;
}

void ExpectSameAnswer(const Outcome& spec, const Outcome& plain) {
  EXPECT_EQ(spec.result.output_ids, plain.result.output_ids);
  EXPECT_EQ(spec.result.text, plain.result.text);
  EXPECT_EQ(spec.streamed, plain.streamed);
  EXPECT_EQ(StopReasonName(spec.result.stop_reason), StopReasonName(plain.result.stop_reason));
  EXPECT_EQ(spec.cache, plain.cache) << "the cache must hold what a plain run leaves";
  EXPECT_EQ(plain.cache, ExpectedCache(plain.result));
  EXPECT_EQ(spec.result.timings.generated_tokens, spec.result.output_ids.size());
}

// q4 with num_logits_to_keep, a decoder without it (every row comes back), and float16 logits.
class Speculative : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    model_ = CachedModel(GetParam());
    prompt_ = ChatPrompt(*model_, "Explain, in one sentence, what a cache is.");
  }
  // Scripted drafts from `known` (a plain run's output) on `o`, at most `draft_max` per call.
  std::shared_ptr<ScriptedDraft> Draft(GenerateOptions& o, const Ids& known, ScriptedDraft::Mode mode, size_t draft_max) {
    auto draft = std::make_shared<ScriptedDraft>(prompt_.size(), known, Vocab(*model_), mode);
    o.draft = draft;
    o.draft_max = draft_max;
    return draft;
  }
  std::shared_ptr<const Model> model_;
  Ids prompt_;
};

TEST_P(Speculative, OracleDraftsAreAllAcceptedAndSaveDecoderCalls) {
  const Outcome plain = Generate(model_, prompt_, Greedy(24));
  ASSERT_EQ(plain.result.output_ids.size(), 24u);
  EXPECT_EQ(plain.result.timings.decode_calls, 23u);
  EXPECT_EQ(plain.result.draft_tokens, 0u);

  GenerateOptions o = Greedy(24);
  auto draft = Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kOracle, 4);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_GT(spec.result.draft_tokens, 0u);
  EXPECT_EQ(spec.result.accepted_tokens, spec.result.draft_tokens);
  // 23 tokens after the first, 5 settled per call (4 drafts + the model's own): 5 calls.
  EXPECT_EQ(spec.result.timings.decode_calls, 5u);
  EXPECT_EQ(draft->calls, 5u);
  EXPECT_LE(draft->max_asked, 4u);
  EXPECT_EQ(spec.result.draft_tokens, 4u * 4 + 2);  // the last call is bounded by the budget
}

TEST_P(Speculative, WrongDraftsAreAllRejected) {
  const Outcome plain = Generate(model_, prompt_, Greedy(20));
  GenerateOptions o = Greedy(20);
  Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kWrong, 3);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_GT(spec.result.draft_tokens, 0u);
  EXPECT_EQ(spec.result.accepted_tokens, 0u);
  EXPECT_EQ(spec.result.timings.decode_calls, plain.result.timings.decode_calls);
}

TEST_P(Speculative, MixedDraftsKeepTheRightPrefix) {
  const Outcome plain = Generate(model_, prompt_, Greedy(32));
  GenerateOptions o = Greedy(32);
  Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kMixed, 4);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_GT(spec.result.accepted_tokens, 0u);
  EXPECT_LT(spec.result.accepted_tokens, spec.result.draft_tokens);
  EXPECT_LT(spec.result.timings.decode_calls, plain.result.timings.decode_calls);
}

TEST_P(Speculative, PromptLookupOnARepetitivePrompt) {
  // Raw ids: <bos> then the same phrase four times; the model's greedy continuation decides what
  // is accepted, the output must not change either way.
  const Ids phrase = ChatPrompt(*model_, "the cat sat on the mat");
  Ids prompt = {2};
  for (int i = 0; i < 4; ++i) prompt.insert(prompt.end(), phrase.begin() + 1, phrase.end());
  const Outcome plain = Generate(model_, prompt, Greedy(40));
  GenerateOptions o = Greedy(40);
  o.draft = std::make_shared<PromptLookupDraft>(3, 1);
  o.draft_max = 5;
  const Outcome spec = Generate(model_, prompt, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_GT(spec.result.draft_tokens, 0u);
  EXPECT_LE(spec.result.accepted_tokens, spec.result.draft_tokens);
  EXPECT_EQ(spec.result.timings.decode_calls + spec.result.accepted_tokens, plain.result.timings.decode_calls);
}

TEST_P(Speculative, TheBudgetBoundsTheDrafts) {
  const Outcome longer = Generate(model_, prompt_, Greedy(30));
  for (size_t budget : {2u, 3u, 7u, 9u}) {
    const Outcome plain = Generate(model_, prompt_, Greedy(budget));
    GenerateOptions o = Greedy(budget);
    auto draft = Draft(o, longer.result.output_ids, ScriptedDraft::Mode::kOracle, 8);
    const Outcome spec = Generate(model_, prompt_, o);
    ExpectSameAnswer(spec, plain);
    EXPECT_EQ(spec.result.output_ids.size(), budget);
    // One call settles everything after the first token: budget - 2 drafts and the model's own.
    EXPECT_EQ(spec.result.accepted_tokens, budget - 2) << "every draft accepted, none past the budget";
    EXPECT_EQ(spec.result.draft_tokens, budget - 2);
    EXPECT_EQ(spec.result.timings.decode_calls, 1u) << budget;
    EXPECT_LE(draft->max_asked, budget - 2);
  }
}

TEST_P(Speculative, StopStringInsideAnAcceptedRun) {
  const Outcome full = Generate(model_, prompt_, Greedy(30));
  const Tokenizer& tok = model_->tokenizer();
  const Ids& out = full.result.output_ids;
  // A stop string made of the text of tokens 5..6, first found where plain decoding finds it.
  const std::string before = tok.Decode(std::span(out).first(5), true);
  const std::string upto = tok.Decode(std::span(out).first(7), true);
  ASSERT_GT(upto.size(), before.size());
  std::string stop = upto.substr(before.size());
  GenerateOptions base = Greedy(30);
  base.stop = {stop};
  const Outcome plain = Generate(model_, prompt_, base);
  ASSERT_EQ(plain.result.stop_reason, StopReason::kStop);
  ASSERT_LT(plain.result.output_ids.size(), 30u);

  GenerateOptions o = base;
  Draft(o, out, ScriptedDraft::Mode::kOracle, 8);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_GT(spec.result.accepted_tokens, plain.result.output_ids.size() - 1)
      << "the oracle's run went past the stop: the extra accepted drafts must be dropped";
}

TEST_P(Speculative, EosInsideAnAcceptedRunEndsTheAnswer) {
  // Random weights rarely pick an EOS id: make the 6th greedy token an EOS id of a copy.
  const Outcome full = Generate(model_, prompt_, Greedy(30));
  const Ids& out = full.result.output_ids;
  size_t at = 5;
  while (at < out.size() && std::find(out.begin(), out.begin() + at, out[at]) != out.begin() + at) ++at;
  ASSERT_LT(at, out.size()) << "no token that first occurs after position 5";
  testing::TempDir dir;
  const auto copy = testing::CopyPackage(GetParam(), dir);
  testing::WriteFile(copy / "generation_config.json",
                     R"({"bos_token_id": 2, "pad_token_id": 0, "eos_token_id": [1, 106, 50, )" +
                         std::to_string(out[at]) + "]}");
  LoadOptions load;
  load.runtime.threads = 1;
  if (std::string(GetParam()) == "text-q4f16") load.dtype = "q4f16";
  auto model = Model::Load(copy.string(), load);
  ASSERT_TRUE(model->IsEos(out[at]));

  const Outcome plain = Generate(model, prompt_, Greedy(30, /*ignore_eos=*/false));
  ASSERT_EQ(plain.result.stop_reason, StopReason::kEos);
  ASSERT_EQ(plain.result.output_ids.size(), at + 1);
  GenerateOptions o = Greedy(30, /*ignore_eos=*/false);
  o.draft = std::make_shared<ScriptedDraft>(prompt_.size(), out, Vocab(*model), ScriptedDraft::Mode::kOracle);
  o.draft_max = 8;
  const Outcome spec = Generate(model, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_EQ(spec.result.output_ids.back(), out[at]) << "the EOS id ends output_ids";
  EXPECT_GT(spec.result.accepted_tokens, at) << "the oracle drafted past the EOS id";
}

TEST_P(Speculative, RepetitionAndFrequencyPenaltiesStayExact) {
  GenerateOptions base = Greedy(28);
  base.sampling.repetition_penalty = 1.5f;
  base.sampling.frequency_penalty = 0.7f;
  const Outcome plain = Generate(model_, prompt_, base);
  const Outcome unpenalized = Generate(model_, prompt_, Greedy(28));
  // Only meaningful if the penalties change the answer.
  EXPECT_NE(plain.result.output_ids, unpenalized.result.output_ids);

  GenerateOptions o = base;
  Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kOracle, 4);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_EQ(spec.result.accepted_tokens, spec.result.draft_tokens);

  o.draft = std::make_shared<ScriptedDraft>(prompt_.size(), plain.result.output_ids, Vocab(*model_),
                                            ScriptedDraft::Mode::kMixed);
  ExpectSameAnswer(Generate(model_, prompt_, o), plain);
}

TEST_P(Speculative, SamplingTurnsSpeculationOff) {
  GenerateOptions base;
  base.max_new_tokens = 16;
  base.ignore_eos = true;
  base.sampling.temperature = 1.2f;
  base.sampling.seed = 42;
  const Outcome plain = Generate(model_, prompt_, base);
  GenerateOptions o = base;
  auto draft = Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kOracle, 4);
  const Outcome spec = Generate(model_, prompt_, o);
  ExpectSameAnswer(spec, plain);
  EXPECT_EQ(draft->calls, 0u);
  EXPECT_EQ(spec.result.draft_tokens, 0u);
  EXPECT_EQ(spec.result.timings.decode_calls, 15u);
}

TEST_P(Speculative, SecondTurnReusesTheCacheAsWithoutDrafts) {
  GenerateOptions plain_o = Greedy(12);
  GenerateOptions spec_o = Greedy(12);
  spec_o.draft = std::make_shared<PromptLookupDraft>(2, 1);
  spec_o.draft_max = 4;
  const Ids more = ChatPrompt(*model_, "And now shorter.");
  auto two_turns = [&](const GenerateOptions& o) {
    Session s(model_);
    std::vector<GenerationResult> turns;
    turns.push_back(s.Generate(prompt_, o));
    EXPECT_EQ(s.cached_tokens(), ExpectedCache(turns[0]));
    Ids next = prompt_;
    next.insert(next.end(), turns[0].output_ids.begin(), turns[0].output_ids.end());
    next.insert(next.end(), more.begin() + 1, more.end());
    turns.push_back(s.Generate(next, o));
    EXPECT_EQ(s.cached_tokens(), ExpectedCache(turns[1]));
    return turns;
  };
  const auto plain = two_turns(plain_o);
  const auto spec = two_turns(spec_o);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(spec[i].output_ids, plain[i].output_ids) << "turn " << i;
    EXPECT_EQ(spec[i].reused_tokens, plain[i].reused_tokens) << "turn " << i;
    EXPECT_EQ(spec[i].timings.prefilled_tokens, plain[i].timings.prefilled_tokens) << "turn " << i;
  }
  EXPECT_EQ(spec[1].reused_tokens, spec[1].prompt_ids.size() - more.size())
      << "everything but the last answer token and the new message comes from the cache";
}

TEST_P(Speculative, CancelInsideAnAcceptedRunTrimsTheCache) {
  const Outcome plain = Generate(model_, prompt_, Greedy(20));
  GenerateOptions o = Greedy(20);
  Draft(o, plain.result.output_ids, ScriptedDraft::Mode::kOracle, 6);
  int seen = 0;
  o.on_token = [&](std::string_view, int32_t) { return ++seen < 4; };  // stops inside the first run
  Session s(model_);
  const GenerationResult r = s.Generate(prompt_, o);
  EXPECT_EQ(r.stop_reason, StopReason::kCancelled);
  ASSERT_EQ(r.output_ids.size(), 4u);
  EXPECT_EQ(r.output_ids, Ids(plain.result.output_ids.begin(), plain.result.output_ids.begin() + 4));
  EXPECT_EQ(s.cached_tokens(), ExpectedCache(r));

  // Stepping the Generator by hand and dropping it mid-run leaves no unreturned draft cached.
  Session s2(model_);
  {
    Generator g(s2, prompt_, o);
    for (int i = 0; i < 3; ++i) g.GenerateNextToken();
    EXPECT_GT(s2.cached_tokens().size(), prompt_.size() + 2) << "the cache runs ahead while drafts are queued";
  }
  Ids expected = prompt_;
  expected.insert(expected.end(), plain.result.output_ids.begin(), plain.result.output_ids.begin() + 2);
  EXPECT_EQ(s2.cached_tokens(), expected);
}

TEST_P(Speculative, ContextLimitNearTheEndNeverThrows) {
  RuntimeOptions rt;
  rt.max_context = 24;
  auto model = LoadModel(GetParam(), rt);
  Ids prompt(10, 300);
  prompt[0] = 2;
  for (size_t i = 1; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(300 + i % 3);  // repetitive
  const Outcome plain = Generate(model, prompt, Greedy(100));
  ASSERT_EQ(plain.result.stop_reason, StopReason::kLength);
  EXPECT_EQ(prompt.size() + plain.result.output_ids.size(), 25u);
  for (auto mode : {ScriptedDraft::Mode::kOracle, ScriptedDraft::Mode::kMixed}) {
    GenerateOptions o = Greedy(100);
    o.draft = std::make_shared<ScriptedDraft>(prompt.size(), plain.result.output_ids, Vocab(*model), mode);
    o.draft_max = 8;
    ExpectSameAnswer(Generate(model, prompt, o), plain);
  }
  GenerateOptions o = Greedy(0);  // until the context is full
  o.draft = std::make_shared<PromptLookupDraft>();
  o.draft_max = 16;
  const Outcome lookup = Generate(model, prompt, o);
  ExpectSameAnswer(lookup, Generate(model, prompt, Greedy(0)));
}

// --- The command line --------------------------------------------------------------------------

std::string RunCli(const std::string& args) {
  const std::string cmd = std::string(GEMMA4_CLI) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return "";
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << cmd;
  return out;
}

TEST(SpeculativeCli, RunDraftMaxGivesTheGreedyAnswerAndReportsCounts) {
  const std::string common = "run -m " + TestModel("text-q4").string() +
                             " --prompt-ids 2,300,301,302,300,301,302,300,301 -n 24 --temp 0 --ignore-eos --json";
  const auto plain = nlohmann::json::parse(RunCli(common));
  const auto spec = nlohmann::json::parse(RunCli(common + " --draft-max 4 --draft-ngram 2"));
  EXPECT_EQ(spec["output_ids"], plain["output_ids"]);
  EXPECT_EQ(spec["text"], plain["text"]);
  EXPECT_EQ(plain["draft_tokens"], 0);
  EXPECT_GT(spec["draft_tokens"].get<size_t>(), 0u) << "the prompt repeats: lookup must find drafts";
  EXPECT_LE(spec["accepted_tokens"].get<size_t>(), spec["draft_tokens"].get<size_t>());
  EXPECT_EQ(spec["timings"]["decode_calls"].get<size_t>() + spec["accepted_tokens"].get<size_t>(),
            plain["timings"]["decode_calls"].get<size_t>());
}

TEST(SpeculativeCli, BenchVerifyReportsTheCostRatioAndSpeedups) {
  const auto j = nlohmann::json::parse(
      RunCli("bench -m " + TestModel("text-q4").string() + " -p 16 -r 2 --warmup 0 --verify 1,3 --json -q"));
  ASSERT_EQ(j["verify"].size(), 2u);
  EXPECT_EQ(j["prompt_tokens"], 16);
  for (const auto& c : j["verify"]) {
    const size_t k = c["draft_tokens"].get<size_t>();
    const double single = c["single_ms"]["median"].get<double>(), batch = c["batch_ms"]["median"].get<double>();
    EXPECT_EQ(c["single_ms"]["samples"].size(), 2u);
    EXPECT_EQ(c["batch_ms"]["samples"].size(), 2u);
    ASSERT_GT(single, 0);
    ASSERT_GT(batch, 0);
    EXPECT_DOUBLE_EQ(c["cost_ratio"].get<double>(), batch / single);
    ASSERT_EQ(c["speedup"].size(), k + 1);
    for (size_t a = 0; a <= k; ++a) {
      EXPECT_EQ(c["speedup"][a]["accepted"], a);
      EXPECT_DOUBLE_EQ(c["speedup"][a]["speedup"].get<double>(), double(a + 1) * single / batch);
    }
  }
  EXPECT_EQ(j["verify"][0]["draft_tokens"], 1);
  EXPECT_EQ(j["verify"][1]["draft_tokens"], 3);
}

INSTANTIATE_TEST_SUITE_P(Packages, Speculative, ::testing::Values("text-q4", "no-logits-to-keep", "text-q4f16", "gqa"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace gemma4
