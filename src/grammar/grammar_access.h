// The grammar module's way into the public Grammar and GrammarVocabulary: their compiled rules and
// token trie stay out of include/ (the public classes only declare their Impl), and the matcher,
// which walks both, reads them through here.
#pragma once

#include "gemma4/grammar.h"
#include "grammar/compiled_grammar.h"
#include "grammar/vocabulary.h"

namespace gemma4 {

struct GrammarAccess {
  static const Grammar::Impl& Of(const Grammar& grammar) { return *grammar.impl_; }
  static const GrammarVocabulary::Impl& Of(const GrammarVocabulary& vocabulary) { return *vocabulary.impl_; }
};

}  // namespace gemma4
