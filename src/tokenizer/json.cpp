// Recursive-descent JSON parser into a flat node array (children of a container are contiguous).
#include "tokenizer/json.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "gemma4/error.h"
#include "tokenizer/unicode.h"

namespace gemma4::tok {

const char* JsonTypeName(JsonType type) {
  switch (type) {
    case JsonType::kNull: return "null";
    case JsonType::kBool: return "a boolean";
    case JsonType::kNumber: return "a number";
    case JsonType::kString: return "a string";
    case JsonType::kArray: return "an array";
    case JsonType::kObject: return "an object";
  }
  return "?";
}

class JsonParser {
 public:
  JsonParser(JsonDoc& doc) : doc_(doc), p_(doc.text_->data()), begin_(p_), end_(p_ + doc.text_->size()) {}

  void Run() {
    if (auto bad = FirstInvalidUtf8(*doc_.text_)) Fail(*bad, "invalid UTF-8");
    doc_.nodes_.emplace_back();  // the root
    SkipSpace();
    JsonNode root = ParseValue(0);
    SkipSpace();
    if (p_ != end_) Fail(Pos(), "unexpected text after the top-level value");
    doc_.nodes_[0] = root;
  }

 private:
  static constexpr int kMaxDepth = 256;

  size_t Pos() const { return static_cast<size_t>(p_ - begin_); }

  [[noreturn]] void Fail(size_t offset, const std::string& what) {
    auto [line, col] = doc_.LineColumn(offset);
    throw Error(ErrorKind::kCorrupt, doc_.source_ + ": malformed JSON at line " + std::to_string(line) + ", column " +
                                         std::to_string(col) + " (byte " + std::to_string(offset) + "): " + what);
  }

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  JsonNode ParseValue(int depth) {
    if (p_ >= end_) Fail(Pos(), "unexpected end of input, expected a value");
    JsonNode n;
    n.first = n.count = 0;
    n.offset = static_cast<uint32_t>(Pos());
    switch (*p_) {
      case '{': ParseContainer(n, depth, true); break;
      case '[': ParseContainer(n, depth, false); break;
      case '"': { n.type = JsonType::kString; auto v = ParseString(); n.str_data = v.data(); n.str_size = static_cast<uint32_t>(v.size()); break; }
      case 't': Literal("true"); n.type = JsonType::kBool; n.boolean = true; break;
      case 'f': Literal("false"); n.type = JsonType::kBool; break;
      case 'n': Literal("null"); break;
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
          n.type = JsonType::kNumber;
          n.number = ParseNumber();
        } else {
          Fail(Pos(), std::string("unexpected character '") + *p_ + "', expected a value");
        }
    }
    return n;
  }

