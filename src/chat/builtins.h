// Filters, tests, global functions and methods of str/list/dict, with jinja2's semantics under
// transformers' environment (ImmutableSandboxedEnvironment, tojson without HTML escaping).
// One idea a file: filters.cpp, template_tests.cpp, globals.cpp, methods.cpp (methods and
// attribute lookup), value_ops.cpp (items, slices, iteration, len, ordering, `in`),
// formatting.cpp (str.format and `%`).
#pragma once

#include <string_view>

#include "chat/runtime.h"

namespace gemma4::chat {

// Index of a filter/test by name, or -1. Resolved at parse time; an unknown name becomes a
// runtime error ("No filter named 'x'.") exactly when the expression is evaluated.
int FindFilter(std::string_view name);
int FindTest(std::string_view name);

Value ApplyFilter(Renderer& r, int filter, const Value& input, CallArgs& args);
bool ApplyTest(Renderer& r, int test, const Value& input, CallArgs& args);

// Globals available to every template (range, namespace, dict, raise_exception, ...), or an
// undefined value when `name` is not one.
bool FindGlobal(std::string_view name, Value* out);

// Index of a method of the built-in types by name, or -1. Resolved at parse time, like filters.
int FindMethod(std::string_view name);
// `self.method` as a value (a bound method), for `method` a FindMethod() index.
Value BindMethod(const Value& self, int method);

// `obj.name` for the built-in types: methods of str/list/dict, loop attributes, namespace
// attributes, dict keys. `method` is FindMethod(name). Returns an Undefined value (with jinja2's
// hint) when absent.
Value GetAttr(const Value& obj, std::string_view name, int method);
// `obj[key]`
Value GetItem(const Value& obj, const Value& key);
// Calls method `name` of `obj` directly (the common `x.strip()` form), without a bound object.
// Returns false when obj has no such built-in method (the caller falls back to GetAttr + call).
bool CallMethod(Renderer& r, const Value& obj, int method, CallArgs& args, Value* out);

// Python slicing obj[start:stop:step] on str, list and tuple.
Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Materializes an iterable the way Python's iter() walks it: list items, dict keys, string
// characters; Undefined iterates as empty. Throws TypeError for None and numbers.
std::shared_ptr<const List> Iterate(Renderer& r, const Value& v);

// Python's len(); throws for values without one.
int64_t Length(const Value& v);

// Python's `a < b` ordering for sortable values; throws TypeError for mixed types.
int Compare(const Value& a, const Value& b, bool case_insensitive = false);

bool Contains(const Value& container, const Value& item);

// Python's str.format on `fmt` with positional and keyword fields (no format specifications).
Value StrFormat(Renderer& r, const std::string& fmt, CallArgs& a);
// Python's printf-style `fmt % args` (the sandbox's format_string): %s %r %d %i %f %x %%.
Value PercentFormat(Renderer& r, const std::string& fmt, const Value& args);

}  // namespace gemma4::chat
