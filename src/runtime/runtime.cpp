// The two sessions of a package and one forward step: embed the new ids, run the decoder over
// the cache, keep present.* as the next past_key_values.*, hand back the last logits.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "gemma4/error.h"
#include "gemma4/float16.h"
#include "gemma4/log.h"
#include "runtime/io_discovery.h"
#include "runtime/kv_state.h"
#include "runtime/ort.h"
#include "runtime/session_factory.h"

namespace gemma4 {

struct Runtime::Impl {
  RuntimeOptions options;
  std::string embed_name, decoder_name;
  // Sessions are declared before the discovered I/O they describe; nothing refers back to them.
  Ort::Session embed{nullptr};
  Ort::Session decoder{nullptr};
  EmbedIo embed_io;
  DecoderIo decoder_io;
  size_t max_context = 0;

  // Decoder input and output names in Run() order, fixed at load.
  std::vector<std::string> input_names, output_names;
  std::vector<const char*> input_ptrs, output_ptrs;

  void Check();
  void Step(KvStateImpl& state, std::span<const int32_t> ids, size_t keep) const;
};

namespace {

template <typename T>
Ort::Value IndexTensor(std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  Ort::AllocatorWithDefaultOptions alloc;
  Ort::Value v = Ort::Value::CreateTensor<T>(alloc, shape.data(), shape.size());
  T* data = v.GetTensorMutableData<T>();
  for (size_t i = 0; i < values.size(); ++i) data[i] = static_cast<T>(values[i]);
  return v;
}

// An int64 or int32 tensor, whichever the graph declares.
Ort::Value IntTensor(const TensorSpec& spec, std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return spec.type == TensorType::kInt32 ? IndexTensor<int32_t>(std::move(shape), values)
                                         : IndexTensor<int64_t>(std::move(shape), values);
}

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

void Runtime::Impl::Step(KvStateImpl& state, std::span<const int32_t> ids, size_t keep) const {
  const size_t past = state.length();
  const size_t s = ids.size();
  const int64_t seq = static_cast<int64_t>(s);
  std::vector<int64_t> id_values(ids.begin(), ids.end());

  Ort::RunOptions run_options;
  Ort::Value input_ids = IntTensor(embed_io.input_ids, {1, seq}, id_values);
  const char* embed_in[] = {embed_io.input_ids.name.c_str()};
  std::vector<const char*> embed_out = {embed_io.inputs_embeds.name.c_str()};
  if (decoder_io.per_layer_inputs) embed_out.push_back(embed_io.per_layer_inputs->name.c_str());
  std::vector<Ort::Value> embedded;
  auto run_start = std::chrono::steady_clock::now();
  try {
    embedded = const_cast<Ort::Session&>(embed).Run(run_options, embed_in, &input_ids, 1, embed_out.data(), embed_out.size());
  } catch (const Ort::Exception& ex) {
    throw Error(ErrorKind::kRuntime, embed_name + ": " + ex.what());
  }
  state.AddOrtRunMs(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count());

  std::vector<int64_t> mask(past + s, 1), positions(s);
  for (size_t i = 0; i < s; ++i) positions[i] = static_cast<int64_t>(past + i);

  std::vector<Ort::Value> inputs;
  inputs.reserve(input_names.size());
  for (const auto& name : input_names) {
    if (name == decoder_io.inputs_embeds.name) {
      inputs.push_back(CastFloat(std::move(embedded[0]), decoder_io.inputs_embeds.type));
    } else if (decoder_io.per_layer_inputs && name == decoder_io.per_layer_inputs->name) {
      inputs.push_back(CastFloat(std::move(embedded[1]), decoder_io.per_layer_inputs->type));
    } else if (name == decoder_io.attention_mask.name) {
      inputs.push_back(IntTensor(decoder_io.attention_mask, {1, static_cast<int64_t>(past + s)}, mask));
    } else if (decoder_io.position_ids && name == decoder_io.position_ids->name) {
      inputs.push_back(IntTensor(*decoder_io.position_ids, {1, seq}, positions));
    } else if (decoder_io.num_logits_to_keep && name == decoder_io.num_logits_to_keep->name) {
      std::vector<int64_t> shape(decoder_io.num_logits_to_keep->shape.size(), 1);
      inputs.push_back(IntTensor(*decoder_io.num_logits_to_keep, shape, {static_cast<int64_t>(keep)}));
    } else {
      inputs.emplace_back(nullptr);  // KV slot, filled below without copying
    }
  }
  // KV inputs follow the fixed inputs in input_names, in kv_layers order (see Runtime ctor).
  const size_t kv_begin = input_names.size() - 2 * decoder_io.kv_layers.size();
  for (size_t i = 0; i < decoder_io.kv_layers.size(); ++i) {
    inputs[kv_begin + 2 * i] = std::move(state.keys()[i]);
    inputs[kv_begin + 2 * i + 1] = std::move(state.values()[i]);
  }

  std::vector<Ort::Value> outputs;
  run_start = std::chrono::steady_clock::now();
  try {
    outputs = const_cast<Ort::Session&>(decoder).Run(run_options, input_ptrs.data(), inputs.data(), inputs.size(),
                                                     output_ptrs.data(), output_ptrs.size());
  } catch (const Ort::Exception& ex) {
    // Give the cache back so the state stays usable after a failed step.
    for (size_t i = 0; i < decoder_io.kv_layers.size(); ++i) {
      state.keys()[i] = std::move(inputs[kv_begin + 2 * i]);
      state.values()[i] = std::move(inputs[kv_begin + 2 * i + 1]);
    }
    throw Error(ErrorKind::kRuntime, decoder_name + ": " + ex.what());
  }
  state.AddOrtRunMs(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_start).count());

