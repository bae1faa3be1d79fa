// GBNF parsing (errors name line:column), the matcher and its token mask over a small byte-fallback
// vocabulary, and JSON Schema conversion: every shape is walked with random choices among the
// allowed tokens (a model with random weights) and each finished output is checked against the
// schema by hand.
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"
#include "grammar/matcher.h"
#include "grammar/grammar_access.h"
#include "grammar/vocabulary.h"

namespace gemma4 {
namespace {

using nlohmann::json;

constexpr int32_t kEos = 1;
constexpr int32_t kByte0 = 6;  // <0x00> .. <0xFF> at 6..261

// A Gemma-like tokenizer: specials, 256 byte-fallback tokens, a few multi-byte pieces.
const Tokenizer& TestTokenizer() {
  static const Tokenizer tokenizer = [] {
    json vocab = json::object();
    const char* specials[] = {"<pad>", "<eos>", "<|tool_call>", "<tool_call|>", "<|\"|>", "<bos>"};
    json added = json::array();
    for (int i = 0; i < 6; ++i) {
      vocab[specials[i]] = i;
      added.push_back({{"id", i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      vocab[name] = kByte0 + b;
    }
    int id = kByte0 + 256;
    for (const char* piece : {"{\"", "\":", "\",\"", "\"}", "true", "false", "null", "12", "ab", "call:", "\u2581",
                              "\u2581the", "[", "]", "},{", "0.5", "-1", "aaaa", "\":\"", "name", "\xC3\xA9t\xC3\xA9"}) {
      vocab[piece] = id++;
    }
    json tok = {{"version", "1.0"},
                {"added_tokens", added},
                {"normalizer", nullptr},
                {"pre_tokenizer", nullptr},
                {"post_processor", nullptr},
                {"decoder", {{"type", "Sequence"},
                             {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                                                       {{"type", "ByteFallback"}},
                                                       {{"type", "Fuse"}}})}}},
                {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}, {"byte_fallback", true}}}};
    return Tokenizer::FromJson(tok.dump(), "test-tokenizer.json");
  }();
  return tokenizer;
}

std::shared_ptr<const GrammarVocabulary> Vocab() {
  static const auto vocab = [] {
    const int32_t eos[] = {kEos};
    return GrammarVocabulary::Build(TestTokenizer(), eos);
  }();
  return vocab;
}

std::string ErrorOf(const std::function<void()>& f, ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "(no error)";
}

std::set<int32_t> Allowed(grammar::Matcher& m) {
  std::vector<uint64_t> bits;
  m.FillMask(bits);
  std::set<int32_t> out;
  for (size_t i = 0; i < bits.size() * 64; ++i) {
    if ((bits[i >> 6] >> (i & 63)) & 1) out.insert(static_cast<int32_t>(i));
  }
  return out;
}

int32_t Piece(const std::string& text) { return *TestTokenizer().TokenToId(text); }

void FeedBytes(grammar::Matcher& m, std::string_view text) {
  for (unsigned char c : text) m.Accept(kByte0 + c);
}

// Random tokens among the allowed ones until EOS; the text of the tokens (specials as their text).
std::string Walk(const std::shared_ptr<const Grammar>& g, uint32_t seed, bool* finished, size_t max_steps = 3000) {
  grammar::Matcher m(g, Vocab());
  std::mt19937 rng(seed);
  std::string out;
  const auto& v = GrammarAccess::Of(*Vocab());
  for (size_t step = 0; step < max_steps; ++step) {
    std::set<int32_t> allowed = Allowed(m);
    EXPECT_FALSE(allowed.empty()) << "no token allowed after: " << out;
    if (allowed.empty()) break;
    if (allowed.count(kEos) && (allowed.size() == 1 || rng() % 4 == 0)) {
      m.Accept(kEos);
      *finished = true;
      return out;
    }
    allowed.erase(kEos);
    auto it = allowed.begin();
    std::advance(it, rng() % allowed.size());
    m.Accept(*it);
    out += v.in_trie[*it] ? std::string(v.TokenBytes(*it)) : std::string(TestTokenizer().IdToToken(*it));
  }
  *finished = false;
  return out;
}

// ---- GBNF syntax and its errors ----

TEST(GbnfParser, ErrorsNameLineAndColumn) {
  ErrorKind kind{};
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\" b\n", "g"); }, &kind), "g:1:14: undefined rule 'b'");
  EXPECT_EQ(kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= x\nx ::= \"abc\n", "g"); }), "g:2:11: unterminated string literal");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("a ::= \"x\"\n", "g"); }), "g:1:1: no 'root' rule (matching starts there)");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= [b-a]", "g"); }), "g:1:14: character range is reversed (end before start)");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\"{3,1}", "g"); }), "g:1:13: repetition {m,n} has n < m");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\"\nroot ::= \"b\"", "g"); }), "g:2:1: rule 'root' is defined twice");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= * \"a\"", "g"); }), "g:1:10: a repetition operator needs something before it");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"\\q\"", "g"); }), "g:1:11: unknown escape '\\q'");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= (\"a\"", "g"); }), "g:1:10: unclosed '('");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\" @", "g"); }), "g:1:14: unexpected character '@'");
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("", "g"); }), "g:1:1: the grammar is empty (it needs at least a 'root' rule)");
}

