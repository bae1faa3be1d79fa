// Oniguruma regexes with the semantics HF tokenizers gets from the `onig` crate: Ruby syntax,
// UTF-8, Unicode classes (\p{L}, \s), lookaround, and its rule for iterating empty matches.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma4::tok {

class Regex {
 public:
  // Throws Error(kCorrupt) naming `where` and Oniguruma's message when the pattern is invalid.
  Regex(std::string_view pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches as byte ranges [start, end). Thread-safe. A pattern from
  // tokenizer.json is untrusted: each search runs under a backtracking budget, and running out
  // of it (or any other Oniguruma error) throws Error(kLimit / kRuntime) naming the pattern's
  // place in the file and the byte offset, instead of hanging or stopping early.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  // Backtracking budget of one match attempt; a search may spend kRetriesPerByte per byte of
  // text it scans (but at least kRetriesInMatch). Ordinary tokenizer patterns need a few retries
  // per byte; a catastrophic one (nested quantifiers) needs millions.
  static constexpr unsigned long kRetriesInMatch = 1'000'000;
  static constexpr unsigned long kRetriesPerByte = 1'000;

 private:
  void* regex_;  // OnigRegex
  std::string where_;
};

// Leftmost non-overlapping occurrences of a literal (HF escapes String patterns into a regex).
void FindAllLiteral(std::string_view text, std::string_view needle, std::vector<std::pair<size_t, size_t>>& out);

}  // namespace gemma4::tok
