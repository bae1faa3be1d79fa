// Decoder implementations: Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace, Sequence.
#include "tokenizer/decoders.h"

#include "gemma4/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace gemma4::tok {
namespace {

constexpr const char* kReplacementChar = "\xEF\xBF\xBD";

class SequenceDecoder : public Decoder {
 public:
  std::vector<std::unique_ptr<Decoder>> items;
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items) d->DecodeChain(tokens);
  }
  bool HasByteFallback() const override {
    for (const auto& d : items) if (d->HasByteFallback()) return true;
    return false;
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = pattern_.ReplaceAll(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
      if (count == 0) return;
      if (!FirstInvalidUtf8(bytes)) {
        out.push_back(bytes);
      } else {
        // HF writes one U+FFFD per byte token of an invalid run.
        for (size_t k = 0; k < count; ++k) out.emplace_back(kReplacementChar);
      }
      bytes.clear();
      count = 0;
    };
    for (std::string& t : tokens) {
      int b = ParseByteToken(t);
      if (b >= 0) {
        bytes.push_back(static_cast<char>(b));
        ++count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
  bool HasByteFallback() const override { return true; }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string all;
    size_t n = 0;
    for (const auto& t : tokens) n += t.size();
    all.reserve(n);
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(uint32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, uint32_t>> chars;  // (byte offset, code point)
      size_t i = 0;
      while (i < t.size()) {
        size_t at = i;
        chars.emplace_back(at, NextCodePoint(t, i));
      }
      size_t start_cut = 0;
      for (size_t k = 0; k < start_ && k < chars.size(); ++k) {
        if (chars[k].second == content_) start_cut = k + 1;
        else break;
      }
      size_t stop_cut = chars.size();
      for (size_t k = 0; k < stop_ && k < chars.size(); ++k) {
        size_t index = chars.size() - k - 1;
        if (chars[index].second == content_) stop_cut = index;
        else break;
      }
      if (stop_cut <= start_cut) { t.clear(); continue; }
      size_t b0 = chars[start_cut].first;
      size_t b1 = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
      t = t.substr(b0, b1 - b0);
    }
  }

 private:
  uint32_t content_;
  size_t start_, stop_;
};

class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    std::string mapped;
    for (const std::string& t : tokens) {
      mapped.clear();
      bool all = true;
      size_t i = 0;
      while (i < t.size()) {
        int b = CharToByte(NextCodePoint(t, i));
        if (b < 0) { all = false; break; }
        mapped.push_back(static_cast<char>(b));
      }
      bytes += all ? mapped : t;
    }
    tokens.assign(1, Utf8Lossy(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string& t = tokens[k];
      std::string out;
      out.reserve(t.size());
      size_t i = 0;
      while (i < t.size()) {
        if (t.compare(i, replacement_.size(), replacement_) == 0) {
          if (!(k == 0 && prepend_)) out.push_back(' ');
          i += replacement_.size();
        } else {
          out.push_back(t[i]);
          ++i;
        }
      }
      t = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool prepend_;
};

}  // namespace

int ParseByteToken(std::string_view t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  // u8::from_str_radix(&t[3..5], 16): two hex digits, or a '+' and one digit.
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (t[3] == '+') return hex(t[4]);
  int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

std::unique_ptr<Decoder> MakeDecoder(const JsonView& json) {
  if (json.is_null()) return nullptr;
  std::string_view type = json.Get("type").AsString();
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceDecoder>();
    for (const JsonView& item : json.Get("decoders").Elements()) {
      if (auto d = MakeDecoder(item)) seq->items.push_back(std::move(d));
    }
    return seq;
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(Pattern::FromJson(json.Get("pattern")), std::string(json.Get("content").AsString()));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    std::string content(json.Get("content").AsString());
    size_t i = 0;
    if (content.empty()) json.Get("content").Fail("expected a single character");
    uint32_t cp = NextCodePoint(content, i);
    int64_t start = json.GetInt("start", 0), stop = json.GetInt("stop", 0);
    if (start < 0 || stop < 0) json.Fail("start and stop must be non-negative");
    return std::make_unique<StripDecoder>(cp, static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    std::string replacement(json.GetString("replacement", "\xE2\x96\x81"));
    if (replacement.empty()) json.Get("replacement").Fail("expected a single character");
    bool prepend = true;
    if (json.Has("prepend_scheme")) prepend = json.Get("prepend_scheme").AsString() != "never";
    else if (json.Has("add_prefix_space")) prepend = json.Get("add_prefix_space").AsBool();
    return std::make_unique<MetaspaceDecoder>(std::move(replacement), prepend);
  }
  throw Error(ErrorKind::kUnsupported, json.Get("type").Describe("decoder type \"" + std::string(type) + "\" is not supported"));
}

}  // namespace gemma4::tok
