// Python semantics of values: truth, str(), repr(), equality, json.dumps, and the UTF-8 helpers
// that let strings behave like Python's code-point strings.
#include "chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "chat/runtime.h"

namespace gemma4::chat {

// ---- Dict --------------------------------------------------------------------------------

namespace {
constexpr size_t kIndexThreshold = 12;

// Children of a dying list or dict wait here, and the outermost destructor frees them one at a
// time: freeing a child that is itself a list only adds its children to the queue, so the stack
// stays flat however deep the value nests. Per thread, because renders run on several threads.
struct Graveyard {
  std::vector<std::shared_ptr<const void>> pending;
  bool draining = false;
};
thread_local Graveyard graveyard;

void Bury(Value& v) {
  if (v.ptr && v.kind != Kind::kString && v.kind != Kind::kUndefined) graveyard.pending.push_back(std::move(v.ptr));
}

void Drain() {
  if (graveyard.draining) return;
  graveyard.draining = true;
  while (!graveyard.pending.empty()) {
    std::shared_ptr<const void> next = std::move(graveyard.pending.back());
    graveyard.pending.pop_back();
    next.reset();  // may bury more
  }
  graveyard.draining = false;
}

[[noreturn]] void TooDeep(const char* what) {
  Fail("value nested more than " + std::to_string(kMaxJsonDepth) + " levels deep; cannot " + what + " it", ErrorKind::kLimit);
}
}  // namespace

List::~List() {
  for (auto& v : items) Bury(v);
  Drain();
}

Dict::~Dict() {
  for (auto& kv : items) Bury(kv.second);
  Drain();
}

bool Reaches(const Value& v, const void* target, uint64_t& budget) {
  std::vector<const Value*> todo{&v};
  std::vector<const void*> seen;
  while (!todo.empty()) {
    const Value* cur = todo.back();
    todo.pop_back();
    if (cur->kind != Kind::kList && cur->kind != Kind::kDict) continue;
    const void* obj = cur->ptr.get();
    if (obj == target) return true;
    if (!HoldsNamespace(*cur)) continue;  // no namespace inside: no way back to `target`
    if (std::find(seen.begin(), seen.end(), obj) != seen.end()) continue;
    if (budget == 0) Fail("value too large to check for cycles", ErrorKind::kLimit);
    --budget;
    seen.push_back(obj);
    if (cur->kind == Kind::kList) {
      for (const auto& item : cur->l().items) todo.push_back(&item);
    } else {
      for (const auto& kv : cur->d().items) todo.push_back(&kv.second);
    }
  }
  return false;
}

const Value* Dict::Find(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items[it->second].second;
  }
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::Set(std::string key, Value value) {
  if (HoldsNamespace(value)) holds_namespace = true;
  if (!index_.empty()) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      items[it->second].second = std::move(value);
      return;
    }
    index_.emplace(key, items.size());
    items.emplace_back(std::move(key), std::move(value));
    return;
  }
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
  if (items.size() > kIndexThreshold) {
    for (size_t n = 0; n < items.size(); ++n) index_.emplace(items[n].first, n);
  }
}

// ---- UTF-8 --------------------------------------------------------------------------------

char32_t DecodeUtf8(std::string_view s, size_t& pos) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  if (c < 0x80) {
    ++pos;
    return c;
  }
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  char32_t cp = c & (extra == 3 ? 0x07 : extra == 2 ? 0x0F : 0x1F);
  ++pos;
  for (int k = 0; k < extra && pos < s.size(); ++k, ++pos) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[pos]) & 0x3F);
  }
  return cp;
}

void EncodeUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    char32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, min = 0x10000;
    } else {
      return i;
    }
    if (i + extra >= s.size()) return i;  // truncated sequence
    char32_t cp = c & (extra == 3 ? 0x07 : extra == 2 ? 0x0F : 0x1F);
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += extra + 1;
  }
  return std::string_view::npos;
}

std::vector<char32_t> ToCodePoints(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) out.push_back(DecodeUtf8(s, pos));
  return out;
}

std::string FromCodePoints(const char32_t* begin, const char32_t* end) {
  std::string out;
  out.reserve(end - begin);
  for (const char32_t* p = begin; p != end; ++p) EncodeUtf8(out, *p);
  return out;
}

