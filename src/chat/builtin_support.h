// What the built-ins (filters, tests, globals, methods) share: Python's calling convention (an
// argument by position or by keyword), jinja2's undefined-value hints, list values, and code-point
// offsets into UTF-8 strings (Python indexes str by code point).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chat/runtime.h"

namespace gemma4::chat {

std::shared_ptr<const std::string> Hint(std::string s);
// Raises what jinja2 raises on using an undefined value: its hint, or "value is undefined".
[[noreturn]] void RaiseUndefined(const Value& v);

// Argument `idx` by position, else the keyword `name`; nullptr when neither was passed.
const Value* Arg(CallArgs& a, size_t idx, std::string_view name);
bool ArgBool(CallArgs& a, size_t idx, std::string_view name, bool def);
int64_t ArgInt(CallArgs& a, size_t idx, std::string_view name, int64_t def);
std::string ArgStr(CallArgs& a, size_t idx, std::string_view name, const std::string& def);

Value ListOf(std::vector<Value> items, bool tuple = false);

// Index of the code point `cp_index` in s (bytes), s.size() when past the end; and back.
size_t ByteOffset(const std::string& s, size_t cp_index);
size_t CpIndex(const std::string& s, size_t byte_offset);

}  // namespace gemma4::chat
