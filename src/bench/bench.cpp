// `gemma4 bench` measurements: the user-facing generation loop (Session::Generate, greedy) timed
// from token ids in, repeated on a fresh cache, with the ONNX Runtime share read off the KV state.
#include "bench/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <string>

#include "bench/memory_watch.h"
#include "gemma4/error.h"
#include "gemma4/generator.h"

namespace gemma4 {

BenchStat BenchStat::Of(std::vector<double> samples) {
  BenchStat s;
  s.samples = samples;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / double(n);
  double var = 0;
  for (double v : samples) var += (v - s.mean) * (v - s.mean);
  s.stddev = n > 1 ? std::sqrt(var / double(n - 1)) : 0.0;
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  }
  return 0;
}

namespace {

// One timed generation: prompt -> first token -> `steps` more single-token steps.
struct RunFigures {
  double ttft_ms = 0, decode_ms = 0, decode_ort_ms = 0;
  size_t steps = 0;
  std::vector<int32_t> output;
};

RunFigures TimedRun(Session& session, std::span<const int32_t> prompt, size_t steps) {
  session.Reset();
  GenerateOptions options;
  options.max_new_tokens = steps + 1;  // the first token comes from the prefill
  options.sampling.do_sample = false;
  options.sampling.temperature = 0.0f;
  options.ignore_eos = true;
  double ort_at_first = -1;
  KvState& state = session.kv_state();
  options.on_token = [&](std::string_view, int32_t) {
    if (ort_at_first < 0) ort_at_first = state.ort_run_ms();
    return true;
  };
  GenerationResult r = session.Generate(prompt, options);
  RunFigures f;
  f.ttft_ms = r.timings.prefill_ms;
  f.decode_ms = r.timings.decode_ms;
  f.steps = r.output_ids.size() > 0 ? r.output_ids.size() - 1 : 0;
  f.decode_ort_ms = state.ort_run_ms() - std::max(ort_at_first, 0.0);
  f.output = std::move(r.output_ids);
  return f;
}

std::vector<int32_t> RandomPrompt(size_t n, int64_t vocab, uint64_t seed) {
  // <bos>, then ids above the special-token range (Gemma keeps specials below 256).
  std::mt19937_64 rng(seed);
  const int64_t lo = std::min<int64_t>(1000, vocab / 2);
  std::uniform_int_distribution<int64_t> dist(lo, vocab - 1);
  std::vector<int32_t> ids(n);
  ids[0] = 2;
  for (size_t i = 1; i < n; ++i) ids[i] = static_cast<int32_t>(dist(rng));
  return ids;
}

nlohmann::ordered_json StatJson(const BenchStat& s) {
  return {{"median", s.median}, {"mean", s.mean}, {"stddev", s.stddev}, {"min", s.min}, {"max", s.max},
          {"samples", s.samples}};
}

}  // namespace

nlohmann::ordered_json BenchResult::ToJson() const {
  nlohmann::ordered_json depth_json = nlohmann::ordered_json::array();
  for (const auto& d : depths) {
    depth_json.push_back({{"depth", d.depth}, {"ttft_ms", StatJson(d.ttft_ms)}, {"decode_tok_s", StatJson(d.decode_tok_s)},
                          {"host_share", StatJson(d.host_share)}, {"peak_rss_mb", d.peak_rss_mb},
                          {"peak_anon_mb", d.peak_anon_mb}});
  }
  return {{"model", model},
          {"dtype", dtype},
          {"threads", threads},
          {"prompt_tokens", prompt_tokens},
          {"gen_tokens", gen_tokens},
          {"repetitions", ttft_ms.samples.size()},
          {"load_ms", load_ms},
          {"ttft_ms", StatJson(ttft_ms)},
          {"prefill_tok_s", StatJson(prefill_tok_s)},
          {"decode_tok_s", StatJson(decode_tok_s)},
          {"decode_ms_per_token", StatJson(decode_ms_per_token)},
          {"host_share", StatJson(host_share)},
          {"host_ms_per_token", StatJson(host_ms_per_token)},
          {"depths", depth_json},
          {"peak_rss_mb", peak_rss_mb},
          {"peak_anon_mb", peak_anon_mb},
          {"prompt_ids", prompt_ids},
          {"output_ids", output_ids}};
}