TEST(GbnfParser, LeftRecursionAndEndlessRulesAreRefused) {
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= x\nx ::= x \"a\" | \"b\"", "g"); }),
            "g:2:1: rule 'x' can reach itself without consuming input (left recursion, or a repetition of something "
            "that can be empty)");
  EXPECT_NE(ErrorOf([] { Grammar::FromGbnf("root ::= (\"\" | \"a\"?)*", "g"); }).find("can reach itself"), std::string::npos);
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\" root", "g"); }),
            "g:1:1: rule 'root' can never finish (every alternative recurses forever)");
  // Right recursion is fine.
  EXPECT_NO_THROW(Grammar::FromGbnf("root ::= \"a\" root | \"b\"", "g"));
}

TEST(GbnfParser, NestingAndSizeLimits) {
  ErrorKind kind{};
  std::string deep = "root ::= " + std::string(200, '(') + "\"a\"" + std::string(200, ')');
  EXPECT_EQ(ErrorOf([&] { Grammar::FromGbnf(deep, "g"); }, &kind), "g:1:138: parentheses nested deeper than 128 levels");
  EXPECT_EQ(kind, ErrorKind::kLimit);
  EXPECT_EQ(ErrorOf([] { Grammar::FromGbnf("root ::= \"a\"{1000000}", "g"); }, &kind),
            "g:1:20: repetition count above the limit of 100000");
  EXPECT_EQ(kind, ErrorKind::kLimit);
  EXPECT_NE(ErrorOf([] { Grammar::FromGbnf("root ::= ((\"ab\"{50000}){50000})", "g"); }, &kind).find("more than 4194304 elements"),
            std::string::npos);
  EXPECT_EQ(kind, ErrorKind::kLimit);
}

TEST(GbnfParser, SyntaxAccepted) {
  auto g = Grammar::FromGbnf(R"(# a comment
root ::= greeting ("," ws? name){0,2} "!"   # trailing comment
greeting ::= "hi" | "hello"
name ::= [a-zA-Z_] [a-z0-9\-]* | "\u00e9" | [^\x00-\x7F]+
ws ::= [ \t\n]
)",
                             "g");
  EXPECT_NE(g->text().find("greeting"), std::string::npos);
}

// ---- The matcher ----

