// Gemma 4 value syntax -> JSON, incrementally (gemma4/gemma_json_stream.h).
#include "gemma4/gemma_json_stream.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace gemma4 {
namespace {

using nlohmann::json;

constexpr std::string_view kGemmaStringQuote = "<|\"|>";

bool GemmaSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view TrimGemmaSpace(std::string_view s) {
  while (!s.empty() && GemmaSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && GemmaSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A string as JSON text, invalid UTF-8 replaced by U+FFFD (the reply has to be valid JSON).
std::string JsonOfString(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// JSON-escaped text of a piece of a string, without the quotes. Escaping the pieces one by one
// gives the escaping of the whole as long as no piece ends inside a UTF-8 sequence (see below).
std::string EscapedPiece(std::string_view s) {
  std::string quoted = JsonOfString(s);
  return quoted.substr(1, quoted.size() - 2);
}

// The longest prefix of `s` that does not end inside a UTF-8 sequence that more bytes could still
// complete. After it the decoder that escapes strings is between characters (a lead byte whose
// sequence is cut is what is held back; stray continuation bytes are replaced on their own), so
// escaping what follows separately changes nothing.
size_t WholeUtf8Prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if (c < 0x80) return n;
    if (c >= 0xC0) {
      const size_t length = c >= 0xF8 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return length > back ? n - back : n;
    }
  }
  return n;
}

// How many trailing bytes of `s` could be the start of a <|"|> quote.
size_t QuoteStartHeld(std::string_view s) {
  for (size_t n = std::min(s.size(), kGemmaStringQuote.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == kGemmaStringQuote.substr(0, n)) return n;
  }
  return 0;
}

// True when `s` could still become the <|"|> quote but is too short to tell.
bool MaybeQuoteStart(std::string_view s) {
  return s.size() < kGemmaStringQuote.size() && kGemmaStringQuote.substr(0, s.size()) == s;
}

// A bare word: true/false/null (Python's None too), a JSON number, else the word as a string.
std::string WordAsJson(std::string_view word) {
  if (word == "true" || word == "false" || word == "null") return std::string(word);
  if (word == "None") return "null";
  try {
    const json number = json::parse(word);
    if (number.is_number()) return number.dump();
  } catch (const json::exception&) {
  }
  return JsonOfString(word);
}

}  // namespace

GemmaJsonStream::Status GemmaJsonStream::status() const {
  if (malformed_) return Status::kMalformed;
  return expect_ == Expect::kEnd && leaf_ == Leaf::kNone ? Status::kComplete : Status::kOpen;
}

GemmaJsonStream::Status GemmaJsonStream::Feed(std::string_view text, std::string& out) {
  if (malformed_) return Status::kMalformed;
  pending_.append(text);
  Run(out, /*final=*/false);
  return status();
}

GemmaJsonStream::Status GemmaJsonStream::Finish(std::string& out) {
  if (!malformed_) Run(out, /*final=*/true);
  if (status() == Status::kOpen) malformed_ = true;
  return status();
}

std::string GemmaJsonStream::Closing() const {
  std::string closing = in_string_ ? "\"" : "";
  for (auto it = containers_.rbegin(); it != containers_.rend(); ++it) closing += *it == '{' ? '}' : ']';
  return closing;
}

void GemmaJsonStream::Consume(size_t n) {
  pos_ += n;
  consumed_ += n;
}

void GemmaJsonStream::Write(std::string& out, std::string_view json) {
  out += json;
  converted_ = consumed_;
}

void GemmaJsonStream::WriteValue(std::string& out, std::string_view json) {
  if (key_waiting_) wrote_member_ = true;
  key_waiting_ = false;
  std::string text = std::move(before_value_);
  before_value_.clear();
  text += json;
  Write(out, text);
}

void GemmaJsonStream::KeyDone(std::string_view key, Expect next) {
  before_value_ += JsonOfString(key) + ":";
  key_waiting_ = true;
  leaf_ = Leaf::kNone;
  leaf_text_.clear();
  expect_ = next;
}

void GemmaJsonStream::ValueDone() {
  leaf_ = Leaf::kNone;
  leaf_text_.clear();
  expect_ = containers_.empty() ? Expect::kEnd : Expect::kAfterValue;
}

void GemmaJsonStream::Close(std::string& out) {
  const char open = containers_.back();
  containers_.pop_back();
  Consume(1);
  Write(out, open == '{' ? "}" : "]");
  ValueDone();
}

// Reads as far as the input allows. Each step either consumes input or returns for more.
void GemmaJsonStream::Run(std::string& out, bool final) {
  Step(out, final);
  pending_.erase(0, pos_);  // once per piece: erasing per step would be quadratic in a long input
  pos_ = 0;
}

void GemmaJsonStream::Step(std::string& out, bool final) {
  while (!malformed_) {
    if (leaf_ != Leaf::kNone) {
      if (!ReadLeaf(out, final)) return;
      continue;
    }
    std::string_view in = Rest();
    size_t space = 0;
    while (space < in.size() && GemmaSpace(in[space])) ++space;
    Consume(space);
    in = Rest();
    if (in.empty()) return;
    const char c = in[0];
    switch (expect_) {
      case Expect::kEnd:
        malformed_ = true;  // text after the value
        return;
      case Expect::kColon:
        if (c != ':') {
          malformed_ = true;
          return;
        }
        Consume(1);
        expect_ = Expect::kValue;
        break;
      case Expect::kAfterValue:
        if (c == ',') {
          Consume(1);
          before_value_ = ",";
          expect_ = containers_.back() == '{' ? Expect::kKey : Expect::kValue;
        } else if (c == (containers_.back() == '{' ? '}' : ']')) {
          Close(out);
        } else {
          malformed_ = true;
          return;
        }
        break;
      case Expect::kKeyOrClose:
        if (c == '}') {
          Close(out);
          break;
        }
        [[fallthrough]];
      case Expect::kKey:
        if (!StartKey(final)) return;
        break;
      case Expect::kValueOrClose:
        if (c == ']') {
          Close(out);
          break;
        }
        [[fallthrough]];
      case Expect::kValue:
        if (!StartValue(out, final)) return;
        break;
    }
  }
}

bool GemmaJsonStream::StartValue(std::string& out, bool final) {
  const std::string_view in = Rest();
  if (!final && MaybeQuoteStart(in)) return false;  // "<|" may be a quote or a word
  leaf_is_key_ = false;
  leaf_text_.clear();
  const char c = in[0];
  if (in.starts_with(kGemmaStringQuote)) {
    Consume(kGemmaStringQuote.size());
    WriteValue(out, "\"");
    in_string_ = true;
    leaf_ = Leaf::kQuoted;
  } else if (c == '"') {
    Consume(1);
    escape_ = false;
    leaf_ = Leaf::kJsonString;
  } else if (c == '\'') {
    Consume(1);
    leaf_ = Leaf::kSingleString;
  } else if (c == '{' || c == '[') {
    if (containers_.size() >= kMaxDepth) {
      malformed_ = true;  // refused rather than followed without bound
      return false;
    }
    Consume(1);
    containers_ += c;
    WriteValue(out, std::string(1, c));
    expect_ = c == '{' ? Expect::kKeyOrClose : Expect::kValueOrClose;
  } else {
    leaf_ = Leaf::kWord;  // runs to the next , } or ]
  }
  return true;
}

bool GemmaJsonStream::StartKey(bool final) {
  const std::string_view in = Rest();
  if (!final && MaybeQuoteStart(in)) return false;
  leaf_is_key_ = true;
  leaf_text_.clear();
  const char c = in[0];
  if (in.starts_with(kGemmaStringQuote)) {
    Consume(kGemmaStringQuote.size());
    leaf_ = Leaf::kQuoted;
  } else if (c == '"') {
    Consume(1);
    escape_ = false;
    leaf_ = Leaf::kJsonString;
  } else if (c == '\'') {
    Consume(1);
    leaf_ = Leaf::kSingleString;
  } else {
    leaf_ = Leaf::kBareKey;  // runs to the next ':'
  }
  return true;
}

bool GemmaJsonStream::ReadLeaf(std::string& out, bool final) {
  switch (leaf_) {
    case Leaf::kQuoted: return ReadQuoted(out, final);
    case Leaf::kJsonString: return ReadJsonString(out, final);
    case Leaf::kSingleString: return ReadSingleString(out, final);
    case Leaf::kWord: return ReadWord(out, final);
    case Leaf::kBareKey: return ReadBareKey(final);
    case Leaf::kNone: break;
  }
  return true;
}

// <|"|>text<|"|>: the text is taken as it is (no escapes). A value's text goes out as it comes.
bool GemmaJsonStream::ReadQuoted(std::string& out, bool final) {
  const std::string_view in = Rest();
  const size_t end = in.find(kGemmaStringQuote);
  if (end == std::string::npos) {
    if (final) {
      malformed_ = true;  // never closed
      return false;
    }
    size_t take = in.size() - QuoteStartHeld(in);
    if (!leaf_is_key_) take = WholeUtf8Prefix(in.substr(0, take));
    if (take == 0) return false;
    const std::string piece(in.substr(0, take));
    Consume(take);
    if (leaf_is_key_) leaf_text_ += piece;
    else Write(out, EscapedPiece(piece));
    return false;
  }
  const std::string piece(in.substr(0, end));
  Consume(end + kGemmaStringQuote.size());
  if (leaf_is_key_) {
    leaf_text_ += piece;
    KeyDone(leaf_text_, Expect::kColon);
  } else {
    Write(out, EscapedPiece(piece) + "\"");
    in_string_ = false;
    ValueDone();
  }
  return true;
}

// "json": runs to the first quote no backslash escapes; decoded as JSON (a bad escape or invalid
// UTF-8 is malformed).
bool GemmaJsonStream::ReadJsonString(std::string& out, bool final) {
  const std::string_view in = Rest();
  size_t i = 0;
  for (; i < in.size(); ++i) {
    if (escape_) {
      escape_ = false;
    } else if (in[i] == '\\') {
      escape_ = true;
    } else if (in[i] == '"') {
      break;
    }
  }
  leaf_text_.append(in.substr(0, i));
  if (i == in.size()) {
    Consume(i);
    if (final) malformed_ = true;
    return false;
  }
  Consume(i + 1);
  std::string decoded;
  try {
    decoded = json::parse("\"" + leaf_text_ + "\"").get<std::string>();
  } catch (const json::exception&) {
    malformed_ = true;
    return false;
  }
  if (leaf_is_key_) {
    KeyDone(decoded, Expect::kColon);
  } else {
    WriteValue(out, JsonOfString(decoded));
    ValueDone();
  }
  return true;
}

// 'python': \' and \\ are its escapes, any other backslash is itself.
bool GemmaJsonStream::ReadSingleString(std::string& out, bool final) {
  const std::string_view in = Rest();
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '\\') {
      if (i + 1 == in.size() && !final) break;  // its meaning comes with the next byte
      if (i + 1 < in.size() && (in[i + 1] == '\'' || in[i + 1] == '\\')) {
        leaf_text_ += in[i + 1];
        i += 2;
        continue;
      }
    } else if (c == '\'') {
      Consume(i + 1);
      if (leaf_is_key_) {
        KeyDone(leaf_text_, Expect::kColon);
      } else {
        WriteValue(out, JsonOfString(leaf_text_));
        ValueDone();
      }
      return true;
    }
    leaf_text_ += c;
    ++i;
  }
  Consume(i);
  if (final) malformed_ = true;
  return false;
}

bool GemmaJsonStream::ReadWord(std::string& out, bool final) {
  const std::string_view in = Rest();
  const size_t end = in.find_first_of(",}]");
  leaf_text_.append(in.substr(0, end));
  Consume(end == std::string::npos ? in.size() : end);
  if (end == std::string::npos && !final) return false;
  const std::string_view word = TrimGemmaSpace(leaf_text_);
  if (word.empty()) {
    malformed_ = true;
    return false;
  }
  WriteValue(out, WordAsJson(word));
  ValueDone();
  return true;
}

// A bare key runs to the next ':' and holds none of {}[],.
bool GemmaJsonStream::ReadBareKey(bool final) {
  const std::string_view in = Rest();
  const size_t end = in.find_first_of(":{}[],");
  if (end != std::string::npos && in[end] != ':') {
    malformed_ = true;
    return false;
  }
  leaf_text_.append(in.substr(0, end));
  if (end == std::string::npos) {
    Consume(in.size());
    if (final) malformed_ = true;
    return false;
  }
  Consume(end + 1);
  const std::string key(TrimGemmaSpace(leaf_text_));
  if (key.empty()) {
    malformed_ = true;
    return false;
  }
  KeyDone(key, Expect::kValue);
  return true;
}

}  // namespace gemma4
