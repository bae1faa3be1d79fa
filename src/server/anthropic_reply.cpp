// Anthropic's stream: message_start, then content blocks (thinking, text, tool_use) each opened,
// filled by deltas and stopped, then message_delta (stop reason, output tokens) and message_stop.
#include "server/anthropic_schema.h"
#include "server/reply_format.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

class AnthropicReply : public ReplyFormat {
 public:
  AnthropicReply(std::string id, std::string model) : id_(std::move(id)), model_(std::move(model)) {}

  std::string StreamOpen(size_t prompt_tokens) override {
    json message = {{"id", id_}, {"type", "message"}, {"role", "assistant"}, {"model", model_},
                    {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                    {"usage", {{"input_tokens", prompt_tokens}, {"output_tokens", 0}}}};
    return AnthropicEvent({{"type", "message_start"}, {"message", std::move(message)}}) + AnthropicEvent({{"type", "ping"}});
  }

  std::string StreamDelta(const ReplyParser::Event& e, const AssistantOutput&) override {
    std::string out;
    // A streamed call is a tool_use block: opened with its id, name and empty input, filled by
    // input_json_delta pieces (they add up to the input's JSON), stopped at the call's end.
    if (e.kind == ReplyParser::Event::kToolCallBegin) {
      out += StopBlock();
      out += AnthropicEvent({{"type", "content_block_start"}, {"index", index_},
                             {"content_block", {{"type", "tool_use"}, {"id", e.call.id}, {"name", e.call.name},
                                                {"input", json::object()}}}});
      open_ = Block::kToolUse;
      return out;
    }
    if (e.kind == ReplyParser::Event::kToolCallArguments) {
      return AnthropicEvent({{"type", "content_block_delta"}, {"index", index_},
                             {"delta", {{"type", "input_json_delta"}, {"partial_json", e.text}}}});
    }
    if (e.kind == ReplyParser::Event::kToolCall) return StopBlock();
    const bool thinking = e.kind == ReplyParser::Event::kReasoning;
    const Block want = thinking ? Block::kThinking : Block::kText;
    if (open_ != want) {
      out += StopBlock();
      out += AnthropicEvent({{"type", "content_block_start"}, {"index", index_},
                             {"content_block", thinking ? json{{"type", "thinking"}, {"thinking", ""}}
                                                        : json{{"type", "text"}, {"text", ""}}}});
      open_ = want;
    }
    out += AnthropicEvent({{"type", "content_block_delta"}, {"index", index_},
                           {"delta", thinking ? json{{"type", "thinking_delta"}, {"thinking", e.text}}
                                              : json{{"type", "text_delta"}, {"text", e.text}}}});
    return out;
  }

  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput&) override {
    std::string out = StopBlock();
    out += AnthropicEvent({{"type", "message_delta"},
                           {"delta", {{"stop_reason", AnthropicStopReason(o.finish_reason, o.stopped_by_string)},
                                      {"stop_sequence", o.stopped_by_string ? json(o.stop_sequence) : json(nullptr)}}},
                           {"usage", {{"output_tokens", o.usage.completion_tokens}}}});
    return out + AnthropicEvent({{"type", "message_stop"}});
  }

  std::string StreamError(const ErrorResponse& error) override { return AnthropicEvent(AnthropicErrorJson(error)); }

  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    return AnthropicMessageJson(id_, model_, output, {o.finish_reason, o.stopped_by_string, o.stop_sequence, o.usage});
  }

 private:
  enum class Block { kNone, kThinking, kText, kToolUse };
  std::string StopBlock() {
    if (open_ == Block::kNone) return {};
    open_ = Block::kNone;
    return AnthropicEvent({{"type", "content_block_stop"}, {"index", index_++}});
  }

  std::string id_, model_;
  Block open_ = Block::kNone;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<ReplyFormat> MakeAnthropicReply(std::string id, std::string model) {
  return std::make_unique<AnthropicReply>(std::move(id), std::move(model));
}

}  // namespace gemma4::server
