// How a set of characters is written inside a string of each value syntax: JSON needs `"`, `\`
// and control characters escaped; Gemma's <|"|>-quoted strings are raw but cannot hold '<' here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "grammar/json_schema.h"
#include "grammar/utf8_ranges.h"

namespace gemma4::grammar {

// A GBNF expression matching one character of `ranges` (normalized) as string content, or nullopt
// when none of them can be written there.
std::optional<std::string> ContentClass(const std::vector<CodeRange>& ranges, Dialect dialect);
// Code points of a UTF-8 string (valid UTF-8 assumed, as nlohmann's parser guarantees).
std::vector<uint32_t> CodePoints(const std::string& text);
// `a` without the code points of `b` (both normalized).
std::vector<CodeRange> SubtractRanges(const std::vector<CodeRange>& a, const std::vector<CodeRange>& b);

}  // namespace gemma4::grammar
