// Markup parsing + stop strings over streamed generation.
#include "gemma4/reply_stream.h"

#include "gemma4/log.h"
#include "gemma4/model.h"
#include "generate/stop_strings.h"

namespace gemma4 {

MarkupTokens MarkupTokens::Find(const Model& model) {
  MarkupTokens markup;
  const auto bos = model.package().generation.bos_token_id;
  auto find = [&](const std::string& marker, std::map<int32_t, std::string>& table) {
    try {
      std::vector<int32_t> ids = model.TokenizeRaw(marker);
      if (!ids.empty() && bos && ids.front() == *bos) ids.erase(ids.begin());
      if (ids.size() == 1) table[ids[0]] = marker;
    } catch (const std::exception& e) {
      Log(LogLevel::kDebug, std::string("reply: cannot tokenize marker ") + marker + ": " + e.what());
    }
  };
  find("<|channel>", markup.channel);
  find("<channel|>", markup.channel);
  find("<|tool_call>", markup.tool);
  find("<tool_call|>", markup.tool);
  find("<|\"|>", markup.quote);
  return markup;
}

ReplyStream::ReplyStream(Options options, DeltaFn on_delta)
    : options_(std::move(options)),
      on_delta_(std::move(on_delta)),
      parser_(options_.parse_tool_calls, options_.call_id_prefix, options_.tool_names, options_.thinking_requested,
              options_.stream_tool_calls),
      stops_(std::make_unique<StopStringMatcher>(options_.stop)) {}

ReplyStream::~ReplyStream() = default;
ReplyStream::ReplyStream(ReplyStream&&) = default;
ReplyStream& ReplyStream::operator=(ReplyStream&&) = default;

void ReplyStream::Deliver(const std::vector<ReplyParser::Event>& events) {
  for (const auto& e : events) {
    if (stopped_) return;
    if (e.kind == ReplyParser::Event::kContent) {
      StopStringMatcher::Result r = stops_->Feed(e.text);
      if (r.stopped) stopped_ = true;
      if (r.text.empty()) continue;
      output_.content += r.text;
      on_delta_({ReplyParser::Event::kContent, std::move(r.text), {}});
    } else if (e.kind == ReplyParser::Event::kReasoning) {
      output_.reasoning += e.text;
      on_delta_(e);
    } else {
      if (e.kind == ReplyParser::Event::kToolCall) output_.tool_calls.push_back(e.call);  // complete calls only
      on_delta_(e);
    }
  }
}

bool ReplyStream::OnToken(std::string_view text, int32_t token) {
  if (stopped_) return false;
  if (!options_.chat) {
    Deliver({{ReplyParser::Event::kContent, std::string(text), {}}});
    return !stopped_;
  }
  std::string piece(text);
  if (options_.markup && token >= 0) {
    // Put back the text of a markup token the detokenizer skipped.
    auto put_back = [&](const std::map<int32_t, std::string>& table) {
      auto it = table.find(token);
      if (it != table.end() && piece.find(it->second) == std::string::npos) piece += it->second;
      return it != table.end();
    };
    if (!put_back(options_.markup->channel) && options_.parse_tool_calls) {
      if (put_back(options_.markup->tool)) {
        in_call_ = options_.markup->tool.at(token) == "<|tool_call>";
      } else if (in_call_) {
        put_back(options_.markup->quote);
      }
    }
  }
  Deliver(parser_.Feed(piece));
  return !stopped_;
}

std::string ReplyStream::matched_stop() const {
  const int i = stops_->matched_index();
  return i < 0 ? std::string() : stops_->stop_strings()[static_cast<size_t>(i)];
}

void ReplyStream::Finish() {
  if (options_.chat) Deliver(parser_.Finish());
  if (!stopped_) {
    std::string rest = stops_->Flush();
    if (!rest.empty()) {
      output_.content += rest;
      on_delta_({ReplyParser::Event::kContent, std::move(rest), {}});
    }
  }
}

}  // namespace gemma4
