// Jinja parser: tokens -> syntax tree. Grammar and error wording follow jinja2/parser.py.
#include "chat/parser.h"

#include <algorithm>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/lexer.h"
#include "chat/runtime.h"

namespace gemma4::chat {
namespace {

constexpr int kMaxNesting = 200;

class Parser {
 public:
  Parser(std::vector<Token> tokens, Program& program) : toks_(std::move(tokens)), prog_(program) {}

  Body ParseTemplate() {
    Body body = Subparse({});
    if (Cur().type != Tok::kEof) FailHere("unexpected token");
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& Cur() const { return toks_[pos_]; }
  const Token& Look() const { return toks_[std::min(pos_ + 1, toks_.size() - 1)]; }
  void Next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool IsOp(const char* op) const { return Cur().type == Tok::kOp && Cur().text == op; }
  bool IsName(const char* name) const { return Cur().type == Tok::kName && Cur().text == name; }
  bool SkipOp(const char* op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(const char* name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.type) {
      case Tok::kData:
        return "template data";
      case Tok::kVarBegin:
        return "begin of print statement";
      case Tok::kVarEnd:
        return "end of print statement";
      case Tok::kBlockBegin:
        return "begin of statement block";
      case Tok::kBlockEnd:
        return "end of statement block";
      case Tok::kString:
        return "string";
      case Tok::kInt:
        return "integer";
      case Tok::kFloat:
        return "float";
      case Tok::kEof:
        return "end of template";
      default:
        return t.text;
    }
  }

  [[noreturn]] void FailHere(const std::string& message) {
    if (Cur().type == Tok::kEof) FailAt(Cur().offset, "unexpected end of template (" + message + ")");
    FailAt(Cur().offset, message + ", got '" + Describe(Cur()) + "'");
  }

  void ExpectOp(const char* op) {
    if (!SkipOp(op)) FailHere(std::string("expected token '") + op + "'");
  }
  void ExpectBlockEnd() {
    if (Cur().type != Tok::kBlockEnd) FailHere("expected token 'end of statement block'");
    Next();
  }
  std::string ExpectNameToken() {
    if (Cur().type != Tok::kName) FailHere("expected token 'name'");
    std::string n = Cur().text;
    Next();
    return n;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting) {
        FailAt(p_.Cur().offset, "template nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)",
               ErrorKind::kLimit);
      }
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  int Symbol(const std::string& name) {
    auto it = symbol_index_.find(name);
    if (it != symbol_index_.end()) return it->second;
    int id = static_cast<int>(prog_.symbols.size());
    prog_.symbols.push_back(name);
    symbol_index_.emplace(name, id);
    return id;
  }

  ExprPtr Make(ExprKind kind, uint32_t offset) { return std::make_unique<Expr>(kind, offset); }

  // ---- statements ----
  using EndSet = std::vector<const char*>;

  bool AtEnd(const EndSet& ends) const {
    if (Cur().type != Tok::kBlockBegin || pos_ + 1 >= toks_.size()) return false;
    const Token& t = toks_[pos_ + 1];
    if (t.type != Tok::kName) return false;
    return std::any_of(ends.begin(), ends.end(), [&](const char* e) { return t.text == e; });
  }

  // Parses until a {% end %} tag listed in `ends`; leaves the stream at that tag's name.
  Body Subparse(const EndSet& ends) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = Cur();
      if (t.type == Tok::kEof) {
        if (!ends.empty()) {
          std::string expected;
          for (const char* e : ends) expected += (expected.empty() ? "'" : " or '") + std::string(e) + "'";
          FailAt(t.offset, "Unexpected end of template. Jinja was looking for the following tags: " + expected + ".");
        }
        return body;
      }
      if (t.type == Tok::kData) {
        auto s = std::make_unique<Stmt>(StmtKind::kOutput, t.offset);
        s->text = t.text;
        body.push_back(std::move(s));
        Next();
      } else if (t.type == Tok::kVarBegin) {
        auto s = std::make_unique<Stmt>(StmtKind::kPrint, t.offset);
        Next();
        s->expr = ParseTuple(false, true, {}, false);
        if (Cur().type != Tok::kVarEnd) FailHere("expected token 'end of print statement'");
        Next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::kBlockBegin) {
        if (AtEnd(ends)) {
          Next();  // onto the end tag's name
          return body;
        }
        Next();
        body.push_back(ParseStatement());
      } else {
        FailHere("unexpected token");
      }
    }
  }

