// Public chat-template API: parsing with positioned errors, rendering, loading a package's
// template and special tokens, and OpenAI-style message normalization.
#include "gemma4/chat_template.h"
#include "core/read_file.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "gemma4/error.h"

namespace gemma4 {
namespace {

using chat::TemplateError;
using Json = nlohmann::ordered_json;

std::string Position(const std::string& source, size_t offset) {
  offset = std::min(offset, source.size());
  size_t line = 1, line_start = 0;
  for (size_t n = 0; n < offset; ++n) {
    if (source[n] == '\n') {
      ++line;
      line_start = n + 1;
    }
  }
  size_t column = 1 + chat::CodePointCount(std::string_view(source).substr(line_start, offset - line_start));
  return std::to_string(line) + ":" + std::to_string(column);
}

Error ToError(const TemplateError& e, const std::string& origin, const std::string& source) {
  if (e.from_template) return Error(e.kind, e.message);
  std::string where = origin;
  if (e.offset != chat::kNoOffset) where += ":" + Position(source, e.offset);
  return Error(e.kind, where + ": " + e.message);
}

// Special token value as transformers exposes it: a string, or an AddedToken's content.
std::optional<std::string> TokenString(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatTemplate ChatTemplate::Parse(std::string source, std::string origin) {
  size_t bad = chat::FindInvalidUtf8(source);
  if (bad != std::string::npos) {
    throw Error(ErrorKind::kCorrupt, origin + ": invalid UTF-8 at byte " + std::to_string(bad));
  }
  std::string normalized = chat::NormalizeSource(source);
  try {
    return ChatTemplate(chat::ParseProgram(normalized, origin));
  } catch (const TemplateError& e) {
    throw ToError(e, origin, normalized);
  }
}

std::string ChatTemplate::Render(const nlohmann::ordered_json& variables, const TemplateLimits& limits) const {
  if (!variables.is_object() && !variables.is_null()) {
    throw Error(ErrorKind::kInvalidArgument, program_->origin + ": template variables must be a JSON object");
  }
  chat::Renderer renderer(*program_, limits);
  try {
    return renderer.Render(variables);
  } catch (const TemplateError& e) {
    throw ToError(e, program_->origin, program_->source);
  }
}

const std::string& ChatTemplate::origin() const { return program_->origin; }

ChatTemplateConfig LoadChatTemplateConfig(const std::filesystem::path& dir, std::optional<std::string> name) {
  ChatTemplateConfig config;
  const auto config_path = dir / "tokenizer_config.json";
  Json tokenizer_config;
  if (std::filesystem::exists(config_path)) {
    try {
      tokenizer_config = Json::parse(ReadTextFile(config_path));
    } catch (const Json::exception& e) {
      throw Error(ErrorKind::kCorrupt, config_path.string() + ": " + e.what());
    }
    if (!tokenizer_config.is_object()) {
      throw Error(ErrorKind::kCorrupt, config_path.string() + ": expected a JSON object");
    }
    static const char* kTokens[] = {"bos_token", "eos_token", "unk_token",  "sep_token",
                                    "pad_token", "cls_token", "mask_token"};
    for (const char* key : kTokens) {
      auto it = tokenizer_config.find(key);
      if (it == tokenizer_config.end()) continue;
      if (auto s = TokenString(*it); s && !s->empty()) config.special_tokens[key] = *s;
    }
    auto extra = tokenizer_config.find("additional_special_tokens");
    if (extra != tokenizer_config.end() && extra->is_array() && !extra->empty()) {
      Json list = Json::array();
      for (const auto& t : *extra) {
        if (auto s = TokenString(t)) list.push_back(*s);
      }
      config.special_tokens["additional_special_tokens"] = list;
    }
    auto named = tokenizer_config.find("extra_special_tokens");
    if (named != tokenizer_config.end() && named->is_object()) {
      for (auto it = named->begin(); it != named->end(); ++it) {
        if (auto s = TokenString(it.value()); s && !config.special_tokens.contains(it.key())) {
          config.special_tokens[it.key()] = *s;
        }
      }
    }
  }

  const auto jinja_path = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja_path) && !name) {
    config.source = ReadTextFile(jinja_path);
    config.origin = jinja_path.string();
    return config;
  }
  auto tmpl = tokenizer_config.is_object() ? tokenizer_config.find("chat_template") : tokenizer_config.end();
  if (!tokenizer_config.is_object() || tmpl == tokenizer_config.end() || tmpl->is_null()) {
    throw Error(ErrorKind::kNotFound, dir.string() + ": no chat template (neither chat_template.jinja nor "
                                                     "\"chat_template\" in tokenizer_config.json)");
  }
  if (tmpl->is_string()) {
    if (name && *name != "default") {
      throw Error(ErrorKind::kNotFound, config_path.string() + ": no chat template named '" + *name + "'");
    }
    config.source = tmpl->get<std::string>();
    config.origin = config_path.string() + "#chat_template";
    return config;
  }
  if (!tmpl->is_array()) {
    throw Error(ErrorKind::kCorrupt, config_path.string() + ": \"chat_template\" must be a string or a list of "
                                                            "{name, template}");
  }
  const std::string wanted = name.value_or("default");
  std::string available;
  for (size_t n = 0; n < tmpl->size(); ++n) {
    const Json& entry = (*tmpl)[n];
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
        !entry["template"].is_string()) {
      throw Error(ErrorKind::kCorrupt, config_path.string() + ": /chat_template/" + std::to_string(n) +
                                           " must be an object with string \"name\" and \"template\"");
    }
    const std::string entry_name = entry["name"].get<std::string>();
    if (entry_name == wanted) {
      config.source = entry["template"].get<std::string>();
      config.origin = config_path.string() + "#chat_template/" + entry_name;
      return config;
    }
    available += (available.empty() ? "" : ", ") + entry_name;
  }
  throw Error(ErrorKind::kNotFound, config_path.string() + ": no chat template named '" + wanted +
                                        "' (available: " + available + ")");
}

