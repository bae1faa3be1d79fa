// GBNF text -> CompiledGrammar: a recursive-descent parser with a stated nesting limit, then
// flattening, and checks (undefined rules, rules that can never finish, left recursion) done
// with work lists, never recursion over the grammar.
#include "grammar/gbnf_parser.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "gemma4/error.h"
#include "grammar/utf8_ranges.h"

namespace gemma4::grammar {
namespace {

constexpr size_t kMaxText = 1 << 20;
constexpr int kMaxGroupNesting = 128;
constexpr uint64_t kMaxRepeat = 100000;
constexpr size_t kMaxElements = 4u << 20;

using Sequence = std::vector<Element>;

struct RuleBuild {
  std::string name;
  SourcePos pos;            // definition (or first reference while undefined)
  bool defined = false;
  std::vector<Sequence> alternatives;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : s_(text), source_(source) {}

  CompiledGrammar Parse() {
    if (s_.size() > kMaxText) {
      throw Error(ErrorKind::kLimit, std::string(source_) + ": the grammar is " + std::to_string(s_.size()) +
                                         " bytes, more than the limit of " + std::to_string(kMaxText));
    }
    SkipSpace();
    if (AtEnd()) Fail("the grammar is empty (it needs at least a 'root' rule)");
    while (!AtEnd()) {
      const SourcePos pos = Pos();
      const std::string name = Name();
      if (name.empty()) Fail("expected a rule name");
      SkipSpace();
      if (s_.substr(i_, 3) != "::=") Fail("expected '::=' after the rule name '" + name + "'");
      i_ += 3;
      const uint32_t id = RuleId(name, pos);
      if (rules_[id].defined) Fail(pos, "rule '" + name + "' is defined twice");
      rules_[id].defined = true;
      rules_[id].pos = pos;
      rules_[id].alternatives = Alternatives(0, /*nested=*/false);
      SkipSpace();
    }
    return Finish();
  }

 private:
  [[noreturn]] void Fail(SourcePos p, const std::string& what) const {
    throw Error(ErrorKind::kInvalidArgument,
                std::string(source_) + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + what);
  }
  [[noreturn]] void Fail(const std::string& what) const { Fail(Pos(), what); }
  [[noreturn]] void Limit(const std::string& what) const {
    const SourcePos p = Pos();
    throw Error(ErrorKind::kLimit,
                std::string(source_) + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + what);
  }

