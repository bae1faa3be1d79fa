// Evaluator: statements write into an output string, expressions produce Values, with jinja2's
// scoping (for/macro/with bodies get their own scope, if does not; each loop iteration starts
// from the enclosing values) and Python operator semantics.
#include "chat/interpreter.h"

#include <cmath>

#include "chat/builtin_support.h"
#include "chat/builtins.h"

namespace gemma4::chat {
namespace {

// Each level is a few frames of Eval/ExecStmt; 1000 levels stay far inside an 8 MiB stack even
// with AddressSanitizer's larger frames (3000 did not).
constexpr int kMaxEvalDepth = 1000;

// Clears a scope's variables when the construct that owns it ends, so that macros captured in
// it (which hold the scope) do not keep a reference cycle alive.
struct ScopeClearer {
  explicit ScopeClearer(Scope& s) : scope(s) {}
  ~ScopeClearer() { scope.vars.clear(); }
  Scope& scope;
};

struct DepthGuard {
  DepthGuard(int& d, int limit, const char* what) : depth(d) {
    if (++depth > limit) {
      --depth;
      Fail(std::string(what), ErrorKind::kLimit);
    }
  }
  ~DepthGuard() { --depth; }
  int& depth;
};

[[noreturn]] void BinaryTypeError(const char* op, const Value& a, const Value& b) {
  Fail(std::string("unsupported operand type(s) for ") + op + ": '" + TypeName(a) + "' and '" + TypeName(b) + "'");
}

double PyFloorMod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

}  // namespace

// ---- statements ---------------------------------------------------------------------------

std::string Renderer::Render(const nlohmann::ordered_json& variables) {
  auto root = std::make_shared<Scope>();
  ScopeClearer clear_root(*root);
  if (variables.is_object()) {
    for (auto it = variables.begin(); it != variables.end(); ++it) {
      auto sym = program_.symbol_ids.find(it.key());
      if (sym == program_.symbol_ids.end()) continue;  // never referenced by the template
      root->Set(sym->second, FromJson(it.value()));
    }
  }
  std::string out;
  Exec(program_.body, root, out);
  return out;
}

Renderer::Flow Renderer::Exec(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = ExecStmt(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Renderer::Flow Renderer::ExecStmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
  DepthGuard guard(depth_, kMaxEvalDepth, "template recursion too deep");
  try {
    switch (s.kind) {
      case StmtKind::kOutput:
        Append(out, s.text);
        return Flow::kNormal;
      case StmtKind::kPrint: {
        Value v = Eval(*s.expr, *scope);
        if (v.kind == Kind::kString) {
          Append(out, v.s());
        } else {
          std::string text;
          AppendStr(text, v, limits_.max_output_bytes);
          Append(out, text);
        }
        return Flow::kNormal;
      }
      case StmtKind::kIf:
        for (size_t n = 0; n < s.conds.size(); ++n) {
          if (Truthy(Eval(*s.conds[n], *scope))) return Exec(s.bodies[n], scope, out);
        }
        return Exec(s.else_body, scope, out);
      case StmtKind::kFor:
        ExecFor(s, scope, out, Eval(*s.expr, *scope), 0);
        return Flow::kNormal;
      case StmtKind::kSet:
        Assign(s.target, Eval(*s.expr, *scope), *scope, s.offset);
        return Flow::kNormal;
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        ScopeClearer clear(*inner);
        std::string text;
        Exec(s.body, inner, text);
        Value v = Value::String(std::move(text));
        if (s.expr) {
          const Value* saved = block_input_;
          block_input_ = &v;
          Value filtered = Eval(*s.expr, *scope);
          block_input_ = saved;
          v = std::move(filtered);
        }
        if (s.kind == StmtKind::kSetBlock) {
          Assign(s.target, std::move(v), *scope, s.offset);
        } else {
          std::string text2;
          AppendStr(text2, v);
          Append(out, text2);
        }
        return Flow::kNormal;
      }
      case StmtKind::kMacro: {
        auto m = std::make_shared<MacroCallable>();
        m->name = s.macro->name;
        m->def = s.macro.get();
        m->closure = scope;
        scope->Set(s.target.symbols[0], Value::MakeCallable(std::move(m)));
        return Flow::kNormal;
      }
      case StmtKind::kCallBlock: {
        auto caller = std::make_shared<MacroCallable>();
        caller->name = "caller";
        caller->def = s.macro.get();
        caller->closure = scope;
        const Expr& call = *s.expr;
        Value fn = Eval(*call.kids[0], *scope);
        CallArgs args;
        EvalArgs(*call.args, *scope, args);
        args.keyword.emplace_back("caller", Value::MakeCallable(std::move(caller)));
        Value result = CallValue(fn, args, call.offset);
        std::string text;
        AppendStr(text, result);
        Append(out, text);
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        ScopeClearer clear(*inner);
        std::vector<Value> values;
        for (const auto& v : s.with_values) values.push_back(Eval(*v, *scope));
        for (size_t n = 0; n < values.size(); ++n) Assign(s.with_targets[n], std::move(values[n]), *inner, s.offset);
        return Exec(s.body, inner, out);
      }
      case StmtKind::kScope: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        ScopeClearer clear(*inner);
        return Exec(s.body, inner, out);
      }
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
    }
  } catch (TemplateError& e) {
    if (e.offset == kNoOffset) e.offset = s.offset;
    throw;
  }
  return Flow::kNormal;
}

