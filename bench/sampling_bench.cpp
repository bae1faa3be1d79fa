// One sampling step over a Gemma-sized row of logits (262144), for the figures in docs/BENCHMARKS.md.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "gemma4/sampling.h"

namespace {

constexpr size_t kVocab = 262144;

// Roughly the shape of a language model's row: a broad normal background and a handful of strong tokens.
std::vector<float> Row() {
  std::mt19937 gen(1);
  std::normal_distribution<float> background(0.0f, 2.5f);
  std::vector<float> row(kVocab);
  for (auto& x : row) x = background(gen);
  for (int i = 0; i < 16; ++i) row[gen() % kVocab] = 14.0f + static_cast<float>(i % 5);
  return row;
}

void Run(benchmark::State& state, gemma4::SamplingParams params, bool penalties) {
  std::vector<float> row = Row();
  std::vector<int32_t> context;
  if (penalties) {
    std::mt19937 gen(2);
    for (int i = 0; i < 4096; ++i) context.push_back(static_cast<int32_t>(gen() % kVocab));
  }
  gemma4::Sampler sampler(params, kVocab);
  std::vector<float> work = row;
  for (auto _ : state) {
    if (penalties) work = row;  // penalties edit the row in place; the copy (1 MiB) is part of the figure
    benchmark::DoNotOptimize(sampler.Sample(work, context, context.size() / 2));
  }
}

void BM_Greedy(benchmark::State& state) {
  gemma4::SamplingParams p;
  p.do_sample = false;
  Run(state, p, false);
}

void BM_TopK64TopP095(benchmark::State& state) {
  gemma4::SamplingParams p;
  p.top_k = 64;
  p.top_p = 0.95f;
  Run(state, p, false);
}

void BM_TopP095FullVocab(benchmark::State& state) {
  gemma4::SamplingParams p;
  p.top_p = 0.95f;
  Run(state, p, false);
}

void BM_TopK64TopP095Penalties4k(benchmark::State& state) {
  gemma4::SamplingParams p;
  p.top_k = 64;
  p.top_p = 0.95f;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  Run(state, p, true);
}

BENCHMARK(BM_Greedy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopK64TopP095)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopP095FullVocab)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopK64TopP095Penalties4k)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
