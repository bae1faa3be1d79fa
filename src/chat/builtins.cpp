// Built-in filters, tests, globals and methods. Each follows the jinja2 3.1 implementation
// (jinja2/filters.py, tests.py, sandbox.py) and transformers' overrides (tojson, raise_exception,
// strftime_now) as they behave under ImmutableSandboxedEnvironment.
#include "chat/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include "chat/interpreter.h"

namespace gemma4::chat {
namespace {

using Fn = Value (*)(Renderer&, const Value&, CallArgs&);
using TestFn = bool (*)(Renderer&, const Value&, CallArgs&);

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

Value ListOf(std::vector<Value> items, bool tuple = false) { return Value::MakeList(std::move(items), tuple); }

// Index of the code point `cp_index` in s (bytes), s.size() when past the end.
size_t ByteOffset(const std::string& s, size_t cp_index) {
  if (IsAscii(s)) return std::min(cp_index, s.size());
  size_t pos = 0;
  for (size_t n = 0; n < cp_index && pos < s.size(); ++n) DecodeUtf8(s, pos);
  return pos;
}

size_t CpIndex(const std::string& s, size_t byte_offset) { return CodePointCount(std::string_view(s).substr(0, byte_offset)); }

// ---- attribute paths (map(attribute=...), selectattr, sort(attribute=...)) ----

Value AttrPath(const Value& item, const Value& attribute) {
  if (attribute.kind != Kind::kString) return GetItem(item, attribute);
  Value cur = item;
  const std::string& path = attribute.s();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur.is_undefined()) RaiseUndefined(cur);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = digits ? GetItem(cur, Value::Int(std::stoll(part))) : GetItem(cur, Value::String(part));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

Value LowerIfString(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.kind == Kind::kString) return Value::String(PyLower(v.s()));
  return v;
}

// ---- callables ----

struct BuiltinFunction : Callable {
  Value (*fn)(Renderer&, CallArgs&);
  BuiltinFunction(const char* n, Value (*f)(Renderer&, CallArgs&)) : fn(f) { name = n; }
  Value Call(Renderer& r, CallArgs& args) const override { return fn(r, args); }
};

struct BoundMethod : Callable {
  Value self;
  Value Call(Renderer& r, CallArgs& args) const override {
    Value out;
    if (!CallMethod(r, self, name, args, &out)) Fail("'" + TypeName(self) + "' object has no method '" + name + "'");
    return out;
  }
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

Value MakeBound(const Value& self, std::string_view method) {
  auto b = std::make_shared<BoundMethod>();
  b->name = std::string(method);
  b->self = self;
  return Value::MakeCallable(std::move(b));
}

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

// ---- string helpers ----

std::vector<std::string> SplitWhitespace(const std::string& s, int64_t maxsplit, bool from_right) {
  auto cps = ToCodePoints(s);
  std::vector<std::string> parts;
  if (!from_right) {
    size_t n = 0;
    while (n < cps.size()) {
      while (n < cps.size() && IsPyWhitespace(cps[n])) ++n;
      if (n >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > n && IsPyWhitespace(cps[e - 1])) --e;
        parts.push_back(FromCodePoints(cps.data() + n, cps.data() + e));
        break;
      }
      size_t b = n;
      while (n < cps.size() && !IsPyWhitespace(cps[n])) ++n;
      parts.push_back(FromCodePoints(cps.data() + b, cps.data() + n));
    }
    return parts;
  }
  size_t n = cps.size();
  while (n > 0) {
    while (n > 0 && IsPyWhitespace(cps[n - 1])) --n;
    if (n == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t b = 0;
      while (b < n && IsPyWhitespace(cps[b])) ++b;
      parts.push_back(FromCodePoints(cps.data() + b, cps.data() + n));
      break;
    }
    size_t e = n;
    while (n > 0 && !IsPyWhitespace(cps[n - 1])) --n;
    parts.push_back(FromCodePoints(cps.data() + n, cps.data() + e));
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> SplitSep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right) {
  if (sep.empty()) Fail("empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t p = s.find(sep, start);
      if (p == std::string::npos) break;
      parts.push_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    size_t p = s.rfind(sep, end - sep.size());
    if (p == std::string::npos) break;
    parts.push_back(s.substr(p + sep.size(), end - p - sep.size()));
    end = p;
  }
  parts.push_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string Replace(Renderer& r, const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    auto cps = ToCodePoints(s);
    int64_t done = 0;
    for (size_t n = 0; n <= cps.size(); ++n) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (n < cps.size()) EncodeUtf8(out, cps[n]);
      r.CheckSize(out.size());
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(old, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += repl;
    r.CheckSize(out.size());
    start = p + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  r.CheckSize(out.size());
  return out;
}

std::string PyTitle(const std::string& s) {  // str.title()
  std::string out;
  bool prev_cased = false;
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    bool cased = IsAlphaChar(c);
    EncodeUtf8(out, cased ? (prev_cased ? LowerChar(c) : UpperChar(c)) : c);
    prev_cased = cased;
  }
  return out;
}

std::string PyCapitalize(const std::string& s) {
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    EncodeUtf8(out, first ? UpperChar(c) : LowerChar(c));
    first = false;
  }
  return out;
}

// jinja2's title filter: capitalizes each word split at whitespace, -, (, {, [, <.
std::string JinjaTitle(const std::string& s) {
  std::string out;
  size_t pos = 0;
  bool word_start = true;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    bool sep = IsPyWhitespace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      EncodeUtf8(out, c);
      word_start = true;
    } else {
      EncodeUtf8(out, word_start ? UpperChar(c) : LowerChar(c));
      word_start = false;
    }
  }
  return out;
}

std::string Pad(const std::string& s, int64_t width, const std::string& fill, int where) {  // -1 ljust, 0 center, 1 rjust
  int64_t len = static_cast<int64_t>(CodePointCount(s));
  if (width <= len) return s;
  if (width > (1 << 24)) Fail("padding width too large", ErrorKind::kLimit);
  int64_t total = width - len, left = 0;
  if (where == 1) left = total;
  if (where == 0) left = total / 2 + (total & width & 1);
  std::string out;
  for (int64_t n = 0; n < left; ++n) out += fill;
  out += s;
  for (int64_t n = 0; n < total - left; ++n) out += fill;
  return out;
}

