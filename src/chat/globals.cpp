// The globals every template sees: range, dict, namespace, joiner, and transformers' additions
// raise_exception and strftime_now.
#include <cstring>
#include <ctime>

#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"

namespace gemma4::chat {
namespace {

struct BuiltinFunction : Callable {
  Value (*fn)(Renderer&, CallArgs&);
  BuiltinFunction(const char* n, Value (*f)(Renderer&, CallArgs&)) : fn(f) { name = n; }
  Value Call(Renderer& r, CallArgs& args) const override { return fn(r, args); }
};


struct Joiner : Callable {
  std::string sep;
  mutable bool used = false;
  Value Call(Renderer&, CallArgs&) const override {
    if (!used) {
      used = true;
      return Value::String(std::string());
    }
    return Value::String(sep);
  }
};

Value GlobalRange(Renderer& r, CallArgs& a) {
  int64_t start = 0, stop = 0, step = 1;
  if (a.positional.size() == 1) {
    stop = ArgInt(a, 0, "", 0);
  } else if (a.positional.size() >= 2) {
    start = ArgInt(a, 0, "", 0);
    stop = ArgInt(a, 1, "", 0);
    if (a.positional.size() >= 3) step = ArgInt(a, 2, "", 1);
  } else {
    Fail("range expected at least 1 argument, got 0");
  }
  if (step == 0) Fail("range() arg 3 must not be zero");
  std::vector<Value> items;
  int64_t count = 0;
  if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
  if (step < 0 && start > stop) count = (start - stop - 1) / (-step) + 1;
  if (count > 100000) Fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  r.Charge(count);
  items.reserve(count);
  for (int64_t n = 0; n < count; ++n) items.push_back(Value::Int(start + n * step));
  return ListOf(std::move(items));
}

Value GlobalDict(Renderer& r, CallArgs& a) {
  auto d = std::make_shared<Dict>();
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.kind == Kind::kDict && !src.d().is_namespace) {
      for (const auto& [k, v] : src.d().items) d->Set(k, v);
    } else {
      auto pairs = Iterate(r, src);
      for (const Value& pair : pairs->items) {
        auto kv = Iterate(r, pair);
        if (kv->items.size() != 2) Fail("dictionary update sequence element has wrong length");
        if (kv->items[0].kind != Kind::kString) Fail("only string keys are supported", ErrorKind::kUnsupported);
        d->Set(kv->items[0].s(), kv->items[1]);
      }
    }
  }
  for (auto& [k, v] : a.keyword) d->Set(k, v);
  return Value::MakeDict(std::move(d));
}

Value GlobalNamespace(Renderer& r, CallArgs& a) {
  Value v = GlobalDict(r, a);
  v.d().is_namespace = true;
  return v;
}

Value GlobalRaise(Renderer&, CallArgs& a) {
  std::string message = a.positional.empty() ? std::string() : Str(a.positional[0]);
  throw TemplateError{ErrorKind::kInvalidArgument, message, kNoOffset, true};
}

Value GlobalStrftime(Renderer&, CallArgs& a) {
  std::string fmt = ArgStr(a, 0, "format", "");
  if (fmt.size() > 1024) Fail("strftime format too long", ErrorKind::kLimit);
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  if (fmt.empty()) return Value::String(std::string());
  std::string buf(256 + fmt.size() * 16, '\0');
  size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  buf.resize(n);
  return Value::String(std::move(buf));
}

Value GlobalJoiner(Renderer&, CallArgs& a) {
  auto j = std::make_shared<Joiner>();
  j->name = "joiner";
  j->sep = ArgStr(a, 0, "sep", ", ");
  return Value::MakeCallable(std::move(j));
}

}  // namespace

bool FindGlobal(std::string_view name, Value* out) {
  static const Value kRange = Value::MakeCallable(std::make_shared<BuiltinFunction>("range", GlobalRange));
  static const Value kDictFn = Value::MakeCallable(std::make_shared<BuiltinFunction>("dict", GlobalDict));
  static const Value kNamespace = Value::MakeCallable(std::make_shared<BuiltinFunction>("namespace", GlobalNamespace));
  static const Value kRaise = Value::MakeCallable(std::make_shared<BuiltinFunction>("raise_exception", GlobalRaise));
  static const Value kStrftime = Value::MakeCallable(std::make_shared<BuiltinFunction>("strftime_now", GlobalStrftime));
  static const Value kJoiner = Value::MakeCallable(std::make_shared<BuiltinFunction>("joiner", GlobalJoiner));
  if (name == "range") {
    *out = kRange;
  } else if (name == "dict") {
    *out = kDictFn;
  } else if (name == "namespace") {
    *out = kNamespace;
  } else if (name == "raise_exception") {
    *out = kRaise;
  } else if (name == "strftime_now") {
    *out = kStrftime;
  } else if (name == "joiner") {
    *out = kJoiner;
  } else {
    return false;
  }
  return true;
}

}  // namespace gemma4::chat
