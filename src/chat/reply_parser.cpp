// Gemma 4 output markup -> content, reasoning_content and tool_calls.
#include "gemma4/reply_parser.h"

#include <algorithm>
#include <cctype>

namespace gemma4 {
namespace {

using nlohmann::json;

constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kCallOpen = "<|tool_call>";
constexpr std::string_view kCallClose = "<tool_call|>";

// Length of the longest suffix of `text` that is a proper prefix of one of `markers`.
size_t HeldSuffix(std::string_view text, std::initializer_list<std::string_view> markers) {
  size_t best = 0;
  for (std::string_view m : markers) {
    const size_t max = std::min(text.size(), m.size() - 1);
    for (size_t n = max; n > best; --n) {
      if (text.substr(text.size() - n) == m.substr(0, n)) {
        best = n;
        break;
      }
    }
  }
  return best;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kCallPrefix = "call:";

// The NAME of "call:NAME{": namespaced names ("default_api:get_weather", "tools.search", "mcp/fs")
// are names too.
std::optional<std::string> CallName(std::string_view text) {
  const std::string_view name = Trim(text);
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != ':' && c != '/') {
      return std::nullopt;
    }
  }
  return std::string(name);
}

struct ConvertedCall {
  std::string name;       // as written
  std::string arguments;  // JSON text
};

// A whole call body, "call:NAME{...}" (or "call:NAME" without arguments); nullopt when malformed.
// `terminated` false (the reply ended inside the call): a body without arguments was cut inside
// its name, which must not become a call of a tool nobody declared.
std::optional<ConvertedCall> ConvertCallBody(std::string_view body, bool terminated = true) {
  body = Trim(body);
  if (!body.starts_with(kCallPrefix)) return std::nullopt;
  body.remove_prefix(kCallPrefix.size());
  const size_t brace = body.find('{');
  auto name = CallName(body.substr(0, brace));
  if (!name) return std::nullopt;
  if (brace == std::string_view::npos) {
    if (!terminated) return std::nullopt;
    return ConvertedCall{std::move(*name), "{}"};
  }
  GemmaJsonStream stream;
  std::string arguments;
  stream.Feed(body.substr(brace), arguments);  // starts with '{': an object or nothing
  if (stream.Finish(arguments) != GemmaJsonStream::Status::kComplete) return std::nullopt;
  return ConvertedCall{std::move(*name), std::move(arguments)};
}

}  // namespace

std::optional<json> ParseGemmaValue(std::string_view text) {
  GemmaJsonStream stream;
  std::string out;
  stream.Feed(text, out);
  if (stream.Finish(out) != GemmaJsonStream::Status::kComplete) return std::nullopt;
  json value = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;  // cannot happen: the converter writes JSON
  return value;
}

std::optional<ParsedCall> ParseGemmaToolCall(std::string_view body) {
  auto converted = ConvertCallBody(body);
  if (!converted) return std::nullopt;
  json arguments = json::parse(converted->arguments, nullptr, /*allow_exceptions=*/false);
  if (!arguments.is_object()) return std::nullopt;
  return ParsedCall{std::move(converted->name), std::move(arguments)};
}

ReplyParser::ReplyParser(bool parse_tool_calls, std::string call_id_prefix, std::vector<std::string> tool_names,
                           bool thinking_requested, bool stream_tool_calls)
    : parse_tool_calls_(parse_tool_calls),
      call_id_prefix_(std::move(call_id_prefix)),
      tool_names_(std::move(tool_names)),
      thinking_requested_(thinking_requested),
      stream_tool_calls_(stream_tool_calls) {}

std::string ReplyParser::DeclaredName(const std::string& name) const {
  if (tool_names_.empty() || std::find(tool_names_.begin(), tool_names_.end(), name) != tool_names_.end()) return name;
  // The model may prefix a namespace the declaration did not have ("default_api:get_weather").
  for (size_t cut = name.find_first_of(":./"); cut != std::string::npos; cut = name.find_first_of(":./", cut + 1)) {
    const std::string rest = name.substr(cut + 1);
    if (std::find(tool_names_.begin(), tool_names_.end(), rest) != tool_names_.end()) return rest;
  }
  return name;
}

