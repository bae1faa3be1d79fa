// Typed access to request fields with errors that name the field: "messages[2].role: expected
// a string, got integer". Shared by the OpenAI, Responses and Anthropic request parsers.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gemma4::server {

std::string TypeName(const nlohmann::json& v);  // "null", "boolean", "integer", "number", ...
// 400 "<path>: expected <expected>, got <type>".
[[noreturn]] void ThrowType(const std::string& path, const char* expected, const nlohmann::json& got);
// The field, or nullptr when absent or null (OpenAI treats an explicit null as "not given").
const nlohmann::json* Field(const nlohmann::json& object, const char* name);
// The field, or 400 "<path>.<name>: missing" (path empty: "<name>: missing").
const nlohmann::json& RequiredField(const nlohmann::json& object, const char* name, const std::string& path);

// Message content as text: a string, or an array of {"type": T, "text": ...} parts whose T is one
// of `part_types` (joined by newlines); anything else is a 400 naming the part.
std::string TextContent(const nlohmann::json& content, const std::string& path,
                        std::initializer_list<std::string_view> part_types);

double Number(const nlohmann::json& v, const std::string& path, double lo, double hi);
int64_t Integer(const nlohmann::json& v, const std::string& path, int64_t lo, int64_t hi);
bool Bool(const nlohmann::json& v, const std::string& path);
const std::string& String(const nlohmann::json& v, const std::string& path);

}  // namespace gemma4::server
