// Discovery of names, element types and shapes, never assumed: the decoder's KV layers are the
// inputs named past_key_values.N.key|value, paired with outputs present.N.key|value by N.
#include "runtime/io_discovery.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "gemma4/error.h"
#include "runtime/onnx_kv_window.h"

namespace gemma4 {
std::vector<TensorSpec> ReadSpecs(Ort::Session& session, bool inputs) {
  Ort::AllocatorWithDefaultOptions alloc;
  const size_t n = inputs ? session.GetInputCount() : session.GetOutputCount();
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < n; ++i) {
    TensorSpec spec;
    spec.name = (inputs ? session.GetInputNameAllocated(i, alloc) : session.GetOutputNameAllocated(i, alloc)).get();
    Ort::TypeInfo type = inputs ? session.GetInputTypeInfo(i) : session.GetOutputTypeInfo(i);
    if (type.GetONNXType() == ONNX_TYPE_TENSOR) {
      auto tensor = type.GetTensorTypeAndShapeInfo();
      spec.type = ToTensorType(tensor.GetElementType());
      spec.shape = tensor.GetShape();
      std::vector<const char*> names(spec.shape.size(), nullptr);
      if (!names.empty()) tensor.GetSymbolicDimensions(names.data(), names.size());
      for (size_t d = 0; d < names.size(); ++d) spec.dim_names.emplace_back(names[d] ? names[d] : "");
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

namespace {

std::string Names(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

const TensorSpec* Find(const std::vector<TensorSpec>& specs, std::string_view name) {
  for (const auto& s : specs) if (s.name == name) return &s;
  return nullptr;
}

const TensorSpec& Require(const std::vector<TensorSpec>& specs, std::string_view name, const std::string& graph,
                          const char* what) {
  if (const auto* s = Find(specs, name)) return *s;
  throw Error(ErrorKind::kUnsupported, graph + ": no " + what + " named '" + std::string(name) + "' (it has: " +
                                           Names(specs) + ")");
}

void RequireType(const TensorSpec& spec, std::initializer_list<TensorType> allowed, const std::string& graph) {
  for (auto t : allowed) if (spec.type == t) return;
  std::string expected;
  for (auto t : allowed) expected += (expected.empty() ? "" : " or ") + std::string(TensorTypeName(t));
  throw Error(ErrorKind::kUnsupported, graph + ": '" + spec.name + "' is " + std::string(TensorTypeName(spec.type)) +
                                           ", expected " + expected);
}

void RequireRank(const TensorSpec& spec, size_t rank, const std::string& graph) {
  if (spec.shape.size() != rank) {
    throw Error(ErrorKind::kUnsupported, graph + ": '" + spec.name + "' has shape " + spec.ShapeString() +
                                             ", expected " + std::to_string(rank) + " dimensions");
  }
}

// "past_key_values.12.key" -> (12, "key"); nullopt when the name does not follow the pattern.
std::optional<std::pair<int, std::string>> ParseKvName(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  name.remove_prefix(prefix.size());
  int index = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || ptr == name.data() || *ptr != '.') return std::nullopt;
  std::string kind(ptr + 1, name.data() + name.size());
  if (kind != "key" && kind != "value") return std::nullopt;
  return std::make_pair(index, kind);
}

}  // namespace

std::string TensorSpec::ShapeString() const {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    if (shape[i] >= 0) out += std::to_string(shape[i]);
    else out += (i < dim_names.size() && !dim_names[i].empty()) ? dim_names[i] : "?";
  }
  return out + "]";
}

uint64_t DecoderIo::KvBytesPerToken() const {
  uint64_t total = 0;
  for (const auto& l : kv_layers) total += l.BytesPerToken();
  return total;
}

EmbedIo DiscoverEmbedIo(Ort::Session& session, const std::string& graph) {
  EmbedIo io;
  io.inputs = ReadSpecs(session, true);
  io.outputs = ReadSpecs(session, false);
  io.input_ids = Require(io.inputs, "input_ids", graph, "input");
  RequireType(io.input_ids, {TensorType::kInt64, TensorType::kInt32}, graph);
  RequireRank(io.input_ids, 2, graph);
  io.inputs_embeds = Require(io.outputs, "inputs_embeds", graph, "output");
  RequireType(io.inputs_embeds, {TensorType::kFloat32, TensorType::kFloat16}, graph);
  RequireRank(io.inputs_embeds, 3, graph);
  if (const auto* p = Find(io.outputs, "per_layer_inputs")) {
    io.per_layer_inputs = *p;
    RequireType(*p, {TensorType::kFloat32, TensorType::kFloat16}, graph);
  }
  if (io.inputs.size() != 1) {
    throw Error(ErrorKind::kUnsupported, graph + ": expected one input (input_ids), found: " + Names(io.inputs));
  }
  return io;
}

DecoderIo DiscoverDecoderIo(Ort::Session& session, const std::string& graph) {
  return DiscoverDecoderIo(ReadSpecs(session, true), ReadSpecs(session, false), graph);
}

DecoderIo DiscoverDecoderIo(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs, const std::string& graph) {
  DecoderIo io;
  io.inputs = std::move(inputs);
  io.outputs = std::move(outputs);
  io.inputs_embeds = Require(io.inputs, "inputs_embeds", graph, "input");
  RequireType(io.inputs_embeds, {TensorType::kFloat32, TensorType::kFloat16}, graph);
  RequireRank(io.inputs_embeds, 3, graph);
  if (const auto* p = Find(io.inputs, "per_layer_inputs")) io.per_layer_inputs = *p;
  io.attention_mask = Require(io.inputs, "attention_mask", graph, "input");
  RequireType(io.attention_mask, {TensorType::kInt64, TensorType::kInt32}, graph);
  if (const auto* p = Find(io.inputs, "position_ids")) {
    io.position_ids = *p;
    RequireType(*p, {TensorType::kInt64, TensorType::kInt32}, graph);
  }
  if (const auto* p = Find(io.inputs, "num_logits_to_keep")) {
    io.num_logits_to_keep = *p;
    RequireType(*p, {TensorType::kInt64, TensorType::kInt32}, graph);
  }
  if (const auto* p = Find(io.inputs, onnx::kWindowMaskInput)) {
    io.window_mask = *p;
    RequireType(*p, {TensorType::kInt64, TensorType::kInt32}, graph);
  }
  io.logits = Require(io.outputs, "logits", graph, "output");
  RequireType(io.logits, {TensorType::kFloat32, TensorType::kFloat16}, graph);
  RequireRank(io.logits, 3, graph);
  io.vocab_size = io.logits.shape[2];

  std::map<int, KvLayerSpec> layers;
  for (const auto& in : io.inputs) {
    auto parsed = ParseKvName(in.name, "past_key_values.");
    if (!parsed) {
      static const std::vector<std::string> known = {"inputs_embeds", "per_layer_inputs", "attention_mask",
                                                     "position_ids", "num_logits_to_keep",
                                                     onnx::kWindowMaskInput};
      if (std::find(known.begin(), known.end(), in.name) == known.end()) {
        throw Error(ErrorKind::kUnsupported, graph + ": input '" + in.name + "' has no known role");
      }
      continue;
    }
    RequireRank(in, 4, graph);
    RequireType(in, {TensorType::kFloat32, TensorType::kFloat16}, graph);
    auto& layer = layers[parsed->first];
    layer.index = parsed->first;
    (parsed->second == "key" ? layer.past_key : layer.past_value) = in;
  }
  for (auto& [index, layer] : layers) {
    const std::string base = "past_key_values." + std::to_string(index) + ".";
    if (layer.past_key.name.empty() || layer.past_value.name.empty()) {
      throw Error(ErrorKind::kUnsupported, graph + ": '" + base + (layer.past_key.name.empty() ? "key" : "value") +
                                               "' is missing while its pair exists");
    }
    layer.present_key = "present." + std::to_string(index) + ".key";
    layer.present_value = "present." + std::to_string(index) + ".value";
    for (const auto& out_name : {layer.present_key, layer.present_value}) Require(io.outputs, out_name, graph, "output");
    layer.num_heads = layer.past_key.shape[1];
    layer.head_dim = layer.past_key.shape[3];
    layer.type = layer.past_key.type;
    if (layer.num_heads <= 0 || layer.head_dim <= 0) {
      throw Error(ErrorKind::kUnsupported, graph + ": '" + layer.past_key.name + "' has shape " +
                                               layer.past_key.ShapeString() +
                                               "; the head count (dim 1) and head size (dim 3) must be numbers");
    }
    if (layer.past_value.type != layer.type) {
      throw Error(ErrorKind::kUnsupported, graph + ": key and value of KV layer " + std::to_string(index) +
                                               " have different element types");
    }
    io.kv_layers.push_back(layer);
  }
  for (const auto& out : io.outputs) {
    if (auto parsed = ParseKvName(out.name, "present."); parsed && !layers.count(parsed->first)) {
      throw Error(ErrorKind::kUnsupported, graph + ": output '" + out.name + "' has no matching past_key_values input");
    }
  }
  return io;
}

}  // namespace gemma4
