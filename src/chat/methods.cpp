// Methods of the built-in types (str, list, tuple, dict, loop) and the attribute lookup that binds
// them. A method name is resolved to an id once, when the template is parsed (as filters are),
// so a call dispatches on that id instead of comparing strings. jinja2's sandbox rules: methods
// that would modify a list or dict are unsafe (an undefined value carrying jinja2's message).
#include <algorithm>

#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/py_str.h"

namespace gemma4::chat {
namespace {

enum class Method : int {
  kStrip, kLstrip, kRstrip, kSplit, kRsplit, kSplitlines, kStartswith, kEndswith, kReplace, kLower, kUpper, kTitle, kCapitalize, kSwapcase, kCasefold, kFind, kRfind, kIndex, kRindex, kCount, kJoin, kIsdigit, kIsalpha, kIsalnum, kIsspace, kIslower, kIsupper, kIsnumeric, kIsdecimal, kIstitle, kZfill, kCenter, kLjust, kRjust, kFormat, kPartition, kRpartition, kRemoveprefix, kRemovesuffix, kExpandtabs, kEncode, kCopy, kPop, kClear, kAppend, kReverse, kInsert, kSort, kExtend, kRemove, kGet, kItems, kKeys, kValues, kFromkeys, kPopitem, kSetdefault, kUpdate, kCycle, kChanged,
  kCount_
};

// The types that have each method, and where jinja2's sandbox calls it unsafe.
enum : uint8_t {
  kOnStr = 1,
  kOnList = 2,
  kOnTuple = 4,
  kUnsafeOnList = 8,
  kOnDict = 16,
  kUnsafeOnDict = 32,
  kOnLoop = 64,
};

struct MethodEntry {
  const char* name;
  uint8_t on;
};
constexpr MethodEntry kMethods[] = {
    {"strip", kOnStr},
    {"lstrip", kOnStr},
    {"rstrip", kOnStr},
    {"split", kOnStr},
    {"rsplit", kOnStr},
    {"splitlines", kOnStr},
    {"startswith", kOnStr},
    {"endswith", kOnStr},
    {"replace", kOnStr},
    {"lower", kOnStr},
    {"upper", kOnStr},
    {"title", kOnStr},
    {"capitalize", kOnStr},
    {"swapcase", kOnStr},
    {"casefold", kOnStr},
    {"find", kOnStr},
    {"rfind", kOnStr},
    {"index", kOnStr | kOnList | kOnTuple},
    {"rindex", kOnStr},
    {"count", kOnStr | kOnList | kOnTuple},
    {"join", kOnStr},
    {"isdigit", kOnStr},
    {"isalpha", kOnStr},
    {"isalnum", kOnStr},
    {"isspace", kOnStr},
    {"islower", kOnStr},
    {"isupper", kOnStr},
    {"isnumeric", kOnStr},
    {"isdecimal", kOnStr},
    {"istitle", kOnStr},
    {"zfill", kOnStr},
    {"center", kOnStr},
    {"ljust", kOnStr},
    {"rjust", kOnStr},
    {"format", kOnStr},
    {"partition", kOnStr},
    {"rpartition", kOnStr},
    {"removeprefix", kOnStr},
    {"removesuffix", kOnStr},
    {"expandtabs", kOnStr},
    {"encode", kOnStr},
    {"copy", kOnList | kOnDict},
    {"pop", kOnList | kUnsafeOnDict},
    {"clear", kOnList | kUnsafeOnDict},
    {"append", kUnsafeOnList},
    {"reverse", kUnsafeOnList},
    {"insert", kUnsafeOnList},
    {"sort", kUnsafeOnList},
    {"extend", kUnsafeOnList},
    {"remove", kUnsafeOnList},
    {"get", kOnDict},
    {"items", kOnDict},
    {"keys", kOnDict},
    {"values", kOnDict},
    {"fromkeys", kOnDict},
    {"popitem", kUnsafeOnDict},
    {"setdefault", kUnsafeOnDict},
    {"update", kUnsafeOnDict},
    {"cycle", kOnLoop},
    {"changed", kOnLoop},
};
static_assert(std::size(kMethods) == static_cast<size_t>(Method::kCount_));

const char* MethodName(Method m) { return kMethods[static_cast<int>(m)].name; }

struct BoundMethod : Callable {
  Value self;
  int method = -1;
  Value Call(Renderer& r, CallArgs& args) const override {
    Value out;
    if (!CallMethod(r, self, method, args, &out)) Fail("'" + TypeName(self) + "' object has no method '" + name + "'");
    return out;
  }
};

Value UnsafeUndefined(const Value& obj, std::string_view name) {
  return Value::Undefined(
      Hint("access to attribute '" + std::string(name) + "' of '" + TypeName(obj) + "' object is unsafe."));
}

bool StrMethod(Renderer& r, const Value& self, Method m, CallArgs& a, Value* out) {
  const std::string& s = self.s();
  auto str_arg = [&](size_t idx, const char* pname) -> const std::string& {
    const Value* v = Arg(a, idx, pname);
    if (!v || v->kind != Kind::kString) {
      Fail(std::string(MethodName(m)) + "() argument must be str, not " + (v ? TypeName(*v) : std::string("nothing")));
    }
    return v->s();
  };
  if (m == Method::kStrip || m == Method::kLstrip || m == Method::kRstrip) {
    const Value* chars = Arg(a, 0, "chars");
    const std::string* set = chars && !chars->is_none() ? &str_arg(0, "chars") : nullptr;
    *out = Value::String(PyStrip(s, set, m != Method::kRstrip, m != Method::kLstrip));
  } else if (m == Method::kSplit || m == Method::kRsplit) {
    const Value* sep = Arg(a, 0, "sep");
    int64_t maxsplit = ArgInt(a, 1, "maxsplit", -1);
    auto parts = sep && !sep->is_none() ? SplitSep(s, str_arg(0, "sep"), maxsplit, m == Method::kRsplit)
                                        : SplitWhitespace(s, maxsplit, m == Method::kRsplit);
    r.Charge(parts.size());
    std::vector<Value> items;
    items.reserve(parts.size());
    for (auto& p : parts) items.push_back(Value::String(std::move(p)));
    *out = ListOf(std::move(items));
  } else if (m == Method::kSplitlines) {
    std::vector<Value> items;
    for (auto& p : PySplitLines(s, ArgBool(a, 0, "keepends", false))) items.push_back(Value::String(std::move(p)));
    *out = ListOf(std::move(items));
  } else if (m == Method::kStartswith || m == Method::kEndswith) {
    const Value* p = Arg(a, 0, "prefix");
    if (!p) Fail(std::string(MethodName(m)) + "() takes at least 1 argument (0 given)");
    std::vector<Value> options;
    if (p->kind == Kind::kList && p->l().is_tuple) {
      options = p->l().items;
    } else {
      options.push_back(*p);
    }
    bool hit = false;
    for (const Value& o : options) {
      if (o.kind != Kind::kString) {
        Fail(std::string(MethodName(m)) + " first arg must be str or a tuple of str, not " + TypeName(o));
      }
      const std::string& x = o.s();
      if (m == Method::kStartswith ? s.compare(0, x.size(), x) == 0 && s.size() >= x.size()
                               : s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) {
        hit = true;
      }
    }
    *out = Value::Bool(hit);
  } else if (m == Method::kReplace) {
    *out = Value::String(Replace(r, s, str_arg(0, "old"), str_arg(1, "new"), ArgInt(a, 2, "count", -1)));
  } else if (m == Method::kLower || m == Method::kCasefold) {
    *out = Value::String(PyLower(s));
  } else if (m == Method::kUpper) {
    *out = Value::String(PyUpper(s));
  } else if (m == Method::kTitle) {
    *out = Value::String(PyTitle(s));
  } else if (m == Method::kCapitalize) {
    *out = Value::String(PyCapitalize(s));
  } else if (m == Method::kSwapcase) {
    std::string o;
    size_t pos = 0;
    while (pos < s.size()) {
      char32_t c = DecodeUtf8(s, pos);
      char32_t l = LowerChar(c);
      EncodeUtf8(o, l != c ? l : UpperChar(c));
    }
    *out = Value::String(std::move(o));
  } else if (m == Method::kFind || m == Method::kRfind || m == Method::kIndex || m == Method::kRindex) {
    const std::string& sub = str_arg(0, "sub");
    size_t p = (m == Method::kFind || m == Method::kIndex) ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (m == Method::kIndex || m == Method::kRindex) Fail("substring not found");
      *out = Value::Int(-1);
    } else {
      *out = Value::Int(static_cast<int64_t>(CpIndex(s, p)));
    }
  } else if (m == Method::kCount) {
    const std::string& sub = str_arg(0, "sub");
    int64_t count = 0;
    if (sub.empty()) {
      count = static_cast<int64_t>(CodePointCount(s)) + 1;
    } else {
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++count;
    }
    *out = Value::Int(count);
  } else if (m == Method::kJoin) {
    const Value* it = Arg(a, 0, "iterable");
    if (!it) Fail("join() takes exactly one argument (0 given)");
    auto items = Iterate(r, *it);
    r.Charge(items->items.size());
    std::string o;
    for (size_t n = 0; n < items->items.size(); ++n) {
      const Value& x = items->items[n];
      if (x.kind != Kind::kString) {
        Fail("sequence item " + std::to_string(n) + ": expected str instance, " + TypeName(x) + " found");
      }
      if (n) o += s;
      o += x.s();
      r.CheckSize(o.size());
    }
    *out = Value::String(std::move(o));
  } else if (m >= Method::kIsdigit && m <= Method::kIstitle) {
    auto cps = ToCodePoints(s);
    bool ok = !cps.empty();
    if (m == Method::kIsdigit || m == Method::kIsnumeric || m == Method::kIsdecimal) {
      for (char32_t c : cps) ok = ok && IsDigitChar(c);
    } else if (m == Method::kIsalpha) {
      for (char32_t c : cps) ok = ok && IsAlphaChar(c);
    } else if (m == Method::kIsalnum) {
      for (char32_t c : cps) ok = ok && (IsAlphaChar(c) || IsDigitChar(c));
    } else if (m == Method::kIsspace) {
      for (char32_t c : cps) ok = ok && IsPyWhitespace(c);
    } else if (m == Method::kIslower) {
      ok = PyLower(s) == s && PyUpper(s) != s;
    } else if (m == Method::kIsupper) {
      ok = PyUpper(s) == s && PyLower(s) != s;
    } else if (m == Method::kIstitle) {
      ok = PyTitle(s) == s && PyLower(s) != s;
    } else {
      return false;
    }
    *out = Value::Bool(ok);
  } else if (m == Method::kZfill) {
    int64_t width = ArgInt(a, 0, "width", 0);
    std::string body = s, sign;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      sign = body.substr(0, 1);
      body = body.substr(1);
    }
    int64_t len = static_cast<int64_t>(CodePointCount(s));
    if (width > (1 << 24)) Fail("zfill width too large", ErrorKind::kLimit);
    *out = Value::String(width <= len ? s : sign + std::string(width - len, '0') + body);
  } else if (m == Method::kCenter || m == Method::kLjust || m == Method::kRjust) {
    std::string fill = Arg(a, 1, "fillchar") ? str_arg(1, "fillchar") : std::string(" ");
    if (CodePointCount(fill) != 1) Fail("The fill character must be exactly one character long");
    *out = Value::String(Pad(s, ArgInt(a, 0, "width", 0), fill, m == Method::kCenter ? 0 : m == Method::kLjust ? -1 : 1));
  } else if (m == Method::kFormat) {
    *out = StrFormat(r, s, a);
  } else if (m == Method::kPartition || m == Method::kRpartition) {
    const std::string& sep = str_arg(0, "sep");
    if (sep.empty()) Fail("empty separator");
    size_t p = m == Method::kPartition ? s.find(sep) : s.rfind(sep);
    if (p == std::string::npos) {
      *out = m == Method::kPartition ? ListOf({Value::String(s), Value::String(""), Value::String("")}, true)
                                 : ListOf({Value::String(""), Value::String(""), Value::String(s)}, true);
    } else {
      *out = ListOf({Value::String(s.substr(0, p)), Value::String(sep), Value::String(s.substr(p + sep.size()))}, true);
    }
  } else if (m == Method::kRemoveprefix) {
    const std::string& x = str_arg(0, "prefix");
    *out = Value::String(s.compare(0, x.size(), x) == 0 && s.size() >= x.size() ? s.substr(x.size()) : s);
  } else if (m == Method::kRemovesuffix) {
    const std::string& x = str_arg(0, "suffix");
    bool ends = !x.empty() && s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
    *out = Value::String(ends ? s.substr(0, s.size() - x.size()) : s);
  } else {
    return false;
  }
  return true;
}

}  // namespace

