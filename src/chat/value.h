// Runtime values of the Jinja engine, modelled on the Python objects jinja2 sees when
// transformers renders a chat template: None, bool, int, float, str, list, tuple, dict,
// Undefined, namespace, callables and the loop object. Strings are UTF-8 and indexed by code point.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gemma4::chat {

struct Value;
struct Dict;
struct List;
struct Callable;
struct LoopState;

using StringPtr = std::shared_ptr<const std::string>;
using ListPtr = std::shared_ptr<const List>;
using DictPtr = std::shared_ptr<Dict>;  // mutable only when it is a namespace()
using CallablePtr = std::shared_ptr<const Callable>;
using LoopPtr = std::shared_ptr<LoopState>;

enum class Kind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,   // list or tuple (List::is_tuple)
  kDict,   // dict or namespace (Dict::is_namespace)
  kCallable,
  kLoop,
};

struct Value {
  Kind kind = Kind::kUndefined;
  union {
    bool b;
    int64_t i;
    double f;
  };
  // The heap object of kString/kList/kDict/kCallable/kLoop. For kUndefined it may hold a
  // std::string: the message jinja2 raises when the undefined value is used.
  std::shared_ptr<const void> ptr;

  Value() : i(0) {}
  static Value Undefined(std::shared_ptr<const std::string> hint = nullptr) {
    Value v;
    v.ptr = std::move(hint);
    return v;
  }
  static Value None() {
    Value v;
    v.kind = Kind::kNone;
    return v;
  }
  static Value Bool(bool x) {
    Value v;
    v.kind = Kind::kBool;
    v.b = x;
    return v;
  }
  static Value Int(int64_t x) {
    Value v;
    v.kind = Kind::kInt;
    v.i = x;
    return v;
  }
  static Value Float(double x) {
    Value v;
    v.kind = Kind::kFloat;
    v.f = x;
    return v;
  }
  static Value String(std::string s) {
    Value v;
    v.kind = Kind::kString;
    v.ptr = std::make_shared<const std::string>(std::move(s));
    return v;
  }
  static Value String(StringPtr s) {
    Value v;
    v.kind = Kind::kString;
    v.ptr = std::move(s);
    return v;
  }
  static Value MakeList(std::vector<Value> items, bool tuple = false);
  static Value MakeDict(DictPtr d) {
    Value v;
    v.kind = Kind::kDict;
    v.ptr = std::move(d);
    return v;
  }
  static Value MakeCallable(CallablePtr c) {
    Value v;
    v.kind = Kind::kCallable;
    v.ptr = std::move(c);
    return v;
  }
  static Value MakeLoop(LoopPtr l) {
    Value v;
    v.kind = Kind::kLoop;
    v.ptr = std::move(l);
    return v;
  }

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_dict() const { return kind == Kind::kDict; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  bool is_integral() const { return kind == Kind::kInt || kind == Kind::kBool; }
  int64_t as_int() const { return kind == Kind::kBool ? (b ? 1 : 0) : i; }
  double as_double() const { return kind == Kind::kFloat ? f : static_cast<double>(as_int()); }
  const std::string& s() const { return *static_cast<const std::string*>(ptr.get()); }
  const List& l() const { return *static_cast<const List*>(ptr.get()); }
  Dict& d() const { return *const_cast<Dict*>(static_cast<const Dict*>(ptr.get())); }
  const Callable& c() const { return *static_cast<const Callable*>(ptr.get()); }
  LoopState& loop() const { return *const_cast<LoopState*>(static_cast<const LoopState*>(ptr.get())); }
  const std::string* undefined_hint() const { return static_cast<const std::string*>(ptr.get()); }
};

// Lists and dicts free their children without recursing (see ~List in value.cpp): a template
// can build a chain of 100000 nested values in a loop, deeper than any stack.
struct List {
  std::vector<Value> items;
  bool is_tuple = false;
  // Some item is, or holds, a namespace: only such values can close a cycle (Reaches skips the
  // rest). Set by Value::MakeList; a List built by hand must hold no namespace.
  bool holds_namespace = false;

  List() = default;
  List(const List&) = default;
  List& operator=(const List&) = default;
  ~List();
};

// Insertion-ordered mapping with string keys (JSON objects and namespace attributes).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;
  bool holds_namespace = false;  // some value is, or holds, a namespace (kept by Set)

