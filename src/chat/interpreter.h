// Tree-walking evaluator: renders a Program against variables, enforcing TemplateLimits.
// One Renderer per render call; the Program it reads is shared and never modified.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/runtime.h"
#include "gemma4/chat_template.h"

namespace gemma4::chat {

// Variables of one level: a loop iteration, a macro call, a with block, or the template root.
struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<int, Value>> vars;

  Value* FindLocal(int symbol) {
    for (auto& [s, v] : vars) {
      if (s == symbol) return &v;
    }
    return nullptr;
  }
  void Set(int symbol, Value value) {
    if (Value* v = FindLocal(symbol)) {
      *v = std::move(value);
    } else {
      vars.emplace_back(symbol, std::move(value));
    }
  }
};
using ScopePtr = std::shared_ptr<Scope>;

struct MacroCallable;

class Renderer {
 public:
  Renderer(const Program& program, const TemplateLimits& limits) : program_(program), limits_(limits) {}

  // Renders with `variables` (a JSON object) bound at the root; returns the text.
  std::string Render(const nlohmann::ordered_json& variables);

  Value Eval(const Expr& e, Scope& scope);
  Value CallValue(const Value& fn, CallArgs& args, size_t offset);
  Value CallMacro(const MacroCallable& macro, CallArgs& args);

  // Work budget: every loop iteration, macro call and element touched by a filter costs one.
  void Charge(uint64_t n) {
    ops_ += n;
    if (ops_ > limits_.max_operations) {
      Fail("template exceeded the operation limit (" + std::to_string(limits_.max_operations) + ")",
           ErrorKind::kLimit);
    }
  }
  // Size guard for every string or list the template builds.
  void CheckSize(size_t n) const {
    if (n > limits_.max_output_bytes) {
      Fail("template output or value exceeds the size limit (" + std::to_string(limits_.max_output_bytes) +
               " bytes)",
           ErrorKind::kLimit);
    }
  }
  // Size guard for a list of `items` values, each owning `extra` bytes besides itself.
  void CheckListSize(size_t items, size_t extra = 0) const {
    const size_t each = sizeof(Value) + extra;
    if (items > limits_.max_output_bytes / each) CheckSize(SIZE_MAX);
    CheckSize(items * each);
  }
  const Program& program() const { return program_; }
  // Python's a <op> b for arithmetic operators.
  Value BinaryOp(BinOp op, const Value& a, const Value& b);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow Exec(const Body& body, const ScopePtr& scope, std::string& out);
  Flow ExecStmt(const Stmt& s, const ScopePtr& scope, std::string& out);
  void ExecFor(const Stmt& s, const ScopePtr& scope, std::string& out, const Value& iterable, int64_t depth0);
  void Assign(const Target& t, Value v, Scope& scope, size_t offset);
  Value Lookup(const Expr& e, Scope& scope);
  Value EvalInner(const Expr& e, Scope& scope);
  void EvalArgs(const Args& a, Scope& scope, CallArgs& out);
  void Append(std::string& out, std::string_view text) {
    CheckSize(out.size() + text.size());
    out.append(text);
  }

  friend struct RecursiveLoop;
  friend struct MacroCallable;

  const Program& program_;
  const TemplateLimits& limits_;
  uint64_t ops_ = 0;
  int depth_ = 0;
  int call_depth_ = 0;
  const Value* block_input_ = nullptr;
};

struct MacroCallable : Callable {
  const MacroDef* def = nullptr;
  ScopePtr closure;
  Value caller;  // for {% call %}: the caller() passed to the macro
  Value Call(Renderer& r, CallArgs& args) const override { return r.CallMacro(*this, args); }
};

}  // namespace gemma4::chat
