// OpenAI request validation: errors name the field; valid requests map onto generation options.
#include "server/openai_schema.h"

#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/metrics.h"
#include "server/reply_format.h"
#include "server/sse_writer.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

constexpr size_t kVocab = 1000;

// The message of the 400 that parsing `body` as a chat request throws ("" if it does not throw).
std::string ChatError(const std::string& body, std::string* param = nullptr) {
  try {
    ParseChatCompletionRequest(ParseBody(body), kVocab);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << e.what();
    if (param) *param = e.param();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
  }
  return "";
}

TEST(Schema, MalformedJsonGivesByteOffset) {
  EXPECT_EQ(ChatError("{\"messages\": [}"), "the request body is not valid JSON: parse error at byte 15");
  EXPECT_EQ(ChatError(""), "the request body is not valid JSON: parse error at byte 1 (the body is empty)");
  EXPECT_EQ(ChatError("[1,2]"), "the request body must be a JSON object, got array");
}

TEST(Schema, ErrorsNameTheField) {
  std::string param;
  EXPECT_EQ(ChatError(R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"bot","content":"c"}]})", &param),
            "messages[2].role: unknown role 'bot' (expected system, developer, user, assistant or tool)");
  EXPECT_EQ(param, "messages[2].role");
  EXPECT_EQ(ChatError(R"({})", &param), "messages: missing (a chat completion needs at least one message)");
  EXPECT_EQ(ChatError(R"({"messages":"hi"})"), "messages: expected an array, got string");
  EXPECT_EQ(ChatError(R"({"messages":[]})"), "messages: must contain at least one message");
  EXPECT_EQ(ChatError(R"({"messages":[{"role":"user"}]})"), "messages[0].content: missing");
  EXPECT_EQ(ChatError(R"({"messages":[{"role":"user","content":42}]})"),
            "messages[0].content: expected a string or an array of content parts, got integer");
  EXPECT_EQ(ChatError(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})"),
            "messages[0].content[0].type: only 'text' parts are supported, got 'image_url'");
  const std::string ok = R"("messages":[{"role":"user","content":"hi"}])";
  EXPECT_EQ(ChatError("{" + ok + R"(,"temperature":"hot"})", &param), "temperature: expected a number, got string");
  EXPECT_EQ(param, "temperature");
  EXPECT_EQ(ChatError("{" + ok + R"(,"temperature":3})"), "temperature: must be in [0, 2], got 3");
  EXPECT_EQ(ChatError("{" + ok + R"(,"top_p":1.5})"), "top_p: must be in [0, 1], got 1.5");
  EXPECT_EQ(ChatError("{" + ok + R"(,"max_tokens":0})"), "max_tokens: must be in [1, 16777216], got 0");
  EXPECT_EQ(ChatError("{" + ok + R"(,"max_tokens":2.5})"), "max_tokens: expected an integer, got number");
  EXPECT_EQ(ChatError("{" + ok + R"(,"n":2})", &param), "n: only n=1 is supported, got 2");
  EXPECT_EQ(param, "n");
  EXPECT_EQ(ChatError("{" + ok + R"(,"stream":"yes"})"), "stream: expected a boolean, got string");
  EXPECT_EQ(ChatError("{" + ok + R"(,"stop":["a",""]})"), "stop[1]: stop strings must not be empty");
  EXPECT_EQ(ChatError("{" + ok + R"(,"presence_penalty":-3})"), "presence_penalty: must be in [-2, 2], got -3");
  EXPECT_EQ(ChatError("{" + ok + R"(,"logit_bias":{"abc":1}})"), "logit_bias.abc: keys must be token ids, got 'abc'");
  EXPECT_EQ(ChatError("{" + ok + R"(,"logit_bias":{"1000":1}})"),
            "logit_bias.1000: token id 1000 is outside the vocabulary [0, 1000)");
  EXPECT_EQ(ChatError("{" + ok + R"(,"logit_bias":{"5":101}})"), "logit_bias.5: must be in [-100, 100], got 101");
  EXPECT_EQ(ChatError("{" + ok + R"(,"tools":[{"type":"function","function":{}}]})"), "tools[0].function.name: missing");
  EXPECT_EQ(ChatError("{" + ok + R"(,"tool_choice":"sometimes"})"),
            "tool_choice: expected 'none', 'auto', 'required' or {\"type\":\"function\",...}, got 'sometimes'");
  EXPECT_EQ(ChatError("{" + ok + R"(,"chat_template_kwargs":{"messages":[]}})"), "chat_template_kwargs.messages: is reserved");
  EXPECT_EQ(ChatError(R"({"messages":[{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{oops"}}]}]})"),
            "messages[0].tool_calls[0].function.arguments: not valid JSON");
}

