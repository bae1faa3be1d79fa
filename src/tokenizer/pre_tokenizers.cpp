// Pre-tokenizer implementations (HF tokenizers pre_tokenizers/* and NormalizedString::split).
#include "tokenizer/pre_tokenizers.h"

#include <functional>

#include "gemma4/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace gemma4::tok {
namespace {

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior ParseBehavior(const JsonView& json) {
  std::string_view b = json.AsString();
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  json.Fail("unknown split behavior \"" + std::string(b) + "\"");
}

struct Span {
  size_t start, end;
  bool flag;  // is_match before the behavior is applied; "remove" after
};

// Turns match ranges into spans covering the whole text (Pattern::find_matches in HF).
void Cover(size_t size, const std::vector<std::pair<size_t, size_t>>& matches, std::vector<Span>& spans) {
  spans.clear();
  if (size == 0) { spans.push_back({0, 0, false}); return; }
  size_t prev = 0;
  for (auto [s, e] : matches) {
    if (prev != s) spans.push_back({prev, s, false});
    spans.push_back({s, e, true});
    prev = e;
  }
  if (prev != size) spans.push_back({prev, size, false});
}

// NormalizedString::split: applies the behavior and appends the kept, non-empty pieces.
void SplitSpans(Piece& piece, std::vector<Span>& spans, Behavior behavior, bool invert, std::vector<Piece>& out) {
  if (invert) for (Span& s : spans) s.flag = !s.flag;
  std::vector<Span> result;
  switch (behavior) {
    case Behavior::kIsolated:
      for (Span& s : spans) s.flag = false;
      result = std::move(spans);
      break;
    case Behavior::kRemoved:
      result = std::move(spans);
      break;
    case Behavior::kContiguous: {
      bool previous = false;
      for (const Span& s : spans) {
        if (s.flag == previous && !result.empty()) result.back().end = s.end;
        else result.push_back({s.start, s.end, false});
        previous = s.flag;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Span& s : spans) {
        if (s.flag && !previous && !result.empty()) result.back().end = s.end;
        else result.push_back({s.start, s.end, false});
        previous = s.flag;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous = false;
      for (size_t k = spans.size(); k-- > 0;) {
        const Span& s = spans[k];
        if (s.flag && !previous && !result.empty()) result.back().start = s.start;
        else result.push_back({s.start, s.end, false});
        previous = s.flag;
      }
      std::reverse(result.begin(), result.end());
      break;
    }
  }
  for (const Span& s : result) {
    if (s.flag || s.end == s.start) continue;
    Piece p;
    p.text = piece.text.substr(s.start, s.end - s.start);
    p.at_origin = piece.at_origin && s.start == 0;
    out.push_back(std::move(p));
  }
}

// Char-predicate pattern: every matching character is its own match.
void MatchChars(const std::string& text, const std::function<bool(uint32_t)>& pred,
                std::vector<std::pair<size_t, size_t>>& matches) {
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    uint32_t cp = NextCodePoint(text, i);
    if (pred(cp)) matches.emplace_back(start, i);
  }
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  std::vector<std::unique_ptr<PreTokenizer>> items;
  void Apply(std::vector<Piece>& pieces) const override {
    for (const auto& p : items) p->Apply(pieces);
  }

 protected:
  void Split(Piece&, std::vector<Piece>&) const override {}
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

 protected:
  void Split(Piece& piece, std::vector<Piece>& out) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    pattern_.FindAll(piece.text, matches);
    std::vector<Span> spans;
    Cover(piece.text.size(), matches, spans);
    SplitSpans(piece, spans, behavior_, invert_, out);
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

class CharSplitPreTokenizer : public PreTokenizer {
 public:
  CharSplitPreTokenizer(std::function<bool(uint32_t)> pred, Behavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}

 protected:
  void Split(Piece& piece, std::vector<Piece>& out) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    MatchChars(piece.text, pred_, matches);
    std::vector<Span> spans;
    Cover(piece.text.size(), matches, spans);
    SplitSpans(piece, spans, behavior_, false, out);
  }

 private:
  std::function<bool(uint32_t)> pred_;
  Behavior behavior_;
};

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        regex_(use_regex ? Pattern::FromRegex(kGpt2Pattern, "ByteLevel") : Pattern::Literal("")),
        use_regex_(use_regex) {}