  Dict() = default;
  Dict(const Dict&) = default;
  Dict& operator=(const Dict&) = default;
  ~Dict();

  const Value* Find(std::string_view key) const;
  void Set(std::string key, Value value);

 private:
  std::unordered_map<std::string, size_t> index_;  // built once the dict grows past a few keys
};

// True when `v` is a namespace or a list/dict that holds one.
inline bool HoldsNamespace(const Value& v) {
  if (v.kind == Kind::kDict) return v.d().is_namespace || v.d().holds_namespace;
  if (v.kind == Kind::kList) return v.l().holds_namespace;
  return false;
}

inline Value Value::MakeList(std::vector<Value> items, bool tuple) {
  auto l = std::make_shared<List>();
  l->items = std::move(items);
  l->is_tuple = tuple;
  for (const auto& item : l->items) {
    if (HoldsNamespace(item)) {
      l->holds_namespace = true;
      break;
    }
  }
  Value v;
  v.kind = Kind::kList;
  v.ptr = std::move(l);
  return v;
}

// ---- conversions shared by the evaluator and the filters --------------------------------

// Python's truth value.
bool Truthy(const Value& v);
// Bounds of every walk over a value's children (printing, comparing, serialising, converting):
// deeper nesting, or more bytes of output, is Error(kLimit) instead of a stack overflow or an
// unbounded allocation. Renders pass their own TemplateLimits::max_output_bytes.
inline constexpr size_t kMaxPrintBytes = 64u << 20;

// Python str(): what `{{ v }}` prints. Undefined prints as "". Fails (kLimit) when `out` would
// grow past `max_bytes` or the value nests deeper than kMaxJsonDepth.
void AppendStr(std::string& out, const Value& v, size_t max_bytes = kMaxPrintBytes);
std::string Str(const Value& v);
// Python repr(), used for items inside printed lists and dicts.
void AppendRepr(std::string& out, const Value& v, size_t max_bytes = kMaxPrintBytes);

// True when `target` (a list or dict object) can be reached from `v` through list items and dict
// values: storing `v` in `target` would make a cycle. Walks iteratively; `budget` counts the
// containers visited and is decremented (Error(kLimit) when it runs out).
bool Reaches(const Value& v, const void* target, uint64_t& budget);
// Python float repr: shortest round trip, "1.0", "1e+16", "1.5e-07", "inf", "nan".
std::string FloatRepr(double d);
// jinja2's description of a value's type in messages: "dict object", "None", "str object".
std::string TypeDescription(const Value& v);
// Python type name for TypeError messages: "int", "str", "NoneType".
std::string TypeName(const Value& v);

// JSON -> values; nesting deeper than kMaxJsonDepth is Error(kLimit).
Value FromJson(const nlohmann::ordered_json& j, int depth = 0);

struct JsonOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;  // per level
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// Python json.dumps over our values; throws std::runtime_error-like TypeError text via `error`.
// Returns false and sets *error when a value is not serializable.
bool DumpJson(std::string& out, const Value& v, const JsonOptions& options, std::string* error, int depth = 0);

// Python value equality (1 == 1.0 == True, [1] != (1,), dict order-insensitive). Nesting deeper
// than kMaxJsonDepth is Error(kLimit).
bool Equal(const Value& a, const Value& b, int depth = 0);

// ---- UTF-8 / Python str helpers ---------------------------------------------------------

bool IsPyWhitespace(char32_t c);
// Decodes one code point at s[pos], advancing pos. Input is valid UTF-8 (checked at the edges).
char32_t DecodeUtf8(std::string_view s, size_t& pos);
void EncodeUtf8(std::string& out, char32_t c);
// Byte offset of each code point is needed for indexing; these walk the string.
size_t CodePointCount(std::string_view s);
bool IsAscii(std::string_view s);
// Returns the byte offset of validation failure, or npos when `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);
std::vector<char32_t> ToCodePoints(std::string_view s);
std::string FromCodePoints(const char32_t* begin, const char32_t* end);

std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right);
std::string PyLower(std::string_view s);
std::string PyUpper(std::string_view s);
char32_t LowerChar(char32_t c);
char32_t UpperChar(char32_t c);
bool IsAlphaChar(char32_t c);
bool IsDigitChar(char32_t c);
// Python str.splitlines() boundaries (\n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029).
std::vector<std::string> PySplitLines(std::string_view s, bool keepends = false);

}  // namespace gemma4::chat
