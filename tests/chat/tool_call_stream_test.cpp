// Tool calls streamed while the model writes them: GemmaJsonStream (Gemma 4 value syntax -> JSON,
// piece by piece) and ReplyParser's streamed calls (begin with id and name, argument pieces, end).
// Every text is fed at every cut size down to one byte: the pieces must add up to exactly the
// JSON of the unstreamed reply (written out here by hand), the JSON written so far must always
// close into valid JSON, and a call must begin before its arguments are complete.
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gemma4/gemma_json_stream.h"
#include "gemma4/reply_parser.h"

namespace gemma4 {
namespace {

using nlohmann::json;

// Converts `text` fed in pieces of `step` bytes; checks after every piece that what was written
// so far (once anything was) plus Closing() is valid JSON (nothing ever has to be taken back).
std::string ConvertInPieces(const std::string& text, size_t step, GemmaJsonStream::Status* status) {
  GemmaJsonStream stream;
  std::string out;
  for (size_t i = 0; i < text.size(); i += step) {
    stream.Feed(text.substr(i, step), out);
    EXPECT_TRUE(out.empty() || json::accept(out + stream.Closing())) << "after " << i + step << " bytes: " << out;
  }
  *status = stream.Finish(out);
  return out;
}

// Gemma 4 argument syntax and the JSON OpenAI clients get for it (keys in the model's order).
const std::pair<std::string, std::string> kConversions[] = {
    {"{city:<|\"|>Paris, France<|\"|>,days:3,metric:true}", R"({"city":"Paris, France","days":3,"metric":true})"},
    // Quoted text holding what delimits everything else.
    {"{q:<|\"|>a}b,c]d:e{f[g 'h\" \\n<|\"|>}", R"({"q":"a}b,c]d:e{f[g 'h\" \\n"})"},
    {"{opts:{lang:<|\"|>fr<|\"|>,tags:[<|\"|>a<|\"|>,2.5,[],{}],deep:{x:{y:[null,None,false]}}}}",
     R"({"opts":{"lang":"fr","tags":["a",2.5,[],{}],"deep":{"x":{"y":[null,null,false]}}}})"},
    // Plain JSON and Python strings, as the model sometimes writes them, and bare words.
    {R"({a:"x, y\"}",b:['p','q\'s'],"c k":{'k':"v\u00e9"},d: bare words ,e:-1.5e3})",
     R"({"a":"x, y\"}","b":["p","q's"],"c k":{"k":"vé"},"d":"bare words","e":-1500.0})"},
    // Multi-byte UTF-8 (cut anywhere by the pieces) and invalid bytes (replaced).
    {"{t:<|\"|>h\xC3\xA9llo \xF0\x9F\x98\x80 \xE2\x82\xAC<|\"|>,bad:<|\"|>x\xFFy\xE2\x82<|\"|>}",
     "{\"t\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \xE2\x82\xAC\",\"bad\":\"x\xEF\xBF\xBDy\xEF\xBF\xBD\"}"},
    // A repeated key stays (the pieces cannot take the first one back).
    {"{a:1,a:2}", R"({"a":1,"a":2})"},
    {" { sp : <|\"|> x <|\"|> , n : 1 } ", R"({"sp":" x ","n":1})"},
    {"{}", "{}"},
};

TEST(GemmaJsonStream, PiecesAddUpToTheWholeConversionAtEveryCut) {
  for (const auto& [text, expected] : kConversions) {
    for (size_t step = 1; step <= text.size(); ++step) {
      GemmaJsonStream::Status status;
      EXPECT_EQ(ConvertInPieces(text, step, &status), expected) << text << " step " << step;
      EXPECT_EQ(status, GemmaJsonStream::Status::kComplete) << text << " step " << step;
    }
    ASSERT_TRUE(ParseGemmaValue(text)) << text;
    EXPECT_EQ(*ParseGemmaValue(text), json::parse(expected)) << text;
  }
}