bool ParsePyInt(std::string s, int base, int64_t* out) {
  s = PyStrip(s, nullptr, true, true);
  if (s.empty()) return false;
  size_t p = 0;
  bool neg = false;
  if (s[p] == '+' || s[p] == '-') neg = s[p++] == '-';
  if (base == 16 && s.compare(p, 2, "0x") == 0) p += 2;
  std::string digits;
  bool last_underscore = true;
  for (; p < s.size(); ++p) {
    if (s[p] == '_') {
      if (last_underscore) return false;
      last_underscore = true;
      continue;
    }
    digits.push_back(s[p]);
    last_underscore = false;
  }
  if (digits.empty() || last_underscore) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = neg ? -v : v;
  return true;
}

bool ParsePyFloat(std::string s, double* out) {
  s = PyStrip(s, nullptr, true, true);
  if (s.empty()) return false;
  std::string lower = PyLower(s);
  std::string body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body = body.substr(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? std::nan("") : INFINITY;
    *out = lower[0] == '-' ? -v : v;
    return true;
  }
  std::string cleaned;
  for (size_t n = 0; n < s.size(); ++n) {
    char c = s[n];
    if (c == '_') {
      if (n == 0 || n + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[n - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[n + 1]))) {
        return false;
      }
      continue;
    }
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
    cleaned.push_back(c);
  }
  char* end = nullptr;
  double v = std::strtod(cleaned.c_str(), &end);
  if (end == cleaned.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// ---- filters ----

Value FAbs(Renderer&, const Value& v, CallArgs&) {
  if (v.kind == Kind::kFloat) return Value::Float(std::fabs(v.f));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) Fail("integer overflow", ErrorKind::kUnsupported);
    return Value::Int(std::llabs(v.as_int()));
  }
  if (v.is_undefined()) RaiseUndefined(v);
  Fail("bad operand type for abs(): '" + TypeName(v) + "'");
}

Value FAttr(Renderer&, const Value& v, CallArgs& a) {
  std::string name = ArgStr(a, 0, "name", "");
  if (v.kind == Kind::kDict && v.d().is_namespace) return GetAttr(v, name);
  if (v.kind == Kind::kDict) {
    static const char* kDictMethods[] = {"get", "items", "keys", "values", "copy"};
    for (const char* m : kDictMethods) {
      if (name == m) return MakeBound(v, name);
    }
    return Value::Undefined(Hint("'dict object' has no attribute '" + name + "'"));
  }
  if (v.kind == Kind::kLoop || v.kind == Kind::kString || v.kind == Kind::kList) return GetAttr(v, name);
  return Value::Undefined(Hint("'" + TypeDescription(v) + "' has no attribute '" + name + "'"));
}

Value FBatch(Renderer& r, const Value& v, CallArgs& a) {
  int64_t count = ArgInt(a, 0, "linecount", 1);
  const Value* fill = Arg(a, 1, "fill_with");
  if (count <= 0) Fail("batch size must be positive");
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  std::vector<Value> out, cur;
  for (const Value& item : items->items) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == count) {
      out.push_back(ListOf(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none()) {
      while (static_cast<int64_t>(cur.size()) < count) cur.push_back(*fill);
    }
    out.push_back(ListOf(std::move(cur)));
  }
  return ListOf(std::move(out));
}

Value FCapitalize(Renderer&, const Value& v, CallArgs&) { return Value::String(PyCapitalize(Str(v))); }

Value FCenter(Renderer&, const Value& v, CallArgs& a) {
  return Value::String(Pad(Str(v), ArgInt(a, 0, "width", 80), " ", 0));
}

Value FDefault(Renderer&, const Value& v, CallArgs& a) {
  const Value* def = Arg(a, 0, "default_value");
  bool boolean = ArgBool(a, 1, "boolean", false);
  if (v.is_undefined() || (boolean && !Truthy(v))) return def ? *def : Value::String(std::string());
  return v;
}

Value FDictsort(Renderer& r, const Value& v, CallArgs& a) {
  bool cs = ArgBool(a, 0, "case_sensitive", false);
  std::string by = ArgStr(a, 1, "by", "key");
  bool reverse = ArgBool(a, 2, "reverse", false);
  if (v.kind != Kind::kDict || v.d().is_namespace) Fail("'" + TypeName(v) + "' object has no attribute 'items'");
  if (by != "key" && by != "value") Fail("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.d().items) pairs.push_back(ListOf({Value::String(k), val}, true));
  r.Charge(pairs.size() * 4);
  int idx = by == "key" ? 0 : 1;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    int c = Compare(LowerIfString(x.l().items[idx], cs), LowerIfString(y.l().items[idx], cs));
    return reverse ? c > 0 : c < 0;
  });
  return ListOf(std::move(pairs));
}

Value FEscape(Renderer&, const Value& v, CallArgs&) { return Value::String(HtmlEscape(Str(v))); }

Value FFirst(Renderer& r, const Value& v, CallArgs&) {
  auto items = Iterate(r, v);
  if (items->items.empty()) return Value::Undefined(Hint("No first item, sequence was empty."));
  return items->items.front();
}

Value FLast(Renderer& r, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::Undefined(Hint("No last item, sequence was empty."));
  auto items = Iterate(r, v);
  if (items->items.empty()) return Value::Undefined(Hint("No last item, sequence was empty."));
  return items->items.back();
}

Value FFloat(Renderer&, const Value& v, CallArgs& a) {
  const Value* def = Arg(a, 0, "default");
  Value fallback = def ? *def : Value::Float(0.0);
  if (v.is_number()) return Value::Float(v.as_double());
  if (v.kind == Kind::kString) {
    double d;
    if (ParsePyFloat(v.s(), &d)) return Value::Float(d);
  }
  return fallback;
}

Value FInt(Renderer&, const Value& v, CallArgs& a) {
  const Value* def = Arg(a, 0, "default");
  int64_t base = ArgInt(a, 1, "base", 10);
  Value fallback = def ? *def : Value::Int(0);
  if (v.is_integral()) return Value::Int(v.as_int());
  if (v.kind == Kind::kFloat) {
    if (!std::isfinite(v.f)) Fail("cannot convert float infinity or NaN to integer");
    if (std::fabs(v.f) >= 9.2e18) Fail("integer overflow", ErrorKind::kUnsupported);
    return Value::Int(static_cast<int64_t>(v.f));
  }
  if (v.kind == Kind::kString) {
    int64_t i;
    if (base >= 2 && base <= 36 && ParsePyInt(v.s(), static_cast<int>(base), &i)) return Value::Int(i);
    double d;
    if (ParsePyFloat(v.s(), &d)) {
      if (!std::isfinite(d)) Fail("cannot convert float infinity or NaN to integer");
      if (std::fabs(d) >= 9.2e18) Fail("integer overflow", ErrorKind::kUnsupported);
      return Value::Int(static_cast<int64_t>(d));
    }
  }
  return fallback;
}