Value BindMethod(const Value& self, int method) {
  auto b = std::make_shared<BoundMethod>();
  b->name = kMethods[method].name;
  b->method = method;
  b->self = self;
  return Value::MakeCallable(std::move(b));
}

int FindMethod(std::string_view name) {
  for (size_t n = 0; n < std::size(kMethods); ++n) {
    if (name == kMethods[n].name) return static_cast<int>(n);
  }
  return -1;
}

Value GetAttr(const Value& obj, std::string_view name, int method) {
  const uint8_t on = method >= 0 && method < static_cast<int>(Method::kCount_) ? kMethods[method].on : 0;
  switch (obj.kind) {
    case Kind::kString:
      if (on & kOnStr) return BindMethod(obj, method);
      break;
    case Kind::kList:
      if (on & (obj.l().is_tuple ? kOnTuple : kOnList)) return BindMethod(obj, method);
      if (!obj.l().is_tuple && (on & kUnsafeOnList)) return UnsafeUndefined(obj, name);
      break;
    case Kind::kDict: {
      const Dict& d = obj.d();
      if (!d.is_namespace) {
        if (on & kOnDict) return BindMethod(obj, method);
        if (on & kUnsafeOnDict) return UnsafeUndefined(obj, name);
      }
      if (const Value* v = d.Find(name)) return *v;
      break;
    }
    case Kind::kLoop: {
      const LoopState& l = obj.loop();
      int64_t len = static_cast<int64_t>(l.items->items.size());
      if (name == "index") return Value::Int(l.index0 + 1);
      if (name == "index0") return Value::Int(l.index0);
      if (name == "revindex") return Value::Int(len - l.index0);
      if (name == "revindex0") return Value::Int(len - l.index0 - 1);
      if (name == "first") return Value::Bool(l.index0 == 0);
      if (name == "last") return Value::Bool(l.index0 == len - 1);
      if (name == "length") return Value::Int(len);
      if (name == "depth") return Value::Int(l.depth0 + 1);
      if (name == "depth0") return Value::Int(l.depth0);
      if (name == "previtem") {
        if (l.index0 > 0) return l.items->items[l.index0 - 1];
        return Value::Undefined(Hint("there is no previous item"));
      }
      if (name == "nextitem") {
        if (l.index0 + 1 < len) return l.items->items[l.index0 + 1];
        return Value::Undefined(Hint("there is no next item"));
      }
      if (on & kOnLoop) return BindMethod(obj, method);
      break;
    }
    default:
      break;
  }
  return Value::Undefined(Hint("'" + TypeDescription(obj) + "' has no attribute '" + std::string(name) + "'"));
}