TEST(Matcher, MaskFollowsTheGrammarAndEosOnlyWhenComplete) {
  auto g = Grammar::FromGbnf(R"(root ::= "ab" [0-9]{1,2})", "g");
  grammar::Matcher m(g, Vocab());
  std::set<int32_t> first = Allowed(m);
  EXPECT_TRUE(first.count(kByte0 + 'a'));
  EXPECT_TRUE(first.count(Piece("ab")));
  EXPECT_FALSE(first.count(kByte0 + 'b'));
  EXPECT_FALSE(first.count(kEos));
  EXPECT_FALSE(first.count(Piece("aaaa")));
  m.Accept(Piece("ab"));
  std::set<int32_t> digits = Allowed(m);
  EXPECT_TRUE(digits.count(kByte0 + '7'));
  EXPECT_TRUE(digits.count(Piece("12")));
  EXPECT_FALSE(digits.count(kEos));
  m.Accept(kByte0 + '7');
  std::set<int32_t> after = Allowed(m);
  EXPECT_TRUE(after.count(kEos));
  EXPECT_TRUE(after.count(kByte0 + '3'));
  EXPECT_FALSE(after.count(Piece("12")));  // would make three digits
  m.Accept(kByte0 + '3');
  EXPECT_EQ(Allowed(m), std::set<int32_t>{kEos});  // complete and nothing can follow: EOS alone
  EXPECT_TRUE(m.IsComplete());
  EXPECT_FALSE(m.CanContinue());
}

TEST(Matcher, RejectsDisallowedTokens) {
  auto g = Grammar::FromGbnf(R"(root ::= "x")", "g");
  grammar::Matcher m(g, Vocab());
  EXPECT_EQ(ErrorOf([&] { m.Accept(kByte0 + 'y'); }), "grammar: token " + std::to_string(kByte0 + 'y') + " is not allowed here");
  EXPECT_EQ(ErrorOf([&] { m.Accept(kEos); }), "grammar: token 1 is not allowed here");
  EXPECT_EQ(ErrorOf([&] { m.Accept(99999); }), "grammar: token 99999 is outside the vocabulary");
}

TEST(Matcher, SpecialTokensOnlyWhereNamed) {
  auto g = Grammar::FromGbnf(R"(root ::= <|tool_call> "call:" [a-z]+ <[3]>)", "g");
  grammar::Matcher m(g, Vocab());
  EXPECT_EQ(Allowed(m), std::set<int32_t>{2});
  m.Accept(2);
  std::set<int32_t> next = Allowed(m);
  EXPECT_TRUE(next.count(Piece("call:")));
  EXPECT_FALSE(next.count(2));
  FeedBytes(m, "call:ab");
  next = Allowed(m);
  EXPECT_TRUE(next.count(3));
  EXPECT_FALSE(next.count(4));  // <|"|> is special and not named here
  EXPECT_FALSE(next.count(kEos));
  m.Accept(3);
  EXPECT_EQ(Allowed(m), std::set<int32_t>{kEos});

  // Free text never admits a special token.
  grammar::Matcher any(Grammar::FromGbnf("root ::= .*", "g"), Vocab());
  std::set<int32_t> all = Allowed(any);
  for (int32_t special : {0, 2, 3, 4, 5}) EXPECT_FALSE(all.count(special)) << special;
  EXPECT_TRUE(all.count(kEos));

  EXPECT_EQ(ErrorOf([] { grammar::Matcher bad(Grammar::FromGbnf("root ::= \"a\"\n  <|nope|>", "g"), Vocab()); }),
            "g:2:3: no special token <|nope|> in this tokenizer");
  EXPECT_EQ(ErrorOf([] { grammar::Matcher bad(Grammar::FromGbnf("root ::= <[5000]>", "g"), Vocab()); }),
            "g:1:10: token id 5000 is outside the vocabulary of 283");
}

TEST(Matcher, Utf8ClassesMatchByteFallbackTokens) {
  auto g = Grammar::FromGbnf(R"(root ::= [é-ê] "t" [^a-z])", "g");
  grammar::Matcher m(g, Vocab());
  std::set<int32_t> first = Allowed(m);
  EXPECT_TRUE(first.count(kByte0 + 0xC3));
  EXPECT_FALSE(first.count(kByte0 + 0xA9));
  m.Accept(kByte0 + 0xC3);
  std::set<int32_t> second = Allowed(m);
  EXPECT_TRUE(second.count(kByte0 + 0xA9));
  EXPECT_TRUE(second.count(kByte0 + 0xAA));
  EXPECT_FALSE(second.count(kByte0 + 0xA8));
  // "été" as one token: é t é, where the last é is in [^a-z].
  grammar::Matcher whole(g, Vocab());
  EXPECT_TRUE(Allowed(whole).count(Piece("\xC3\xA9t\xC3\xA9")));
  whole.Accept(Piece("\xC3\xA9t\xC3\xA9"));
  EXPECT_TRUE(whole.IsComplete());
}

