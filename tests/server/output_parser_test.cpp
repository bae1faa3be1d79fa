// Gemma 4 markup -> content / reasoning_content / tool_calls, including text cut at every byte.
#include "server/output_parser.h"

#include <gtest/gtest.h>

namespace gemma4::server {
namespace {

using nlohmann::json;

// Feeds `text` in pieces of `step` bytes and returns the accumulated output.
AssistantOutput ParseInPieces(const std::string& text, size_t step, bool tools = true) {
  OutputParser parser(tools, "call_x");
  AssistantOutput seen;
  auto take = [&](const std::vector<OutputParser::Event>& events) {
    for (const auto& e : events) {
      if (e.kind == OutputParser::Event::kContent) seen.content += e.text;
      else if (e.kind == OutputParser::Event::kReasoning) seen.reasoning += e.text;
      else seen.tool_calls.push_back(e.call);
    }
  };
  for (size_t i = 0; i < text.size(); i += step) take(parser.Feed(text.substr(i, step)));
  take(parser.Finish());
  return seen;
}

TEST(OutputParser, PlainTextIsContentUnchanged) {
  const std::string text = "Bonjour <| pas un marqueur < ni | celui-ci >";
  for (size_t step : {1, 2, 5, 100}) {
    auto out = ParseInPieces(text, step);
    EXPECT_EQ(out.content, text) << "step " << step;
    EXPECT_TRUE(out.reasoning.empty());
    EXPECT_TRUE(out.tool_calls.empty());
  }
}

TEST(OutputParser, ThoughtChannelBecomesReasoning) {
  const std::string text = "<|channel>thought\nLet me think.\nTwo lines.<channel|>The answer is 4.";
  for (size_t step = 1; step <= text.size(); ++step) {
    auto out = ParseInPieces(text, step);
    EXPECT_EQ(out.reasoning, "Let me think.\nTwo lines.") << "step " << step;
    EXPECT_EQ(out.content, "The answer is 4.") << "step " << step;
  }
}

TEST(OutputParser, EmptyThoughtChannelDisappears) {
  auto out = ParseInPieces("<|channel>thought\n<channel|>Hi", 3);
  EXPECT_EQ(out.content, "Hi");
  EXPECT_EQ(out.reasoning, "");
}

TEST(OutputParser, ToolCallWithQuotedStringsAndNumbers) {
  const std::string text =
      "Checking.<|tool_call>call:get_weather{city:<|\"|>Paris, France<|\"|>,days:3,metric:true,"
      "opts:{lang:<|\"|>fr<|\"|>,tags:[<|\"|>a<|\"|>,2.5]}}<tool_call|>";
  for (size_t step = 1; step <= text.size(); step += 3) {
    auto out = ParseInPieces(text, step);
    EXPECT_EQ(out.content, "Checking.") << "step " << step;
    ASSERT_EQ(out.tool_calls.size(), 1u) << "step " << step;
    EXPECT_EQ(out.tool_calls[0].name, "get_weather");
    EXPECT_EQ(out.tool_calls[0].id, "call_x_0");
    EXPECT_EQ(json::parse(out.tool_calls[0].arguments),
              json::parse(R"({"city":"Paris, France","days":3,"metric":true,"opts":{"lang":"fr","tags":["a",2.5]}})"));
  }
}

TEST(OutputParser, TwoToolCallsGetDistinctIds) {
  auto out = ParseInPieces("<|tool_call>call:a{}<tool_call|><|tool_call>call:b{x:1}<tool_call|>", 4);
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "a");
  EXPECT_EQ(out.tool_calls[0].arguments, "{}");
  EXPECT_EQ(out.tool_calls[1].name, "b");
  EXPECT_EQ(out.tool_calls[1].arguments, R"({"x":1})");
  EXPECT_NE(out.tool_calls[0].id, out.tool_calls[1].id);
}

TEST(OutputParser, UnterminatedCallAtEndIsStillParsed) {
  // Generation stops on <|tool_response> (an EOS id), which may come before <tool_call|>.
  auto out = ParseInPieces("<|tool_call>call:lookup{q:<|\"|>x<|\"|>}", 5);
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].arguments, R"({"q":"x"})");
}

TEST(OutputParser, MalformedCallIsKeptAsContent) {
  auto out = ParseInPieces("<|tool_call>not a call<tool_call|>after", 2);
  EXPECT_TRUE(out.tool_calls.empty());
  EXPECT_EQ(out.content, "<|tool_call>not a call<tool_call|>after");
}

TEST(OutputParser, ToolMarkupIsContentWhenToolsAreOff) {
  const std::string text = "<|tool_call>call:a{}<tool_call|>";
  auto out = ParseInPieces(text, 1, /*tools=*/false);
  EXPECT_EQ(out.content, text);
  EXPECT_TRUE(out.tool_calls.empty());
}

TEST(GemmaValue, ParsesTheTemplateSyntax) {
  EXPECT_EQ(*ParseGemmaValue("{a:<|\"|>x y<|\"|>,b:-2,c:null,d:[1,2],e:{f:false}}"),
            json::parse(R"({"a":"x y","b":-2,"c":null,"d":[1,2],"e":{"f":false}})"));
  EXPECT_EQ(*ParseGemmaValue(R"({"json":"style","n":1e3})"), json::parse(R"({"json":"style","n":1000.0})"));
  EXPECT_FALSE(ParseGemmaValue("{a:1"));
  EXPECT_FALSE(ParseGemmaValue("{a:<|\"|>open}"));
  EXPECT_FALSE(ParseGemmaValue("{a:1}}"));
  // Deep nesting is refused rather than recursed without bound.
  EXPECT_FALSE(ParseGemmaValue(std::string(10000, '[') + std::string(10000, ']')));
}

TEST(GemmaToolCall, NameAndArguments) {
  auto call = ParseGemmaToolCall(" call:search{query:<|\"|>gemma<|\"|>} ");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->name, "search");
  EXPECT_EQ(call->arguments, json::parse(R"({"query":"gemma"})"));
  EXPECT_FALSE(ParseGemmaToolCall("search{}"));
  EXPECT_FALSE(ParseGemmaToolCall("call:{}"));
  EXPECT_FALSE(ParseGemmaToolCall("call:f[1]"));
}

}  // namespace
}  // namespace gemma4::server
