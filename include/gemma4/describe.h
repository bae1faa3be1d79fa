// A structured description of a package and its discovered sessions: what `gemma4 info` prints
// (as text, or verbatim with --json). Built in src/describe/, above runtime/ (it only reads).
#pragma once

#include <nlohmann/json.hpp>

#include "gemma4/package.h"
#include "gemma4/runtime.h"

namespace gemma4 {

// `runtime` may be null (sessions not created). `context` is the token count the memory plan is
// made for (0: the model's maximum). Schema documented in docs/INFO_JSON.md.
nlohmann::json DescribeModel(const Package& package, const Runtime* runtime, size_t context);

}  // namespace gemma4
