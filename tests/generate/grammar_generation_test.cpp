// GenerateOptions::grammar through the real token loop on the random-weight test package: the
// answer follows the grammar (greedy and sampled), ends on EOS once complete, turns drafts off,
// reports logprobs of the masked distribution, and a bad token reference fails before prefill.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include <nlohmann/json.hpp>

#include "gemma4/generator.h"
#include "gemma4/grammar.h"
#include "gemma4/speculative.h"
#include "gemma4/tokenizer.h"
#include "test_util.h"

namespace gemma4 {
namespace {

std::shared_ptr<const Model> TextModel() {
  static std::shared_ptr<const Model> model = [] {
    LoadOptions options;
    options.runtime.threads = 1;
    return Model::Load(testing::TestModel("text-q4").string(), options);
  }();
  return model;
}

std::vector<int32_t> Prompt(const Model& model) {
  ChatRequest request;
  request.messages.push_back({{"role", "user"}, {"content", "Answer in JSON."}});
  return model.TokenizeChat(request);
}

TEST(GrammarGeneration, AnswersFollowTheGrammarGreedyAndSampled) {
  auto model = TextModel();
  auto grammar = Grammar::FromGbnf(R"(root ::= ("yes" | "no") ", " [0-9]{1,3} " " [a-z]{2,6})", "answer.gbnf");
  const std::regex shape("^(yes|no), [0-9]{1,3} [a-z]{2,6}$");
  for (int run = 0; run < 4; ++run) {
    GenerateOptions options;
    options.max_new_tokens = 64;
    options.grammar = grammar;
    options.sampling.do_sample = run > 0;
    options.sampling.temperature = 1.0f + 0.3f * run;
    options.sampling.seed = static_cast<uint64_t>(run);
    options.sampling.repetition_penalty = run == 3 ? 1.3f : 1.0f;
    Session session(model);
    GenerationResult r = session.Generate(Prompt(*model), options);
    EXPECT_EQ(r.stop_reason, StopReason::kEos) << r.text;
    EXPECT_TRUE(std::regex_match(r.text, shape)) << r.text;
    ASSERT_FALSE(r.output_ids.empty());
    EXPECT_TRUE(model->IsEos(r.output_ids.back()));
  }
}

TEST(GrammarGeneration, JsonSchemaAnswersParse) {
  auto model = TextModel();
  auto grammar = Grammar::FromJsonSchema(nlohmann::json::parse(
      R"({"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":9},"b":{"type":"array","items":{"type":"boolean"},"maxItems":3}},"required":["a","b"]})"));
  GenerateOptions options;
  options.max_new_tokens = 200;
  options.grammar = grammar;
  options.sampling.do_sample = false;
  Session session(model);
  GenerationResult r = session.Generate(Prompt(*model), options);
  ASSERT_EQ(r.stop_reason, StopReason::kEos) << r.text;
  const nlohmann::json v = nlohmann::json::parse(r.text);
  EXPECT_TRUE(v["a"].is_number_integer());
  EXPECT_LE(v["b"].size(), 3u);
}

TEST(GrammarGeneration, DraftsAreOffAndLogprobsAreMasked) {
  auto model = TextModel();
  auto grammar = Grammar::FromGbnf(R"(root ::= "ab" [0-9]{2,4})", "g");
  GenerateOptions options;
  options.max_new_tokens = 32;
  options.grammar = grammar;
  options.sampling.do_sample = false;
  options.draft = std::make_shared<PromptLookupDraft>(3, 1);
  options.draft_max = 4;
  Session session(model);
  GenerationResult r = session.Generate(Prompt(*model), options);
  EXPECT_EQ(r.draft_tokens, 0u);
  EXPECT_TRUE(std::regex_match(r.text, std::regex("^ab[0-9]{2,4}$"))) << r.text;

  options.draft = nullptr;
  options.top_logprobs = 5;
  Session again(model);
  GenerationResult lp = again.Generate(Prompt(*model), options);
  EXPECT_EQ(lp.text, r.text);  // same greedy answer with logprobs on
  ASSERT_FALSE(lp.logprobs.empty());
  // The first token must start "ab": anything else has probability 0.
  for (const auto& [id, logprob] : lp.logprobs[0].top) {
    const std::string piece = model->tokenizer().Decode(std::span<const int32_t>(&id, 1));
    if (std::isfinite(logprob)) EXPECT_TRUE(piece == "a" || piece == "ab" || piece.rfind("ab", 0) == 0) << piece;
  }
  for (const TokenLogprob& t : lp.logprobs) EXPECT_TRUE(std::isfinite(t.logprob));
}

TEST(GrammarGeneration, UnknownSpecialTokenFailsBeforeGenerating) {
  auto model = TextModel();
  GenerateOptions options;
  options.grammar = Grammar::FromGbnf("root ::= <|no_such_token|>", "g.gbnf");
  Session session(model);
  try {
    session.Generate(Prompt(*model), options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "g.gbnf:1:10: no special token <|no_such_token|> in this tokenizer");
  }
}

}  // namespace
}  // namespace gemma4
