// The reply parser (gemma4/reply_parser.h): Gemma 4 markup -> content / reasoning_content / tool_calls, including text cut at every byte.
#include "gemma4/reply_parser.h"

#include <gtest/gtest.h>

namespace gemma4 {
namespace {

using nlohmann::json;

// Feeds `text` in pieces of `step` bytes and returns the accumulated output.
AssistantOutput ParseInPieces(const std::string& text, size_t step, bool tools = true,
                              std::vector<std::string> names = {}, bool thinking = true) {
  ReplyParser parser(tools, "call_x", std::move(names), thinking);
  AssistantOutput seen;
  auto take = [&](const std::vector<ReplyParser::Event>& events) {
    for (const auto& e : events) {
      if (e.kind == ReplyParser::Event::kContent) seen.content += e.text;
      else if (e.kind == ReplyParser::Event::kReasoning) seen.reasoning += e.text;
      else seen.tool_calls.push_back(e.call);
    }
  };
  for (size_t i = 0; i < text.size(); i += step) take(parser.Feed(text.substr(i, step)));
  take(parser.Finish());
  return seen;
}

TEST(ReplyParser, PlainTextIsContentUnchanged) {
  const std::string text = "Bonjour <| pas un marqueur < ni | celui-ci >";
  for (size_t step : {1, 2, 5, 100}) {
    auto out = ParseInPieces(text, step);
    EXPECT_EQ(out.content, text) << "step " << step;
    EXPECT_TRUE(out.reasoning.empty());
    EXPECT_TRUE(out.tool_calls.empty());
  }
}

TEST(ReplyParser, ThoughtChannelBecomesReasoning) {
  const std::string text = "<|channel>thought\nLet me think.\nTwo lines.<channel|>The answer is 4.";
  for (size_t step = 1; step <= text.size(); ++step) {
    auto out = ParseInPieces(text, step);
    EXPECT_EQ(out.reasoning, "Let me think.\nTwo lines.") << "step " << step;
    EXPECT_EQ(out.content, "The answer is 4.") << "step " << step;
  }
}

TEST(ReplyParser, EmptyThoughtChannelDisappears) {
  auto out = ParseInPieces("<|channel>thought\n<channel|>Hi", 3);
  EXPECT_EQ(out.content, "Hi");
  EXPECT_EQ(out.reasoning, "");
}

TEST(ReplyParser, ToolCallWithQuotedStringsAndNumbers) {
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

TEST(ReplyParser, TwoToolCallsGetDistinctIds) {
  auto out = ParseInPieces("<|tool_call>call:a{}<tool_call|><|tool_call>call:b{x:1}<tool_call|>", 4);
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "a");
  EXPECT_EQ(out.tool_calls[0].arguments, "{}");
  EXPECT_EQ(out.tool_calls[1].name, "b");
  EXPECT_EQ(out.tool_calls[1].arguments, R"({"x":1})");
  EXPECT_NE(out.tool_calls[0].id, out.tool_calls[1].id);
}

TEST(ReplyParser, UnterminatedCallAtEndIsStillParsed) {
  // Generation stops on <|tool_response> (an EOS id), which may come before <tool_call|>.
  auto out = ParseInPieces("<|tool_call>call:lookup{q:<|\"|>x<|\"|>}", 5);
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].arguments, R"({"q":"x"})");
}

TEST(ReplyParser, ACallCutInsideItsNameIsContent) {
  // max_tokens ran out in "call:get_wea": not a call of a tool named get_wea.
  auto cut = ParseInPieces("<|tool_call>call:get_wea", 3, true, {"get_weather"});
  EXPECT_TRUE(cut.tool_calls.empty());
  EXPECT_EQ(cut.content, "<|tool_call>call:get_wea");
  // Terminated, a call without arguments is one.
  auto whole = ParseInPieces("<|tool_call>call:get_time<tool_call|>", 3);
  ASSERT_EQ(whole.tool_calls.size(), 1u);
  EXPECT_EQ(whole.tool_calls[0].arguments, "{}");
}

TEST(ReplyParser, MalformedCallIsKeptAsContent) {
  auto out = ParseInPieces("<|tool_call>not a call<tool_call|>after", 2);
  EXPECT_TRUE(out.tool_calls.empty());
  EXPECT_EQ(out.content, "<|tool_call>not a call<tool_call|>after");
}

