// Helpers shared by `tokenize` and `detokenize`.
#pragma once

#include <string>

#include "gemma4/tokenizer.h"

namespace gemma4::cli {

// `-m` for the tokenizer commands: a package directory, a repo id in the hub cache, a directory
// holding only tokenizer.json (+ tokenizer_config.json), or a tokenizer.json file.
Tokenizer LoadTokenizerFor(const std::string& model);

std::string ReadAllStdin();

}  // namespace gemma4::cli
