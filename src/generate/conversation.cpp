// Multi-turn chat: the whole conversation is rendered each turn with the package's template, and
// the Session keeps the KV cache of the prefix the new rendering shares with the last one.
#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/reply_stream.h"

namespace gemma4 {

namespace {

// The names of the declared tools, so that a namespaced name the model makes up maps back.
std::vector<std::string> ToolNames(const nlohmann::ordered_json& tools) {
  std::vector<std::string> names;
  if (!tools.is_array()) return names;
  for (const auto& t : tools) {
    if (!t.is_object()) continue;
    const auto fn = t.find("function");
    const auto& holder = fn != t.end() && fn->is_object() ? *fn : t;
    const auto name = holder.find("name");
    if (name != holder.end() && name->is_string()) names.push_back(name->get<std::string>());
  }
  return names;
}

void CheckMessage(const nlohmann::ordered_json& m, size_t index) {
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
    throw Error(ErrorKind::kInvalidArgument,
                "message " + std::to_string(index) + ": expected an object with a string \"role\"");
  }
}

}  // namespace

ChatResult GenerateChat(Session& session, const ChatRequest& request, const GenerateOptions& options,
                        const ReplyDeltaFn& on_delta) {
  const Model& model = session.model();
  const MarkupTokens markup = MarkupTokens::Find(model);
  ReplyStream::Options reply_options;
  reply_options.parse_tool_calls = request.tools.is_array() && !request.tools.empty();
  reply_options.markup = &markup;
  reply_options.tool_names = ToolNames(request.tools);
  const auto thinking = request.extra.find("enable_thinking");
  reply_options.thinking_requested = thinking != request.extra.end() && thinking->is_boolean() && thinking->get<bool>();
  ReplyStream reply(reply_options, [&](const ReplyParser::Event& e) {
    if (on_delta) on_delta(e);
  });
  GenerateOptions generate = options;
  generate.on_token = [&](std::string_view text, int32_t token) {
    reply.OnToken(text, token);
    return options.on_token ? options.on_token(text, token) : true;
  };
  const std::vector<int32_t> prompt = model.TokenizeChat(request);
  ChatResult result;
  static_cast<GenerationResult&>(result) = session.Generate(prompt, generate);
  reply.Finish();
  result.reply = reply.output();
  return result;
}

nlohmann::ordered_json AssistantMessage(const AssistantOutput& reply) {
  nlohmann::ordered_json message = {{"role", "assistant"}, {"content", reply.content}};
  if (!reply.tool_calls.empty()) {
    nlohmann::ordered_json calls = nlohmann::ordered_json::array();
    for (const auto& call : reply.tool_calls) {
      nlohmann::ordered_json arguments = nlohmann::ordered_json::parse(call.arguments, nullptr, false);
      if (arguments.is_discarded()) arguments = call.arguments;  // the parser writes JSON; keep it as text if not
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", std::move(arguments)}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  return message;
}

Conversation::Conversation(std::shared_ptr<const Model> model) : model_(model), session_(std::move(model)) {}

ChatResult Conversation::Reply(const std::string& user_text, const GenerateOptions& options,
                               const nlohmann::ordered_json& template_extra, const ReplyDeltaFn& on_delta) {
  nlohmann::ordered_json messages = messages_;
  messages.push_back({{"role", "user"}, {"content", user_text}});
  return Turn(std::move(messages), options, template_extra, on_delta);
}

ChatResult Conversation::Continue(const GenerateOptions& options, const nlohmann::ordered_json& template_extra,
                                  const ReplyDeltaFn& on_delta) {
  return Turn(messages_, options, template_extra, on_delta);
}

ChatResult Conversation::Turn(nlohmann::ordered_json messages, const GenerateOptions& options,
                              const nlohmann::ordered_json& template_extra, const ReplyDeltaFn& on_delta) {
  ChatRequest request;
  request.messages = messages;
  request.tools = tools_;
  request.extra = template_extra;
  ChatResult result = GenerateChat(session_, request, options, on_delta);
  messages.push_back(AssistantMessage(result.reply));
  messages_ = std::move(messages);  // only a finished turn enters the history
  return result;
}

void Conversation::SetTools(nlohmann::ordered_json tools) {
  if (!tools.is_null() && !tools.is_array()) {
    throw Error(ErrorKind::kInvalidArgument, "tools must be null or a JSON array of tool definitions");
  }
  tools_ = std::move(tools);
}

void Conversation::AddMessage(nlohmann::ordered_json message) {
  CheckMessage(message, messages_.size());
  messages_.push_back(std::move(message));
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
  for (size_t i = 0; i < messages.size(); ++i) CheckMessage(messages[i], i);
  messages_ = std::move(messages);
}

}  // namespace gemma4