TEST(GemmaJsonStream, StringTextStreamsAsItComes) {
  GemmaJsonStream stream;
  std::string out;
  stream.Feed("{story:<|\"|>Once upon", out);
  EXPECT_EQ(out, R"({"story":"Once upon)");
  stream.Feed(" a time<|", out);  // "<|" may be the closing quote: held
  EXPECT_EQ(out, R"({"story":"Once upon a time)");
  stream.Feed("x", out);  // it was not
  EXPECT_EQ(out, R"({"story":"Once upon a time<|x)");
  stream.Feed("\xC3", out);  // half a character: held
  EXPECT_EQ(out, R"({"story":"Once upon a time<|x)");
  stream.Feed("\xA9<|\"|>", out);
  EXPECT_EQ(out, "{\"story\":\"Once upon a time<|x\xC3\xA9\"");
  EXPECT_EQ(stream.status(), GemmaJsonStream::Status::kOpen);
  stream.Feed("}", out);
  EXPECT_EQ(stream.status(), GemmaJsonStream::Status::kComplete);
  // A key goes out only with the start of its value; a number once it ends.
  GemmaJsonStream keys;
  std::string k;
  keys.Feed("{count", k);
  EXPECT_EQ(k, "{");
  EXPECT_FALSE(keys.wrote_member());
  keys.Feed(":12", k);
  EXPECT_EQ(k, "{");
  keys.Feed("3,", k);
  EXPECT_EQ(k, R"({"count":123)");
  EXPECT_TRUE(keys.wrote_member());
}

TEST(GemmaJsonStream, MalformedInputStopsAndClosesWhatParsed) {
  for (const std::string text : {"{a:1", "{a:<|\"|>open}", "{a:1}}", "{a:1,}", "{a b}", "{a:1]", "[1,]", "{a:\"x\\q\"}",
                                 "{:1}", "{a:'open}"}) {
    GemmaJsonStream::Status status;
    const std::string out = ConvertInPieces(text, 1, &status);
    EXPECT_EQ(status, GemmaJsonStream::Status::kMalformed) << text;
    EXPECT_FALSE(ParseGemmaValue(text)) << text;
  }
  GemmaJsonStream stream;
  std::string out;
  EXPECT_EQ(stream.Feed("{a:[1,{b:<|\"|>te", out), GemmaJsonStream::Status::kOpen);
  EXPECT_EQ(out + stream.Closing(), R"({"a":[1,{"b":"te"}]})");
  EXPECT_EQ(stream.Finish(out), GemmaJsonStream::Status::kMalformed);
  // Text after the value is malformed; converted() tells where the written JSON stops.
  GemmaJsonStream after;
  std::string a;
  EXPECT_EQ(after.Feed("{a:1} x", a), GemmaJsonStream::Status::kMalformed);
  EXPECT_EQ(a, R"({"a":1})");
  EXPECT_EQ(after.converted(), 5u);
  // Nesting is bounded, not followed.
  GemmaJsonStream deep;
  std::string d;
  EXPECT_EQ(deep.Feed(std::string(GemmaJsonStream::kMaxDepth + 1, '['), d), GemmaJsonStream::Status::kMalformed);
  EXPECT_EQ(d.size(), GemmaJsonStream::kMaxDepth);
}

// ---- ReplyParser with streamed tool calls ----

struct Streamed {
  std::string content;
  std::vector<ToolCall> calls;       // the ends (kToolCall)
  std::vector<std::string> pieces;   // all argument pieces, in order
  std::vector<size_t> begun_at;      // the Feed() call each call began in
  std::vector<size_t> ended_at;      // ... and ended in
  std::vector<size_t> pieces_of;     // argument pieces per call
};

