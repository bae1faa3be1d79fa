// Errors of the gemma4 library: one exception type whose kind says how a caller can react,
// and whose message names the culprit (file, JSON pointer, line:column, byte offset, tensor).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace gemma4 {

enum class ErrorKind {
  kInvalidArgument,  // a caller's value is wrong (flag, request field, option)
  kNotFound,         // a file, model, tensor or token that should exist does not
  kCorrupt,          // a file exists but its content is malformed or truncated
  kUnsupported,      // well-formed, but a feature this build does not handle
  kLimit,            // a size, depth, context or time limit was exceeded
  kRuntime,          // ONNX Runtime or the OS failed underneath us
  kCancelled,        // the caller asked to stop
};

// Stable short name of a kind ("invalid_argument", "not_found", ...), used in JSON errors.
std::string_view ErrorKindName(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace gemma4