Value FIndent(Renderer& r, const Value& v, CallArgs& a) {
  const Value* w = Arg(a, 0, "width");
  std::string indention = w && w->kind == Kind::kString ? w->s() : std::string(std::max<int64_t>(0, w ? w->as_int() : 4), ' ');
  if (w && !w->is_integral() && w->kind != Kind::kString) Fail("indent width must be an integer or a string");
  bool first = ArgBool(a, 1, "first", false);
  bool blank = ArgBool(a, 2, "blank", false);
  std::string s = Str(v) + "\n";
  auto lines = PySplitLines(s);
  std::string out;
  if (blank) {
    for (size_t n = 0; n < lines.size(); ++n) {
      if (n) out += "\n" + indention;
      out += lines[n];
    }
  } else {
    out = lines.empty() ? std::string() : lines[0];
    if (lines.size() > 1) {
      out += "\n";
      for (size_t n = 1; n < lines.size(); ++n) {
        if (n > 1) out += "\n";
        if (!lines[n].empty()) out += indention;
        out += lines[n];
        r.CheckSize(out.size());
      }
    }
  }
  if (first) out = indention + out;
  r.CheckSize(out.size());
  return Value::String(std::move(out));
}

Value FItems(Renderer&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return ListOf({});
  if (v.kind != Kind::kDict || v.d().is_namespace) Fail("Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  pairs.reserve(v.d().items.size());
  for (const auto& [k, val] : v.d().items) pairs.push_back(ListOf({Value::String(k), val}, true));
  return ListOf(std::move(pairs));
}

Value FJoin(Renderer& r, const Value& v, CallArgs& a) {
  std::string sep = ArgStr(a, 0, "d", "");
  const Value* attribute = Arg(a, 1, "attribute");
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  std::string out;
  for (size_t n = 0; n < items->items.size(); ++n) {
    if (n) out += sep;
    if (attribute && !attribute->is_none()) {
      AppendStr(out, AttrPath(items->items[n], *attribute));
    } else {
      AppendStr(out, items->items[n]);
    }
    r.CheckSize(out.size());
  }
  return Value::String(std::move(out));
}

Value FLength(Renderer&, const Value& v, CallArgs&) { return Value::Int(Length(v)); }

Value FList(Renderer& r, const Value& v, CallArgs&) {
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  return ListOf(items->items);
}

Value FLower(Renderer&, const Value& v, CallArgs&) { return Value::String(PyLower(Str(v))); }
Value FUpper(Renderer&, const Value& v, CallArgs&) { return Value::String(PyUpper(Str(v))); }

Value FMap(Renderer& r, const Value& v, CallArgs& a) {
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  std::vector<Value> out;
  out.reserve(items->items.size());
  if (a.positional.empty()) {
    const Value* attribute = a.Keyword("attribute");
    if (!attribute) Fail("map requires a filter argument");
    const Value* def = a.Keyword("default");
    for (const Value& item : items->items) {
      Value x = AttrPath(item, *attribute);
      out.push_back(x.is_undefined() && def ? *def : x);
    }
    return ListOf(std::move(out));
  }
  std::string name = Str(a.positional[0]);
  int f = FindFilter(name);
  if (f < 0) Fail("No filter named '" + name + "'.");
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const Value& item : items->items) {
    CallArgs copy = rest;
    out.push_back(ApplyFilter(r, f, item, copy));
  }
  return ListOf(std::move(out));
}

Value MinMax(Renderer& r, const Value& v, CallArgs& a, bool want_max) {
  bool cs = ArgBool(a, 0, "case_sensitive", false);
  const Value* attribute = Arg(a, 1, "attribute");
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  if (items->items.empty()) return Value::Undefined(Hint("No aggregated item, sequence was empty."));
  auto key = [&](const Value& x) {
    return LowerIfString(attribute && !attribute->is_none() ? AttrPath(x, *attribute) : x, cs);
  };
  size_t best = 0;
  Value best_key = key(items->items[0]);
  for (size_t n = 1; n < items->items.size(); ++n) {
    Value k = key(items->items[n]);
    int c = Compare(k, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = n;
      best_key = k;
    }
  }
  return items->items[best];
}
Value FMax(Renderer& r, const Value& v, CallArgs& a) { return MinMax(r, v, a, true); }
Value FMin(Renderer& r, const Value& v, CallArgs& a) { return MinMax(r, v, a, false); }

Value FReplace(Renderer& r, const Value& v, CallArgs& a) {
  std::string old = ArgStr(a, 0, "old", "");
  std::string repl = ArgStr(a, 1, "new", "");
  int64_t count = ArgInt(a, 2, "count", -1);
  return Value::String(Replace(r, Str(v), old, repl, count));
}

Value FReverse(Renderer& r, const Value& v, CallArgs&) {
  if (v.kind == Kind::kString) {
    auto cps = ToCodePoints(v.s());
    std::reverse(cps.begin(), cps.end());
    return Value::String(FromCodePoints(cps.data(), cps.data() + cps.size()));
  }
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  std::vector<Value> out(items->items.rbegin(), items->items.rend());
  return ListOf(std::move(out));
}

double RoundHalfEven(double x, int64_t digits) {
  if (!std::isfinite(x)) return x;
  if (digits > 300) return x;
  if (digits >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(digits), x);
    return std::strtod(buf, nullptr);
  }
  double scale = std::pow(10.0, static_cast<double>(-digits));
  return std::nearbyint(x / scale) * scale;
}