TEST(Schema, ValidChatRequestMapsToOptions) {
  const json body = json::parse(R"({
    "model": "anything", "stream": true, "stream_options": {"include_usage": true},
    "max_tokens": 10, "max_completion_tokens": 12, "temperature": 0, "top_p": 0.9, "seed": 7,
    "stop": "END", "presence_penalty": 0.5, "frequency_penalty": -0.5, "logit_bias": {"42": -100},
    "n": 1, "chat_template_kwargs": {"enable_thinking": true},
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Weather"}, {"type": "text", "text": "in Paris?"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    ]})");
  GenerationRequest r = ParseChatCompletionRequest(body, kVocab);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.max_tokens, 12u);  // max_completion_tokens wins
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.tools_enabled);
  EXPECT_EQ(r.chat_request.extra["enable_thinking"], true);
  const json& m = r.chat_request.messages;
  EXPECT_EQ(m[0]["role"], "system");
  EXPECT_EQ(m[1]["content"], "Weather\nin Paris?");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"], json::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(m[3]["name"], "get_weather");  // resolved from the tool_call id

  SamplingParams defaults;
  defaults.temperature = 1.0f;
  defaults.top_k = 64;
  SamplingParams p = ResolveSampling(r, defaults, 123);
  EXPECT_TRUE(p.greedy());
  EXPECT_EQ(p.top_k, 64);  // not in the request: the model's default stays
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_FLOAT_EQ(p.presence_penalty, 0.5f);
  ASSERT_EQ(p.logit_bias.size(), 1u);
  EXPECT_EQ(p.logit_bias[0].first, 42);
  EXPECT_EQ(ResolveSampling(ParseChatCompletionRequest(json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), kVocab),
                            defaults, 99).seed,
            99u);
}

TEST(Schema, ToolChoiceNoneAndNamed) {
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}],)";
  const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
  auto none = ParseChatCompletionRequest(json::parse("{" + tools + R"("tool_choice":"none",)" + msgs + "}"), kVocab);
  EXPECT_FALSE(none.tools_enabled);
  EXPECT_TRUE(none.chat_request.tools.is_null());
  auto named = ParseChatCompletionRequest(
      json::parse("{" + tools + R"("tool_choice":{"type":"function","function":{"name":"b"}},)" + msgs + "}"), kVocab);
  ASSERT_EQ(named.chat_request.tools.size(), 1u);
  EXPECT_EQ(named.chat_request.tools[0]["function"]["name"], "b");
}

TEST(Schema, CompletionPrompts) {
  auto r = ParseCompletionRequest(json::parse(R"({"prompt":"Once upon"})"), kVocab);
  EXPECT_EQ(r.prompt, "Once upon");
  EXPECT_EQ(r.max_tokens, 16u);  // OpenAI's default for /v1/completions
  r = ParseCompletionRequest(json::parse(R"({"prompt":[2,17,5],"max_tokens":3})"), kVocab);
  EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{2, 17, 5}));
  EXPECT_THROW(ParseCompletionRequest(json::parse(R"({"prompt":[2,1000]})"), kVocab), ApiError);
  EXPECT_THROW(ParseCompletionRequest(json::parse(R"({"prompt":["a","b"]})"), kVocab), ApiError);
  EXPECT_THROW(ParseCompletionRequest(json::parse(R"({})"), kVocab), ApiError);
}

