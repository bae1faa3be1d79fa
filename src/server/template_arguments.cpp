// Tool-call arguments: OpenAI's JSON string or an object, whichever the template takes.
#include "server/template_arguments.h"

namespace gemma4::server {

nlohmann::ordered_json ToolArgumentsForTemplate(nlohmann::ordered_json messages, bool mapping) {
  using Json = nlohmann::ordered_json;
  if (!messages.is_array()) return messages;
  for (Json& m : messages) {
    if (!m.is_object()) continue;
    auto calls = m.find("tool_calls");
    if (calls == m.end() || !calls->is_array()) continue;
    for (Json& call : *calls) {
      if (!call.is_object()) continue;
      auto fn = call.find("function");
      if (fn == call.end() || !fn->is_object()) continue;
      auto args = fn->find("arguments");
      if (args == fn->end()) continue;
      if (mapping && args->is_string()) {
        Json parsed = Json::parse(args->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (parsed.is_object()) *args = std::move(parsed);
      } else if (!mapping && args->is_object()) {
        *args = args->dump(-1, ' ', false, Json::error_handler_t::replace);
      }
    }
  }
  return messages;
}

}  // namespace gemma4::server