bool CallMethod(Renderer& r, const Value& obj, int method, CallArgs& args, Value* out) {
  if (method < 0 || method >= static_cast<int>(Method::kCount_)) return false;
  const Method m = static_cast<Method>(method);
  switch (obj.kind) {
    case Kind::kString:
      return StrMethod(r, obj, m, args, out);
    case Kind::kList: {
      const auto& items = obj.l().items;
      if (m == Method::kCount || m == Method::kIndex) {
        const Value* x = Arg(args, 0, "value");
        if (!x) Fail(std::string(MethodName(m)) + "() takes exactly one argument (0 given)");
        r.Charge(items.size());
        int64_t count = 0;
        for (size_t n = 0; n < items.size(); ++n) {
          if (Equal(items[n], *x)) {
            if (m == Method::kIndex) {
              *out = Value::Int(static_cast<int64_t>(n));
              return true;
            }
            ++count;
          }
        }
        if (m == Method::kIndex) Fail("value is not in list");
        *out = Value::Int(count);
        return true;
      }
      if (m == Method::kCopy && !obj.l().is_tuple) {
        *out = ListOf(items);
        return true;
      }
      if ((m == Method::kPop || m == Method::kClear) && !obj.l().is_tuple) {
        Fail("list." + std::string(MethodName(m)) + "() would modify the list; not supported", ErrorKind::kUnsupported);
      }
      return false;
    }
    case Kind::kDict: {
      const Dict& d = obj.d();
      if (d.is_namespace) return false;
      if (m == Method::kGet) {
        const Value* k = Arg(args, 0, "key");
        const Value* def = Arg(args, 1, "default");
        if (!k) Fail("get expected at least 1 argument, got 0");
        const Value* v = k->kind == Kind::kString ? d.Find(k->s()) : nullptr;
        *out = v ? *v : (def ? *def : Value::None());
        return true;
      }
      if (m == Method::kItems || m == Method::kKeys || m == Method::kValues) {
        r.Charge(d.items.size());
        std::vector<Value> items;
        items.reserve(d.items.size());
        for (const auto& [k, v] : d.items) {
          if (m == Method::kItems) {
            items.push_back(ListOf({Value::String(k), v}, true));
          } else {
            items.push_back(m == Method::kKeys ? Value::String(k) : v);
          }
        }
        *out = ListOf(std::move(items));
        return true;
      }
      if (m == Method::kCopy) {
        auto c = std::make_shared<Dict>(d);
        *out = Value::MakeDict(std::move(c));
        return true;
      }
      return false;
    }
    case Kind::kLoop: {
      LoopState& l = obj.loop();
      if (m == Method::kCycle) {
        if (args.positional.empty()) Fail("no items for cycling given");
        *out = args.positional[l.index0 % static_cast<int64_t>(args.positional.size())];
        return true;
      }
      if (m == Method::kChanged) {
        Value v = ListOf(args.positional);
        bool changed = !l.has_changed || !Equal(v, l.last_changed);
        l.has_changed = true;
        l.last_changed = v;
        *out = Value::Bool(changed);
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

}  // namespace gemma4::chat
