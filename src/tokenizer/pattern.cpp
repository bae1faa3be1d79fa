// String/Regex patterns shared by Split, Replace and the Replace decoder.
#include "tokenizer/pattern.h"

#include "gemma4/error.h"

namespace gemma4::tok {

Pattern Pattern::FromJson(const JsonView& json) {
  if (auto s = json.Find("String")) return Literal(std::string(s->AsString()));
  if (auto r = json.Find("Regex")) return FromRegex(r->AsString(), r->doc().source() + ": " + r->path());
  json.Fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

Pattern Pattern::Literal(std::string s) {
  Pattern p;
  p.literal_ = std::move(s);
  return p;
}

Pattern Pattern::FromRegex(std::string_view re, const std::string& where) {
  Pattern p;
  p.regex_ = std::make_shared<Regex>(re, where);
  return p;
}

void Pattern::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  if (regex_) regex_->FindAll(text, out);
  else FindAllLiteral(text, literal_, out);
}

std::string Pattern::ReplaceAll(std::string_view text, std::string_view content) const {
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  matches.clear();
  FindAll(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t prev = 0;
  for (auto [s, e] : matches) {
    out.append(text.data() + prev, s - prev);
    out.append(content);
    prev = e;
  }
  out.append(text.data() + prev, text.size() - prev);
  return out;
}

}  // namespace gemma4::tok
