// How one endpoint puts an answer on the wire: a whole JSON body, or a stream of events, in the
// shape of its API (OpenAI chat completions, OpenAI completions, Anthropic messages). The route
// code generates once and hands every piece to the request's ReplyFormat.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/openai_schema.h"
#include "gemma4/reply_parser.h"

namespace gemma4::server {

struct ReplyOutcome {
  std::string finish_reason;       // stop, length, tool_calls
  bool stopped_by_string = false;  // a stop string ended it
  std::string stop_sequence;       // which one
  Usage usage;
};

// One generated token's log probabilities, with each token as the tokenizer decodes it alone.
struct LogprobEntry {
  std::string token;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

class ReplyFormat {
 public:
  virtual ~ReplyFormat() = default;
  // A generated token's log probabilities, when the request asked for them; called before the
  // deltas its text produces. Formats without logprobs ignore it.
  virtual void AddLogprob(LogprobEntry entry) {}
  // The bytes a stream opens with, sent while the request may still be queued.
  virtual std::string StreamOpen(size_t prompt_tokens) = 0;
  // One visible piece of the answer; `so_far` already includes it. Tool calls come streamed
  // (kToolCallBegin, kToolCallArguments..., kToolCall; ReplyStream::Options::stream_tool_calls).
  virtual std::string StreamDelta(const ReplyParser::Event& event, const AssistantOutput& so_far) = 0;
  // The end of a stream that succeeded.
  virtual std::string StreamClose(const ReplyOutcome& outcome, const AssistantOutput& output) = 0;
  // The end of a stream that failed after it opened (the status line is long gone).
  virtual std::string StreamError(const ErrorResponse& error) = 0;
  // A non-streamed answer.
  virtual nlohmann::json Whole(const AssistantOutput& output, const ReplyOutcome& outcome) = 0;
};

// `logprobs`: the request asked for them (the answer then carries a logprobs object).
std::unique_ptr<ReplyFormat> MakeOpenAiChatReply(ResponseMeta meta, bool include_usage, bool logprobs);
std::unique_ptr<ReplyFormat> MakeOpenAiCompletionReply(ResponseMeta meta, bool include_usage, bool logprobs);
std::unique_ptr<ReplyFormat> MakeAnthropicReply(std::string id, std::string model);
struct ResponseIds;
std::unique_ptr<ReplyFormat> MakeResponsesReply(ResponseIds ids, std::string model, int64_t created_at);

}  // namespace gemma4::server
