// The library's one reply path: ReplyStream over generated tokens (the markup the detokenizer
// skips is put back for the parser), AssistantMessage (what a turn adds to the history), and
// Conversation / GenerateChat storing the parsed reply, never the thoughts.
#include "gemma4/reply_stream.h"

#include <gtest/gtest.h>

#include "gemma4/generator.h"
#include "gemma4/tokenizer.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::ordered_json;
using testing::TestModel;

const std::shared_ptr<const Model>& SharedModel() {
  static std::shared_ptr<const Model> model = [] {
    LoadOptions options;
    options.runtime.threads = 1;
    return Model::Load(TestModel("text-q4").string(), options);
  }();
  return model;
}

// Streams `markup` token by token as generation does: each id through a detokenizer that skips
// special tokens, then into a ReplyStream.
AssistantOutput StreamAsGenerated(const std::string& markup, bool tools, bool thinking) {
  const Model& model = *SharedModel();
  const MarkupTokens found = MarkupTokens::Find(model);
  ReplyStream::Options options;
  options.parse_tool_calls = tools;
  options.markup = &found;
  options.thinking_requested = thinking;
  ReplyStream reply(options, [](const ReplyParser::Event&) {});
  StreamingDecoder decoder(model.tokenizer(), /*skip_special_tokens=*/true);
  for (int32_t id : model.tokenizer().Encode(markup, /*add_special_tokens=*/false)) {
    reply.OnToken(decoder.Push(id), id);
  }
  reply.OnToken(decoder.Flush(), -1);
  reply.Finish();
  return reply.output();
}

TEST(ReplyStream, FindsTheMarkupTokensOfThePackage) {
  const MarkupTokens found = MarkupTokens::Find(*SharedModel());
  EXPECT_EQ(found.channel.size(), 2u);
  EXPECT_EQ(found.tool.size(), 2u);
  EXPECT_EQ(found.quote.size(), 1u);
}

TEST(ReplyStream, SplitsTheThoughtChannelOutOfGeneratedTokens) {
  const AssistantOutput out =
      StreamAsGenerated("<|channel>thought\nThe user greets me.<channel|>Hello there", false, true);
  EXPECT_EQ(out.reasoning, "The user greets me.");
  EXPECT_EQ(out.content, "Hello there");
}

TEST(ReplyStream, ParsesAToolCallOutOfGeneratedTokens) {
  const AssistantOutput out =
      StreamAsGenerated("<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:2}<tool_call|>", true, false);
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(ordered_json::parse(out.tool_calls[0].arguments), ordered_json::parse(R"({"city":"Paris","days":2})"));
  EXPECT_EQ(out.content, "");
}

// Streamed calls from real tokens (the <|tool_call> and <|"|> markers are special tokens the
// detokenizer skips): the name comes first, the argument pieces (one per token at most) add up to
// the arguments the unstreamed reply gives.
TEST(ReplyStream, StreamsAToolCallTokenByToken) {
  const Model& model = *SharedModel();
  const MarkupTokens found = MarkupTokens::Find(model);
  const std::string markup =
      "<|tool_call>call:get_weather{city:<|\"|>Paris, {France}<|\"|>,days:3,opts:{units:[<|\"|>c<|\"|>,\"f\"]}}<tool_call|>"
      "<|tool_call>call:ping{}<tool_call|>";
  auto run = [&](bool stream, std::vector<ReplyParser::Event>* events, std::vector<size_t>* token_of) {
    ReplyStream::Options options;
    options.parse_tool_calls = true;
    options.markup = &found;
    options.stream_tool_calls = stream;
    size_t token = 0;
    ReplyStream reply(options, [&](const ReplyParser::Event& e) {
      events->push_back(e);
      token_of->push_back(token);
    });
    StreamingDecoder decoder(model.tokenizer(), /*skip_special_tokens=*/true);
    for (int32_t id : model.tokenizer().Encode(markup, /*add_special_tokens=*/false)) {
      // As the generator does under a grammar: a special token releases a held byte run first
      // ("[" is a byte-fallback token of the test package, and <|"|> follows it).
      reply.OnToken(model.tokenizer().IsSpecial(id) ? decoder.Flush() : decoder.Push(id), id);
      ++token;
    }
    reply.OnToken(decoder.Flush(), -1);
    reply.Finish();
    return reply.output();
  };
  std::vector<ReplyParser::Event> whole_events, events;
  std::vector<size_t> whole_tokens, tokens;
  const AssistantOutput whole = run(false, &whole_events, &whole_tokens);
  ASSERT_EQ(whole.tool_calls.size(), 2u) << whole.content;
  EXPECT_EQ(whole.tool_calls[0].arguments, R"({"city":"Paris, {France}","days":3,"opts":{"units":["c","f"]}})");
  const AssistantOutput streamed = run(true, &events, &tokens);
  ASSERT_EQ(streamed.tool_calls.size(), 2u);
  std::string arguments;
  size_t begun_at = 0, pieces = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.kind == ReplyParser::Event::kToolCallBegin && e.call.name == "get_weather") begun_at = tokens[i];
    if (e.kind == ReplyParser::Event::kToolCallArguments && e.call.name == "get_weather") {
      arguments += e.text;
      ++pieces;
    }
    if (e.kind == ReplyParser::Event::kToolCall && e.call.name == "get_weather") {
      EXPECT_LT(begun_at, tokens[i]);  // the name came tokens before the arguments were complete
    }
  }
  EXPECT_EQ(arguments, whole.tool_calls[0].arguments);
  EXPECT_GT(pieces, 5u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(streamed.tool_calls[c].name, whole.tool_calls[c].name);
    EXPECT_EQ(streamed.tool_calls[c].arguments, whole.tool_calls[c].arguments);
  }
  EXPECT_EQ(streamed.tool_calls[1].arguments, "{}");
}