TEST(Matcher, SpaceTokensDecodeThroughTheTokenizer) {
  // '▁' is a space for this tokenizer's decoder: " the" is a valid continuation.
  auto g = Grammar::FromGbnf(R"(root ::= "a" " the" | "a ")", "g");
  grammar::Matcher m(g, Vocab());
  m.Accept(kByte0 + 'a');
  std::set<int32_t> next = Allowed(m);
  EXPECT_TRUE(next.count(Piece("\u2581the")));
  EXPECT_TRUE(next.count(Piece("\u2581")));
}

TEST(Matcher, DeepParsesAreDroppedAndAmbiguityIsBounded) {
  // Right recursion deeper than the stack limit stops being offered instead of growing memory.
  auto g = Grammar::FromGbnf(R"g(root ::= "(" root ")" | "x")g", "g");
  grammar::Matcher m(g, Vocab());
  size_t depth = 0;
  while (Allowed(m).count(kByte0 + '(') && depth < 5000) {
    m.Accept(kByte0 + '(');
    ++depth;
  }
  EXPECT_GT(depth, 500u);
  EXPECT_LT(depth, 5000u);
  EXPECT_TRUE(Allowed(m).count(kByte0 + 'x'));
  // Parses that differ in what they still owe ("y" or "z" for every "x"): 2^n stacks after n
  // bytes, so the parse limit (1024) is hit with an error instead of growing without bound.
  auto ambiguous = Grammar::FromGbnf(R"g(root ::= s
s ::= "x" s "y" | "x" s "z" | "w")g",
                                     "g");
  grammar::Matcher a(ambiguous, Vocab());
  ErrorKind kind{};
  std::string error = ErrorOf([&] {
    for (int i = 0; i < 20; ++i) a.Accept(kByte0 + 'x');
  }, &kind);
  EXPECT_EQ(kind, ErrorKind::kLimit) << error;
  EXPECT_NE(error.find("more than 1024 parses are alive at once"), std::string::npos) << error;
}

TEST(Matcher, CachedMasksEqualFreshOnes) {
  // Inside the string the state recurs, so later masks come from the cache; each must equal the
  // mask a fresh matcher computes for the same input.
  auto g = Grammar::FromGbnf(R"(root ::= "\"" [a-z]{0,3} [a-z]* "\"" | "x")", "g");
  grammar::Matcher reused(g, Vocab());
  std::string fed;
  for (char c : std::string("\"abcdefab")) {
    reused.Accept(kByte0 + static_cast<unsigned char>(c));
    fed += c;
    grammar::Matcher fresh(g, Vocab());
    FeedBytes(fresh, fed);
    EXPECT_EQ(Allowed(reused), Allowed(fresh)) << fed;
    EXPECT_EQ(Allowed(reused), Allowed(fresh)) << fed << " (twice)";
  }
}

TEST(Matcher, MaskSetsDisallowedLogitsToMinusInfinity) {
  auto g = Grammar::FromGbnf(R"(root ::= "ab")", "g");
  grammar::Matcher m(g, Vocab());
  std::vector<float> logits(Vocab()->vocab_size() + 5, 1.0f);  // a padded logits row
  m.ApplyMask(logits);
  size_t finite = 0;
  for (float x : logits) finite += std::isfinite(x);
  EXPECT_EQ(finite, 2u);  // "a" and "ab"
  EXPECT_TRUE(std::isfinite(logits[Piece("ab")]));
  EXPECT_FALSE(std::isfinite(logits.back()));
}

// ---- JSON Schema ----

