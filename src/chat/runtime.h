// Engine-internal error and object types shared by the parser, the evaluator and the builtins.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat/value.h"
#include "gemma4/error.h"

namespace gemma4::chat {

constexpr int kMaxJsonDepth = 512;
constexpr size_t kNoOffset = static_cast<size_t>(-1);

// Thrown inside the engine; ChatTemplate turns it into gemma4::Error "<origin>:<line>:<col>: msg".
struct TemplateError {
  ErrorKind kind;
  std::string message;
  size_t offset = kNoOffset;
  bool from_template = false;  // raised by raise_exception(): the message is the template's own
};

[[noreturn]] inline void Fail(std::string message, ErrorKind kind = ErrorKind::kInvalidArgument) {
  throw TemplateError{kind, std::move(message)};
}
[[noreturn]] inline void FailAt(size_t offset, std::string message, ErrorKind kind = ErrorKind::kCorrupt) {
  throw TemplateError{kind, std::move(message), offset};
}

class Renderer;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* Keyword(std::string_view name) const {
    for (const auto& [k, v] : keyword) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

// Anything a template can call: macros, caller() blocks, bound methods and global functions.
struct Callable {
  std::string name;
  virtual ~Callable() = default;
  virtual Value Call(Renderer& renderer, CallArgs& args) const = 0;
};

struct Stmt;
struct Scope;

// State of the innermost `loop` variable.
struct LoopState {
  std::shared_ptr<const List> items;
  int64_t index0 = 0;
  int64_t depth0 = 0;
  bool has_changed = false;
  Value last_changed;
  // Recursive loops: calling loop(xs) renders the loop body again over xs.
  const Stmt* recursive_for = nullptr;
  std::shared_ptr<Scope> scope;
};

}  // namespace gemma4::chat
