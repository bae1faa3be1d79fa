// Jinja lexer. Mirrors jinja2's lexing rules (jinja2/lexer.py) for the settings transformers
// uses: trim_blocks drops the first newline after a block or comment tag, lstrip_blocks drops
// spaces and tabs before a block or comment tag that starts a line, "-" strips all whitespace
// (Python's Unicode whitespace) on that side, "+" disables both.
#include "chat/lexer.h"

#include <cstring>

#include "chat/runtime.h"

namespace gemma4::chat {

std::string NormalizeSource(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t n = 0; n < source.size(); ++n) {
    char c = source[n];
    if (c == '\r') {
      if (n + 1 < source.size() && source[n + 1] == '\n') ++n;
      out.push_back('\n');
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

// Length of the Python-whitespace run starting at pos (the regex \s*).
size_t WhitespaceRun(std::string_view s, size_t pos) {
  size_t p = pos;
  while (p < s.size()) {
    size_t next = p;
    if (!IsPyWhitespace(DecodeUtf8(s, next))) break;
    p = next;
  }
  return p - pos;
}

// Python str.rstrip() on a UTF-8 string.
std::string_view RStripWhitespace(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t p = start;
    if (!IsPyWhitespace(DecodeUtf8(s, p))) break;
    end = start;
  }
  return s.substr(0, end);
}

bool AllWhitespace(std::string_view s) {
  return !s.empty() && WhitespaceRun(s, 0) == s.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's "unicode-escape" decoding of a string literal body, as jinja2 applies it.
std::string DecodeStringLiteral(std::string_view body, size_t offset) {
  std::string out;
  out.reserve(body.size());
  for (size_t n = 0; n < body.size(); ++n) {
    char c = body[n];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (n + 1 >= body.size()) FailAt(offset, "\\ at end of string");
    char e = body[++n];
    switch (e) {
      case '\n':
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
      case 'u':
      case 'U': {
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        char32_t cp = 0;
        for (int k = 0; k < digits; ++k) {
          int h = n + 1 < body.size() ? HexValue(body[n + 1]) : -1;
          if (h < 0) FailAt(offset, std::string("truncated \\") + e + " escape in string literal");
          cp = cp * 16 + h;
          ++n;
        }
        if (cp > 0x10FFFF) FailAt(offset, "illegal Unicode character in string literal");
        if (cp >= 0xD800 && cp <= 0xDFFF) FailAt(offset, "surrogate code point in string literal");
        EncodeUtf8(out, cp);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          char32_t cp = e - '0';
          for (int k = 0; k < 2 && n + 1 < body.size() && body[n + 1] >= '0' && body[n + 1] <= '7'; ++k) {
            cp = cp * 8 + (body[++n] - '0');
          }
          EncodeUtf8(out, cp);
        } else if (e == 'N') {
          FailAt(offset, "\\N{...} escapes are not supported");
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

// Parses digits with optional single underscores between them (Python literal syntax).
// Returns the end position, or `pos` when no digit is there.
size_t ScanDigits(std::string_view s, size_t pos, int (*digit)(char)) {
  size_t p = pos;
  if (p >= s.size() || digit(s[p]) < 0) return pos;
  ++p;
  while (p < s.size()) {
    if (digit(s[p]) >= 0) {
      ++p;
    } else if (s[p] == '_' && p + 1 < s.size() && digit(s[p + 1]) >= 0) {
      p += 2;
    } else {
      break;
    }
  }
  return p;
}

int Dec(char c) { return IsDigit(c) ? c - '0' : -1; }
int Hex(char c) { return HexValue(c); }
int Oct(char c) { return c >= '0' && c <= '7' ? c - '0' : -1; }
int Bin(char c) { return c == '0' || c == '1' ? c - '0' : -1; }

std::string WithoutUnderscores(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_') out.push_back(c);
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : s_(src) {}

  std::vector<Token> Run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      size_t tag = FindTagStart(pos);
      if (tag == std::string_view::npos) {
        Emit(Tok::kData, pos, std::string(s_.substr(pos)));
        break;
      }
      char kind = s_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < s_.size() ? s_[tag + 2] : '\0';
      if (sign != '-' && sign != '+') sign = '\0';
      std::string_view text = s_.substr(pos, tag - pos);
      text = ApplyLeftStrip(text, sign, kind != '{', line_starting);
      if (!text.empty()) Emit(Tok::kData, pos, std::string(text));

      size_t body = tag + 2 + (sign ? 1 : 0);
      if (kind == '%') {
        size_t raw_end = MatchRawBegin(tag);
        if (raw_end != std::string_view::npos) {
          pos = LexRaw(tag, raw_end, line_starting);
          continue;
        }
      }
      if (kind == '#') {
        pos = LexComment(tag, body, line_starting);
        continue;
      }
      pos = LexTag(kind == '%', tag, body, line_starting);
    }
    Emit(Tok::kEof, static_cast<uint32_t>(s_.size()), "");
    return std::move(tokens_);
  }

 private:
  void Emit(Tok type, size_t offset, std::string text) {
    tokens_.push_back(Token{type, static_cast<uint32_t>(offset), std::move(text)});
  }

  size_t FindTagStart(size_t pos) const {
    while (true) {
      size_t p = s_.find('{', pos);
      if (p == std::string_view::npos || p + 1 >= s_.size()) return std::string_view::npos;
      char c = s_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      pos = p + 1;
    }
  }

  std::string_view ApplyLeftStrip(std::string_view text, char sign, bool lstrip_applies, bool line_starting) {
    if (sign == '-') return RStripWhitespace(text);
    if (sign == '+' || !lstrip_applies) return text;
    size_t nl = text.rfind('\n');
    size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting) && AllWhitespace(text.substr(l_pos))) return text.substr(0, l_pos);
    return text;
  }

  // `{%(-|+|)\s*raw\s*(-%}\s*|%})` at tag; returns the end of the match or npos.
  size_t MatchRawBegin(size_t tag) const {
    size_t p = tag + 2;
    if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
    p += WhitespaceRun(s_, p);
    if (s_.compare(p, 3, "raw") != 0) return std::string_view::npos;
    p += 3;
    p += WhitespaceRun(s_, p);
    if (s_.compare(p, 3, "-%}") == 0) return p + 3 + WhitespaceRun(s_, p + 3);
    if (s_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string_view::npos;
  }

  // Block end at p: "+%}", "-%}\s*", "%}\n?". Returns end or npos.
  size_t MatchBlockEnd(size_t p) const {
    if (s_.compare(p, 3, "+%}") == 0) return p + 3;
    if (s_.compare(p, 3, "-%}") == 0) return p + 3 + WhitespaceRun(s_, p + 3);
    if (s_.compare(p, 2, "%}") == 0) return p + 2 + (p + 2 < s_.size() && s_[p + 2] == '\n' ? 1 : 0);
    return std::string_view::npos;
  }

  size_t LexRaw(size_t tag, size_t begin_end, bool& line_starting) {
    line_starting = begin_end > 0 && s_[begin_end - 1] == '\n';
    // Lazily find `{%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?)`.
    size_t p = begin_end;
    while (true) {
      p = s_.find("{%", p);
      if (p == std::string_view::npos) FailAt(tag, "Missing end of raw directive", ErrorKind::kCorrupt);
      size_t q = p + 2;
      char sign = '\0';
      if (q < s_.size() && (s_[q] == '-' || s_[q] == '+')) sign = s_[q++];
      q += WhitespaceRun(s_, q);
      if (s_.compare(q, 6, "endraw") == 0) {
        q += 6;
        q += WhitespaceRun(s_, q);
        size_t end = MatchBlockEnd(q);
        if (end != std::string_view::npos) {
          std::string_view text = ApplyLeftStrip(s_.substr(begin_end, p - begin_end), sign, true, line_starting);
          if (!text.empty()) Emit(Tok::kData, begin_end, std::string(text));
          line_starting = s_[end - 1] == '\n';
          return end;
        }
      }
      p += 2;
    }
  }

  size_t LexComment(size_t tag, size_t body, bool& line_starting) {
    size_t p = body;
    while (true) {
      p = s_.find("#}", p);
      if (p == std::string_view::npos) FailAt(tag, "Missing end of comment tag", ErrorKind::kCorrupt);
      size_t end;
      if (p > body && s_[p - 1] == '-') {
        end = p + 2 + WhitespaceRun(s_, p + 2);
      } else if (p > body && s_[p - 1] == '+') {
        end = p + 2;
      } else {
        end = p + 2 + (p + 2 < s_.size() && s_[p + 2] == '\n' ? 1 : 0);
      }
      line_starting = s_[end - 1] == '\n';
      return end;
    }
  }

  size_t LexTag(bool block, size_t tag, size_t p, bool& line_starting) {
    Emit(block ? Tok::kBlockBegin : Tok::kVarBegin, tag, "");
    std::vector<char> balance;
    while (true) {
      if (p >= s_.size()) {
        line_starting = false;
        return p;  // the parser reports the unexpected end of template
      }
      if (balance.empty()) {
        size_t end = std::string_view::npos;
        if (block) {
          end = MatchBlockEnd(p);
        } else if (s_.compare(p, 3, "-}}") == 0) {
          end = p + 3 + WhitespaceRun(s_, p + 3);
        } else if (s_.compare(p, 2, "}}") == 0) {
          end = p + 2;
        }
        if (end != std::string_view::npos) {
          Emit(block ? Tok::kBlockEnd : Tok::kVarEnd, p, "");
          line_starting = s_[end - 1] == '\n';
          return end;
        }
      }
      size_t ws = WhitespaceRun(s_, p);
      if (ws) {
        p += ws;
        continue;
      }
      char c = s_[p];
      if (IsDigit(c)) {
        p = LexNumber(p);
        continue;
      }
      if (IsNameStart(c)) {
        size_t e = p + 1;
        while (e < s_.size() && IsNameChar(s_[e])) ++e;
        Emit(Tok::kName, p, std::string(s_.substr(p, e - p)));
        p = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        size_t e = p + 1;
        while (e < s_.size() && s_[e] != c) e += (s_[e] == '\\') ? 2 : 1;
        if (e >= s_.size()) FailAt(p, std::string("unexpected char '") + c + "' (unterminated string)");
        Emit(Tok::kString, p, DecodeStringLiteral(s_.substr(p + 1, e - p - 1), p));
        p = e + 1;
        continue;
      }
      static const char* kOps[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]",
                                   "(",  ")",  "{",  "}",  ">",  "<",  "=", ".", ":", "|", ",", ";"};
      const char* op = nullptr;
      for (const char* candidate : kOps) {
        if (s_.compare(p, std::strlen(candidate), candidate) == 0) {
          op = candidate;
          break;
        }
      }
      if (!op) {
        size_t q = p;
        char32_t cp = DecodeUtf8(s_, q);
        std::string shown;
        EncodeUtf8(shown, cp);
        FailAt(p, "unexpected char '" + shown + "'");
      }
      char o = op[0];
      if (op[1] == '\0') {
        if (o == '{' || o == '(' || o == '[') {
          if (balance.size() > 1000) FailAt(p, "brackets nested too deeply", ErrorKind::kLimit);
          balance.push_back(o == '{' ? '}' : o == '(' ? ')' : ']');
        } else if (o == '}' || o == ')' || o == ']') {
          if (balance.empty()) FailAt(p, std::string("unexpected '") + o + "'");
          char expected = balance.back();
          balance.pop_back();
          if (expected != o) FailAt(p, std::string("unexpected '") + o + "', expected '" + expected + "'");
        }
      }
      Emit(Tok::kOp, p, op);
      p += std::strlen(op);
    }
  }

  // jinja2's float_re (digits with "." fraction and/or exponent) is tried before integer_re.
  size_t LexNumber(size_t p) {
    size_t int_end = ScanDigits(s_, p, Dec);
    size_t e = int_end;
    bool is_float = false;
    bool after_dot = p > 0 && s_[p - 1] == '.';
    if (!after_dot) {
      size_t q = int_end;
      if (q < s_.size() && s_[q] == '.') {
        size_t f = ScanDigits(s_, q + 1, Dec);
        if (f > q + 1) {
          q = f;
          is_float = true;
        } else {
          q = int_end;
        }
      }
      if (q < s_.size() && (s_[q] == 'e' || s_[q] == 'E')) {
        size_t r = q + 1;
        if (r < s_.size() && (s_[r] == '+' || s_[r] == '-')) ++r;
        size_t x = ScanDigits(s_, r, Dec);
        if (x > r) {
          q = x;
          is_float = true;
        }
      }
      if (is_float) e = q;
    }
    if (is_float) {
      Token t{Tok::kFloat, static_cast<uint32_t>(p), std::string(s_.substr(p, e - p))};
      t.fval = std::strtod(WithoutUnderscores(t.text).c_str(), nullptr);
      tokens_.push_back(std::move(t));
      return e;
    }
    // integer_re: 0b.., 0o.., 0x.., [1-9](_?\d)*, 0(_?0)*
    int base = 10;
    size_t start = p, end;
    if (s_[p] == '0' && p + 1 < s_.size() && std::strchr("bBoOxX", s_[p + 1]) && s_[p + 1] != '\0') {
      char b = static_cast<char>(s_[p + 1] | 0x20);
      int (*digit)(char) = b == 'b' ? Bin : b == 'o' ? Oct : Hex;
      base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
      size_t q = p + 2;
      if (q < s_.size() && s_[q] == '_') ++q;
      end = ScanDigits(s_, q, digit);
      if (end == q) {
        end = p + 1;  // just "0"
        base = 10;
      } else {
        start = p + 2;
      }
    } else if (s_[p] == '0') {
      end = p + 1;
      while (end < s_.size() && (s_[end] == '0' || (s_[end] == '_' && end + 1 < s_.size() && s_[end + 1] == '0'))) {
        end += s_[end] == '_' ? 2 : 1;
      }
    } else {
      end = int_end;
    }
    std::string digits = WithoutUnderscores(s_.substr(start, end - start));
    errno = 0;
    Token t{Tok::kInt, static_cast<uint32_t>(p), std::string(s_.substr(p, end - p))};
    unsigned long long v = std::strtoull(digits.c_str(), nullptr, base);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      FailAt(p, "integer literal too large", ErrorKind::kUnsupported);
    }
    t.ival = static_cast<int64_t>(v);
    tokens_.push_back(std::move(t));
    return end;
  }

  std::string_view s_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source) { return Lexer(source).Run(); }

}  // namespace gemma4::chat