json WalkJson(const json& schema, uint32_t seed, bool strict = false) {
  Grammar::JsonSchemaOptions options;
  options.strict = strict;
  auto g = Grammar::FromJsonSchema(schema, options);
  bool finished = false;
  const std::string text = Walk(g, seed, &finished);
  EXPECT_TRUE(finished) << text;
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "not JSON: " << text << " (" << e.what() << ")";
    return nullptr;
  }
}

TEST(JsonSchema, ObjectsWithRequiredAndOptionalProperties) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "name":{"type":"string","maxLength":6},"age":{"type":"integer"},"ok":{"type":"boolean"},"note":{"type":"null"}},
      "required":["name","ok"],"additionalProperties":false})");
  std::set<std::string> seen_optional;
  for (uint32_t seed = 0; seed < 40; ++seed) {
    const json v = WalkJson(schema, seed);
    ASSERT_TRUE(v.is_object());
    ASSERT_TRUE(v.contains("name") && v["name"].is_string());
    EXPECT_LE(v["name"].get<std::string>().size(), 6u * 4);
    ASSERT_TRUE(v.contains("ok") && v["ok"].is_boolean());
    if (v.contains("age")) {
      EXPECT_TRUE(v["age"].is_number_integer());
      seen_optional.insert("age");
    }
    if (v.contains("note")) {
      EXPECT_TRUE(v["note"].is_null());
      seen_optional.insert("note");
    }
    for (const auto& [k, _] : v.items()) EXPECT_TRUE(k == "name" || k == "age" || k == "ok" || k == "note") << k;
  }
  EXPECT_EQ(seen_optional.size(), 2u);  // optional properties are both taken and left out
}

TEST(JsonSchema, ArraysEnumsConstAndTypeArrays) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "tags":{"type":"array","items":{"enum":["red","green",3,null]},"minItems":1,"maxItems":3},
      "kind":{"const":{"v":[1,"x"]}},
      "either":{"type":["string","integer"],"maxLength":2},
      "any":{"anyOf":[{"type":"number"},{"type":"array","maxItems":0}]},
      "one":{"oneOf":[{"type":"boolean"},{"type":"null"}]}},
      "required":["tags","kind","either","any","one"]})");
  for (uint32_t seed = 0; seed < 30; ++seed) {
    const json v = WalkJson(schema, seed);
    ASSERT_TRUE(v.is_object());
    ASSERT_TRUE(v["tags"].is_array());
    EXPECT_GE(v["tags"].size(), 1u);
    EXPECT_LE(v["tags"].size(), 3u);
    for (const json& t : v["tags"]) EXPECT_TRUE(t == "red" || t == "green" || t == 3 || t.is_null()) << t;
    EXPECT_EQ(v["kind"], json::parse(R"({"v":[1,"x"]})"));
    EXPECT_TRUE(v["either"].is_number_integer() || (v["either"].is_string() && v["either"].get<std::string>().size() <= 8));
    EXPECT_TRUE(v["any"].is_number() || v["any"] == json::array());
    EXPECT_TRUE(v["one"].is_boolean() || v["one"].is_null());
  }
}

TEST(JsonSchema, RefsDefsAndRecursionBound) {
  const json schema = json::parse(R"({"$defs":{"node":{"type":"object","properties":{
      "id":{"$ref":"#/definitions/small"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
      "required":["id","kids"],"additionalProperties":false}},
      "definitions":{"small":{"type":"integer","minimum":-5,"maximum":120}},
      "$ref":"#/$defs/node"})");
  for (uint32_t seed = 0; seed < 20; ++seed) {
    const json v = WalkJson(schema, seed);
    // Depth-first, explicit stack: every node has id in range and at most 2 kids, nested at most 4 deep.
    std::vector<std::pair<const json*, int>> stack = {{&v, 1}};
    while (!stack.empty()) {
      auto [node, depth] = stack.back();
      stack.pop_back();
      ASSERT_TRUE(node->is_object());
      ASSERT_TRUE((*node)["id"].is_number_integer());
      EXPECT_GE((*node)["id"].get<int>(), -5);
      EXPECT_LE((*node)["id"].get<int>(), 120);
      ASSERT_TRUE((*node)["kids"].is_array());
      EXPECT_LE((*node)["kids"].size(), 2u);
      EXPECT_LE(depth, 4);
      for (const json& k : (*node)["kids"]) stack.push_back({&k, depth + 1});
    }
  }
}

