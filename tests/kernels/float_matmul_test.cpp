// The float kernel against ONNX Runtime's own MatMul / FusedMatMul on a constant weight (bit for bit:
// that equality is what lets the LM head edit be on by default), against a float64 reference (it
// computes the product), across every target this CPU runs, and as a custom operator.
#include "kernels/float_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "gemma4/runtime.h"
#include "kernels/float_matmul_op.h"
#include "package/proto_wire.h"
#include "runtime/ort.h"

namespace gemma4::kernels {
namespace {

using onnx::wire::PutBytesField;
using onnx::wire::PutVarint;

struct Case {
  size_t m, k, n;
  bool half;
  float scale;  // 1: plain MatMul; else a Mul by it after (ONNX Runtime folds it into FusedMatMul)
};

std::string Describe(const Case& c) {
  return "M=" + std::to_string(c.m) + " K=" + std::to_string(c.k) + " N=" + std::to_string(c.n) + (c.half ? " fp16" : " fp32") +
         " scale=" + std::to_string(c.scale);
}

struct Data {
  std::vector<float> a;           // [m][k]
  std::vector<uint16_t> w_half;   // [k][n]
  std::vector<float> w;           // [k][n], the values the kernel sees
};

Data MakeData(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Data d;
  d.a.resize(c.m * c.k);
  for (float& v : d.a) v = 3.0f * normal(rng);
  d.w.resize(c.k * c.n);
  d.w_half.resize(c.k * c.n);
  for (size_t i = 0; i < d.w.size(); ++i) {
    const float v = normal(rng) / std::sqrt(static_cast<float>(c.k));
    d.w_half[i] = FloatToHalf(v);
    d.w[i] = c.half ? HalfToFloat(d.w_half[i]) : v;
  }
  return d;
}

FloatWeights Weights(const Case& c, const Data& d) {
  return {c.half ? static_cast<const void*>(d.w_half.data()) : d.w.data(), c.half, c.k, c.n};
}

void PutInt(std::string& out, uint32_t field, int64_t v) {
  PutVarint(out, uint64_t(field) << 3);
  PutVarint(out, static_cast<uint64_t>(v));
}

std::string ValueInfo(const std::string& name, int type, int64_t last) {
  std::string shape, dim_m, dim_n;
  PutBytesField(dim_m, 2, "M");
  PutInt(dim_n, 1, last);
  PutBytesField(shape, 1, dim_m);
  PutBytesField(shape, 1, dim_n);
  std::string tensor, type_proto, vi;
  PutInt(tensor, 1, type);
  PutBytesField(tensor, 2, shape);
  PutBytesField(type_proto, 1, tensor);
  PutBytesField(vi, 1, name);
  PutBytesField(vi, 2, type_proto);
  return vi;
}

std::string Node(const std::vector<std::string>& ins, const std::string& out, const std::string& op,
                 const std::string& domain = "", const std::string& attrs = "") {
  std::string n;
  for (const auto& in : ins) PutBytesField(n, 1, in);
  PutBytesField(n, 2, out);
  PutBytesField(n, 3, out + "_node");
  PutBytesField(n, 4, op);
  if (!domain.empty()) PutBytesField(n, 7, domain);
  n += attrs;
  return n;
}

// A [M, k] -> (MatMul with the weight, through a Cast when float16; then * scale) -> Y [M, n] as
// the export writes a float head; or, `ours`, our operator in its place.
std::string Model(const Case& c, const Data& d, bool ours) {
  std::string graph, t;
  PutInt(t, 1, static_cast<int64_t>(c.k));
  PutInt(t, 1, static_cast<int64_t>(c.n));
  PutInt(t, 2, c.half ? 10 : 1);
  PutBytesField(t, 8, "W");
  PutBytesField(t, 9, c.half ? std::string_view(reinterpret_cast<const char*>(d.w_half.data()), d.w_half.size() * 2)
                             : std::string_view(reinterpret_cast<const char*>(d.w.data()), d.w.size() * 4));
  PutBytesField(graph, 5, t);
  const bool scaled = c.scale != 1.0f;
  if (ours) {
    std::string attrs;
    if (scaled) {
      std::string attr;
      PutBytesField(attr, 1, "alpha");
      PutVarint(attr, (uint64_t(2) << 3) | 5);
      attr.append(reinterpret_cast<const char*>(&c.scale), 4);
      PutInt(attr, 20, 1);
      PutBytesField(attrs, 5, attr);
    }
    PutBytesField(graph, 1, Node({"A", "W"}, "Y", c.half ? kOpF16Weight : kOpF32Weight, kFloatOpDomain, attrs));
  } else {
    std::string b = "W";
    if (c.half) {
      std::string to;
      PutBytesField(to, 1, "to");
      PutInt(to, 3, 1);
      PutInt(to, 20, 2);
      std::string attrs;
      PutBytesField(attrs, 5, to);
      PutBytesField(graph, 1, Node({"W"}, "W32", "Cast", "", attrs));
      b = "W32";
    }
    if (scaled) {
      std::string s;
      PutBytesField(s, 8, "S");
      PutInt(s, 2, 1);
      PutBytesField(s, 9, std::string_view(reinterpret_cast<const char*>(&c.scale), 4));
      PutBytesField(graph, 5, s);
      PutBytesField(graph, 1, Node({"A", b}, "P", "MatMul"));
      PutBytesField(graph, 1, Node({"P", "S"}, "Y", "Mul"));
    } else {
      PutBytesField(graph, 1, Node({"A", b}, "Y", "MatMul"));
    }
  }
  PutBytesField(graph, 11, ValueInfo("A", 1, static_cast<int64_t>(c.k)));
  PutBytesField(graph, 12, ValueInfo("Y", 1, static_cast<int64_t>(c.n)));
  std::string model;
  PutInt(model, 1, 8);  // ir_version
  std::string opset;
  PutInt(opset, 2, 17);
  PutBytesField(model, 8, opset);
  if (ours) {
    std::string custom;
    PutBytesField(custom, 1, kFloatOpDomain);
    PutInt(custom, 2, 1);
    PutBytesField(model, 8, custom);
  }
  PutBytesField(model, 7, graph);
  return model;
}

std::vector<float> RunOrt(const std::string& model, const std::vector<float>& a, size_t m, size_t k, bool ours,
                          Isa isa = Isa::kScalar) {
  GetOrtInfo();
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(1);
  if (ours) AddFloatMatMulOps(so, isa);
  Ort::Session session(OrtEnv(1), model.data(), model.size(), so);
  Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const int64_t shape[] = {static_cast<int64_t>(m), static_cast<int64_t>(k)};
  Ort::Value in = Ort::Value::CreateTensor<float>(cpu, const_cast<float*>(a.data()), a.size(), shape, 2);
  const char* in_names[] = {"A"};
  const char* out_names[] = {"Y"};
  auto out = session.Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
  const float* y = out[0].GetTensorData<float>();
  return {y, y + out[0].GetTensorTypeAndShapeInfo().GetElementCount()};
}

size_t BitDifferences(const std::vector<float>& x, const std::vector<float>& y) {
  EXPECT_EQ(x.size(), y.size());
  size_t diff = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) diff += std::memcmp(&x[i], &y[i], 4) != 0;
  return diff;
}

const Case kCases[] = {
    {1, 1536, 1100, true, 1.0f / 30},  // Gemma's head depth: six K slices, the softcap scale folded in
    {3, 1536, 600, true, 1.0f},
    {5, 1536, 300, false, 1.0f / 30},
    {1, 300, 1100, false, 1.0f},       // a partial last K slice
    {2, 64, 1536, true, 1.0f / 30},    // the reduced test packages' head
    {7, 257, 40, true, 3.0f},          // one k past a slice; fewer columns than a tile
    {1, 1, 16, false, 1.0f},
};

TEST(FloatMatMul, MatchesOnnxRuntimesMatMulBitForBitOnEveryTarget) {
  for (const Case& c : kCases) {
    const Data d = MakeData(c, static_cast<uint32_t>(c.k * 31 + c.n));
    const std::vector<float> want = RunOrt(Model(c, d, false), d.a, c.m, c.k, false);
    for (Isa isa : SupportedIsas()) {
      std::vector<float> got(c.m * c.n, -1.0f);
      MatMulFloat(isa, Weights(c, d), d.a.data(), c.m, c.k, c.scale, 0, c.n, got.data(), c.n);
      EXPECT_EQ(BitDifferences(got, want), 0u) << Describe(c) << " on " << IsaName(isa);
    }
  }
}

TEST(FloatMatMul, ComputesTheProduct) {
  for (const Case& c : kCases) {
    const Data d = MakeData(c, 5);
    std::vector<float> got(c.m * c.n);
    MatMulFloat(SupportedIsas().back(), Weights(c, d), d.a.data(), c.m, c.k, c.scale, 0, c.n, got.data(), c.n);
    for (size_t r = 0; r < c.m; ++r) {
      for (size_t j = 0; j < c.n; ++j) {
        double ref = 0, magnitude = 0;
        for (size_t k = 0; k < c.k; ++k) {
          ref += double(d.a[r * c.k + k]) * d.w[k * c.n + j];
          magnitude += std::fabs(double(d.a[r * c.k + k]) * d.w[k * c.n + j]);
        }
        ASSERT_NEAR(got[r * c.n + j], ref * c.scale, 1e-4 * magnitude * std::fabs(c.scale) + 1e-30)
            << Describe(c) << " row " << r << " column " << j;
      }
    }
  }
}

TEST(FloatMatMul, ColumnRangesComputeTheirSlice) {
  const Case c{3, 700, 1000, true, 1.0f};
  const Data d = MakeData(c, 9);
  std::vector<float> whole(c.m * c.n), part(c.m * c.n, 0.0f);
  MatMulFloat(Isa::kScalar, Weights(c, d), d.a.data(), c.m, c.k, 1.0f, 0, c.n, whole.data(), c.n);
  for (Isa isa : SupportedIsas()) {
    // Odd splits: tiles start off their usual alignment and the scalar code takes each rest.
    for (size_t begin : {size_t{0}, size_t{17}, size_t{300}, size_t{999}}) {
      std::fill(part.begin(), part.end(), 0.0f);
      MatMulFloat(isa, Weights(c, d), d.a.data(), c.m, c.k, 1.0f, begin, c.n, part.data() + begin, c.n);
      for (size_t r = 0; r < c.m; ++r) {
        for (size_t j = begin; j < c.n; ++j) {
          ASSERT_EQ(part[r * c.n + j], whole[r * c.n + j]) << IsaName(isa) << " from " << begin << " at " << r << "," << j;
        }
      }
    }
  }
}

TEST(FloatMatMulOp, RunsInOnnxRuntimeAsTheGraphWould) {
  for (const Case& c : kCases) {
    const Data d = MakeData(c, 11);
    const std::vector<float> want = RunOrt(Model(c, d, false), d.a, c.m, c.k, false);
    for (Isa isa : SupportedIsas()) {
      EXPECT_EQ(BitDifferences(RunOrt(Model(c, d, true), d.a, c.m, c.k, true, isa), want), 0u)
          << Describe(c) << " on " << IsaName(isa);
    }
  }
}

TEST(FloatMatMulOp, RejectsAnActivationOfTheWrongDepth) {
  const Case c{2, 64, 40, true, 1.0f};
  const Data d = MakeData(c, 3);
  const std::string model = Model(c, d, true);
  GetOrtInfo();
  Ort::SessionOptions so;
  AddFloatMatMulOps(so, Isa::kScalar);
  Ort::Session session(OrtEnv(1), model.data(), model.size(), so);
  Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<float> a(2 * 63, 1.0f);
  const int64_t shape[] = {2, 63};
  Ort::Value in = Ort::Value::CreateTensor<float>(cpu, a.data(), a.size(), shape, 2);
  const char* in_names[] = {"A"};
  const char* out_names[] = {"Y"};
  try {
    session.Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
    FAIL() << "a [2, 63] activation ran against a [64, 40] weight";
  } catch (const Ort::Exception& e) {
    // ONNX Runtime checks the declared shape first; either way the run fails, naming the mismatch.
    const std::string what = e.what();
    EXPECT_TRUE(what.find("K = 64") != std::string::npos || what.find("dimension") != std::string::npos) << what;
  }
}

}  // namespace
}  // namespace gemma4::kernels
