// The filters, as jinja2 3.1 implements them (jinja2/filters.py) under transformers' environment:
// tojson without HTML escaping, the sandbox's limits; filters that make no sense in a chat
// template fail as unsupported rather than silently differ. Resolved by name at parse time.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/py_str.h"

namespace gemma4::chat {
namespace {

using Fn = Value (*)(Renderer&, const Value&, CallArgs&);

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
  const int method = FindMethod(name);
  if (v.kind == Kind::kDict && v.d().is_namespace) return GetAttr(v, name, method);
  if (v.kind == Kind::kDict) {
    static const char* kFilterDictMethods[] = {"get", "items", "keys", "values", "copy"};
    for (const char* m : kFilterDictMethods) {
      if (name == m) return BindMethod(v, method);
    }
    return Value::Undefined(Hint("'dict object' has no attribute '" + name + "'"));
  }
  if (v.kind == Kind::kLoop || v.kind == Kind::kString || v.kind == Kind::kList) return GetAttr(v, name, method);
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

}  // namespace

int FindFilter(std::string_view name) {
  for (size_t n = 0; n < std::size(kFilters); ++n) {
    if (name == kFilters[n].name) return static_cast<int>(n);
  }
  return -1;
}

Value ApplyFilter(Renderer& r, int filter, const Value& input, CallArgs& args) {
  return kFilters[filter].fn(r, input, args);
}

}  // namespace gemma4::chat
