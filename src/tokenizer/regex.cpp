// Oniguruma wrapper.
#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <cstring>
#include <mutex>

#include "gemma4/error.h"

namespace gemma4::tok {
namespace {

void InitOnig() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

struct RegionDeleter {
  void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
};

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& where) {
  InitOnig();
  OnigRegex re = nullptr;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  int rc = onig_new(&re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, rc, &info);
    throw Error(ErrorKind::kCorrupt, where + ": invalid regex \"" + std::string(pattern) + "\": " +
                                         reinterpret_cast<const char*>(msg));
  }
  regex_ = re;
}

Regex::~Regex() { onig_free(static_cast<OnigRegex>(regex_)); }

void Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  auto re = static_cast<OnigRegex>(regex_);
  thread_local std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  size_t last_end = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  // Mirrors onig::FindMatches: an empty match right where the previous match ended is skipped by
  // advancing one character.
  while (last_end <= text.size()) {
    onig_region_clear(region.get());
    int r = onig_search(re, begin, end, begin + last_end, end, region.get(), ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH (or an error: treat as no further match)
    size_t s = static_cast<size_t>(region->beg[0]);
    size_t e = static_cast<size_t>(region->end[0]);
    if (s == e && have_last && last_match_end == e) {
      if (last_end >= text.size()) break;
      unsigned char c = static_cast<unsigned char>(text[last_end]);
      last_end += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      continue;
    }
    last_end = e;
    have_last = true;
    last_match_end = e;
    out.emplace_back(s, e);
  }
}

void FindAllLiteral(std::string_view text, std::string_view needle, std::vector<std::pair<size_t, size_t>>& out) {
  if (needle.empty()) return;
  size_t pos = 0;
  while (pos + needle.size() <= text.size()) {
    size_t at = text.find(needle, pos);
    if (at == std::string_view::npos) break;
    out.emplace_back(at, at + needle.size());
    pos = at + needle.size();
  }
}

}  // namespace gemma4::tok