void ReplyParser::Emit(std::vector<Event>& events, Event::Kind kind, std::string text) {
  if (text.empty()) return;
  if (kind == Event::kContent) output_.content += text;
  else output_.reasoning += text;
  // Merge with the previous delta of the same kind from this call.
  if (!events.empty() && events.back().kind == kind) {
    events.back().text += text;
    return;
  }
  events.push_back({kind, std::move(text), {}});
}

void ReplyParser::StartCall() {
  call_.clear();
  stage_ = CallStage::kName;
  arguments_at_ = fed_ = 0;
  arguments_ = GemmaJsonStream();
  written_.clear();
  sent_ = 0;
  streamed_ = {};
}

// Converts what call_ gained since the last time (stream_tool_calls).
void ReplyParser::StreamCall(std::vector<Event>& events) {
  if (!stream_tool_calls_) return;
  if (stage_ == CallStage::kName) {
    size_t start = 0;
    while (start < call_.size() && std::isspace(static_cast<unsigned char>(call_[start]))) ++start;
    const std::string_view rest = std::string_view(call_).substr(start);
    if (rest.size() < kCallPrefix.size()) {
      if (kCallPrefix.substr(0, rest.size()) != rest) stage_ = CallStage::kWhole;
      return;
    }
    if (!rest.starts_with(kCallPrefix)) {
      stage_ = CallStage::kWhole;
      return;
    }
    // fed_: how far the name was searched for its brace already.
    const size_t brace = rest.find('{', std::max(kCallPrefix.size(), fed_ > start ? fed_ - start : 0));
    if (brace == std::string_view::npos) {  // the name goes on (or the call has no arguments)
      fed_ = call_.size();
      return;
    }
    auto name = CallName(rest.substr(kCallPrefix.size(), brace - kCallPrefix.size()));
    if (!name) {
      stage_ = CallStage::kWhole;
      return;
    }
    streamed_.name = DeclaredName(*name);
    arguments_at_ = fed_ = start + brace;
    stage_ = CallStage::kArguments;
  }
  if (stage_ == CallStage::kArguments || stage_ == CallStage::kBegun) {
    const auto status = arguments_.Feed(std::string_view(call_).substr(fed_), written_);
    fed_ = call_.size();
    // Begun once a member was written ("call:NAME{key:" and the start of its value): a call, not
    // prose that looks like one. Decided by what was written, never by where the piece ended, so
    // a piece that holds both the first member and a malformation begins (and ends) the call too.
    if (stage_ == CallStage::kArguments && arguments_.wrote_member()) {
      streamed_.id = call_id_prefix_ + "_" + std::to_string(output_.tool_calls.size());
      events.push_back({Event::kToolCallBegin, {}, streamed_});
      stage_ = CallStage::kBegun;
    }
    if (status == GemmaJsonStream::Status::kMalformed) {
      if (stage_ == CallStage::kBegun) EndStreamedCall(events, /*malformed=*/true);
      else stage_ = CallStage::kWhole;  // nothing went out: the whole call decides, at its end
      return;
    }
    if (stage_ == CallStage::kBegun) SendArguments(events);
  } else if (stage_ == CallStage::kEnded && fed_ < call_.size()) {
    Emit(events, Event::kContent, call_.substr(fed_));
    fed_ = call_.size();
  }
}

void ReplyParser::SendArguments(std::vector<Event>& events) {
  if (sent_ == written_.size()) return;
  std::string piece = written_.substr(sent_);
  sent_ = written_.size();
  if (!events.empty() && events.back().kind == Event::kToolCallArguments) {
    events.back().text += piece;
    return;
  }
  events.push_back({Event::kToolCallArguments, std::move(piece), streamed_});
}