// Feeds `text` in pieces of `step` bytes with calls streamed; checks the event order of each call
// (begin, pieces, end, same id and name throughout) and that its pieces add up to its arguments.
Streamed StreamCalls(const std::string& text, size_t step, std::vector<std::string> names = {}) {
  ReplyParser parser(true, "call_s", std::move(names), true, /*stream_tool_calls=*/true);
  Streamed seen;
  bool open = false;
  std::string arguments;
  size_t feed = 0;
  auto take = [&](const std::vector<ReplyParser::Event>& events) {
    for (const auto& e : events) {
      switch (e.kind) {
        case ReplyParser::Event::kContent:
          EXPECT_FALSE(open) << "content inside a streamed call";
          seen.content += e.text;
          break;
        case ReplyParser::Event::kReasoning: break;
        case ReplyParser::Event::kToolCallBegin:
          EXPECT_FALSE(open);
          EXPECT_TRUE(e.call.arguments.empty());
          EXPECT_EQ(e.call.id, "call_s_" + std::to_string(seen.calls.size()));
          open = true;
          arguments.clear();
          seen.begun_at.push_back(feed);
          seen.pieces_of.push_back(0);
          seen.calls.push_back({e.call.id, e.call.name, {}});
          break;
        case ReplyParser::Event::kToolCallArguments:
          EXPECT_TRUE(open);
          EXPECT_FALSE(e.text.empty());
          EXPECT_EQ(e.call.id, seen.calls.back().id);
          arguments += e.text;
          seen.pieces.push_back(e.text);
          ++seen.pieces_of.back();
          break;
        case ReplyParser::Event::kToolCall:
          EXPECT_TRUE(open) << "a call ended that never began";
          open = false;
          EXPECT_EQ(e.call.id, seen.calls.back().id);
          EXPECT_EQ(e.call.name, seen.calls.back().name);
          EXPECT_EQ(e.call.arguments, arguments) << "the pieces do not add up to the call's arguments";
          seen.calls.back().arguments = e.call.arguments;
          seen.ended_at.push_back(feed);
          break;
      }
    }
  };
  for (size_t i = 0; i < text.size(); i += step, ++feed) take(parser.Feed(text.substr(i, step)));
  take(parser.Finish());
  EXPECT_FALSE(open);
  EXPECT_EQ(parser.output().content, seen.content);
  EXPECT_EQ(parser.output().tool_calls.size(), seen.calls.size());
  return seen;
}

// The same text unstreamed, in one piece.
AssistantOutput Unstreamed(const std::string& text, std::vector<std::string> names = {}) {
  ReplyParser parser(true, "call_s", std::move(names));
  parser.Feed(text);
  parser.Finish();
  return parser.output();
}

TEST(StreamedToolCalls, PiecesAddUpToTheUnstreamedArgumentsAndTheNameComesFirst) {
  const std::string text =
      "Let me check.<|tool_call>call:get_weather{city:<|\"|>Paris, {France}<|\"|>,days:3,"
      "opts:{units:[<|\"|>c<|\"|>,\"k\"],detail:{level:2,note:'it\\'s'}}}<tool_call|>"
      "<|tool_call>call:default_api:search.web{q:<|\"|>a,b}c<|\"|>}<tool_call|>";
  const std::vector<std::string> names = {"get_weather", "search.web"};
  const AssistantOutput whole = Unstreamed(text, names);
  ASSERT_EQ(whole.tool_calls.size(), 2u);
  EXPECT_EQ(whole.tool_calls[0].arguments,
            R"({"city":"Paris, {France}","days":3,"opts":{"units":["c","k"],"detail":{"level":2,"note":"it's"}}})");
  EXPECT_EQ(whole.tool_calls[1].name, "search.web");
  EXPECT_EQ(whole.tool_calls[1].arguments, R"({"q":"a,b}c"})");
  for (size_t step = 1; step <= text.size(); ++step) {
    const Streamed s = StreamCalls(text, step, names);
    EXPECT_EQ(s.content, "Let me check.") << step;
    ASSERT_EQ(s.calls.size(), 2u) << step;
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(s.calls[c].name, whole.tool_calls[c].name) << step;
      EXPECT_EQ(s.calls[c].arguments, whole.tool_calls[c].arguments) << step;
    }
    if (step <= 4) {  // cut fine enough: the name arrives well before the arguments are complete
      EXPECT_LT(s.begun_at[0], s.ended_at[0]) << step;
      EXPECT_GT(s.pieces_of[0], 10u) << step;
      EXPECT_GT(s.pieces_of[1], 1u) << step;
    }
  }
}

