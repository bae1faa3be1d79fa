// The tests of `x is name` (jinja2/tests.py), resolved by name at parse time like filters.
#include "chat/builtin_support.h"
#include "chat/builtins.h"
#include "chat/interpreter.h"

namespace gemma4::chat {
namespace {

using TestFn = bool (*)(Renderer&, const Value&, CallArgs&);

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

}  // namespace

int FindTest(std::string_view name) {
  for (size_t n = 0; n < std::size(kTests); ++n) {
    if (name == kTests[n].name) return static_cast<int>(n);
  }
  return -1;
}

bool ApplyTest(Renderer& r, int test, const Value& input, CallArgs& args) { return kTests[test].fn(r, input, args); }

}  // namespace gemma4::chat
