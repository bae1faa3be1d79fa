// Oniguruma wrapper.
#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <algorithm>
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
struct MatchParamDeleter {
  void operator()(OnigMatchParam* p) const { onig_free_match_param(p); }
};

// Backtrack stack entries one match may push (Oniguruma's default is unbounded).
constexpr unsigned int kMatchStackLimit = 1u << 22;

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
  where_ = where;
}

Regex::~Regex() { onig_free(static_cast<OnigRegex>(regex_)); }

void Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  auto re = static_cast<OnigRegex>(regex_);
  thread_local std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  thread_local std::unique_ptr<OnigMatchParam, MatchParamDeleter> param(onig_new_match_param());
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  size_t last_end = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  // Mirrors onig::FindMatches: an empty match right where the previous match ended is skipped by
  // advancing one character.
  while (last_end <= text.size()) {
    onig_region_clear(region.get());
    onig_initialize_match_param(param.get());
    onig_set_retry_limit_in_match_of_match_param(param.get(), kRetriesInMatch);
    const unsigned long scan = static_cast<unsigned long>(text.size() - last_end) + 1;
    onig_set_retry_limit_in_search_of_match_param(param.get(), std::max(kRetriesInMatch, scan * kRetriesPerByte));
    onig_set_match_stack_limit_size_of_match_param(param.get(), kMatchStackLimit);
    int r = onig_search_with_param(re, begin, end, begin + last_end, end, region.get(), ONIG_OPTION_NONE, param.get());
    if (r == ONIG_MISMATCH) break;
    if (r < 0) {
      OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(msg, r);
      const bool limit = r == ONIGERR_RETRY_LIMIT_IN_MATCH_OVER || r == ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER ||
                         r == ONIGERR_MATCH_STACK_LIMIT_OVER;
      throw Error(limit ? ErrorKind::kLimit : ErrorKind::kRuntime,
                  where_ + ": regex search from byte " + std::to_string(last_end) + " of a " + std::to_string(text.size()) +
                      "-byte text failed: " + reinterpret_cast<const char*>(msg) +
                      (limit ? " (the pattern backtracks too much; a tokenizer.json pattern is limited)" : ""));
    }
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