TEST(ReplyParser, ToolMarkupIsContentWhenToolsAreOff) {
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

// What Gemma 4 really writes (reports from llama.cpp, vLLM and ollama users), at every split.

TEST(ReplyParser, PlainJsonAndSingleQuotedStringsInArguments) {
  for (size_t step : {1, 3, 100}) {
    auto out = ParseInPieces(R"(<|tool_call>call:f{a:"x, y",b:['p','q\'s'],c:{"k":'v'}}<tool_call|>)", step);
    ASSERT_EQ(out.tool_calls.size(), 1u) << step;
    EXPECT_EQ(json::parse(out.tool_calls[0].arguments), json::parse(R"({"a":"x, y","b":["p","q's"],"c":{"k":"v"}})"));
  }
}

TEST(ReplyParser, CallAfterAChannelCloseWithoutOpener) {
  for (size_t step : {1, 2, 7, 100}) {
    auto out = ParseInPieces("Sure.<channel|>call:get_weather{city:<|\"|>Paris<|\"|>}<channel|>call:get_time{}", step);
    ASSERT_EQ(out.tool_calls.size(), 2u) << step;
    EXPECT_EQ(out.tool_calls[0].name, "get_weather");
    EXPECT_EQ(out.tool_calls[0].arguments, R"({"city":"Paris"})");
    EXPECT_EQ(out.tool_calls[1].name, "get_time");
    EXPECT_EQ(out.content, "Sure.");  // the stray markers are not content
  }
  // A stray close marker with no call after it is dropped, not shown.
  EXPECT_EQ(ParseInPieces("a<channel|>b", 1).content, "ab");
}

TEST(ReplyParser, NamespacedNamesMapToTheDeclaredTool) {
  auto out = ParseInPieces("<|tool_call>call:default_api:get_weather{}<tool_call|><|tool_call>call:mcp.fs.read{}<tool_call|>",
                           4, true, {"get_weather", "fs.read"});
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(out.tool_calls[1].name, "fs.read");
  // Undeclared namespaced names stay as written.
  auto kept = ParseInPieces("<|tool_call>call:a:b{}<tool_call|>", 4, true, {"c"});
  ASSERT_EQ(kept.tool_calls.size(), 1u);
  EXPECT_EQ(kept.tool_calls[0].name, "a:b");
}

TEST(ReplyParser, ChannelNameDecisionDoesNotDependOnTheCuts) {
  // Found by the output_parser fuzzer: whether a "<|channel>" had a name line depended on how many
  // bytes had arrived when it was decided.
  const std::string long_first_line = "<|channel>" + std::string(70, 'x') + "\nrest<channel|>after";
  const std::string late_close = "<|channel>" + std::string(80, 'y') + "<channel|>after";
  for (const std::string& text : {long_first_line, late_close}) {
    const auto whole = ParseInPieces(text, 1000);
    for (size_t step : {1, 3, 16, 65}) {
      const auto cut = ParseInPieces(text, step);
      EXPECT_EQ(cut.reasoning, whole.reasoning) << step;
      EXPECT_EQ(cut.content, whole.content) << step;
    }
    EXPECT_EQ(whole.content, "after");
    EXPECT_FALSE(whole.reasoning.empty());  // never silently dropped
  }
}

TEST(ReplyParser, AThoughtThatSwallowsTheAnswer) {
  // Thinking off, the channel never closes: the text is the answer.
  auto swallowed = ParseInPieces("<|channel>thought\nThe capital is Paris.", 3, true, {}, /*thinking=*/false);
  EXPECT_EQ(swallowed.content, "The capital is Paris.");
  EXPECT_EQ(swallowed.reasoning, "");
  // Closed, it stays a thought; with thinking on, an unclosed one stays a (cut) thought.
  auto closed = ParseInPieces("<|channel>thought\nhmm<channel|>Paris.", 3, true, {}, false);
  EXPECT_EQ(closed.reasoning, "hmm");
  EXPECT_EQ(closed.content, "Paris.");
  auto cut = ParseInPieces("<|channel>thought\nstill thinking", 3, true, {}, true);
  EXPECT_EQ(cut.reasoning, "still thinking");
  EXPECT_EQ(cut.content, "");
}

}  // namespace
}  // namespace gemma4
