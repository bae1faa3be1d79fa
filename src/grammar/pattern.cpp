// A JSON Schema `pattern` (ECMA-262 regex, a subset) -> GBNF over string content. Recursive
// descent with a nesting limit; anything outside the subset is refused with its offset.
#include <string>

#include "gemma4/error.h"
#include "grammar/gbnf_text.h"
#include "grammar/json_schema.h"
#include "grammar/string_content.h"

namespace gemma4::grammar {
namespace {

constexpr int kMaxPatternNesting = 32;

class RegexToGbnf {
 public:
  RegexToGbnf(const std::string& pattern, Dialect dialect, const std::string& any_char, const std::string& pointer)
      : cps_(CodePoints(pattern)), dialect_(dialect), any_(any_char), pointer_(pointer) {}

  std::string Convert() {
    bool start = false, end = false;
    size_t first = 0, last = cps_.size();
    if (!cps_.empty() && cps_[0] == '^') {
      start = true;
      first = 1;
    }
    if (last > first && cps_[last - 1] == '$' && !(last >= 2 && cps_[last - 2] == '\\')) {
      end = true;
      --last;
    }
    end_ = last;
    i_ = first;
    size_t branches = 0;
    std::string body = Alternatives(0, branches);
    if (i_ != end_) Fail("unbalanced ')'");
    if ((start || end) && branches > 1) Fail("anchors around a top-level '|' (write ^(a|b)$)");
    std::string out;
    if (!start) out += "(" + any_ + ")* ";
    out += "(" + body + ")";
    if (!end) out += " (" + any_ + ")*";
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw Error(ErrorKind::kUnsupported, pointer_ + ": pattern: " + what + " at offset " + std::to_string(i_) +
                                             " (supported: literals, classes, ., groups, |, quantifiers, ^ and $ at "
                                             "the ends)");
  }

  bool AtEnd() const { return i_ >= end_; }
  uint32_t Peek() const { return AtEnd() ? 0 : cps_[i_]; }

  std::string Alternatives(int depth, size_t& branches) {
    std::string out = Sequence(depth);
    branches = 1;
    while (!AtEnd() && Peek() == '|') {
      ++i_;
      out += " | " + Sequence(depth);
      ++branches;
    }
    return out;
  }

  std::string Chars(const std::vector<CodeRange>& ranges) {
    auto expr = ContentClass(NormalizeRanges(ranges), dialect_);
    if (!expr) Fail("a character that cannot be written in this string syntax");
    return *expr;
  }

  uint32_t ControlEscape(uint32_t c) {
    switch (c) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'f': return '\f';
      case 'v': return '\v';
      default: return 0;
    }
  }

  // \d \w \s and their negations as ranges; false for other escapes.
  bool ClassEscape(uint32_t c, std::vector<CodeRange>& out) {
    std::vector<CodeRange> set;
    switch (c | 0x20) {
      case 'd': set = {{'0', '9'}}; break;
      case 'w': set = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
      case 's': set = {{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x2028, 0x2029}, {0xFEFF, 0xFEFF}}; break;
      default: return false;
    }
    set = NormalizeRanges(set);
    if (c >= 'A' && c <= 'Z') set = ComplementRanges(set);
    out.insert(out.end(), set.begin(), set.end());
    return true;
  }

  // One character after a backslash, as a literal code point (0 when it is a class escape).
  uint32_t Escape(std::vector<CodeRange>* cls) {
    if (AtEnd()) Fail("a trailing backslash");
    const uint32_t c = cps_[i_++];
    if (cls && ClassEscape(c, *cls)) return 0;
    if (uint32_t ctl = ControlEscape(c)) return ctl;
    if ((c >= '0' && c <= '9') || c == 'b' || c == 'B' || c == 'p' || c == 'P' || c == 'k' || c == 'c' || c == 'x' ||
        c == 'u') {
      --i_;
      Fail(std::string("the escape \\") + static_cast<char>(c));
    }
    return c;  // escaped punctuation stands for itself
  }