void Renderer::ExecFor(const Stmt& s, const ScopePtr& scope, std::string& out, const Value& iterable, int64_t depth0) {
  std::shared_ptr<const List> items = Iterate(*this, iterable);
  auto inner = std::make_shared<Scope>();
  inner->parent = scope;
  ScopeClearer clear(*inner);
  if (s.cond) {  // `for x in xs if cond`: filter first, so loop.length counts what is kept
    std::vector<Value> kept;
    for (const Value& item : items->items) {
      Charge(1);
      inner->vars.clear();
      Assign(s.target, item, *inner, s.offset);
      if (Truthy(Eval(*s.cond, *inner))) kept.push_back(item);
    }
    items = std::static_pointer_cast<const List>(Value::MakeList(std::move(kept)).ptr);
  }
  if (items->items.empty()) {
    inner->vars.clear();
    Exec(s.else_body, inner, out);
    return;
  }
  auto state = std::make_shared<LoopState>();
  state->items = items;
  state->depth0 = depth0;
  if (s.recursive) {
    state->recursive_for = &s;
    state->scope = scope;
  }
  Value loop_value = Value::MakeLoop(state);
  const size_t n = items->items.size();
  for (size_t k = 0; k < n; ++k) {
    Charge(1);
    inner->vars.clear();
    state->index0 = static_cast<int64_t>(k);
    Assign(s.target, items->items[k], *inner, s.offset);
    inner->Set(s.loop_symbol, loop_value);
    if (Exec(s.body, inner, out) == Flow::kBreak) break;
  }
  state->scope.reset();
}

void Renderer::Assign(const Target& t, Value v, Scope& scope, size_t offset) {
  if (!t.attribute.empty()) {
    Value* ns = nullptr;
    for (Scope* sc = &scope; sc && !ns; sc = sc->parent.get()) ns = sc->FindLocal(t.symbols[0]);
    if (!ns || ns->kind != Kind::kDict || !ns->d().is_namespace) {
      Fail("cannot assign attribute on non-namespace object");
    }
    // A namespace that holds itself (directly or through lists and dicts) could never be freed
    // and would print forever; jinja2 allows it, we refuse it where it is made.
    uint64_t budget = limits_.max_operations;
    if (Reaches(v, ns->ptr.get(), budget)) {
      Fail("cannot store a value that contains namespace '" + t.names[0] + "' in its own attribute '" +
           t.attribute + "' (a cycle)");
    }
    Charge(limits_.max_operations - budget);
    ns->d().Set(t.attribute, std::move(v));
    return;
  }
  if (!t.tuple) {
    scope.Set(t.symbols[0], std::move(v));
    return;
  }
  std::shared_ptr<const List> parts = Iterate(*this, v);
  if (parts->items.size() != t.symbols.size()) {
    if (parts->items.size() > t.symbols.size()) {
      Fail("too many values to unpack (expected " + std::to_string(t.symbols.size()) + ")");
    }
    Fail("not enough values to unpack (expected " + std::to_string(t.symbols.size()) + ", got " +
         std::to_string(parts->items.size()) + ")");
  }
  for (size_t n = 0; n < t.symbols.size(); ++n) scope.Set(t.symbols[n], parts->items[n]);
}

