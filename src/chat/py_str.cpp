// Python str algorithms over UTF-8 (see py_str.h).
#include "chat/py_str.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "chat/interpreter.h"

namespace gemma4::chat {

std::vector<std::string> SplitWhitespace(const std::string& s, int64_t maxsplit, bool from_right) {
  auto cps = ToCodePoints(s);
  std::vector<std::string> parts;
  if (!from_right) {
    size_t n = 0;
    while (n < cps.size()) {
      while (n < cps.size() && IsPyWhitespace(cps[n])) ++n;
      if (n >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > n && IsPyWhitespace(cps[e - 1])) --e;
        parts.push_back(FromCodePoints(cps.data() + n, cps.data() + e));
        break;
      }
      size_t b = n;
      while (n < cps.size() && !IsPyWhitespace(cps[n])) ++n;
      parts.push_back(FromCodePoints(cps.data() + b, cps.data() + n));
    }
    return parts;
  }
  size_t n = cps.size();
  while (n > 0) {
    while (n > 0 && IsPyWhitespace(cps[n - 1])) --n;
    if (n == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t b = 0;
      while (b < n && IsPyWhitespace(cps[b])) ++b;
      parts.push_back(FromCodePoints(cps.data() + b, cps.data() + n));
      break;
    }
    size_t e = n;
    while (n > 0 && !IsPyWhitespace(cps[n - 1])) --n;
    parts.push_back(FromCodePoints(cps.data() + n, cps.data() + e));
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> SplitSep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right) {
  if (sep.empty()) Fail("empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t p = s.find(sep, start);
      if (p == std::string::npos) break;
      parts.push_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    size_t p = s.rfind(sep, end - sep.size());
    if (p == std::string::npos) break;
    parts.push_back(s.substr(p + sep.size(), end - p - sep.size()));
    end = p;
  }
  parts.push_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string Replace(Renderer& r, const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    auto cps = ToCodePoints(s);
    int64_t done = 0;
    for (size_t n = 0; n <= cps.size(); ++n) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (n < cps.size()) EncodeUtf8(out, cps[n]);
      r.CheckSize(out.size());
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(old, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += repl;
    r.CheckSize(out.size());
    start = p + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  r.CheckSize(out.size());
  return out;
}

std::string PyTitle(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    bool cased = IsAlphaChar(c);
    EncodeUtf8(out, cased ? (prev_cased ? LowerChar(c) : UpperChar(c)) : c);
    prev_cased = cased;
  }
  return out;
}

std::string PyCapitalize(const std::string& s) {
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    EncodeUtf8(out, first ? UpperChar(c) : LowerChar(c));
    first = false;
  }
  return out;
}

std::string Pad(const std::string& s, int64_t width, const std::string& fill, int where) {
  int64_t len = static_cast<int64_t>(CodePointCount(s));
  if (width <= len) return s;
  if (width > (1 << 24)) Fail("padding width too large", ErrorKind::kLimit);
  int64_t total = width - len, left = 0;
  if (where == 1) left = total;
  if (where == 0) left = total / 2 + (total & width & 1);
  std::string out;
  for (int64_t n = 0; n < left; ++n) out += fill;
  out += s;
  for (int64_t n = 0; n < total - left; ++n) out += fill;
  return out;
}

bool ParsePyInt(std::string s, int base, int64_t* out) {
  s = PyStrip(s, nullptr, true, true);
  if (s.empty()) return false;
  size_t p = 0;
  bool neg = false;
  if (s[p] == '+' || s[p] == '-') neg = s[p++] == '-';
  if (base == 16 && s.compare(p, 2, "0x") == 0) p += 2;
  std::string digits;
  bool last_underscore = true;
  for (; p < s.size(); ++p) {
    if (s[p] == '_') {
      if (last_underscore) return false;
      last_underscore = true;
      continue;
    }
    digits.push_back(s[p]);
    last_underscore = false;
  }
  if (digits.empty() || last_underscore) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = neg ? -v : v;
  return true;
}

bool ParsePyFloat(std::string s, double* out) {
  s = PyStrip(s, nullptr, true, true);
  if (s.empty()) return false;
  std::string lower = PyLower(s);
  std::string body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body = body.substr(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? std::nan("") : INFINITY;
    *out = lower[0] == '-' ? -v : v;
    return true;
  }
  std::string cleaned;
  for (size_t n = 0; n < s.size(); ++n) {
    char c = s[n];
    if (c == '_') {
      if (n == 0 || n + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[n - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[n + 1]))) {
        return false;
      }
      continue;
    }
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
    cleaned.push_back(c);
  }
  char* end = nullptr;
  double v = std::strtod(cleaned.c_str(), &end);
  if (end == cleaned.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace gemma4::chat