// The bug this fixes: `gemma4 chat --thinking` stored the thought text (its markers stripped by the
// detokenizer) as the assistant's content, so the next turn replayed it.
TEST(AssistantMessage, KeepsTheAnswerAndNeverTheThoughts) {
  AssistantOutput reply;
  reply.reasoning = "The user greets me.";
  reply.content = "Hello there";
  EXPECT_EQ(AssistantMessage(reply), ordered_json::parse(R"({"role":"assistant","content":"Hello there"})"));
  const AssistantOutput streamed =
      StreamAsGenerated("<|channel>thought\nThe user greets me.<channel|>Hello there", false, true);
  EXPECT_EQ(AssistantMessage(streamed)["content"], "Hello there");
}

TEST(AssistantMessage, RecordsToolCallsWithObjectArguments) {
  AssistantOutput reply;
  reply.tool_calls.push_back({"call_0", "get_weather", R"({"city":"Paris"})"});
  const ordered_json m = AssistantMessage(reply);
  ASSERT_TRUE(m.contains("tool_calls"));
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_0");
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], ordered_json::parse(R"({"city":"Paris"})"));
}

TEST(Conversation, StoresTheParsedReplyAsTheAssistantMessage) {
  Conversation chat(SharedModel());
  GenerateOptions options;
  options.max_new_tokens = 6;
  options.sampling.temperature = 0;
  std::string streamed;
  const ChatResult r = chat.Reply("Hello", options, ordered_json{{"enable_thinking", true}},
                                  [&](const ReplyParser::Event& e) {
                                    if (e.kind == ReplyParser::Event::kContent) streamed += e.text;
                                  });
  ASSERT_EQ(chat.messages().size(), 2u);
  EXPECT_EQ(chat.messages()[1], AssistantMessage(r.reply));
  EXPECT_EQ(streamed, r.reply.content);
  // GenerateChat over the same messages gives the same reply from a fresh session.
  Session session(SharedModel());
  ChatRequest request;
  request.messages = ordered_json::array({{{"role", "user"}, {"content", "Hello"}}});
  request.extra = {{"enable_thinking", true}};
  const ChatResult again = GenerateChat(session, request, options);
  EXPECT_EQ(again.output_ids, r.output_ids);
  EXPECT_EQ(again.reply.content, r.reply.content);
  EXPECT_EQ(again.reply.reasoning, r.reply.reasoning);
}

TEST(Conversation, ToolsAndAddedMessagesReachTheTemplate) {
  Conversation chat(SharedModel());
  chat.SetTools(ordered_json::parse(R"([{"type":"function","function":{"name":"clock","description":"time"}}])"));
  EXPECT_THROW(chat.SetTools(ordered_json::object()), Error);
  EXPECT_THROW(chat.AddMessage(ordered_json{{"content", "no role"}}), Error);
  chat.AddMessage({{"role", "user"}, {"content", "What time is it?"}});
  GenerateOptions options;
  options.max_new_tokens = 3;
  options.sampling.temperature = 0;
  const ChatResult r = chat.Continue(options);
  ASSERT_EQ(chat.messages().size(), 2u);
  EXPECT_EQ(chat.messages()[1]["role"], "assistant");
  ChatRequest request;
  request.messages = ordered_json::array({{{"role", "user"}, {"content", "What time is it?"}}});
  request.tools = chat.tools();
  EXPECT_EQ(r.prompt_ids, SharedModel()->TokenizeChat(request));
}

}  // namespace
}  // namespace gemma4