bool IsPyWhitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right) {
  auto cps = ToCodePoints(s);
  std::vector<char32_t> set;
  if (chars) set = ToCodePoints(*chars);
  auto strip_it = [&](char32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : IsPyWhitespace(c);
  };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip_it(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cps[e - 1])) --e;
  }
  return FromCodePoints(cps.data() + b, cps.data() + e);
}

// Case mapping for the scripts chat text commonly holds (ASCII, Latin-1, Latin Extended-A,
// Greek, Cyrillic); other code points are left unchanged.
char32_t LowerChar(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return (c % 2 == 1) ? c + 1 : c;
    if (c == 0x178) return 0xFF;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

char32_t UpperChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return (c % 2 == 0) ? c - 1 : c;
    return (c % 2 == 1) ? c - 1 : c;
  }
  if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

bool IsAlphaChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c == 0xAA || c == 0xB5 || c == 0xBA) return true;
  if (c >= 0xC0 && c <= 0x24F) return c != 0xD7 && c != 0xF7;
  if (c >= 0x370 && c <= 0x3FF) return c != 0x37E && c != 0x387;
  if (c >= 0x400 && c <= 0x481) return true;
  if (c >= 0x48A && c <= 0x52F) return true;
  if (c >= 0x4E00 && c <= 0x9FFF) return true;
  if (c >= 0x3040 && c <= 0x30FF) return c != 0x30A0 && c != 0x30FB;
  if (c >= 0xAC00 && c <= 0xD7A3) return true;
  return false;
}

bool IsDigitChar(char32_t c) { return c >= '0' && c <= '9'; }

namespace {

// Applies `map_char` to every character of UTF-8 `s`; `map_char` appends the mapped character
// (one code point, or more: Python upper-cases U+00DF to "SS").
template <typename MapChar>
std::string MapChars(std::string_view s, MapChar map_char) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) map_char(out, DecodeUtf8(s, pos));
  return out;
}

}  // namespace

std::string PyLower(std::string_view s) {
  return MapChars(s, [](std::string& out, char32_t c) { EncodeUtf8(out, LowerChar(c)); });
}

std::string PyUpper(std::string_view s) {
  return MapChars(s, [](std::string& out, char32_t c) {
    if (c == 0xDF) out += "SS";  // German sharp s upper-cases to "SS" in Python
    else EncodeUtf8(out, UpperChar(c));
  });
}

std::vector<std::string> PySplitLines(std::string_view s, bool keepends) {
  std::vector<std::string> lines;
  size_t start = 0, pos = 0;
  while (pos < s.size()) {
    size_t at = pos;
    char32_t c = DecodeUtf8(s, pos);
    bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 ||
               c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    if (c == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    lines.emplace_back(s.substr(start, (keepends ? pos : at) - start));
    start = pos;
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

// ---- str / repr ---------------------------------------------------------------------------

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.b;
    case Kind::kInt:
      return v.i != 0;
    case Kind::kFloat:
      return v.f != 0.0;
    case Kind::kString:
      return !v.s().empty();
    case Kind::kList:
      return !v.l().items.empty();
    case Kind::kDict:
      return v.d().is_namespace || !v.d().items.empty();
    default:
      return true;
  }
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  bool neg = sci[0] == '-';
  if (neg) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
  int decpt = exp10 + 1;  // position of the decimal point relative to the digits
  std::string out = neg ? "-" : "";
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    out += eb;
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-decpt), '0');
    out += digits;
  } else if (static_cast<size_t>(decpt) >= digits.size()) {
    out += digits;
    out.append(decpt - digits.size(), '0');
    out += ".0";
  } else {
    out += digits.substr(0, decpt);
    out += '.';
    out += digits.substr(decpt);
  }
  return out;
}

namespace {

// Python's str.isprintable() for code points outside ASCII, approximated by the ranges of
// separators, format and control characters that chat text can realistically contain.
bool IsPrintableNonAscii(char32_t c) {
  if (c <= 0xA0 || c == 0xAD) return false;
  if ((c >= 0x600 && c <= 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x180E) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF) return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || (c >= 0xFFF0 && c <= 0xFFFB) || c == 0xFFFE || c == 0xFFFF) return false;
  if ((c >= 0xE0000 && c <= 0xE0FFF) || c >= 0xF0000) return false;
  return true;
}

