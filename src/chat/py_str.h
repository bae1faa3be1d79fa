// Python's str algorithms that both filters and methods use, on UTF-8 strings by code point:
// split (whitespace or separator, from either end), replace, title, capitalize, padding, and
// int()/float() parsing as Python accepts their text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/runtime.h"

namespace gemma4::chat {

std::vector<std::string> SplitWhitespace(const std::string& s, int64_t maxsplit, bool from_right);
std::vector<std::string> SplitSep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right);
// str.replace; `r` bounds the result's size.
std::string Replace(Renderer& r, const std::string& s, const std::string& old, const std::string& repl, int64_t count);
std::string PyTitle(const std::string& s);       // str.title()
std::string PyCapitalize(const std::string& s);  // str.capitalize()
// str.ljust (where -1), center (0), rjust (1) with a one-code-point fill.
std::string Pad(const std::string& s, int64_t width, const std::string& fill, int where);
// int(s, base) and float(s); false where Python raises ValueError.
bool ParsePyInt(std::string s, int base, int64_t* out);
bool ParsePyFloat(std::string s, double* out);

}  // namespace gemma4::chat
