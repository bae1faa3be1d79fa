// The OpenAI Responses API (POST /v1/responses), stateless: a request is translated into the
// equivalent chat completion request (input items -> messages, instructions -> system,
// function_call / function_call_output items -> tool calls and results), and answers are built
// as response objects with message, reasoning and function_call output items. Features that need
// stored responses (previous_response_id, conversation, background) are refused with a 400.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/openai_schema.h"

namespace gemma4::server {

// Throws ApiError 400 naming the Responses field at fault ("input[2].call_id: missing").
nlohmann::json ResponsesToChatRequest(const nlohmann::json& body);

struct ResponsesOutcome {
  std::string finish_reason;  // ours: stop, length, tool_calls
  Usage usage;
};

// The ids of one response's parts, fixed when it starts (the stream announces them early).
struct ResponseIds {
  std::string response, message, reasoning;
};

// A response object; `output` empty and status "in_progress" for the stream's first event.
nlohmann::json ResponseObjectJson(const ResponseIds& ids, const std::string& model, int64_t created_at,
                                  const AssistantOutput* output, const ResponsesOutcome* outcome);
nlohmann::json MessageItemJson(const std::string& id, const std::string& text, bool done);
nlohmann::json ReasoningItemJson(const std::string& id, const std::string& text);
nlohmann::json FunctionCallItemJson(const ToolCall& call, bool done);
nlohmann::json ResponsesUsageJson(const Usage& usage);

}  // namespace gemma4::server