  // After Subparse returned at an end tag: consume the name and the block end.
  void ConsumeEnd(const char* name) {
    if (!SkipName(name)) FailHere(std::string("expected '") + name + "'");
    ExpectBlockEnd();
  }

  StmtPtr ParseStatement() {
    if (Cur().type != Tok::kName) FailHere("tag name expected");
    std::string tag = Cur().text;
    uint32_t off = Cur().offset;
    if (tag == "for") return ParseFor();
    if (tag == "if") return ParseIf();
    if (tag == "set") return ParseSet();
    if (tag == "macro") return ParseMacro();
    if (tag == "call") return ParseCallBlock();
    if (tag == "filter") return ParseFilterBlock();
    if (tag == "with") return ParseWith();
    if (tag == "print") {
      Next();
      auto s = std::make_unique<Stmt>(StmtKind::kPrint, off);
      s->expr = ParseTuple(false, true, {}, false);
      ExpectBlockEnd();
      return s;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) FailAt(off, "'" + tag + "' outside of a loop");
      Next();
      ExpectBlockEnd();
      return std::make_unique<Stmt>(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, off);
    }
    if (tag == "generation") {  // transformers' AssistantTracker extension: renders its body
      Next();
      ExpectBlockEnd();
      auto s = std::make_unique<Stmt>(StmtKind::kScope, off);
      s->body = Subparse({"endgeneration"});
      ConsumeEnd("endgeneration");
      return s;
    }
    if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" || tag == "from" ||
        tag == "autoescape") {
      FailAt(off, "tag '" + tag + "' is not supported in chat templates", ErrorKind::kUnsupported);
    }
    FailAt(off, "Encountered unknown tag '" + tag + "'.");
  }

  StmtPtr ParseFor() {
    auto s = std::make_unique<Stmt>(StmtKind::kFor, Cur().offset);
    Next();
    s->target = ParseAssignTarget(false, {"in"});
    if (!SkipName("in")) FailHere("expected token 'in'");
    s->expr = ParseTuple(false, false, {"recursive"}, false);
    if (SkipName("if")) s->cond = ParseExpression(true);
    s->recursive = SkipName("recursive");
    ExpectBlockEnd();
    s->loop_symbol = Symbol("loop");
    ++loop_depth_;
    s->body = Subparse({"endfor", "else"});
    --loop_depth_;
    if (SkipName("else")) {
      ExpectBlockEnd();
      s->else_body = Subparse({"endfor"});
    }
    ConsumeEnd("endfor");
    return s;
  }

  StmtPtr ParseIf() {
    auto s = std::make_unique<Stmt>(StmtKind::kIf, Cur().offset);
    Next();
    while (true) {
      s->conds.push_back(ParseTuple(false, false, {}, false));
      ExpectBlockEnd();
      s->bodies.push_back(Subparse({"elif", "else", "endif"}));
      if (SkipName("elif")) continue;
      if (SkipName("else")) {
        ExpectBlockEnd();
        s->else_body = Subparse({"endif"});
      }
      ConsumeEnd("endif");
      return s;
    }
  }

  StmtPtr ParseSet() {
    uint32_t off = Cur().offset;
    Next();
    Target target = ParseAssignTarget(true, {});
    if (SkipOp("=")) {
      auto s = std::make_unique<Stmt>(StmtKind::kSet, off);
      s->target = std::move(target);
      s->expr = ParseTuple(false, true, {}, false);
      ExpectBlockEnd();
      return s;
    }
    auto s = std::make_unique<Stmt>(StmtKind::kSetBlock, off);
    s->target = std::move(target);
    if (IsOp("|")) s->expr = ParseFilter(Make(ExprKind::kBlockInput, off), false);
    ExpectBlockEnd();
    s->body = Subparse({"endset"});
    ConsumeEnd("endset");
    return s;
  }

  Target ParseAssignTarget(bool with_namespace, const EndSet& extra_end) {
    Target t;
    uint32_t off = Cur().offset;
    if (with_namespace && Cur().type == Tok::kName && Look().type == Tok::kOp && Look().text == ".") {
      t.names.push_back(ExpectNameToken());
      t.symbols.push_back(Symbol(t.names[0]));
      Next();  // '.'
      t.attribute = ExpectNameToken();
      return t;
    }
    ExprPtr e = ParseTuple(true, true, extra_end, false);
    auto add_name = [&](const Expr& n) {
      if (n.kind != ExprKind::kName) FailAt(n.offset, "can't assign to '" + KindName(n) + "'");
      if (n.name == "true" || n.name == "false" || n.name == "none" || n.name == "True" || n.name == "False" ||
          n.name == "None") {
        FailAt(n.offset, "can't assign to '" + n.name + "'");
      }
      t.names.push_back(n.name);
      t.symbols.push_back(n.symbol);
    };
    if (e->kind == ExprKind::kTuple) {
      t.tuple = true;
      for (auto& k : e->kids) add_name(*k);
    } else {
      add_name(*e);
    }
    (void)off;
    return t;
  }

  static std::string KindName(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kConst:
        return "Const";
      case ExprKind::kGetattr:
        return "Getattr";
      case ExprKind::kGetitem:
        return "Getitem";
      case ExprKind::kCall:
        return "Call";
      default:
        return "expression";
    }
  }

  void ParseSignature(MacroDef& m) {
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!m.params.empty()) ExpectOp(",");
      if (IsOp(")")) break;
      uint32_t off = Cur().offset;
      std::string name = ExpectNameToken();
      if (SkipOp("=")) {
        m.defaults.push_back(ParseExpression(true));
      } else if (!m.defaults.empty()) {
        FailAt(off, "non-default argument follows default argument");
      }
      m.params.push_back(name);
      m.param_symbols.push_back(Symbol(name));
    }
    ExpectOp(")");
  }

  StmtPtr ParseMacro() {
    auto s = std::make_unique<Stmt>(StmtKind::kMacro, Cur().offset);
    Next();
    s->macro = std::make_shared<MacroDef>();
    s->macro->name = ExpectNameToken();
    s->target.names.push_back(s->macro->name);
    s->target.symbols.push_back(Symbol(s->macro->name));
    ParseSignature(*s->macro);
    ExpectBlockEnd();
    macros_.push_back(s->macro.get());
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->macro->body = Subparse({"endmacro"});
    loop_depth_ = saved_loops;
    macros_.pop_back();
    ConsumeEnd("endmacro");
    return s;
  }

  StmtPtr ParseCallBlock() {
    auto s = std::make_unique<Stmt>(StmtKind::kCallBlock, Cur().offset);
    Next();
    s->macro = std::make_shared<MacroDef>();
    s->macro->name = "caller";
    if (IsOp("(")) ParseSignature(*s->macro);
    s->expr = ParseExpression(true);
    if (s->expr->kind != ExprKind::kCall) FailAt(s->expr->offset, "expected call");
    ExpectBlockEnd();
    macros_.push_back(s->macro.get());
    s->macro->body = Subparse({"endcall"});
    macros_.pop_back();
    ConsumeEnd("endcall");
    return s;
  }

  StmtPtr ParseFilterBlock() {
    auto s = std::make_unique<Stmt>(StmtKind::kFilterBlock, Cur().offset);
    Next();
    s->expr = ParseFilter(Make(ExprKind::kBlockInput, s->offset), true);
    ExpectBlockEnd();
    s->body = Subparse({"endfilter"});
    ConsumeEnd("endfilter");
    return s;
  }

  StmtPtr ParseWith() {
    auto s = std::make_unique<Stmt>(StmtKind::kWith, Cur().offset);
    Next();
    while (Cur().type != Tok::kBlockEnd) {
      if (!s->with_targets.empty()) ExpectOp(",");
      s->with_targets.push_back(ParseAssignTarget(false, {}));
      ExpectOp("=");
      s->with_values.push_back(ParseExpression(true));
    }
    ExpectBlockEnd();
    s->body = Subparse({"endwith"});
    ConsumeEnd("endwith");
    return s;
  }

  // ---- expressions ----
  bool IsTupleEnd(const EndSet& extra_end) const {
    const Token& t = Cur();
    if (t.type == Tok::kVarEnd || t.type == Tok::kBlockEnd || t.type == Tok::kEof) return true;
    if (t.type == Tok::kOp && t.text == ")") return true;
    if (t.type == Tok::kName) {
      for (const char* e : extra_end) {
        if (t.text == e) return true;
      }
    }
    return false;
  }

  ExprPtr ParseTuple(bool simplified, bool with_condexpr, const EndSet& extra_end, bool explicit_parentheses) {
    uint32_t off = Cur().offset;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) ExpectOp(",");
      if (IsTupleEnd(extra_end)) break;
      items.push_back(simplified ? ParsePrimary() : ParseExpression(with_condexpr));
      if (IsOp(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) FailHere("Expected an expression");
    }
    auto t = Make(ExprKind::kTuple, off);
    t->kids = std::move(items);
    return t;
  }

  ExprPtr ParseExpression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }

  ExprPtr ParseCondExpr() {
    ExprPtr expr1 = ParseOr();
    while (IsName("if")) {
      uint32_t off = Cur().offset;
      Next();
      ExprPtr cond = ParseOr();
      ExprPtr otherwise;
      if (SkipName("else")) otherwise = ParseCondExpr();
      auto c = Make(ExprKind::kCondExpr, off);
      c->kids.push_back(std::move(cond));
      c->kids.push_back(std::move(expr1));
      c->kids.push_back(std::move(otherwise));
      expr1 = std::move(c);
    }
    return expr1;
  }

  ExprPtr Binary(ExprKind kind, uint32_t off, ExprPtr a, ExprPtr b) {
    auto e = Make(kind, off);
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return e;
  }

  ExprPtr ParseOr() {
    ExprPtr left = ParseAnd();
    while (IsName("or")) {
      uint32_t off = Cur().offset;
      Next();
      left = Binary(ExprKind::kOr, off, std::move(left), ParseAnd());
    }
    return left;
  }

  ExprPtr ParseAnd() {
    ExprPtr left = ParseNot();
    while (IsName("and")) {
      uint32_t off = Cur().offset;
      Next();
      left = Binary(ExprKind::kAnd, off, std::move(left), ParseNot());
    }
    return left;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(*this);
      auto e = Make(ExprKind::kNot, Cur().offset);
      Next();
      e->kids.push_back(ParseNot());
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    uint32_t off = Cur().offset;
    ExprPtr expr = ParseMath1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      CmpOp op;
      if (Cur().type == Tok::kOp && (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" ||
                                     Cur().text == "<=" || Cur().text == ">" || Cur().text == ">=")) {
        const std::string& t = Cur().text;
        op = t == "==" ? CmpOp::kEq : t == "!=" ? CmpOp::kNe : t == "<" ? CmpOp::kLt : t == "<=" ? CmpOp::kLe
             : t == ">" ? CmpOp::kGt : CmpOp::kGe;
        Next();
      } else if (IsName("in")) {
        op = CmpOp::kIn;
        Next();
      } else if (IsName("not") && Look().type == Tok::kName && Look().text == "in") {
        op = CmpOp::kNotIn;
        Next();
        Next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(ExprKind::kCompare, off);
        cmp->kids.push_back(std::move(expr));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(ParseMath1());
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  ExprPtr BinOpNode(BinOp op, uint32_t off, ExprPtr a, ExprPtr b) {
    auto e = Binary(ExprKind::kBinary, off, std::move(a), std::move(b));
    e->bin = op;
    return e;
  }

  ExprPtr ParseMath1() {
    ExprPtr left = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      BinOp op = IsOp("+") ? BinOp::kAdd : BinOp::kSub;
      uint32_t off = Cur().offset;
      Next();
      left = BinOpNode(op, off, std::move(left), ParseConcat());
    }
    return left;
  }

  ExprPtr ParseConcat() {
    uint32_t off = Cur().offset;
    ExprPtr first = ParseMath2();
    if (!IsOp("~")) return first;
    auto e = Make(ExprKind::kConcat, off);
    e->kids.push_back(std::move(first));
    while (SkipOp("~")) e->kids.push_back(ParseMath2());
    return e;
  }

  ExprPtr ParseMath2() {
    ExprPtr left = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      BinOp op = IsOp("*") ? BinOp::kMul : IsOp("/") ? BinOp::kDiv : IsOp("//") ? BinOp::kFloorDiv : BinOp::kMod;
      uint32_t off = Cur().offset;
      Next();
      left = BinOpNode(op, off, std::move(left), ParsePow());
    }
    return left;
  }

  ExprPtr ParsePow() {
    ExprPtr left = ParseUnary(true);
    while (IsOp("**")) {
      uint32_t off = Cur().offset;
      Next();
      left = BinOpNode(BinOp::kPow, off, std::move(left), ParseUnary(true));
    }
    return left;
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      node = Make(IsOp("-") ? ExprKind::kNeg : ExprKind::kPos, Cur().offset);
      Next();
      node->kids.push_back(ParseUnary(false));
    } else {
      node = ParsePrimary();
    }
    node = ParsePostfix(std::move(node));
    if (with_filter) node = ParseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr ParsePrimary() {
    DepthGuard guard(*this);
    const Token& t = Cur();
    uint32_t off = t.offset;
    switch (t.type) {
      case Tok::kName: {
        auto e = Make(ExprKind::kConst, off);
        if (t.text == "true" || t.text == "True") {
          e->value = Value::Bool(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value::Bool(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.text;
          e->symbol = Symbol(t.text);
          if (t.text == "varargs" || t.text == "kwargs" || t.text == "caller") {
            for (MacroDef* m : macros_) {
              if (t.text == "varargs") m->uses_varargs = true;
              if (t.text == "kwargs") m->uses_kwargs = true;
              if (t.text == "caller") m->uses_caller = true;
            }
          }
        }
        Next();
        return e;
      }
      case Tok::kString: {
        std::string s = t.text;
        Next();
        while (Cur().type == Tok::kString) {
          s += Cur().text;
          Next();
        }
        auto e = Make(ExprKind::kConst, off);
        e->value = Value::String(std::move(s));
        return e;
      }
      case Tok::kInt: {
        auto e = Make(ExprKind::kConst, off);
        e->value = Value::Int(t.ival);
        Next();
        return e;
      }
      case Tok::kFloat: {
        auto e = Make(ExprKind::kConst, off);
        e->value = Value::Float(t.fval);
        Next();
        return e;
      }
      case Tok::kOp:
        if (t.text == "(") {
          Next();
          ExprPtr e = ParseTuple(false, true, {}, true);
          ExpectOp(")");
          return e;
        }
        if (t.text == "[") return ParseList();
        if (t.text == "{") return ParseDict();
        break;
      default:
        break;
    }
    FailHere("unexpected token");
  }

  ExprPtr ParseList() {
    auto e = Make(ExprKind::kList, Cur().offset);
    ExpectOp("[");
    while (!IsOp("]")) {
      if (!e->kids.empty()) ExpectOp(",");
      if (IsOp("]")) break;
      e->kids.push_back(ParseExpression(true));
    }
    ExpectOp("]");
    return e;
  }

  ExprPtr ParseDict() {
    auto e = Make(ExprKind::kDict, Cur().offset);
    ExpectOp("{");
    while (!IsOp("}")) {
      if (!e->kids.empty()) ExpectOp(",");
      if (IsOp("}")) break;
      e->kids.push_back(ParseExpression(true));
      ExpectOp(":");
      e->kids.push_back(ParseExpression(true));
    }
    ExpectOp("}");
    return e;
  }

  ExprPtr ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".") || IsOp("[")) {
        node = ParseSubscript(std::move(node));
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        node = ParseFilter(std::move(node), false);
      } else if (IsName("is")) {
        node = ParseTest(std::move(node));
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr node) {
    DepthGuard guard(*this);
    uint32_t off = Cur().offset;
    if (SkipOp(".")) {
      if (Cur().type == Tok::kName) {
        auto e = Make(ExprKind::kGetattr, off);
        e->name = Cur().text;
        e->builtin = FindMethod(e->name);
        e->kids.push_back(std::move(node));
        Next();
        return e;
      }
      if (Cur().type == Tok::kInt) {
        auto e = Make(ExprKind::kGetitem, off);
        auto idx = Make(ExprKind::kConst, Cur().offset);
        idx->value = Value::Int(Cur().ival);
        e->kids.push_back(std::move(node));
        e->kids.push_back(std::move(idx));
        Next();
        return e;
      }
      FailHere("expected name or number");
    }
    ExpectOp("[");
    std::vector<ExprPtr> args;
    while (!IsOp("]")) {
      if (!args.empty()) ExpectOp(",");
      args.push_back(ParseSubscribed());
    }
    ExpectOp("]");
    auto e = Make(ExprKind::kGetitem, off);
    e->kids.push_back(std::move(node));
    if (args.size() == 1) {
      if (args[0]->kind == ExprKind::kSlice) {
        args[0]->kids.insert(args[0]->kids.begin(), std::move(e->kids[0]));
        args[0]->offset = off;
        return std::move(args[0]);
      }
      e->kids.push_back(std::move(args[0]));
    } else {
      for (const auto& a : args) {
        if (a->kind == ExprKind::kSlice) FailAt(a->offset, "slices inside a subscript tuple are not supported");
      }
      auto t = Make(ExprKind::kTuple, off);
      t->kids = std::move(args);
      e->kids.push_back(std::move(t));
    }
    return e;
  }

  // An index or a slice (start:stop:step); a slice comes back as kSlice with 3 kids.
  ExprPtr ParseSubscribed() {
    uint32_t off = Cur().offset;
    std::vector<ExprPtr> parts;
    if (IsOp(":")) {
      Next();
      parts.push_back(nullptr);
    } else {
      ExprPtr node = ParseExpression(true);
      if (!IsOp(":")) return node;
      Next();
      parts.push_back(std::move(node));
    }
    if (IsOp(":")) {
      parts.push_back(nullptr);
    } else if (!IsOp("]") && !IsOp(",")) {
      parts.push_back(ParseExpression(true));
    } else {
      parts.push_back(nullptr);
    }
    if (SkipOp(":")) {
      if (!IsOp("]") && !IsOp(",")) {
        parts.push_back(ParseExpression(true));
      } else {
        parts.push_back(nullptr);
      }
    } else {
      parts.push_back(nullptr);
    }
    auto e = Make(ExprKind::kSlice, off);
    e->kids = std::move(parts);
    return e;
  }

  std::unique_ptr<Args> ParseCallArgs() {
    auto a = std::make_unique<Args>();
    ExpectOp("(");
    bool any = false;
    while (!IsOp(")")) {
      if (any) ExpectOp(",");
      if (IsOp(")")) break;
      any = true;
      uint32_t off = Cur().offset;
      if (SkipOp("*")) {
        a->star = ParseExpression(true);
      } else if (SkipOp("**")) {
        a->star_star = ParseExpression(true);
      } else if (Cur().type == Tok::kName && Look().type == Tok::kOp && Look().text == "=") {
        std::string key = Cur().text;
        Next();
        Next();
        a->keyword.emplace_back(key, ParseExpression(true));
      } else {
        if (a->star || a->star_star || !a->keyword.empty()) FailAt(off, "Invalid argument syntax");
        a->positional.push_back(ParseExpression(true));
      }
    }
    ExpectOp(")");
    return a;
  }

  ExprPtr ParseCall(ExprPtr node) {
    auto e = Make(ExprKind::kCall, Cur().offset);
    e->args = ParseCallArgs();
    e->kids.push_back(std::move(node));
    return e;
  }

  std::string DottedName() {
    std::string name = ExpectNameToken();
    while (IsOp(".")) {
      Next();
      name += "." + ExpectNameToken();
    }
    return name;
  }

  ExprPtr ParseFilter(ExprPtr node, bool start_inline) {
    while (IsOp("|") || start_inline) {
      if (!start_inline) Next();
      start_inline = false;
      auto e = Make(ExprKind::kFilter, Cur().offset);
      e->name = DottedName();
      e->builtin = FindFilter(e->name);
      e->args = IsOp("(") ? ParseCallArgs() : std::make_unique<Args>();
      e->kids.push_back(std::move(node));
      node = std::move(e);
    }
    return node;
  }

  ExprPtr ParseTest(ExprPtr node) {
    uint32_t off = Cur().offset;
    Next();  // 'is'
    bool negated = SkipName("not");
    auto e = Make(ExprKind::kTest, Cur().offset);
    e->name = DottedName();
    e->builtin = FindTest(e->name);
    if (IsOp("(")) {
      e->args = ParseCallArgs();
    } else {
      e->args = std::make_unique<Args>();
      const Token& t = Cur();
      bool arg_start = t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt ||
                       t.type == Tok::kFloat || (t.type == Tok::kOp && (t.text == "(" || t.text == "[" || t.text == "{"));
      if (arg_start && !IsName("else") && !IsName("or") && !IsName("and")) {
        if (IsName("is")) FailHere("You cannot chain multiple tests with is");
        e->args->positional.push_back(ParsePostfix(ParsePrimary()));
      }
    }
    e->kids.push_back(std::move(node));
    if (!negated) return e;
    auto n = Make(ExprKind::kNot, off);
    n->kids.push_back(std::move(e));
    return n;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  Program& prog_;
  std::unordered_map<std::string, int> symbol_index_;
  std::vector<MacroDef*> macros_;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

std::shared_ptr<const Program> ParseProgram(std::string normalized_source, std::string origin) {
  auto program = std::make_shared<Program>();
  program->source = std::move(normalized_source);
  program->origin = std::move(origin);
  Parser parser(Tokenize(program->source), *program);
  program->body = parser.ParseTemplate();
  for (size_t n = 0; n < program->symbols.size(); ++n) program->symbol_ids.emplace(program->symbols[n], static_cast<int>(n));
  return program;
}

}  // namespace gemma4::chat
