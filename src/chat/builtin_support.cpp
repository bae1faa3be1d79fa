// Argument access, undefined hints, list values and code-point offsets shared by the built-ins.
#include "chat/builtin_support.h"

#include <algorithm>

namespace gemma4::chat {

std::shared_ptr<const std::string> Hint(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

[[noreturn]] void RaiseUndefined(const Value& v) {
  const std::string* hint = v.undefined_hint();
  Fail(hint ? *hint : std::string("value is undefined"));
}

const Value* Arg(CallArgs& a, size_t idx, std::string_view name) {
  if (idx < a.positional.size()) return &a.positional[idx];
  return a.Keyword(name);
}

bool ArgBool(CallArgs& a, size_t idx, std::string_view name, bool def) {
  const Value* v = Arg(a, idx, name);
  return v ? Truthy(*v) : def;
}

int64_t ArgInt(CallArgs& a, size_t idx, std::string_view name, int64_t def) {
  const Value* v = Arg(a, idx, name);
  if (!v || v->is_none()) return def;
  if (!v->is_integral()) {
    if (v->kind == Kind::kFloat) return static_cast<int64_t>(v->f);
    Fail("'" + TypeName(*v) + "' object cannot be interpreted as an integer");
  }
  return v->as_int();
}

std::string ArgStr(CallArgs& a, size_t idx, std::string_view name, const std::string& def) {
  const Value* v = Arg(a, idx, name);
  return v ? Str(*v) : def;
}

Value ListOf(std::vector<Value> items, bool tuple) { return Value::MakeList(std::move(items), tuple); }

size_t ByteOffset(const std::string& s, size_t cp_index) {
  if (IsAscii(s)) return std::min(cp_index, s.size());
  size_t pos = 0;
  for (size_t n = 0; n < cp_index && pos < s.size(); ++n) DecodeUtf8(s, pos);
  return pos;
}

size_t CpIndex(const std::string& s, size_t byte_offset) { return CodePointCount(std::string_view(s).substr(0, byte_offset)); }

}  // namespace gemma4::chat