TEST(JsonSchema, StringLengthsPatternsAndIntegerRanges) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "code":{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"},
      "word":{"type":"string","minLength":2,"maxLength":4},
      "quoted":{"type":"string","pattern":"^a\"b\\\\c$"},
      "n":{"type":"integer","exclusiveMinimum":-100,"maximum":2500},
      "big":{"type":"integer","minimum":1000000},
      "x":{"type":"number"}},
      "required":["code","word","quoted","n","big","x"],"additionalProperties":false})");
  for (uint32_t seed = 0; seed < 40; ++seed) {
    const json v = WalkJson(schema, seed);
    ASSERT_TRUE(v.is_object());
    const std::string code = v["code"];
    ASSERT_EQ(code.size(), 6u);
    EXPECT_TRUE(std::isupper(code[0]) && std::isupper(code[1]) && code[2] == '-' && std::isdigit(code[5])) << code;
    const std::string word = v["word"];
    EXPECT_GE(word.size(), 2u);  // characters are at least one byte
    EXPECT_EQ(v["quoted"], "a\"b\\c");
    EXPECT_GT(v["n"].get<int64_t>(), -100);
    EXPECT_LE(v["n"].get<int64_t>(), 2500);
    EXPECT_GE(v["big"].get<int64_t>(), 1000000);
    EXPECT_TRUE(v["x"].is_number());
  }
}

TEST(JsonSchema, AdditionalPropertiesNeverRepeatADeclaredKey) {
  const json schema = json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},"ab":{"type":"boolean"}},
      "additionalProperties":{"type":"string","maxLength":1}})");
  size_t extras = 0;
  for (uint32_t seed = 0; seed < 60; ++seed) {
    const json v = WalkJson(schema, seed);
    ASSERT_TRUE(v.is_object());
    for (const auto& [k, value] : v.items()) {
      if (k == "a") EXPECT_TRUE(value.is_number_integer());
      else if (k == "ab") EXPECT_TRUE(value.is_boolean());
      else {
        EXPECT_TRUE(value.is_string()) << k;
        ++extras;
      }
    }
  }
  EXPECT_GT(extras, 0u);
  // A map type: any keys, each value an integer.
  for (uint32_t seed = 0; seed < 10; ++seed) {
    const json map = WalkJson(json::parse(R"({"type":"object","additionalProperties":{"type":"integer"}})"), seed);
    ASSERT_TRUE(map.is_object());
    for (const auto& [k, value] : map.items()) EXPECT_TRUE(value.is_number_integer()) << k;
  }
}

TEST(JsonSchema, JsonObjectIsCompactJson) {
  auto g = Grammar::JsonObject();
  grammar::Matcher m(g, Vocab());
  FeedBytes(m, R"({"a":[1,{"b":null}],"c":"d\n"})");
  EXPECT_TRUE(m.IsComplete());
  grammar::Matcher spaced(g, Vocab());
  FeedBytes(spaced, "{");
  EXPECT_FALSE(Allowed(spaced).count(kByte0 + ' '));  // no free whitespace
  grammar::Matcher array(g, Vocab());
  EXPECT_FALSE(Allowed(array).count(kByte0 + '['));  // an object, not any value
}

