// OpenAI's wire shapes for chat completions and completions: chunks, [DONE], errors in-stream.
#include "server/reply_format.h"

#include "server/sse_writer.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

std::string OpenAiStreamError(const ErrorResponse& error) { return SseEvent(Dump(error.body)) + std::string(kSseDone); }

class OpenAiChatReply : public ReplyFormat {
 public:
  OpenAiChatReply(ResponseMeta meta, bool include_usage) : meta_(std::move(meta)), include_usage_(include_usage) {}

  std::string StreamOpen(size_t) override {
    // The role chunk goes out at once, so the client sees the stream open even while queued.
    return Chunk(ChatChunkJson(meta_, {{"role", "assistant"}, {"content", ""}}, {}, include_usage_));
  }
  std::string StreamDelta(const OutputParser::Event& e, const AssistantOutput& so_far) override {
    json delta;
    if (e.kind == OutputParser::Event::kContent) delta = {{"content", e.text}};
    else if (e.kind == OutputParser::Event::kReasoning) delta = {{"reasoning_content", e.text}};
    else delta = {{"tool_calls", json::array({ToolCallDeltaJson(so_far.tool_calls.size() - 1, e.call)})}};
    return Chunk(ChatChunkJson(meta_, std::move(delta), {}, include_usage_));
  }
  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput&) override {
    std::string out = Chunk(ChatChunkJson(meta_, json::object(), o.finish_reason, include_usage_));
    if (include_usage_) out += Chunk(UsageChunkJson(meta_, true, o.usage));
    return out + std::string(kSseDone);
  }
  std::string StreamError(const ErrorResponse& error) override { return OpenAiStreamError(error); }
  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    return ChatCompletionJson(meta_, output, o.finish_reason, o.usage);
  }

 private:
  static std::string Chunk(const json& chunk) { return SseEvent(Dump(chunk)); }
  ResponseMeta meta_;
  bool include_usage_;
};

class OpenAiCompletionReply : public ReplyFormat {
 public:
  OpenAiCompletionReply(ResponseMeta meta, bool include_usage) : meta_(std::move(meta)), include_usage_(include_usage) {}

  std::string StreamOpen(size_t) override { return {}; }
  std::string StreamDelta(const OutputParser::Event& e, const AssistantOutput&) override {
    return SseEvent(Dump(CompletionChunkJson(meta_, e.text, {}, include_usage_)));
  }
  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput&) override {
    std::string out = SseEvent(Dump(CompletionChunkJson(meta_, "", o.finish_reason, include_usage_)));
    if (include_usage_) out += SseEvent(Dump(UsageChunkJson(meta_, false, o.usage)));
    return out + std::string(kSseDone);
  }
  std::string StreamError(const ErrorResponse& error) override { return OpenAiStreamError(error); }
  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    return CompletionJson(meta_, output.content, o.finish_reason, o.usage);
  }

 private:
  ResponseMeta meta_;
  bool include_usage_;
};

}  // namespace

std::unique_ptr<ReplyFormat> MakeOpenAiChatReply(ResponseMeta meta, bool include_usage) {
  return std::make_unique<OpenAiChatReply>(std::move(meta), include_usage);
}

std::unique_ptr<ReplyFormat> MakeOpenAiCompletionReply(ResponseMeta meta, bool include_usage) {
  return std::make_unique<OpenAiCompletionReply>(std::move(meta), include_usage);
}

}  // namespace gemma4::server
