// OpenAI's wire shapes for chat completions and completions: chunks, [DONE], errors in-stream.
#include "server/reply_format.h"

#include <cmath>
#include <utility>

#include "server/sse_writer.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

std::string OpenAiStreamError(const ErrorResponse& error) { return SseEvent(Dump(error.body)) + std::string(kSseDone); }

// JSON has no -inf: OpenAI reports impossible tokens as -9999.
double Finite(float logprob) { return std::isfinite(logprob) ? logprob : -9999.0; }

json Bytes(const std::string& s) {
  json out = json::array();
  for (unsigned char c : s) out.push_back(c);
  return out;
}

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
json ChatLogprobs(const std::vector<LogprobEntry>& entries) {
  json content = json::array();
  for (const LogprobEntry& e : entries) {
    json top = json::array();
    for (const auto& [token, lp] : e.top) top.push_back({{"token", token}, {"logprob", Finite(lp)}, {"bytes", Bytes(token)}});
    content.push_back({{"token", e.token}, {"logprob", Finite(e.logprob)}, {"bytes", Bytes(e.token)}, {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

// Completions (legacy): parallel arrays, top alternatives as {token: logprob} maps.
json CompletionLogprobs(const std::vector<LogprobEntry>& entries, size_t& text_offset) {
  json tokens = json::array(), logprobs = json::array(), tops = json::array(), offsets = json::array();
  for (const LogprobEntry& e : entries) {
    tokens.push_back(e.token);
    logprobs.push_back(Finite(e.logprob));
    json top = json::object();
    for (const auto& [token, lp] : e.top) top[token] = Finite(lp);
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += e.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", logprobs}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// Entries not yet sent with a chunk, and all of them for a whole answer.
struct LogprobLog {
  bool requested = false;
  std::vector<LogprobEntry> pending, all;
  void Add(LogprobEntry e) {
    requested = true;
    pending.push_back(e);
    all.push_back(std::move(e));
  }
  std::vector<LogprobEntry> TakePending() { return std::exchange(pending, {}); }
};

class OpenAiChatReply : public ReplyFormat {
 public:
  OpenAiChatReply(ResponseMeta meta, bool include_usage, bool logprobs)
      : meta_(std::move(meta)), include_usage_(include_usage) {
    log_.requested = logprobs;
  }

  void AddLogprob(LogprobEntry entry) override { log_.Add(std::move(entry)); }

  std::string StreamOpen(size_t) override {
    // The role chunk goes out at once, so the client sees the stream open even while queued.
    return Chunk(ChatChunkJson(meta_, {{"role", "assistant"}, {"content", ""}}, {}, include_usage_));
  }
  std::string StreamDelta(const ReplyParser::Event& e, const AssistantOutput&) override {
    json delta;
    switch (e.kind) {
      case ReplyParser::Event::kContent: delta = {{"content", e.text}}; break;
      case ReplyParser::Event::kReasoning: delta = {{"reasoning_content", e.text}}; break;
      // A streamed call, as OpenAI sends one: index, id, type and name with empty arguments
      // first, then pieces of the arguments under the same index; the end sends nothing.
      case ReplyParser::Event::kToolCallBegin:
        delta = {{"tool_calls", json::array({ToolCallDeltaJson(calls_++, e.call)})}};
        break;
      case ReplyParser::Event::kToolCallArguments:
        delta = {{"tool_calls", json::array({{{"index", calls_ - 1}, {"function", {{"arguments", e.text}}}}})}};
        break;
      case ReplyParser::Event::kToolCall: return {};
    }
    json chunk = ChatChunkJson(meta_, std::move(delta), {}, include_usage_);
    // The tokens generated since the last content chunk travel with this one.
    if (log_.requested && e.kind == ReplyParser::Event::kContent) chunk["choices"][0]["logprobs"] = ChatLogprobs(log_.TakePending());
    return Chunk(chunk);
  }
  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput&) override {
    json last = ChatChunkJson(meta_, json::object(), o.finish_reason, include_usage_);
    if (log_.requested && !log_.pending.empty()) last["choices"][0]["logprobs"] = ChatLogprobs(log_.TakePending());
    std::string out = Chunk(last);
    if (include_usage_) out += Chunk(UsageChunkJson(meta_, true, o.usage));
    return out + std::string(kSseDone);
  }
  std::string StreamError(const ErrorResponse& error) override { return OpenAiStreamError(error); }
  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    json body = ChatCompletionJson(meta_, output, o.finish_reason, o.usage);
    if (log_.requested) body["choices"][0]["logprobs"] = ChatLogprobs(log_.all);
    return body;
  }

 private:
  static std::string Chunk(const json& chunk) { return SseEvent(Dump(chunk)); }
  ResponseMeta meta_;
  bool include_usage_;
  LogprobLog log_;
  size_t calls_ = 0;  // tool calls begun
};

class OpenAiCompletionReply : public ReplyFormat {
 public:
  OpenAiCompletionReply(ResponseMeta meta, bool include_usage, bool logprobs)
      : meta_(std::move(meta)), include_usage_(include_usage) {
    log_.requested = logprobs;
  }

  void AddLogprob(LogprobEntry entry) override { log_.Add(std::move(entry)); }
  std::string StreamOpen(size_t) override { return {}; }
  std::string StreamDelta(const ReplyParser::Event& e, const AssistantOutput&) override {
    json chunk = CompletionChunkJson(meta_, e.text, {}, include_usage_);
    if (log_.requested) chunk["choices"][0]["logprobs"] = CompletionLogprobs(log_.TakePending(), stream_offset_);
    return SseEvent(Dump(chunk));
  }
  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput&) override {
    json last = CompletionChunkJson(meta_, "", o.finish_reason, include_usage_);
    if (log_.requested && !log_.pending.empty()) last["choices"][0]["logprobs"] = CompletionLogprobs(log_.TakePending(), stream_offset_);
    std::string out = SseEvent(Dump(last));
    if (include_usage_) out += SseEvent(Dump(UsageChunkJson(meta_, false, o.usage)));
    return out + std::string(kSseDone);
  }
  std::string StreamError(const ErrorResponse& error) override { return OpenAiStreamError(error); }
  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    json body = CompletionJson(meta_, output.content, o.finish_reason, o.usage);
    size_t offset = 0;
    if (log_.requested) body["choices"][0]["logprobs"] = CompletionLogprobs(log_.all, offset);
    return body;
  }

 private:
  ResponseMeta meta_;
  bool include_usage_;
  LogprobLog log_;
  size_t stream_offset_ = 0;
};

}  // namespace

std::unique_ptr<ReplyFormat> MakeOpenAiChatReply(ResponseMeta meta, bool include_usage, bool logprobs) {
  return std::make_unique<OpenAiChatReply>(std::move(meta), include_usage, logprobs);
}

std::unique_ptr<ReplyFormat> MakeOpenAiCompletionReply(ResponseMeta meta, bool include_usage, bool logprobs) {
  return std::make_unique<OpenAiCompletionReply>(std::move(meta), include_usage, logprobs);
}

}  // namespace gemma4::server
