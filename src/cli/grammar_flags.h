// --grammar / --json-schema / --json-schema-strict, shared by `run` and `chat`.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "gemma4/grammar.h"

namespace gemma4::cli {

struct GrammarFlags {
  std::string grammar_file;      // --grammar: GBNF the answer must follow
  std::string json_schema_file;  // --json-schema: a JSON Schema the answer must be valid against
  bool json_schema_strict = false;
};

void AddGrammarFlags(CLI::App& app, GrammarFlags& flags);
// The constraint the flags name (at most one of the two files), or null. Errors name the file
// and the line:column or JSON pointer.
std::shared_ptr<const Grammar> LoadGrammar(const GrammarFlags& flags);

}  // namespace gemma4::cli
