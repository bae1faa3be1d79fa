// The generation loop on generated packages: determinism, seeds, stop reasons, stop strings,
// cancellation, context limits, and multi-turn cache reuse equal to a replay from scratch.
#include "gemma4/generator.h"

#include <gtest/gtest.h>

#include <thread>

#include "gemma4/tokenizer.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::TestModel;

std::shared_ptr<const Model> LoadModel(const std::string& name, RuntimeOptions runtime = {}) {
  LoadOptions options;
  options.runtime = runtime;
  options.runtime.threads = 1;
  if (name == "text-q4f16") options.dtype = "q4f16";
  return Model::Load(TestModel(name).string(), options);
}

const std::shared_ptr<const Model>& SharedModel() {
  static std::shared_ptr<const Model> model = LoadModel("text-q4");
  return model;
}

GenerateOptions Greedy(size_t n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0;
  return o;
}

std::vector<int32_t> ChatPrompt(const Model& model, const std::string& text) {
  ChatRequest r;
  r.messages.push_back({{"role", "user"}, {"content", text}});
  return model.TokenizeChat(r);
}

TEST(Generate, GreedyIsDeterministicAndStreamsTheSameText) {
  auto model = SharedModel();
  const auto prompt = ChatPrompt(*model, "Bonjour, explique en une phrase ce que tu es.");
  ASSERT_EQ(prompt.front(), 2) << "the template writes <bos>";
  std::string streamed;
  GenerateOptions o = Greedy(24);
  o.on_token = [&](std::string_view text, int32_t) {
    streamed += text;
    return true;
  };
  Session a(model), b(model);
  GenerationResult ra = a.Generate(prompt, o);
  GenerationResult rb = b.Generate(prompt, Greedy(24));
  EXPECT_EQ(ra.output_ids, rb.output_ids);
  EXPECT_EQ(streamed, ra.text);
  EXPECT_EQ(ra.prompt_ids, prompt);
  EXPECT_FALSE(ra.output_ids.empty());
  if (ra.stop_reason == StopReason::kEos) {
    EXPECT_TRUE(model->IsEos(ra.output_ids.back()));
  } else {
    EXPECT_EQ(ra.stop_reason, StopReason::kLength);
    EXPECT_EQ(ra.output_ids.size(), 24u);
  }
  // The text is the decode of the generated ids without special tokens.
  std::vector<int32_t> body = ra.output_ids;
  if (ra.stop_reason == StopReason::kEos) body.pop_back();
  EXPECT_EQ(ra.text, model->tokenizer().Decode(body, true));
  EXPECT_EQ(ra.timings.prompt_tokens, prompt.size());
  EXPECT_EQ(ra.timings.generated_tokens, ra.output_ids.size());
}

TEST(Generator, StepsMatchTheLoopAndNeverRunTheLastToken) {
  auto model = SharedModel();
  const auto prompt = ChatPrompt(*model, "Step by step.");
  GenerateOptions o = Greedy(10);
  o.ignore_eos = true;
  Session loop(model);
  const GenerationResult expected = loop.Generate(prompt, o);

  Session session(model);
  Generator g(session, prompt, o);
  std::vector<int32_t> ids;
  std::string text;
  while (!g.IsDone()) {
    ids.push_back(g.GenerateNextToken());
    text += g.text();
    // Each sampled token is run through the decoder only when the next one is asked for.
    EXPECT_EQ(session.cached_tokens().size(), prompt.size() + ids.size() - 1);
  }
  EXPECT_EQ(ids, expected.output_ids);
  EXPECT_EQ(text, expected.text);
  EXPECT_EQ(g.result().stop_reason, StopReason::kLength);
  EXPECT_GEMMA4_ERROR(g.GenerateNextToken(), ErrorKind::kInvalidArgument, "already done");
}

