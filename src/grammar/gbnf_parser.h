// GBNF text -> CompiledGrammar (syntax in include/gemma4/grammar.h).
#pragma once

#include <string_view>

#include "grammar/compiled_grammar.h"

namespace gemma4::grammar {

// Throws Error(kInvalidArgument) "SOURCE:LINE:COLUMN: what", or kLimit for the size limits.
CompiledGrammar ParseGbnf(std::string_view text, std::string_view source);

}  // namespace gemma4::grammar
