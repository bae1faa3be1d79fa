// Choosing the next token from one row of logits: penalties, bias, warpers, then greedy or a seeded draw.
//
// Processing order (the order of transformers' LogitsProcessorList as _get_logits_processor builds it,
// processors before warpers):
//   1. repetition_penalty    over every distinct token of the context (prompt + generated): a positive
//                            logit is divided by the penalty, a negative one multiplied (transformers);
//   2. presence_penalty,     over the generated tokens only (context[prompt_length:]), the OpenAI way:
//      frequency_penalty     logit -= count * frequency_penalty + (count > 0) * presence_penalty;
//   3. logit_bias            logit += bias (a bias of -inf bans the token);
//   --- greedy stops here: argmax, ties broken toward the lower id (as transformers.js) ---
//   4. temperature           logit /= temperature;
//   5. top_k                 keep the tokens whose logit >= the k-th largest (ties at the cut all stay,
//                            as transformers' `scores < topk(scores, k)[-1]`);
//   6. top_p                 keep the shortest run of most probable tokens whose mass reaches top_p
//                            (ties ordered by lower id);
//   7. min_p                 keep the tokens with p >= min_p * p_max;
//   8. typical_p             locally typical sampling (transformers' TypicalLogitsWarper).
// Each warper sees the softmax of what the previous ones kept, and keeps at least one token. Masses are
// summed in double over the float logits, with no tolerance: the same sets as transformers' formulas
// evaluated exactly (its float32 cumsum can differ on tokens whose probability is below float rounding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace gemma4 {

struct SamplingParams {
  float temperature = 1.0f;         // 0 means greedy
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off; in (0, 1]
  float min_p = 0.0f;               // 0 = off; in [0, 1]
  float typical_p = 1.0f;           // 1 = off; in (0, 1]
  float repetition_penalty = 1.0f;  // 1 = off; > 0
  float presence_penalty = 0.0f;    // 0 = off; in [-2, 2] (OpenAI's range)
  float frequency_penalty = 0.0f;   // 0 = off; in [-2, 2]
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, added to its logit); -inf bans it
  uint64_t seed = 0;
  bool do_sample = true;  // false (or temperature == 0) -> greedy

  bool greedy() const { return !do_sample || temperature == 0.0f; }

  // Throws Error(kInvalidArgument) naming the field and the value, e.g. "top_p must be in (0, 1], got 1.5".
  // Token ids of logit_bias are checked against the vocabulary by Sampler's constructor.
  void Validate() const;
};

// Fills the fields generation_config.json sets (do_sample, temperature, top_k, top_p, min_p, typical_p,
// repetition_penalty) over `base`; absent or null fields keep base's value. Accepts the whole file or
// GenerationConfig::sampling (null counts as empty). Errors (kCorrupt) name the file and the JSON pointer:
// "generation_config.json: /top_k must be an integer, got string".
SamplingParams SamplingParamsFromGenerationConfig(const nlohmann::json& generation_config,
                                                  const SamplingParams& base = {});

// What a caller asks for on top of the model's defaults (CLI flags, an HTTP request, the C API's
// parameters): an absent field keeps the default.
struct SamplingOverrides {
  std::optional<float> temperature, top_p, min_p, typical_p, repetition_penalty, presence_penalty,
      frequency_penalty;
  std::optional<int> top_k;
  std::optional<bool> do_sample;  // explicit greedy (false) or sampling (true)
  std::optional<uint64_t> seed;   // absent: `random_seed`
  std::vector<std::pair<int32_t, float>> logit_bias;
};

// The one resolution of sampling settings, shared by the CLI, the server and the C API: `defaults`
// (usually SamplingParamsFromGenerationConfig of the package) with each given override applied. A
// temperature > 0 asks for sampling, so it turns do_sample on even where generation_config.json
// says false (an explicit do_sample override still wins); no seed given takes `random_seed`.
// Validated (Error kInvalidArgument naming the field).
SamplingParams ResolveSampling(const SamplingParams& defaults, const SamplingOverrides& overrides,
                               uint64_t random_seed);
// 64 bits from std::random_device, for requests that give no seed.
uint64_t RandomSeed();

// One token of the final distribution.
struct TokenProb {
  int32_t id;
  float prob;
};

// Picks next tokens for one sequence. Holds scratch buffers sized for the vocabulary, so build one per
// request and reuse it for every step; not thread-safe. Seeded draws are reproducible across builds for
// the same logits (std::mt19937_64 is fully specified; the uniform draw is made from its bits here).
class Sampler {
 public:
  // Validates `params` and the logit_bias ids against vocab_size (kInvalidArgument).
  Sampler(SamplingParams params, size_t vocab_size);

  // Returns the next token. `logits` (vocab_size values) may be modified in place (penalties and bias are
  // applied there). `context_tokens` is prompt + generated so far; the tokens from `prompt_length` on count as
  // generated for presence/frequency penalties (0: the whole context counts). Advances the RNG once per
  // sampled (non-greedy) step.
  int32_t Sample(std::span<float> logits, std::span<const int32_t> context_tokens, size_t prompt_length = 0);

  // The distribution Sample draws from, most probable first (ties: lower id first); for greedy, the argmax
  // with probability 1. For inspection and logprobs; does not touch the RNG. May modify `logits` like Sample.
  std::vector<TokenProb> Distribution(std::span<float> logits, std::span<const int32_t> context_tokens,
                                      size_t prompt_length = 0);

  void Reseed(uint64_t seed);
  const SamplingParams& params() const { return params_; }
  size_t vocab_size() const { return vocab_size_; }

  // One uniform double in [0, 1) from the top 53 bits of one mt19937_64 output.
  double NextUniform();

  struct Candidate {
    float logit;  // after penalties, bias and temperature
    int32_t id;
  };

 private:
  void ApplyProcessors(std::span<float> logits, std::span<const int32_t> context, size_t prompt_length);
  int32_t Argmax(std::span<const float> logits) const;
  // Fills candidates_ with the tokens that survive the warpers (in an order that depends only on the logits).
  void Warp(std::span<float> logits);

  SamplingParams params_;
  size_t vocab_size_;
  std::mt19937_64 rng_;
  // Scratch, reused across steps.
  std::vector<Candidate> candidates_;
  std::vector<float> weights_;
  std::vector<uint8_t> seen_;       // repetition penalty: token seen in context
  std::vector<int32_t> counts_;     // presence/frequency: occurrences among generated tokens
  std::vector<int32_t> touched_;
};

// The warpers on their own, over a candidate list (logits already divided by the temperature); each keeps at
// least one token and may reorder the list. Exposed for tests and for callers composing their own chain.
void ApplyTopK(std::vector<Sampler::Candidate>& candidates, int top_k);
void ApplyTopP(std::vector<Sampler::Candidate>& candidates, float top_p);
void ApplyMinP(std::vector<Sampler::Candidate>& candidates, float min_p);
void ApplyTypicalP(std::vector<Sampler::Candidate>& candidates, float typical_p);

}  // namespace gemma4