TEST(Generate, SameSeedSameTokensOtherSeedOtherTokens) {
  auto model = SharedModel();
  const auto prompt = ChatPrompt(*model, "Tell me a story.");
  auto run = [&](uint64_t seed) {
    GenerateOptions o;
    o.max_new_tokens = 32;
    o.ignore_eos = true;
    o.sampling.temperature = 1.5f;
    o.sampling.seed = seed;
    Session s(model);
    return s.Generate(prompt, o).output_ids;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Generate, IgnoreEosRunsToTheBudget) {
  auto model = SharedModel();
  GenerateOptions o = Greedy(40);
  o.ignore_eos = true;
  Session s(model);
  auto r = s.Generate(ChatPrompt(*model, "Hi"), o);
  EXPECT_EQ(r.output_ids.size(), 40u);
  EXPECT_EQ(r.stop_reason, StopReason::kLength);
}

TEST(Generate, StopStringAcrossTokensIsNeverEmitted) {
  auto model = SharedModel();
  const auto prompt = ChatPrompt(*model, "Count with me.");
  GenerateOptions base = Greedy(48);
  base.ignore_eos = true;
  Session s(model);
  const GenerationResult full = s.Generate(prompt, base);
  // Pick a stop string that starts inside one token's text and ends in a later one.
  std::vector<size_t> ends;  // byte offset where each token's text ends
  std::string acc;
  for (int32_t id : full.output_ids) {
    acc = model->tokenizer().Decode(std::span(full.output_ids).first(ends.size() + 1), true);
    ends.push_back(acc.size());
  }
  ASSERT_GT(ends.size(), 10u);
  size_t start = ends[4] - 1, stop_end = std::min(ends[6] + 1, full.text.size());
  while (start > 0 && (static_cast<unsigned char>(full.text[start]) & 0xC0) == 0x80) --start;
  while (stop_end < full.text.size() && (static_cast<unsigned char>(full.text[stop_end]) & 0xC0) == 0x80) ++stop_end;
  const std::string stop = full.text.substr(start, stop_end - start);
  const size_t first = full.text.find(stop);
  ASSERT_NE(first, std::string::npos);

  GenerateOptions o = base;
  o.stop = {stop};
  std::string streamed;
  o.on_token = [&](std::string_view text, int32_t) {
    streamed += text;
    return true;
  };
  Session s2(model);
  const GenerationResult r = s2.Generate(prompt, o);
  EXPECT_EQ(r.stop_reason, StopReason::kStop);
  EXPECT_EQ(r.text, full.text.substr(0, first)) << "stop: '" << stop << "'";
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(r.text.find(stop), std::string::npos);
}

TEST(Generate, CallbackAndFlagCancel) {
  auto model = SharedModel();
  const auto prompt = ChatPrompt(*model, "Go on.");
  GenerateOptions o = Greedy(64);
  o.ignore_eos = true;
  int calls = 0;
  o.on_token = [&](std::string_view, int32_t) { return ++calls < 3; };
  Session s(model);
  auto r = s.Generate(prompt, o);
  EXPECT_EQ(r.stop_reason, StopReason::kCancelled);
  EXPECT_EQ(r.output_ids.size(), 3u);

  // From another thread, mid-generation.
  std::atomic<bool> cancel{false};
  GenerateOptions o2 = Greedy(100000);
  o2.ignore_eos = true;
  o2.cancel = &cancel;
  std::atomic<int> seen{0};
  o2.on_token = [&](std::string_view, int32_t) {
    ++seen;
    return true;
  };
  std::thread canceller([&] {
    while (seen.load() < 5) std::this_thread::yield();
    cancel = true;
  });
  Session s2(model);
  auto r2 = s2.Generate(prompt, o2);
  canceller.join();
  EXPECT_EQ(r2.stop_reason, StopReason::kCancelled);
  EXPECT_GE(r2.output_ids.size(), 5u);
  EXPECT_LT(r2.output_ids.size(), 1000u);
}

TEST(Generate, PromptLongerThanTheContextIsAClearError) {
  RuntimeOptions rt;
  rt.max_context = 16;
  auto model = LoadModel("text-q4", rt);
  std::vector<int32_t> prompt(20, 300);
  prompt[0] = 2;
  Session s(model);
  EXPECT_GEMMA4_ERROR(s.Generate(prompt, Greedy(4)), ErrorKind::kLimit,
                      "the prompt has 20 tokens, which does not fit the context size of 16");
  // Generation that reaches the end of the context stops with "length".
  std::vector<int32_t> shorter(prompt.begin(), prompt.begin() + 10);
  GenerateOptions o = Greedy(100);
  o.ignore_eos = true;
  auto r = s.Generate(shorter, o);
  EXPECT_EQ(r.stop_reason, StopReason::kLength);
  EXPECT_LE(r.prompt_ids.size() + r.output_ids.size(), 17u);
}

TEST(Generate, InvalidSamplingIsRejectedBeforeWork) {
  auto model = SharedModel();
  GenerateOptions o = Greedy(4);
  o.sampling.top_p = 1.5f;
  Session s(model);
  EXPECT_GEMMA4_ERROR(s.Generate(ChatPrompt(*model, "x"), o), ErrorKind::kInvalidArgument, "top_p");
  EXPECT_TRUE(s.cached_tokens().empty());
}

// Multi-turn: reusing the cache of earlier turns gives exactly what a fresh session computes on
// the whole conversation, and only the new tokens are prefilled.
TEST(Conversation, CacheReuseEqualsReplayFromScratch) {
  for (const char* name : {"text-q4", "text-q4f16", "gqa"}) {  // gqa: caches updated in place
    auto model = LoadModel(name);
    Conversation chat(model);
    chat.SetSystem("You are terse.");
    GenerateOptions o = Greedy(12);
    std::vector<GenerationResult> turns;
    for (const char* user : {"Hello there.", "What is 2 + 2?", "And in French?"}) {
      turns.push_back(chat.Reply(user, o));
    }
    EXPECT_EQ(turns[0].reused_tokens, 0u);
    EXPECT_GT(turns[1].reused_tokens, turns[0].prompt_ids.size() / 2) << name;
    EXPECT_GT(turns[2].reused_tokens, turns[1].prompt_ids.size() / 2) << name;
    EXPECT_EQ(turns[2].timings.prefilled_tokens, turns[2].prompt_ids.size() - turns[2].reused_tokens);
    EXPECT_EQ(chat.messages().size(), 7u);

    Session fresh(model);
    auto replay = fresh.Generate(turns[2].prompt_ids, o);
    EXPECT_EQ(replay.output_ids, turns[2].output_ids) << name;
    EXPECT_EQ(replay.reused_tokens, 0u);
  }
}

TEST(Conversation, DivergingPromptRewindsTheCache) {
  auto model = SharedModel();
  Session s(model);
  const auto a = ChatPrompt(*model, "The first question, quite long, about cats and dogs.");
  const auto b = ChatPrompt(*model, "The first question, quite long, about birds instead.");
  s.Generate(a, Greedy(6));
  auto r = s.Generate(b, Greedy(6));
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
  EXPECT_EQ(r.reused_tokens, common);
  Session fresh(model);
  EXPECT_EQ(fresh.Generate(b, Greedy(6)).output_ids, r.output_ids);
}

}  // namespace
}  // namespace gemma4
