// The int4 x int8 kernel against a float64 reference of the dequantized weights and against ONNX
// Runtime's own MatMulNBits (accuracy_level 4) on the same inputs, on every target this CPU runs.
#include "kernels/int4_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <random>

#include "kernels/int4_matmul_op.h"
#include "kernels/matmulnbits_graph.h"
#include "kernels/op_domain.h"
#include "runtime/onnx_op_routing.h"
#include "gemma4/runtime.h"
#include "runtime/ort.h"

namespace gemma4::kernels {
namespace {

using testing::MatMulNBitsCase;

struct Shape {
  size_t m, n, k;
  bool half = false;
  bool zero_points = false;
  enum Values { kRandom, kZeroBlocks, kExtreme, kTies, kOneHuge } values = kRandom;
};

std::string Describe(const Shape& s) {
  static const char* kValues[] = {"random", "zero-blocks", "extreme", "ties", "one-huge"};
  return "M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) + " K=" + std::to_string(s.k) +
         (s.half ? " fp16" : " fp32") + (s.zero_points ? " zp" : "") + " " + kValues[s.values];
}

struct Inputs {
  MatMulNBitsCase graph;
  std::vector<float> a;  // [m][k], exactly what both kernels see (half-rounded in fp16 cases)
  std::vector<uint16_t> a_half;
};

Inputs MakeInputs(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> nibble(0, 15);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  Inputs in;
  MatMulNBitsCase& c = in.graph;
  c.m = s.m, c.n = s.n, c.k = s.k, c.half = s.half;
  const size_t blocks = (s.k + 31) / 32;
  c.codes.resize(s.n * blocks * 16);
  for (auto& b : c.codes) b = static_cast<uint8_t>(nibble(rng) | (nibble(rng) << 4));
  std::vector<float> scales(s.n * blocks);
  for (auto& v : scales) v = scale(rng);
  if (s.values == Shape::kExtreme && !s.half) {
    for (size_t i = 0; i < scales.size(); i += 3) scales[i] = 1e12f;
    for (size_t i = 1; i < scales.size(); i += 3) scales[i] = 1e-20f;
  }
  if (s.values == Shape::kExtreme && s.half) {
    // Block b's scale against block b's activations (below): a subnormal half scale meets
    // activations near the half maximum, the largest scales meet tiny ones; the sums stay finite.
    for (size_t i = 0; i < scales.size(); ++i) {
      if ((i % blocks) % 3 == 0) scales[i] = 6e-8f;
      if ((i % blocks) % 3 == 1) scales[i] = 60000.0f;
    }
  }
  if (s.values == Shape::kZeroBlocks) {
    for (size_t i = 0; i < scales.size(); i += 5) scales[i] = 0.0f;
  }
  if (s.half) {
    c.scale_bytes.resize(scales.size() * 2);
    for (size_t i = 0; i < scales.size(); ++i) {
      const uint16_t h = FloatToHalf(scales[i]);
      std::memcpy(&c.scale_bytes[2 * i], &h, 2);
    }
  } else {
    c.scale_bytes.resize(scales.size() * 4);
    std::memcpy(c.scale_bytes.data(), scales.data(), c.scale_bytes.size());
  }
  if (s.zero_points) {
    c.zero_points.resize(s.n * ((blocks + 1) / 2));
    for (auto& z : c.zero_points) z = static_cast<uint8_t>(nibble(rng) | (nibble(rng) << 4));
  }
  in.a.resize(s.m * s.k);
  for (auto& v : in.a) v = normal(rng);
  switch (s.values) {
    case Shape::kRandom: break;
    case Shape::kZeroBlocks:  // whole activation blocks of zeros (scale 0, inverse 0)
      for (size_t r = 0; r < s.m; ++r)
        for (size_t k = 0; k < s.k; ++k)
          if ((k / 32 + r) % 3 == 0) in.a[r * s.k + k] = 0.0f;
      break;
    case Shape::kExtreme:  // large, tiny and mixed magnitudes in one row
      for (size_t i = 0; i < in.a.size(); ++i) {
        const size_t block = (i % s.k) / 32;
        const float mag = block % 3 == 0 ? (s.half ? 20000.0f : 1e15f) : block % 3 == 1 ? (s.half ? 1e-4f : 1e-25f) : 1.0f;
        in.a[i] *= mag;
      }
      break;
    case Shape::kTies:  // amax 127 makes the inverse scale exactly 1: every x.5 is a rounding tie
      for (size_t i = 0; i < in.a.size(); ++i) {
        in.a[i] = (i % 32 == 0) ? 127.0f : static_cast<float>(static_cast<int>(i % 253) - 126) + 0.5f;
      }
      break;
    case Shape::kOneHuge:  // one element per block dominates; the rest quantize to 0 or +-1
      for (size_t i = 0; i < in.a.size(); i += 32) in.a[i] = 1000.0f * (i % 64 == 0 ? 1.0f : -1.0f);
      break;
  }
  if (s.half) {
    in.a_half.resize(in.a.size());
    for (size_t i = 0; i < in.a.size(); ++i) {
      in.a_half[i] = FloatToHalf(in.a[i]);
      in.a[i] = HalfToFloat(in.a_half[i]);
    }
  }
  return in;
}

Int4Weights WeightsOf(const MatMulNBitsCase& c) {
  Int4Weights w;
  w.codes = c.codes.data();
  w.scales = c.scale_bytes.data();
  w.scales_are_half = c.half;
  w.zero_points = c.zero_points.empty() ? nullptr : c.zero_points.data();
  w.n = c.n;
  w.k = c.k;
  return w;
}

// float64 of the dequantized weights times the (float) activations.
std::vector<double> Reference(const Inputs& in) {
  const MatMulNBitsCase& c = in.graph;
  const Int4Weights w = WeightsOf(c);
  std::vector<double> y(c.m * c.n, 0.0);
  for (size_t r = 0; r < c.m; ++r) {
    for (size_t n = 0; n < c.n; ++n) {
      double acc = 0.0;
      for (size_t k = 0; k < c.k; ++k) {
        const size_t b = k / 32, j = k % 32;
        const uint8_t byte = c.codes[(n * w.blocks() + b) * 16 + j / 2];
        const int code = (j & 1) ? byte >> 4 : byte & 0x0F;
        acc += static_cast<double>(in.a[r * c.k + k]) * (code - WeightZeroPoint(w, n, b)) * WeightScale(w, n, b);
      }
      y[r * c.n + n] = acc;
    }
  }
  return y;
}

// What float rounding alone may change between two kernels with the same codes and scales:
// 8 float ulps of the sum of the magnitudes each of them adds up. Ours adds one term per block,
// scale_a * scale_b * dot(a, code - zero_point); ONNX Runtime adds two, the dot with the raw
// codes (0..15) and, through a float GEMM of per-block sums, -zero_point * scale_b * (scale_a *
// sum(a)). For float16 outputs add one half ulp (a float that lands on the other side of a
// rounding point).
std::vector<double> SummationSlack(const Inputs& in, const QuantizedRows& q) {
  const MatMulNBitsCase& c = in.graph;
  const Int4Weights w = WeightsOf(c);
  std::vector<double> slack(c.m * c.n);
  for (size_t r = 0; r < c.m; ++r) {
    for (size_t n = 0; n < c.n; ++n) {
      double sum_abs = 0.0, sum = 0.0;
      for (size_t b = 0; b < w.blocks(); ++b) {
        const int zp = WeightZeroPoint(w, n, b);
        int dot = 0, raw_dot = 0, block_sum = 0;
        for (size_t j = 0; j < 16; ++j) {
          const uint8_t byte = c.codes[(n * w.blocks() + b) * 16 + j];
          const int lo = q.Even(r, b, j), hi = q.Odd(r, b, j);
          raw_dot += (byte & 0x0F) * lo + (byte >> 4) * hi;
          block_sum += lo + hi;
        }
        dot = raw_dot - zp * block_sum;
        const double scale = static_cast<double>(q.scales[r * q.blocks + b] * WeightScale(w, n, b));
        sum_abs += std::fabs(scale * dot) + std::fabs(scale * raw_dot) + std::fabs(scale * zp * block_sum);
        sum += scale * dot;
      }
      double s = 8.0 * std::ldexp(sum_abs, -24);
      if (c.half) s += std::ldexp(std::fabs(sum) + s, -10);
      slack[r * c.n + n] = s;
    }
  }
  return slack;
}

// Runs `model` (the case's graph, or its routed copy when `ours`) on an intra-op pool of `threads`.
std::vector<float> RunSession(const std::string& model, const Inputs& in, int threads, bool ours) {
  const MatMulNBitsCase& c = in.graph;
  GetOrtInfo();  // loads the API table the Ort:: wrappers use
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(threads);
  if (ours) AddInt4MatMulOps(so, DefaultIsa());
  Ort::Session session(OrtEnv(threads), model.data(), model.size(), so);
  Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const int64_t a_shape[] = {static_cast<int64_t>(c.m), static_cast<int64_t>(c.k)};
  Ort::Value a = c.half ? Ort::Value::CreateTensor(cpu, const_cast<uint16_t*>(in.a_half.data()), in.a_half.size() * 2, a_shape, 2,
                                                   ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
                        : Ort::Value::CreateTensor<float>(cpu, const_cast<float*>(in.a.data()), in.a.size(), a_shape, 2);
  const char* in_names[] = {"A"};
  const char* out_names[] = {"Y"};
  auto out = session.Run(Ort::RunOptions{nullptr}, in_names, &a, 1, out_names, 1);
  std::vector<float> y(c.m * c.n);
  if (c.half) {
    const uint16_t* p = out[0].GetTensorData<uint16_t>();
    for (size_t i = 0; i < y.size(); ++i) y[i] = HalfToFloat(p[i]);
  } else {
    std::memcpy(y.data(), out[0].GetTensorData<float>(), y.size() * sizeof(float));
  }
  return y;
}

std::vector<float> RunOrt(const Inputs& in) { return RunSession(testing::MatMulNBitsModel(in.graph), in, 1, false); }

// The same graph with its node routed to our operator (float32 cases).
std::vector<float> RunOurOperator(const Inputs& in, int threads) {
  const onnx::RoutedModel routed =
      onnx::RouteMatMulNBits(testing::MatMulNBitsModel(in.graph), {kOpDomain, kOpF32, ""}, "test");
  EXPECT_EQ(routed.routed, 1u);
  return RunSession(routed.model, in, threads, true);
}

std::vector<float> RunOurs(Isa isa, const Inputs& in, const QuantizedRows& q) {
  const MatMulNBitsCase& c = in.graph;
  std::vector<float> y(c.m * c.n, -1.0f);
  // Two column ranges, as a thread pool would split them (the second starts at an odd column).
  const size_t split = c.n / 2 | 1;
  MatMulInt4(isa, WeightsOf(c), q, 0, std::min(split, c.n), y.data(), c.n);
  if (split < c.n) MatMulInt4(isa, WeightsOf(c), q, split, c.n, y.data() + split, c.n);
  if (c.half) {
    for (auto& v : y) v = HalfToFloat(FloatToHalf(v));
  }
  return y;
}

double MaxError(const std::vector<float>& y, const std::vector<double>& ref) {
  double e = 0.0;
  for (size_t i = 0; i < y.size(); ++i) e = std::max(e, std::fabs(static_cast<double>(y[i]) - ref[i]));
  return e;
}

std::vector<Shape> Shapes() {
  std::vector<Shape> shapes;
  // Random values: K off multiples of 256 (and of 64: an odd block count), odd N, M = 1..8 and beyond.
  for (size_t m : {1, 2, 3, 4, 5, 6, 7, 8, 13}) shapes.push_back({m, 37, 96 + 32 * (m % 3)});
  for (size_t k : {32, 64, 160, 288, 1536}) shapes.push_back({2, 33, k});
  shapes.push_back({5, 64, 1504, false, true});
  shapes.push_back({3, 17, 224, false, true});
  shapes.push_back({1, 9, 32, false, true});
  shapes.push_back({4, 31, 416, true, false});
  shapes.push_back({7, 31, 416, true, true});
  shapes.push_back({40, 70, 320});
  shapes.push_back({30, 70, 320, true, false});
  shapes.push_back({16, 70, 320, true, false});
  for (auto v : {Shape::kZeroBlocks, Shape::kExtreme, Shape::kTies, Shape::kOneHuge}) {
    shapes.push_back({3, 21, 288, false, false, v});
    shapes.push_back({2, 21, 288, false, true, v});
    shapes.push_back({3, 21, 288, true, false, v});
  }
  return shapes;
}

TEST(Int4MatMul, EveryTargetIsNoWorseThanOnnxRuntime) {
  uint32_t seed = 1;
  for (const Shape& shape : Shapes()) {
    const Inputs in = MakeInputs(shape, seed++);
    QuantizedRows q;
    QuantizeRows(in.a.data(), shape.m, shape.k, shape.k, q);
    const std::vector<double> ref = Reference(in);
    const std::vector<double> slack = SummationSlack(in, q);
    const std::vector<float> ort = RunOrt(in);
    const double ort_error = MaxError(ort, ref);
    double max_slack = 0.0;
    for (double s : slack) max_slack = std::max(max_slack, s);
    for (Isa isa : SupportedIsas()) {
      SCOPED_TRACE(Describe(shape) + " on " + IsaName(isa));
      const std::vector<float> ours = RunOurs(isa, in, q);
      EXPECT_LE(MaxError(ours, ref), ort_error + max_slack) << "ONNX Runtime's error " << ort_error;
      // Same codes, same scales, exact integer dots: the two may differ by summation order only.
      for (size_t i = 0; i < ours.size(); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(ours[i]) - ort[i]), slack[i])
            << "output " << i << ": ours " << ours[i] << ", ONNX Runtime " << ort[i] << ", reference " << ref[i];
      }
    }
  }
}

TEST(Int4MatMulOp, ComputesEveryColumnOnOneThreadAndOnTwo) {
  // The operator splits the columns into tasks of 64 for the pool: on one thread and on two, the
  // tasks must cover every column (N well past one task, and not a multiple of it).
  const Shape shapes[] = {{1, 200, 64}, {2, 130, 288}, {1, 1000, 1536}, {3, 300, 1536}};
  uint32_t seed = 40;
  for (const Shape& shape : shapes) {
    const Inputs in = MakeInputs(shape, seed++);
    QuantizedRows q;
    QuantizeRows(in.a.data(), shape.m, shape.k, shape.k, q);
    const std::vector<float> want = RunOurs(DefaultIsa(), in, q);
    for (int threads : {1, 2}) {
      const std::vector<float> got = RunOurOperator(in, threads);
      ASSERT_EQ(got.size(), want.size());
      size_t differing = 0;
      for (size_t i = 0; i < got.size(); ++i) differing += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
      EXPECT_EQ(differing, 0u) << Describe(shape) << " on " << threads << " threads";
    }
  }
}

TEST(Int4MatMul, QuantizesLikeOnnxRuntime) {
  // amax 127: inverse scale 1, so the codes are the values rounded half to even.
  std::vector<float> a(32);
  a[0] = 127.0f;
  const float ties[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f};
  for (size_t i = 0; i < 8; ++i) a[2 * (i + 1)] = ties[i];  // even positions 2..16
  QuantizedRows q;
  QuantizeRows(a.data(), 1, 32, 32, q);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f);
  const int expected[] = {0, 2, 2, 0, -2, -2, 126, -126};
  EXPECT_EQ(q.Even(0, 0, 0), 127);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(q.Even(0, 0, i + 1), expected[i]) << "tie " << ties[i];
  // K = 40: the second block has 8 values and 24 zeros of padding.
  std::vector<float> b(40, 0.25f);
  QuantizeRows(b.data(), 1, 40, 40, q);
  ASSERT_EQ(q.blocks, 2u);
  EXPECT_EQ(q.block_sums[1], 8 * 127);
  EXPECT_EQ(q.Even(0, 1, 10), 0);  // element 20: padding
}

TEST(CpuFeatures, EnvironmentForcesATarget) {
  ::unsetenv("GEMMA4_KERNEL_ISA");
  EXPECT_EQ(DefaultIsa(), SupportedIsas().back());
  for (Isa isa : SupportedIsas()) {
    ::setenv("GEMMA4_KERNEL_ISA", IsaName(isa), 1);
    EXPECT_EQ(DefaultIsa(), isa);
  }
  ::setenv("GEMMA4_KERNEL_ISA", "avx9000", 1);
  EXPECT_THROW(DefaultIsa(), std::exception);
  ::unsetenv("GEMMA4_KERNEL_ISA");
}

TEST(CpuFeatures, ParsesAndRejectsNames) {
  for (Isa isa : SupportedIsas()) EXPECT_EQ(ParseIsa(IsaName(isa)), isa);
  EXPECT_THROW(ParseIsa("sse9"), std::exception);
  EXPECT_TRUE(IsaSupported(Isa::kScalar));
}

}  // namespace
}  // namespace gemma4::kernels
