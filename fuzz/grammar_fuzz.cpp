// Grammars and JSON Schemas from outside: GBNF text (first byte even) or a JSON Schema (odd) is
// compiled, then a matcher over the real 262k tokenizer takes a few masks and the lowest allowed
// token each step. Only gemma4::Error may escape; limits must hold (no hang, no deep recursion).
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/grammar.h"
#include "grammar/matcher.h"
#include "real_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto vocab = [] {
    const int32_t eos[] = {1};
    return gemma4::GrammarVocabulary::Build(gemma4::fuzz::RealTokenizer(), eos);
  }();
  const std::string_view text = gemma4::fuzz::AsText(data + 1, size - 1);
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    std::shared_ptr<const gemma4::Grammar> grammar;
    if (data[0] % 2 == 0) {
      grammar = gemma4::Grammar::FromGbnf(text, "fuzz.gbnf");
    } else {
      nlohmann::json schema = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (schema.is_discarded()) return;
      gemma4::Grammar::JsonSchemaOptions options;
      options.strict = (data[0] & 2) != 0;
      grammar = gemma4::Grammar::FromJsonSchema(schema, options);
    }
    gemma4::grammar::Matcher matcher(grammar, vocab);
    std::vector<uint64_t> bits;
    for (int step = 0; step < 8; ++step) {
      matcher.FillMask(bits);
      int32_t pick = -1;
      for (size_t w = 0; w < bits.size() && pick < 0; ++w) {
        if (bits[w]) pick = static_cast<int32_t>(w * 64 + __builtin_ctzll(bits[w]));
      }
      if (pick < 0 || pick == 1) break;
      matcher.Accept(pick);
    }
  });
  return 0;
}