  SourcePos Pos() const {
    // Lines and columns counted lazily from the last known point (errors only, plus rule starts).
    while (pos_at_ < i_ && pos_at_ < s_.size()) {
      if (s_[pos_at_] == '\n') {
        ++line_;
        col_ = 1;
      } else if ((static_cast<unsigned char>(s_[pos_at_]) & 0xC0) != 0x80) {
        ++col_;
      }
      ++pos_at_;
    }
    return {line_, col_};
  }

  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  void SkipSpace() {
    while (!AtEnd()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '#') {
        while (!AtEnd() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  static bool IsNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }

  std::string Name() {
    const size_t start = i_;
    while (!AtEnd() && IsNameChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // A new rule starts here ("name ::="): ends the previous rule's body.
  bool AtRuleStart() const {
    size_t j = i_;
    while (j < s_.size() && IsNameChar(s_[j])) ++j;
    if (j == i_) return false;
    while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    return s_.substr(j, 3) == "::=";
  }

  uint32_t RuleId(const std::string& name, SourcePos pos) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(rules_.size());
    rules_.push_back({name, pos, false, {}});
    ids_[name] = id;
    return id;
  }

  uint32_t AuxRule(const std::string& base, SourcePos pos, std::vector<Sequence> alternatives) {
    const uint32_t id = static_cast<uint32_t>(rules_.size());
    rules_.push_back({base + "#" + std::to_string(id), pos, true, std::move(alternatives)});
    return id;
  }

  void Count(size_t n) {
    elements_ += n;
    if (elements_ > kMaxElements) Limit("the grammar expands to more than " + std::to_string(kMaxElements) + " elements");
  }

  uint32_t ByteSet(const std::bitset<256>& set) {
    const std::string key = set.to_string();
    auto it = byte_set_ids_.find(key);
    if (it != byte_set_ids_.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(byte_sets_.size());
    byte_sets_.push_back(set);
    byte_set_ids_[key] = id;
    return id;
  }

  Element Byte(uint8_t b) {
    std::bitset<256> set;
    set.set(b);
    return {ElementKind::kBytes, ByteSet(set)};
  }

  // One UTF-8 scalar value of the grammar text itself.
  uint32_t DecodeChar() {
    const unsigned char c = static_cast<unsigned char>(s_[i_]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i_ + n > s_.size()) Fail("invalid UTF-8 in the grammar text");
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s_[i_ + k]);
      if ((cc & 0xC0) != 0x80) Fail("invalid UTF-8 in the grammar text");
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) Fail("invalid UTF-8 in the grammar text");
    i_ += n;
    return cp;
  }

  uint32_t Hex(size_t digits) {
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      const char c = Peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) Fail("expected " + std::to_string(digits) + " hex digits in an escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++i_;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) Fail("escape names no Unicode scalar value");
    return v;
  }

  // A character of a literal or class, escapes decoded.
  uint32_t Char() {
    if (AtEnd()) Fail("unexpected end of the grammar");
    if (s_[i_] != '\\') return DecodeChar();
    ++i_;
    if (AtEnd()) Fail("unexpected end of the grammar after '\\'");
    const char e = s_[i_++];
    switch (e) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/': case '\'': return static_cast<uint32_t>(e);
      case 'x': return Hex(2);
      case 'u': return Hex(4);
      case 'U': return Hex(8);
      default: i_ -= 2; Fail(std::string("unknown escape '\\") + e + "'");
    }
  }

  Sequence Literal() {
    ++i_;  // "
    Sequence seq;
    std::vector<uint8_t> bytes;
    while (true) {
      if (AtEnd() || Peek() == '\n') Fail("unterminated string literal");
      if (Peek() == '"') break;
      AppendUtf8(Char(), bytes);
    }
    ++i_;
    for (uint8_t b : bytes) seq.push_back(Byte(b));
    return seq;
  }

  // Code point ranges as elements: one byte set when every member is ASCII, else a rule whose
  // alternatives are the UTF-8 byte-range sequences.
  Element Ranges(const std::vector<CodeRange>& ranges, SourcePos pos) {
    if (ranges.empty()) Fail(pos, "the character class matches nothing");
    if (ranges.back().second < 0x80) {
      std::bitset<256> set;
      for (auto [lo, hi] : ranges) for (uint32_t c = lo; c <= hi; ++c) set.set(c);
      return {ElementKind::kBytes, ByteSet(set)};
    }
    std::string key;
    for (auto [lo, hi] : ranges) key += std::to_string(lo) + "-" + std::to_string(hi) + ",";
    auto it = class_rules_.find(key);
    if (it != class_rules_.end()) return {ElementKind::kRule, it->second};
    std::vector<Sequence> alternatives;
    std::bitset<256> single;
    for (const auto& seq : Utf8Sequences(ranges)) {
      if (seq.size() == 1) {
        for (uint32_t b = seq[0].lo; b <= seq[0].hi; ++b) single.set(b);
        continue;
      }
      Sequence alt;
      for (const ByteRange& r : seq) {
        std::bitset<256> set;
        for (uint32_t b = r.lo; b <= r.hi; ++b) set.set(b);
        alt.push_back({ElementKind::kBytes, ByteSet(set)});
      }
      Count(alt.size() + 1);
      alternatives.push_back(std::move(alt));
    }
    if (single.any()) alternatives.insert(alternatives.begin(), Sequence{{ElementKind::kBytes, ByteSet(single)}});
    const uint32_t id = AuxRule("char-class", pos, std::move(alternatives));
    class_rules_[key] = id;
    return {ElementKind::kRule, id};
  }

  Element CharClass() {
    const SourcePos pos = Pos();
    ++i_;  // [
    bool negate = false;
    if (Peek() == '^') {
      negate = true;
      ++i_;
    }
    std::vector<CodeRange> ranges;
    while (true) {
      if (AtEnd() || Peek() == '\n') Fail(pos, "unterminated character class");
      if (Peek() == ']') break;
      const uint32_t lo = Char();
      uint32_t hi = lo;
      if (Peek() == '-' && Peek(1) != ']') {
        ++i_;
        if (AtEnd()) Fail(pos, "unterminated character class");
        hi = Char();
        if (hi < lo) Fail("character range is reversed (end before start)");
      }
      ranges.push_back({lo, hi});
    }
    ++i_;
    ranges = NormalizeRanges(std::move(ranges));
    if (negate) ranges = ComplementRanges(ranges);
    return Ranges(ranges, pos);
  }

  Element TokenReference() {
    const SourcePos pos = Pos();
    const size_t close = s_.find('>', i_ + 1);
    if (close == std::string_view::npos || s_.substr(i_, close - i_).find('\n') != std::string_view::npos) {
      Fail("unterminated token reference (expected '>')");
    }
    std::string_view inner = s_.substr(i_ + 1, close - i_ - 1);
    TokenRef ref;
    ref.pos = pos;
    if (inner.size() >= 2 && inner.front() == '[' && inner.back() == ']') {
      int64_t id = 0;
      std::string_view digits = inner.substr(1, inner.size() - 2);
      if (digits.empty() || digits.size() > 9) Fail("token id must be 1 to 9 digits");
      for (char c : digits) {
        if (c < '0' || c > '9') Fail("token id must be a decimal number");
        id = id * 10 + (c - '0');
      }
      ref.id = static_cast<int32_t>(id);
    } else {
      if (inner.empty()) Fail("empty token reference '<>'");
      ref.text = std::string(s_.substr(i_, close - i_ + 1));
    }
    i_ = close + 1;
    tokens_.push_back(std::move(ref));
    return {ElementKind::kToken, static_cast<uint32_t>(tokens_.size() - 1)};
  }

  uint64_t Number() {
    if (!(Peek() >= '0' && Peek() <= '9')) Fail("expected a number in the repetition");
    uint64_t v = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      v = v * 10 + static_cast<uint64_t>(Peek() - '0');
      if (v > kMaxRepeat) Limit("repetition count above the limit of " + std::to_string(kMaxRepeat));
      ++i_;
    }
    return v;
  }

