// The constrained-decoding logits processor: masks a row of logits to what the grammar allows
// next, and follows the grammar as tokens are chosen.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "gemma4/grammar.h"
#include "grammar/matcher.h"

namespace gemma4 {

class GrammarConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocabulary> vocabulary)
      : matcher_(std::move(grammar), std::move(vocabulary)) {}

  // Disallowed tokens (and ids past the tokenizer's vocabulary) get -inf.
  void Mask(std::span<float> logits) { matcher_.ApplyMask(logits); }
  // The chosen token; Error(kInvalidArgument) when the grammar does not allow it.
  void Accept(int32_t token) { matcher_.Accept(token); }
  bool IsComplete() const { return matcher_.IsComplete(); }

 private:
  grammar::Matcher matcher_;
};

}  // namespace gemma4
