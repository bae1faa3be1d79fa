// Small helpers that write GBNF text: literals and character classes, escaped for our parser.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/utf8_ranges.h"

namespace gemma4::grammar {

// "..." matching exactly `bytes` (valid UTF-8).
std::string GbnfLiteral(std::string_view bytes);
// [...] matching the code points of normalized `ranges` (non-empty).
std::string GbnfClass(const std::vector<CodeRange>& ranges);

}  // namespace gemma4::grammar
