// Syntax tree of a parsed template. Immutable after parsing, so one tree serves any number of
// concurrent renders.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/value.h"

namespace gemma4::chat {

enum class ExprKind : uint8_t {
  kConst,      // value
  kName,       // name (symbol)
  kList,       // kids
  kTuple,      // kids
  kDict,       // kids = k0, v0, k1, v1...
  kGetattr,    // kids[0] . name
  kGetitem,    // kids[0] [ kids[1] ]
  kSlice,      // kids[0] [ kids[1] : kids[2] : kids[3] ] (null kid = omitted)
  kCall,       // kids[0] ( args )
  kFilter,     // name ( kids[0] | args )   kids[0] may be kBlockInput
  kTest,       // kids[0] is name args      (negated)
  kNeg,
  kPos,
  kNot,
  kAnd,
  kOr,
  kBinary,     // op, kids[0], kids[1]
  kConcat,     // kids joined with ~
  kCompare,    // kids[0] op0 kids[1] op1 kids[2] ...
  kCondExpr,   // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  kBlockInput, // the captured body of {% filter %} / {% set x | f %}
};

enum class BinOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// Positional and keyword arguments of a call, filter or test, plus *args / **kwargs.
struct Args {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
  ExprPtr star;
  ExprPtr star_star;
};

struct Expr {
  ExprKind kind;
  uint32_t offset = 0;
  union {
    BinOp bin;
    bool negated;
  };
  int symbol = -1;             // kName: index into Program::symbols
  int builtin = -1;            // kFilter / kTest / kGetattr: resolved filter, test or method, -1 when none
  std::string name;            // kName, kGetattr, kFilter, kTest
  Value value;                 // kConst
  std::vector<ExprPtr> kids;
  std::vector<CmpOp> ops;      // kCompare
  std::unique_ptr<Args> args;  // kCall, kFilter, kTest

  Expr(ExprKind k, uint32_t off) : kind(k), offset(off), bin(BinOp::kAdd) {}
};

enum class StmtKind : uint8_t {
  kOutput,    // text
  kPrint,     // expr
  kIf,        // conds[i] -> bodies[i]; else_body
  kFor,       // target, iter, cond, body, else_body, recursive
  kSet,       // target = expr
  kSetBlock,  // target = render(body) | filter
  kMacro,     // name(params=defaults) body
  kCallBlock, // call expr with caller(params) = body
  kFilterBlock,
  kWith,
  kBreak,
  kContinue,
  kScope,     // body in its own scope ({% generation %} and friends render their body)
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Assignment target: a name, a namespace attribute (ns.attr) or a tuple of names.
struct Target {
  std::vector<int> symbols;      // one, or several for tuple unpacking
  std::vector<std::string> names;
  bool tuple = false;
  std::string attribute;         // non-empty: `symbols[0].attribute`
};

struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<int> param_symbols;
  std::vector<ExprPtr> defaults;  // aligned to the last params
  bool uses_varargs = false, uses_kwargs = false, uses_caller = false;
  Body body;
};

struct Stmt {
  StmtKind kind;
  uint32_t offset = 0;
  std::string text;              // kOutput
  ExprPtr expr;                  // kPrint, kSet, kFor (iter), kCallBlock (call), filters
  ExprPtr cond;                  // kFor filter
  std::vector<ExprPtr> conds;    // kIf
  std::vector<Body> bodies;      // kIf
  Body body, else_body;
  Target target;
  bool recursive = false;
  std::shared_ptr<MacroDef> macro;  // kMacro, kCallBlock (the caller)
  std::vector<Target> with_targets;
  std::vector<ExprPtr> with_values;
  int loop_symbol = -1;

  Stmt(StmtKind k, uint32_t off) : kind(k), offset(off) {}
};

struct Program {
  std::string source;  // normalized source, for line:column in messages
  std::string origin;
  std::vector<std::string> symbols;
  std::unordered_map<std::string, int> symbol_ids;
  Body body;
};

}  // namespace gemma4::chat
