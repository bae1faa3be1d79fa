// Log probabilities of a logits row: the chosen token's and the top alternatives', computed in
// double precision over the whole vocabulary (a max-shifted log-sum-exp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "gemma4/generator.h"

namespace gemma4 {

// log softmax(logits / temperature) at `token`, and the `top_n` largest entries (ties: lower id
// first). -inf logits (masked tokens) have probability 0; temperature must be > 0.
TokenLogprob TokenLogprobOf(std::span<const float> logits, float temperature, int32_t token, size_t top_n);

}  // namespace gemma4