Value FRound(Renderer&, const Value& v, CallArgs& a) {
  int64_t precision = ArgInt(a, 0, "precision", 0);
  std::string method = ArgStr(a, 1, "method", "common");
  if (method != "common" && method != "ceil" && method != "floor") {
    Fail("method must be common, ceil or floor");
  }
  if (v.is_undefined()) RaiseUndefined(v);
  if (!v.is_number()) Fail("type " + TypeName(v) + " doesn't define __round__ method");
  if (method == "common") {
    if (v.is_integral()) return Value::Int(v.as_int());
    return Value::Float(RoundHalfEven(v.f, precision));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  return Value::Float((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value FSafe(Renderer&, const Value& v, CallArgs&) { return Value::String(Str(v)); }

Value SelectImpl(Renderer& r, const Value& v, CallArgs& a, bool attr, bool keep) {
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  size_t at = 0;
  Value attribute;
  if (attr) {
    if (a.positional.empty()) Fail("Missing parameter for attribute name");
    attribute = a.positional[0];
    at = 1;
  }
  int test = -1;
  CallArgs test_args;
  if (a.positional.size() > at) {
    std::string name = Str(a.positional[at]);
    test = FindTest(name);
    if (test < 0) Fail("No test named '" + name + "'.");
    test_args.positional.assign(a.positional.begin() + at + 1, a.positional.end());
    test_args.keyword = a.keyword;
  }
  std::vector<Value> out;
  for (const Value& item : items->items) {
    Value x = attr ? AttrPath(item, attribute) : item;
    bool ok;
    if (test < 0) {
      ok = Truthy(x);
    } else {
      CallArgs copy = test_args;
      ok = ApplyTest(r, test, x, copy);
    }
    if (ok == keep) out.push_back(item);
  }
  return ListOf(std::move(out));
}
Value FSelect(Renderer& r, const Value& v, CallArgs& a) { return SelectImpl(r, v, a, false, true); }
Value FReject(Renderer& r, const Value& v, CallArgs& a) { return SelectImpl(r, v, a, false, false); }
Value FSelectAttr(Renderer& r, const Value& v, CallArgs& a) { return SelectImpl(r, v, a, true, true); }
Value FRejectAttr(Renderer& r, const Value& v, CallArgs& a) { return SelectImpl(r, v, a, true, false); }

Value FSlice(Renderer& r, const Value& v, CallArgs& a) {
  int64_t slices = ArgInt(a, 0, "slices", 1);
  const Value* fill = Arg(a, 1, "fill_with");
  if (slices <= 0) Fail("slices must be positive");
  auto items = Iterate(r, v);
  r.Charge(items->items.size() + slices);
  int64_t length = static_cast<int64_t>(items->items.size());
  int64_t per = length / slices, extra = length % slices, offset = 0;
  std::vector<Value> out;
  for (int64_t n = 0; n < slices; ++n) {
    int64_t start = offset + n * per;
    if (n < extra) ++offset;
    int64_t end = offset + (n + 1) * per;
    std::vector<Value> part(items->items.begin() + start, items->items.begin() + end);
    if (fill && !fill->is_none() && n >= extra) part.push_back(*fill);
    out.push_back(ListOf(std::move(part)));
  }
  return ListOf(std::move(out));
}

Value FSort(Renderer& r, const Value& v, CallArgs& a) {
  bool reverse = ArgBool(a, 0, "reverse", false);
  bool cs = ArgBool(a, 1, "case_sensitive", false);
  const Value* attribute = Arg(a, 2, "attribute");
  auto items = Iterate(r, v);
  size_t n = items->items.size();
  r.Charge(n * (1 + static_cast<uint64_t>(std::log2(n + 1))));
  std::vector<std::pair<Value, Value>> keyed;
  keyed.reserve(n);
  for (const Value& item : items->items) {
    Value k = attribute && !attribute->is_none() ? AttrPath(item, *attribute) : item;
    keyed.emplace_back(LowerIfString(k, cs), item);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? Compare(y.first, x.first) < 0 : Compare(x.first, y.first) < 0;
  });
  std::vector<Value> out;
  out.reserve(n);
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return ListOf(std::move(out));
}

Value FString(Renderer&, const Value& v, CallArgs&) { return Value::String(Str(v)); }

Value FSum(Renderer& r, const Value& v, CallArgs& a) {
  const Value* attribute = Arg(a, 0, "attribute");
  const Value* start = Arg(a, 1, "start");
  auto items = Iterate(r, v);
  r.Charge(items->items.size());
  Value total = start ? *start : Value::Int(0);
  for (const Value& item : items->items) {
    Value x = attribute && !attribute->is_none() ? AttrPath(item, *attribute) : item;
    total = r.BinaryOp(BinOp::kAdd, total, x);
  }
  return total;
}

Value FTitle(Renderer&, const Value& v, CallArgs&) { return Value::String(JinjaTitle(Str(v))); }

Value FToJson(Renderer& r, const Value& v, CallArgs& a) {
  JsonOptions o;
  o.ensure_ascii = ArgBool(a, 0, "ensure_ascii", false);
  const Value* indent = Arg(a, 1, "indent");
  const Value* separators = Arg(a, 2, "separators");
  o.sort_keys = ArgBool(a, 3, "sort_keys", false);
  if (indent && !indent->is_none()) {
    o.has_indent = true;
    if (indent->kind == Kind::kString) {
      o.indent = indent->s();
    } else if (indent->is_integral()) {
      o.indent = std::string(std::clamp<int64_t>(indent->as_int(), 0, 1024), ' ');
    } else {
      Fail("can't multiply sequence by non-int of type '" + TypeName(*indent) + "'");
    }
    o.item_separator = ",";
  }
  if (separators && !separators->is_none()) {
    auto parts = Iterate(r, *separators);
    if (parts->items.size() != 2) Fail("separators must be a pair of strings");
    o.item_separator = Str(parts->items[0]);
    o.key_separator = Str(parts->items[1]);
  }
  std::string out, error;
  if (!DumpJson(out, v, o, &error)) Fail(error);
  r.CheckSize(out.size());
  r.Charge(out.size() / 64);
  return Value::String(std::move(out));
}

Value FTrim(Renderer&, const Value& v, CallArgs& a) {
  const Value* chars = Arg(a, 0, "chars");
  std::string set;
  if (chars && !chars->is_none()) set = Str(*chars);
  return Value::String(PyStrip(Str(v), chars && !chars->is_none() ? &set : nullptr, true, true));
}

Value FTruncate(Renderer&, const Value& v, CallArgs& a) {
  std::string s = Str(v);
  int64_t length = ArgInt(a, 0, "length", 255);
  bool killwords = ArgBool(a, 1, "killwords", false);
  std::string end = ArgStr(a, 2, "end", "...");
  int64_t leeway = ArgInt(a, 3, "leeway", 5);
  auto cps = ToCodePoints(s);
  int64_t endlen = static_cast<int64_t>(CodePointCount(end));
  if (length < endlen) Fail("expected length >= " + std::to_string(endlen) + ", got " + std::to_string(length));
  if (leeway < 0) Fail("expected leeway >= 0, got " + std::to_string(leeway));
  if (static_cast<int64_t>(cps.size()) <= length + leeway) return Value::String(s);
  size_t cut = static_cast<size_t>(length - endlen);
  std::string head = FromCodePoints(cps.data(), cps.data() + std::min(cut, cps.size()));
  if (killwords) return Value::String(head + end);
  size_t sp = head.rfind(' ');
  if (sp != std::string::npos) head = head.substr(0, sp);
  return Value::String(head + end);
}

Value FUnique(Renderer& r, const Value& v, CallArgs& a) {
  bool cs = ArgBool(a, 0, "case_sensitive", false);
  const Value* attribute = Arg(a, 1, "attribute");
  auto items = Iterate(r, v);
  std::vector<Value> seen, out;
  for (const Value& item : items->items) {
    Value k = LowerIfString(attribute && !attribute->is_none() ? AttrPath(item, *attribute) : item, cs);
    r.Charge(seen.size() + 1);
    bool dup = false;
    for (const Value& s : seen) {
      if (Equal(s, k)) {
        dup = true;
        break;
      }
    }
    if (!dup) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return ListOf(std::move(out));
}

Value FWordcount(Renderer&, const Value& v, CallArgs&) {
  std::string s = Str(v);
  int64_t count = 0;
  bool in_word = false;
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    bool w = c == '_' || IsDigitChar(c) || IsAlphaChar(c) || (c >= 0x80 && !IsPyWhitespace(c) && c != 0x2019);
    if (w && !in_word) ++count;
    in_word = w;
  }
  return Value::Int(count);
}

Value FFormat(Renderer& r, const Value& v, CallArgs& a) {
  if (!a.keyword.empty() && !a.positional.empty()) Fail("can't handle positional and keyword arguments at the same time");
  if (!a.keyword.empty()) {
    auto d = std::make_shared<Dict>();
    for (auto& [k, val] : a.keyword) d->Set(k, val);
    return PercentFormat(r, Str(v), Value::MakeDict(d));
  }
  return PercentFormat(r, Str(v), ListOf(a.positional, true));
}

Value FPprint(Renderer&, const Value& v, CallArgs&) {
  std::string out;
  AppendRepr(out, v);
  return Value::String(std::move(out));
}

Value FUnsupported(Renderer&, const Value&, CallArgs&) {
  Fail("this filter is not supported in chat templates", ErrorKind::kUnsupported);
}

struct FilterEntry {
  const char* name;
  Fn fn;
};
const FilterEntry kFilters[] = {
    {"abs", FAbs},           {"attr", FAttr},          {"batch", FBatch},           {"capitalize", FCapitalize},
    {"center", FCenter},     {"count", FLength},       {"d", FDefault},             {"default", FDefault},
    {"dictsort", FDictsort}, {"e", FEscape},           {"escape", FEscape},         {"first", FFirst},
    {"float", FFloat},       {"forceescape", FEscape}, {"format", FFormat},         {"indent", FIndent},
    {"int", FInt},           {"items", FItems},        {"join", FJoin},             {"last", FLast},
    {"length", FLength},     {"list", FList},          {"lower", FLower},           {"map", FMap},
    {"max", FMax},           {"min", FMin},            {"pprint", FPprint},         {"reject", FReject},
    {"rejectattr", FRejectAttr}, {"replace", FReplace}, {"reverse", FReverse},      {"round", FRound},
    {"safe", FSafe},         {"select", FSelect},      {"selectattr", FSelectAttr}, {"slice", FSlice},
    {"sort", FSort},         {"string", FString},      {"sum", FSum},               {"title", FTitle},
    {"tojson", FToJson},     {"trim", FTrim},          {"truncate", FTruncate},     {"unique", FUnique},
    {"upper", FUpper},       {"wordcount", FWordcount}, {"filesizeformat", FUnsupported},
    {"groupby", FUnsupported}, {"random", FUnsupported}, {"striptags", FUnsupported},
    {"urlencode", FUnsupported}, {"urlize", FUnsupported}, {"wordwrap", FUnsupported},
    {"xmlattr", FUnsupported},
};

// ---- tests ----

bool TDefined(Renderer&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool TUndefined(Renderer&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool TNone(Renderer&, const Value& v, CallArgs&) { return v.is_none(); }
bool TBoolean(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kBool; }
bool TFalse(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kBool && !v.b; }
bool TTrue(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kBool && v.b; }
bool TInteger(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kInt; }
bool TFloat(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kFloat; }
bool TNumber(Renderer&, const Value& v, CallArgs&) { return v.is_number(); }
bool TString(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kString; }
bool TMapping(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kDict && !v.d().is_namespace; }
bool TIterable(Renderer&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.kind == Kind::kString || v.kind == Kind::kList ||
         (v.kind == Kind::kDict && !v.d().is_namespace);
}
bool TSequence(Renderer& r, const Value& v, CallArgs& a) { return TIterable(r, v, a); }
bool TCallable(Renderer&, const Value& v, CallArgs&) {
  return v.kind == Kind::kCallable || v.is_undefined();  // jinja2's Undefined defines __call__
}
bool TEscaped(Renderer&, const Value&, CallArgs&) { return false; }
const Value& TestArg(CallArgs& a, const char* name) {
  const Value* v = Arg(a, 0, name);
  if (!v) Fail("test is missing its argument");
  return *v;
}
bool TEq(Renderer&, const Value& v, CallArgs& a) { return Equal(v, TestArg(a, "other")); }
bool TNe(Renderer&, const Value& v, CallArgs& a) { return !Equal(v, TestArg(a, "other")); }
bool TLt(Renderer&, const Value& v, CallArgs& a) { return Compare(v, TestArg(a, "other")) < 0; }
bool TLe(Renderer&, const Value& v, CallArgs& a) { return Compare(v, TestArg(a, "other")) <= 0; }
bool TGt(Renderer&, const Value& v, CallArgs& a) { return Compare(v, TestArg(a, "other")) > 0; }
bool TGe(Renderer&, const Value& v, CallArgs& a) { return Compare(v, TestArg(a, "other")) >= 0; }
bool TIn(Renderer&, const Value& v, CallArgs& a) { return Contains(TestArg(a, "seq"), v); }
bool TSameAs(Renderer&, const Value& v, CallArgs& a) {
  const Value& o = TestArg(a, "other");
  if (v.kind != o.kind) return false;
  if (v.ptr || o.ptr) return v.ptr == o.ptr;
  return Equal(v, o);
}
int64_t IntOperand(const Value& v) {
  if (v.is_undefined()) RaiseUndefined(v);
  if (!v.is_integral()) Fail("unsupported operand type(s) for %: '" + TypeName(v) + "' and 'int'");
  return v.as_int();
}
bool TEven(Renderer&, const Value& v, CallArgs&) { return IntOperand(v) % 2 == 0; }
bool TOdd(Renderer&, const Value& v, CallArgs&) { return IntOperand(v) % 2 != 0; }
bool TDivisibleBy(Renderer&, const Value& v, CallArgs& a) {
  const Value& n = TestArg(a, "num");
  if (!n.is_integral() || n.as_int() == 0) Fail("integer division or modulo by zero");
  return IntOperand(v) % n.as_int() == 0;
}
bool TLower(Renderer&, const Value& v, CallArgs&) {
  std::string s = Str(v);
  return PyLower(s) == s && PyUpper(s) != s;
}
bool TUpper(Renderer&, const Value& v, CallArgs&) {
  std::string s = Str(v);
  return PyUpper(s) == s && PyLower(s) != s;
}
bool TFilter(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kString && FindFilter(v.s()) >= 0; }
bool TTest(Renderer&, const Value& v, CallArgs&) { return v.kind == Kind::kString && FindTest(v.s()) >= 0; }

struct TestEntry {
  const char* name;
  TestFn fn;
};
const TestEntry kTests[] = {
    {"boolean", TBoolean}, {"callable", TCallable}, {"defined", TDefined},   {"divisibleby", TDivisibleBy},
    {"eq", TEq},           {"equalto", TEq},        {"escaped", TEscaped},   {"even", TEven},
    {"false", TFalse},     {"filter", TFilter},     {"float", TFloat},       {"ge", TGe},
    {"greaterthan", TGt},  {"gt", TGt},             {"in", TIn},             {"integer", TInteger},
    {"iterable", TIterable}, {"le", TLe},           {"lessthan", TLt},       {"lower", TLower},
    {"lt", TLt},           {"mapping", TMapping},   {"ne", TNe},             {"none", TNone},
    {"number", TNumber},   {"odd", TOdd},           {"sameas", TSameAs},     {"sequence", TSequence},
    {"string", TString},   {"test", TTest},         {"true", TTrue},         {"undefined", TUndefined},
    {"upper", TUpper},
};

// ---- methods ----

bool IsStrMethod(std::string_view n) {
  static const char* kNames[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
                                 "endswith", "replace", "lower", "upper", "title", "capitalize", "swapcase",
                                 "casefold", "find", "rfind", "index", "rindex", "count", "join", "isdigit",
                                 "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal",
                                 "zfill", "center", "ljust", "rjust", "format", "partition", "rpartition",
                                 "removeprefix", "removesuffix", "istitle", "expandtabs", "encode"};
  for (const char* k : kNames) {
    if (n == k) return true;
  }
  return false;
}

bool IsListMethod(std::string_view n) { return n == "count" || n == "index" || n == "copy" || n == "pop" || n == "clear"; }
bool IsUnsafeListMethod(std::string_view n) {
  return n == "append" || n == "reverse" || n == "insert" || n == "sort" || n == "extend" || n == "remove";
}
bool IsDictMethod(std::string_view n) {
  return n == "get" || n == "items" || n == "keys" || n == "values" || n == "copy" || n == "fromkeys";
}
bool IsUnsafeDictMethod(std::string_view n) {
  return n == "clear" || n == "pop" || n == "popitem" || n == "setdefault" || n == "update";
}

Value UnsafeUndefined(const Value& obj, std::string_view name) {
  return Value::Undefined(
      Hint("access to attribute '" + std::string(name) + "' of '" + TypeName(obj) + "' object is unsafe."));
}


Value StrFormat(Renderer& r, const std::string& fmt, CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t n = 0; n < fmt.size(); ++n) {
    char c = fmt[n];
    if (c == '{') {
      if (n + 1 < fmt.size() && fmt[n + 1] == '{') {
        out.push_back('{');
        ++n;
        continue;
      }
      size_t close = fmt.find('}', n);
      if (close == std::string::npos) Fail("Single '{' encountered in format string");
      std::string field = fmt.substr(n + 1, close - n - 1);
      if (field.find_first_of(":!.[") != std::string::npos) {
        Fail("format specifications are not supported in str.format", ErrorKind::kUnsupported);
      }
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_index >= a.positional.size()) Fail("Replacement index " + std::to_string(auto_index) + " out of range");
        v = &a.positional[auto_index++];
      } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
        size_t idx = std::stoul(field);
        if (idx >= a.positional.size()) Fail("Replacement index " + field + " out of range");
        v = &a.positional[idx];
      } else {
        v = a.Keyword(field);
        if (!v) Fail("'" + field + "'");
      }
      AppendStr(out, *v);
      r.CheckSize(out.size());
      n = close;
    } else if (c == '}') {
      if (n + 1 < fmt.size() && fmt[n + 1] == '}') ++n;
      else Fail("Single '}' encountered in format string");
      out.push_back('}');
    } else {
      out.push_back(c);
    }
  }
  return Value::String(std::move(out));
}

bool StrMethod(Renderer& r, const Value& self, std::string_view name, CallArgs& a, Value* out) {
  const std::string& s = self.s();
  auto str_arg = [&](size_t idx, const char* pname) -> const std::string& {
    const Value* v = Arg(a, idx, pname);
    if (!v || v->kind != Kind::kString) {
      Fail(std::string(name) + "() argument must be str, not " + (v ? TypeName(*v) : std::string("nothing")));
    }
    return v->s();
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = Arg(a, 0, "chars");
    const std::string* set = chars && !chars->is_none() ? &str_arg(0, "chars") : nullptr;
    *out = Value::String(PyStrip(s, set, name != "rstrip", name != "lstrip"));
  } else if (name == "split" || name == "rsplit") {
    const Value* sep = Arg(a, 0, "sep");
    int64_t maxsplit = ArgInt(a, 1, "maxsplit", -1);
    auto parts = sep && !sep->is_none() ? SplitSep(s, str_arg(0, "sep"), maxsplit, name == "rsplit")
                                        : SplitWhitespace(s, maxsplit, name == "rsplit");
    r.Charge(parts.size());
    std::vector<Value> items;
    items.reserve(parts.size());
    for (auto& p : parts) items.push_back(Value::String(std::move(p)));
    *out = ListOf(std::move(items));
  } else if (name == "splitlines") {
    std::vector<Value> items;
    for (auto& p : PySplitLines(s, ArgBool(a, 0, "keepends", false))) items.push_back(Value::String(std::move(p)));
    *out = ListOf(std::move(items));
  } else if (name == "startswith" || name == "endswith") {
    const Value* p = Arg(a, 0, "prefix");
    if (!p) Fail(std::string(name) + "() takes at least 1 argument (0 given)");
    std::vector<Value> options;
    if (p->kind == Kind::kList && p->l().is_tuple) {
      options = p->l().items;
    } else {
      options.push_back(*p);
    }
    bool hit = false;
    for (const Value& o : options) {
      if (o.kind != Kind::kString) {
        Fail(std::string(name) + " first arg must be str or a tuple of str, not " + TypeName(o));
      }
      const std::string& x = o.s();
      if (name == "startswith" ? s.compare(0, x.size(), x) == 0 && s.size() >= x.size()
                               : s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) {
        hit = true;
      }
    }
    *out = Value::Bool(hit);
  } else if (name == "replace") {
    *out = Value::String(Replace(r, s, str_arg(0, "old"), str_arg(1, "new"), ArgInt(a, 2, "count", -1)));
  } else if (name == "lower" || name == "casefold") {
    *out = Value::String(PyLower(s));
  } else if (name == "upper") {
    *out = Value::String(PyUpper(s));
  } else if (name == "title") {
    *out = Value::String(PyTitle(s));
  } else if (name == "capitalize") {
    *out = Value::String(PyCapitalize(s));
  } else if (name == "swapcase") {
    std::string o;
    size_t pos = 0;
    while (pos < s.size()) {
      char32_t c = DecodeUtf8(s, pos);
      char32_t l = LowerChar(c);
      EncodeUtf8(o, l != c ? l : UpperChar(c));
    }
    *out = Value::String(std::move(o));
  } else if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const std::string& sub = str_arg(0, "sub");
    size_t p = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") Fail("substring not found");
      *out = Value::Int(-1);
    } else {
      *out = Value::Int(static_cast<int64_t>(CpIndex(s, p)));
    }
  } else if (name == "count") {
    const std::string& sub = str_arg(0, "sub");
    int64_t count = 0;
    if (sub.empty()) {
      count = static_cast<int64_t>(CodePointCount(s)) + 1;
    } else {
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++count;
    }
    *out = Value::Int(count);
  } else if (name == "join") {
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
  } else if (name.substr(0, 2) == "is") {
    auto cps = ToCodePoints(s);
    bool ok = !cps.empty();
    if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
      for (char32_t c : cps) ok = ok && IsDigitChar(c);
    } else if (name == "isalpha") {
      for (char32_t c : cps) ok = ok && IsAlphaChar(c);
    } else if (name == "isalnum") {
      for (char32_t c : cps) ok = ok && (IsAlphaChar(c) || IsDigitChar(c));
    } else if (name == "isspace") {
      for (char32_t c : cps) ok = ok && IsPyWhitespace(c);
    } else if (name == "islower") {
      ok = PyLower(s) == s && PyUpper(s) != s;
    } else if (name == "isupper") {
      ok = PyUpper(s) == s && PyLower(s) != s;
    } else if (name == "istitle") {
      ok = PyTitle(s) == s && PyLower(s) != s;
    } else {
      return false;
    }
    *out = Value::Bool(ok);
  } else if (name == "zfill") {
    int64_t width = ArgInt(a, 0, "width", 0);
    std::string body = s, sign;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      sign = body.substr(0, 1);
      body = body.substr(1);
    }
    int64_t len = static_cast<int64_t>(CodePointCount(s));
    if (width > (1 << 24)) Fail("zfill width too large", ErrorKind::kLimit);
    *out = Value::String(width <= len ? s : sign + std::string(width - len, '0') + body);
  } else if (name == "center" || name == "ljust" || name == "rjust") {
    std::string fill = Arg(a, 1, "fillchar") ? str_arg(1, "fillchar") : std::string(" ");
    if (CodePointCount(fill) != 1) Fail("The fill character must be exactly one character long");
    *out = Value::String(Pad(s, ArgInt(a, 0, "width", 0), fill, name == "center" ? 0 : name == "ljust" ? -1 : 1));
  } else if (name == "format") {
    *out = StrFormat(r, s, a);
  } else if (name == "partition" || name == "rpartition") {
    const std::string& sep = str_arg(0, "sep");
    if (sep.empty()) Fail("empty separator");
    size_t p = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (p == std::string::npos) {
      *out = name == "partition" ? ListOf({Value::String(s), Value::String(""), Value::String("")}, true)
                                 : ListOf({Value::String(""), Value::String(""), Value::String(s)}, true);
    } else {
      *out = ListOf({Value::String(s.substr(0, p)), Value::String(sep), Value::String(s.substr(p + sep.size()))}, true);
    }
  } else if (name == "removeprefix") {
    const std::string& x = str_arg(0, "prefix");
    *out = Value::String(s.compare(0, x.size(), x) == 0 && s.size() >= x.size() ? s.substr(x.size()) : s);
  } else if (name == "removesuffix") {
    const std::string& x = str_arg(0, "suffix");
    bool ends = !x.empty() && s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
    *out = Value::String(ends ? s.substr(0, s.size() - x.size()) : s);
  } else {
    return false;
  }
  return true;
}

}  // namespace