TEST(StreamedToolCalls, OpenerlessCallsAndCallsWithoutArguments) {
  const std::string text = "Sure.<channel|>call:get_weather{city:<|\"|>Paris<|\"|>}<channel|>call:get_time{}<tool_call|>"
                           "<|tool_call>call:ping<tool_call|>";
  const AssistantOutput whole = Unstreamed(text);
  ASSERT_EQ(whole.tool_calls.size(), 3u);
  for (size_t step : {1, 2, 5, 13, 1000}) {
    const Streamed s = StreamCalls(text, step);
    ASSERT_EQ(s.calls.size(), 3u) << step;
    EXPECT_EQ(s.content, "Sure.") << step;
    EXPECT_EQ(s.calls[0].arguments, R"({"city":"Paris"})");
    EXPECT_EQ(s.calls[1].name, "get_time");
    EXPECT_EQ(s.calls[1].arguments, "{}");
    EXPECT_EQ(s.calls[2].name, "ping");
    EXPECT_EQ(s.calls[2].arguments, "{}");
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(s.calls[c].arguments, whole.tool_calls[c].arguments);
  }
}

TEST(StreamedToolCalls, MalformedBeforeItBeganIsContentAsUnstreamed) {
  for (const std::string text : {"<|tool_call>not a call<tool_call|>after", "<|tool_call>call:f{bar}<tool_call|>after",
                                 "<|tool_call>call:bad name{a:1}<tool_call|>after", "<|tool_call>call:f{ :1}<tool_call|>after",
                                 "<|tool_call>call:f{a:1"}) {
    const AssistantOutput whole = Unstreamed(text);
    EXPECT_TRUE(whole.tool_calls.empty()) << text;
    for (size_t step : {1, 3, 100}) {
      const Streamed s = StreamCalls(text, step);
      EXPECT_TRUE(s.calls.empty()) << text;
      EXPECT_EQ(s.content, whole.content) << text;
    }
  }
}

TEST(StreamedToolCalls, MalformedAfterItBeganEndsWithWhatParsed) {
  // Unstreamed, the whole text is content; streamed, the call had begun: it ends with the
  // arguments that parsed, closed, and the rest of its text is content.
  const std::string text = "<|tool_call>call:f{a:1,b}<tool_call|>after";
  EXPECT_EQ(Unstreamed(text).content, text);
  for (size_t step : {1, 2, 3, 100}) {  // 100: the first member and the malformation in one piece
    const Streamed s = StreamCalls(text, step);
    ASSERT_EQ(s.calls.size(), 1u) << step;
    EXPECT_EQ(s.calls[0].name, "f");
    EXPECT_EQ(s.calls[0].arguments, R"({"a":1})");
    EXPECT_EQ(s.content, ",b}after") << step;
  }
  // Text after the argument object.
  const Streamed trailing = StreamCalls("<|tool_call>call:f{a:[1,2]} junk<tool_call|>", 1);
  ASSERT_EQ(trailing.calls.size(), 1u);
  EXPECT_EQ(trailing.calls[0].arguments, R"({"a":[1,2]})");
  EXPECT_EQ(trailing.content, " junk");
  // Cut by the end of generation inside a string and inside nested containers.
  const Streamed cut = StreamCalls("<|tool_call>call:write{path:<|\"|>a.txt<|\"|>,body:{lines:[<|\"|>first line", 1);
  ASSERT_EQ(cut.calls.size(), 1u);
  EXPECT_EQ(cut.calls[0].arguments, R"({"path":"a.txt","body":{"lines":["first line"]}})");
  EXPECT_EQ(cut.content, "");
  // A cut call unstreamed stays content.
  EXPECT_TRUE(Unstreamed("<|tool_call>call:write{path:<|\"|>a.txt<|\"|>,body:{").tool_calls.empty());
}