  void Literal(const char* word) {
    size_t len = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < len || std::memcmp(p_, word, len) != 0) Fail(Pos(), "invalid literal");
    p_ += len;
  }

  double ParseNumber() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) Fail(Pos(), "invalid number");
    if (*p_ == '0') ++p_;
    else while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) Fail(Pos(), "invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) Fail(Pos(), "invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    double value = 0;
    auto res = std::from_chars(start, p_, value);
    if (res.ec != std::errc() || !std::isfinite(value)) Fail(static_cast<size_t>(start - begin_), "number out of range");
    return value;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  uint32_t ParseHex4() {
    if (end_ - p_ < 4) Fail(Pos(), "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Hex(p_[i]);
      if (h < 0) Fail(Pos() + i, "invalid hex digit in \\u escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    p_ += 4;
    return v;
  }

  std::string_view ParseString() {
    ++p_;  // opening quote
    const char* start = p_;
    // Fast path: no escapes.
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        std::string_view s(start, static_cast<size_t>(p_ - start));
        ++p_;
        return s;
      }
      if (c == '\\') break;
      if (c < 0x20) Fail(Pos(), "control character in string");
      ++p_;
    }
    if (p_ >= end_) Fail(static_cast<size_t>(start - 1 - begin_), "unterminated string");
    std::string out(start, static_cast<size_t>(p_ - start));
    while (true) {
      if (p_ >= end_) Fail(static_cast<size_t>(start - 1 - begin_), "unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') { ++p_; break; }
      if (c < 0x20) Fail(Pos(), "control character in string");
      if (c != '\\') { out.push_back(static_cast<char>(c)); ++p_; continue; }
      ++p_;
      if (p_ >= end_) Fail(Pos(), "truncated escape");
      char e = *p_++;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          size_t at = Pos() - 2;
          uint32_t cp = ParseHex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') Fail(at, "lone leading surrogate in \\u escape");
            p_ += 2;
            uint32_t lo = ParseHex4();
            if (lo < 0xDC00 || lo > 0xDFFF) Fail(at, "invalid surrogate pair in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            Fail(at, "lone trailing surrogate in \\u escape");
          }
          AppendUtf8(out, cp);
          break;
        }
        default: Fail(Pos() - 1, std::string("invalid escape '\\") + e + "'");
      }
    }
    doc_.unescaped_.push_back(std::move(out));
    return doc_.unescaped_.back();
  }

  void ParseContainer(JsonNode& n, int depth, bool object) {
    if (depth >= kMaxDepth) Fail(Pos(), "nesting deeper than " + std::to_string(kMaxDepth));
    n.type = object ? JsonType::kObject : JsonType::kArray;
    const char close = object ? '}' : ']';
    ++p_;
    size_t scratch_begin = scratch_.size();
    SkipSpace();
    if (p_ < end_ && *p_ == close) {
      ++p_;
    } else {
      while (true) {
        std::string_view key;
        if (object) {
          if (p_ >= end_) Fail(Pos(), "unexpected end of input, expected a member name");
          if (*p_ != '"') Fail(Pos(), "expected a member name in double quotes");
          key = ParseString();
          SkipSpace();
          if (p_ >= end_ || *p_ != ':') Fail(Pos(), "expected ':' after a member name");
          ++p_;
          SkipSpace();
        }
        JsonNode child = ParseValue(depth + 1);
        child.key_data = key.data();
        child.key_size = static_cast<uint32_t>(key.size());
        scratch_.push_back(child);
        SkipSpace();
        if (p_ >= end_) Fail(Pos(), std::string("unexpected end of input, expected ',' or '") + close + "'");
        if (*p_ == ',') { ++p_; SkipSpace(); continue; }
        if (*p_ == close) { ++p_; break; }
        Fail(Pos(), std::string("expected ',' or '") + close + "'");
      }
    }
    n.first = static_cast<uint32_t>(doc_.nodes_.size());
    n.count = static_cast<uint32_t>(scratch_.size() - scratch_begin);
    doc_.nodes_.insert(doc_.nodes_.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(scratch_begin), scratch_.end());
    scratch_.resize(scratch_begin);
  }

  JsonDoc& doc_;
  const char* p_;
  const char* begin_;
  const char* end_;
  std::vector<JsonNode> scratch_;
};

JsonDoc JsonDoc::Parse(std::string text, std::string source) {
  JsonDoc doc;
  if (text.size() >= UINT32_MAX) throw Error(ErrorKind::kLimit, source + ": file larger than 4 GiB");
  doc.text_ = std::make_unique<std::string>(std::move(text));
  doc.source_ = std::move(source);
  doc.nodes_.reserve(doc.text_->size() / 16 + 16);
  JsonParser(doc).Run();
  return doc;
}

std::pair<size_t, size_t> JsonDoc::LineColumn(size_t offset) const {
  size_t line = 1, col = 1;
  offset = std::min(offset, text_->size());
  for (size_t i = 0; i < offset; ++i) {
    if ((*text_)[i] == '\n') { ++line; col = 1; }
    else if ((static_cast<unsigned char>((*text_)[i]) & 0xC0) != 0x80) ++col;
  }
  return {line, col};
}

