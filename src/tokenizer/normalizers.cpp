// Normalizer implementations (HF tokenizers normalizers/*): Replace, Prepend, NFC/NFD/NFKC/NFKD,
// Lowercase, Strip, StripAccents, ByteLevel, Sequence.
#include "tokenizer/normalizers.h"

#include <vector>

#include "gemma4/error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace gemma4::tok {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  std::vector<std::unique_ptr<Normalizer>> items;
  void Apply(std::string& text) const override {
    for (const auto& n : items) n->Apply(text);
  }
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Apply(std::string& text) const override { text = pattern_.ReplaceAll(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void Apply(std::string& text) const override {
    if (!text.empty()) text.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormForm form) : form_(form) {}
  void Apply(std::string& text) const override { text = Normalize(text, form_); }

 private:
  NormForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void Apply(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) AppendLowercase(out, NextCodePoint(text, i));
    text = std::move(out);
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Apply(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t j = begin;
        if (!IsWhitespace(NextCodePoint(text, j))) break;
        begin = j;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t j = end - 1;
        while (j > begin && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80) --j;
        size_t k = j;
        if (!IsWhitespace(NextCodePoint(text, k))) break;
        end = j;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  void Apply(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
      size_t start = i;
      uint32_t cp = NextCodePoint(text, i);
      if (!IsCombiningMark(cp)) out.append(text, start, i - start);
    }
    text = std::move(out);
  }
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void Apply(std::string& text) const override {
    std::string out;
    out.reserve(text.size() * 2);
    for (char c : text) AppendUtf8(out, ByteToChar(static_cast<uint8_t>(c)));
    text = std::move(out);
  }
};

}  // namespace

std::unique_ptr<Normalizer> MakeNormalizer(const JsonView& json) {
  if (json.is_null()) return nullptr;
  std::string_view type = json.Get("type").AsString();
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceNormalizer>();
    for (const JsonView& item : json.Get("normalizers").Elements()) {
      if (auto n = MakeNormalizer(item)) seq->items.push_back(std::move(n));
    }
    return seq;
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(Pattern::FromJson(json.Get("pattern")),
                                               std::string(json.Get("content").AsString()));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(std::string(json.Get("prepend").AsString()));
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormForm::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormForm::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormForm::kNFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(json.GetBool("strip_left", true), json.GetBool("strip_right", true));
  }
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  throw Error(ErrorKind::kUnsupported, json.Get("type").Describe("normalizer type \"" + std::string(type) + "\" is not supported"));
}

}  // namespace gemma4::tok
