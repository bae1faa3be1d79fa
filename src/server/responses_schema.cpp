// Responses API <-> the server's chat request and answer.
#include "server/responses_schema.h"

#include "server/api_error.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

}  // namespace

json ResponsesToChatRequest(const json& body) {
  if (!body.is_object()) ThrowInvalid("", "the request body must be a JSON object", "invalid_json");
  for (const char* stored : {"previous_response_id", "conversation"}) {
    if (Field(body, stored)) {
      ThrowInvalid(stored, "stored responses and conversations are not supported: this server is stateless; send the "
                           "whole conversation in input",
                   "unsupported_parameter");
    }
  }
  if (const json* v = Field(body, "background"); v && v->is_boolean() && v->get<bool>()) {
    ThrowInvalid("background", "background responses need stored responses, which this server does not keep",
                 "unsupported_parameter");
  }
  json chat = json::object();
  if (const json* v = Field(body, "model")) chat["model"] = String(*v, "model");
  json messages = json::array();
  if (const json* v = Field(body, "instructions")) messages.push_back({{"role", "system"}, {"content", String(*v, "instructions")}});
  const json* input = Field(body, "input");
  if (!input) ThrowInvalid("input", "missing");
  if (input->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    for (size_t i = 0; i < input->size(); ++i) {
      const std::string p = "input[" + std::to_string(i) + "]";
      const json& item = (*input)[i];
      if (!item.is_object()) ThrowInvalid(p, std::string("expected ") + "an object");
      const json* type_field = Field(item, "type");
      const std::string type = type_field ? String(*type_field, p + ".type") : std::string("message");
      if (type == "message") {
        const std::string& role = String(RequiredField(item, "role", p), p + ".role");
        if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
          ThrowInvalid(p + ".role", "expected user, assistant, system or developer, got '" + role + "'");
        }
        messages.push_back({{"role", role == "developer" ? "system" : role},
                            {"content", TextContent(RequiredField(item, "content", p), p + ".content", {"input_text", "output_text", "text"})}});
      } else if (type == "function_call") {
        json call = {{"id", String(RequiredField(item, "call_id", p), p + ".call_id")},
                     {"type", "function"},
                     {"function", {{"name", String(RequiredField(item, "name", p), p + ".name")},
                                   {"arguments", String(RequiredField(item, "arguments", p), p + ".arguments")}}}};
        // Consecutive calls (and the text before them) belong to one assistant turn.
        if (messages.empty() || messages.back()["role"] != "assistant") {
          messages.push_back({{"role", "assistant"}, {"content", ""}});
        }
        if (!messages.back().contains("tool_calls")) messages.back()["tool_calls"] = json::array();
        messages.back()["tool_calls"].push_back(std::move(call));
      } else if (type == "function_call_output") {
        const json& output = RequiredField(item, "output", p);
        messages.push_back({{"role", "tool"},
                            {"tool_call_id", String(RequiredField(item, "call_id", p), p + ".call_id")},
                            {"content", output.is_string() ? output.get<std::string>() : TextContent(output, p + ".output", {"input_text", "output_text", "text"})}});
      } else if (type == "reasoning") {
        continue;  // earlier thoughts are not replayed (the template decides what it shows)
      } else if (type == "item_reference") {
        ThrowInvalid(p + ".type", "item references need stored responses, which this server does not keep",
                     "unsupported_parameter");
      } else {
        ThrowInvalid(p + ".type", "unsupported input item type '" + type + "'", "unsupported_value");
      }
    }
  } else {
    ThrowInvalid("input", std::string("expected ") + "a string or an array of input items");
  }
  if (messages.empty()) ThrowInvalid("input", "must contain at least one item");
  chat["messages"] = std::move(messages);
  if (const json* v = Field(body, "max_output_tokens")) chat["max_tokens"] = *v;
  for (const char* name : {"temperature", "top_p", "stream", "parallel_tool_calls"}) {
    if (const json* v = Field(body, name)) chat[name] = *v;
  }
  if (const json* tools = Field(body, "tools")) {
    if (!tools->is_array()) ThrowInvalid("tools", std::string("expected ") + "an array");
    json out = json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string p = "tools[" + std::to_string(i) + "]";
      const json& t = (*tools)[i];
      if (!t.is_object()) ThrowInvalid(p, std::string("expected ") + "an object");
      const std::string& type = String(RequiredField(t, "type", p), p + ".type");
      if (type != "function") ThrowInvalid(p + ".type", "only function tools are supported, got '" + type + "'", "unsupported_value");
      json fn = {{"name", String(RequiredField(t, "name", p), p + ".name")}};
      if (const json* d = Field(t, "description")) fn["description"] = String(*d, p + ".description");
      if (const json* params = Field(t, "parameters")) fn["parameters"] = *params;
      out.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    chat["tools"] = std::move(out);
  }
  if (const json* choice = Field(body, "tool_choice")) {
    if (choice->is_string()) {
      chat["tool_choice"] = *choice;
    } else if (choice->is_object()) {
      chat["tool_choice"] = {{"type", "function"},
                             {"function", {{"name", String(RequiredField(*choice, "name", "tool_choice"), "tool_choice.name")}}}};
    } else {
      ThrowInvalid("tool_choice", std::string("expected ") + "a string or an object");
    }
  }
  if (const json* reasoning = Field(body, "reasoning")) {
    if (!reasoning->is_object()) ThrowInvalid("reasoning", std::string("expected ") + "an object");
    if (const json* effort = Field(*reasoning, "effort")) {
      chat["chat_template_kwargs"] = {{"enable_thinking", String(*effort, "reasoning.effort") != "none"}};
    }
  }
  if (const json* text = Field(body, "text")) {
    if (const json* format = text->is_object() ? Field(*text, "format") : nullptr) {
      const json* type = format->is_object() ? Field(*format, "type") : nullptr;
      if (type && String(*type, "text.format.type") != "text") {
        ThrowInvalid("text.format.type", "only 'text' is supported, got '" + type->get<std::string>() + "'",
                     "unsupported_value");
      }
    }
  }
  return chat;
}

