// Prompt lookup drafts: the continuation of the most recent earlier occurrence of the context's tail.
#include "gemma4/speculative.h"

#include <algorithm>
#include <string>

#include "gemma4/error.h"

namespace gemma4 {

PromptLookupDraft::PromptLookupDraft(size_t ngram_max, size_t ngram_min) : ngram_max_(ngram_max), ngram_min_(ngram_min) {
  if (ngram_min_ < 1 || ngram_max_ < ngram_min_) {
    throw Error(ErrorKind::kInvalidArgument, "prompt lookup: need 1 <= ngram_min <= ngram_max, got ngram_min " +
                                                 std::to_string(ngram_min_) + " and ngram_max " +
                                                 std::to_string(ngram_max_));
  }
}

std::vector<int32_t> PromptLookupDraft::Propose(std::span<const int32_t> context, size_t max_tokens) {
  const size_t size = context.size();
  if (max_tokens == 0) return {};
  for (size_t n = std::min(ngram_max_, size > 0 ? size - 1 : 0); n >= ngram_min_ && n > 0; --n) {
    const std::span<const int32_t> tail = context.subspan(size - n);
    // Candidate starts from the most recent back; a match must be followed by at least one token
    // and must not be the tail itself (start + n <= size - 1).
    for (size_t start = size - n; start-- > 0;) {
      if (!std::equal(tail.begin(), tail.end(), context.begin() + static_cast<std::ptrdiff_t>(start))) continue;
      const size_t from = start + n;
      const size_t to = std::min(size, from + max_tokens);
      return {context.begin() + static_cast<std::ptrdiff_t>(from), context.begin() + static_cast<std::ptrdiff_t>(to)};
    }
  }
  return {};
}

}  // namespace gemma4
