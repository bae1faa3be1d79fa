// Python's string formatting as the sandbox allows it: str.format with positional and keyword
// fields (no format specifications), and printf-style `fmt % args`, widths bounded.
#include <algorithm>
#include <cstring>

#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"

namespace gemma4::chat {

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