// ---- calls --------------------------------------------------------------------------------

Value Renderer::CallMacro(const MacroCallable& macro, CallArgs& args) {
  DepthGuard guard(call_depth_, limits_.max_call_depth, "macro calls nested too deeply");
  Charge(1);
  const MacroDef& def = *macro.def;
  auto scope = std::make_shared<Scope>();
  scope->parent = macro.closure;
  ScopeClearer clear(*scope);
  const size_t nparams = def.params.size();
  const size_t first_default = nparams - def.defaults.size();
  std::vector<bool> bound(nparams, false);
  for (size_t n = 0; n < nparams && n < args.positional.size(); ++n) {
    scope->Set(def.param_symbols[n], args.positional[n]);
    bound[n] = true;
  }
  auto extra_kwargs = std::make_shared<Dict>();
  Value caller = macro.caller;
  for (auto& [key, value] : args.keyword) {
    bool matched = false;
    for (size_t n = 0; n < nparams; ++n) {
      if (def.params[n] == key) {
        if (bound[n]) Fail("macro '" + def.name + "' got multiple values for argument '" + key + "'");
        scope->Set(def.param_symbols[n], value);
        bound[n] = true;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (key == "caller" && def.uses_caller) {
      caller = value;
    } else if (def.uses_kwargs) {
      extra_kwargs->Set(key, value);
    } else {
      Fail("macro '" + def.name + "' takes no keyword argument '" + key + "'");
    }
  }
  for (size_t n = 0; n < nparams; ++n) {
    if (bound[n]) continue;
    if (n >= first_default) {
      scope->Set(def.param_symbols[n], Eval(*def.defaults[n - first_default], *scope));
    } else {
      scope->Set(def.param_symbols[n], Value::Undefined(Hint("parameter '" + def.params[n] + "' was not provided")));
    }
  }
  if (args.positional.size() > nparams) {
    if (!def.uses_varargs) {
      Fail("macro '" + def.name + "' takes not more than " + std::to_string(nparams) + " argument(s)");
    }
  }
  auto sym = [&](const char* name) {
    auto it = program_.symbol_ids.find(name);
    return it == program_.symbol_ids.end() ? -1 : it->second;
  };
  if (def.uses_varargs) {
    std::vector<Value> rest;
    for (size_t n = nparams; n < args.positional.size(); ++n) rest.push_back(args.positional[n]);
    scope->Set(sym("varargs"), Value::MakeList(std::move(rest), true));
  }
  if (def.uses_kwargs) scope->Set(sym("kwargs"), Value::MakeDict(extra_kwargs));
  if (def.uses_caller) {
    scope->Set(sym("caller"), caller.is_undefined() ? Value::Undefined(Hint("No caller defined")) : caller);
  }
  std::string out;
  Exec(def.body, scope, out);
  return Value::String(std::move(out));
}

Value Renderer::CallValue(const Value& fn, CallArgs& args, size_t offset) {
  if (fn.kind == Kind::kCallable) return fn.c().Call(*this, args);
  if (fn.kind == Kind::kLoop) {
    LoopState& state = fn.loop();
    if (!state.recursive_for || !state.scope) Fail("Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.");
    if (args.positional.size() != 1) Fail("loop() takes exactly one argument");
    DepthGuard guard(call_depth_, limits_.max_call_depth, "recursive loop nested too deeply");
    std::string out;
    ExecFor(*state.recursive_for, state.scope, out, args.positional[0], state.depth0 + 1);
    return Value::String(std::move(out));
  }
  if (fn.is_undefined()) RaiseUndefined(fn);
  Fail("'" + TypeName(fn) + "' object is not callable");
}

void Renderer::EvalArgs(const Args& a, Scope& scope, CallArgs& out) {
  out.positional.reserve(a.positional.size());
  for (const auto& p : a.positional) out.positional.push_back(Eval(*p, scope));
  for (const auto& [k, v] : a.keyword) out.keyword.emplace_back(k, Eval(*v, scope));
  if (a.star) {
    Value v = Eval(*a.star, scope);
    auto items = Iterate(*this, v);
    for (const Value& item : items->items) out.positional.push_back(item);
  }
  if (a.star_star) {
    Value v = Eval(*a.star_star, scope);
    if (v.kind != Kind::kDict || v.d().is_namespace) Fail("argument after ** must be a mapping");
    for (const auto& [k, val] : v.d().items) out.keyword.emplace_back(k, val);
  }
}

// ---- expressions --------------------------------------------------------------------------

Value Renderer::Lookup(const Expr& e, Scope& scope) {
  for (Scope* s = &scope; s; s = s->parent.get()) {
    for (auto& [sym, v] : s->vars) {
      if (sym == e.symbol) return v;
    }
  }
  Value g;
  if (FindGlobal(e.name, &g)) return g;
  return Value::Undefined(Hint("'" + e.name + "' is undefined"));
}

Value Renderer::Eval(const Expr& e, Scope& scope) {
  if (e.kind == ExprKind::kConst) return e.value;
  DepthGuard guard(depth_, kMaxEvalDepth, "template recursion too deep");
  try {
    return EvalInner(e, scope);
  } catch (TemplateError& err) {
    if (err.offset == kNoOffset) err.offset = e.offset;
    throw;
  }
}

Value Renderer::EvalInner(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case ExprKind::kConst:
      return e.value;
    case ExprKind::kName:
      return Lookup(e, scope);
    case ExprKind::kBlockInput:
      return block_input_ ? *block_input_ : Value();
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.kids.size());
      for (const auto& k : e.kids) items.push_back(Eval(*k, scope));
      return Value::MakeList(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<Dict>();
      for (size_t n = 0; n + 1 < e.kids.size(); n += 2) {
        Value k = Eval(*e.kids[n], scope);
        if (k.kind != Kind::kString) Fail("only string keys are supported in dict literals", ErrorKind::kUnsupported);
        d->Set(k.s(), Eval(*e.kids[n + 1], scope));
      }
      return Value::MakeDict(std::move(d));
    }
    case ExprKind::kGetattr: {
      Value obj = Eval(*e.kids[0], scope);
      if (obj.is_undefined()) RaiseUndefined(obj);
      return GetAttr(obj, e.name, e.builtin);
    }
    case ExprKind::kGetitem: {
      Value obj = Eval(*e.kids[0], scope);
      if (obj.is_undefined()) RaiseUndefined(obj);
      return GetItem(obj, Eval(*e.kids[1], scope));
    }
    case ExprKind::kSlice: {
      Value obj = Eval(*e.kids[0], scope);
      if (obj.is_undefined()) RaiseUndefined(obj);
      Value parts[3];
      for (int n = 0; n < 3; ++n) parts[n] = e.kids[n + 1] ? Eval(*e.kids[n + 1], scope) : Value::None();
      return Slice(obj, parts[0], parts[1], parts[2]);
    }
    case ExprKind::kCall: {
      const Expr& callee = *e.kids[0];
      CallArgs args;
      if (callee.kind == ExprKind::kGetattr) {
        Value obj = Eval(*callee.kids[0], scope);
        if (obj.is_undefined()) RaiseUndefined(obj);
        EvalArgs(*e.args, scope, args);
        Value result;
        if (CallMethod(*this, obj, callee.builtin, args, &result)) return result;
        return CallValue(GetAttr(obj, callee.name, callee.builtin), args, e.offset);
      }
      Value fn = Eval(callee, scope);
      EvalArgs(*e.args, scope, args);
      return CallValue(fn, args, e.offset);
    }
    case ExprKind::kFilter: {
      Value input = Eval(*e.kids[0], scope);
      if (e.builtin < 0) Fail("No filter named '" + e.name + "'.");
      CallArgs args;
      EvalArgs(*e.args, scope, args);
      return ApplyFilter(*this, e.builtin, input, args);
    }
    case ExprKind::kTest: {
      Value input = Eval(*e.kids[0], scope);
      if (e.builtin < 0) Fail("No test named '" + e.name + "'.");
      CallArgs args;
      EvalArgs(*e.args, scope, args);
      return Value::Bool(ApplyTest(*this, e.builtin, input, args));
    }
    case ExprKind::kNot:
      return Value::Bool(!Truthy(Eval(*e.kids[0], scope)));
    case ExprKind::kAnd: {
      Value a = Eval(*e.kids[0], scope);
      if (!Truthy(a)) return a;
      return Eval(*e.kids[1], scope);
    }
    case ExprKind::kOr: {
      Value a = Eval(*e.kids[0], scope);
      if (Truthy(a)) return a;
      return Eval(*e.kids[1], scope);
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      Value a = Eval(*e.kids[0], scope);
      if (a.is_undefined()) RaiseUndefined(a);
      if (!a.is_number()) {
        Fail(std::string("bad operand type for unary ") + (e.kind == ExprKind::kNeg ? "-" : "+") + ": '" +
             TypeName(a) + "'");
      }
      if (e.kind == ExprKind::kPos) return a.kind == Kind::kFloat ? a : Value::Int(a.as_int());
      if (a.kind == Kind::kFloat) return Value::Float(-a.f);
      if (a.as_int() == INT64_MIN) Fail("integer overflow", ErrorKind::kUnsupported);
      return Value::Int(-a.as_int());
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& k : e.kids) {
        Value v = Eval(*k, scope);
        AppendStr(s, v);
        CheckSize(s.size());
      }
      Charge(s.size() / 64);
      return Value::String(std::move(s));
    }
    case ExprKind::kCompare: {
      Value left = Eval(*e.kids[0], scope);
      for (size_t n = 0; n < e.ops.size(); ++n) {
        Value right = Eval(*e.kids[n + 1], scope);
        bool ok;
        switch (e.ops[n]) {
          case CmpOp::kEq:
            ok = Equal(left, right);
            break;
          case CmpOp::kNe:
            ok = !Equal(left, right);
            break;
          case CmpOp::kLt:
            ok = Compare(left, right) < 0;
            break;
          case CmpOp::kLe:
            ok = Compare(left, right) <= 0;
            break;
          case CmpOp::kGt:
            ok = Compare(left, right) > 0;
            break;
          case CmpOp::kGe:
            ok = Compare(left, right) >= 0;
            break;
          case CmpOp::kIn:
            ok = Contains(right, left);
            break;
          case CmpOp::kNotIn:
            ok = !Contains(right, left);
            break;
        }
        if (!ok) return Value::Bool(false);
        left = std::move(right);
      }
      return Value::Bool(true);
    }
    case ExprKind::kCondExpr: {
      if (Truthy(Eval(*e.kids[0], scope))) return Eval(*e.kids[1], scope);
      if (e.kids[2]) return Eval(*e.kids[2], scope);
      return Value::Undefined(
          Hint("the inline if-expression evaluated to false and no else section was defined."));
    }
    case ExprKind::kBinary: {
      Value a = Eval(*e.kids[0], scope);
      Value b = Eval(*e.kids[1], scope);
      if (a.is_undefined()) RaiseUndefined(a);
      if (b.is_undefined()) RaiseUndefined(b);
      return BinaryOp(e.bin, a, b);
    }
  }
  return Value();
}