void AppendStringRepr(std::string& out, const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  out.push_back(quote);
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t c = DecodeUtf8(s, pos);
    char buf[16];
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c < 0x80 || IsPrintableNonAscii(c)) {
      EncodeUtf8(out, c);
    } else if (c <= 0xFF) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c <= 0xFFFF) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out.push_back(quote);
}

}  // namespace

namespace {

void ReprAt(std::string& out, const Value& v, size_t max_bytes, int depth);

void StrAt(std::string& out, const Value& v, size_t max_bytes, int depth);

void CheckPrinted(const std::string& out, size_t max_bytes) {
  if (out.size() > max_bytes) {
    Fail("value too large to print (more than " + std::to_string(max_bytes) + " bytes)", ErrorKind::kLimit);
  }
}

void ReprAt(std::string& out, const Value& v, size_t max_bytes, int depth) {
  if (depth > kMaxJsonDepth) TooDeep("print");
  switch (v.kind) {
    case Kind::kString:
      AppendStringRepr(out, v.s());
      return;
    case Kind::kUndefined:
      out += "Undefined";
      return;
    case Kind::kList: {
      const List& l = v.l();
      out.push_back(l.is_tuple ? '(' : '[');
      for (size_t n = 0; n < l.items.size(); ++n) {
        if (n) out += ", ";
        ReprAt(out, l.items[n], max_bytes, depth + 1);
        CheckPrinted(out, max_bytes);
      }
      if (l.is_tuple && l.items.size() == 1) out.push_back(',');
      out.push_back(l.is_tuple ? ')' : ']');
      return;
    }
    case Kind::kDict: {
      const Dict& d = v.d();
      if (d.is_namespace) out += "<Namespace ";
      out.push_back('{');
      bool first = true;
      for (const auto& [k, val] : d.items) {
        if (!first) out += ", ";
        first = false;
        AppendStringRepr(out, k);
        out += ": ";
        ReprAt(out, val, max_bytes, depth + 1);
        CheckPrinted(out, max_bytes);
      }
      out.push_back('}');
      if (d.is_namespace) out.push_back('>');
      return;
    }
    default:
      StrAt(out, v, max_bytes, depth);
  }
}

void StrAt(std::string& out, const Value& v, size_t max_bytes, int depth) {
  switch (v.kind) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      out += "None";
      return;
    case Kind::kBool:
      out += v.b ? "True" : "False";
      return;
    case Kind::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.i);
      out.append(buf, r.ptr);
      return;
    }
    case Kind::kFloat:
      out += FloatRepr(v.f);
      return;
    case Kind::kString:
      out += v.s();
      return;
    case Kind::kList:
    case Kind::kDict:
      ReprAt(out, v, max_bytes, depth);
      return;
    case Kind::kCallable:
      out += "<function ";
      out += v.c().name;
      out += ">";
      return;
    case Kind::kLoop:
      out += "<LoopContext>";
      return;
  }
}

}  // namespace

void AppendRepr(std::string& out, const Value& v, size_t max_bytes) {
  ReprAt(out, v, max_bytes, 0);
  CheckPrinted(out, max_bytes);
}

void AppendStr(std::string& out, const Value& v, size_t max_bytes) {
  StrAt(out, v, max_bytes, 0);
  CheckPrinted(out, max_bytes);
}

std::string Str(const Value& v) {
  if (v.kind == Kind::kString) return v.s();
  std::string out;
  AppendStr(out, v);
  return out;
}

std::string TypeName(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return v.l().is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return v.d().is_namespace ? "Namespace" : "dict";
    case Kind::kCallable:
      return "function";
    case Kind::kLoop:
      return "LoopContext";
  }
  return "object";
}

std::string TypeDescription(const Value& v) {
  if (v.kind == Kind::kNone) return "None";
  return TypeName(v) + " object";
}

// ---- JSON ---------------------------------------------------------------------------------

Value FromJson(const nlohmann::ordered_json& j, int depth) {
  using T = nlohmann::ordered_json::value_t;
  if (depth > kMaxJsonDepth) TooDeep("bind");
  switch (j.type()) {
    case T::null:
      return Value::None();
    case T::boolean:
      return Value::Bool(j.get<bool>());
    case T::number_integer:
      return Value::Int(j.get<int64_t>());
    case T::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::Int(static_cast<int64_t>(u));
      return Value::Float(static_cast<double>(u));
    }
    case T::number_float:
      return Value::Float(j.get<double>());
    case T::string:
      return Value::String(j.get<std::string>());
    case T::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJson(e, depth + 1));
      return Value::MakeList(std::move(items));
    }
    case T::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) d->Set(it.key(), FromJson(it.value(), depth + 1));
      return Value::MakeDict(std::move(d));
    }
    default:
      return Value::None();
  }
}

