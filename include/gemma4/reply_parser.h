// The one Gemma 4 reply parser (the server, `gemma4 run --json`, `gemma4 chat` and the C API use it).
// Splits Gemma 4 output into what OpenAI clients expect: answer text (content), thoughts
// (`<|channel>thought\n...<channel|>` -> reasoning_content) and tool calls
// (`<|tool_call>call:NAME{arg:<|"|>text<|"|>,n:3}<tool_call|>` -> tool_calls with JSON arguments).
// Works on streamed text: a suffix that could still become a marker is held back until it does
// or cannot, so content deltas never show a half marker.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, serialized (as OpenAI sends it)
};

// The model's answer split into its parts.
struct AssistantOutput {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
};

// Converts the body of a Gemma 4 tool call ("call:NAME{...}") into a name and JSON arguments.
// Returns nullopt when the text is not a well-formed call.
struct ParsedCall {
  std::string name;
  nlohmann::json arguments;  // an object
};
std::optional<ParsedCall> ParseGemmaToolCall(std::string_view body);

// Gemma 4's value syntax (bare keys, strings quoted by <|"|>) to JSON; nullopt when malformed.
std::optional<nlohmann::json> ParseGemmaValue(std::string_view text);

class ReplyParser {
 public:
  struct Event {
    enum Kind { kContent, kReasoning, kToolCall } kind;
    std::string text;  // content / reasoning delta
    ToolCall call;     // kToolCall
  };

  // `parse_tool_calls` false leaves tool-call markup in the content. `call_id_prefix` names calls
  // "<prefix>_<index>". `tool_names`: the declared tools, so that a namespaced name the model
  // made up ("default_api:get_weather") maps back to the declared one. `thinking_requested`
  // false: a thought channel is held until it closes, and one that never does becomes the answer.
  ReplyParser(bool parse_tool_calls, std::string call_id_prefix, std::vector<std::string> tool_names = {},
               bool thinking_requested = true);

  // Feeds the next piece of generated text; returns what can be shown now.
  std::vector<Event> Feed(std::string_view text);
  // The end of generation: releases held text; an unterminated tool call is parsed if it can be,
  // else returned as content.
  std::vector<Event> Finish();

  // Everything emitted so far, accumulated.
  const AssistantOutput& output() const { return output_; }

 private:
  enum class State { kContent, kChannelName, kReasoning, kToolCall };
  void Emit(std::vector<Event>& events, Event::Kind kind, std::string text);
  void EmitCall(std::vector<Event>& events, const std::string& body, bool terminated);
  void Process(std::vector<Event>& events, bool final);

  std::string DeclaredName(const std::string& name) const;

  bool parse_tool_calls_;
  std::string call_id_prefix_;
  std::vector<std::string> tool_names_;
  bool thinking_requested_;
  State state_ = State::kContent;
  std::string buffer_;  // not yet classified
  std::string call_;    // body of the current tool call
  AssistantOutput output_;
};

}  // namespace gemma4
