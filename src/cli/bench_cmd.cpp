// `gemma4 bench`: llama-bench-style figures for one package (see bench/bench.h): a markdown table
// on stdout, or one JSON object with --json. Progress goes to stderr.
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "bench/bench.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "gemma4/error.h"

namespace gemma4::cli {
namespace {

struct BenchFlags {
  ModelFlags model;
  BenchOptions bench;
  std::vector<size_t> depths;
  std::vector<size_t> verify;  // --verify: measure the speculative verification cost instead
  std::string prompt_ids_file;
  bool json = false;
  bool quiet = false;
};

std::vector<int32_t> ReadIdsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::kNotFound, path + ": cannot read the prompt ids file");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kInvalidArgument, path + ": not JSON: " + e.what());
  }
  if (!j.is_array() || j.empty()) throw Error(ErrorKind::kInvalidArgument, path + ": expected a non-empty JSON array of token ids");
  std::vector<int32_t> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer() || j[i].get<int64_t>() < 0 || j[i].get<int64_t>() > INT32_MAX) {
      throw Error(ErrorKind::kInvalidArgument, path + ": item " + std::to_string(i) + " is not a token id");
    }
    ids.push_back(j[i].get<int32_t>());
  }
  return ids;
}

std::string Cell(const BenchStat& s, int precision) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", precision, s.median, precision, s.stddev);
  return buf;
}

void PrintTable(const BenchResult& r) {
  const std::string model = std::filesystem::path(r.model).filename().string();
  const std::string threads = r.threads > 0 ? std::to_string(r.threads) : "auto";
  std::printf("| model | dtype | threads | test | t/s (median ± sd) | ms |\n");
  std::printf("| --- | --- | --- | --- | ---: | ---: |\n");
  std::printf("| %s | %s | %s | pp%zu | %s | ttft %s |\n", model.c_str(), r.dtype.c_str(), threads.c_str(), r.prompt_tokens,
              Cell(r.prefill_tok_s, 2).c_str(), Cell(r.ttft_ms, 1).c_str());
  std::printf("| %s | %s | %s | tg%zu | %s | %s /token |\n", model.c_str(), r.dtype.c_str(), threads.c_str(), r.gen_tokens,
              Cell(r.decode_tok_s, 2).c_str(), Cell(r.decode_ms_per_token, 2).c_str());
  for (const auto& d : r.depths) {
    std::printf("| %s | %s | %s | tg%zu @ d%zu | %s | ttft %s |\n", model.c_str(), r.dtype.c_str(), threads.c_str(),
                r.gen_tokens, d.depth, Cell(d.decode_tok_s, 2).c_str(), Cell(d.ttft_ms, 1).c_str());
  }
  std::printf("\nload %.0f ms | peak RSS %.0f MiB | peak anonymous %.0f MiB | host work outside ONNX Runtime %.2f%% of a "
              "decode step (%.3f ms/token) | %zu repetitions\n",
              r.load_ms, r.peak_rss_mb, r.peak_anon_mb, 100.0 * r.host_share.median, r.host_ms_per_token.median,
              r.ttft_ms.samples.size());
  if (!r.depths.empty()) {
    std::printf("\n| depth | peak RSS MiB | peak anonymous MiB |\n| ---: | ---: | ---: |\n");
    for (const auto& d : r.depths) std::printf("| %zu | %.0f | %.0f |\n", d.depth, d.peak_rss_mb, d.peak_anon_mb);
  }
}