TEST(Schema, ResponsesHaveOpenAIShape) {
  ResponseMeta meta{"chatcmpl-1", 1700000000, "m"};
  AssistantOutput out;
  out.reasoning = "hmm";
  out.tool_calls.push_back({"call_1", "f", R"({"a":1})"});
  json r = ChatCompletionJson(meta, out, "tool_calls", Usage{5, 3, 2});
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_TRUE(r["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(r["choices"][0]["message"]["reasoning_content"], "hmm");
  EXPECT_EQ(r["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], R"({"a":1})");
  EXPECT_EQ(r["usage"]["total_tokens"], 8);
  EXPECT_EQ(r["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
  json c = ChatChunkJson(meta, {{"content", "x"}}, {}, true);
  EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(c.contains("usage") && c["usage"].is_null());
  EXPECT_EQ(SseEvent(Dump(json{{"a", 1}})), "data: {\"a\":1}\n\n");
}

TEST(Schema, ParallelToolCallsShapeTheToolCallGrammar) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
  auto grammar_of = [&](const std::string& extra) {
    return ParseChatCompletionRequest(json::parse(R"({"messages":[{"role":"user","content":"x"}],)" + tools + extra + "}"),
                                      kVocab)
        .grammar;
  };
  const json declared = json::parse("{" + tools + "}")["tools"];
  const std::string several = Grammar::GemmaToolCall(declared, true)->text();
  const std::string one = Grammar::GemmaToolCall(declared, false)->text();
  ASSERT_NE(several, one);
  EXPECT_EQ(grammar_of(R"(,"tool_choice":"required")")->text(), several);  // OpenAI's default
  EXPECT_EQ(grammar_of(R"(,"tool_choice":"required","parallel_tool_calls":true)")->text(), several);
  EXPECT_EQ(grammar_of(R"(,"tool_choice":"required","parallel_tool_calls":false)")->text(), one);
  EXPECT_EQ(grammar_of(R"(,"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false)")->text(), one);
  EXPECT_EQ(grammar_of(R"(,"parallel_tool_calls":false)"), nullptr);  // auto: not constrained
  std::string param;
  ChatError(R"({"messages":[{"role":"user","content":"x"}],"parallel_tool_calls":1})", &param);
  EXPECT_EQ(param, "parallel_tool_calls");
}

// Chunks of a streamed tool call in OpenAI's shape: index, id, type and name with empty arguments,
// then argument pieces under the same index; the call's end sends nothing.
TEST(Schema, StreamedToolCallChunks) {
  auto reply = MakeOpenAiChatReply({"chatcmpl-1", 1700000000, "m"}, false, false);
  AssistantOutput so_far;
  auto delta = [&](ReplyParser::Event e) {
    const std::string sse = reply->StreamDelta(e, so_far);
    if (sse.empty()) return json();
    EXPECT_EQ(sse.rfind("data: ", 0), 0u);
    return json::parse(sse.substr(6))["choices"][0]["delta"];
  };
  using E = ReplyParser::Event;
  const ToolCall head{"call_1", "get_weather", ""};
  EXPECT_EQ(delta({E::kToolCallBegin, {}, head}),
            json::parse(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function",
                           "function":{"name":"get_weather","arguments":""}}]})"));
  EXPECT_EQ(delta({E::kToolCallArguments, R"({"city":"Pa)", head}),
            json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Pa"}}]})"));
  EXPECT_EQ(delta({E::kToolCallArguments, R"(ris"})", head}),
            json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"ris\"}"}}]})"));
  EXPECT_TRUE(delta({E::kToolCall, {}, {"call_1", "get_weather", R"({"city":"Paris"})"}}).is_null());
  const ToolCall second{"call_2", "f", ""};
  EXPECT_EQ(delta({E::kToolCallBegin, {}, second})["tool_calls"][0]["index"], 1);
  EXPECT_EQ(delta({E::kToolCallArguments, "{}", second})["tool_calls"][0]["index"], 1);
}

TEST(Schema, ErrorKindsMapToStatuses) {
  auto status = [](std::exception_ptr e) { return ErrorResponseFor(e).status; };
  EXPECT_EQ(status(std::make_exception_ptr(Error(ErrorKind::kInvalidArgument, "x"))), 400);
  EXPECT_EQ(status(std::make_exception_ptr(Error(ErrorKind::kNotFound, "x"))), 404);
  EXPECT_EQ(status(std::make_exception_ptr(Error(ErrorKind::kRuntime, "x"))), 500);
  EXPECT_EQ(status(std::make_exception_ptr(std::runtime_error("x"))), 500);
  ErrorResponse e = ErrorResponseFor(std::make_exception_ptr(ApiError(503, ErrorKind::kLimit, "busy", {}, "queue_full")));
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.body["error"]["type"], "server_overloaded");
  EXPECT_EQ(e.body["error"]["code"], "queue_full");
  EXPECT_TRUE(e.body["error"]["param"].is_null());
}

