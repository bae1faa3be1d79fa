// Chat templates: a Jinja engine that renders Hugging Face chat templates byte for byte as
// transformers' apply_chat_template does (jinja2's ImmutableSandboxedEnvironment with
// trim_blocks, lstrip_blocks, loopcontrols, tojson without HTML escaping, raise_exception and
// strftime_now), and the messages -> prompt API on top of it.
//
//   auto config = gemma4::LoadChatTemplateConfig(model_dir);
//   auto tmpl = gemma4::ChatTemplate::Parse(config.source, config.origin);
//   std::string prompt = gemma4::ApplyChatTemplate(tmpl, config, messages, tools,
//                                                  /*add_generation_prompt=*/true, {{"enable_thinking", false}});
//
// Values are nlohmann::ordered_json so that object keys keep their order: `tojson` and `items`
// print keys in the order the caller gave them, as Python dicts do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gemma4 {

namespace chat {
struct Program;
}

// Bounds on what one render may do. A template is untrusted input: exceeding any limit ends
// the render with gemma4::Error(ErrorKind::kLimit). Defaults are far above real templates.
struct TemplateLimits {
  size_t max_output_bytes = 32u << 20;     // output, and any single string or list built
  uint64_t max_operations = 50'000'000;    // loop iterations + macro calls + filter elements
  int max_call_depth = 64;                 // nested macro / recursive loop calls
};

// A parsed template. Immutable and cheap to copy (shared); Render may be called from several
// threads at once.
class ChatTemplate {
 public:
  // Parses `source`; `origin` names it in error messages ("<origin>:<line>:<column>: ...").
  // Throws gemma4::Error(kCorrupt) on a syntax error, kLimit when nested too deeply.
  static ChatTemplate Parse(std::string source, std::string origin = "<template>");

  // Renders with `variables` (a JSON object) as the template's globals. Throws gemma4::Error:
  // kInvalidArgument for runtime errors (undefined values, type errors) and for
  // raise_exception() (whose message is the template's own text), kLimit on TemplateLimits.
  std::string Render(const nlohmann::ordered_json& variables, const TemplateLimits& limits = {}) const;

  const std::string& origin() const;

 private:
  explicit ChatTemplate(std::shared_ptr<const chat::Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const chat::Program> program_;
};

// A package's chat template and the special tokens transformers passes to it.
struct ChatTemplateConfig {
  std::string source;
  std::string origin;  // file the template came from, for messages
  // bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token,
  // additional_special_tokens and extra_special_tokens from tokenizer_config.json, as strings
  // (AddedToken objects reduced to their content; null tokens left out), as transformers does.
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
};

// Reads chat_template.jinja from `dir` if present, else tokenizer_config.json's "chat_template"
// (a string, or a list of {name, template} where `name` picks one, default "default").
// Special tokens come from tokenizer_config.json when it exists. Throws kNotFound when there is
// no template, kCorrupt for malformed JSON (naming file and field), kNotFound for an unknown name.
ChatTemplateConfig LoadChatTemplateConfig(const std::filesystem::path& dir, std::optional<std::string> name = {});

// Checks OpenAI-style messages and returns them as transformers' apply_chat_template passes them:
// content a string, a list of parts or null; tool_calls a list whose arguments stay as given (a
// JSON string is not turned into an object: see TemplateTakesArgumentMappings).
// Throws kInvalidArgument naming the message index when the shape is wrong.
nlohmann::ordered_json NormalizeMessages(const nlohmann::ordered_json& messages);

// Whether a template uses tool_calls[].function.arguments as a mapping (tests `is mapping`,
// iterates it, indexes it or applies tojson) rather than printing it as text. The server turns
// OpenAI's JSON-string arguments into objects only for such templates.
bool TemplateTakesArgumentMappings(std::string_view source);

// Renders `messages` (normalized with NormalizeMessages) with the variables transformers'
// apply_chat_template binds: messages, tools (null when absent), documents (null),
// add_generation_prompt, the special tokens, then `extra_variables` (e.g. enable_thinking).
std::string ApplyChatTemplate(const ChatTemplate& tmpl, const ChatTemplateConfig& config,
                              const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                              bool add_generation_prompt,
                              const nlohmann::ordered_json& extra_variables = nlohmann::ordered_json::object(),
                              const TemplateLimits& limits = {});

}  // namespace gemma4
