// MatMulNBits (4-bit, block 32, accuracy_level 4) on the Gemma 4 E2B shapes: ONNX Runtime's
// kernel against ours (src/kernels/), both as one-node sessions on the same intra-op pool size,
// reported as GB/s of weights read (int4 codes + float scales). ReadBandwidth is a STREAM-like
// read of 1 GiB with the same threads: the ceiling a matrix-vector product can reach.
// Threads: GEMMA4_BENCH_THREADS (default 2). Target: GEMMA4_KERNEL_ISA, as for gemma4.
#include <atomic>
#include <map>
#include <tuple>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "gemma4/runtime.h"
#include "kernels/int4_matmul_op.h"
#include "kernels/matmulnbits_graph.h"
#include "runtime/onnx_op_routing.h"
#include "runtime/ort.h"

namespace {

using gemma4::kernels::testing::MatMulNBitsCase;

int Threads() {
  const char* t = std::getenv("GEMMA4_BENCH_THREADS");
  return t != nullptr ? std::max(1, std::atoi(t)) : 2;
}

struct Graph {
  std::unique_ptr<Ort::Session> session;
  size_t weight_bytes = 0;
};

Graph MakeGraph(size_t n, size_t k, bool ours) {
  MatMulNBitsCase c;
  c.m = 0, c.n = n, c.k = k;  // any row count
  const size_t blocks = (k + 31) / 32;
  std::mt19937 rng(7);
  c.codes.resize(n * blocks * 16);
  for (auto& b : c.codes) b = static_cast<uint8_t>(rng());
  std::vector<float> scales(n * blocks);
  for (auto& s : scales) s = 0.001f + static_cast<float>(rng() % 1000) * 1e-5f;
  c.scale_bytes.resize(scales.size() * 4);
  std::memcpy(c.scale_bytes.data(), scales.data(), c.scale_bytes.size());
  std::string model = gemma4::kernels::testing::MatMulNBitsModel(c);
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(Threads());
  so.SetInterOpNumThreads(1);
  so.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
  if (ours) {
    gemma4::kernels::AddInt4MatMulOps(so, gemma4::kernels::DefaultIsa());
    gemma4::onnx::RoutedModel routed = gemma4::onnx::RouteMatMulNBits(
        model, {gemma4::kernels::kOpDomain, gemma4::kernels::kOpF32, gemma4::kernels::kOpF16}, "bench");
    if (routed.routed != 1) std::abort();
    model = std::move(routed.model);
  }
  Graph g;
  g.session = std::make_unique<Ort::Session>(gemma4::OrtEnv(Threads()), model.data(), model.size(), so);
  g.weight_bytes = c.codes.size() + c.scale_bytes.size();
  return g;
}

void Run(benchmark::State& state, bool ours) {
  const size_t k = static_cast<size_t>(state.range(0)), n = static_cast<size_t>(state.range(1));
  const size_t m = static_cast<size_t>(state.range(2));
  static std::map<std::tuple<size_t, size_t, bool>, Graph> graphs;  // one session per shape, reused across M
  auto key = std::make_tuple(k, n, ours);
  if (!graphs.count(key)) graphs.emplace(key, MakeGraph(n, k, ours));
  Graph& g = graphs.at(key);
  std::vector<float> a(m * k);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (auto& v : a) v = normal(rng);
  Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const int64_t shape[] = {static_cast<int64_t>(m), static_cast<int64_t>(k)};
  Ort::Value input = Ort::Value::CreateTensor<float>(cpu, a.data(), a.size(), shape, 2);
  std::vector<float> y(m * n);
  const int64_t y_shape[] = {static_cast<int64_t>(m), static_cast<int64_t>(n)};
  Ort::Value output = Ort::Value::CreateTensor<float>(cpu, y.data(), y.size(), y_shape, 2);
  const char* in_names[] = {"A"};
  const char* out_names[] = {"Y"};
  for (auto _ : state) {
    g.session->Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, &output, 1);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(g.weight_bytes) * state.iterations() / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_Ort(benchmark::State& state) { Run(state, false); }
void BM_Gemma4(benchmark::State& state) { Run(state, true); }

void Shapes(benchmark::internal::Benchmark* b) {
  const std::pair<int64_t, int64_t> kn[] = {{1536, 256},  {256, 1536},  {1536, 2048}, {1536, 6144}, {1536, 12288},
                                            {1536, 262144}, {6144, 1536}, {12288, 1536}};
  for (auto [k, n] : kn)
    for (int64_t m : {1, 2, 5, 8}) b->Args({k, n, m});
  b->ArgNames({"K", "N", "M"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

// Sum of 1 GiB of int64 with Threads() threads, each over its own slice.
void BM_ReadBandwidth(benchmark::State& state) {
  const size_t bytes = size_t{1} << 30;
  static std::vector<int64_t> data(bytes / sizeof(int64_t), 1);
  const int threads = Threads();
  for (auto _ : state) {
    std::atomic<int64_t> total{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t per = data.size() / threads;
        const int64_t* p = data.data() + per * t;
        int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 4 <= per; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
        total += s0 + s1 + s2 + s3;
      });
    }
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(total.load());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_ReadBandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ort)->Apply(Shapes);
BENCHMARK(BM_Gemma4)->Apply(Shapes);

int main(int argc, char** argv) {
  gemma4::GetOrtInfo();  // loads the ONNX Runtime API table
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