TEST(Metrics, PrometheusHistogramIsCumulative) {
  Metrics m;
  m.CountRequest("chat_completions", 200);
  m.CountGeneration(10, 4, 5, 0.02, 30, 0.0);
  m.CountGeneration(10, 0, 5, 3.0, 300, 0.0);
  const std::string text = m.Render(2, 1, 4);
  EXPECT_NE(text.find("gemma4_requests_total{endpoint=\"chat_completions\",status=\"200\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_queue_depth 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_time_to_first_token_seconds_bucket{le=\"0.025000000000000001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_time_to_first_token_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_prompt_tokens_cached_total 4\n"), std::string::npos);
}

TEST(StreamChannel, DeliversInOrderThenCloses) {
  StreamChannel ch;
  ch.Push("a");
  ch.Push("b");
  ch.Close();
  ch.Push("ignored");
  std::string out;
  const auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  EXPECT_EQ(ch.Pop(out, soon), StreamChannel::Status::kData);
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(ch.Pop(out, soon), StreamChannel::Status::kClosed);
  StreamChannel empty;
  EXPECT_EQ(empty.Pop(out, std::chrono::steady_clock::now() + std::chrono::milliseconds(10)),
            StreamChannel::Status::kTimeout);
}

}  // namespace
}  // namespace gemma4::server

namespace gemma4::server {
namespace {

TEST(Schema, ResponseFormatBuildsAGrammarOrNamesTheSchemaPointer) {
  const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
  auto parse = [&](const std::string& extra) {
    return ParseChatCompletionRequest(nlohmann::json::parse("{" + msgs + "," + extra + "}"), 1000);
  };
  EXPECT_EQ(parse(R"("response_format":{"type":"text"})").grammar, nullptr);
  EXPECT_NE(parse(R"("response_format":{"type":"json_object"})").grammar, nullptr);
  auto schema = parse(R"("response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,"schema":{
      "type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}})");
  ASSERT_NE(schema.grammar, nullptr);
  EXPECT_NE(schema.grammar->text().find("\\\"a\\\""), std::string::npos);
  auto completion = ParseCompletionRequest(
      nlohmann::json::parse(R"({"prompt":"x","response_format":{"type":"json_object"}})"), 1000);
  EXPECT_NE(completion.grammar, nullptr);

  std::string param;
  EXPECT_EQ(ChatError("{" + msgs + R"(,"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{"t":{"type":"array","uniqueItems":true}}}}}})", &param),
            "response_format.json_schema.schema: invalid schema for response_format 'p': /properties/t/uniqueItems: unsupported keyword");
  EXPECT_EQ(param, "response_format.json_schema.schema");
  EXPECT_EQ(ChatError("{" + msgs + R"(,"response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}}})"),
            "response_format.json_schema.schema: invalid schema for response_format 'p': /required: strict mode requires "
            "every property to be required; 'a' is missing");
  EXPECT_EQ(ChatError("{" + msgs + R"(,"response_format":{"type":"json_schema"}})", &param),
            "response_format.json_schema: missing (json_schema needs {\"name\", \"schema\"})");
  EXPECT_EQ(ChatError("{" + msgs + R"(,"response_format":{"type":"yaml"}})", &param),
            "response_format.type: expected 'text', 'json_object' or 'json_schema', got 'yaml'");
}

TEST(Schema, ToolChoiceRequiredOrNamedConstrainsToAToolCall) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"type":"integer"}}}}},
      {"type":"function","function":{"name":"b"}}],)";
  const std::string msgs = R"("messages":[{"role":"user","content":"x"}])";
  auto parse = [&](const std::string& choice) {
    return ParseChatCompletionRequest(nlohmann::json::parse("{" + tools + choice + msgs + "}"), 1000);
  };
  EXPECT_EQ(parse(R"("tool_choice":"auto",)").grammar, nullptr);
  auto required = parse(R"("tool_choice":"required",)");
  ASSERT_NE(required.grammar, nullptr);
  EXPECT_NE(required.grammar->text().find("\"a\""), std::string::npos);
  EXPECT_NE(required.grammar->text().find("\"b\""), std::string::npos);
  auto named = parse(R"("tool_choice":{"type":"function","function":{"name":"b"}},)");
  ASSERT_NE(named.grammar, nullptr);
  EXPECT_EQ(named.grammar->text().find("\"a\""), std::string::npos);
  std::string param;
  EXPECT_EQ(ChatError("{" + std::string(R"("tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"not":{}}}}}}],"tool_choice":"required",)") + msgs + "}", &param),
            "tools: cannot constrain the reply to a tool call: tools[0].function.parameters/properties/x/not: unsupported keyword");
  EXPECT_EQ(param, "tools");
}

}  // namespace
}  // namespace gemma4::server