// ---- public entry points -----------------------------------------------------------------

int FindFilter(std::string_view name) {
  for (size_t n = 0; n < std::size(kFilters); ++n) {
    if (name == kFilters[n].name) return static_cast<int>(n);
  }
  return -1;
}

int FindTest(std::string_view name) {
  for (size_t n = 0; n < std::size(kTests); ++n) {
    if (name == kTests[n].name) return static_cast<int>(n);
  }
  return -1;
}

Value ApplyFilter(Renderer& r, int filter, const Value& input, CallArgs& args) {
  return kFilters[filter].fn(r, input, args);
}

bool ApplyTest(Renderer& r, int test, const Value& input, CallArgs& args) { return kTests[test].fn(r, input, args); }

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

Value GetAttr(const Value& obj, std::string_view name) {
  switch (obj.kind) {
    case Kind::kString:
      if (IsStrMethod(name)) return MakeBound(obj, name);
      break;
    case Kind::kList:
      if (IsListMethod(name) && !(obj.l().is_tuple && name != "count" && name != "index")) return MakeBound(obj, name);
      if (!obj.l().is_tuple && IsUnsafeListMethod(name)) return UnsafeUndefined(obj, name);
      break;
    case Kind::kDict: {
      const Dict& d = obj.d();
      if (!d.is_namespace) {
        if (IsDictMethod(name)) return MakeBound(obj, name);
        if (IsUnsafeDictMethod(name)) return UnsafeUndefined(obj, name);
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
      if (name == "cycle" || name == "changed") return MakeBound(obj, name);
      break;
    }
    default:
      break;
  }
  return Value::Undefined(Hint("'" + TypeDescription(obj) + "' has no attribute '" + std::string(name) + "'"));
}

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
  if (key.kind == Kind::kString) return GetAttr(obj, key.s());
  std::string k;
  AppendRepr(k, key);
  return Value::Undefined(Hint("'" + TypeDescription(obj) + "' has no element " + k));
}

