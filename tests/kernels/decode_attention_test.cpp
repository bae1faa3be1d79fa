// The decode attention kernel against a float64 reference on every target this CPU runs, and its
// operator against ONNX Runtime's own GroupQueryAttention on the same inputs: decode steps and
// verification calls over long caches, sliding windows, several KV heads, batch rows of
// different lengths, float16 caches, softcap, caches shared between past and present (as the
// runtime binds them), and the calls the operator hands to ONNX Runtime.
#include "kernels/decode_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "kernels/decode_attention_op.h"
#include "package/proto_wire.h"
#include "runtime/onnx_op_routing.h"
#include "runtime/ort.h"

namespace gemma4::kernels {
namespace {

using onnx::wire::PutBytesField;
using onnx::wire::PutVarint;

struct Case {
  size_t batch = 1, rows = 1, heads = 8, kv_heads = 1, head_size = 64;
  std::vector<size_t> past = {40};  // per batch row
  size_t capacity = 64;             // past_key's sequence dimension
  int64_t window = -1;
  float softcap = 0.0f;
  bool half = false;
  std::string extra_attribute;  // an int attribute set to 1 on the node ("": none)
  size_t fed_kv_heads = 0;      // the KV heads the key and value tensors hold (0: kv_heads)
  size_t total() const {
    size_t t = 0;
    for (size_t p : past) t = std::max(t, p + rows);
    return t;
  }
};

std::string Describe(const Case& c) {
  std::string past;
  for (size_t p : c.past) past += (past.empty() ? "" : ",") + std::to_string(p);
  return "B=" + std::to_string(c.batch) + " S=" + std::to_string(c.rows) + " heads=" + std::to_string(c.heads) + "/" +
         std::to_string(c.kv_heads) + " hd=" + std::to_string(c.head_size) + " past=" + past +
         " cap=" + std::to_string(c.capacity) + " window=" + std::to_string(c.window) +
         " softcap=" + std::to_string(c.softcap) + (c.half ? " fp16" : " fp32");
}

void PutInt(std::string& out, uint32_t field, int64_t v) {
  PutVarint(out, uint64_t(field) << 3);
  PutVarint(out, static_cast<uint64_t>(v));
}
std::string IntAttribute(const std::string& name, int64_t v) {
  std::string a;
  PutBytesField(a, 1, name);
  PutInt(a, 3, v);
  PutInt(a, 20, 2);
  return a;
}
std::string FloatAttribute(const std::string& name, float v) {
  std::string a;
  PutBytesField(a, 1, name);
  PutVarint(a, (2 << 3) | 5);
  a.append(reinterpret_cast<const char*>(&v), 4);
  PutInt(a, 20, 1);
  return a;
}
std::string ValueInfo(const std::string& name, int type, const std::vector<int64_t>& dims) {
  std::string shape;
  for (int64_t d : dims) {
    std::string dim;
    if (d >= 0) PutInt(dim, 1, d);
    else PutBytesField(dim, 2, "d" + std::to_string(-d));
    PutBytesField(shape, 1, dim);
  }
  std::string tensor;
  PutInt(tensor, 1, type);
  PutBytesField(tensor, 2, shape);
  std::string type_proto;
  PutBytesField(type_proto, 1, tensor);
  std::string vi;
  PutBytesField(vi, 1, name);
  PutBytesField(vi, 2, type_proto);
  return vi;
}

const char* kInputs[] = {"query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length"};
const char* kOutputs[] = {"output", "present_key", "present_value"};

// One GroupQueryAttention node with symbolic batch, sequence and cache lengths.
std::string AttentionModel(const Case& c) {
  const int t = c.half ? 10 : 1;
  std::string node;
  for (const char* in : kInputs) PutBytesField(node, 1, in);
  for (const char* out : kOutputs) PutBytesField(node, 2, out);
  PutBytesField(node, 3, "gqa");
  PutBytesField(node, 4, "GroupQueryAttention");
  PutBytesField(node, 7, "com.microsoft");
  PutBytesField(node, 5, IntAttribute("num_heads", static_cast<int64_t>(c.heads)));
  PutBytesField(node, 5, IntAttribute("kv_num_heads", static_cast<int64_t>(c.kv_heads)));
  PutBytesField(node, 5, IntAttribute("local_window_size", c.window));
  if (c.softcap > 0.0f) PutBytesField(node, 5, FloatAttribute("softcap", c.softcap));
  if (!c.extra_attribute.empty()) PutBytesField(node, 5, IntAttribute(c.extra_attribute, 1));
  const int64_t q_hidden = static_cast<int64_t>(c.heads * c.head_size);
  const int64_t kvh = static_cast<int64_t>(c.kv_heads), hd = static_cast<int64_t>(c.head_size);
  std::string graph;
  PutBytesField(graph, 1, node);
  PutBytesField(graph, 2, "gqa_test");
  PutBytesField(graph, 11, ValueInfo("query", t, {-1, -2, q_hidden}));
  // Key and value widths symbolic, so that a wrong one reaches the operator's own checks.
  PutBytesField(graph, 11, ValueInfo("key", t, {-1, -2, -5}));
  PutBytesField(graph, 11, ValueInfo("value", t, {-1, -2, -5}));
  PutBytesField(graph, 11, ValueInfo("past_key", t, {-1, kvh, -3, hd}));
  PutBytesField(graph, 11, ValueInfo("past_value", t, {-1, kvh, -3, hd}));
  PutBytesField(graph, 11, ValueInfo("seqlens_k", 6, {-1}));
  PutBytesField(graph, 11, ValueInfo("total_sequence_length", 6, {}));
  PutBytesField(graph, 12, ValueInfo("output", t, {-1, -2, q_hidden}));
  PutBytesField(graph, 12, ValueInfo("present_key", t, {-1, kvh, -4, hd}));
  PutBytesField(graph, 12, ValueInfo("present_value", t, {-1, kvh, -4, hd}));
  std::string model;
  PutInt(model, 1, 8);
  for (const auto& [domain, version] : std::vector<std::pair<std::string, int>>{{"", 21}, {"com.microsoft", 1}}) {
    std::string opset;
    PutBytesField(opset, 1, domain);
    PutInt(opset, 2, version);
    PutBytesField(model, 8, opset);
  }
  PutBytesField(model, 7, graph);
  return model;
}

struct Tensors {
  std::vector<float> q, k, v, past_k, past_v;  // float values (half-rounded in fp16 cases)
  std::vector<int32_t> seqlens;
  int32_t total = 0;
};

Tensors RandomTensors(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](size_t n, float scale) {
    std::vector<float> v(n);
    for (float& x : v) {
      x = normal(rng) * scale;
      if (c.half) x = HalfToFloat(FloatToHalf(x));
    }
    return v;
  };
  Tensors t;
  // Queries and keys large enough that the softmax is far from uniform.
  t.q = fill(c.batch * c.rows * c.heads * c.head_size, 1.5f);
  t.k = fill(c.batch * c.rows * c.kv_heads * c.head_size, 1.5f);
  t.v = fill(c.batch * c.rows * c.kv_heads * c.head_size, 1.0f);
  t.past_k = fill(c.batch * c.kv_heads * c.capacity * c.head_size, 1.5f);
  t.past_v = fill(c.batch * c.kv_heads * c.capacity * c.head_size, 1.0f);
  for (size_t p : c.past) t.seqlens.push_back(static_cast<int32_t>(p + c.rows - 1));
  t.total = static_cast<int32_t>(c.total());
  return t;
}

// Float64 attention of batch row b, from the past caches and the new rows.
std::vector<double> Reference(const Case& c, const Tensors& t, size_t b) {
  const size_t hd = c.head_size, group = c.heads / c.kv_heads, past = c.past[b];
  std::vector<double> out(c.rows * c.heads * hd, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (size_t s = 0; s < c.rows; ++s) {
    const size_t position = past + s;
    const size_t first = c.window > 0 && position + 1 > static_cast<size_t>(c.window) ? position + 1 - c.window : 0;
    for (size_t h = 0; h < c.heads; ++h) {
      const size_t g = h / group;
      auto key = [&](size_t j) -> const float* {
        if (j < past) return &t.past_k[((b * c.kv_heads + g) * c.capacity + j) * hd];
        return &t.k[((b * c.rows + (j - past)) * c.kv_heads + g) * hd];
      };
      auto value = [&](size_t j) -> const float* {
        if (j < past) return &t.past_v[((b * c.kv_heads + g) * c.capacity + j) * hd];
        return &t.v[((b * c.rows + (j - past)) * c.kv_heads + g) * hd];
      };
      const float* q = &t.q[((b * c.rows + s) * c.heads + h) * hd];
      std::vector<double> scores;
      double m = -1e300;
      for (size_t j = first; j <= position; ++j) {
        double dot = 0;
        for (size_t i = 0; i < hd; ++i) dot += double(q[i]) * key(j)[i];
        dot *= scale;
        if (c.softcap > 0) dot = c.softcap * std::tanh(dot / c.softcap);
        scores.push_back(dot);
        m = std::max(m, dot);
      }
      double sum = 0;
      for (double& x : scores) sum += (x = std::exp(x - m));
      double* o = &out[(s * c.heads + h) * hd];
      for (size_t j = first; j <= position; ++j) {
        for (size_t i = 0; i < hd; ++i) o[i] += scores[j - first] / sum * value(j)[i];
      }
    }
  }
  return out;
}

// The kernel alone on `isa`, batch row b, with the new rows written into a copy of the caches.
std::vector<float> RunKernel(Isa isa, const Case& c, const Tensors& t, size_t b) {
  const size_t hd = c.head_size, past = c.past[b];
  std::vector<float> k(t.past_k.begin() + b * c.kv_heads * c.capacity * hd,
                       t.past_k.begin() + (b + 1) * c.kv_heads * c.capacity * hd);
  std::vector<float> v(t.past_v.begin() + b * c.kv_heads * c.capacity * hd,
                       t.past_v.begin() + (b + 1) * c.kv_heads * c.capacity * hd);
  for (size_t s = 0; s < c.rows; ++s) {
    for (size_t g = 0; g < c.kv_heads; ++g) {
      std::memcpy(&k[(g * c.capacity + past + s) * hd], &t.k[((b * c.rows + s) * c.kv_heads + g) * hd], hd * 4);
      std::memcpy(&v[(g * c.capacity + past + s) * hd], &t.v[((b * c.rows + s) * c.kv_heads + g) * hd], hd * 4);
    }
  }
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) k16[i] = FloatToHalf(k[i]), v16[i] = FloatToHalf(v[i]);
  AttentionShape shape;
  shape.heads = c.heads;
  shape.kv_heads = c.kv_heads;
  shape.head_size = hd;
  shape.rows = c.rows;
  shape.past = past;
  shape.capacity = c.capacity;
  shape.window = c.window;
  shape.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  shape.softcap = c.softcap;
  std::vector<float> out(c.rows * c.heads * hd, -7.0f);
  AttentionOperands operands;
  operands.q = &t.q[b * c.rows * c.heads * hd];
  operands.k = c.half ? static_cast<const void*>(k16.data()) : k.data();
  operands.v = c.half ? static_cast<const void*>(v16.data()) : v.data();
  operands.cache_is_half = c.half;
  operands.out = out.data();
  AttentionScratch scratch;
  DecodeAttention(isa, shape, operands, scratch, ParallelForSerial, nullptr);
  return out;
}

struct SessionResult {
  std::vector<float> out, present_k, present_v;
  std::vector<int64_t> present_dims;
};

// Runs `model` on `threads`; `shared`: present bound by IoBinding to the past buffers, as the
// runtime's in-place caches are.
SessionResult RunSession(const std::string& model, const Case& c, const Tensors& t, bool ours, int threads, bool shared) {
  GetOrtInfo();
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(threads);
  if (ours) AddDecodeAttentionOps(so, DefaultIsa());
  Ort::Session session(OrtEnv(threads), model.data(), model.size(), so);
  Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const ONNXTensorElementDataType type = c.half ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<std::vector<uint8_t>> storage;
  auto tensor = [&](const std::vector<float>& values, std::vector<int64_t> dims) {
    std::vector<uint8_t> bytes(values.size() * (c.half ? 2 : 4));
    for (size_t i = 0; i < values.size(); ++i) {
      if (c.half) {
        const uint16_t h = FloatToHalf(values[i]);
        std::memcpy(&bytes[i * 2], &h, 2);
      } else {
        std::memcpy(&bytes[i * 4], &values[i], 4);
      }
    }
    storage.push_back(std::move(bytes));
    return Ort::Value::CreateTensor(cpu, storage.back().data(), storage.back().size(), dims.data(), dims.size(), type);
  };
  const int64_t b = static_cast<int64_t>(c.batch), s = static_cast<int64_t>(c.rows), kvh = static_cast<int64_t>(c.kv_heads),
                hd = static_cast<int64_t>(c.head_size), cap = static_cast<int64_t>(c.capacity);
  std::vector<Ort::Value> inputs;
  inputs.push_back(tensor(t.q, {b, s, static_cast<int64_t>(c.heads) * hd}));
  const int64_t fed = c.fed_kv_heads ? static_cast<int64_t>(c.fed_kv_heads) : kvh;
  inputs.push_back(tensor(t.k, {b, s, fed * hd}));
  inputs.push_back(tensor(t.v, {b, s, fed * hd}));
  inputs.push_back(tensor(t.past_k, {b, kvh, cap, hd}));
  inputs.push_back(tensor(t.past_v, {b, kvh, cap, hd}));
  std::vector<int32_t> seqlens = t.seqlens;
  int32_t total = t.total;
  const int64_t b_dim[] = {b};
  inputs.push_back(Ort::Value::CreateTensor<int32_t>(cpu, seqlens.data(), seqlens.size(), b_dim, 1));
  inputs.push_back(Ort::Value::CreateTensor<int32_t>(cpu, &total, 1, nullptr, 0));
  auto read = [&](const Ort::Value& v) {
    const size_t n = v.GetTensorTypeAndShapeInfo().GetElementCount();
    std::vector<float> f(n);
    if (c.half) {
      const uint16_t* p = v.GetTensorData<uint16_t>();
      for (size_t i = 0; i < n; ++i) f[i] = HalfToFloat(p[i]);
    } else {
      std::memcpy(f.data(), v.GetTensorData<float>(), n * 4);
    }
    return f;
  };
  SessionResult result;
  if (!shared) {
    auto out = session.Run(Ort::RunOptions{nullptr}, kInputs, inputs.data(), 7, kOutputs, 3);
    result.out = read(out[0]);
    result.present_k = read(out[1]);
    result.present_v = read(out[2]);
    result.present_dims = out[1].GetTensorTypeAndShapeInfo().GetShape();
    return result;
  }
  Ort::IoBinding binding(session);
  for (size_t i = 0; i < 7; ++i) binding.BindInput(kInputs[i], inputs[i]);
  binding.BindOutput("output", cpu);
  binding.BindOutput("present_key", inputs[3]);
  binding.BindOutput("present_value", inputs[4]);
  session.Run(Ort::RunOptions{nullptr}, binding);
  result.out = read(binding.GetOutputValues()[0]);
  result.present_k = read(inputs[3]);
  result.present_v = read(inputs[4]);
  result.present_dims = inputs[3].GetTensorTypeAndShapeInfo().GetShape();
  return result;
}

std::string Routed(const Case& c) {
  const onnx::RoutedModel routed =
      onnx::RouteGroupQueryAttention(AttentionModel(c), {kAttentionOpDomain, kAttentionOpF32, kAttentionOpF16}, "test");
  EXPECT_EQ(routed.routed, 1u);
  return routed.model;
}

// Float32: a few ulps of the float64 result (summation order); float16: the rounding of the output.
double Tolerance(const Case& c, double reference) {
  return c.half ? 2e-3 + 2e-3 * std::abs(reference) : 2e-5 + 2e-5 * std::abs(reference);
}

std::vector<Case> KernelCases() {
  std::vector<Case> cases;
  Case base;
  cases.push_back(base);
  Case long_cache = base;
  long_cache.past = {3000};
  long_cache.capacity = 3100;
  long_cache.head_size = 256;
  cases.push_back(long_cache);
  Case windowed = long_cache;
  windowed.window = 512;
  cases.push_back(windowed);
  Case verify = windowed;
  verify.rows = 5;
  cases.push_back(verify);
  Case grouped = base;
  grouped.heads = 8;
  grouped.kv_heads = 2;
  grouped.rows = 3;
  grouped.head_size = 40;  // not a multiple of 16
  grouped.window = 7;
  cases.push_back(grouped);
  Case capped = base;
  capped.softcap = 5.0f;
  cases.push_back(capped);
  Case half = long_cache;
  half.half = true;
  cases.push_back(half);
  Case batch = base;
  batch.batch = 2;
  batch.past = {10, 57};
  cases.push_back(batch);
  Case first = base;  // one past position: the first decode step after a one-token prompt
  first.past = {1};
  first.window = 1;
  cases.push_back(first);
  return cases;
}

TEST(DecodeAttention, MatchesAFloat64ReferenceOnEveryTarget) {
  for (const Case& c : KernelCases()) {
    const Tensors t = RandomTensors(c, 7);
    for (size_t b = 0; b < c.batch; ++b) {
      const std::vector<double> want = Reference(c, t, b);
      std::vector<float> first;
      for (Isa isa : SupportedIsas()) {
        const std::vector<float> got = RunKernel(isa, c, t, b);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_NEAR(got[i], want[i], Tolerance(c, want[i])) << Describe(c) << " " << IsaName(isa) << " at " << i;
        }
        // The vector targets sum in the same lanes and order: the same bits.
        if (isa == Isa::kScalar) continue;
        if (first.empty()) first = got;
        else EXPECT_EQ(first, got) << Describe(c) << " " << IsaName(isa);
      }
    }
  }
}

