// CheckJsonDepth: deep bodies are refused before any JSON value is built, naming the field.
#include "server/json_depth.h"

#include <gtest/gtest.h>

#include <string>

#include "server/api_error.h"
#include "server/openai_schema.h"

namespace gemma4::server {
namespace {

std::string Nest(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonDepth, DeepFieldIsNamed) {
  const std::string body = R"({"messages":[],"chat_template_kwargs":{"x":)" + Nest(1000000) + "}}";
  try {
    CheckJsonDepth(body);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "chat_template_kwargs");
    EXPECT_EQ(e.code(), "json_too_deep");
    EXPECT_NE(std::string(e.what()).find("deeper than 128 levels"), std::string::npos) << e.what();
  }
}

TEST(JsonDepth, BracketsInsideStringsDoNotCount) {
  const std::string body = R"({"a":")" + std::string(10000, '[') + R"(\"[[[","b":1})";
  EXPECT_NO_THROW(CheckJsonDepth(body));
}

TEST(JsonDepth, RealisticDeepToolSchemaPasses) {
  // A tool whose parameters nest 60 levels of objects: far deeper than real schemas, still fine.
  std::string schema = R"({"type":"string"})";
  for (int i = 0; i < 60; ++i) schema = R"({"type":"object","properties":{"p":)" + schema + "}}";
  const std::string body = R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":)" +
                           schema + "}}]}";
  EXPECT_NO_THROW(ParseChatCompletionRequest(ParseBody(body), 1000));
}

TEST(ParseBody, NumbersBeyondDoubleAreA400) {
  // Found by the openai_request fuzzer: nlohmann's out_of_range escaped ParseBody.
  try {
    ParseBody(R"({"messages": [], "temperature": 66666666669288E6683})");
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "invalid_json");
  }
}

TEST(JsonDepth, LimitIsExact) {
  EXPECT_NO_THROW(CheckJsonDepth(Nest(128)));
  EXPECT_THROW(CheckJsonDepth(Nest(129)), ApiError);
}

TEST(JsonDepth, EveryObjectFieldOfARequestIsCovered) {
  // ParseBody checks before parsing, so no field that accepts objects can smuggle depth in.
  for (const char* field : {"messages", "tools", "tool_choice", "chat_template_kwargs", "stop", "logit_bias",
                            "stream_options", "response_format", "metadata"}) {
    const std::string body = std::string(R"({")") + field + R"(":)" + Nest(5000) + "}";
    try {
      ParseBody(body);
      FAIL() << field;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.param(), field);
    }
  }
}

}  // namespace
}  // namespace gemma4::server