TEST(JsonSchema, DeeplyNestedSchemasStayLinearAndBounded) {
  // 40 nested objects: the grammar grows with the schema, not with 2^depth.
  json schema = {{"type", "integer"}};
  for (int i = 0; i < 40; ++i) {
    schema = {{"type", "object"}, {"properties", {{"a", schema}, {"b", {{"type", "boolean"}}}}}, {"required", {"a"}}};
  }
  const std::string text = JsonSchemaToGbnf(schema);
  EXPECT_LT(text.size(), 40u * 1000);
  bool finished = false;
  Walk(Grammar::FromGbnf(text, "nested"), 1, &finished);
  EXPECT_TRUE(finished);
  // Past the nesting limit: an error, not a stack overflow.
  for (int i = 0; i < 30; ++i) schema = {{"type", "array"}, {"items", schema}};
  ErrorKind kind{};
  EXPECT_EQ(ErrorOf([&] { JsonSchemaToGbnf(schema); }, &kind).find("the schema is nested deeper than 64 levels") != std::string::npos, true);
  EXPECT_EQ(kind, ErrorKind::kLimit);
}

TEST(JsonSchema, UnsupportedKeywordsNameTheirPointer) {
  ErrorKind kind{};
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"type":"object","properties":{"tags":{"type":"array","uniqueItems":true}}})")); }, &kind),
            "/properties/tags/uniqueItems: unsupported keyword");
  EXPECT_EQ(kind, ErrorKind::kUnsupported);
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"type":"string","format":"email"})")); }),
            "/format: unsupported keyword");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"$ref":"http://x/y"})")); }),
            "/$ref: only local references (#/...) are supported");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"$ref":"#/$defs/missing"})")); }),
            "/$ref: '#/$defs/missing' names nothing in this schema");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"type":"number","minimum":0.5})")); }),
            "/minimum: bounds are supported on integers only, not on type number");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"type":"string","pattern":"(?=a)b"})")); }),
            "/pattern: pattern: a lookaround or named group at offset 1 (supported: literals, classes, ., groups, |, "
            "quantifiers, ^ and $ at the ends)");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"allOf":[{"type":"string"},{"maxLength":3}]})")); }),
            "/allOf: allOf with more than one schema is not supported");
  EXPECT_EQ(ErrorOf([] { Grammar::FromJsonSchema(json::parse(R"({"type":"widget"})")); }, &kind), "/type: unknown type 'widget'");
  EXPECT_EQ(kind, ErrorKind::kInvalidArgument);
}

TEST(JsonSchema, StrictModeFollowsOpenAiRules) {
  Grammar::JsonSchemaOptions strict;
  strict.strict = true;
  EXPECT_EQ(ErrorOf([&] { Grammar::FromJsonSchema(json::parse(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"]})"), strict); }),
            "/additionalProperties: strict mode requires additionalProperties: false on every object");
  EXPECT_EQ(ErrorOf([&] { Grammar::FromJsonSchema(json::parse(R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a"],"additionalProperties":false})"), strict); }),
            "/required: strict mode requires every property to be required; 'b' is missing");
  EXPECT_EQ(ErrorOf([&] { Grammar::FromJsonSchema(json::parse(R"({"type":"object","properties":{"o":{"type":"object","properties":{}}},"required":["o"],"additionalProperties":false})"), strict); }),
            "/properties/o/additionalProperties: strict mode requires additionalProperties: false on every object");
  EXPECT_EQ(ErrorOf([&] { Grammar::FromJsonSchema(json::parse(R"({"type":"array"})"), strict); }),
            "/: strict mode requires the root schema to be an object (\"type\": \"object\")");
  const json ok = json::parse(R"({"type":"object","properties":{"a":{"type":["string","null"],"maxLength":3}},"required":["a"],"additionalProperties":false})");
  for (uint32_t seed = 0; seed < 10; ++seed) {
    const json v = WalkJson(ok, seed, /*strict=*/true);
    EXPECT_TRUE(v.contains("a"));
  }
}

