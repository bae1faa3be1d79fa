// Constrained decoding: a grammar every generated answer must follow, applied as a logits mask
// before sampling (GenerateOptions::grammar in generator.h).
//
// Grammars are written in a GBNF-style notation (the format llama.cpp popularised; this is our
// own parser and matcher):
//   root   ::= "{" pair ("," pair)* "}"      # rules; `root` is where matching starts
//   pair   ::= key ":" [0-9]{1,3}             # literals "..", classes [a-z] [^"\\], any char .
//   key    ::= ("a" | "b")+ <|"|> <[52]>      # grouping, alternation, * + ? {m} {m,} {m,n},
//                                             # special tokens by text <...> or by id <[N]>
// Literals and classes are matched as UTF-8 bytes; escapes \n \r \t \\ \" \[ \] \- \^ \xHH
// \uHHHH \UHHHHHHHH; `#` starts a comment. Special tokens (control tokens such as <|tool_call>) can
// only be generated where the grammar names them; EOS is allowed once the grammar is complete
// and is then the only choice when nothing else can follow.
//
// Limits (errors name line:column): 1 MiB of grammar text, 128 levels of nested parentheses,
// repetition counts up to 100000, 4M grammar elements; left recursion ("a ::= a ...") is refused.
// While matching, a parse deeper than 1024 levels is dropped (that path is not allowed) and more
// than 1024 parallel parses of an ambiguous grammar raise Error(kLimit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace gemma4 {

class Tokenizer;

// An immutable, parsed grammar (independent of any tokenizer); share it between requests.
class Grammar {
 public:
  // Parses GBNF text. Errors: Error(kInvalidArgument) "SOURCE:LINE:COLUMN: what" for syntax,
  // undefined rules and left recursion; kLimit for the size limits above.
  static std::shared_ptr<const Grammar> FromGbnf(std::string_view text, std::string_view source = "grammar");

  struct JsonSchemaOptions {
    // OpenAI's strict mode: every object lists all its properties in `required` and sets
    // additionalProperties false, the root is an object; a schema that breaks a rule is refused.
    bool strict = false;
    // A $ref may enter the same definition this many times on one path (recursive schemas);
    // deeper, the recursive branch is left out (an empty array, an omitted optional property).
    int max_recursion = 4;
  };
  // A JSON Schema (draft 2020-12 subset: type (and type arrays), properties, required,
  // additionalProperties, items, minItems, maxItems, enum, const, anyOf, oneOf (as anyOf),
  // allOf of one schema, $ref to #/$defs or #/definitions (or any local pointer), minLength,
  // maxLength, minimum/maximum/exclusive* for integers, pattern (a regex subset)) to a grammar of
  // compact JSON (no free whitespace, at most 15 digits in an integer part and 15 in a fraction).
  // Unsupported keywords: Error(kUnsupported) naming the JSON pointer, e.g.
  // "/properties/tags/uniqueItems: unsupported keyword". Strict-mode violations: kInvalidArgument.
  static std::shared_ptr<const Grammar> FromJsonSchema(const nlohmann::json& schema, const JsonSchemaOptions& options);
  static std::shared_ptr<const Grammar> FromJsonSchema(const nlohmann::json& schema);
  // Any JSON object (OpenAI's response_format {"type":"json_object"}), nested at most 6 levels.
  static std::shared_ptr<const Grammar> JsonObject();
  // One Gemma 4 tool call of one of `tools` (OpenAI function tools: [{"type":"function",
  // "function":{"name","parameters"}}]) in the model's call syntax,
  // `<|tool_call>call:NAME{key:value,...}<tool_call|>`, strings quoted by <|"|>, the arguments
  // valid against the tool's parameter schema (as FromJsonSchema, non-strict). Gemma strings
  // cannot hold '<' here (the quote token's first character). `parallel`: one or more calls in a
  // row (OpenAI's parallel_tool_calls, its default), each of any of the tools; else exactly one.
  static std::shared_ptr<const Grammar> GemmaToolCall(const nlohmann::json& tools, bool parallel = false);

  // The GBNF text this grammar was parsed from (for FromJsonSchema: the generated grammar).
  const std::string& text() const;

  ~Grammar();

 private:
  // The compiled rules are the grammar module's own business (src/grammar/grammar_access.h).
  friend struct GrammarAccess;
  struct Impl;
  explicit Grammar(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The GBNF text FromJsonSchema would parse (for inspection and tests).
std::string JsonSchemaToGbnf(const nlohmann::json& schema, const Grammar::JsonSchemaOptions& options = {});

// What constrained decoding precomputes once per tokenizer: every token's bytes and a byte trie
// over the vocabulary, special tokens apart. Immutable; Model builds one lazily and shares it.
class GrammarVocabulary {
 public:
  // `eos_ids`: the ids that end generation (allowed once a grammar is complete).
  static std::shared_ptr<const GrammarVocabulary> Build(const Tokenizer& tokenizer, std::span<const int32_t> eos_ids);
  size_t vocab_size() const;
  size_t trie_nodes() const;

  ~GrammarVocabulary();

 private:
  friend struct GrammarAccess;
  struct Impl;
  explicit GrammarVocabulary(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma4