void PrintVerifyTable(const VerifyBenchResult& r) {
  const std::string model = std::filesystem::path(r.model).filename().string();
  const std::string threads = r.threads > 0 ? std::to_string(r.threads) : "auto";
  std::printf("| model | dtype | threads | depth | K | c(1) ms | c(1+K) ms | c(1+K)/c(1) | speed-up at A = 0..K accepted |\n");
  std::printf("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
  for (const auto& c : r.costs) {
    std::string speedups;
    for (size_t a = 0; a < c.speedup.size(); ++a) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%sA=%zu: %.2fx", a ? ", " : "", a, c.speedup[a]);
      speedups += buf;
    }
    std::printf("| %s | %s | %s | %zu | %zu | %s | %s | %.2f | %s |\n", model.c_str(), r.dtype.c_str(), threads.c_str(),
                r.prompt_tokens, c.draft_tokens, Cell(c.single_ms, 1).c_str(), Cell(c.batch_ms, 1).c_str(), c.cost_ratio,
                speedups.c_str());
  }
  const size_t reps = r.costs.empty() ? 0 : r.costs.front().single_ms.samples.size();
  std::printf("\nload %.0f ms | prefill %.0f ms | truncate %.2f ms (median, K=%zu) | peak RSS %.0f MiB | %zu repetitions\n",
              r.load_ms, r.prefill_ms, r.costs.empty() ? 0.0 : r.costs.back().truncate_ms.median,
              r.costs.empty() ? size_t{0} : r.costs.back().draft_tokens, r.peak_rss_mb, reps);
}

void RunVerify(BenchFlags& f, const std::shared_ptr<const Model>& model,
               const std::function<void(const std::string&)>& progress) {
  VerifyBenchOptions v;
  v.prompt_tokens = f.bench.prompt_tokens;
  v.draft_sizes = f.verify;
  v.repetitions = f.bench.repetitions;
  v.warmup = f.bench.warmup;
  v.prompt_ids = f.bench.prompt_ids;
  v.seed = f.bench.seed;
  VerifyBenchResult r = RunVerifyBench(model, v, progress);
  if (f.json) {
    std::cout << r.ToJson().dump() << '\n';
  } else {
    PrintVerifyTable(r);
  }
}

void Run(BenchFlags& f) {
  f.bench.depths = f.depths;
  if (!f.prompt_ids_file.empty()) f.bench.prompt_ids = ReadIdsFile(f.prompt_ids_file);
  LoadOptions load;
  load.dtype = f.model.dtype;
  load.runtime = f.model.runtime;
  if (!f.quiet) std::cerr << "loading " << f.model.model << " (" << f.model.dtype << ")\n";
  auto model = Model::Load(ResolveModelArg(f.model), load);
  auto progress = [&](const std::string& line) {
    if (!f.quiet) std::cerr << line << '\n';
  };
  if (!f.verify.empty()) return RunVerify(f, model, progress);
  BenchResult r = RunBench(model, f.bench, progress);
  if (f.json) {
    std::cout << r.ToJson().dump() << '\n';
  } else {
    PrintTable(r);
  }
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  AddModelFlags(app, f->model);
  app.add_option("-p,--n-prompt", f->bench.prompt_tokens, "Prompt length in tokens (random ids)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("-n,--n-gen", f->bench.gen_tokens, "Decode steps to time after the first token")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("-r,--repetitions", f->bench.repetitions, "Repetitions of each test")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--warmup", f->bench.warmup, "Untimed short runs before the first repetition")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("-d,--depth", f->depths,
                 "Also, per depth: prefill that many tokens, then time decoding (TTFT, tok/s, peak RSS and anonymous "
                 "memory each; list: 512,4096,16384)")
      ->delimiter(',');
  app.add_option("--verify", f->verify,
                 "Instead of pp/tg: time a decoder call with 1+K tokens against one with 1 token after the -p "
                 "prompt (speculative decoding's cost ratio and speed-up per accepted draft; K list: 1,2,4)")
      ->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--prompt-ids-file", f->prompt_ids_file, "Prompt as a JSON array of token ids (overrides -p)");
  app.add_option("--seed", f->bench.seed, "Seed of the random prompt")->capture_default_str();
  app.add_option_function<std::string>(
         "--profile",
         [f](const std::string& prefix) {
           f->model.runtime.profile = true;
           f->model.runtime.profile_prefix = prefix;
         },
         "Write ONNX Runtime profiles to PREFIX_<graph>_<time>.json (see bench/profile_summary)");
  app.add_flag("--json", f->json, "Print one JSON object (every sample, medians, spreads) instead of a table");
  app.add_flag("-q,--quiet", f->quiet, "No progress lines on stderr");
  app.callback([f] { Run(*f); });
}

const bool kRegistered = RegisterCommand({"bench", "Measure prefill and decode speed, TTFT, load time and memory", Setup});

}  // namespace
}  // namespace gemma4::cli