// Ends the call that began. Malformed (or cut): the arguments that parsed, closed into valid JSON,
// and the call's text from where conversion stopped as content.
void ReplyParser::EndStreamedCall(std::vector<Event>& events, bool malformed) {
  if (malformed) written_ += arguments_.Closing();
  SendArguments(events);
  ToolCall call = streamed_;
  call.arguments = written_;
  output_.tool_calls.push_back(call);
  events.push_back({Event::kToolCall, {}, std::move(call)});
  stage_ = CallStage::kEnded;
  if (malformed) {
    const size_t from = arguments_at_ + arguments_.converted();
    if (from < call_.size()) Emit(events, Event::kContent, call_.substr(from));
  }
  fed_ = call_.size();
}

// The call's body is complete (its end marker came, or the reply ended).
void ReplyParser::EmitCall(std::vector<Event>& events, const std::string& body, bool terminated) {
  if (stream_tool_calls_) {
    StreamCall(events);
    if (stage_ == CallStage::kBegun) {
      EndStreamedCall(events, arguments_.Finish(written_) != GemmaJsonStream::Status::kComplete);
      return;
    }
    if (stage_ == CallStage::kEnded) return;
  }
  auto parsed = ConvertCallBody(body, terminated);
  if (!parsed) {
    // Not a call we can express: show it rather than lose it.
    Emit(events, Event::kContent, std::string(kCallOpen) + body + (terminated ? std::string(kCallClose) : ""));
    return;
  }
  ToolCall call;
  call.id = call_id_prefix_ + "_" + std::to_string(output_.tool_calls.size());
  call.name = DeclaredName(parsed->name);
  call.arguments = std::move(parsed->arguments);
  output_.tool_calls.push_back(call);
  if (stream_tool_calls_) {
    // Decided whole (no key before its end, e.g. "call:f{}"): begun and ended at once.
    const ToolCall head{call.id, call.name, {}};
    events.push_back({Event::kToolCallBegin, {}, head});
    events.push_back({Event::kToolCallArguments, call.arguments, head});
  }
  events.push_back({Event::kToolCall, {}, std::move(call)});
}