namespace {

void DumpJsonString(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  size_t pos = 0;
  char buf[16];
  while (pos < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[pos]);
    if (b >= 0x80) {
      if (!ensure_ascii) {
        out.push_back(static_cast<char>(b));
        ++pos;
        continue;
      }
      char32_t c = DecodeUtf8(s, pos);
      if (c >= 0x10000) {
        char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 | (v >> 10)),
                      static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      }
      out += buf;
      continue;
    }
    ++pos;
    switch (b) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (b < 0x20 || (ensure_ascii && b == 0x7F)) {
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(b));
          out += buf;
        } else {
          out.push_back(static_cast<char>(b));
        }
    }
  }
  out.push_back('"');
}

void NewlineIndent(std::string& out, const JsonOptions& o, int level) {
  out.push_back('\n');
  for (int n = 0; n < level; ++n) out += o.indent;
}

}  // namespace

bool DumpJson(std::string& out, const Value& v, const JsonOptions& o, std::string* error, int depth) {
  if (depth > kMaxJsonDepth) TooDeep("serialise");
  switch (v.kind) {
    case Kind::kNone:
      out += "null";
      return true;
    case Kind::kBool:
      out += v.b ? "true" : "false";
      return true;
    case Kind::kInt:
      AppendStr(out, v);
      return true;
    case Kind::kFloat:
      if (std::isnan(v.f)) {
        out += "NaN";
      } else if (std::isinf(v.f)) {
        out += v.f > 0 ? "Infinity" : "-Infinity";
      } else {
        out += FloatRepr(v.f);
      }
      return true;
    case Kind::kString:
      DumpJsonString(out, v.s(), o.ensure_ascii);
      return true;
    case Kind::kList: {
      const auto& items = v.l().items;
      if (items.empty()) {
        out += "[]";
        return true;
      }
      out.push_back('[');
      for (size_t n = 0; n < items.size(); ++n) {
        if (n) out += o.item_separator;
        if (o.has_indent) NewlineIndent(out, o, depth + 1);
        if (!DumpJson(out, items[n], o, error, depth + 1)) return false;
        CheckPrinted(out, kMaxPrintBytes);
      }
      if (o.has_indent) NewlineIndent(out, o, depth);
      out.push_back(']');
      return true;
    }
    case Kind::kDict: {
      const Dict& d = v.d();
      if (d.is_namespace) break;
      if (d.items.empty()) {
        out += "{}";
        return true;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      entries.reserve(d.items.size());
      for (const auto& e : d.items) entries.push_back(&e);
      if (o.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      out.push_back('{');
      for (size_t n = 0; n < entries.size(); ++n) {
        if (n) out += o.item_separator;
        if (o.has_indent) NewlineIndent(out, o, depth + 1);
        DumpJsonString(out, entries[n]->first, o.ensure_ascii);
        out += o.key_separator;
        if (!DumpJson(out, entries[n]->second, o, error, depth + 1)) return false;
        CheckPrinted(out, kMaxPrintBytes);
      }
      if (o.has_indent) NewlineIndent(out, o, depth);
      out.push_back('}');
      return true;
    }
    default:
      break;
  }
  *error = "Object of type " + TypeName(v) + " is not JSON serializable";
  return false;
}

// ---- equality -----------------------------------------------------------------------------

bool Equal(const Value& a, const Value& b, int depth) {
  if (depth > kMaxJsonDepth) TooDeep("compare");
  if (a.is_number() && b.is_number()) {
    if (a.kind == Kind::kFloat || b.kind == Kind::kFloat) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.ptr == b.ptr || a.s() == b.s();
    case Kind::kList: {
      const List& x = a.l();
      const List& y = b.l();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t n = 0; n < x.items.size(); ++n) {
        if (!Equal(x.items[n], y.items[n], depth + 1)) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const Dict& x = a.d();
      const Dict& y = b.d();
      if (x.is_namespace || y.is_namespace) return a.ptr == b.ptr;
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* o = y.Find(k);
        if (!o || !Equal(v, *o, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.ptr == b.ptr;
  }
}

}  // namespace gemma4::chat
