// Escaping for generated GBNF: only what our parser needs escaped, the rest verbatim UTF-8.
#include "grammar/gbnf_text.h"

#include <cstdio>

namespace gemma4::grammar {
namespace {

std::string CodePoint(uint32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return std::string(1, static_cast<char>(c));
  char buf[16];
  if (c < 0x80) std::snprintf(buf, sizeof buf, "\\x%02X", c);
  else std::snprintf(buf, sizeof buf, "\\U%08X", c);
  return buf;
}

}  // namespace

std::string GbnfLiteral(std::string_view bytes) {
  std::string out = "\"";
  for (char ch : bytes) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string GbnfClass(const std::vector<CodeRange>& ranges) {
  std::string out = "[";
  for (const auto& [lo, hi] : ranges) {
    out += CodePoint(lo);
    if (hi != lo) out += "-" + CodePoint(hi);
  }
  return out + "]";
}

}  // namespace gemma4::grammar
