// JSON Schema -> GBNF rules, in two value syntaxes: compact JSON, and Gemma 4's tool-call
// arguments (bare keys, strings between <|"|> tokens).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/grammar.h"

namespace gemma4::grammar {

enum class Dialect { kJson, kGemma };

// Named rules collected while converting; written out in the order they were added.
class RuleSet {
 public:
  // A fresh rule name from a hint (sanitized, made unique).
  std::string Reserve(const std::string& hint);
  void Define(const std::string& name, std::string body);
  // Defines `name` once (shared primitives); returns it.
  std::string Shared(const std::string& name, const std::string& body);
  std::string Text(const std::string& root_body) const;

 private:
  std::vector<std::pair<std::string, std::string>> rules_;
  std::map<std::string, size_t> index_;
  std::map<std::string, int> used_;
};

// Converts the schemas of one document (`document` is what "#" refers to). A schema that no value
// can satisfy within the limits (false, a recursion past max_recursion) converts to nullopt.
class SchemaConverter {
 public:
  SchemaConverter(RuleSet& rules, Dialect dialect, Grammar::JsonSchemaOptions options, const nlohmann::json& document,
                  std::string pointer_prefix = "");
  // A GBNF expression for values valid against `schema`, or nullopt when none is.
  std::optional<std::string> Convert(const nlohmann::json& schema, const std::string& pointer);
  // Any value, nested at most `levels` deep.
  std::string AnyValue(int levels = 6);
  std::string AnyObject(int levels = 6);

 private:
  std::optional<std::string> Visit(const nlohmann::json& schema, const std::string& pointer, int depth);
  std::optional<std::string> VisitType(const nlohmann::json& schema, const std::string& type, const std::string& pointer,
                                       int depth);
  std::optional<std::string> Object(const nlohmann::json& schema, const std::string& pointer, int depth);
  std::optional<std::string> Array(const nlohmann::json& schema, const std::string& pointer, int depth);
  std::string String(const nlohmann::json& schema, const std::string& pointer);
  std::string Integer(const nlohmann::json& schema, const std::string& pointer);
  std::string Number(const nlohmann::json& schema, const std::string& pointer);
  std::optional<std::string> Literal(const nlohmann::json& value, const std::string& pointer);
  std::string Key(const std::string& name) const;
  std::string ExtraKey(const std::vector<std::string>& declared, const std::string& pointer);
  std::string StringChar();
  std::string QuoteOpen() const;
  std::string ValueAt(int level, int levels, bool object_only);

  RuleSet& rules_;
  Dialect dialect_;
  Grammar::JsonSchemaOptions options_;
  const nlohmann::json& document_;
  std::string prefix_;
  std::map<std::string, int> ref_depth_;                 // definitions on the current path
  std::map<std::string, std::optional<std::string>> ref_rules_;  // (target, depth) -> rule
};

// A JSON Schema `pattern` (a regex subset: literals, escapes \d \w \s \D \W \S and escaped
// punctuation, classes [...], ., groups (...) and (?:...), |, * + ? {m} {m,} {m,n}, ^ and $ at the
// ends) to a GBNF expression over the content of a string in `dialect`. Error(kUnsupported)
// "POINTER: pattern ..." naming the construct and its offset otherwise.
std::string PatternToGbnf(const std::string& pattern, Dialect dialect, const std::string& string_char,
                          const std::string& pointer);

}  // namespace gemma4::grammar
