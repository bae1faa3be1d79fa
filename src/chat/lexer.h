// Jinja lexer with the settings transformers uses (trim_blocks, lstrip_blocks, no trailing
// newline kept): turns template source into data runs and the tokens inside {{ }} and {% %}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::chat {

enum class Tok : uint8_t { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type;
  uint32_t offset;   // byte offset in the normalized source
  std::string text;  // data text, name, operator, or the decoded value of a string literal
  int64_t ival = 0;
  double fval = 0;
};

// Newlines normalized to "\n" and one trailing newline dropped, as jinja2 does before lexing.
std::string NormalizeSource(std::string_view source);

// Tokenizes normalized source. Throws TemplateError (chat/runtime.h) with the offset at fault.
std::vector<Token> Tokenize(std::string_view source);

}  // namespace gemma4::chat
