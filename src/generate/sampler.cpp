// Sampler: penalties and bias in place, then argmax or a seeded draw from the warped distribution.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gemma4/error.h"
#include "gemma4/sampling.h"
#include "generate/logits_processors.h"

namespace gemma4 {

Sampler::Sampler(SamplingParams params, size_t vocab_size)
    : params_(std::move(params)), vocab_size_(vocab_size), rng_(params_.seed) {
  params_.Validate();
  if (vocab_size_ == 0 || vocab_size_ > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error(ErrorKind::kInvalidArgument, "vocab size must be in [1, 2^31), got " + std::to_string(vocab_size_));
  }
  for (size_t i = 0; i < params_.logit_bias.size(); ++i) {
    const int32_t id = params_.logit_bias[i].first;
    if (static_cast<size_t>(id) >= vocab_size_) {
      throw Error(ErrorKind::kInvalidArgument, "logit_bias[" + std::to_string(i) + "] token id " + std::to_string(id) +
                                                   " is out of range for vocab size " + std::to_string(vocab_size_));
    }
  }
}

void Sampler::Reseed(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

double Sampler::NextUniform() {
  // std::uniform_real_distribution's algorithm is implementation-defined; 53 bits / 2^53 is not.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::ApplyProcessors(std::span<float> logits, std::span<const int32_t> context, size_t prompt_length) {
  if (logits.size() != vocab_size_) {
    throw Error(ErrorKind::kInvalidArgument, "logits row has " + std::to_string(logits.size()) +
                                                 " values, expected the vocab size " + std::to_string(vocab_size_));
  }
  if (prompt_length > context.size()) {
    throw Error(ErrorKind::kInvalidArgument, "prompt_length " + std::to_string(prompt_length) +
                                                 " exceeds the context length " + std::to_string(context.size()));
  }
  auto check = [&](size_t pos) {
    const int32_t t = context[pos];
    if (t < 0 || static_cast<size_t>(t) >= vocab_size_) {
      throw Error(ErrorKind::kInvalidArgument, "context token " + std::to_string(t) + " at position " +
                                                   std::to_string(pos) + " is out of range for vocab size " +
                                                   std::to_string(vocab_size_));
    }
    return t;
  };
  // Sparse work only: the scratch arrays are reset through touched_, never cleared wholesale.
  if (params_.repetition_penalty != 1.0f) {
    seen_.resize(vocab_size_, 0);
    touched_.clear();
    for (size_t i = 0; i < context.size(); ++i) {
      const int32_t t = check(i);
      if (!seen_[t]) {
        seen_[t] = 1;
        touched_.push_back(t);
      }
    }
    const float penalty = params_.repetition_penalty;
    for (int32_t t : touched_) {
      logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty;
      seen_[t] = 0;
    }
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    counts_.resize(vocab_size_, 0);
    touched_.clear();
    for (size_t i = prompt_length; i < context.size(); ++i) {
      const int32_t t = check(i);
      if (counts_[t]++ == 0) touched_.push_back(t);
    }
    for (int32_t t : touched_) {
      logits[t] -= static_cast<float>(counts_[t]) * params_.frequency_penalty + params_.presence_penalty;
      counts_[t] = 0;
    }
  }
  for (const auto& [id, bias] : params_.logit_bias) logits[id] += bias;
}

int32_t Sampler::Argmax(std::span<const float> logits) const {
  const auto [m, index] = detail::MaxWithIndex(logits);
  if (m == -std::numeric_limits<float>::infinity()) {
    throw Error(ErrorKind::kInvalidArgument, "every token is masked: all logits are -inf or NaN after penalties and "
                                             "logit_bias");
  }
  return static_cast<int32_t>(index);
}

void Sampler::Warp(std::span<float> logits) {
  if (params_.top_k > 0) {
    detail::SelectTopK(logits, params_.top_k, params_.temperature, candidates_);
  } else {
    detail::SelectAll(logits, params_.temperature, candidates_);
  }
  ApplyTopP(candidates_, params_.top_p);
  ApplyMinP(candidates_, params_.min_p);
  ApplyTypicalP(candidates_, params_.typical_p);
  if (candidates_.empty()) {
    throw Error(ErrorKind::kInvalidArgument, "every token is masked: all logits are -inf or NaN after penalties and "
                                             "logit_bias");
  }
}

int32_t Sampler::Sample(std::span<float> logits, std::span<const int32_t> context, size_t prompt_length) {
  ApplyProcessors(logits, context, prompt_length);
  if (params_.greedy()) return Argmax(logits);
  Warp(logits);
  const double u = NextUniform();  // drawn even when one token is left, so the stream stays aligned
  float m = -std::numeric_limits<float>::infinity();
  for (const auto& c : candidates_) m = std::max(m, c.logit);
  weights_.resize(candidates_.size());
  double z = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) z += weights_[i] = std::exp(candidates_[i].logit - m);
  const double target = u * z;
  double cum = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += weights_[i];
    if (target < cum) return candidates_[i].id;
  }
  // Rounding left target at or past the last partial sum: the last token with any mass.
  for (size_t i = candidates_.size(); i-- > 0;) {
    if (weights_[i] > 0) return candidates_[i].id;
  }
  return candidates_.back().id;
}

std::vector<TokenProb> Sampler::Distribution(std::span<float> logits, std::span<const int32_t> context,
                                             size_t prompt_length) {
  ApplyProcessors(logits, context, prompt_length);
  if (params_.greedy()) return {{Argmax(logits), 1.0f}};
  Warp(logits);
  std::sort(candidates_.begin(), candidates_.end(), detail::Before);
  const float m = candidates_.front().logit;
  double z = 0;
  for (const auto& c : candidates_) z += std::exp(c.logit - m);
  std::vector<TokenProb> out;
  out.reserve(candidates_.size());
  for (const auto& c : candidates_) out.push_back({c.id, static_cast<float>(std::exp(c.logit - m) / z)});
  return out;
}

}  // namespace gemma4
