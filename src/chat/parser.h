// Recursive-descent parser for Jinja, following jinja2's grammar and operator precedence
// (filters bind tighter than arithmetic, `**` is left-associative, comparisons chain).
#pragma once

#include <memory>
#include <string>

#include "chat/ast.h"

namespace gemma4::chat {

// Parses normalized template source. Throws TemplateError with the offset at fault.
std::shared_ptr<const Program> ParseProgram(std::string normalized_source, std::string origin);

}  // namespace gemma4::chat
