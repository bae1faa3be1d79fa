// Character sets as string content, per value syntax.
#include "grammar/string_content.h"

#include "grammar/gbnf_text.h"

namespace gemma4::grammar {

std::vector<CodeRange> SubtractRanges(const std::vector<CodeRange>& a, const std::vector<CodeRange>& b) {
  std::vector<CodeRange> both = ComplementRanges(a);
  both.insert(both.end(), b.begin(), b.end());
  return ComplementRanges(NormalizeRanges(std::move(both)));
}

std::vector<uint32_t> CodePoints(const std::string& text) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n && i + k < text.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::optional<std::string> ContentClass(const std::vector<CodeRange>& ranges, Dialect dialect) {
  auto has = [&](uint32_t c) {
    for (const auto& [lo, hi] : ranges) if (c >= lo && c <= hi) return true;
    return false;
  };
  std::vector<std::string> alts;
  if (dialect == Dialect::kGemma) {
    auto plain = SubtractRanges(ranges, {{'<', '<'}});
    if (plain.empty()) return std::nullopt;
    return GbnfClass(plain);
  }
  auto plain = SubtractRanges(ranges, {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}});
  if (!plain.empty()) alts.push_back(GbnfClass(plain));
  const std::pair<uint32_t, const char*> escapes[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\r', "\\r"},
                                                      {'\t', "\\t"}, {'\b', "\\b"}, {'\f', "\\f"}};
  for (const auto& [c, text] : escapes) if (has(c)) alts.push_back(GbnfLiteral(text));
  if (alts.empty()) return std::nullopt;
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

}  // namespace gemma4::grammar
