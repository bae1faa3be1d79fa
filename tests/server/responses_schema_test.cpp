// Responses API: input items -> chat request, and the stream's item sequence for reasoning,
// text and function calls (which a random-weight test model never writes).
#include "server/responses_schema.h"

#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/reply_format.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

TEST(ResponsesSchema, InputItemsBecomeMessages) {
  const json chat = ResponsesToChatRequest(json::parse(R"({
    "instructions": "sys", "max_output_tokens": 9, "reasoning": {"effort": "low"},
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}], "tool_choice": {"type": "function", "name": "f"},
    "input": [
      {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "calling"}]},
      {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
      {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"},
      {"type": "function_call_output", "call_id": "c1", "output": "one"},
      {"type": "reasoning", "id": "rs_1", "summary": []}
    ]})"));
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 4u) << m.dump();
  EXPECT_EQ(m[0]["role"], "system");
  EXPECT_EQ(m[2]["content"], "calling");
  EXPECT_EQ(m[2]["tool_calls"].size(), 2u);
  EXPECT_EQ(m[3], json({{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "one"}}));
  EXPECT_EQ(chat["max_tokens"], 9);
  EXPECT_EQ(chat["chat_template_kwargs"]["enable_thinking"], true);
  EXPECT_EQ(chat["tool_choice"]["function"]["name"], "f");
  EXPECT_NO_THROW(ParseChatCompletionRequest(chat, 100));
}

TEST(ResponsesSchema, StoredFeaturesAreRefused) {
  for (const char* body : {R"({"input": "x", "previous_response_id": "resp_1"})", R"({"input": "x", "conversation": "c"})",
                           R"({"input": "x", "background": true})", R"({"input": [{"type": "item_reference", "id": "m"}]})",
                           R"({"input": "x", "text": {"format": {"type": "json_schema"}}})", R"({})"}) {
    EXPECT_THROW(ResponsesToChatRequest(json::parse(body)), ApiError) << body;
  }
}

TEST(ResponsesReply, StreamItemsInOrder) {
  auto reply = MakeResponsesReply({"resp_1", "msg_1", "rs_1"}, "m", 5);
  AssistantOutput out;
  std::string sse = reply->StreamOpen(3);
  sse += reply->StreamDelta({ReplyParser::Event::kReasoning, "hm", {}}, out);
  sse += reply->StreamDelta({ReplyParser::Event::kContent, "Hi", {}}, out);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallBegin, {}, {"call_1", "f", ""}}, out);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallArguments, "{", {"call_1", "f", ""}}, out);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCallArguments, "}", {"call_1", "f", ""}}, out);
  sse += reply->StreamDelta({ReplyParser::Event::kToolCall, {}, {"call_1", "f", "{}"}}, out);
  out.reasoning = "hm";
  out.content = "Hi";
  out.tool_calls.push_back({"call_1", "f", "{}"});
  ReplyOutcome o;
  o.finish_reason = "tool_calls";
  o.usage = {3, 4, 0};
  sse += reply->StreamClose(o, out);
  std::vector<std::string> types;
  int64_t last_seq = -1;
  std::string arguments;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    const size_t end = sse.find('\n', pos);
    const json e = json::parse(sse.substr(pos + 6, end - pos - 6));
    EXPECT_EQ(e["sequence_number"].get<int64_t>(), last_seq + 1);
    last_seq = e["sequence_number"];
    types.push_back(e["type"]);
    if (e["type"] == "response.output_item.added" && e["item"]["type"] == "function_call") {
      EXPECT_EQ(e["item"]["arguments"], "");
      EXPECT_EQ(e["item"]["name"], "f");
    }
    if (e["type"] == "response.function_call_arguments.delta") arguments += e["delta"].get<std::string>();
    if (e["type"] == "response.function_call_arguments.done") EXPECT_EQ(e["arguments"], "{}");
    if (e["type"] == "response.completed") {
      EXPECT_EQ(e["response"]["output"].size(), 3u);
      EXPECT_EQ(e["response"]["output"][2]["call_id"], "call_1");
      EXPECT_EQ(e["response"]["usage"]["total_tokens"], 7);
    }
    pos = end;
  }
  const std::vector<std::string> expected = {
      "response.created", "response.in_progress",
      "response.output_item.added", "response.reasoning_text.delta", "response.reasoning_text.done", "response.output_item.done",
      "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done",
      "response.content_part.done", "response.output_item.done",
      "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
      "response.function_call_arguments.done", "response.output_item.done", "response.completed"};
  EXPECT_EQ(types, expected);
  EXPECT_EQ(arguments, "{}");
}

}  // namespace
}  // namespace gemma4::server
