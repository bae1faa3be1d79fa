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
constexpr std::string_view kQuote = "<|\"|>";

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

// Recursive descent over Gemma's value syntax: {key:value,...}, [v,...], <|"|>text<|"|>,
// "json strings", numbers, true/false/null, and bare words (taken as strings).
class ValueParser {
 public:
  explicit ValueParser(std::string_view text) : s_(text) {}

  std::optional<json> ParseAll() {
    auto v = Value(0);
    if (!v) return std::nullopt;
    SkipSpace();
    if (pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool StartsWith(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }

  std::optional<std::string> QuotedString() {
    pos_ += kQuote.size();
    const size_t end = s_.find(kQuote, pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + kQuote.size();
    return out;
  }

  std::optional<std::string> JsonString() {
    // Find the closing quote, honouring backslash escapes, and let nlohmann decode it.
    size_t i = pos_ + 1;
    while (i < s_.size() && s_[i] != '"') i += s_[i] == '\\' ? 2 : 1;
    if (i >= s_.size()) return std::nullopt;
    try {
      std::string out = json::parse(s_.substr(pos_, i + 1 - pos_)).get<std::string>();
      pos_ = i + 1;
      return out;
    } catch (const json::exception&) {
      return std::nullopt;
    }
  }

  // 'single quoted', as the model sometimes writes Python-style: \' and \\ are the escapes.
  std::optional<std::string> SingleQuotedString() {
    std::string out;
    for (size_t i = pos_ + 1; i < s_.size(); ++i) {
      if (s_[i] == '\\' && i + 1 < s_.size() && (s_[i + 1] == '\'' || s_[i + 1] == '\\')) {
        out += s_[++i];
      } else if (s_[i] == '\'') {
        pos_ = i + 1;
        return out;
      } else {
        out += s_[i];
      }
    }
    return std::nullopt;
  }

  // Any of the string spellings at pos_, or nullopt (pos_ unchanged) when none starts there.
  std::optional<std::string> AnyString(bool& malformed) {
    malformed = false;
    std::optional<std::string> s;
    if (StartsWith(kQuote)) s = QuotedString();
    else if (pos_ < s_.size() && s_[pos_] == '"') s = JsonString();
    else if (pos_ < s_.size() && s_[pos_] == '\'') s = SingleQuotedString();
    else return std::nullopt;
    malformed = !s;
    return s;
  }

  std::optional<json> Value(int depth) {
    if (depth > 64) return std::nullopt;
    SkipSpace();
    if (pos_ >= s_.size()) return std::nullopt;
    bool malformed = false;
    if (auto s = AnyString(malformed)) return json(*s);
    if (malformed) return std::nullopt;
    const char c = s_[pos_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    // A scalar runs to the next delimiter.
    size_t end = pos_;
    while (end < s_.size() && s_[end] != ',' && s_[end] != '}' && s_[end] != ']') ++end;
    std::string_view word = Trim(s_.substr(pos_, end - pos_));
    pos_ = end;
    if (word.empty()) return std::nullopt;
    if (word == "true") return json(true);
    if (word == "false") return json(false);
    if (word == "null" || word == "None") return json(nullptr);
    try {
      json number = json::parse(word);
      if (number.is_number()) return number;
    } catch (const json::exception&) {
    }
    return json(std::string(word));
  }

  std::optional<json> Object(int depth) {
    ++pos_;  // {
    json out = json::object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return out;
    }
    while (true) {
      SkipSpace();
      std::string key;
      bool malformed = false;
      if (auto k = AnyString(malformed)) {
        key = *k;
      } else if (malformed) {
        return std::nullopt;
      } else {
        const size_t colon = s_.find(':', pos_);
        if (colon == std::string_view::npos) return std::nullopt;
        key = std::string(Trim(s_.substr(pos_, colon - pos_)));
        pos_ = colon;
        if (key.empty() || key.find_first_of("{}[],") != std::string::npos) return std::nullopt;
      }
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return std::nullopt;
      ++pos_;
      auto v = Value(depth + 1);
      if (!v) return std::nullopt;
      out[key] = std::move(*v);
      SkipSpace();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return out;
      }
      return std::nullopt;
    }
  }

  std::optional<json> Array(int depth) {
    ++pos_;  // [
    json out = json::array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return out;
    }
    while (true) {
      auto v = Value(depth + 1);
      if (!v) return std::nullopt;
      out.push_back(std::move(*v));
      SkipSpace();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return out;
      }
      return std::nullopt;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<json> ParseGemmaValue(std::string_view text) { return ValueParser(text).ParseAll(); }

std::optional<ParsedCall> ParseGemmaToolCall(std::string_view body) {
  body = Trim(body);
  constexpr std::string_view kCall = "call:";
  if (body.substr(0, kCall.size()) != kCall) return std::nullopt;
  body.remove_prefix(kCall.size());
  const size_t brace = body.find('{');
  ParsedCall call;
  call.name = std::string(Trim(body.substr(0, brace)));
  if (call.name.empty()) return std::nullopt;
  for (char c : call.name) {
    // Namespaced names ("default_api:get_weather", "tools.search", "mcp/fs") are names too.
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != ':' && c != '/') {
      return std::nullopt;
    }
  }
  if (brace == std::string_view::npos) {
    call.arguments = json::object();
    return call;
  }
  auto args = ParseGemmaValue(body.substr(brace));
  if (!args || !args->is_object()) return std::nullopt;
  call.arguments = std::move(*args);
  return call;
}

ReplyParser::ReplyParser(bool parse_tool_calls, std::string call_id_prefix, std::vector<std::string> tool_names,
                           bool thinking_requested)
    : parse_tool_calls_(parse_tool_calls),
      call_id_prefix_(std::move(call_id_prefix)),
      tool_names_(std::move(tool_names)),
      thinking_requested_(thinking_requested) {}

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

void ReplyParser::EmitCall(std::vector<Event>& events, const std::string& body, bool terminated) {
  auto parsed = ParseGemmaToolCall(body);
  if (!parsed) {
    // Not a call we can express: show it rather than lose it.
    Emit(events, Event::kContent, std::string(kCallOpen) + body + (terminated ? std::string(kCallClose) : ""));
    return;
  }
  ToolCall call;
  call.id = call_id_prefix_ + "_" + std::to_string(output_.tool_calls.size());
  call.name = DeclaredName(parsed->name);
  call.arguments = parsed->arguments.dump(-1, ' ', false, json::error_handler_t::replace);
  output_.tool_calls.push_back(call);
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
            call_.clear();
          }
          continue;
        }
        if (at != std::string::npos) {
          Emit(events, Event::kContent, buffer_.substr(0, at));
          buffer_.erase(0, at + marker.size());
          state_ = marker == kChannelOpen ? State::kChannelName : State::kToolCall;
          call_.clear();
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
          call_.clear();
          state_ = State::kContent;
          continue;
        }
        if (close != std::string::npos) {
          call_ += buffer_.substr(0, close);
          buffer_.erase(0, close + kCallClose.size());
          EmitCall(events, call_, /*terminated=*/true);
          call_.clear();
          state_ = State::kContent;
          continue;
        }
        if (final) {
          call_ += buffer_;
          buffer_.clear();
          if (!call_.empty()) EmitCall(events, call_, /*terminated=*/false);
          call_.clear();
          state_ = State::kContent;
          return;
        }
        const size_t hold = HeldSuffix(buffer_, {kCallClose, kChannelClose});
        call_ += buffer_.substr(0, buffer_.size() - hold);
        buffer_.erase(0, buffer_.size() - hold);
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
