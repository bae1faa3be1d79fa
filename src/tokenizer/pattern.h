// The "pattern" of Split, Replace (normalizer and decoder): {"String": s} or {"Regex": r}.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/json.h"
#include "tokenizer/regex.h"

namespace gemma4::tok {

class Pattern {
 public:
  static Pattern FromJson(const JsonView& json);
  static Pattern Literal(std::string s);
  static Pattern FromRegex(std::string_view re, const std::string& where);

  // Non-overlapping matches, leftmost first.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  std::string ReplaceAll(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;  // null for a literal
};

}  // namespace gemma4::tok