// A random Gemma 4 value: objects (bare and quoted keys), arrays, strings in every spelling whose
// text holds the syntax's delimiters, numbers and bare words; depth-limited.
std::string RandomGemmaValue(std::mt19937& rng, int depth) {
  static const std::vector<std::string> text = {"a", "b c", "}", ",", "]", ":", "{", "\xC3\xA9", "'", "\"", "<|", "\n", " "};
  auto some_text = [&] {
    std::string t;
    for (size_t i = rng() % 4; i > 0; --i) t += text[rng() % text.size()];
    return t;
  };
  switch (depth > 2 ? 3 + rng() % 4 : rng() % 7) {
    case 0:
    case 1: {
      std::string out = "{";
      for (size_t i = 0, n = rng() % 4; i < n; ++i) {
        if (i) out += ",";
        out += rng() % 3 ? "k" + std::to_string(i) : "<|\"|>q " + std::to_string(i) + "<|\"|>";
        out += ":" + RandomGemmaValue(rng, depth + 1);
      }
      return out + "}";
    }
    case 2: {
      std::string out = "[";
      for (size_t i = 0, n = rng() % 4; i < n; ++i) out += (i ? "," : "") + RandomGemmaValue(rng, depth + 1);
      return out + "]";
    }
    case 3: {
      std::string t = some_text();
      for (size_t at; (at = t.find("<|")) != std::string::npos;) t.erase(at, 2);  // no quote inside
      return "<|\"|>" + t + "<|\"|>";
    }
    case 4: return json(std::string(rng() % 2 ? "x, y" : "q}")).dump();
    case 5: return std::to_string(static_cast<int>(rng() % 2000) - 1000);
    default: return rng() % 2 ? "true" : "None";
  }
}

// Random replies of calls (some opener-less, some cut), often damaged by a random insertion or
// cut, fed at random cuts: streamed calls always carry valid JSON object arguments, the result
// does not depend on the cuts, and every call the unstreamed reply finds is streamed with the same
// name and arguments.
TEST(StreamedToolCalls, RandomCallsKeepTheInvariants) {
  static const std::vector<std::string> damage = {"}", "{", ",", ":", "<|\"|>", "\"", "'", "x", " ", "]", "<tool_call|>"};
  std::mt19937 rng(20260516);
  size_t calls_seen = 0, streamed_more = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = rng() % 2 ? "Sure. " : "";
    for (size_t c = 0, n = 1 + rng() % 3; c < n; ++c) {
      text += rng() % 4 ? "<|tool_call>call:" : "<channel|>call:";
      text += rng() % 2 ? "f" : "ns:a.b";
      text += RandomGemmaValue(rng, rng() % 2 ? 0 : 3);
      if (rng() % 5) text += "<tool_call|>";
    }
    if (rng() % 2) {
      const size_t at = rng() % text.size();
      if (rng() % 2) text.insert(at, damage[rng() % damage.size()]);
      else text.erase(at, 1 + rng() % 6);
    }
    const AssistantOutput whole = Unstreamed(text);
    const Streamed one_piece = StreamCalls(text, text.size());
    const Streamed cut = StreamCalls(text, 1 + rng() % 7);
    ASSERT_EQ(cut.content, one_piece.content) << text;
    ASSERT_EQ(cut.calls.size(), one_piece.calls.size()) << text;
    for (size_t c = 0; c < cut.calls.size(); ++c) {
      ASSERT_EQ(cut.calls[c].name, one_piece.calls[c].name) << text;
      ASSERT_EQ(cut.calls[c].arguments, one_piece.calls[c].arguments) << text;
      const json args = json::parse(cut.calls[c].arguments, nullptr, false);
      ASSERT_TRUE(args.is_object()) << text << " -> " << cut.calls[c].arguments;
    }
    // The unstreamed calls, in order, among the streamed ones (which may add calls that began
    // and then turned out malformed).
    size_t at = 0;
    for (const ToolCall& call : whole.tool_calls) {
      while (at < cut.calls.size() && (cut.calls[at].name != call.name || cut.calls[at].arguments != call.arguments)) ++at;
      ASSERT_LT(at, cut.calls.size()) << "unstreamed call " << call.name << call.arguments << " not streamed: " << text;
      ++at;
    }
    calls_seen += whole.tool_calls.size();
    streamed_more += cut.calls.size() - whole.tool_calls.size();
  }
  EXPECT_GT(calls_seen, 1000u) << streamed_more;  // the texts do hold calls,
  EXPECT_GT(streamed_more, 50u) << calls_seen;  // and calls malformed after they began
}

TEST(StreamedToolCalls, OffByDefault) {
  ReplyParser parser(true, "c");
  auto events = parser.Feed("<|tool_call>call:f{a:<|\"|>x<|\"|>}<tool_call|>");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, ReplyParser::Event::kToolCall);
  EXPECT_EQ(events[0].call.arguments, R"({"a":"x"})");
}

}  // namespace
}  // namespace gemma4