  // Replaces seq[start..] by its repetition min..max times (max UINT64_MAX: unbounded).
  void Repeat(Sequence& seq, size_t start, uint64_t min, uint64_t max, SourcePos pos) {
    Sequence item(seq.begin() + static_cast<std::ptrdiff_t>(start), seq.end());
    seq.resize(start);
    Count(item.size() * static_cast<size_t>(min));
    for (uint64_t k = 0; k < min; ++k) seq.insert(seq.end(), item.begin(), item.end());
    if (max == UINT64_MAX) {
      // star ::= item star | ε
      const uint32_t id = AuxRule("repeat", pos, {});
      Sequence body = item;
      body.push_back({ElementKind::kRule, id});
      Count(body.size() + 2);
      rules_[id].alternatives = {body, {}};
      seq.push_back({ElementKind::kRule, id});
      return;
    }
    if (max == min) return;
    // opt_k ::= item opt_{k-1} | ε, a chain of max - min optional copies.
    Count((item.size() + 3) * static_cast<size_t>(max - min));
    uint32_t prev = AuxRule("repeat", pos, {item, {}});
    for (uint64_t k = 1; k < max - min; ++k) {
      Sequence body = item;
      body.push_back({ElementKind::kRule, prev});
      prev = AuxRule("repeat", pos, {std::move(body), {}});
    }
    seq.push_back({ElementKind::kRule, prev});
  }

  std::vector<Sequence> Alternatives(int depth, bool nested) {
    std::vector<Sequence> alts;
    alts.push_back(SequenceOf(depth, nested));
    while (Peek() == '|') {
      ++i_;
      alts.push_back(SequenceOf(depth, nested));
    }
    return alts;
  }

