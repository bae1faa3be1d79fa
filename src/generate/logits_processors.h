// Private helpers of the sampler: building the candidate list from a full row of logits.
#pragma once

#include <span>
#include <vector>

#include "gemma4/sampling.h"

namespace gemma4::detail {

// Tokens whose logit / temperature is >= the k-th largest such value (ties at the cut kept), without
// sorting the vocabulary: one pass that skips blocks below the running k-th value, then one collect pass.
// -inf and NaN logits never become candidates. Output is in id order.
void SelectTopK(std::span<const float> logits, int top_k, float temperature, std::vector<Sampler::Candidate>& out);

// Every finite token, logit divided by the temperature, in id order.
void SelectAll(std::span<const float> logits, float temperature, std::vector<Sampler::Candidate>& out);

// The largest value and the lowest index holding it, ignoring NaN; (-inf, 0) when nothing is larger than
// -inf. Vectorisable: per-block maxima over independent lanes, then one scan of the winning block.
std::pair<float, size_t> MaxWithIndex(std::span<const float> values);

// Descending logit, then ascending id: the one order every tie rule of the sampler follows.
inline bool Before(const Sampler::Candidate& a, const Sampler::Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

}  // namespace gemma4::detail
