// `gemma4 template`: renders a package's chat template for a messages file and prints the
// prompt exactly (no trailing newline), as transformers' apply_chat_template would produce it.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "gemma4/chat_template.h"
#include "gemma4/error.h"
#include "gemma4/package.h"
#include "core/read_file.h"

namespace gemma4::cli {
namespace {

using Json = nlohmann::ordered_json;

struct Options {
  std::string model_dir;
  std::string messages_file;
  std::string tools_file;
  std::string template_file;
  std::string template_name;
  bool no_generation_prompt = false;
  std::vector<std::string> vars;
};

void Run(const Options& o) {
  ChatTemplateConfig config;
  if (!o.model_dir.empty()) {
    if (!o.template_file.empty()) {
      try {
        config = LoadChatTemplateConfig(o.model_dir);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kNotFound) throw;  // only the special tokens are needed
      }
    } else {
      config = LoadChatTemplateConfig(o.model_dir, o.template_name.empty() ? std::nullopt
                                                                           : std::optional<std::string>(o.template_name));
    }
  } else if (o.template_file.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "template: -m DIR or --template FILE is required");
  }
  if (!o.template_file.empty()) {
    config.source = ReadTextFile(o.template_file);
    config.origin = o.template_file;
  }

  Json input = ReadOrderedJsonFile(o.messages_file);
  Json messages, tools;
  if (input.is_array()) {
    messages = input;
  } else if (input.is_object() && input.contains("messages")) {
    messages = input["messages"];
    if (input.contains("tools")) tools = input["tools"];
  } else {
    throw Error(ErrorKind::kInvalidArgument,
                o.messages_file + ": expected a JSON array of messages or an object with \"messages\"");
  }
  if (!o.tools_file.empty()) tools = ReadOrderedJsonFile(o.tools_file);

  Json extra = Json::object();
  for (const auto& v : o.vars) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorKind::kInvalidArgument, "--var " + v + ": expected NAME=JSON");
    }
    try {
      extra[v.substr(0, eq)] = Json::parse(v.substr(eq + 1));
    } catch (const Json::parse_error& e) {
      throw Error(ErrorKind::kInvalidArgument, "--var " + v + ": value is not JSON (" + e.what() + ")");
    }
  }

  ChatTemplate tmpl = ChatTemplate::Parse(config.source, config.origin);
  std::string prompt = ApplyChatTemplate(tmpl, config, messages, tools, !o.no_generation_prompt, extra);
  std::cout.write(prompt.data(), static_cast<std::streamsize>(prompt.size()));
  std::cout.flush();
}

void Setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model_dir, "Model directory (chat_template.jinja and/or tokenizer_config.json)");
  app.add_option("--messages", o->messages_file, "JSON file: an array of messages, or {\"messages\": [...], \"tools\": [...]}")
      ->required();
  app.add_option("--tools", o->tools_file, "JSON file with the tool definitions");
  app.add_option("--template", o->template_file, "Render this template file instead of the package's");
  app.add_option("--template-name", o->template_name, "Named template from tokenizer_config.json's list");
  app.add_flag("--no-generation-prompt", o->no_generation_prompt, "Do not add the assistant generation prompt");
  app.add_option("--var", o->vars, "Extra template variable NAME=JSON (repeatable), e.g. enable_thinking=true");
  app.callback([o] { Run(*o); });
}

const bool kRegistered =
    RegisterCommand({"template", "Render the chat template for a conversation and print the prompt", Setup});

}  // namespace
}  // namespace gemma4::cli
