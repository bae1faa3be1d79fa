// The two sessions of a package and one forward step: embed the new ids, run the decoder over
// the cache with every cache, mask, position and logits tensor bound (IoBinding) to buffers the
// state owns, hand back the last logits.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <cstring>

#include "core/float16.h"
#include "core/read_file.h"
#include "gemma4/error.h"
#include "gemma4/log.h"
#include "package/onnx_proto.h"
#include "package/proto_wire.h"
#include "runtime/discovered_io.h"
#include "runtime/io_discovery.h"
#include "runtime/kv_device.h"
#include "runtime/kv_state.h"
#include "runtime/lm_head.h"
#include "runtime/onnx_kv_attention.h"
#include "runtime/onnx_kv_window.h"
#include "runtime/onnx_norm_fusion.h"
#include "runtime/onnx_split.h"
#include "runtime/ort.h"
#include "runtime/session_factory.h"

namespace gemma4 {

// What a step binds to one output of a decoder session.
struct OutputSlot {
  enum Kind { kLogits, kPresent, kOther } kind = kOther;
  size_t layer = 0;    // kPresent: index in kv_layers
  bool value = false;  // kPresent: the value (else the key) cache
};

// One decoder session and its input and output names in Run() order, fixed at load.
struct DecoderPart {
  Ort::Session session{nullptr};
  std::vector<std::string> input_names, output_names;
  std::vector<const char*> input_ptrs, output_ptrs;
  std::vector<OutputSlot> output_slots;  // one per output name

  DecoderPart() = default;
  DecoderPart(Ort::Session s, std::vector<std::string> inputs, std::vector<std::string> outputs, const DecoderIo& io);
};

// Where one input of the head comes from: an input the first half was fed, or one of its outputs.
struct HeadSource {
  bool from_first_output = false;
  size_t index = 0;
};

struct Runtime::Impl {
  RuntimeOptions options;
  std::string embed_name, decoder_name;
  Ort::Session embed{nullptr};
  // The decoder graph, whole; or, split at load (onnx::SplitAfterOutputs), its first half: every
  // node the present.* outputs need, i.e. the layers that own a KV cache. Inputs: the fixed ones
  // (session order), then the KV pairs in kv_layers order. Outputs: logits first when whole; the
  // present pairs in kv_layers order; then, when split, the tensors the head reads.
  DecoderPart decoder;
  // The second half when split, empty otherwise: the KV-shared layers and the LM head. Prefill
  // runs all but the last prompt tokens through `decoder` alone.
  DecoderPart head;
  std::vector<HeadSource> head_sources;  // one per head input, resolved at load
  EmbedIo embed_io;
  DecoderIo decoder_io;
  size_t max_context = 0;
  size_t own_kernel_nodes = 0, ort_kernel_nodes = 0;  // MatMulNBits of the decoder sessions, by kernel
  size_t own_attention_nodes = 0, ort_attention_nodes = 0;  // GroupQueryAttention, likewise
  // The decoder sessions' extras: the LM head's, and where the attention routing counts go.
  SessionExtras DecoderExtras(const SessionExtras& base) {
    SessionExtras extras = base;
    extras.own_attention = &own_attention_nodes;
    extras.ort_attention = &ort_attention_nodes;
    return extras;
  }
  // From the graph at load: how each KV layer reads its cache, and the graph edited to allow
  // in-place updates (empty when no edit was needed or possible).
  onnx::KvAttentionPlan kv_plan;
  size_t rms_norms_fused = 0;  // by the load-time rewrite (onnx_norm_fusion.h)
  // How the LM head runs (runtime/lm_head.h) and what the decoder's sessions need for it; the
  // int8 weights it may hold are released once the sessions exist (ONNX Runtime copies them).
  LmHeadLoad lm_head;
  // From the graph and config.json at load: which caches keep only their sliding window, and how far.
  onnx::KvWindowPlan window_plan;
  size_t window = 0;  // the trimmed layers' window, 0 when none is trimmed
  size_t attention_heads = 0;  // config.json num_attention_heads (sizes the prefill chunk at depth)
  // Where the caches and the split's boundary tensors live: the decoder's device (kv_device.h).
  // Last member: its allocator belongs to the decoder session and must go before it.
  KvDeviceHandle kv_device;

