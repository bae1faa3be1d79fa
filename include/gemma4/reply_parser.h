// The one Gemma 4 reply parser (the server, `gemma4 run --json`, `gemma4 chat` and the C API use it).
// Splits Gemma 4 output into what OpenAI clients expect: answer text (content), thoughts
// (`<|channel>thought\n...<channel|>` -> reasoning_content) and tool calls
// (`<|tool_call>call:NAME{arg:<|"|>text<|"|>,n:3}<tool_call|>` -> tool_calls with JSON arguments).
// Works on streamed text: a suffix that could still become a marker is held back until it does
// or cannot, so content deltas never show a half marker. Tool calls come whole, or, when asked
// for, streamed: the call's id and name first, then its JSON arguments piece by piece.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/gemma_json_stream.h"

namespace gemma4 {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, serialized (as OpenAI sends it), keys in the model's order
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
// (GemmaJsonStream converts it to JSON text as it streams in.)
std::optional<nlohmann::json> ParseGemmaValue(std::string_view text);

class ReplyParser {
 public:
  struct Event {
    enum Kind {
      kContent,            // text: an answer delta
      kReasoning,          // text: a thought delta
      kToolCall,           // call: a whole call; when streaming calls, the end of the streamed one
      kToolCallBegin,      // streaming calls: call.id and call.name (call.arguments empty)
      kToolCallArguments,  // streaming calls: text: the next piece of the arguments JSON (call.id, name set)
    } kind;
    std::string text;
    ToolCall call;
  };

  // `parse_tool_calls` false leaves tool-call markup in the content. `call_id_prefix` names calls
  // "<prefix>_<index>". `tool_names`: the declared tools, so that a namespaced name the model
  // made up ("default_api:get_weather") maps back to the declared one. `thinking_requested`
  // false: a thought channel is held until it closes, and one that never does becomes the answer.
  //
  // `stream_tool_calls`: each call comes as kToolCallBegin, kToolCallArguments pieces (which add
  // up to exactly the arguments of the whole call) and kToolCall, instead of one kToolCall. The
  // call begins once its name and first key have parsed (`call:NAME{key:`; a call without
  // arguments, `call:NAME{}`, comes whole at its end). Until then a malformed call is content, as
  // unstreamed. A call that turns out malformed after it began cannot be taken back: it ends with
  // the arguments that did parse, closed into valid JSON (an open string and the open brackets),
  // and the call's text from where conversion stopped becomes content. A call cut by the end of
  // generation ends the same way.
  ReplyParser(bool parse_tool_calls, std::string call_id_prefix, std::vector<std::string> tool_names = {},
               bool thinking_requested = true, bool stream_tool_calls = false);

  // Feeds the next piece of generated text; returns what can be shown now.
  std::vector<Event> Feed(std::string_view text);
  // The end of generation: releases held text; an unterminated tool call is parsed if it can be,
  // else returned as content.
  std::vector<Event> Finish();

  // Everything emitted so far, accumulated.
  const AssistantOutput& output() const { return output_; }

 private:
  enum class State { kContent, kChannelName, kReasoning, kToolCall };
  // Where the streamed call stands (stream_tool_calls).
  enum class CallStage {
    kName,       // waiting for "call:NAME{"
    kArguments,  // converting the arguments; not begun (no key parsed yet)
    kBegun,      // kToolCallBegin sent; arguments streaming
    kEnded,      // ended malformed after it began: the rest of its text is content
    kWhole,      // not streamable (malformed before it began): decided whole at its end
  };
  void Emit(std::vector<Event>& events, Event::Kind kind, std::string text);
  void EmitCall(std::vector<Event>& events, const std::string& body, bool terminated);
  void StartCall();
  void StreamCall(std::vector<Event>& events);
  void SendArguments(std::vector<Event>& events);
  void EndStreamedCall(std::vector<Event>& events, bool malformed);
  void Process(std::vector<Event>& events, bool final);

  std::string DeclaredName(const std::string& name) const;

  bool parse_tool_calls_;
  std::string call_id_prefix_;
  std::vector<std::string> tool_names_;
  bool thinking_requested_;
  bool stream_tool_calls_;
  State state_ = State::kContent;
  std::string buffer_;  // not yet classified
  std::string call_;    // body of the current tool call
  AssistantOutput output_;
  // The call being streamed.
  CallStage stage_ = CallStage::kName;
  size_t arguments_at_ = 0;  // where its argument object starts in call_
  size_t fed_ = 0;           // bytes of call_ converted (or shown, once kEnded)
  GemmaJsonStream arguments_;
  std::string written_;      // the arguments JSON written so far
  size_t sent_ = 0;          // how much of it went out
  ToolCall streamed_;        // id and name
};

}  // namespace gemma4
