// The public Grammar factories: GBNF text, JSON Schema, any JSON object, Gemma 4 tool calls.
#include "gemma4/grammar.h"

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "grammar/compiled_grammar.h"
#include "grammar/gbnf_parser.h"
#include "grammar/gbnf_text.h"
#include "grammar/json_schema.h"

namespace gemma4 {

using nlohmann::json;

Grammar::Grammar(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Grammar::~Grammar() = default;
const std::string& Grammar::text() const { return impl_->text; }

std::shared_ptr<const Grammar> Grammar::FromGbnf(std::string_view text, std::string_view source) {
  auto impl = std::make_unique<Impl>();
  impl->compiled = grammar::ParseGbnf(text, source);
  impl->text = std::string(text);
  return std::shared_ptr<const Grammar>(new Grammar(std::move(impl)));  // the constructor is private
}

std::string JsonSchemaToGbnf(const json& schema, const Grammar::JsonSchemaOptions& options) {
  if (options.max_recursion < 0 || options.max_recursion > 16) {
    throw Error(ErrorKind::kInvalidArgument, "max_recursion must be in [0, 16], got " + std::to_string(options.max_recursion));
  }
  if (options.strict) {
    const bool object = schema.is_object() && schema.contains("type") && schema["type"] == "object";
    if (!object) throw Error(ErrorKind::kInvalidArgument, "/: strict mode requires the root schema to be an object (\"type\": \"object\")");
  }
  grammar::RuleSet rules;
  grammar::SchemaConverter converter(rules, grammar::Dialect::kJson, options, schema);
  auto root = converter.Convert(schema, "");
  if (!root) throw Error(ErrorKind::kInvalidArgument, "/: no value can satisfy this schema (false, or only recursion)");
  return rules.Text(*root);
}

std::shared_ptr<const Grammar> Grammar::FromJsonSchema(const json& schema, const JsonSchemaOptions& options) {
  return FromGbnf(JsonSchemaToGbnf(schema, options), "json-schema grammar");
}

std::shared_ptr<const Grammar> Grammar::FromJsonSchema(const json& schema) { return FromJsonSchema(schema, {}); }

std::shared_ptr<const Grammar> Grammar::JsonObject() {
  grammar::RuleSet rules;
  const json empty = json::object();
  grammar::SchemaConverter converter(rules, grammar::Dialect::kJson, {}, empty);
  const std::string root = converter.AnyObject(6);
  return FromGbnf(rules.Text(root), "json_object grammar");
}

std::shared_ptr<const Grammar> Grammar::GemmaToolCall(const json& tools, bool parallel) {
  if (!tools.is_array() || tools.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "tools: a tool-call grammar needs a non-empty array of tools");
  }
  grammar::RuleSet rules;
  std::string calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string at = "tools[" + std::to_string(i) + "]";
    const json& tool = tools[i];
    const json* fn = tool.is_object() && tool.contains("function") ? &tool["function"] : &tool;
    if (!fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string()) {
      throw Error(ErrorKind::kInvalidArgument, at + ".function.name: missing");
    }
    const std::string name = (*fn)["name"].get<std::string>();
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != ':' && c != '/') {
        throw Error(ErrorKind::kUnsupported, at + ".function.name: '" + name + "' holds a character Gemma 4's call syntax cannot carry");
      }
    }
    const json empty = json::object();
    const json& params = fn->contains("parameters") ? (*fn)["parameters"] : empty;
    std::string args;
    try {
      grammar::SchemaConverter converter(rules, grammar::Dialect::kGemma, {}, params, "t" + std::to_string(i) + "-");
      // The call syntax always has an argument object: a schema without type is an object.
      json object_schema = params;
      if (object_schema.is_object() && !object_schema.contains("type") && !object_schema.contains("$ref") &&
          !object_schema.contains("anyOf") && !object_schema.contains("oneOf")) {
        object_schema["type"] = "object";
      }
      auto converted = converter.Convert(object_schema, "");
      if (!converted) throw Error(ErrorKind::kInvalidArgument, "/: no arguments can satisfy this schema");
      args = *converted;
    } catch (const Error& e) {
      throw Error(e.kind(), at + ".function.parameters" + e.what());
    }
    calls += std::string(calls.empty() ? "" : " | ") + grammar::GbnfLiteral(name) + " " + args;
  }
  const std::string call = "<|tool_call> \"call:\" (" + calls + ") <tool_call|>";
  // Calls follow each other directly, as the chat template writes them back.
  return FromGbnf(rules.Text(parallel ? "(" + call + ")+" : call), "tool-call grammar");
}

}  // namespace gemma4
