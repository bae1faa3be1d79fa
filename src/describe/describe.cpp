// Builds the description behind `gemma4 info`: layout, config, graphs, I/O and a memory plan.
#include "gemma4/describe.h"

#include <algorithm>

#include "runtime/discovered_io.h"
#include "runtime/kv_state.h"
#include "runtime/lm_head.h"

namespace gemma4 {
namespace {

// Whether sliding-window layers keep only their window (and how many positions), or why not.
nlohmann::json KvWindowJson(const DecoderIo& d, const RuntimeOptions& options) {
  int64_t window = 0, layers = 0;
  for (const auto& l : d.kv_layers) {
    window = std::max(window, l.window);
    layers += l.window > 0;
  }
  if (window == 0) return {{"trimmed", false}, {"note", d.window_note}};
  const size_t margin = options.kv_window_margin ? options.kv_window_margin : static_cast<size_t>(window);
  return {{"trimmed", true}, {"layers", layers}, {"window", window}, {"margin", margin},
          {"held_positions", KvWindowPositions(static_cast<size_t>(window), margin)}};
}

nlohmann::json SpecJson(const TensorSpec& s) {
  nlohmann::json shape = nlohmann::json::array();
  for (size_t i = 0; i < s.shape.size(); ++i) {
    if (s.shape[i] >= 0) shape.push_back(s.shape[i]);
    else shape.push_back(i < s.dim_names.size() && !s.dim_names[i].empty() ? s.dim_names[i] : "?");
  }
  return {{"name", s.name}, {"type", TensorTypeName(s.type)}, {"shape", shape}};
}

nlohmann::json SpecsJson(const std::vector<TensorSpec>& specs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : specs) out.push_back(SpecJson(s));
  return out;
}

nlohmann::json GraphJson(const GraphFiles& g) {
  nlohmann::json sidecars = nlohmann::json::array();
  for (const auto& f : g.external_data) {
    sidecars.push_back({{"file", f.location}, {"bytes", f.actual_bytes}, {"referenced_bytes", f.required_bytes}});
  }
  return {{"file", g.onnx.filename().string()}, {"onnx_bytes", g.onnx_bytes}, {"weight_bytes", g.WeightBytes()},
          {"inline_weight_bytes", g.inline_weight_bytes}, {"external_weight_bytes", g.external_weight_bytes},
          {"external_data", sidecars}, {"op_types", g.op_types}};
}

}  // namespace