TEST(JsonSchema, GemmaToolCallSyntax) {
  const json tools = json::parse(R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
      "properties":{"city":{"type":"string","maxLength":5},"days":{"type":"integer","minimum":1,"maximum":7},
      "odd key":{"type":"boolean"}},"required":["city"]}}},
      {"type":"function","function":{"name":"ping"}}])");
  auto g = Grammar::GemmaToolCall(tools);
  std::set<std::string> names;
  for (uint32_t seed = 0; seed < 30; ++seed) {
    bool finished = false;
    const std::string text = Walk(g, seed, &finished);
    ASSERT_TRUE(finished) << text;
    ASSERT_EQ(text.rfind("<|tool_call>call:", 0), 0u) << text;
    ASSERT_EQ(text.substr(text.size() - 12), "<tool_call|>") << text;
    const std::string body = text.substr(17, text.size() - 29);
    const std::string name = body.substr(0, body.find('{'));
    names.insert(name);
    if (name == "get_weather") {
      EXPECT_NE(body.find("city:<|\"|>"), std::string::npos) << body;
    } else {
      EXPECT_EQ(body, "ping{}");
    }
    // Strings are quoted by the <|"|> token and hold no other '<'.
    std::string unquoted = body;
    for (size_t at; (at = unquoted.find("<|\"|>")) != std::string::npos;) unquoted.erase(at, 5);
    EXPECT_EQ(unquoted.find('<'), std::string::npos) << body;
  }
  EXPECT_EQ(names.size(), 2u);
}

// parallel_tool_calls: one or more calls in a row, each of any tool; without it, exactly one.
TEST(JsonSchema, GemmaToolCallsInParallelOrJustOne) {
  const json tools = json::parse(R"([{"type":"function","function":{"name":"ping"}},
      {"type":"function","function":{"name":"get","parameters":{"type":"object",
       "properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"]}}}])");
  constexpr int32_t kCallOpen = 2, kCallClose = 3;
  auto feed_call = [](grammar::Matcher& m, std::string_view body) {
    m.Accept(kCallOpen);
    FeedBytes(m, body);
    m.Accept(kCallClose);
  };
  {
    grammar::Matcher one(Grammar::GemmaToolCall(tools, /*parallel=*/false), Vocab());
    feed_call(one, "call:get{n:4}");
    EXPECT_TRUE(one.IsComplete());
    EXPECT_FALSE(one.CanContinue());
    EXPECT_EQ(Allowed(one), std::set<int32_t>{kEos});  // a second call is not allowed
    EXPECT_NE(ErrorOf([&] { one.Accept(kCallOpen); }), "(no error)");
  }
  {
    grammar::Matcher two(Grammar::GemmaToolCall(tools, /*parallel=*/true), Vocab());
    feed_call(two, "call:get{n:4}");
    EXPECT_TRUE(two.IsComplete());
    EXPECT_EQ(Allowed(two), (std::set<int32_t>{kEos, kCallOpen}));  // end here, or call again
    feed_call(two, "call:ping{}");
    feed_call(two, "call:get{n:0}");
    EXPECT_TRUE(two.IsComplete());
    // Still only valid calls: arguments per the schema, nothing between the calls.
    EXPECT_NE(ErrorOf([&] { FeedBytes(two, " "); }), "(no error)");
  }
  // Random walks: every call valid, and some replies hold several.
  auto g = Grammar::GemmaToolCall(tools, /*parallel=*/true);
  size_t most = 0;
  for (uint32_t seed = 0; seed < 40; ++seed) {
    bool finished = false;
    const std::string text = Walk(g, seed, &finished);
    ASSERT_TRUE(finished) << text;
    size_t calls = 0;
    for (size_t at = 0; at < text.size(); ++calls) {
      ASSERT_EQ(text.compare(at, 17, "<|tool_call>call:"), 0) << text;
      const size_t end = text.find("<tool_call|>", at);
      ASSERT_NE(end, std::string::npos) << text;
      const std::string body = text.substr(at + 17, end - at - 17);
      EXPECT_TRUE(body == "ping{}" || (body.size() == 8 && body.compare(0, 6, "get{n:") == 0 &&
                                       body[6] >= '0' && body[6] <= '9' && body[7] == '}'))
          << body;
      at = end + 12;
    }
    most = std::max(most, calls);
  }
  EXPECT_GE(most, 2u);
}

}  // namespace
}  // namespace gemma4
