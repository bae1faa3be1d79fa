// Anthropic Messages <-> the server's OpenAI-shaped request and answer.
#include "server/anthropic_schema.h"

#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

// One Anthropic message as one or more OpenAI messages, appended to `out`.
void TranslateMessage(const json& m, const std::string& p, json& out) {
  if (!m.is_object()) ThrowType(p, "an object", m);
  const std::string& role = String(RequiredField(m, "role", p), p + ".role");
  if (role != "user" && role != "assistant") ThrowInvalid(p + ".role", "expected 'user' or 'assistant', got '" + role + "'");
  const json& content = RequiredField(m, "content", p);
  if (content.is_string()) {
    out.push_back({{"role", role}, {"content", content}});
    return;
  }
  if (!content.is_array()) ThrowType(p + ".content", "a string or an array of content blocks", content);
  std::string text, thinking;
  json calls = json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string bp = p + ".content[" + std::to_string(i) + "]";
    const json& block = content[i];
    if (!block.is_object()) ThrowType(bp, "an object", block);
    const std::string& type = String(RequiredField(block, "type", bp), bp + ".type");
    if (type == "text") {
      if (!text.empty()) text += '\n';
      text += String(RequiredField(block, "text", bp), bp + ".text");
    } else if (type == "tool_use" && role == "assistant") {
      const json& input = RequiredField(block, "input", bp);
      if (!input.is_object()) ThrowType(bp + ".input", "an object", input);
      calls.push_back({{"id", String(RequiredField(block, "id", bp), bp + ".id")},
                       {"type", "function"},
                       {"function", {{"name", String(RequiredField(block, "name", bp), bp + ".name")}, {"arguments", input}}}});
    } else if (type == "tool_result" && role == "user") {
      // A tool's answer is its own message in OpenAI's shape (and in the template's).
      json tool = {{"role", "tool"}, {"tool_call_id", String(RequiredField(block, "tool_use_id", bp), bp + ".tool_use_id")}};
      const json* result = Field(block, "content");
      std::string result_text = result ? TextContent(*result, bp + ".content", {"text"}) : std::string();
      if (const json* err = Field(block, "is_error"); err && err->is_boolean() && err->get<bool>()) {
        result_text = "Error: " + result_text;
      }
      tool["content"] = std::move(result_text);
      out.push_back(std::move(tool));
    } else if ((type == "thinking" || type == "redacted_thinking") && role == "assistant") {
      if (type == "thinking") thinking += String(RequiredField(block, "thinking", bp), bp + ".thinking");
    } else {
      ThrowInvalid(bp + ".type", "'" + type + "' blocks are not supported in " + role + " messages", "unsupported_value");
    }
  }
  if (role == "user" && text.empty() && !out.empty() && out.back()["role"] == "tool") return;  // only results
  json msg = {{"role", role}, {"content", text}};
  if (!calls.empty()) msg["tool_calls"] = std::move(calls);
  if (!thinking.empty()) msg["reasoning_content"] = std::move(thinking);
  out.push_back(std::move(msg));
}

}  // namespace