json ResponsesUsageJson(const Usage& u) {
  return {{"input_tokens", u.prompt_tokens},
          {"input_tokens_details", {{"cached_tokens", u.cached_tokens}}},
          {"output_tokens", u.completion_tokens},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json MessageItemJson(const std::string& id, const std::string& text, bool done) {
  json content = json::array();
  if (done) content.push_back({{"type", "output_text"}, {"text", text}, {"annotations", json::array()}});
  return {{"type", "message"}, {"id", id}, {"status", done ? "completed" : "in_progress"}, {"role", "assistant"},
          {"content", std::move(content)}};
}

json ReasoningItemJson(const std::string& id, const std::string& text) {
  json content = json::array();
  if (!text.empty()) content.push_back({{"type", "reasoning_text"}, {"text", text}});
  return {{"type", "reasoning"}, {"id", id}, {"summary", json::array()}, {"content", std::move(content)}};
}

json FunctionCallItemJson(const ToolCall& call, bool done) {
  return {{"type", "function_call"},       {"id", "fc_" + call.id}, {"call_id", call.id}, {"name", call.name},
          {"arguments", done ? call.arguments : ""}, {"status", done ? "completed" : "in_progress"}};
}

json ResponseObjectJson(const ResponseIds& ids, const std::string& model, int64_t created_at, const AssistantOutput* output,
                        const ResponsesOutcome* outcome) {
  json items = json::array();
  if (output) {
    if (!output->reasoning.empty()) items.push_back(ReasoningItemJson(ids.reasoning, output->reasoning));
    if (!output->content.empty() || output->tool_calls.empty()) items.push_back(MessageItemJson(ids.message, output->content, true));
    for (const ToolCall& call : output->tool_calls) items.push_back(FunctionCallItemJson(call, true));
  }
  const bool incomplete = outcome && outcome->finish_reason == "length";
  return {{"id", ids.response},
          {"object", "response"},
          {"created_at", created_at},
          {"status", !outcome ? "in_progress" : incomplete ? "incomplete" : "completed"},
          {"error", nullptr},
          {"incomplete_details", incomplete ? json{{"reason", "max_output_tokens"}} : json(nullptr)},
          {"model", model},
          {"output", std::move(items)},
          {"parallel_tool_calls", true},
          {"previous_response_id", nullptr},
          {"store", false},
          {"text", {{"format", {{"type", "text"}}}}},
          {"tools", json::array()},
          {"tool_choice", "auto"},
          {"truncation", "disabled"},
          {"metadata", json::object()},
          {"usage", outcome ? ResponsesUsageJson(outcome->usage) : json(nullptr)}};
}

}  // namespace gemma4::server
