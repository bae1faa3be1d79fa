// Matching generated tokens against a grammar, and the per-step mask of allowed tokens.
//
// A parse is a stack of element positions (what is left to match, innermost last); the matcher's
// state is the set of parses still alive. States are interned and their byte transitions cached
// (a lazily built DFA over the pushdown states), so the mask is one pre-order pass over the
// vocabulary's byte trie: each node costs one table lookup, and a dead node skips its subtree.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "gemma4/grammar.h"
#include "grammar/compiled_grammar.h"

namespace gemma4::grammar {

class Matcher {
 public:
  static constexpr size_t kMaxStackDepth = 1024;  // deeper parses are dropped
  static constexpr size_t kMaxStacks = 1024;      // more parallel parses: Error(kLimit)
  static constexpr size_t kMaxStates = 16384;     // cached DFA states before the cache is reset
  static constexpr size_t kCachedMasks = 16;      // masks kept for states that recur (inside a string)

  // Resolves the grammar's token references against the vocabulary (Error(kInvalidArgument)
  // naming the reference's line:column when a token does not exist or is not special).
  Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarVocabulary> vocabulary);

  // One bit per token id (vocab_size bits, in 64-bit words): what may come next. Special tokens
  // only where the grammar names them; EOS ids once the grammar is complete, and alone when
  // nothing can follow.
  void FillMask(std::vector<uint64_t>& allowed);
  // FillMask, then every disallowed logit set to -inf. `logits` may be longer than the
  // vocabulary (padded graphs): the extra ids are disallowed.
  void ApplyMask(std::span<float> logits);
  // Advances over a generated token; Error(kInvalidArgument) when the grammar does not allow it.
  void Accept(int32_t token);
  // Could the whole grammar end here (EOS allowed)?
  bool IsComplete() const;
  // Can anything but EOS follow?
  bool CanContinue() const;
  size_t cached_states() const { return states_.size(); }

 private:
  using Stack = std::vector<uint32_t>;
  struct State {
    std::vector<Stack> stacks;    // sorted, unique
    bool accepting = false;       // an empty stack: the grammar may end here
    bool continues = false;       // a non-empty stack
    std::vector<int32_t> tokens;  // ids of the token elements on top of a stack
  };
  static constexpr int32_t kUnknown = -2, kDead = -1;

  void Expand(Stack stack, std::vector<Stack>& out) const;
  int32_t Intern(std::vector<Stack> stacks);
  int32_t Step(int32_t state, uint8_t byte);
  std::vector<Stack> StepToken(const State& state, int32_t token) const;
  void ResetCache();
  void ComputeMask(std::vector<uint64_t>& allowed);  // the trie walk

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const GrammarVocabulary> vocabulary_;
  const CompiledGrammar& g_;
  std::vector<int32_t> token_ids_;  // per grammar token reference
  std::vector<State> states_;
  std::unordered_map<std::string, int32_t> ids_;  // serialized stacks -> state
  std::vector<int32_t> transitions_;              // states_ x 256
  std::vector<int32_t> depth_state_;              // scratch of the trie walk
  // Recent masks by state (most recent last): a state recurs while a string or a repetition goes
  // on, and the same state always has the same mask.
  std::vector<std::pair<int32_t, std::vector<uint64_t>>> masks_;
  int32_t current_ = 0;
};

}  // namespace gemma4::grammar
