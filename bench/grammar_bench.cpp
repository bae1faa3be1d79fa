// The per-token cost of constrained decoding on a real-size vocabulary: for a few grammars, one
// request's worth of steps (mask + accept of a token drawn at random among the allowed ones),
// starting from a fresh matcher each iteration, so the matcher's cold caches are in the figure.
// Also the one-time cost of the per-tokenizer tables. Figures go in docs/BENCHMARKS.md.
//
//   GEMMA4_BENCH_TOKENIZER=/work/fullsize/q4 build/bench/bench_grammar
#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"
#include "grammar/matcher.h"

namespace {

using nlohmann::json;
constexpr size_t kSteps = 64;

const gemma4::Tokenizer& BenchTokenizer() {
  static const gemma4::Tokenizer tokenizer = [] {
    const char* dir = std::getenv("GEMMA4_BENCH_TOKENIZER");
    return gemma4::Tokenizer::FromDirectory(dir ? dir : "/work/fullsize/q4");
  }();
  return tokenizer;
}

std::vector<int32_t> EosIds() { return {1, 106, 50}; }

std::shared_ptr<const gemma4::GrammarVocabulary> Vocab() {
  static const auto vocab = [] {
    const auto eos = EosIds();
    return gemma4::GrammarVocabulary::Build(BenchTokenizer(), eos);
  }();
  return vocab;
}

std::shared_ptr<const gemma4::Grammar> GrammarFor(int which) {
  switch (which) {
    case 0: return gemma4::Grammar::JsonObject();
    case 1:
      return gemma4::Grammar::FromJsonSchema(json::parse(R"({"type":"object","properties":{
          "name":{"type":"string","maxLength":40},"age":{"type":"integer","minimum":0,"maximum":150},
          "email":{"type":"string","pattern":"^[a-z]+@[a-z]+\\.com$"},"tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":4},
          "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},
          "required":["city","zip"],"additionalProperties":false}},"required":["name","age","address"],"additionalProperties":false})"));
    case 2:
      return gemma4::Grammar::GemmaToolCall(json::parse(R"([{"type":"function","function":{"name":"get_weather","parameters":{
          "type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":14}},"required":["city"]}}}])"));
    default: return gemma4::Grammar::FromGbnf("root ::= \"\\\"\" [^\"]* \"\\\"\"", "string");  // nearly every token allowed
  }
}

// kSteps masks, each followed by a random allowed token other than EOS; a matcher that completes
// (nothing but EOS can follow) is replaced by a fresh one, as the next request would start.
void BM_MaskStep(benchmark::State& state) {
  const auto grammar = GrammarFor(static_cast<int>(state.range(0)));
  const auto vocab = Vocab();
  const auto eos = EosIds();
  size_t steps = 0;
  try {
    for (auto _ : state) {
      auto matcher = std::make_unique<gemma4::grammar::Matcher>(grammar, vocab);
      std::mt19937 rng(42);
      std::vector<uint64_t> bits;
      std::vector<int32_t> allowed;
      for (size_t step = 0; step < kSteps; ++step) {
        matcher->FillMask(bits);
        allowed.clear();
        for (size_t w = 0; w < bits.size(); ++w) {
          for (uint64_t word = bits[w]; word; word &= word - 1) {
            const int32_t id = static_cast<int32_t>(w * 64 + __builtin_ctzll(word));
            if (std::find(eos.begin(), eos.end(), id) == eos.end()) allowed.push_back(id);
          }
        }
        ++steps;
        if (allowed.empty()) {
          matcher = std::make_unique<gemma4::grammar::Matcher>(grammar, vocab);
          continue;
        }
        matcher->Accept(allowed[rng() % allowed.size()]);
      }
      benchmark::DoNotOptimize(bits.data());
    }
  } catch (const gemma4::Error& e) {
    state.SkipWithError(e.what());  // e.g. a tokenizer without Gemma 4's tool-call tokens
    return;
  }
  // Seconds per step (a rate over steps, inverted): printed with a unit, e.g. "1.2ms".
  state.counters["per_step"] = benchmark::Counter(static_cast<double>(steps),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MaskStep)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->ArgNames({"grammar"})->Unit(benchmark::kMillisecond);

// Writing -inf into a full row for the disallowed tokens (ApplyMask's part after FillMask).
void BM_ApplyMaskToRow(benchmark::State& state) {
  const auto vocab = Vocab();
  gemma4::grammar::Matcher matcher(GrammarFor(1), vocab);
  std::vector<float> logits(vocab->vocab_size(), 0.5f);
  for (auto _ : state) {
    matcher.ApplyMask(logits);
    benchmark::DoNotOptimize(logits.data());
  }
}
BENCHMARK(BM_ApplyMaskToRow)->Unit(benchmark::kMillisecond);

void BM_BuildVocabulary(benchmark::State& state) {
  const auto eos = EosIds();
  for (auto _ : state) benchmark::DoNotOptimize(gemma4::GrammarVocabulary::Build(BenchTokenizer(), eos));
  state.counters["trie_nodes"] = static_cast<double>(Vocab()->trie_nodes());
  state.counters["vocab"] = static_cast<double>(Vocab()->vocab_size());
}
BENCHMARK(BM_BuildVocabulary)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
