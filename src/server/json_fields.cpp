// Field access and range checks for request bodies.
#include "server/json_fields.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "server/api_error.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "value";
  }
}

[[noreturn]] void ThrowType(const std::string& path, const char* expected, const json& got) {
  ThrowInvalid(path, std::string("expected ") + expected + ", got " + TypeName(got));
}

const json* Field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

double Number(const json& v, const std::string& path, double lo, double hi) {
  if (!v.is_number()) ThrowType(path, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    ThrowInvalid(path, "must be in [" + FormatNumber(lo) + ", " + FormatNumber(hi) + "], got " + FormatNumber(d));
  }
  return d;
}

int64_t Integer(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      const int64_t i = static_cast<int64_t>(d);
      if (i < lo || i > hi) ThrowInvalid(path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(i));
      return i;
    }
    ThrowType(path, "an integer", v);
  }
  if (!v.is_number_integer()) ThrowType(path, "an integer", v);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    ThrowInvalid(path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  }
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) ThrowInvalid(path, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(i));
  return i;
}

bool Bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) ThrowType(path, "a boolean", v);
  return v.get<bool>();
}

const std::string& String(const json& v, const std::string& path) {
  if (!v.is_string()) ThrowType(path, "a string", v);
  return v.get_ref<const std::string&>();
}

std::string TextContent(const json& content, const std::string& path, std::initializer_list<std::string_view> part_types) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) ThrowType(path, "a string or an array of content parts", content);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object()) ThrowType(p, "an object", part);
    const std::string& type = String(RequiredField(part, "type", p), p + ".type");
    if (std::find(part_types.begin(), part_types.end(), type) == part_types.end()) {
      std::string accepted;
      for (std::string_view t : part_types) accepted += (accepted.empty() ? "'" : ", '") + std::string(t) + "'";
      ThrowInvalid(p + ".type", "only " + accepted + " parts are supported, got '" + type + "'", "unsupported_value");
    }
    if (!text.empty()) text += '\n';
    text += String(RequiredField(part, "text", p), p + ".text");
  }
  return text;
}

const json& RequiredField(const json& object, const char* name, const std::string& path) {
  const json* v = Field(object, name);
  if (!v) ThrowInvalid(path.empty() ? std::string(name) : path + "." + name, "missing");
  return *v;
}

}  // namespace gemma4::server
