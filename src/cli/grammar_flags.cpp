// Reading the grammar or JSON Schema files of --grammar / --json-schema.
#include "cli/grammar_flags.h"

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "core/read_file.h"

namespace gemma4::cli {

void AddGrammarFlags(CLI::App& app, GrammarFlags& f) {
  app.add_option("--grammar", f.grammar_file,
                 "Constrain the answer to a GBNF grammar read from FILE (syntax: include/gemma4/grammar.h)");
  app.add_option("--json-schema", f.json_schema_file,
                 "Constrain the answer to compact JSON valid against the JSON Schema in FILE");
  app.add_flag("--json-schema-strict", f.json_schema_strict,
               "With --json-schema: OpenAI's strict mode (every property required, additionalProperties false)");
}

std::shared_ptr<const Grammar> LoadGrammar(const GrammarFlags& f) {
  if (!f.grammar_file.empty() && !f.json_schema_file.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "give only one of --grammar and --json-schema");
  }
  if (!f.grammar_file.empty()) return Grammar::FromGbnf(ReadTextFile(f.grammar_file), f.grammar_file);
  if (f.json_schema_file.empty()) return nullptr;
  const std::string text = ReadTextFile(f.json_schema_file);
  nlohmann::json schema;
  try {
    schema = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::kInvalidArgument,
                f.json_schema_file + ": not valid JSON (parse error at byte " + std::to_string(e.byte) + ")");
  }
  Grammar::JsonSchemaOptions options;
  options.strict = f.json_schema_strict;
  try {
    return Grammar::FromJsonSchema(schema, options);
  } catch (const Error& e) {
    throw Error(e.kind(), f.json_schema_file + ": " + e.what());
  }
}

}  // namespace gemma4::cli