  std::string Class() {
    ++i_;  // [
    bool negate = false;
    if (Peek() == '^') {
      negate = true;
      ++i_;
    }
    std::vector<CodeRange> ranges;
    bool first = true;
    while (true) {
      if (AtEnd()) Fail("an unterminated character class");
      if (Peek() == ']' && !first) break;
      first = false;
      uint32_t lo = cps_[i_++];
      if (lo == '\\') {
        lo = Escape(&ranges);
        if (lo == 0) continue;
      } else if (lo == '[') {
        --i_;
        Fail("a nested class or [: :] set");
      }
      uint32_t hi = lo;
      if (Peek() == '-' && i_ + 1 < end_ && cps_[i_ + 1] != ']') {
        ++i_;
        hi = cps_[i_++];
        if (hi == '\\') hi = Escape(nullptr);
        if (hi < lo) Fail("a reversed range");
      }
      ranges.push_back({lo, hi});
    }
    ++i_;
    ranges = NormalizeRanges(ranges);
    if (negate) ranges = ComplementRanges(ranges);
    return Chars(ranges);
  }

  bool Digits(uint64_t& v) {
    if (AtEnd() || Peek() < '0' || Peek() > '9') return false;
    v = 0;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      v = v * 10 + (Peek() - '0');
      if (v > 10000) Fail("a repetition count above 10000");
      ++i_;
    }
    return true;
  }

  // {m}, {m,}, {m,n} after an atom; false (position unchanged) when '{' does not start one.
  bool Braces(std::string& quant) {
    const size_t save = i_;
    ++i_;
    uint64_t m = 0, n = 0;
    if (!Digits(m)) {
      i_ = save;
      return false;
    }
    if (Peek() == '}') {
      ++i_;
      quant = "{" + std::to_string(m) + "}";
      return true;
    }
    if (Peek() != ',') {
      i_ = save;
      return false;
    }
    ++i_;
    if (Peek() == '}') {
      ++i_;
      quant = "{" + std::to_string(m) + ",}";
      return true;
    }
    if (!Digits(n) || Peek() != '}') {
      i_ = save;
      return false;
    }
    ++i_;
    if (n < m) Fail("a repetition {m,n} with n < m");
    quant = "{" + std::to_string(m) + "," + std::to_string(n) + "}";
    return true;
  }

  std::string Sequence(int depth) {
    std::string out;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      const uint32_t c = Peek();
      std::string atom;
      if (c == '(') {
        if (depth + 1 > kMaxPatternNesting) Fail("groups nested deeper than " + std::to_string(kMaxPatternNesting));
        ++i_;
        if (Peek() == '?') {
          if (i_ + 1 < end_ && cps_[i_ + 1] == ':') i_ += 2;
          else Fail("a lookaround or named group");
        }
        size_t branches = 0;
        atom = "(" + Alternatives(depth + 1, branches) + ")";
        if (Peek() != ')') Fail("an unclosed '('");
        ++i_;
      } else if (c == '[') {
        atom = Class();
      } else if (c == '.') {
        ++i_;
        atom = "(" + any_ + ")";
      } else if (c == '\\') {
        ++i_;
        std::vector<CodeRange> cls;
        const uint32_t lit = Escape(&cls);
        atom = lit ? Chars({{lit, lit}}) : Chars(cls);
      } else if (c == '*' || c == '+' || c == '?') {
        Fail("a quantifier with nothing to repeat");
      } else if (c == '^' || c == '$') {
        Fail("an anchor inside the pattern");
      } else {
        ++i_;
        atom = Chars({{c, c}});
      }
      std::string quant;
      if (!AtEnd()) {
        const uint32_t q = Peek();
        if (q == '*' || q == '+' || q == '?') {
          quant = std::string(1, static_cast<char>(q));
          ++i_;
        } else if (q == '{') {
          Braces(quant);
        }
        if (!quant.empty() && !AtEnd() && Peek() == '?') ++i_;  // lazy: the same language
      }
      if (!out.empty()) out += " ";
      out += quant.empty() ? atom : "(" + atom + ")" + quant;
    }
    return out.empty() ? "\"\"" : out;
  }

  std::vector<uint32_t> cps_;
  Dialect dialect_;
  std::string any_;
  std::string pointer_;
  size_t i_ = 0, end_ = 0;
};

}  // namespace

std::string PatternToGbnf(const std::string& pattern, Dialect dialect, const std::string& string_char,
                          const std::string& pointer) {
  return RegexToGbnf(pattern, dialect, string_char, pointer).Convert();
}

}  // namespace gemma4::grammar
