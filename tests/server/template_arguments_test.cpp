// Template fidelity for tool-call arguments, both ways against jinja2: the library renders
// messages as transformers passes them (a JSON-string argument stays a string), and the server
// turns OpenAI's string into an object only for a template that takes a mapping.
#include "server/template_arguments.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "gemma4/chat_template.h"
#include "test_util.h"

namespace gemma4::server {
namespace {

using Json = nlohmann::ordered_json;

// Concatenates the arguments as text (a template written for OpenAI's string).
constexpr const char* kStringTemplate =
    "{%- for m in messages -%}{%- for c in m.tool_calls or [] -%}"
    "call:{{ c.function.name }}({{ c.function.arguments }});"
    "{%- endfor -%}{%- endfor -%}";
// Iterates the arguments (a template written for transformers' documented object).
constexpr const char* kMappingTemplate =
    "{%- for m in messages -%}{%- for c in m.tool_calls or [] -%}"
    "call:{{ c.function.name }}({%- for k, v in c.function.arguments.items() -%}{{ k }}={{ v }},{%- endfor -%});"
    "{%- endfor -%}{%- endfor -%}";

Json Messages(Json arguments) {
  return Json::array({{{"role", "user"}, {"content", "Weather?"}},
                      {{"role", "assistant"},
                       {"content", ""},
                       {"tool_calls", Json::array({{{"id", "call_1"},
                                                    {"type", "function"},
                                                    {"function", {{"name", "get_weather"},
                                                                  {"arguments", std::move(arguments)}}}}})}}});
}

// jinja2's result for `source` over `messages` (tests/server/jinja2_render.py).
Json Jinja2(const std::string& source, const Json& messages) {
  testing::TempDir tmp;
  const auto request = tmp / "request.json";
  {
    std::FILE* f = std::fopen(request.c_str(), "w");
    const std::string text = Json{{"template", source}, {"variables", {{"messages", messages}}}}.dump();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string cmd = std::string(GEMMA4_PYTHON) + " " + GEMMA4_SOURCE_DIR "/tests/server/jinja2_render.py " +
                          request.string();
  std::FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << cmd;
  return Json::parse(out);
}

Json Ours(const std::string& source, const Json& messages) {
  try {
    const ChatTemplate t = ChatTemplate::Parse(source);
    return {{"ok", true}, {"output", t.Render(Json{{"messages", NormalizeMessages(messages)}})}};
  } catch (const Error& e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

const std::string kStringArgs = R"({"city": "Paris"})";

TEST(TemplateArguments, TheDecisionComesFromTheTemplate) {
  EXPECT_FALSE(TemplateTakesArgumentMappings(kStringTemplate));
  EXPECT_TRUE(TemplateTakesArgumentMappings(kMappingTemplate));
  EXPECT_TRUE(TemplateTakesArgumentMappings("{% if call.arguments is mapping %}x{% endif %}"));
  EXPECT_TRUE(TemplateTakesArgumentMappings("{{ fn.arguments | tojson }}"));
  EXPECT_TRUE(TemplateTakesArgumentMappings("{% for k in tool_call.function.arguments %}{{ k }}{% endfor %}"));
  EXPECT_TRUE(TemplateTakesArgumentMappings("{{ fn.arguments['city'] }}"));
  EXPECT_FALSE(TemplateTakesArgumentMappings("{{ '{' ~ fn.arguments ~ '}' }}"));
  // The Gemma 4 style test package's template tests `is mapping`.
  const ChatTemplateConfig config = LoadChatTemplateConfig(testing::TestModel("text-q4"));
  EXPECT_TRUE(TemplateTakesArgumentMappings(config.source));
}

TEST(TemplateArguments, TheLibraryPassesStringArgumentsAsTransformersDoes) {
  // A string stays a string: the string template renders it as jinja2 does ...
  const Json messages = Messages(kStringArgs);
  const Json reference = Jinja2(kStringTemplate, messages);
  ASSERT_TRUE(reference["ok"].get<bool>()) << reference.dump();
  EXPECT_EQ(Ours(kStringTemplate, messages), reference);
  EXPECT_EQ(reference["output"], "call:get_weather({\"city\": \"Paris\"});");
  // ... and the mapping template fails on it in both (a str has no items()).
  EXPECT_FALSE(Jinja2(kMappingTemplate, messages)["ok"].get<bool>());
  EXPECT_FALSE(Ours(kMappingTemplate, messages)["ok"].get<bool>());
}

TEST(TemplateArguments, TheServerGivesAMappingTemplateTheObject) {
  const Json wire = Messages(kStringArgs);  // OpenAI's shape
  const Json prepared = ToolArgumentsForTemplate(wire, TemplateTakesArgumentMappings(kMappingTemplate));
  EXPECT_TRUE(prepared[1]["tool_calls"][0]["function"]["arguments"].is_object());
  const Json reference = Jinja2(kMappingTemplate, Messages(Json{{"city", "Paris"}}));
  ASSERT_TRUE(reference["ok"].get<bool>()) << reference.dump();
  EXPECT_EQ(Ours(kMappingTemplate, prepared), reference);
  EXPECT_EQ(reference["output"], "call:get_weather(city=Paris,);");
}

TEST(TemplateArguments, TheServerGivesAStringTemplateTheText) {
  // An object on the wire (Anthropic's input) reaches a string template as JSON text.
  const Json wire = Messages(Json{{"city", "Paris"}});
  const Json prepared = ToolArgumentsForTemplate(wire, TemplateTakesArgumentMappings(kStringTemplate));
  ASSERT_TRUE(prepared[1]["tool_calls"][0]["function"]["arguments"].is_string());
  const Json reference = Jinja2(kStringTemplate, Messages(R"({"city":"Paris"})"));
  EXPECT_EQ(Ours(kStringTemplate, prepared), reference);
  // And OpenAI's string is left exactly as sent.
  EXPECT_EQ(ToolArgumentsForTemplate(Messages(kStringArgs), false), Messages(kStringArgs));
}

TEST(TemplateArguments, OtherShapesAreLeftAlone) {
  EXPECT_EQ(ToolArgumentsForTemplate(Json::object(), true), Json::object());
  const Json odd = Json::array({1, {{"role", "assistant"}, {"tool_calls", "x"}},
                                {{"role", "assistant"}, {"tool_calls", Json::array({1, {{"function", 2}}})}}});
  EXPECT_EQ(ToolArgumentsForTemplate(odd, true), odd);
  // A string that is not a JSON object stays a string even for a mapping template.
  EXPECT_EQ(ToolArgumentsForTemplate(Messages("not json"), true), Messages("not json"));
}

}  // namespace
}  // namespace gemma4::server
