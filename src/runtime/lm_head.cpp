// The LM head plan: find the head, then prove the float kernel on a probe or re-quantize it.
#include "runtime/lm_head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gemma4/error.h"
#include "core/float16.h"
#include "gemma4/log.h"
#include "gemma4/tokenizer.h"
#include "kernels/cpu_features.h"
#include "kernels/float_matmul_op.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"
#include "runtime/onnx_lm_head.h"
#include "runtime/ort.h"

namespace gemma4 {
namespace {

// Columns of the probe's weight: several tiles of every SIMD target plus a remainder for the
// portable code, and past the width below which MLAS's unpacked SGEMM would change its K slices.
constexpr int64_t kProbeColumns = 512 + 40;
// Rows of activations: one (a decode step) and several (MLAS's multi-row kernels).
constexpr size_t kProbeRowCounts[] = {1, 5};

// The probe's weight, [K, kProbeColumns] raw bytes of the head's type, and its activations: seeded
// normal values whose products do not round alike by accident.
std::string ProbeWeight(const onnx::LmHead& head) {
  std::mt19937 rng(19);
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(head.k)));
  const size_t count = static_cast<size_t>(head.k * kProbeColumns);
  std::string raw;
  if (head.weight_type == onnx::kElemFloat16) {
    raw.resize(count * 2);
    for (size_t i = 0; i < count; ++i) {
      const uint16_t h = FloatToHalf(normal(rng));
      std::memcpy(raw.data() + 2 * i, &h, 2);
    }
  } else {
    raw.resize(count * 4);
    for (size_t i = 0; i < count; ++i) {
      const float v = normal(rng);
      std::memcpy(raw.data() + 4 * i, &v, 4);
    }
  }
  return raw;
}

std::vector<uint8_t> RunProbe(Ort::Session& session, const std::vector<float>& a, size_t m, size_t k,
                              const std::string& output) {
  Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
  const int64_t shape[] = {1, static_cast<int64_t>(m), static_cast<int64_t>(k)};
  Ort::Value in = Ort::Value::CreateTensor<float>(memory, const_cast<float*>(a.data()), m * k, shape, 3);
  const char* in_names[] = {onnx::kProbeInput};
  const char* out_names[] = {output.c_str()};
  std::vector<Ort::Value> out = session.Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
  const auto info = out[0].GetTensorTypeAndShapeInfo();
  const size_t size = info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? 2 : 4;
  const auto* p = static_cast<const uint8_t*>(out[0].GetTensorRawData());
  return {p, p + info.GetElementCount() * size};
}

// How many of the probe's outputs differ between ONNX Runtime on the head as written and on the
// head edited onto our float kernel (with or without the scale folded in); `checked` counts them all.
size_t ProbeMismatches(const std::filesystem::path& onnx, const onnx::GraphView& g, const onnx::LmHead& head,
                       bool with_scale, const RuntimeOptions& options, size_t& checked) {
  const char* op = head.weight_type == onnx::kElemFloat16 ? kernels::kOpF16Weight : kernels::kOpF32Weight;
  const onnx::HeadProbe probe =
      onnx::MakeHeadProbe(g, head, kProbeColumns, ProbeWeight(head), kernels::kFloatOpDomain, op, with_scale);
  RuntimeOptions quiet = options;
  quiet.profile = false;
  size_t own = 0, ort = 0;
  Ort::Session original = CreateSessionFromBytes(probe.original, onnx, onnx.parent_path(), "cpu", quiet,
                                                 "_lm_head_probe", own, ort);
  Ort::Session edited = CreateSessionFromBytes(probe.edited, onnx, onnx.parent_path(), "cpu", quiet, "_lm_head_probe",
                                               own, ort, SessionExtras{true, nullptr});
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  size_t mismatches = 0;
  checked = 0;
  for (size_t m : kProbeRowCounts) {
    std::vector<float> a(m * static_cast<size_t>(head.k));
    for (float& v : a) v = normal(rng);
    const std::vector<uint8_t> want = RunProbe(original, a, m, a.size() / m, head.logits);
    const std::vector<uint8_t> got = RunProbe(edited, a, m, a.size() / m, head.logits);
    const size_t size = head.logits_type == onnx::kElemFloat16 ? 2 : 4;
    if (want.size() != got.size()) return want.size() / size + 1;
    for (size_t i = 0; i < want.size(); i += size) mismatches += std::memcmp(&want[i], &got[i], size) != 0;
    checked += want.size() / size;
  }
  return mismatches;
}

