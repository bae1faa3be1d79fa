// Turns the generated text of one request into the assistant's reply: Gemma markup parsed (chat),
// stop strings applied to the answer text, and each visible delta handed to a callback. The one
// streaming reply path of the library: the server, `gemma4 run --json`, `gemma4 chat` and the C API
// feed it GenerateOptions::on_token.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gemma4/reply_parser.h"

namespace gemma4 {

class Model;
class StopStringMatcher;  // src/generate/stop_strings.h

// Special tokens that carry Gemma markup. The detokenizer skips special tokens, so the text of
// these is put back for the parser. Found by tokenizing each marker at startup (never hard-coded).
struct MarkupTokens {
  std::map<int32_t, std::string> channel;  // <|channel>, <channel|>
  std::map<int32_t, std::string> tool;     // <|tool_call>, <tool_call|>
  std::map<int32_t, std::string> quote;    // <|"|> (only inside a tool call)

  // Tokenizes each marker with the model's tokenizer: one id (after <bos>) means a single token.
  static MarkupTokens Find(const Model& model);
};

class ReplyStream {
 public:
  struct Options {
    bool chat = true;            // false: raw completion text, no markup parsing
    bool parse_tool_calls = false;
    std::vector<std::string> stop;
    std::string call_id_prefix = "call";
    const MarkupTokens* markup = nullptr;
    std::vector<std::string> tool_names;  // declared tools (see ReplyParser)
    bool thinking_requested = false;      // the request enabled thinking
    // Tool calls as kToolCallBegin / kToolCallArguments pieces / kToolCall (see ReplyParser).
    bool stream_tool_calls = false;
  };
  using DeltaFn = std::function<void(const ReplyParser::Event&)>;

  ReplyStream(Options options, DeltaFn on_delta);
  ~ReplyStream();
  ReplyStream(ReplyStream&&);
  ReplyStream& operator=(ReplyStream&&);

  // One generated piece (from GenerateOptions::on_token). False once a stop string completed.
  bool OnToken(std::string_view text, int32_t token);
  // End of generation: releases held text.
  void Finish();

  const AssistantOutput& output() const { return output_; }  // what was handed out
  bool stopped_by_string() const { return stopped_; }
  // The stop string that ended the answer ("" when none did).
  std::string matched_stop() const;

 private:
  void Deliver(const std::vector<ReplyParser::Event>& events);

  Options options_;
  DeltaFn on_delta_;
  ReplyParser parser_;
  std::unique_ptr<StopStringMatcher> stops_;
  AssistantOutput output_;
  bool in_call_ = false;
  bool stopped_ = false;
};

}  // namespace gemma4