  void Check();
  // Applies kv_plan to decoder_io.kv_layers (in_place only where the plan and the shapes allow).
  void AssignCacheUpdates();
  void Step(KvStateImpl& state, std::span<const int32_t> ids, size_t keep, bool want_logits) const;
  // Splits the decoder after its KV outputs into `decoder` and `head`; false (nothing loaded)
  // when the graph cannot be split.
  bool LoadSplit(const Package& package, const onnx::ModelSummary& summary);
};

namespace {

// Converts a float tensor between float32 and float16 when producer and consumer disagree.
Ort::Value CastFloat(Ort::Value src, TensorType want) {
  auto info = src.GetTensorTypeAndShapeInfo();
  const TensorType have = ToTensorType(info.GetElementType());
  if (have == want) return src;
  std::vector<int64_t> shape = info.GetShape();
  const size_t n = info.GetElementCount();
  Ort::AllocatorWithDefaultOptions alloc;
  Ort::Value dst = Ort::Value::CreateTensor(alloc, shape.data(), shape.size(), ToOrtType(want));
  if (have == TensorType::kFloat32 && want == TensorType::kFloat16) {
    FloatToHalf({src.GetTensorData<float>(), n}, static_cast<uint16_t*>(dst.GetTensorMutableRawData()));
  } else if (have == TensorType::kFloat16 && want == TensorType::kFloat32) {
    HalfToFloat({static_cast<const uint16_t*>(src.GetTensorRawData()), n}, dst.GetTensorMutableData<float>());
  } else {
    throw Error(ErrorKind::kUnsupported, "cannot convert " + std::string(TensorTypeName(have)) + " to " +
                                             std::string(TensorTypeName(want)));
  }
  return dst;
}

}  // namespace

void Runtime::Impl::Check() {
  const auto& d = decoder_io;
  const auto& e = embed_io;
  auto hidden = [](const TensorSpec& s) { return s.shape.back(); };
  if (hidden(e.inputs_embeds) > 0 && hidden(d.inputs_embeds) > 0 && hidden(e.inputs_embeds) != hidden(d.inputs_embeds)) {
    throw Error(ErrorKind::kUnsupported, embed_name + " produces inputs_embeds " + e.inputs_embeds.ShapeString() + " but " +
                                             decoder_name + " takes " + d.inputs_embeds.ShapeString());
  }
  if (d.per_layer_inputs && !e.per_layer_inputs) {
    throw Error(ErrorKind::kUnsupported, decoder_name + " takes per_layer_inputs but " + embed_name + " does not produce them");
  }
  if (d.vocab_size <= 0) {
    throw Error(ErrorKind::kUnsupported, decoder_name + ": logits " + d.logits.ShapeString() + " have no fixed vocabulary size");
  }
}

void Runtime::Impl::Step(KvStateImpl& state, std::span<const int32_t> ids, size_t keep, bool want_logits) const {
  const auto& input_names = decoder.input_names;
  const bool split = static_cast<bool>(head.session);
  const size_t past = state.cached();
  const size_t s = ids.size();
  const size_t total = past + s;
  state.PrepareStep(s);

  auto interrupted = [&] {
    return Error(ErrorKind::kCancelled, decoder_name + ": interrupted (the request was cancelled); the cache is unchanged");
  };
  if (state.interrupted()) throw interrupted();
  Ort::RunOptions& run_options = state.run_options();
  Ort::Value input_ids = state.Ids(embed_io.input_ids.type, ids);
  const char* embed_in[] = {embed_io.input_ids.name.c_str()};
  std::vector<const char*> embed_out = {embed_io.inputs_embeds.name.c_str()};
  if (decoder_io.per_layer_inputs) embed_out.push_back(embed_io.per_layer_inputs->name.c_str());
  std::vector<Ort::Value> embedded;
  auto run_start = std::chrono::steady_clock::now();
  try {
    embedded = const_cast<Ort::Session&>(embed).Run(run_options, embed_in, &input_ids, 1, embed_out.data(), embed_out.size());
  } catch (const Ort::Exception& ex) {
    if (state.interrupted()) throw interrupted();
    throw Error(ErrorKind::kRuntime, embed_name + ": " + ex.what());
  }
  state.AddOrtRunMs(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count());

  // Every input and output is bound; nothing of the state moves, so a step that fails anywhere
  // below leaves it as it was (in-place layers may have written positions past length(), which
  // no later step reads before writing them again).
  std::vector<Ort::Value> inputs;
  inputs.reserve(input_names.size());
  const size_t kv_begin = input_names.size() - 2 * decoder_io.kv_layers.size();
  for (size_t i = 0; i < kv_begin; ++i) {
    const std::string& name = input_names[i];
    if (name == decoder_io.inputs_embeds.name) {
      inputs.push_back(CastFloat(std::move(embedded[0]), decoder_io.inputs_embeds.type));
    } else if (decoder_io.per_layer_inputs && name == decoder_io.per_layer_inputs->name) {
      inputs.push_back(CastFloat(std::move(embedded[1]), decoder_io.per_layer_inputs->type));
    } else if (name == decoder_io.attention_mask.name) {
      inputs.push_back(state.Mask(decoder_io.attention_mask.type, total));
    } else if (decoder_io.window_mask && name == decoder_io.window_mask->name) {
      inputs.push_back(state.Mask(decoder_io.window_mask->type, state.cached() - state.window_offset() + s));
    } else if (decoder_io.position_ids && name == decoder_io.position_ids->name) {
      inputs.push_back(state.Positions(decoder_io.position_ids->type, past, s));
    } else if (decoder_io.num_logits_to_keep && name == decoder_io.num_logits_to_keep->name) {
      std::vector<int64_t> shape(decoder_io.num_logits_to_keep->shape.size(), 1);
      inputs.push_back(state.Scalar(decoder_io.num_logits_to_keep->type, shape, static_cast<int64_t>(keep)));
    } else {
      throw Error(ErrorKind::kRuntime, decoder_name + ": no value for input '" + name + "'");
    }
  }
  // KV inputs follow the fixed inputs in input_names, in kv_layers order (see DecoderInputOrder).
  for (size_t i = 0; i < decoder_io.kv_layers.size(); ++i) {
    inputs.push_back(state.Past(i, false, s));
    inputs.push_back(state.Past(i, true, s));
  }
  // Rows of logits the graph returns: the kept ones, or every position without num_logits_to_keep.
  const size_t rows = decoder_io.num_logits_to_keep ? keep : s;

  run_start = std::chrono::steady_clock::now();
  try {
    Ort::IoBinding binding(const_cast<Ort::Session&>(decoder.session));
    for (size_t i = 0; i < inputs.size(); ++i) binding.BindInput(decoder.input_ptrs[i], inputs[i]);
    // Outputs in decoder.output_names order, so GetOutputValues() indexes like head_sources.
    std::vector<Ort::Value> bound;
    bound.reserve(decoder.output_names.size());
    for (const OutputSlot& slot : decoder.output_slots) {
      const char* name = decoder.output_ptrs[bound.size()];
      if (slot.kind == OutputSlot::kLogits) {
        bound.push_back(state.Logits(rows));
        binding.BindOutput(name, bound.back());
      } else if (slot.kind == OutputSlot::kPresent) {
        bound.push_back(state.Present(slot.layer, slot.value, s));
        binding.BindOutput(name, bound.back());
      } else {
        // The split boundary stays where the decoder runs (on CUDA, never through the host).
        bound.emplace_back(nullptr);
        binding.BindOutput(name, kv_device.device->memory_info());
      }
    }
    const_cast<Ort::Session&>(decoder.session).Run(run_options, binding);
    // A device provider may return before its stream has written outputs bound to device memory;
    // the caches must be complete before anything copies them (a rewind, a clone, the next step).
    const bool device_outputs = !kv_device.device->host_mapped();
    if (device_outputs) binding.SynchronizeOutputs();
    if (split && want_logits) {
      // The head reads original inputs and tensors of the first half, all borrowed, none copied.
      std::vector<Ort::Value> outputs = binding.GetOutputValues();
      Ort::IoBinding head_binding(const_cast<Ort::Session&>(head.session));
      for (size_t i = 0; i < head_sources.size(); ++i) {
        const HeadSource& src = head_sources[i];
        head_binding.BindInput(head.input_ptrs[i], src.from_first_output ? outputs[src.index] : inputs[src.index]);
      }
      Ort::Value logits = state.Logits(rows);
      head_binding.BindOutput(head.output_ptrs[0], logits);
      const_cast<Ort::Session&>(head.session).Run(run_options, head_binding);
      if (device_outputs) head_binding.SynchronizeOutputs();
    }
  } catch (const Ort::Exception& ex) {
    if (state.interrupted()) throw interrupted();
    throw Error(ErrorKind::kRuntime, decoder_name + ": " + ex.what());
  }
  state.AddOrtRunMs(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count());
  state.Commit(ids);
  state.SetLogitsRows(want_logits ? rows : 0);
}

DecoderPart::DecoderPart(Ort::Session s, std::vector<std::string> inputs, std::vector<std::string> outputs,
                         const DecoderIo& io)
    : session(std::move(s)), input_names(std::move(inputs)), output_names(std::move(outputs)) {
  for (const auto& n : input_names) input_ptrs.push_back(n.c_str());
  for (const auto& n : output_names) {
    output_ptrs.push_back(n.c_str());
    OutputSlot slot;
    if (n == io.logits.name) slot.kind = OutputSlot::kLogits;
    for (size_t i = 0; i < io.kv_layers.size(); ++i) {
      if (n == io.kv_layers[i].present_key || n == io.kv_layers[i].present_value) {
        slot = {OutputSlot::kPresent, i, n == io.kv_layers[i].present_value};
      }
    }
    output_slots.push_back(slot);
  }
}

namespace {

// Fixed inputs in session order, then the KV pairs in kv_layers order.
std::vector<std::string> DecoderInputOrder(const DecoderIo& io) {
  std::vector<std::string> names;
  for (const auto& in : io.inputs) {
    if (in.name.rfind("past_key_values.", 0) != 0) names.push_back(in.name);
  }
  for (const auto& layer : io.kv_layers) {
    names.push_back(layer.past_key.name);
    names.push_back(layer.past_value.name);
  }
  return names;
}

std::vector<std::string> PresentNames(const DecoderIo& io) {
  std::vector<std::string> names;
  for (const auto& layer : io.kv_layers) {
    names.push_back(layer.present_key);
    names.push_back(layer.present_value);
  }
  return names;
}

}  // namespace

namespace {

// The op, if any, of a float16 decoder that ONNX Runtime's CPU provider has no float16 kernel for
// (it inserts float32 Casts around it), as ModelSummary::op_types spells it ("domain:op"); nullptr
// otherwise. Read off the file as exported.
const char* Float16OpRunInFloat32(const onnx::ModelSummary& summary) {
  bool float16 = false;
  for (const auto& in : summary.inputs) float16 |= in.name == "inputs_embeds" && in.elem_type == 10;
  if (!float16) return nullptr;
  for (const char* op : {":SimplifiedLayerNormalization", "com.microsoft:SkipSimplifiedLayerNormalization"}) {
    if (std::find(summary.op_types.begin(), summary.op_types.end(), op) != summary.op_types.end()) return op;
  }
  return nullptr;
}

}  // namespace

bool Runtime::Impl::LoadSplit(const Package& package, const onnx::ModelSummary& summary) {
  std::vector<std::string> present;
  for (const auto& out : summary.outputs) {
    if (out.name.rfind("present.", 0) == 0) present.push_back(out.name);
  }
  if (present.empty()) return false;
  if (const char* op = Float16OpRunInFloat32(summary)) {
    // ONNX Runtime's CPU provider runs this op of a float16 graph between Casts it inserts to and
    // from float32, then removes the Cast pairs that cancel; which pairs cancel depends on the
    // nodes around them, so the two halves keep other float16 roundings than the whole graph and
    // a near-tie can resolve differently (seen on make_full_size.py --norm fused --dtype q4f16).
    // Exactness first: such a graph runs whole.
    Log(LogLevel::kDebug, decoder_name + ": not split after its KV outputs: a float16 graph with " + (op + (op[0] == ':')) +
                              ", which ONNX Runtime runs through inserted float32 Casts; running it whole");
    return false;
  }
  std::optional<onnx::GraphSplit> split =
      kv_plan.model.empty() ? onnx::SplitAfterOutputs(package.decoder.onnx, summary, present)
                            : onnx::SplitAfterOutputs(package.decoder.onnx, summary, present, kv_plan.model);
  if (!split) {
    Log(LogLevel::kDebug, decoder_name + ": cannot be split after its KV outputs; running it whole");
    return false;
  }
  Ort::Session first = CreateSessionFromBytes(split->first, package.decoder.onnx, split->data_folder, options.device,
                                              options, "_kv", own_kernel_nodes, ort_kernel_nodes,
                                              DecoderExtras(SessionExtras{lm_head.extras.float_ops, nullptr}));  // the head is in the second half
  std::vector<TensorSpec> first_inputs = ReadSpecs(first, true), first_outputs = ReadSpecs(first, false);
  std::map<std::string, int32_t> types;
  for (const auto& spec : first_outputs) types[spec.name] = static_cast<int32_t>(ToOrtType(spec.type));
  Ort::Session second = CreateSessionFromBytes(split->Second(types), package.decoder.onnx, split->data_folder,
                                               options.device, options, "_head", own_kernel_nodes, ort_kernel_nodes,
                                               DecoderExtras(lm_head.extras));

  // Declared as the whole graph would: its inputs, then logits (and any other output of the
  // head) and the present pairs; the boundary is an implementation detail.
  std::vector<TensorSpec> outputs = ReadSpecs(second, false);
  for (auto& spec : first_outputs) {
    if (std::find(present.begin(), present.end(), spec.name) != present.end()) outputs.push_back(std::move(spec));
  }
  decoder_io = DiscoverDecoderIo(std::move(first_inputs), std::move(outputs), decoder_name);
  AssignCacheUpdates();
  std::vector<std::string> first_names = PresentNames(decoder_io);
  for (const auto& b : split->boundary) {
    if (std::find(first_names.begin(), first_names.end(), b) == first_names.end()) first_names.push_back(b);
  }
  decoder = DecoderPart(std::move(first), DecoderInputOrder(decoder_io), std::move(first_names), decoder_io);
  std::vector<std::string> head_inputs;
  for (const auto& spec : ReadSpecs(second, true)) {
    auto& names = decoder.input_names;
    auto in = std::find(names.begin(), names.end(), spec.name);
    auto out = std::find(decoder.output_names.begin(), decoder.output_names.end(), spec.name);
    if (in != names.end()) {
      head_sources.push_back({false, static_cast<size_t>(in - names.begin())});
    } else if (out != decoder.output_names.end()) {
      head_sources.push_back({true, static_cast<size_t>(out - decoder.output_names.begin())});
    } else {
      throw Error(ErrorKind::kRuntime, decoder_name + ": the head of the split graph reads '" + spec.name +
                                           "', which the first half neither takes nor returns");
    }
    head_inputs.push_back(spec.name);
  }
  head = DecoderPart(std::move(second), std::move(head_inputs), {decoder_io.logits.name}, decoder_io);
  Log(LogLevel::kDebug, decoder_name + ": split after its KV outputs: " + std::to_string(split->nodes_first) + " of " +
                            std::to_string(split->nodes_total) + " nodes and " + std::to_string(split->initializers_first) +
                            " of " + std::to_string(split->initializers_total) + " initializers in the first half; " +
                            std::to_string(split->boundary.size()) + " tensors cross");
  return true;
}

namespace {

// Reads how the decoder updates each KV cache (see onnx_kv_attention.h), from the declared
// past_key_values.N.* inputs and their present.N.* outputs.
onnx::KvAttentionPlan PlanCacheUpdates(const std::filesystem::path& onnx_path, const onnx::ModelSummary& summary,
                                       std::string_view model, const RuntimeOptions& options) {
  std::vector<onnx::KvAttention> layers;
  const std::string prefix = "past_key_values.", suffix = ".key";
  for (const auto& in : summary.inputs) {
    const std::string& n = in.name;
    if (n.rfind(prefix, 0) != 0 || n.size() <= prefix.size() + suffix.size() ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string index = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    onnx::KvAttention layer;
    layer.past_key = n;
    layer.past_value = prefix + index + ".value";
    layer.present_key = "present." + index + ".key";
    layer.present_value = "present." + index + ".value";
    layers.push_back(std::move(layer));
  }
  onnx::KvAttentionPlan plan;
  if (!options.kv_in_place) {
    for (auto& l : layers) l.reason = "in-place updates are off (RuntimeOptions::kv_in_place, --no-kv-in-place)";
    plan.layers = std::move(layers);
  } else {
    plan = onnx::PlanKvAttention(onnx_path, model, std::move(layers));
  }
  return plan;
}

// Which caches may keep only their sliding window (see onnx_kv_window.h), on the graph as the
// in-place plan left it; a trimmed plan's edited graph replaces kv_plan.model.
onnx::KvWindowPlan PlanWindows(const std::filesystem::path& onnx_path, const ModelConfig& config,
                               onnx::KvAttentionPlan& kv_plan, const RuntimeOptions& options) {
  std::vector<onnx::KvWindowLayer> layers;
  const std::string prefix = "past_key_values.";
  for (const auto& l : kv_plan.layers) {
    onnx::KvWindowLayer layer;
    layer.past_key = l.past_key;
    layer.past_value = l.past_value;
    // past_key_values.N belongs to layer N (the KV-owning layers come first).
    const std::string index = l.past_key.substr(prefix.size(), l.past_key.find('.', prefix.size()) - prefix.size());
    const size_t n = static_cast<size_t>(std::strtoul(index.c_str(), nullptr, 10));
    layer.sliding = n < config.layer_types.size() && config.layer_types[n] == "sliding_attention";
    layers.push_back(std::move(layer));
  }
  if (!options.kv_window) {
    onnx::KvWindowPlan off;
    off.layers = std::move(layers);
    off.note = "off (RuntimeOptions::kv_window; --kv-window turns it on)";
    return off;
  }
  onnx::KvWindowPlan plan;
  if (kv_plan.model.empty()) {
    onnx::wire::MappedFile file(onnx_path);
    plan = onnx::PlanKvWindow(onnx_path, {reinterpret_cast<const char*>(file.data()), file.size()}, std::move(layers),
                              config.sliding_window);
  } else {
    plan = onnx::PlanKvWindow(onnx_path, kv_plan.model, std::move(layers), config.sliding_window);
  }
  if (plan.trimmed) kv_plan.model = std::move(plan.model);
  return plan;
}

}  // namespace

void Runtime::Impl::AssignCacheUpdates() {
  decoder_io.window_note = window_plan.note;
  for (KvLayerSpec& layer : decoder_io.kv_layers) {
    for (const onnx::KvWindowLayer& plan : window_plan.layers) {
      if (plan.past_key == layer.past_key.name) layer.window = plan.window;
    }
    window = std::max(window, static_cast<size_t>(layer.window));
    for (const onnx::KvAttention& plan : kv_plan.layers) {
      if (plan.past_key != layer.past_key.name) continue;
      layer.attention = plan.consumer;
      layer.in_place = plan.in_place && layer.num_heads == 1;
      layer.cache_note = plan.in_place && !layer.in_place
                             ? "in place needs one KV head (the cache is bound as a prefix of its buffer)"
                             : plan.reason;
    }
    if (!layer.in_place && layer.cache_note.empty()) layer.cache_note = "not found in the graph's nodes";
  }
}

// GetOrtInfo() first: it loads the ONNX Runtime API table every Ort:: call below relies on.
Runtime::Runtime(const Package& package, const RuntimeOptions& options)
    : impl_((GetOrtInfo(), std::make_unique<Impl>())) {
  Impl& m = *impl_;
  m.options = options;
  m.embed_name = package.embed.onnx.filename().string();
  m.decoder_name = package.decoder.onnx.filename().string();
  m.embed = CreateSession(package.embed.onnx, options.embed_device, options);
  m.embed_io = DiscoverEmbedIo(m.embed, m.embed_name);
  const onnx::ModelSummary summary = onnx::ReadModelSummary(package.decoder.onnx);
  {
    // The edits at load, each on the previous one's bytes: norm fusion, the LM head, then in-place
    // caches. kv_plan.model ends up holding the final edited graph (empty: the file as it is).
    onnx::wire::MappedFile file(package.decoder.onnx);
    const std::string_view original(reinterpret_cast<const char*>(file.data()), file.size());
    onnx::NormFusion norms;
    if (options.fuse_norms) norms = onnx::FuseRmsNorms(package.decoder.onnx, original);
    m.rms_norms_fused = norms.fused;
    m.lm_head = PlanLmHead(package.decoder.onnx, norms.model.empty() ? original : norms.model, options);
    std::string edited = m.lm_head.model.empty() ? std::move(norms.model) : std::move(m.lm_head.model);
    m.lm_head.model.clear();
    m.kv_plan = PlanCacheUpdates(package.decoder.onnx, summary, edited.empty() ? original : edited, options);
    if (m.kv_plan.model.empty()) m.kv_plan.model = std::move(edited);
    if (m.rms_norms_fused > 0) {
      Log(LogLevel::kDebug, m.decoder_name + ": " + std::to_string(m.rms_norms_fused) +
                                " RMSNorms fused into SimplifiedLayerNormalization");
    }
  }
  m.window_plan = PlanWindows(package.decoder.onnx, package.config, m.kv_plan, options);
  m.attention_heads = static_cast<size_t>(std::max<int64_t>(package.config.num_attention_heads, 0));
  if (!options.kv_prefill || !m.LoadSplit(package, summary)) {
    // The edited graph (when there is one) reads its external data from the model's own folder,
    // as ONNX Runtime does for the file itself.
    // Our kernels need the graph's bytes to reroute its MatMulNBits: the file is read when no
    // edit did (its weights stay in the sidecars, which ONNX Runtime maps).
    Ort::Session whole = m.kv_plan.model.empty() && !UsesOwnKernels(options.device, options) &&
                                 !UsesOwnAttention(options.device, options)
                             ? CreateSession(package.decoder.onnx, options.device, options)
                             : CreateSessionFromBytes(m.kv_plan.model.empty() ? ReadTextFile(package.decoder.onnx) : m.kv_plan.model,
                                                      package.decoder.onnx, package.decoder.onnx.parent_path(),
                                                      options.device, options, "", m.own_kernel_nodes, m.ort_kernel_nodes,
                                                      m.DecoderExtras(m.lm_head.extras));
    m.decoder_io = DiscoverDecoderIo(whole, m.decoder_name);
    m.AssignCacheUpdates();
    std::vector<std::string> outputs = PresentNames(m.decoder_io);
    outputs.insert(outputs.begin(), m.decoder_io.logits.name);
    m.decoder = DecoderPart(std::move(whole), DecoderInputOrder(m.decoder_io), std::move(outputs), m.decoder_io);
  }
  m.Check();
  m.kv_device = MakeKvDevice(options.device, m.decoder.session);
  m.lm_head.extras.initializers = nullptr;
  m.lm_head.held.reset();

  const size_t model_max = package.config.max_position_embeddings > 0 ? package.config.max_position_embeddings : 131072;
  m.max_context = options.max_context > 0 ? std::min(options.max_context, model_max) : model_max;
}

Runtime::~Runtime() = default;

// The one door to Runtime::Impl from outside its members (runtime/discovered_io.h).
struct RuntimeAccess {
  static const Runtime::Impl& Of(const Runtime& runtime) { return *runtime.impl_; }
};
const EmbedIo& EmbedIoOf(const Runtime& runtime) { return RuntimeAccess::Of(runtime).embed_io; }
const DecoderIo& DecoderIoOf(const Runtime& runtime) { return RuntimeAccess::Of(runtime).decoder_io; }

const RuntimeOptions& Runtime::options() const { return impl_->options; }
size_t Runtime::max_context() const { return impl_->max_context; }
size_t Runtime::vocab_size() const { return static_cast<size_t>(impl_->decoder_io.vocab_size); }
size_t Runtime::own_kernel_nodes() const { return impl_->own_kernel_nodes; }
size_t Runtime::ort_kernel_nodes() const { return impl_->ort_kernel_nodes; }
size_t Runtime::own_attention_nodes() const { return impl_->own_attention_nodes; }
size_t Runtime::ort_attention_nodes() const { return impl_->ort_attention_nodes; }
bool Runtime::has_kv_prefill() const { return static_cast<bool>(impl_->head.session); }
size_t Runtime::rms_norms_fused() const { return impl_->rms_norms_fused; }
std::string Runtime::kv_memory() const { return impl_->kv_device.device->description(); }
const LmHeadInfo& Runtime::lm_head() const { return impl_->lm_head.info; }

std::unique_ptr<KvState> Runtime::NewState() const {
  return std::make_unique<KvStateImpl>(impl_->decoder_io, *impl_->kv_device.device, impl_->max_context,
                                       impl_->options.max_context > 0,
                                       impl_->options.kv_window_margin);
}

std::span<const float> Runtime::Forward(KvState& base_state, std::span<const int32_t> ids, size_t logits_to_keep) const {
  auto& state = static_cast<KvStateImpl&>(base_state);
  const Impl& m = *impl_;
  if (ids.empty()) throw Error(ErrorKind::kInvalidArgument, "Forward: no tokens to process");
  if (logits_to_keep == 0 || logits_to_keep > ids.size()) {
    throw Error(ErrorKind::kInvalidArgument, "Forward: logits_to_keep must be in [1, " + std::to_string(ids.size()) +
                                                 "], got " + std::to_string(logits_to_keep));
  }
  if (state.length() + ids.size() > m.max_context) {
    throw Error(ErrorKind::kLimit, "context full: " + std::to_string(state.length()) + " cached + " +
                                       std::to_string(ids.size()) + " new tokens exceed the context size of " +
                                       std::to_string(m.max_context));
  }
  const int64_t vocab = m.decoder_io.vocab_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw Error(ErrorKind::kInvalidArgument, "token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                                                   " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }

  // A rewind into positions the trimmed layers no longer hold left the rest of the conversation
  // pending: it goes through first, as the start of this prompt.
  std::vector<int32_t> replayed;
  if (!state.pending().empty()) {
    replayed.assign(state.pending().begin(), state.pending().end());
    replayed.insert(replayed.end(), ids.begin(), ids.end());
    ids = replayed;
  }

  // Prefill: every token before the last `logits_to_keep` only fills the cache. With the decoder
  // split they skip the head (the layers that own no cache, the LM head) in one call (or chunks
  // of prefill_chunk). Without it they go through the full decoder together with the
  // last ones, in chunks when its logits cover every position (no num_logits_to_keep: 1 MiB per
  // token at Gemma's vocabulary) so that buffer stays bounded.
  size_t chunk = m.options.prefill_chunk;
  // Trimmed layers hold their window plus the step, so with them a long prompt goes in chunks
  // (llama.cpp's default micro-batch). What a chunk costs in activations (per-layer inputs,
  // attention scores, MLP widths) is what ONNX Runtime's arena keeps at its peak: 2048-position
  // chunks held 0.7 GB more anonymous memory at depth 16384 than 512-position ones, for the same
  // TTFT (docs/BENCHMARKS.md, "sliding-window layers keep only their window").
  constexpr size_t kWindowedPrefillChunk = 512;
  const bool adaptive = chunk == 0 && m.window > 0;
  if (adaptive) chunk = kWindowedPrefillChunk;
  // With trimmed windows the full-attention layers are what grows: their scores for a chunk are
  // heads x chunk x (history + chunk) floats, which ONNX Runtime's arena keeps at its peak. Deep in
  // a conversation the default chunk shrinks to keep them within kScoreBudget.
  constexpr size_t kScoreBudget = size_t{256} << 20;
  auto chunk_at = [&](size_t history) {
    if (!adaptive || m.attention_heads == 0) return chunk;
    const size_t per_query = m.attention_heads * (history + chunk) * sizeof(float);
    return std::clamp<size_t>(kScoreBudget / per_query, 64, chunk);
  };
  // A call that fails or is interrupted after some of its chunks leaves the state as it was before
  // the call: the chunks already in the cache are dropped again (a rewind, re-prefilled when the
  // window has slid past it).
  const size_t length_before = state.length();
  try {
    size_t done = 0;
    if (m.head.session) {
      const size_t prefix = ids.size() - logits_to_keep;
      if (chunk == 0) chunk = prefix;
      while (done < prefix) {
        const size_t step = std::min(chunk_at(state.cached()), prefix - done);
        m.Step(state, ids.subspan(done, step), 1, /*want_logits=*/false);
        done += step;
      }
    } else {
      constexpr size_t kChunkWithoutLogitsToKeep = 128;
      if (chunk == 0) chunk = m.decoder_io.num_logits_to_keep ? ids.size() : kChunkWithoutLogitsToKeep;
      chunk = std::max(chunk, logits_to_keep);
      while (ids.size() - done > chunk) {
        // Leave at least `logits_to_keep` tokens for the last call, which returns the logits.
        const size_t step = std::min(chunk_at(state.cached()), ids.size() - done - logits_to_keep);
        if (step == 0) break;
        m.Step(state, ids.subspan(done, step), 1, /*want_logits=*/true);
        done += step;
      }
    }
    m.Step(state, ids.subspan(done), logits_to_keep, /*want_logits=*/true);
  } catch (...) {
    state.Truncate(length_before);
    throw;
  }

  const size_t rows = state.logits_rows();
  if (rows < logits_to_keep) {
    throw Error(ErrorKind::kRuntime, m.decoder_name + ": logits have " + std::to_string(rows) + " rows, expected at least " +
                                         std::to_string(logits_to_keep));
  }
  const size_t offset = (rows - logits_to_keep) * static_cast<size_t>(vocab);
  const size_t count = logits_to_keep * static_cast<size_t>(vocab);
  if (m.decoder_io.logits.type == TensorType::kFloat16) {
    state.logits_float.resize(count);
    HalfToFloat({static_cast<const uint16_t*>(state.logits_data()) + offset, count}, state.logits_float.data());
    return state.logits_float;
  }
  return {static_cast<const float*>(state.logits_data()) + offset, count};
}

}  // namespace gemma4
