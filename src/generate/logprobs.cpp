// One pass for the maximum, one for the normaliser, a bounded selection for the top entries.
#include "generate/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gemma4/error.h"

namespace gemma4 {

TokenLogprob TokenLogprobOf(std::span<const float> logits, float temperature, int32_t token, size_t top_n) {
  if (!(temperature > 0)) throw Error(ErrorKind::kInvalidArgument, "logprobs need a temperature > 0");
  if (token < 0 || static_cast<size_t>(token) >= logits.size()) {
    throw Error(ErrorKind::kInvalidArgument, "logprobs: token " + std::to_string(token) + " is outside the row");
  }
  const double inv_t = 1.0 / temperature;
  double m = -std::numeric_limits<double>::infinity();
  for (float v : logits) {
    if (!std::isnan(v)) m = std::max(m, v * inv_t);
  }
  double z = 0;
  if (std::isfinite(m)) {
    for (float v : logits) {
      if (!std::isnan(v)) z += std::exp(v * inv_t - m);
    }
  }
  const double log_z = std::isfinite(m) ? m + std::log(z) : 0;
  auto logprob = [&](float v) {
    if (std::isnan(v) || !std::isfinite(m)) return -std::numeric_limits<float>::infinity();
    return static_cast<float>(v * inv_t - log_z);
  };
  TokenLogprob out;
  out.token = token;
  out.logprob = logprob(logits[static_cast<size_t>(token)]);
  top_n = std::min(top_n, logits.size());
  if (top_n > 0) {
    std::vector<int32_t> ids;
    ids.reserve(top_n + 1);
    auto better = [&](int32_t a, int32_t b) {
      const float va = std::isnan(logits[a]) ? -std::numeric_limits<float>::infinity() : logits[a];
      const float vb = std::isnan(logits[b]) ? -std::numeric_limits<float>::infinity() : logits[b];
      return va != vb ? va > vb : a < b;
    };
    // A running top-n kept as a heap whose top is the worst kept entry.
    for (int32_t i = 0; i < static_cast<int32_t>(logits.size()); ++i) {
      if (ids.size() < top_n) {
        ids.push_back(i);
        std::push_heap(ids.begin(), ids.end(), better);
      } else if (better(i, ids.front())) {
        std::pop_heap(ids.begin(), ids.end(), better);
        ids.back() = i;
        std::push_heap(ids.begin(), ids.end(), better);
      }
    }
    std::sort(ids.begin(), ids.end(), better);
    for (int32_t id : ids) out.top.emplace_back(id, logprob(logits[static_cast<size_t>(id)]));
  }
  return out;
}

}  // namespace gemma4
