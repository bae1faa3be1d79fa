// Decoders: token strings -> text (HF tokenizers decoders/*, decode_chain semantics).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json.h"

namespace gemma4::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token list in place (some decoders fuse everything into one string).
  virtual void DecodeChain(std::vector<std::string>& tokens) const = 0;
  // True when the chain holds a ByteFallback decoder (the streaming decoder must then hold
  // back a run of <0xXX> tokens until it ends).
  virtual bool HasByteFallback() const { return false; }
};

// Builds from a tokenizer.json "decoder" value; nullptr for null.
std::unique_ptr<Decoder> MakeDecoder(const JsonView& json);

// "<0x41>" -> 0x41, as HF's ByteFallback parses it; -1 when `token` is not a byte token.
int ParseByteToken(std::string_view token);

}  // namespace gemma4::tok