nlohmann::json DescribeModel(const Package& p, const Runtime* runtime, size_t context) {
  nlohmann::json j;
  j["path"] = p.root.string();
  j["layout"] = p.layout == PackageLayout::kTextOnly ? "text-only" : "community";
  j["dtype"] = p.dtype;
  j["available_dtypes"] = p.available_dtypes;
  const ModelConfig& c = p.config;
  j["config"] = {{"model_type", c.model_type},
                 {"hidden_size", c.hidden_size},
                 {"num_hidden_layers", c.num_hidden_layers},
                 {"num_attention_heads", c.num_attention_heads},
                 {"num_key_value_heads", c.num_key_value_heads},
                 {"head_dim", c.head_dim},
                 {"global_head_dim", c.global_head_dim},
                 {"num_kv_shared_layers", c.num_kv_shared_layers},
                 {"sliding_window", c.sliding_window},
                 {"vocab_size", c.vocab_size},
                 {"hidden_size_per_layer_input", c.hidden_size_per_layer_input},
                 {"max_position_embeddings", c.max_position_embeddings},
                 {"final_logit_softcapping", c.final_logit_softcapping ? nlohmann::json(*c.final_logit_softcapping)
                                                                       : nlohmann::json(nullptr)},
                 {"layer_types", c.layer_types}};
  j["generation"] = {{"eos_token_ids", p.generation.eos_token_ids},
                     {"bos_token_id", p.generation.bos_token_id ? nlohmann::json(*p.generation.bos_token_id) : nullptr},
                     {"pad_token_id", p.generation.pad_token_id ? nlohmann::json(*p.generation.pad_token_id) : nullptr},
                     {"sampling", p.generation.sampling.is_null() ? nlohmann::json::object() : p.generation.sampling}};
  j["files"] = {{"tokenizer_json", p.tokenizer_json.filename().string()},
                {"tokenizer_config_json", p.tokenizer_config_json ? nlohmann::json(p.tokenizer_config_json->filename().string()) : nullptr},
                {"chat_template", p.chat_template_jinja ? nlohmann::json(p.chat_template_jinja->filename().string())
                                  : p.has_chat_template ? nlohmann::json("tokenizer_config.json#chat_template")
                                                        : nlohmann::json(nullptr)}};
  j["graphs"] = {{"embed", GraphJson(p.embed)}, {"decoder", GraphJson(p.decoder)}};
  if (!runtime) return j;

  const OrtInfo& ort = GetOrtInfo();
  j["onnxruntime"] = {{"version", ort.version}, {"library", ort.library_path}, {"providers", ort.providers}};
  const KernelInfo kernels = GetKernelInfo();
  const bool own = runtime->own_kernel_nodes() > 0;
  j["kernels"] = {{"matmulnbits", own ? "gemma4" : "ort"},
                  {"requested", runtime->options().kernels},
                  {"isa", own ? nlohmann::json(kernels.isa) : nlohmann::json(nullptr)},
                  {"own_nodes", runtime->own_kernel_nodes()},
                  {"ort_nodes", runtime->ort_kernel_nodes()},
                  {"supported_isas", kernels.supported},
                  {"cpu_features", kernels.cpu_features}};
  const bool own_attention = runtime->own_attention_nodes() > 0;
  j["kernels"]["attention"] = {{"kernel", own_attention ? "gemma4" : "ort"},
                               {"requested", runtime->options().attention},
                               {"own_nodes", runtime->own_attention_nodes()},
                               {"ort_nodes", runtime->ort_attention_nodes()}};
  const EmbedIo& e = EmbedIoOf(*runtime);
  const DecoderIo& d = DecoderIoOf(*runtime);
  j["graphs"]["embed"]["inputs"] = SpecsJson(e.inputs);
  j["graphs"]["embed"]["outputs"] = SpecsJson(e.outputs);
  j["graphs"]["embed"]["device"] = runtime->options().embed_device;
  j["graphs"]["decoder"]["inputs"] = SpecsJson(d.inputs);
  j["graphs"]["decoder"]["outputs"] = SpecsJson(d.outputs);
  j["graphs"]["decoder"]["device"] = runtime->options().device;
  nlohmann::json kv = nlohmann::json::array();
  for (const auto& l : d.kv_layers) {
    kv.push_back({{"index", l.index}, {"past_key", l.past_key.name}, {"past_value", l.past_value.name},
                  {"present_key", l.present_key}, {"present_value", l.present_value}, {"num_heads", l.num_heads},
                  {"head_dim", l.head_dim}, {"type", TensorTypeName(l.type)}, {"bytes_per_token", l.BytesPerToken()},
                  {"cache_update", l.in_place ? "in_place" : "copy"}, {"attention", l.attention},
                  {"cache_note", l.cache_note}, {"window", l.window}});
  }
  j["discovery"] = {{"per_layer_inputs", d.per_layer_inputs.has_value()},
                    {"position_ids", d.position_ids.has_value()},
                    {"num_logits_to_keep", d.num_logits_to_keep.has_value()},
                    {"vocab_size", d.vocab_size},
                    {"logits_type", TensorTypeName(d.logits.type)},
                    {"kv_layers", kv},
                    {"split_prefill", runtime->has_kv_prefill()},
                    {"rms_norms_fused", runtime->rms_norms_fused()},
                    {"kv_window", KvWindowJson(d, runtime->options())},
                    {"kv_shared_layers", c.num_hidden_layers > 0
                                             ? nlohmann::json(c.num_hidden_layers - static_cast<int64_t>(d.kv_layers.size()))
                                             : nlohmann::json(nullptr)}};

  const LmHeadInfo& head = runtime->lm_head();
  j["lm_head"] = {{"form", head.form}, {"kernel", head.kernel}, {"in_place", head.in_place},
                  {"quantized", head.quantized}, {"note", head.note}};
  if (head.quantized) {
    // Measured here, not at load: it runs the sample through a second runtime with the float head.
    const LmHeadAccuracy a = MeasureLmHeadQuant(p, *runtime);
    j["lm_head"]["accuracy"] = {{"positions", a.positions}, {"top1_agreement", a.top1_agreement},
                                {"max_abs_logit_error", a.max_abs_error}, {"max_abs_logit", a.max_abs_logit},
                                {"against", "the float head, same options"},
                                {"sample", std::string("every position of a fixed text, teacher-forced (at most ") +
                                               std::to_string(kLmHeadSampleTokens) + " tokens): " + kLmHeadSampleText}};
  }

  // Memory plan: weights, the KV cache at `context` tokens, and one row of logits, per graph.
  const size_t ctx = context > 0 ? context : runtime->max_context();
  // A trimmed layer holds its window, margin and slack however long the context (plus, for a
  // step longer than the slack, the rest of that step).
  uint64_t kv_bytes = 0, kv_buffer_bytes = 0;
  for (const auto& l : d.kv_layers) {
    const size_t held = l.window > 0 ? std::min(ctx, KvWindowPositions(l.window, runtime->options().kv_window_margin)) : ctx;
    kv_bytes += l.BytesPerToken() * held;
    // What the state allocates for that: layers updated by copy keep a spare buffer for present.*.
    kv_buffer_bytes += l.BytesPerToken() * held * (l.in_place ? 1 : 2);
  }
  const uint64_t logits_bytes = static_cast<uint64_t>(d.vocab_size) * TensorTypeSize(d.logits.type);
  const uint64_t decoder_total = p.decoder.WeightBytes() + kv_bytes + logits_bytes;
  j["memory"] = {{"context", ctx},
                 {"kv_bytes_per_token", d.KvBytesPerToken()},
                 {"embed", {{"device", runtime->options().embed_device}, {"weight_bytes", p.embed.WeightBytes()},
                            {"total_bytes", p.embed.WeightBytes()}}},
                 {"decoder", {{"device", runtime->options().device}, {"weight_bytes", p.decoder.WeightBytes()},
                              {"kv_cache_bytes", kv_bytes}, {"kv_buffer_bytes", kv_buffer_bytes},
                              {"kv_memory", runtime->kv_memory()},
                              {"logits_bytes", logits_bytes},
                              {"total_bytes", decoder_total}}},
                 {"note", "excludes ONNX Runtime's working buffers (activations), which grow with the prefill chunk"}};
  return j;
}

}  // namespace gemma4