 protected:
  void Split(Piece& piece, std::vector<Piece>& out) const override {
    if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, " ");
    size_t first = out.size();
    if (use_regex_) {
      std::vector<std::pair<size_t, size_t>> matches;
      regex_.FindAll(piece.text, matches);
      std::vector<Span> spans;
      Cover(piece.text.size(), matches, spans);
      SplitSpans(piece, spans, Behavior::kIsolated, false, out);
    } else if (!piece.text.empty()) {
      out.push_back(std::move(piece));
    }
    for (size_t k = first; k < out.size(); ++k) {
      std::string mapped;
      mapped.reserve(out[k].text.size() * 2);
      for (char c : out[k].text) AppendUtf8(mapped, ByteToChar(static_cast<uint8_t>(c)));
      out[k].text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  Pattern regex_;
  bool use_regex_;
};

// HF's Whitespace splits with the regex-crate pattern \w+|[^\w\s]+ (Unicode \w, which includes
// the joiners U+200C/U+200D that Oniguruma's \w lacks), keeping the matches.
class WhitespacePreTokenizer : public PreTokenizer {
 protected:
  void Split(Piece& piece, std::vector<Piece>& out) const override {
    const std::string& s = piece.text;
    size_t i = 0;
    while (i < s.size()) {
      size_t start = i;
      uint32_t cp = NextCodePoint(s, i);
      if (IsWhitespace(cp) && !IsWordChar(cp)) continue;
      const bool word = IsWordChar(cp);
      size_t end = i;
      while (end < s.size()) {
        size_t j = end;
        uint32_t c = NextCodePoint(s, j);
        if (word ? !IsWordChar(c) : (IsWordChar(c) || IsWhitespace(c))) break;
        end = j;
      }
      Piece p;
      p.text = s.substr(start, end - start);
      p.at_origin = piece.at_origin && start == 0;
      out.push_back(std::move(p));
      i = end;
    }
  }
};

enum class PrependScheme { kAlways, kNever, kFirst };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

 protected:
  void Split(Piece& piece, std::vector<Piece>& out) const override {
    std::string replaced;
    replaced.reserve(piece.text.size());
    for (char c : piece.text) {
      if (c == ' ') replaced += replacement_;
      else replaced.push_back(c);
    }
    piece.text = std::move(replaced);
    bool starts = piece.text.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && piece.at_origin)))
      piece.text.insert(0, replacement_);
    if (!split_) {
      if (!piece.text.empty()) out.push_back(std::move(piece));
      return;
    }
    std::vector<std::pair<size_t, size_t>> matches;
    FindAllLiteral(piece.text, replacement_, matches);
    std::vector<Span> spans;
    Cover(piece.text.size(), matches, spans);
    SplitSpans(piece, spans, Behavior::kMergedWithNext, false, out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

}  // namespace

void PreTokenizer::Apply(std::vector<Piece>& pieces) const {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (p.added_id >= 0) out.push_back(std::move(p));
    else Split(p, out);
  }
  pieces = std::move(out);
}

std::unique_ptr<PreTokenizer> MakePreTokenizer(const JsonView& json) {
  if (json.is_null()) return nullptr;
  std::string_view type = json.Get("type").AsString();
  if (type == "Sequence") {
    auto seq = std::make_unique<SequencePreTokenizer>();
    for (const JsonView& item : json.Get("pretokenizers").Elements()) {
      if (auto p = MakePreTokenizer(item)) seq->items.push_back(std::move(p));
    }
    return seq;
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(Pattern::FromJson(json.Get("pattern")), ParseBehavior(json.Get("behavior")),
                                               json.GetBool("invert", false));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(json.GetBool("add_prefix_space", true), json.GetBool("use_regex", true));
  }
  if (type == "Metaspace") {
    std::string replacement(json.GetString("replacement", "\xE2\x96\x81"));
    size_t i = 0;
    if (replacement.empty() || (NextCodePoint(replacement, i), i != replacement.size()))
      json.Get("replacement").Fail("expected a single character");
    PrependScheme scheme = PrependScheme::kAlways;
    if (json.Has("prepend_scheme")) {
      std::string_view s = json.Get("prepend_scheme").AsString();
      if (s == "always") scheme = PrependScheme::kAlways;
      else if (s == "never") scheme = PrependScheme::kNever;
      else if (s == "first") scheme = PrependScheme::kFirst;
      else json.Get("prepend_scheme").Fail("unknown prepend_scheme \"" + std::string(s) + "\"");
    } else if (json.Has("add_prefix_space")) {
      scheme = json.Get("add_prefix_space").AsBool() ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, json.GetBool("split", true));
  }
  if (type == "Whitespace") {
    return std::make_unique<WhitespacePreTokenizer>();
  }
  if (type == "WhitespaceSplit") return std::make_unique<CharSplitPreTokenizer>(IsWhitespace, Behavior::kRemoved);
  if (type == "Digits") {
    bool individual = json.GetBool("individual_digits", false);
    return std::make_unique<CharSplitPreTokenizer>(IsNumeric, individual ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "Punctuation") {
    Behavior b = json.Has("behavior") ? ParseBehavior(json.Get("behavior")) : Behavior::kIsolated;
    return std::make_unique<CharSplitPreTokenizer>(IsPunctuation, b);
  }
  if (type == "CharDelimiterSplit") {
    std::string d(json.Get("delimiter").AsString());
    size_t i = 0;
    if (d.empty()) json.Get("delimiter").Fail("expected a single character");
    uint32_t cp = NextCodePoint(d, i);
    return std::make_unique<CharSplitPreTokenizer>([cp](uint32_t c) { return c == cp; }, Behavior::kRemoved);
  }
  if (type == "BertPreTokenizer") {
    auto seq = std::make_unique<SequencePreTokenizer>();
    seq->items.push_back(std::make_unique<CharSplitPreTokenizer>(IsWhitespace, Behavior::kRemoved));
    seq->items.push_back(std::make_unique<CharSplitPreTokenizer>(IsPunctuation, Behavior::kIsolated));
    return seq;
  }
  throw Error(ErrorKind::kUnsupported, json.Get("type").Describe("pre-tokenizer type \"" + std::string(type) + "\" is not supported"));
}

}  // namespace gemma4::tok
