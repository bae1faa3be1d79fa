// Fuzzed messages through the real Gemma 4 chat template (tools/testmodel/chat_template.jinja):
// whatever JSON a client sends, normalising and rendering end in a prompt or a gemma4::Error.
// Input: a JSON document; an object is used as {"messages", "tools", ...}, an array as the
// messages, anything else (or bytes that are not JSON) as the content of one user message.
#include <fstream>
#include <sstream>

#include "fuzz_util.h"
#include "gemma4/chat_template.h"

namespace {

const gemma4::ChatTemplate& RealTemplate() {
  static const gemma4::ChatTemplate* t = [] {
    std::ifstream in(std::string(GEMMA4_SOURCE_DIR) + "/tools/testmodel/chat_template.jinja");
    std::stringstream s;
    s << in.rdbuf();
    return new gemma4::ChatTemplate(gemma4::ChatTemplate::Parse(s.str(), "chat_template.jinja"));
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Json = nlohmann::ordered_json;
  const std::string_view text = gemma4::fuzz::AsText(data, size);
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  Json messages, tools, extra = Json::object();
  if (doc.is_object()) {
    messages = doc.contains("messages") ? doc["messages"] : Json::array();
    tools = doc.contains("tools") ? doc["tools"] : Json();
    if (doc.contains("enable_thinking")) extra["enable_thinking"] = doc["enable_thinking"];
  } else if (doc.is_array()) {
    messages = doc;
  } else {
    // Not JSON: the raw bytes as a user message (invalid UTF-8 must be an error, not a crash).
    messages = Json::array({Json{{"role", "user"}, {"content", std::string(text)}}});
  }
  gemma4::ChatTemplateConfig config;
  config.origin = "chat_template.jinja";
  config.special_tokens = Json{{"bos_token", "<bos>"}, {"eos_token", "<eos>"}};
  gemma4::TemplateLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_operations = 200'000;
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const Json normalized = gemma4::NormalizeMessages(messages);
    (void)gemma4::ApplyChatTemplate(RealTemplate(), config, normalized, tools, size % 2 == 0, extra, limits);
  });
  return 0;
}
