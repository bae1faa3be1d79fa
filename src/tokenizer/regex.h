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

  // Non-overlapping matches as byte ranges [start, end). Thread-safe.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  void* regex_;  // OnigRegex
};

// Leftmost non-overlapping occurrences of a literal (HF escapes String patterns into a regex).
void FindAllLiteral(std::string_view text, std::string_view needle, std::vector<std::pair<size_t, size_t>>& out);

}  // namespace gemma4::tok