// Our operator in a session against ONNX Runtime's, on one thread and two, with separate and
// shared past/present buffers.
TEST(DecodeAttentionOp, MatchesOnnxRuntimesGroupQueryAttention) {
  for (const Case& c : KernelCases()) {
    if (c.batch > 1 && c.rows > 1) continue;  // ONNX Runtime allows several new rows only at batch 1
    const Tensors t = RandomTensors(c, 11);
    const SessionResult want = RunSession(AttentionModel(c), c, t, false, 1, false);
    for (int threads : {1, 2}) {
      for (bool shared : {false, true}) {
        const SessionResult got = RunSession(Routed(c), c, t, true, threads, shared);
        const std::string what = Describe(c) + " threads=" + std::to_string(threads) + (shared ? " shared" : " separate");
        ASSERT_EQ(got.out.size(), want.out.size()) << what;
        for (size_t i = 0; i < got.out.size(); ++i) {
          ASSERT_NEAR(got.out[i], want.out[i], Tolerance(c, want.out[i])) << what << " at " << i;
        }
        if (!shared) {
          EXPECT_EQ(got.present_dims, want.present_dims) << what;
          EXPECT_EQ(got.present_k, want.present_k) << what;
          EXPECT_EQ(got.present_v, want.present_v) << what;
        } else {
          // The caches' valid rows are ONNX Runtime's present; the rest is left as it was.
          const size_t hd = c.head_size;
          for (size_t b = 0; b < c.batch; ++b) {
            const size_t valid = c.past[b] + c.rows;
            for (size_t g = 0; g < c.kv_heads; ++g) {
              for (size_t j = 0; j < c.capacity; ++j) {
                const size_t at = ((b * c.kv_heads + g) * c.capacity + j) * hd;
                const float* expect_k = j < valid ? &want.present_k[((b * c.kv_heads + g) * want.present_dims[2] + j) * hd]
                                                  : &t.past_k[at];
                ASSERT_EQ(std::memcmp(&got.present_k[at], expect_k, hd * 4), 0) << what << " key row " << j;
                const float* expect_v = j < valid ? &want.present_v[((b * c.kv_heads + g) * want.present_dims[2] + j) * hd]
                                                  : &t.past_v[at];
                ASSERT_EQ(std::memcmp(&got.present_v[at], expect_v, hd * 4), 0) << what << " value row " << j;
              }
            }
          }
        }
      }
    }
  }
}