json AnthropicToChatRequest(const json& body) {
  if (!body.is_object()) ThrowInvalid("", "the request body must be a JSON object", "invalid_json");
  json chat = json::object();
  if (const json* v = Field(body, "model")) chat["model"] = String(*v, "model");
  // Anthropic requires max_tokens; so do we, so that a client written against us works there.
  const json& max_tokens = RequiredField(body, "max_tokens", "");
  if (!max_tokens.is_number_integer()) ThrowType("max_tokens", "an integer", max_tokens);
  chat["max_tokens"] = max_tokens;

  json messages = json::array();
  if (const json* system = Field(body, "system")) messages.push_back({{"role", "system"}, {"content", TextContent(*system, "system", {"text"})}});
  const json& in = RequiredField(body, "messages", "");
  if (!in.is_array()) ThrowType("messages", "an array", in);
  if (in.empty()) ThrowInvalid("messages", "must contain at least one message");
  for (size_t i = 0; i < in.size(); ++i) TranslateMessage(in[i], "messages[" + std::to_string(i) + "]", messages);
  chat["messages"] = std::move(messages);

  if (const json* v = Field(body, "stop_sequences")) {
    if (!v->is_array()) ThrowType("stop_sequences", "an array of strings", *v);
    chat["stop"] = *v;
  }
  for (const char* name : {"temperature", "top_p", "top_k", "stream"}) {
    if (const json* v = Field(body, name)) chat[name] = *v;
  }
  if (const json* v = Field(body, "temperature"); v && v->is_number() && v->get<double>() > 1) {
    ThrowInvalid("temperature", "must be in [0, 1], got " + v->dump());
  }
  if (const json* tools = Field(body, "tools")) {
    if (!tools->is_array()) ThrowType("tools", "an array", *tools);
    json out = json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string p = "tools[" + std::to_string(i) + "]";
      const json& t = (*tools)[i];
      if (!t.is_object()) ThrowType(p, "an object", t);
      if (const json* type = Field(t, "type"); type && String(*type, p + ".type") != "custom") {
        ThrowInvalid(p + ".type", "server tools ('" + type->get<std::string>() + "') are not supported; declare client tools",
                     "unsupported_value");
      }
      json fn = {{"name", String(RequiredField(t, "name", p), p + ".name")}};
      if (const json* d = Field(t, "description")) fn["description"] = String(*d, p + ".description");
      const json& schema = RequiredField(t, "input_schema", p);
      if (!schema.is_object()) ThrowType(p + ".input_schema", "an object (a JSON Schema)", schema);
      fn["parameters"] = schema;
      out.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    chat["tools"] = std::move(out);
  }
  if (const json* choice = Field(body, "tool_choice")) {
    if (!choice->is_object()) ThrowType("tool_choice", "an object", *choice);
    const std::string& type = String(RequiredField(*choice, "type", "tool_choice"), "tool_choice.type");
    if (type == "auto") chat["tool_choice"] = "auto";
    else if (type == "any") chat["tool_choice"] = "required";
    else if (type == "none") chat["tool_choice"] = "none";
    else if (type == "tool") {
      chat["tool_choice"] = {{"type", "function"},
                             {"function", {{"name", String(RequiredField(*choice, "name", "tool_choice"), "tool_choice.name")}}}};
    } else {
      ThrowInvalid("tool_choice.type", "expected auto, any, tool or none, got '" + type + "'");
    }
    if (const json* v = Field(*choice, "disable_parallel_tool_use")) {
      chat["parallel_tool_calls"] = !Bool(*v, "tool_choice.disable_parallel_tool_use");
    }
  }
  if (const json* thinking = Field(body, "thinking")) {
    if (!thinking->is_object()) ThrowType("thinking", "an object", *thinking);
    const std::string& type = String(RequiredField(*thinking, "type", "thinking"), "thinking.type");
    if (type != "enabled" && type != "disabled") ThrowInvalid("thinking.type", "expected 'enabled' or 'disabled'");
    chat["chat_template_kwargs"] = {{"enable_thinking", type == "enabled"}};
  }
  if (const json* v = Field(body, "metadata"); v && !v->is_object()) ThrowType("metadata", "an object", *v);
  return chat;
}

std::string_view AnthropicStopReason(std::string_view finish_reason, bool stopped_by_string) {
  if (stopped_by_string) return "stop_sequence";
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls") return "tool_use";
  return "end_turn";
}

json AnthropicMessageJson(const std::string& id, const std::string& model, const AssistantOutput& output,
                          const AnthropicOutcome& outcome) {
  json content = json::array();
  if (!output.reasoning.empty()) content.push_back({{"type", "thinking"}, {"thinking", output.reasoning}, {"signature", ""}});
  if (!output.content.empty() || output.tool_calls.empty()) content.push_back({{"type", "text"}, {"text", output.content}});
  for (const ToolCall& call : output.tool_calls) {
    json input = json::parse(call.arguments, nullptr, false);
    content.push_back({{"type", "tool_use"}, {"id", call.id}, {"name", call.name},
                       {"input", input.is_object() ? input : json::object()}});
  }
  return {{"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model},
          {"content", std::move(content)},
          {"stop_reason", AnthropicStopReason(outcome.finish_reason, outcome.stopped_by_string)},
          {"stop_sequence", outcome.stopped_by_string ? json(outcome.stop_sequence) : json(nullptr)},
          {"usage", {{"input_tokens", outcome.usage.prompt_tokens - outcome.usage.cached_tokens},
                     {"cache_read_input_tokens", outcome.usage.cached_tokens},
                     {"cache_creation_input_tokens", 0},
                     {"output_tokens", outcome.usage.completion_tokens}}}};
}

std::string AnthropicErrorType(int status) {
  switch (status) {
    case 400: case 415: case 499: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

json AnthropicErrorJson(const ErrorResponse& error) {
  std::string message = "error";
  if (error.body.contains("error") && error.body["error"].contains("message") && error.body["error"]["message"].is_string()) {
    message = error.body["error"]["message"].get<std::string>();
  }
  return {{"type", "error"}, {"error", {{"type", AnthropicErrorType(error.status)}, {"message", message}}}};
}

std::string AnthropicEvent(const json& data) {
  return "event: " + data.value("type", std::string("message")) + "\ndata: " + Dump(data) + "\n\n";
}

}  // namespace gemma4::server