namespace {

// Copying or comparing an nlohmann value recurses once per level: measure the depth first, with
// an explicit stack, and refuse what no chat needs (the engine's own values stop at the same depth).
void CheckDepth(const Json& value, const char* what) {
  std::vector<std::pair<const Json*, int>> todo{{&value, 0}};
  while (!todo.empty()) {
    const auto [v, depth] = todo.back();
    todo.pop_back();
    if (depth > chat::kMaxJsonDepth) {
      throw Error(ErrorKind::kLimit, std::string(what) + " nest more than " + std::to_string(chat::kMaxJsonDepth) +
                                         " levels deep");
    }
    if (v->is_structured()) {
      for (const auto& child : *v) todo.emplace_back(&child, depth + 1);
    }
  }
}

}  // namespace

nlohmann::ordered_json NormalizeMessages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) throw Error(ErrorKind::kInvalidArgument, "messages must be a JSON array");
  CheckDepth(messages, "messages");
  Json out = messages;
  for (size_t n = 0; n < out.size(); ++n) {
    Json& m = out[n];
    const std::string where = "messages/" + std::to_string(n);
    if (!m.is_object()) throw Error(ErrorKind::kInvalidArgument, where + ": a message must be a JSON object");
    if (!m.contains("role") || !m["role"].is_string()) {
      throw Error(ErrorKind::kInvalidArgument, where + "/role: missing or not a string");
    }
    if (m.contains("content")) {
      const Json& c = m["content"];
      if (!c.is_string() && !c.is_array() && !c.is_null()) {
        throw Error(ErrorKind::kInvalidArgument, where + "/content: must be a string, a list of parts or null");
      }
    }
    auto calls = m.find("tool_calls");
    if (calls == m.end() || calls->is_null()) continue;
    if (!calls->is_array()) throw Error(ErrorKind::kInvalidArgument, where + "/tool_calls: must be a list");
    // Arguments reach the template as given (a JSON string stays a string), as transformers'
    // apply_chat_template passes them; turning OpenAI's string into an object is the server's
    // call (server/template_arguments.h), made from what the template expects.
  }
  return out;
}

std::string ApplyChatTemplate(const ChatTemplate& tmpl, const ChatTemplateConfig& config,
                              const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                              bool add_generation_prompt, const nlohmann::ordered_json& extra_variables,
                              const TemplateLimits& limits) {
  CheckDepth(tools, "tools");
  CheckDepth(extra_variables, "template variables");
  Json vars = Json::object();
  vars["messages"] = NormalizeMessages(messages);
  vars["tools"] = tools;  // transformers passes None when no tools were given, else the list
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = add_generation_prompt;
  for (auto it = config.special_tokens.begin(); it != config.special_tokens.end(); ++it) vars[it.key()] = it.value();
  if (extra_variables.is_object()) {
    for (auto it = extra_variables.begin(); it != extra_variables.end(); ++it) vars[it.key()] = it.value();
  } else if (!extra_variables.is_null()) {
    throw Error(ErrorKind::kInvalidArgument, "extra template variables must be a JSON object");
  }
  return tmpl.Render(vars, limits);
}

bool TemplateTakesArgumentMappings(std::string_view source) {
  // A template that tests `arguments is mapping`, iterates it (.items(), |items, |dictsort, a
  // for loop) or serializes it (|tojson) wants the object; one that only prints or concatenates
  // it takes the string. Whitespace inside the expression is free in Jinja, so it is skipped.
  static const std::regex kMappingUse(
      R"(arguments\s*(is\s+mapping|\.\s*items\s*\(|\|\s*(items|dictsort|tojson)\b|\[)|in\s+[\w.\[\]'"]*arguments\b)");
  return std::regex_search(source.begin(), source.end(), kMappingUse);
}

}  // namespace gemma4