BenchResult RunBench(const std::shared_ptr<const Model>& model, const BenchOptions& options,
                     const std::function<void(const std::string&)>& progress) {
  if (!model) throw Error(ErrorKind::kInvalidArgument, "bench: no model");
  if (options.repetitions < 1) throw Error(ErrorKind::kInvalidArgument, "bench: -r must be at least 1");
  if (options.gen_tokens < 1) throw Error(ErrorKind::kInvalidArgument, "bench: -n must be at least 1");
  const Runtime& runtime = model->runtime();
  const int64_t vocab = runtime.vocab_size();

  BenchResult result;
  result.model = model->package().root.string();
  result.dtype = model->package().dtype;
  result.threads = runtime.options().threads;
  result.load_ms = model->load_ms();
  result.gen_tokens = options.gen_tokens;
  result.prompt_ids = options.prompt_ids.empty() ? RandomPrompt(options.prompt_tokens, vocab, options.seed)
                                                 : options.prompt_ids;
  if (result.prompt_ids.empty()) throw Error(ErrorKind::kInvalidArgument, "bench: -p must be at least 1");
  result.prompt_tokens = result.prompt_ids.size();
  const size_t longest = std::max(result.prompt_tokens,
                                  options.depths.empty() ? 0 : *std::max_element(options.depths.begin(), options.depths.end()));
  if (longest + options.gen_tokens + 1 > runtime.max_context()) {
    throw Error(ErrorKind::kLimit, "bench: " + std::to_string(longest) + " prompt tokens + " +
                                       std::to_string(options.gen_tokens + 1) + " generated exceed the context size of " +
                                       std::to_string(runtime.max_context()) + " (raise -c)");
  }

  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  Session session(model);
  for (int w = 0; w < options.warmup; ++w) {
    say("warmup " + std::to_string(w + 1) + "/" + std::to_string(options.warmup));
    const size_t n = std::min<size_t>(result.prompt_tokens, 16);
    TimedRun(session, std::span<const int32_t>(result.prompt_ids).first(n), 2);
  }

  std::vector<double> ttft, prefill, decode, ms_per_token, share, host_ms;
  MemoryWatch main_memory;
  for (int r = 0; r < options.repetitions; ++r) {
    say("pp" + std::to_string(result.prompt_tokens) + "+tg" + std::to_string(options.gen_tokens) + " run " +
        std::to_string(r + 1) + "/" + std::to_string(options.repetitions));
    RunFigures f = TimedRun(session, result.prompt_ids, options.gen_tokens);
    ttft.push_back(f.ttft_ms);
    prefill.push_back(f.ttft_ms > 0 ? double(result.prompt_tokens) * 1000.0 / f.ttft_ms : 0.0);
    const double per = f.steps ? f.decode_ms / double(f.steps) : 0.0;
    decode.push_back(per > 0 ? 1000.0 / per : 0.0);
    ms_per_token.push_back(per);
    const double host = std::max(0.0, f.decode_ms - f.decode_ort_ms);
    share.push_back(f.decode_ms > 0 ? host / f.decode_ms : 0.0);
    host_ms.push_back(f.steps ? host / double(f.steps) : 0.0);
    if (r == 0) result.output_ids = std::move(f.output);
  }
  result.peak_anon_mb = main_memory.Stop().anon_mb;
  result.ttft_ms = BenchStat::Of(ttft);
  result.prefill_tok_s = BenchStat::Of(prefill);
  result.decode_tok_s = BenchStat::Of(decode);
  result.decode_ms_per_token = BenchStat::Of(ms_per_token);
  result.host_share = BenchStat::Of(share);
  result.host_ms_per_token = BenchStat::Of(host_ms);

  for (size_t depth : options.depths) {
    if (depth == 0) continue;
    std::vector<int32_t> prompt = RandomPrompt(depth, vocab, options.seed + depth);
    std::vector<double> d_ttft, d_decode, d_share;
    session.Reset();  // the previous depth's cache goes before this depth's peaks are taken
    MemoryWatch memory;
    for (int r = 0; r < options.repetitions; ++r) {
      say("tg" + std::to_string(options.gen_tokens) + " @ depth " + std::to_string(depth) + " run " +
          std::to_string(r + 1) + "/" + std::to_string(options.repetitions));
      RunFigures f = TimedRun(session, prompt, options.gen_tokens);
      d_ttft.push_back(f.ttft_ms);
      d_decode.push_back(f.decode_ms > 0 ? double(f.steps) * 1000.0 / f.decode_ms : 0.0);
      d_share.push_back(f.decode_ms > 0 ? std::max(0.0, f.decode_ms - f.decode_ort_ms) / f.decode_ms : 0.0);
    }
    const MemoryFigures peaks = memory.Stop();
    result.depths.push_back({depth, BenchStat::Of(d_ttft), BenchStat::Of(d_decode), BenchStat::Of(d_share),
                             peaks.rss_mb, peaks.anon_mb});
  }
  result.peak_rss_mb = PeakRssMb();
  return result;
}

nlohmann::ordered_json VerifyBenchResult::ToJson() const {
  nlohmann::ordered_json cost_json = nlohmann::ordered_json::array();
  for (const auto& c : costs) {
    nlohmann::ordered_json speedup = nlohmann::ordered_json::array();
    for (size_t a = 0; a < c.speedup.size(); ++a) speedup.push_back({{"accepted", a}, {"speedup", c.speedup[a]}});
    cost_json.push_back({{"draft_tokens", c.draft_tokens},
                         {"single_ms", StatJson(c.single_ms)},
                         {"batch_ms", StatJson(c.batch_ms)},
                         {"truncate_ms", StatJson(c.truncate_ms)},
                         {"cost_ratio", c.cost_ratio},
                         {"speedup", speedup}});
  }
  return {{"model", model},     {"dtype", dtype},           {"threads", threads},
          {"prompt_tokens", prompt_tokens}, {"load_ms", load_ms}, {"prefill_ms", prefill_ms},
          {"verify", cost_json}, {"peak_rss_mb", peak_rss_mb}};
}

