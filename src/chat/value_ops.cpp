// Item access, slicing, iteration, len(), ordering and `in` on template values, with Python's
// semantics and errors.
#include <algorithm>

#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"

namespace gemma4::chat {

Value GetItem(const Value& obj, const Value& key) {
  switch (obj.kind) {
    case Kind::kList:
    case Kind::kString:
      if (key.is_integral()) {
        int64_t idx = key.as_int();
        if (obj.kind == Kind::kList) {
          int64_t len = static_cast<int64_t>(obj.l().items.size());
          if (idx < 0) idx += len;
          if (idx >= 0 && idx < len) return obj.l().items[idx];
        } else {
          const std::string& s = obj.s();
          bool ascii = IsAscii(s);
          int64_t len = ascii ? static_cast<int64_t>(s.size()) : static_cast<int64_t>(CodePointCount(s));
          if (idx < 0) idx += len;
          if (idx >= 0 && idx < len) {
            if (ascii) return Value::String(std::string(1, s[idx]));
            size_t b = ByteOffset(s, idx), e = b;
            DecodeUtf8(s, e);
            return Value::String(s.substr(b, e - b));
          }
        }
        std::string k;
        AppendStr(k, key);
        return Value::Undefined(Hint("'" + TypeDescription(obj) + "' has no element " + k));
      }
      break;
    case Kind::kDict:
      if (key.kind == Kind::kString && !obj.d().is_namespace) {
        if (const Value* v = obj.d().Find(key.s())) return *v;
      }
      break;
    default:
      break;
  }
  if (key.kind == Kind::kString) return GetAttr(obj, key.s(), FindMethod(key.s()));
  std::string k;
  AppendRepr(k, key);
  return Value::Undefined(Hint("'" + TypeDescription(obj) + "' has no element " + k));
}

Value Slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto index = [](const Value& v, int64_t def) {
    if (v.is_none()) return def;
    if (!v.is_integral()) Fail("slice indices must be integers or None or have an __index__ method");
    return v.as_int();
  };
  int64_t step = index(step_v, 1);
  if (step == 0) Fail("slice step cannot be zero");
  bool is_str = obj.kind == Kind::kString;
  if (!is_str && obj.kind != Kind::kList) {
    Fail("'" + TypeName(obj) + "' object is not subscriptable");
  }
  std::vector<char32_t> cps;
  if (is_str) cps = ToCodePoints(obj.s());
  int64_t len = is_str ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.l().items.size());
  auto adjust = [&](int64_t v) {
    if (v < 0) {
      v += len;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= len) {
      v = step < 0 ? len - 1 : len;
    }
    return v;
  };
  int64_t start = start_v.is_none() ? (step < 0 ? len - 1 : 0) : adjust(index(start_v, 0));
  int64_t stop = stop_v.is_none() ? (step < 0 ? -1 : len) : adjust(index(stop_v, 0));
  std::vector<int64_t> picks;
  if (step > 0) {
    for (int64_t k = start; k < stop; k += step) picks.push_back(k);
  } else {
    for (int64_t k = start; k > stop; k += step) picks.push_back(k);
  }
  if (is_str) {
    std::string out;
    for (int64_t k : picks) EncodeUtf8(out, cps[k]);
    return Value::String(std::move(out));
  }
  std::vector<Value> items;
  items.reserve(picks.size());
  for (int64_t k : picks) items.push_back(obj.l().items[k]);
  return ListOf(std::move(items), obj.l().is_tuple);
}

std::shared_ptr<const List> Iterate(Renderer& r, const Value& v) {
  switch (v.kind) {
    case Kind::kList:
      return std::static_pointer_cast<const List>(v.ptr);
    case Kind::kUndefined: {
      static const auto kEmpty = std::make_shared<const List>();
      return kEmpty;
    }
    case Kind::kDict:
      if (!v.d().is_namespace) {
        auto l = std::make_shared<List>();
        l->items.reserve(v.d().items.size());
        for (const auto& [k, val] : v.d().items) l->items.push_back(Value::String(k));
        return l;
      }
      break;
    case Kind::kString: {
      // Each character becomes its own string value: check what that costs in bytes first.
      r.CheckListSize(CodePointCount(v.s()), sizeof(std::string) + 32);
      auto l = std::make_shared<List>();
      const std::string& s = v.s();
      size_t pos = 0;
      while (pos < s.size()) {
        size_t b = pos;
        DecodeUtf8(s, pos);
        l->items.push_back(Value::String(s.substr(b, pos - b)));
      }
      return l;
    }
    default:
      break;
  }
  Fail("'" + TypeName(v) + "' object is not iterable");
}

int64_t Length(const Value& v) {
  switch (v.kind) {
    case Kind::kString:
      return static_cast<int64_t>(CodePointCount(v.s()));
    case Kind::kList:
      return static_cast<int64_t>(v.l().items.size());
    case Kind::kDict:
      if (!v.d().is_namespace) return static_cast<int64_t>(v.d().items.size());
      break;
    case Kind::kUndefined:
      return 0;
    default:
      break;
  }
  Fail("object of type '" + TypeName(v) + "' has no len()");
}

namespace {
int CompareAt(const Value& a, const Value& b, bool ci, int depth);
}

int Compare(const Value& a, const Value& b, bool ci) { return CompareAt(a, b, ci, 0); }

namespace {
int CompareAt(const Value& a, const Value& b, bool ci, int depth) {
  if (depth > kMaxJsonDepth) {
    Fail("value nested more than " + std::to_string(kMaxJsonDepth) + " levels deep; cannot compare it", ErrorKind::kLimit);
  }
  if (a.is_undefined()) RaiseUndefined(a);
  if (b.is_undefined()) RaiseUndefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.kind == Kind::kFloat || b.kind == Kind::kFloat) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind == Kind::kString && b.kind == Kind::kString) {
    int c = ci ? PyLower(a.s()).compare(PyLower(b.s())) : a.s().compare(b.s());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.kind == Kind::kList && b.kind == Kind::kList && a.l().is_tuple == b.l().is_tuple) {
    const auto& x = a.l().items;
    const auto& y = b.l().items;
    for (size_t n = 0; n < x.size() && n < y.size(); ++n) {
      if (Equal(x[n], y[n], depth + 1)) continue;
      return CompareAt(x[n], y[n], ci, depth + 1);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  Fail("'<' not supported between instances of '" + TypeName(a) + "' and '" + TypeName(b) + "'");
}
}  // namespace

bool Contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::kString:
      if (item.kind != Kind::kString) {
        if (item.is_undefined()) RaiseUndefined(item);
        Fail("'in <string>' requires string as left operand, not " + TypeName(item));
      }
      return container.s().find(item.s()) != std::string::npos;
    case Kind::kList:
      for (const Value& x : container.l().items) {
        if (Equal(x, item)) return true;
      }
      return false;
    case Kind::kDict:
      if (container.d().is_namespace) break;
      if (item.kind == Kind::kList && !item.l().is_tuple) Fail("unhashable type: 'list'");
      if (item.kind == Kind::kDict) Fail("unhashable type: 'dict'");
      return item.kind == Kind::kString && container.d().Find(item.s()) != nullptr;
    case Kind::kUndefined:
      return false;
    default:
      break;
  }
  Fail("argument of type '" + TypeName(container) + "' is not iterable");
}

}  // namespace gemma4::chat
