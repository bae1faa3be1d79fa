// Anthropic Messages: request translation (with Anthropic field paths in errors), the message
// object, and the stream's block sequence for thoughts, text and tool calls.
#include "server/anthropic_schema.h"

#include <gtest/gtest.h>

#include "server/reply_format.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

TEST(AnthropicSchema, TranslatesSystemBlocksToolsAndResults) {
  const json body = json::parse(R"({
    "model": "x", "max_tokens": 64, "system": [{"type": "text", "text": "Be brief."}],
    "stop_sequences": ["END"], "temperature": 0.5, "top_k": 5, "stream": true,
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "get_weather"},
    "messages": [
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                         {"type": "text", "text": "Let me check."},
                                         {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18 C"}]},
                                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "oops", "is_error": true}]}
    ]})");
  const json chat = AnthropicToChatRequest(body);
  EXPECT_EQ(chat["max_tokens"], 64);
  EXPECT_EQ(chat["stop"], json::array({"END"}));
  EXPECT_EQ(chat["chat_template_kwargs"]["enable_thinking"], true);
  EXPECT_EQ(chat["tools"][0]["function"]["parameters"], json({{"type", "object"}}));
  EXPECT_EQ(chat["tool_choice"]["function"]["name"], "get_weather");
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 5u) << m.dump();
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "Be brief."}}));
  EXPECT_EQ(m[2]["content"], "Let me check.");
  EXPECT_EQ(m[2]["reasoning_content"], "hmm");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"], json({{"city", "Paris"}}));
  EXPECT_EQ(m[3], json({{"role", "tool"}, {"tool_call_id", "toolu_1"}, {"content", "18 C"}}));
  EXPECT_EQ(m[4]["content"], "Error: oops");
  // And the result is a valid OpenAI request.
  EXPECT_NO_THROW(ParseChatCompletionRequest(chat, 1000));
  EXPECT_FALSE(chat.contains("parallel_tool_calls"));
  // disable_parallel_tool_use is parallel_tool_calls turned off.
  json one = body;
  one["tool_choice"] = {{"type", "any"}, {"disable_parallel_tool_use", true}};
  EXPECT_EQ(AnthropicToChatRequest(one)["parallel_tool_calls"], false);
  one["tool_choice"]["disable_parallel_tool_use"] = "yes";
  EXPECT_THROW(AnthropicToChatRequest(one), ApiError);
}

TEST(AnthropicSchema, ErrorsNameTheAnthropicField) {
  auto error_of = [](const char* text) {
    try {
      AnthropicToChatRequest(json::parse(text));
    } catch (const ApiError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}]})"), "max_tokens: missing");
  EXPECT_EQ(error_of(R"({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]})"),
            "messages[0].role: expected 'user' or 'assistant', got 'system'");
  EXPECT_EQ(error_of(R"({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})"),
            "messages[0].content[0].tool_use_id: missing");
  EXPECT_EQ(error_of(R"({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 1.5})"),
            "temperature: must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of(R"({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
                        "tools": [{"type": "web_search_20250305", "name": "web_search"}]})"),
            "tools[0].type: server tools ('web_search_20250305') are not supported; declare client tools");
}

TEST(AnthropicSchema, ErrorShapeAndTypes) {
  const json e = AnthropicErrorJson(MakeErrorResponse(400, "messages: missing"));
  EXPECT_EQ(e, json({{"type", "error"}, {"error", {{"type", "invalid_request_error"}, {"message", "messages: missing"}}}}));
  EXPECT_EQ(AnthropicErrorType(401), "authentication_error");
  EXPECT_EQ(AnthropicErrorType(413), "request_too_large");
  EXPECT_EQ(AnthropicErrorType(503), "overloaded_error");
  EXPECT_EQ(AnthropicErrorType(500), "api_error");
}

// The data payloads of an Anthropic event stream, in order.
std::vector<json> Events(const std::string& sse) {
  std::vector<json> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    const size_t end = sse.find('\n', pos);
    out.push_back(json::parse(sse.substr(pos + 6, end - pos - 6)));
    pos = end;
  }
  return out;
}

TEST(AnthropicReply, StreamOpensClosesAndSwitchesBlocks) {
  auto reply = MakeAnthropicReply("msg_1", "m");
  AssistantOutput so_far;
  std::string sse = reply->StreamOpen(7);
  sse += reply->StreamDelta({ReplyParser::Event::kReasoning, "think", {}}, so_far);
  sse += reply->StreamDelta({ReplyParser::Event::kContent, "Hel", {}}, so_far);
  sse += reply->StreamDelta({ReplyParser::Event::kContent, "lo", {}}, so_far);
  // A streamed call: begin (id, name), argument pieces, end.
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallBegin, {}, {"toolu_1", "f", ""}}, so_far);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallArguments, R"({"a")", {"toolu_1", "f", ""}}, so_far);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallArguments, ":1}", {"toolu_1", "f", ""}}, so_far);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCall, {}, {"toolu_1", "f", R"({"a":1})"}}, so_far);
  ReplyOutcome outcome;
  outcome.finish_reason = "tool_calls";
  outcome.usage = {7, 5, 0};
  sse += reply->StreamClose(outcome, so_far);
  std::vector<std::string> types;
  for (const json& e : Events(sse)) types.push_back(e["type"]);
  const std::vector<std::string> expected = {
      "message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop",  // thinking
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",     // text
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",     // tool_use
      "message_delta", "message_stop"};
  EXPECT_EQ(types, expected);
  const auto events = Events(sse);
  EXPECT_EQ(events[0]["message"]["usage"]["input_tokens"], 7);
  EXPECT_EQ(events[3]["delta"], json({{"type", "thinking_delta"}, {"thinking", "think"}}));
  EXPECT_EQ(events[6]["index"], 1);
  EXPECT_EQ(events[9]["content_block"],
            json({{"type", "tool_use"}, {"id", "toolu_1"}, {"name", "f"}, {"input", json::object()}}));
  EXPECT_EQ(events[9]["index"], 2);
  EXPECT_EQ(events[10]["delta"], json({{"type", "input_json_delta"}, {"partial_json", R"({"a")"}}));
  EXPECT_EQ(events[11]["delta"], json({{"type", "input_json_delta"}, {"partial_json", ":1}"}}));
  EXPECT_EQ(events[11]["index"], 2);
  EXPECT_EQ(events[12]["index"], 2);
  EXPECT_EQ(events[13]["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(events[13]["usage"]["output_tokens"], 5);
}

TEST(AnthropicReply, WholeMessage) {
  auto reply = MakeAnthropicReply("msg_1", "m");
  AssistantOutput out;
  out.reasoning = "r";
  out.content = "answer";
  out.tool_calls.push_back({"toolu_9", "f", R"({"x":"y"})"});
  ReplyOutcome o;
  o.finish_reason = "stop";
  o.stopped_by_string = true;
  o.stop_sequence = "END";
  o.usage = {10, 3, 4};
  const json m = reply->Whole(out, o);
  EXPECT_EQ(m["content"][0], json({{"type", "thinking"}, {"thinking", "r"}, {"signature", ""}}));
  EXPECT_EQ(m["content"][1], json({{"type", "text"}, {"text", "answer"}}));
  EXPECT_EQ(m["content"][2]["input"], json({{"x", "y"}}));
  EXPECT_EQ(m["stop_reason"], "stop_sequence");
  EXPECT_EQ(m["stop_sequence"], "END");
  EXPECT_EQ(m["usage"]["input_tokens"], 6);
  EXPECT_EQ(m["usage"]["cache_read_input_tokens"], 4);
}

}  // namespace
}  // namespace gemma4::server
