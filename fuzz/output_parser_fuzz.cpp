// The Gemma 4 reply parser (thoughts, tool calls) on fuzzed model output, fed in fuzzed pieces:
// the events add up to output(), streaming the same text in one piece or many gives the same
// result, streamed calls' argument pieces add up to valid JSON objects, and the value parser
// never throws.
#include "fuzz_util.h"
#include "gemma4/reply_parser.h"

namespace {

gemma4::AssistantOutput Run(std::string_view text, const std::vector<size_t>& cuts, bool tools, bool stream_calls) {
  using Event = gemma4::ReplyParser::Event;
  gemma4::ReplyParser parser(tools, "call", {}, true, stream_calls);
  std::string content, reasoning, arguments;
  size_t calls = 0;
  auto take = [&](const std::vector<Event>& events) {
    for (const auto& e : events) {
      if (e.kind == Event::kContent) content += e.text;
      else if (e.kind == Event::kReasoning) reasoning += e.text;
      else if (e.kind == Event::kToolCallBegin) arguments.clear();
      else if (e.kind == Event::kToolCallArguments) arguments += e.text;
      else {
        ++calls;
        if (stream_calls) {
          gemma4::fuzz::Require(arguments == e.call.arguments, "a streamed call's pieces add up to its arguments");
          gemma4::fuzz::Require(nlohmann::json::parse(arguments, nullptr, false).is_object(), "arguments are a JSON object");
        }
      }
    }
  };
  size_t at = 0;
  for (size_t cut : cuts) {
    if (cut <= at || cut > text.size()) continue;
    take(parser.Feed(text.substr(at, cut - at)));
    at = cut;
  }
  take(parser.Feed(text.substr(at)));
  take(parser.Finish());
  const auto& out = parser.output();
  gemma4::fuzz::Require(out.content == content, "content events add up to output().content");
  gemma4::fuzz::Require(out.reasoning == reasoning, "reasoning events add up to output().reasoning");
  gemma4::fuzz::Require(out.tool_calls.size() == calls, "one event per tool call");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool tools = data[0] & 1;
  // The first byte's other bits choose where the stream is cut.
  std::vector<size_t> cuts;
  for (size_t c = 1 + (data[0] >> 1) % 7; c < size; c += 1 + (data[c] % 11)) cuts.push_back(c - 1);
  const std::string_view text = gemma4::fuzz::AsText(data + 1, size - 1);
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    for (const bool stream_calls : {false, true}) {
      const auto whole = Run(text, {}, tools, stream_calls);
      const auto pieces = Run(text, cuts, tools, stream_calls);
      gemma4::fuzz::Require(whole.content == pieces.content, "content independent of how the stream is cut");
      gemma4::fuzz::Require(whole.reasoning == pieces.reasoning, "reasoning independent of the cuts");
      gemma4::fuzz::Require(whole.tool_calls.size() == pieces.tool_calls.size(), "tool calls independent of the cuts");
      for (size_t i = 0; i < whole.tool_calls.size(); ++i) {
        gemma4::fuzz::Require(whole.tool_calls[i].arguments == pieces.tool_calls[i].arguments, "arguments independent of the cuts");
      }
    }
    (void)gemma4::ParseGemmaValue(text);
    (void)gemma4::ParseGemmaToolCall(text);
  });
  return 0;
}