bool CallMethod(Renderer& r, const Value& obj, std::string_view name, CallArgs& args, Value* out) {
  switch (obj.kind) {
    case Kind::kString:
      return StrMethod(r, obj, name, args, out);
    case Kind::kList: {
      const auto& items = obj.l().items;
      if (name == "count" || name == "index") {
        const Value* x = Arg(args, 0, "value");
        if (!x) Fail(std::string(name) + "() takes exactly one argument (0 given)");
        r.Charge(items.size());
        int64_t count = 0;
        for (size_t n = 0; n < items.size(); ++n) {
          if (Equal(items[n], *x)) {
            if (name == "index") {
              *out = Value::Int(static_cast<int64_t>(n));
              return true;
            }
            ++count;
          }
        }
        if (name == "index") Fail("value is not in list");
        *out = Value::Int(count);
        return true;
      }
      if (name == "copy" && !obj.l().is_tuple) {
        *out = ListOf(items);
        return true;
      }
      if ((name == "pop" || name == "clear") && !obj.l().is_tuple) {
        Fail("list." + std::string(name) + "() would modify the list; not supported", ErrorKind::kUnsupported);
      }
      return false;
    }
    case Kind::kDict: {
      const Dict& d = obj.d();
      if (d.is_namespace) return false;
      if (name == "get") {
        const Value* k = Arg(args, 0, "key");
        const Value* def = Arg(args, 1, "default");
        if (!k) Fail("get expected at least 1 argument, got 0");
        const Value* v = k->kind == Kind::kString ? d.Find(k->s()) : nullptr;
        *out = v ? *v : (def ? *def : Value::None());
        return true;
      }
      if (name == "items" || name == "keys" || name == "values") {
        r.Charge(d.items.size());
        std::vector<Value> items;
        items.reserve(d.items.size());
        for (const auto& [k, v] : d.items) {
          if (name == "items") {
            items.push_back(ListOf({Value::String(k), v}, true));
          } else {
            items.push_back(name == "keys" ? Value::String(k) : v);
          }
        }
        *out = ListOf(std::move(items));
        return true;
      }
      if (name == "copy") {
        auto c = std::make_shared<Dict>(d);
        *out = Value::MakeDict(std::move(c));
        return true;
      }
      return false;
    }
    case Kind::kLoop: {
      LoopState& l = obj.loop();
      if (name == "cycle") {
        if (args.positional.empty()) Fail("no items for cycling given");
        *out = args.positional[l.index0 % static_cast<int64_t>(args.positional.size())];
        return true;
      }
      if (name == "changed") {
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

Value PercentFormat(Renderer& r, const std::string& fmt, const Value& args) {
  std::vector<Value> positional;
  const Dict* mapping = nullptr;
  if (args.kind == Kind::kList && args.l().is_tuple) {
    positional = args.l().items;
  } else if (args.kind == Kind::kDict && !args.d().is_namespace) {
    mapping = &args.d();
    positional.push_back(args);
  } else {
    positional.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t n = 0; n < fmt.size(); ++n) {
    char c = fmt[n];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (++n >= fmt.size()) Fail("incomplete format");
    const Value* v = nullptr;
    if (fmt[n] == '(') {
      size_t close = fmt.find(')', n);
      if (close == std::string::npos || !mapping) Fail("format requires a mapping");
      std::string key = fmt.substr(n + 1, close - n - 1);
      v = mapping->Find(key);
      if (!v) Fail("'" + key + "'");
      n = close + 1;
    }
    std::string spec = "%";
    while (n < fmt.size() && std::strchr("-+ #0", fmt[n])) spec.push_back(fmt[n++]);
    while (n < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[n]))) spec.push_back(fmt[n++]);
    if (n < fmt.size() && fmt[n] == '.') {
      spec.push_back(fmt[n++]);
      while (n < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[n]))) spec.push_back(fmt[n++]);
    }
    // Width and precision are bounded so that "%999999999s" cannot allocate or spin.
    for (size_t k = 1, run = 0; k <= spec.size(); ++k) {
      bool digit = k < spec.size() && std::isdigit(static_cast<unsigned char>(spec[k]));
      run = digit ? run + 1 : 0;
      if (run > 5) Fail("format width or precision too large", ErrorKind::kLimit);
    }
    if (n >= fmt.size()) Fail("incomplete format");
    char conv = fmt[n];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!v) {
      if (next >= positional.size()) Fail("not enough arguments for format string");
      v = &positional[next++];
    }
    std::vector<char> buf(1 << 17);  // widths are capped at 5 digits above
    switch (conv) {
      case 's':
      case 'r': {
        std::string s;
        if (conv == 's') AppendStr(s, *v);
        else AppendRepr(s, *v);
        if (spec.size() == 1) {
          out += s;
        } else {
          std::snprintf(buf.data(), buf.size(), (spec + "s").c_str(), s.c_str());
          out += buf.data();
        }
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o':
        if (!v->is_number()) Fail("%" + std::string(1, conv) + " format: a real number is required, not " + TypeName(*v));
        std::snprintf(buf.data(), buf.size(), (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(),
                      static_cast<long long>(v->kind == Kind::kFloat ? static_cast<int64_t>(v->f) : v->as_int()));
        out += buf.data();
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!v->is_number()) Fail("must be real number, not " + TypeName(*v));
        std::snprintf(buf.data(), buf.size(), (spec + conv).c_str(), v->as_double());
        out += buf.data();
        break;
      default:
        Fail(std::string("unsupported format character '") + conv + "'");
    }
    r.CheckSize(out.size());
  }
  if (!mapping && next < positional.size()) Fail("not all arguments converted during string formatting");
  return Value::String(std::move(out));
}

}  // namespace gemma4::chat
