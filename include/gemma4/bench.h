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
  std::vector<size_t> depths;        // --depth: decode also measured after this many cached tokens
  std::vector<int32_t> prompt_ids;   // the prompt; empty: prompt_tokens random ids (seeded)
  uint64_t seed = 1234;              // for the random prompt
};

// Median and spread of one figure over the repetitions.
struct BenchStat {
  std::vector<double> samples;
  double median = 0, mean = 0, stddev = 0, min = 0, max = 0;
  static BenchStat Of(std::vector<double> samples);
};

struct BenchDepthResult {
  size_t depth = 0;
  BenchStat decode_tok_s;
  BenchStat host_share;  // fraction of each decode step spent outside ONNX Runtime's Run
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

}  // namespace gemma4