Value Renderer::BinaryOp(BinOp op, const Value& a, const Value& b) {
  static const char* kNames[] = {"+", "-", "*", "/", "//", "%", "** or pow()"};
  const char* name = kNames[static_cast<int>(op)];
  if (a.is_number() && b.is_number()) {
    bool ints = a.kind != Kind::kFloat && b.kind != Kind::kFloat;
    if (ints) {
      int64_t x = a.as_int(), y = b.as_int(), r = 0;
      switch (op) {
        case BinOp::kAdd:
          if (__builtin_add_overflow(x, y, &r)) Fail("integer overflow", ErrorKind::kUnsupported);
          return Value::Int(r);
        case BinOp::kSub:
          if (__builtin_sub_overflow(x, y, &r)) Fail("integer overflow", ErrorKind::kUnsupported);
          return Value::Int(r);
        case BinOp::kMul:
          if (__builtin_mul_overflow(x, y, &r)) Fail("integer overflow", ErrorKind::kUnsupported);
          return Value::Int(r);
        case BinOp::kDiv:
          if (y == 0) Fail("division by zero");
          return Value::Float(static_cast<double>(x) / static_cast<double>(y));
        case BinOp::kFloorDiv: {
          if (y == 0) Fail("integer division or modulo by zero");
          if (x == INT64_MIN && y == -1) Fail("integer overflow", ErrorKind::kUnsupported);
          int64_t q = x / y;
          if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
          return Value::Int(q);
        }
        case BinOp::kMod: {
          if (y == 0) Fail("integer division or modulo by zero");
          if (y == -1) return Value::Int(0);
          int64_t m = x % y;
          if (m != 0 && ((m < 0) != (y < 0))) m += y;
          return Value::Int(m);
        }
        case BinOp::kPow: {
          if (y < 0) return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
          int64_t result = 1, base = x;
          int64_t e = y;
          while (e > 0) {
            if (e & 1) {
              if (__builtin_mul_overflow(result, base, &result)) Fail("integer overflow", ErrorKind::kUnsupported);
            }
            e >>= 1;
            if (e > 0 && __builtin_mul_overflow(base, base, &base)) {
              if (x != 0 && x != 1 && x != -1) Fail("integer overflow", ErrorKind::kUnsupported);
            }
          }
          return Value::Int(result);
        }
      }
    }
    double x = a.as_double(), y = b.as_double();
    switch (op) {
      case BinOp::kAdd:
        return Value::Float(x + y);
      case BinOp::kSub:
        return Value::Float(x - y);
      case BinOp::kMul:
        return Value::Float(x * y);
      case BinOp::kDiv:
        if (y == 0) Fail("float division by zero");
        return Value::Float(x / y);
      case BinOp::kFloorDiv:
        if (y == 0) Fail("float floor division by zero");
        return Value::Float(std::floor(x / y));
      case BinOp::kMod:
        if (y == 0) Fail("float modulo");
        return Value::Float(PyFloorMod(x, y));
      case BinOp::kPow:
        if (x == 0 && y < 0) Fail("0.0 cannot be raised to a negative power");
        return Value::Float(std::pow(x, y));
    }
  }
  if (op == BinOp::kAdd) {
    if (a.kind == Kind::kString && b.kind == Kind::kString) {
      CheckSize(a.s().size() + b.s().size());
      Charge((a.s().size() + b.s().size()) / 64);
      std::string s;
      s.reserve(a.s().size() + b.s().size());
      s += a.s();
      s += b.s();
      return Value::String(std::move(s));
    }
    if (a.kind == Kind::kList && b.kind == Kind::kList && a.l().is_tuple == b.l().is_tuple) {
      CheckListSize(a.l().items.size() + b.l().items.size());
      Charge(a.l().items.size() + b.l().items.size());
      std::vector<Value> items = a.l().items;
      items.insert(items.end(), b.l().items.begin(), b.l().items.end());
      return Value::MakeList(std::move(items), a.l().is_tuple);
    }
    if (a.kind == Kind::kString) Fail("can only concatenate str (not \"" + TypeName(b) + "\") to str");
    if (a.kind == Kind::kList) {
      Fail("can only concatenate " + TypeName(a) + " (not \"" + TypeName(b) + "\") to " + TypeName(a));
    }
  }
  if (op == BinOp::kMul) {
    const Value* seq = a.is_integral() ? &b : &a;
    const Value* count = a.is_integral() ? &a : &b;
    if (count->is_integral() && (seq->kind == Kind::kString || seq->kind == Kind::kList)) {
      int64_t times = std::max<int64_t>(0, count->as_int());
      size_t unit = seq->kind == Kind::kString ? seq->s().size() : seq->l().items.size();
      if (unit == 0 || times == 0) {
        return seq->kind == Kind::kString ? Value::String(std::string()) : Value::MakeList({}, seq->l().is_tuple);
      }
      // In bytes: a list item is a whole Value, so [0] * N costs N * sizeof(Value), not N.
      const size_t unit_bytes = seq->kind == Kind::kString ? unit : unit * sizeof(Value);
      if (static_cast<uint64_t>(times) > limits_.max_output_bytes / unit_bytes) CheckSize(SIZE_MAX);
      CheckSize(unit_bytes * times);
      Charge(unit * times / 64);
      if (seq->kind == Kind::kString) {
        std::string s;
        s.reserve(unit * times);
        for (int64_t n = 0; n < times; ++n) s += seq->s();
        return Value::String(std::move(s));
      }
      std::vector<Value> items;
      items.reserve(unit * times);
      for (int64_t n = 0; n < times; ++n) items.insert(items.end(), seq->l().items.begin(), seq->l().items.end());
      return Value::MakeList(std::move(items), seq->l().is_tuple);
    }
  }
  if (op == BinOp::kMod && a.kind == Kind::kString) return PercentFormat(*this, a.s(), b);
  BinaryTypeError(name, a, b);
}

}  // namespace gemma4::chat
