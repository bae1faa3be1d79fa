// The Anthropic Messages API (POST /v1/messages) in terms of what the server already speaks: a
// request is translated into the equivalent OpenAI chat request (so validation, templates and
// tool handling are one code path), and answers, stream events and errors are built in
// Anthropic's shapes. Errors name the Anthropic field at fault ("messages[1].content[0].tool_use_id").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/openai_schema.h"

namespace gemma4::server {

// The OpenAI chat completion body equivalent to an Anthropic Messages body: system -> a system
// message, content blocks -> text, tool_use -> tool_calls, tool_result -> tool messages,
// tools/input_schema -> function tools, tool_choice any/tool -> required/named,
// stop_sequences -> stop, thinking -> chat_template_kwargs.enable_thinking. Throws ApiError 400.
nlohmann::json AnthropicToChatRequest(const nlohmann::json& body);

// "end_turn", "max_tokens", "stop_sequence", "tool_use" for our finish reasons.
std::string_view AnthropicStopReason(std::string_view finish_reason, bool stopped_by_string);

struct AnthropicOutcome {
  std::string finish_reason;  // ours: stop, length, tool_calls
  bool stopped_by_string = false;
  std::string stop_sequence;  // the stop sequence that ended it, when stopped_by_string
  Usage usage;
};

// A whole "message" object.
nlohmann::json AnthropicMessageJson(const std::string& id, const std::string& model, const AssistantOutput& output,
                                    const AnthropicOutcome& outcome);
// {"type":"error","error":{"type":"invalid_request_error","message":...}} for an error response.
nlohmann::json AnthropicErrorJson(const ErrorResponse& error);
// Anthropic's error type for an HTTP status (400 invalid_request_error, 401 authentication_error,
// 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
// 503/529 overloaded_error, other 5xx api_error).
std::string AnthropicErrorType(int status);

// One server-sent event in Anthropic's framing: "event: <type>\ndata: <json>\n\n".
std::string AnthropicEvent(const nlohmann::json& data);

}  // namespace gemma4::server
