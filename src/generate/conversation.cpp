// Multi-turn chat: the whole conversation is rendered each turn with the package's template, and
// the Session keeps the KV cache of the prefix the new rendering shares with the last one.
#include "gemma4/error.h"
#include "gemma4/generator.h"

namespace gemma4 {

Conversation::Conversation(std::shared_ptr<const Model> model) : model_(model), session_(std::move(model)) {}

GenerationResult Conversation::Reply(const std::string& user_text, const GenerateOptions& options,
                                     const nlohmann::ordered_json& template_extra) {
  nlohmann::ordered_json messages = messages_;
  messages.push_back({{"role", "user"}, {"content", user_text}});
  ChatRequest request;
  request.messages = messages;
  request.extra = template_extra;
  const std::vector<int32_t> prompt = model_->TokenizeChat(request);
  GenerationResult result = session_.Generate(prompt, options);
  messages.push_back({{"role", "assistant"}, {"content", result.text}});
  messages_ = std::move(messages);  // only a finished turn enters the history
  return result;
}

void Conversation::SetSystem(const std::string& text) {
  nlohmann::ordered_json rest = nlohmann::ordered_json::array();
  for (const auto& m : messages_) {
    if (m.value("role", "") != "system") rest.push_back(m);
  }
  if (!text.empty()) rest.insert(rest.begin(), nlohmann::ordered_json{{"role", "system"}, {"content", text}});
  messages_ = std::move(rest);
}

void Conversation::Reset() {
  nlohmann::ordered_json kept = nlohmann::ordered_json::array();
  for (const auto& m : messages_) {
    if (m.value("role", "") == "system") kept.push_back(m);
  }
  messages_ = std::move(kept);
  session_.Reset();
}

void Conversation::SetMessages(nlohmann::ordered_json messages) {
  if (!messages.is_array()) throw Error(ErrorKind::kInvalidArgument, "a conversation is a JSON array of messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      throw Error(ErrorKind::kInvalidArgument, "message " + std::to_string(i) + ": expected an object with a string \"role\"");
    }
  }
  messages_ = std::move(messages);
}

}  // namespace gemma4
