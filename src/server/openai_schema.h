// OpenAI request parsing and validation (every error names the field, e.g.
// "messages[2].role: unknown role 'bot'") and the response / stream-chunk builders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/grammar.h"
#include "gemma4/model.h"
#include "gemma4/reply_parser.h"
#include "gemma4/sampling.h"

namespace gemma4::server {

// What a /v1/chat/completions or /v1/completions body asks for, validated.
struct GenerationRequest {
  bool chat = true;
  ChatRequest chat_request;             // chat: messages, tools, chat_template_kwargs
  std::string prompt;                   // completions: prompt text (tokenized with <bos>)
  std::vector<int32_t> prompt_ids;      // completions: prompt given as token ids
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  std::optional<size_t> max_tokens;     // max_completion_tokens, else max_tokens
  std::vector<std::string> stop;
  bool tools_enabled = false;           // tools given and tool_choice is not "none"
  // Sampling overrides; absent fields keep the model's generation_config.json defaults.
  std::optional<double> temperature, top_p, min_p, presence_penalty, frequency_penalty, repetition_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
  // Log probabilities asked for: the number of alternatives per token (chat: logprobs true +
  // top_logprobs; completions: the integer logprobs).
  std::optional<int> top_logprobs;
  // Constrained decoding: response_format json_object / json_schema, or tool_choice "required" /
  // a named function (one Gemma 4 tool call of the declared tools; overrides response_format).
  std::shared_ptr<const Grammar> grammar;
};

// Parses a request body: malformed JSON gives a 400 with the byte offset; a body that is not an
// object, or any field of the wrong type or range, a 400 naming the field.
nlohmann::json ParseBody(std::string_view body);

// `vocab_size` bounds logit_bias keys and prompt token ids.
GenerationRequest ParseChatCompletionRequest(const nlohmann::json& body, size_t vocab_size);
GenerationRequest ParseCompletionRequest(const nlohmann::json& body, size_t vocab_size);

// The model's defaults with the request's overrides applied; validated. `random_seed` is used
// when the request gives no seed.
SamplingParams ResolveSampling(const GenerationRequest& request, const SamplingParams& defaults,
                               uint64_t random_seed);

struct Usage {
  size_t prompt_tokens = 0;
  size_t completion_tokens = 0;
  size_t cached_tokens = 0;  // prompt tokens served from the prefix cache
  // Speculative decoding (--draft-max): tokens drafted, and of those the ones the model agreed
  // with; reported as OpenAI's accepted/rejected_prediction_tokens when drafts were made.
  size_t draft_tokens = 0;
  size_t accepted_tokens = 0;
};
nlohmann::json UsageJson(const Usage& usage);

// ToolCall and AssistantOutput: gemma4/reply_parser.h.

struct ResponseMeta {
  std::string id;      // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0; // unix seconds
  std::string model;
};

nlohmann::json ChatCompletionJson(const ResponseMeta& meta, const AssistantOutput& output,
                                  std::string_view finish_reason, const Usage& usage);
// One chat.completion.chunk; `finish_reason` empty -> null; `usage` -> "usage" (null unless given,
// present on every chunk when include_usage is on, as OpenAI does).
nlohmann::json ChatChunkJson(const ResponseMeta& meta, nlohmann::json delta, std::string_view finish_reason,
                             bool include_usage_field, const Usage* usage = nullptr);
nlohmann::json ToolCallDeltaJson(size_t index, const ToolCall& call);
nlohmann::json CompletionJson(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason,
                              const Usage& usage);
nlohmann::json CompletionChunkJson(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason,
                                   bool include_usage_field, const Usage* usage = nullptr);
// The final usage-only chunk of a stream (choices empty).
nlohmann::json UsageChunkJson(const ResponseMeta& meta, bool chat, const Usage& usage);
nlohmann::json ModelsJson(const std::string& model_id, int64_t created);

// Serialized without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string Dump(const nlohmann::json& value);

}  // namespace gemma4::server