// The float weight's values: inline, or a mapping of its external file kept alive by `file`.
const void* WeightValues(const std::filesystem::path& onnx, const onnx::GraphView& g, const onnx::LmHead& head,
                         std::unique_ptr<onnx::wire::MappedFile>& file) {
  const uint64_t size = static_cast<uint64_t>(head.k) * static_cast<uint64_t>(head.n) *
                        (head.weight_type == onnx::kElemFloat16 ? 2 : 4);
  const auto data = onnx::FindInitializerData(g, head.weight);
  const std::string where = onnx.string() + ": LM head weight '" + head.weight + "'";
  if (!data) throw Error(ErrorKind::kCorrupt, where + " keeps its values in typed fields, not raw bytes");
  if (!data->external) {
    if (data->inline_bytes.size() != size) {
      throw Error(ErrorKind::kCorrupt, where + " holds " + std::to_string(data->inline_bytes.size()) + " bytes, its shape needs " +
                                           std::to_string(size));
    }
    return data->inline_bytes.data();
  }
  const std::filesystem::path location(data->location);
  if (location.empty() || location.is_absolute() ||
      std::any_of(location.begin(), location.end(), [](const auto& part) { return part == ".."; })) {
    throw Error(ErrorKind::kCorrupt, where + ": external data location '" + data->location + "' is not a file beside the model");
  }
  file = std::make_unique<onnx::wire::MappedFile>(onnx.parent_path() / location);
  const uint64_t length = data->length ? data->length : (data->offset <= file->size() ? file->size() - data->offset : 0);
  if (length != size || data->offset > file->size() || file->size() - data->offset < size) {
    throw Error(ErrorKind::kCorrupt, where + ": " + std::to_string(length) + " bytes at offset " + std::to_string(data->offset) +
                                         " of " + data->location + " (" + std::to_string(file->size()) +
                                         " bytes), its shape needs " + std::to_string(size));
  }
  return file->data() + data->offset;
}

// The location the int8 initializers declare; never read (their values come from memory).
constexpr const char* kInt8File = "gemma4_lm_head_int8.bin";

}  // namespace

