// llama-bench-style measurements of one loaded model: prompt processing and token generation
// speed, time to first token, load time, peak resident memory and the host work around ONNX
// Runtime, each repeated and summarised by median and spread. Tokenization is not timed: the
// prompt is token ids (random, or given).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/model.h"

namespace gemma4 {

struct BenchOptions {
  size_t prompt_tokens = 512;        // -p: prompt length (ignored when prompt_ids is given)
  size_t gen_tokens = 128;           // -n: decode steps timed after the first token
  int repetitions = 5;               // -r
  int warmup = 1;                    // untimed short runs first (thread pools, allocator arenas)
  std::vector<size_t> depths;        // -d/--depth: for each, prefill this many tokens, then time decoding
  std::vector<int32_t> prompt_ids;   // the prompt; empty: prompt_tokens random ids (seeded)
  uint64_t seed = 1234;              // for the random prompt
};

// Median and spread of one figure over the repetitions.
struct BenchStat {
  std::vector<double> samples;
  double median = 0, mean = 0, stddev = 0, min = 0, max = 0;
  static BenchStat Of(std::vector<double> samples);
};

// One depth (llama-bench's -d): a prompt of `depth` random tokens prefilled, then gen_tokens decoded.
struct BenchDepthResult {
  size_t depth = 0;
  BenchStat ttft_ms;       // the prefill to `depth` and the first token
  BenchStat decode_tok_s;
  BenchStat host_share;    // fraction of each decode step spent outside ONNX Runtime's Run
  double peak_rss_mb = 0;  // over this depth's runs (VmHWM reset before them where the kernel allows)
  double peak_anon_mb = 0; // anonymous memory (KV cache, buffers, arenas; not the mapped weights), sampled
};

struct BenchResult {
  std::string model;             // package directory
  std::string dtype;
  int threads = 0;               // as requested (0: ONNX Runtime's default)
  size_t prompt_tokens = 0;
  size_t gen_tokens = 0;
  double load_ms = 0;            // Model::Load
  BenchStat ttft_ms;             // prompt in -> first token sampled
  BenchStat prefill_tok_s;       // prompt_tokens / ttft
  BenchStat decode_tok_s;        // gen_tokens single-token steps (sample + forward), per second
  BenchStat decode_ms_per_token;
  BenchStat host_share;          // fraction of each decode step spent outside ONNX Runtime's Run
  BenchStat host_ms_per_token;   // the same, in milliseconds
  std::vector<BenchDepthResult> depths;
  double peak_rss_mb = 0;        // VmHWM of this process at the end (includes the load)
  double peak_anon_mb = 0;       // anonymous memory over the pp/tg runs, sampled
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;  // greedy output of the first repetition (for cross-checks)

  nlohmann::ordered_json ToJson() const;
};

// Peak resident set size of this process in MiB (VmHWM of /proc/self/status); 0 if unknown.
double PeakRssMb();

// Runs the benchmark on `model`: greedy decoding, EOS ignored, a fresh cache per repetition.
// `progress` (optional) is called on the calling thread with a short line before each run.
BenchResult RunBench(const std::shared_ptr<const Model>& model, const BenchOptions& options,
                     const std::function<void(const std::string&)>& progress = {});

// The mechanism behind speculative decoding, measured on its own (random weights accept almost no
// drafts, so end-to-end speed-ups say little): after one prefill of the prompt, the wall time of a
// decoder call with 1 token against one with 1 + K tokens (logits for every row), each followed by
// a Truncate back to the prompt so every sample runs at the same depth. Samples of the two are
// interleaved, repetition by repetition.
struct VerifyBenchOptions {
  size_t prompt_tokens = 512;        // -p: cached tokens before the timed calls
  std::vector<size_t> draft_sizes;   // --verify: the K values (each >= 1)
  int repetitions = 5;               // -r: samples of each call
  int warmup = 1;                    // untimed calls of each size first
  std::vector<int32_t> prompt_ids;   // the prompt; empty: prompt_tokens random ids (seeded)
  uint64_t seed = 1234;
};

struct VerifyCost {
  size_t draft_tokens = 0;            // K
  BenchStat single_ms;                // c(1): Forward with 1 token, sampled next to...
  BenchStat batch_ms;                 // c(1+K): Forward with 1 + K tokens, all rows' logits
  BenchStat truncate_ms;              // the Truncate that drops the K tokens again
  double cost_ratio = 0;              // c(1+K) / c(1), from the medians
  // speedup[A] for A = 0..K accepted drafts per call: (A + 1) * c(1) / c(1+K), the decode speed-up
  // over one token per call when each call settles A drafts and the model's own token.
  std::vector<double> speedup;
};

struct VerifyBenchResult {
  std::string model;
  std::string dtype;
  int threads = 0;
  size_t prompt_tokens = 0;
  double load_ms = 0;
  double prefill_ms = 0;              // the one untimed-for-the-ratio prefill
  std::vector<VerifyCost> costs;      // one per K, in the order asked
  double peak_rss_mb = 0;

  nlohmann::ordered_json ToJson() const;
};

// Throws Error(kInvalidArgument) for no K, K = 0 or r < 1, Error(kLimit) when the prompt and the
// largest 1 + K exceed the context.
VerifyBenchResult RunVerifyBench(const std::shared_ptr<const Model>& model, const VerifyBenchOptions& options,
                                 const std::function<void(const std::string&)>& progress = {});

}  // namespace gemma4
