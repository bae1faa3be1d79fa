// Draft sources for speculative decoding: cheap guesses of the next few tokens that the Generator
// verifies in one decoder call (see GenerateOptions::draft in generator.h). A draft only changes
// how many decoder calls greedy decoding takes, never which tokens come out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gemma4 {

// Proposes tokens likely to follow a context. Called on the generating thread before each
// verifying decoder call; a source shared by generators running on several threads must be
// thread-safe (PromptLookupDraft is: it keeps no state between calls).
class DraftSource {
 public:
  virtual ~DraftSource() = default;
  // Up to `max_tokens` tokens guessed to follow `context` (prompt + tokens generated so far, the
  // last one included). Fewer, or none, when there is no good guess; extra tokens are ignored.
  virtual std::vector<int32_t> Propose(std::span<const int32_t> context, size_t max_tokens) = 0;
};

// Prompt lookup ("lookup decoding" in llama.cpp, prompt_lookup_num_tokens in transformers): the
// last n tokens of the context are searched for earlier in the context, for n from ngram_max down
// to ngram_min; the most recent earlier occurrence of the longest n-gram that has one wins, and the
// tokens that followed it are proposed. Pays off when the answer repeats the prompt (code edits,
// quotes, extraction, summaries) and costs a scan of the context per step otherwise.
class PromptLookupDraft final : public DraftSource {
 public:
  // Throws Error(kInvalidArgument) unless 1 <= ngram_min <= ngram_max.
  explicit PromptLookupDraft(size_t ngram_max = 3, size_t ngram_min = 1);

  std::vector<int32_t> Propose(std::span<const int32_t> context, size_t max_tokens) override;

  size_t ngram_max() const { return ngram_max_; }
  size_t ngram_min() const { return ngram_min_; }

 private:
  size_t ngram_max_;
  size_t ngram_min_;
};

}  // namespace gemma4