LmHeadLoad PlanLmHead(const std::filesystem::path& onnx, std::string_view model, const RuntimeOptions& options,
                      const std::string& logits) {
  if (!options.lm_head_quant.empty() && options.lm_head_quant != "int8") {
    throw Error(ErrorKind::kInvalidArgument, "lm_head_quant must be int8 or empty, got '" + options.lm_head_quant + "'");
  }
  LmHeadLoad load;
  LmHeadInfo& info = load.info;
  info.kernel = "onnxruntime";
  try {
    const onnx::GraphView g = onnx::ParseGraph(model);
    const onnx::LmHead head = onnx::FindLmHead(g, logits);
    info.form = head.form;
    info.note = head.note;
    if (!options.lm_head_quant.empty()) {
      if (!head.float_head) {
        info.note = "--lm-head-quant " + options.lm_head_quant + " does nothing: the LM head is " + head.form + " (" +
                    head.note + "), not a float MatMul";
        Log(LogLevel::kWarn, onnx.filename().string() + ": " + info.note);
        return load;
      }
      const onnx::Int8HeadLayout layout = onnx::Int8Layout(head);
      auto held = std::make_shared<HeldInitializers>();
      held->bytes.resize(layout.codes_bytes + layout.scales_bytes);
      {
        std::unique_ptr<onnx::wire::MappedFile> mapping;
        onnx::QuantizeHeadInt8(head, WeightValues(onnx, g, head, mapping), held->bytes.data());
      }
      const onnx::Int8HeadModel edit = onnx::WithInt8Head(g, head, kInt8File);
      load.model = edit.model;
      held->tensors = {{edit.codes, onnx::kElemUint8, {head.n, layout.blocks, onnx::kInt8Block}, 0, layout.codes_bytes},
                       {edit.scales, head.float32_activations ? onnx::kElemFloat : onnx::kElemFloat16,
                        {head.n * layout.blocks}, layout.codes_bytes, layout.scales_bytes}};
      load.held = held;
      load.extras.initializers = held.get();
      info.quantized = true;
      info.kernel = "onnxruntime MatMulNBits int8";
      info.note = "re-quantized at load: 8 bits per weight, blocks of 32 along K, symmetric (--lm-head-quant int8)";
      return load;
    }
    if (!head.float_head) return load;
    if (options.device != "cpu") {
      info.note = "the decoder runs on " + options.device + ": gemma4's float kernel is for the CPU";
      return load;
    }
    if (!options.lm_head_in_place) {
      info.note = "gemma4's float kernel is off (--no-lm-head-in-place)";
      return load;
    }
    if (!head.float32_activations) {
      info.note = "a float16 MatMul: ONNX Runtime runs it through float32 Casts of its own, which gemma4's float kernel "
                  "does not reproduce bit for bit";
      return load;
    }
    // The scale folded in first: ONNX Runtime folds it into FusedMatMul at the default level.
    std::vector<bool> candidates{false};
    if (head.scale) candidates.insert(candidates.begin(), true);
    size_t mismatches = 0, checked = 0;
    for (bool with_scale : candidates) {
      mismatches = ProbeMismatches(onnx, g, head, with_scale, options, checked);
      if (mismatches > 0) continue;
      const char* op = head.weight_type == onnx::kElemFloat16 ? kernels::kOpF16Weight : kernels::kOpF32Weight;
      load.model = onnx::WithFloatHeadOp(g, head, kernels::kFloatOpDomain, op, with_scale);
      load.extras.float_ops = true;
      info.in_place = true;
      info.kernel = std::string("gemma4 float kernel (") + kernels::IsaName(kernels::DefaultIsa()) + ")";
      info.note = "weight read in place; a probe at load gave ONNX Runtime's MatMul results bit for bit (" +
                  std::to_string(checked) + " values" + (with_scale ? ", the scale folded in as FusedMatMul does" : "") + ")";
      return load;
    }
    info.note = "a probe at load found gemma4's float kernel differs from ONNX Runtime's MatMul on " +
                std::to_string(mismatches) + " of " + std::to_string(checked) + " values; left to ONNX Runtime";
    Log(LogLevel::kDebug, onnx.filename().string() + ": LM head: " + info.note);
    return load;
  } catch (const onnx::wire::WireError& e) {
    throw Error(ErrorKind::kCorrupt, onnx.string() + ": not a valid ONNX model (byte " + std::to_string(e.offset) + ": " +
                                         e.what + ")");
  }
}

LmHeadAccuracy MeasureLmHeadQuant(const Package& package, const Runtime& quantized) {
  if (!quantized.lm_head().quantized) {
    throw Error(ErrorKind::kInvalidArgument, "MeasureLmHeadQuant: the runtime's LM head is not re-quantized");
  }
  RuntimeOptions float_options = quantized.options();
  float_options.lm_head_quant.clear();
  const Runtime reference(package, float_options);
  const Tokenizer tokenizer = Tokenizer::FromFile(package.tokenizer_json, package.tokenizer_config_json.value_or(""));
  std::vector<int32_t> ids = tokenizer.Encode(kLmHeadSampleText, true);
  ids.resize(std::min({ids.size(), kLmHeadSampleTokens, quantized.max_context()}));
  if (ids.empty()) throw Error(ErrorKind::kRuntime, "MeasureLmHeadQuant: the sample text tokenized to nothing");
  auto qs = quantized.NewState();
  auto rs = reference.NewState();
  const std::span<const float> q = quantized.Forward(*qs, ids, ids.size());
  const std::vector<float> got(q.begin(), q.end());
  const std::span<const float> want = reference.Forward(*rs, ids, ids.size());
  const size_t vocab = quantized.vocab_size();
  LmHeadAccuracy a;
  a.positions = ids.size();
  size_t agree = 0;
  for (size_t p = 0; p < a.positions; ++p) {
    const float* g = got.data() + p * vocab;
    const float* w = want.data() + p * vocab;
    agree += std::max_element(g, g + vocab) - g == std::max_element(w, w + vocab) - w;
    for (size_t i = 0; i < vocab; ++i) {
      a.max_abs_error = std::max(a.max_abs_error, static_cast<double>(std::fabs(g[i] - w[i])));
      a.max_abs_logit = std::max(a.max_abs_logit, static_cast<double>(std::fabs(w[i])));
    }
  }
  a.top1_agreement = static_cast<double>(agree) / static_cast<double>(a.positions);
  return a;
}

}  // namespace gemma4