  for (size_t i = 0; i < decoder_io.kv_layers.size(); ++i) {
    Ort::Value& k = outputs[1 + 2 * i];
    const auto shape = k.GetTensorTypeAndShapeInfo().GetShape();
    if (shape.size() != 4 || shape[2] != static_cast<int64_t>(past + s)) {
      throw Error(ErrorKind::kUnsupported, decoder_name + ": " + decoder_io.kv_layers[i].present_key +
                                               " does not grow the cache by the new tokens (expected length " +
                                               std::to_string(past + s) + ")");
    }
    state.keys()[i] = std::move(outputs[1 + 2 * i]);
    state.values()[i] = std::move(outputs[2 + 2 * i]);
  }
  state.mutable_tokens().insert(state.mutable_tokens().end(), ids.begin(), ids.end());
  state.last_logits = std::move(outputs[0]);
}

// GetOrtInfo() first: it loads the ONNX Runtime API table every Ort:: call below relies on.
Runtime::Runtime(const Package& package, const RuntimeOptions& options)
    : impl_((GetOrtInfo(), std::make_unique<Impl>())) {
  Impl& m = *impl_;
  m.options = options;
  m.embed_name = package.embed.onnx.filename().string();
  m.decoder_name = package.decoder.onnx.filename().string();
  m.embed = CreateSession(package.embed.onnx, options.embed_device, options);
  m.decoder = CreateSession(package.decoder.onnx, options.device, options);
  m.embed_io = DiscoverEmbedIo(m.embed, m.embed_name);
  m.decoder_io = DiscoverDecoderIo(m.decoder, m.decoder_name);
  m.Check();

  const size_t model_max = package.config.max_position_embeddings > 0 ? package.config.max_position_embeddings : 131072;
  m.max_context = options.max_context > 0 ? std::min(options.max_context, model_max) : model_max;

  // Fixed inputs first (in session order), then the KV pairs in layer order.
  for (const auto& in : m.decoder_io.inputs) {
    if (in.name.rfind("past_key_values.", 0) != 0) m.input_names.push_back(in.name);
  }
  for (const auto& layer : m.decoder_io.kv_layers) {
    m.input_names.push_back(layer.past_key.name);
    m.input_names.push_back(layer.past_value.name);
  }
  m.output_names.push_back(m.decoder_io.logits.name);
  for (const auto& layer : m.decoder_io.kv_layers) {
    m.output_names.push_back(layer.present_key);
    m.output_names.push_back(layer.present_value);
  }
  for (const auto& n : m.input_names) m.input_ptrs.push_back(n.c_str());
  for (const auto& n : m.output_names) m.output_ptrs.push_back(n.c_str());
}

Runtime::~Runtime() = default;

const EmbedIo& Runtime::embed_io() const { return impl_->embed_io; }
const DecoderIo& Runtime::decoder_io() const { return impl_->decoder_io; }
const RuntimeOptions& Runtime::options() const { return impl_->options; }
size_t Runtime::max_context() const { return impl_->max_context; }

std::unique_ptr<KvState> Runtime::NewState() const { return std::make_unique<KvStateImpl>(impl_->decoder_io); }

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

  // Chunked prefill: earlier chunks only fill the cache; logits come from the last one. A graph
  // without num_logits_to_keep returns logits for every position it is given (1 MiB per token at
  // Gemma's vocabulary), so by default its prefill goes in chunks that bound that buffer.
  constexpr size_t kChunkWithoutLogitsToKeep = 128;
  size_t chunk = m.options.prefill_chunk;
  if (chunk == 0) chunk = m.decoder_io.num_logits_to_keep ? ids.size() : std::max(kChunkWithoutLogitsToKeep, logits_to_keep);
  size_t done = 0;
  while (ids.size() - done > chunk) {
    // Leave at least `logits_to_keep` tokens for the last call, which returns the logits.
    const size_t step = std::min(chunk, ids.size() - done - logits_to_keep);
    if (step == 0) break;
    m.Step(state, ids.subspan(done, step), 1);
    done += step;
  }
  auto tail = ids.subspan(done);
  if (logits_to_keep > tail.size()) {
    throw Error(ErrorKind::kInvalidArgument, "Forward: logits_to_keep exceeds the last prefill chunk");
  }
  m.Step(state, tail, logits_to_keep);

  auto info = state.last_logits.GetTensorTypeAndShapeInfo();
  const auto shape = info.GetShape();
  const size_t rows = static_cast<size_t>(shape[1]);
  if (rows < logits_to_keep) {
    throw Error(ErrorKind::kRuntime, m.decoder_name + ": logits have " + std::to_string(rows) + " rows, expected at least " +
                                         std::to_string(logits_to_keep));
  }
  const size_t offset = (rows - logits_to_keep) * static_cast<size_t>(vocab);
  const size_t count = logits_to_keep * static_cast<size_t>(vocab);
  if (ToTensorType(info.GetElementType()) == TensorType::kFloat16) {
    state.logits_buffer.resize(count);
    HalfToFloat({static_cast<const uint16_t*>(state.last_logits.GetTensorRawData()) + offset, count},
                state.logits_buffer.data());
    return state.logits_buffer;
  }
  return {state.last_logits.GetTensorData<float>() + offset, count};
}

}  // namespace gemma4