// A prompt (the call whose total is its own length) and a call of more rows than ours takes go
// to ONNX Runtime's operator: the same bits.
TEST(DecodeAttentionOp, HandsPromptsAndLongCallsToOnnxRuntime) {
  Case prompt;
  prompt.rows = 12;
  prompt.past = {0};
  prompt.capacity = 12;
  Case chunk;  // a prefill chunk after a past
  chunk.rows = 9;
  chunk.past = {30};
  chunk.window = 16;
  for (const Case& c : {prompt, chunk}) {
    const Tensors t = RandomTensors(c, 5);
    const SessionResult want = RunSession(AttentionModel(c), c, t, false, 1, false);
    const SessionResult got = RunSession(Routed(c), c, t, true, 2, false);
    EXPECT_EQ(got.out, want.out) << Describe(c);
    EXPECT_EQ(got.present_k, want.present_k) << Describe(c);
  }
}

TEST(DecodeAttentionOp, RefusesAKeyThatDoesNotMatchTheHeadsWithAnError) {
  Case c;
  Tensors t = RandomTensors(c, 3);
  Case wide = c;  // the caller's key and value rows are twice what kv_num_heads says
  wide.kv_heads = 2;
  const Tensors w = RandomTensors(wide, 3);
  t.k = w.k;
  t.v = w.v;
  c.fed_kv_heads = 2;
  try {
    RunSession(Routed(c), c, t, true, 1, false);
    ADD_FAILURE() << "a key of the wrong width ran";
  } catch (const Ort::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("GroupQueryAttention"), std::string::npos) << e.what();
  }
}

TEST(RouteGroupQueryAttention, MovesOnlyTheNodesItHandles) {
  Case c;
  EXPECT_EQ(onnx::RouteGroupQueryAttention(AttentionModel(c), {"d", "F32", "F16"}, "m").routed, 1u);
  c.half = true;
  const onnx::RoutedModel half = onnx::RouteGroupQueryAttention(AttentionModel(c), {"d", "F32", "F16"}, "m");
  EXPECT_EQ(half.routed, 1u);
  EXPECT_NE(half.model.find("F16"), std::string::npos);
  EXPECT_EQ(onnx::RouteGroupQueryAttention(AttentionModel(c), {"d", "F32", ""}, "m").routed, 0u);
  // Rotary inside the operator, smooth softmax: ours does neither, so the node stays.
  for (const char* attr : {"do_rotary", "smooth_softmax"}) {
    Case other;
    other.extra_attribute = attr;
    const onnx::RoutedModel r = onnx::RouteGroupQueryAttention(AttentionModel(other), {"d", "F32", "F16"}, "m");
    EXPECT_EQ(r.routed, 0u) << attr;
    EXPECT_EQ(r.kept, 1u) << attr;
  }
}

}  // namespace
}  // namespace gemma4::kernels
