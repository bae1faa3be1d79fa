// Pre-tokenizers: split normalized text into the words the model sees.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json.h"

namespace gemma4::tok {

// One piece of the input on its way through the pipeline.
struct Piece {
  std::string text;
  int32_t added_id = -1;   // >= 0: an added token; never normalized, split or modelled again
  bool at_origin = false;  // starts at byte 0 of the original input (Metaspace prepend_scheme "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every non-added piece by its splits; empty pieces are dropped, as in HF.
  virtual void Apply(std::vector<Piece>& pieces) const;

 protected:
  virtual void Split(Piece& piece, std::vector<Piece>& out) const = 0;
};

// Builds from a tokenizer.json "pre_tokenizer" value; nullptr for null.
std::unique_ptr<PreTokenizer> MakePreTokenizer(const JsonView& json);

}  // namespace gemma4::tok