  Sequence SequenceOf(int depth, bool nested) {
    Sequence seq;
    size_t last = SIZE_MAX;  // where the last item starts (what a repetition applies to)
    while (true) {
      SkipSpace();
      if (AtEnd()) break;
      const char c = Peek();
      if (c == '|' || c == ')') break;
      if (!nested && AtRuleStart()) break;
      const SourcePos pos = Pos();
      if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (last == SIZE_MAX) Fail("a repetition operator needs something before it");
        uint64_t min = 0, max = UINT64_MAX;
        ++i_;
        if (c == '+') min = 1;
        if (c == '?') max = 1;
        if (c == '{') {
          SkipSpace();
          min = Number();
          SkipSpace();
          max = min;
          if (Peek() == ',') {
            ++i_;
            SkipSpace();
            max = Peek() == '}' ? UINT64_MAX : Number();
            SkipSpace();
          }
          if (Peek() != '}') Fail("expected '}' to close the repetition");
          ++i_;
          if (max < min) Fail(pos, "repetition {m,n} has n < m");
        }
        Repeat(seq, last, min, max, pos);
        last = SIZE_MAX;  // "x**" is an error, as in llama.cpp's notation
        continue;
      }
      last = seq.size();
      if (c == '"') {
        Sequence lit = Literal();
        Count(lit.size());
        if (lit.empty()) {
          last = SIZE_MAX;
          continue;
        }
        seq.insert(seq.end(), lit.begin(), lit.end());
      } else if (c == '[') {
        seq.push_back(CharClass());
      } else if (c == '.') {
        ++i_;
        seq.push_back(Ranges(NormalizeRanges({{0, 0x10FFFF}}), pos));
      } else if (c == '(') {
        if (depth + 1 > kMaxGroupNesting) Limit("parentheses nested deeper than " + std::to_string(kMaxGroupNesting) + " levels");
        ++i_;
        std::vector<Sequence> inner = Alternatives(depth + 1, /*nested=*/true);
        SkipSpace();
        if (Peek() != ')') Fail(pos, "unclosed '('");
        ++i_;
        if (inner.size() == 1) {
          seq.insert(seq.end(), inner[0].begin(), inner[0].end());  // plain grouping
          if (inner[0].empty()) last = SIZE_MAX;
        } else {
          seq.push_back({ElementKind::kRule, AuxRule("group", pos, std::move(inner))});
        }
      } else if (c == '<') {
        seq.push_back(TokenReference());
      } else if (IsNameChar(c)) {
        const std::string name = Name();
        seq.push_back({ElementKind::kRule, RuleId(name, pos)});
      } else {
        Fail(std::string("unexpected character '") + c + "'");
      }
      Count(1);
    }
    return seq;
  }

  CompiledGrammar Finish() {
    for (const RuleBuild& r : rules_) {
      if (!r.defined) Fail(r.pos, "undefined rule '" + r.name + "'");
    }
    auto root = ids_.find("root");
    if (root == ids_.end()) Fail({1, 1}, "no 'root' rule (matching starts there)");
    CompiledGrammar g;
    g.source = std::string(source_);
    g.root = root->second;
    g.byte_sets = std::move(byte_sets_);
    g.tokens = std::move(tokens_);
    g.rules.resize(rules_.size());
    for (size_t id = 0; id < rules_.size(); ++id) {
      g.rule_names.push_back(rules_[id].name);
      g.rule_pos.push_back(rules_[id].pos);
      for (const Sequence& alt : rules_[id].alternatives) {
        g.rules[id].push_back(static_cast<uint32_t>(g.elements.size()));
        g.elements.insert(g.elements.end(), alt.begin(), alt.end());
        g.elements.push_back({ElementKind::kEnd, 0});
      }
    }
    Check(g);
    return g;
  }

