// Names of the error kinds, shared by the CLI (exit messages) and the server (JSON bodies).
#include "gemma4/error.h"

namespace gemma4 {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kCorrupt: return "corrupt";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kLimit: return "limit";
    case ErrorKind::kRuntime: return "runtime";
    case ErrorKind::kCancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace gemma4