void ReplyParser::Process(std::vector<Event>& events, bool final) {
  while (true) {
    switch (state_) {
      case State::kContent: {
        size_t at = buffer_.find(kChannelOpen);
        std::string_view marker = kChannelOpen;
        if (parse_tool_calls_) {
          const size_t call = buffer_.find(kCallOpen);
          if (call < at) {
            at = call;
            marker = kCallOpen;
          }
        }
        // A stray <channel|> outside a channel: markup, never content. Gemma 4 also writes
        // "<channel|>call:NAME{...}" for a call without the <|tool_call> opener.
        const size_t stray = buffer_.find(kChannelClose);
        if (stray < at) {
          constexpr std::string_view kCall = "call:";
          const std::string_view after = std::string_view(buffer_).substr(stray + kChannelClose.size());
          if (!final && after.size() < kCall.size() && kCall.substr(0, after.size()) == after) {
            Emit(events, Event::kContent, buffer_.substr(0, stray));
            buffer_.erase(0, stray);
            return;  // cannot tell yet
          }
          const bool is_call = parse_tool_calls_ && after.substr(0, kCall.size()) == kCall;  // before `after` moves
          Emit(events, Event::kContent, buffer_.substr(0, stray));
          buffer_.erase(0, stray + kChannelClose.size());
          if (is_call) {
            state_ = State::kToolCall;
            StartCall();
          }
          continue;
        }
        if (at != std::string::npos) {
          Emit(events, Event::kContent, buffer_.substr(0, at));
          buffer_.erase(0, at + marker.size());
          state_ = marker == kChannelOpen ? State::kChannelName : State::kToolCall;
          StartCall();
          continue;
        }
        const size_t hold = final ? 0
                            : parse_tool_calls_ ? HeldSuffix(buffer_, {kChannelOpen, kCallOpen, kChannelClose})
                                                : HeldSuffix(buffer_, {kChannelOpen, kChannelClose});
        Emit(events, Event::kContent, buffer_.substr(0, buffer_.size() - hold));
        buffer_.erase(0, buffer_.size() - hold);
        return;
      }
      case State::kChannelName: {
        // "<|channel>NAME\n..." with a short NAME; decided only from what the first kMaxName bytes
        // hold, never from how much has arrived, so the cut of the stream cannot change it.
        constexpr size_t kMaxName = 64;
        const size_t nl = buffer_.find('\n');
        const size_t close = buffer_.find(kChannelClose);
        if (close != std::string::npos && close <= kMaxName && close < nl) {  // an empty channel
          buffer_.erase(0, close + kChannelClose.size());
          state_ = State::kContent;
          continue;
        }
        if (nl != std::string::npos && nl <= kMaxName && nl < close) {
          buffer_.erase(0, nl + 1);  // the channel's name ("thought")
          state_ = State::kReasoning;
          continue;
        }
        if (final || nl != std::string::npos || close != std::string::npos ||
            buffer_.size() > kMaxName + kChannelClose.size()) {  // no name line: all of it is the thought
          state_ = State::kReasoning;
          continue;
        }
        return;
      }
      case State::kReasoning: {
        const size_t close = buffer_.find(kChannelClose);
        if (close != std::string::npos) {
          Emit(events, Event::kReasoning, buffer_.substr(0, close));
          buffer_.erase(0, close + kChannelClose.size());
          state_ = State::kContent;
          continue;
        }
        if (!thinking_requested_) {
          // Nobody asked for thoughts: a channel that never closes is the model putting its whole
          // answer in it, so hold it, and hand it over as the answer if the reply ends inside.
          if (!final) return;
          Emit(events, Event::kContent, std::string(Trim(buffer_)));
          buffer_.clear();
          state_ = State::kContent;
          return;
        }
        const size_t hold = final ? 0 : HeldSuffix(buffer_, {kChannelClose});
        Emit(events, Event::kReasoning, buffer_.substr(0, buffer_.size() - hold));
        buffer_.erase(0, buffer_.size() - hold);
        return;
      }
      case State::kToolCall: {
        const size_t close = buffer_.find(kCallClose);
        // Another opener-less call ("...}<channel|>call:b{...}") ends this one.
        const size_t next = buffer_.find(kChannelClose);
        if (next < close) {
          call_ += buffer_.substr(0, next);
          buffer_.erase(0, next);  // the content state reads the marker again
          EmitCall(events, call_, /*terminated=*/true);
          StartCall();
          state_ = State::kContent;
          continue;
        }
        if (close != std::string::npos) {
          call_ += buffer_.substr(0, close);
          buffer_.erase(0, close + kCallClose.size());
          EmitCall(events, call_, /*terminated=*/true);
          StartCall();
          state_ = State::kContent;
          continue;
        }
        if (final) {
          call_ += buffer_;
          buffer_.clear();
          if (!call_.empty()) EmitCall(events, call_, /*terminated=*/false);
          StartCall();
          state_ = State::kContent;
          return;
        }
        const size_t hold = HeldSuffix(buffer_, {kCallClose, kChannelClose});
        call_ += buffer_.substr(0, buffer_.size() - hold);
        buffer_.erase(0, buffer_.size() - hold);
        StreamCall(events);
        return;
      }
    }
  }
}

std::vector<ReplyParser::Event> ReplyParser::Feed(std::string_view text) {
  std::vector<Event> events;
  buffer_.append(text);
  Process(events, /*final=*/false);
  return events;
}

std::vector<ReplyParser::Event> ReplyParser::Finish() {
  std::vector<Event> events;
  Process(events, /*final=*/true);
  return events;
}

}  // namespace gemma4