// ---- JsonView ----

std::string JsonView::Describe(const std::string& what) const {
  auto [line, col] = doc_->LineColumn(node_->offset);
  return doc_->source() + ": " + (path_.empty() ? std::string("/") : path_) + ": " + what + " (line " +
         std::to_string(line) + ", column " + std::to_string(col) + ")";
}

void JsonView::Fail(const std::string& what) const { throw Error(ErrorKind::kCorrupt, Describe(what)); }

void JsonView::Expect(JsonType t, const char* what) const {
  if (node_->type != t) Fail(std::string("expected ") + what + ", found " + JsonTypeName(node_->type));
}

std::string_view JsonView::AsString() const { Expect(JsonType::kString, "a string"); return node_->str(); }
bool JsonView::AsBool() const { Expect(JsonType::kBool, "a boolean"); return node_->boolean; }
double JsonView::AsNumber() const { Expect(JsonType::kNumber, "a number"); return node_->number; }

int64_t JsonView::AsInt() const {
  double v = AsNumber();
  if (v != std::floor(v) || std::fabs(v) > 9.0e15) Fail("expected an integer, found " + std::to_string(v));
  return static_cast<int64_t>(v);
}

size_t JsonView::size() const {
  if (node_->type != JsonType::kArray && node_->type != JsonType::kObject) Fail(std::string("expected an array or object, found ") + JsonTypeName(node_->type));
  return node_->count;
}

JsonView JsonView::operator[](size_t index) const {
  Expect(JsonType::kArray, "an array");
  if (index >= node_->count) Fail("expected at least " + std::to_string(index + 1) + " elements, found " + std::to_string(node_->count));
  return JsonView(doc_, &doc_->node(node_->first + static_cast<uint32_t>(index)), path_ + "/" + std::to_string(index));
}

std::vector<JsonView> JsonView::Elements() const {
  Expect(JsonType::kArray, "an array");
  std::vector<JsonView> out;
  out.reserve(node_->count);
  for (uint32_t i = 0; i < node_->count; ++i)
    out.emplace_back(doc_, &doc_->node(node_->first + i), path_ + "/" + std::to_string(i));
  return out;
}

std::vector<JsonView> JsonView::Members() const {
  Expect(JsonType::kObject, "an object");
  std::vector<JsonView> out;
  out.reserve(node_->count);
  for (uint32_t i = 0; i < node_->count; ++i) {
    const JsonNode& c = doc_->node(node_->first + i);
    out.emplace_back(doc_, &c, path_ + "/" + std::string(c.key()));
  }
  return out;
}

std::optional<JsonView> JsonView::Find(std::string_view key) const {
  Expect(JsonType::kObject, "an object");
  // Last duplicate wins, as in serde_json's map deserialisation.
  for (uint32_t i = node_->count; i-- > 0;) {
    const JsonNode& c = doc_->node(node_->first + i);
    if (c.key() == key) return JsonView(doc_, &c, path_ + "/" + std::string(key));
  }
  return std::nullopt;
}

JsonView JsonView::Get(std::string_view key) const {
  auto v = Find(key);
  if (!v) Fail("missing field \"" + std::string(key) + "\"");
  return *v;
}

bool JsonView::Has(std::string_view key) const {
  auto v = Find(key);
  return v && !v->is_null();
}

std::string_view JsonView::GetString(std::string_view key, std::string_view fallback) const {
  auto v = Find(key);
  return v && !v->is_null() ? v->AsString() : fallback;
}

bool JsonView::GetBool(std::string_view key, bool fallback) const {
  auto v = Find(key);
  return v && !v->is_null() ? v->AsBool() : fallback;
}

int64_t JsonView::GetInt(std::string_view key, int64_t fallback) const {
  auto v = Find(key);
  return v && !v->is_null() ? v->AsInt() : fallback;
}

}  // namespace gemma4::tok