  // Rules that can match the empty string, rules that can finish at all, and left recursion:
  // linear work lists over the alternatives.
  void Check(const CompiledGrammar& g) {
    const size_t n = g.rules.size();
    struct Alt {
      uint32_t rule, start;
    };
    std::vector<Alt> alts;
    for (uint32_t r = 0; r < n; ++r) for (uint32_t a : g.rules[r]) alts.push_back({r, a});
    std::vector<std::vector<uint32_t>> uses(n);  // rule -> alternatives referencing it (once per occurrence)
    auto solve = [&](bool terminals_block) {
      std::vector<uint8_t> yes(n, 0);
      std::vector<uint32_t> pending(alts.size(), 0);
      std::vector<uint32_t> work;
      for (auto& u : uses) u.clear();
      for (uint32_t k = 0; k < alts.size(); ++k) {
        bool blocked = false;
        for (uint32_t e = alts[k].start; g.elements[e].kind != ElementKind::kEnd; ++e) {
          if (g.elements[e].kind == ElementKind::kRule) {
            ++pending[k];
            uses[g.elements[e].value].push_back(k);
          } else if (terminals_block) {
            blocked = true;
          }
        }
        if (blocked) pending[k] = UINT32_MAX;
        else if (pending[k] == 0 && !yes[alts[k].rule]) {
          yes[alts[k].rule] = 1;
          work.push_back(alts[k].rule);
        }
      }
      while (!work.empty()) {
        const uint32_t r = work.back();
        work.pop_back();
        for (uint32_t k : uses[r]) {
          if (pending[k] == UINT32_MAX || pending[k] == 0) continue;
          if (--pending[k] == 0 && !yes[alts[k].rule]) {
            yes[alts[k].rule] = 1;
            work.push_back(alts[k].rule);
          }
        }
      }
      return yes;
    };
    const std::vector<uint8_t> finishes = solve(/*terminals_block=*/false);
    for (uint32_t r = 0; r < n; ++r) {
      if (!finishes[r]) Fail(g.rule_pos[r], "rule '" + g.rule_names[r] + "' can never finish (every alternative recurses forever)");
    }
    const std::vector<uint8_t> nullable = solve(/*terminals_block=*/true);
    // Left edges: rule -> rule reachable before consuming anything. A cycle is left recursion.
    std::vector<std::vector<uint32_t>> edges(n);
    std::vector<uint32_t> indegree(n, 0);
    for (const Alt& a : alts) {
      for (uint32_t e = a.start; g.elements[e].kind == ElementKind::kRule; ++e) {
        edges[a.rule].push_back(g.elements[e].value);
        ++indegree[g.elements[e].value];
        if (!nullable[g.elements[e].value]) break;
      }
    }
    std::vector<uint32_t> work;
    for (uint32_t r = 0; r < n; ++r) if (indegree[r] == 0) work.push_back(r);
    size_t removed = 0;
    while (!work.empty()) {
      const uint32_t r = work.back();
      work.pop_back();
      ++removed;
      for (uint32_t t : edges[r]) if (--indegree[t] == 0) work.push_back(t);
    }
    if (removed == n) return;
    // Every rule left has a left edge from another rule left: walking those edges backwards must
    // repeat a rule, and that rule lies on a cycle.
    std::vector<std::vector<uint32_t>> into(n);
    for (uint32_t a = 0; a < n; ++a) for (uint32_t t : edges[a]) into[t].push_back(a);
    uint32_t r = 0;
    while (indegree[r] == 0) ++r;
    std::vector<uint8_t> seen(n, 0);
    while (!seen[r]) {
      seen[r] = 1;
      for (uint32_t from : into[r]) {
        if (indegree[from] > 0) {
          r = from;
          break;
        }
      }
    }
    Fail(g.rule_pos[r], "rule '" + g.rule_names[r] +
                            "' can reach itself without consuming input (left recursion, or a repetition of "
                            "something that can be empty)");
  }

  std::string_view s_;
  std::string_view source_;
  size_t i_ = 0;
  mutable size_t pos_at_ = 0;
  mutable uint32_t line_ = 1, col_ = 1;
  std::vector<RuleBuild> rules_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::bitset<256>> byte_sets_;
  std::unordered_map<std::string, uint32_t> byte_set_ids_;
  std::map<std::string, uint32_t> class_rules_;
  std::vector<TokenRef> tokens_;
  size_t elements_ = 0;
};

}  // namespace

CompiledGrammar ParseGbnf(std::string_view text, std::string_view source) { return Parser(text, source).Parse(); }

}  // namespace gemma4::grammar
