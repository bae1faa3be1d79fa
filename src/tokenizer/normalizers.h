// Normalizers: text -> text transforms applied to each piece of input between added tokens.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/json.h"

namespace gemma4::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Apply(std::string& text) const = 0;
};

// Builds from a tokenizer.json "normalizer" value; nullptr for null. Throws kUnsupported naming
// the path for an unknown type, kCorrupt for a malformed one.
std::unique_ptr<Normalizer> MakeNormalizer(const JsonView& json);

}  // namespace gemma4::tok