VerifyBenchResult RunVerifyBench(const std::shared_ptr<const Model>& model, const VerifyBenchOptions& options,
                                 const std::function<void(const std::string&)>& progress) {
  using Clock = std::chrono::steady_clock;
  if (!model) throw Error(ErrorKind::kInvalidArgument, "bench: no model");
  if (options.repetitions < 1) throw Error(ErrorKind::kInvalidArgument, "bench: -r must be at least 1");
  if (options.draft_sizes.empty()) throw Error(ErrorKind::kInvalidArgument, "bench: --verify needs at least one K");
  for (size_t k : options.draft_sizes) {
    if (k == 0) throw Error(ErrorKind::kInvalidArgument, "bench: --verify K must be at least 1, got 0");
  }
  const Runtime& runtime = model->runtime();
  const int64_t vocab = runtime.vocab_size();

  VerifyBenchResult result;
  result.model = model->package().root.string();
  result.dtype = model->package().dtype;
  result.threads = runtime.options().threads;
  result.load_ms = model->load_ms();
  const std::vector<int32_t> prompt = options.prompt_ids.empty()
                                          ? RandomPrompt(options.prompt_tokens, vocab, options.seed)
                                          : options.prompt_ids;
  if (prompt.empty()) throw Error(ErrorKind::kInvalidArgument, "bench: -p must be at least 1");
  result.prompt_tokens = prompt.size();
  const size_t largest = *std::max_element(options.draft_sizes.begin(), options.draft_sizes.end());
  if (prompt.size() + 1 + largest > runtime.max_context()) {
    throw Error(ErrorKind::kLimit, "bench: " + std::to_string(prompt.size()) + " prompt tokens + " +
                                       std::to_string(1 + largest) + " verified exceed the context size of " +
                                       std::to_string(runtime.max_context()) + " (raise -c)");
  }
  // The verified tokens: their values do not change the cost, only their number does.
  std::vector<int32_t> ids = RandomPrompt(largest + 2, vocab, options.seed + 1);
  ids.erase(ids.begin());  // no <bos> in the middle of a conversation

  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  auto state = runtime.NewState();
  say("prefill " + std::to_string(prompt.size()) + " tokens");
  const auto t0 = Clock::now();
  runtime.Forward(*state, prompt, 1);
  result.prefill_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const size_t depth = state->length();

  // One timed Forward of n tokens (logits for every row), then the Truncate back (timed apart).
  auto call = [&](size_t n, double* truncate_ms) {
    const std::span<const int32_t> run(ids.data(), n);
    const auto a = Clock::now();
    runtime.Forward(*state, run, n);
    const auto b = Clock::now();
    state->Truncate(depth);
    const auto c = Clock::now();
    if (truncate_ms) *truncate_ms = std::chrono::duration<double, std::milli>(c - b).count();
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  for (int w = 0; w < options.warmup; ++w) {
    say("warmup " + std::to_string(w + 1) + "/" + std::to_string(options.warmup));
    call(1, nullptr);
    for (size_t k : options.draft_sizes) call(1 + k, nullptr);
  }
  const size_t n_sizes = options.draft_sizes.size();
  std::vector<std::vector<double>> single(n_sizes), batch(n_sizes), truncate(n_sizes);
  for (int r = 0; r < options.repetitions; ++r) {
    say("verify run " + std::to_string(r + 1) + "/" + std::to_string(options.repetitions));
    for (size_t i = 0; i < n_sizes; ++i) {
      double trunc = 0;
      single[i].push_back(call(1, nullptr));
      batch[i].push_back(call(1 + options.draft_sizes[i], &trunc));
      truncate[i].push_back(trunc);
    }
  }
  for (size_t i = 0; i < n_sizes; ++i) {
    VerifyCost c;
    c.draft_tokens = options.draft_sizes[i];
    c.single_ms = BenchStat::Of(single[i]);
    c.batch_ms = BenchStat::Of(batch[i]);
    c.truncate_ms = BenchStat::Of(truncate[i]);
    c.cost_ratio = c.single_ms.median > 0 ? c.batch_ms.median / c.single_ms.median : 0.0;
    for (size_t a = 0; a <= c.draft_tokens; ++a) {
      c.speedup.push_back(c.batch_ms.median > 0 ? double(a + 1) * c.single_ms.median / c.batch_ms.median : 0.0);
    }
    result.costs.push_back(std::move(c));
  }
  result.peak_rss_mb = PeakRssMb();
  return result;
}

}  // namespace gemma4
