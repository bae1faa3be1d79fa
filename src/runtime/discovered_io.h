// What the sessions of a Runtime were discovered to take and return (names, types, shapes, the KV
// layers and how each is updated), read at load by io_discovery.cpp. Internal to the library: the
// public Runtime says only what a caller needs (vocab_size, max_context); the library's own code
// (generate/, describe/, the tests) reads the rest through EmbedIoOf / DecoderIoOf.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma4/runtime.h"

namespace gemma4 {

enum class TensorType { kFloat32, kFloat16, kBFloat16, kInt64, kInt32, kBool, kUint8, kInt8, kOther };
std::string_view TensorTypeName(TensorType type);
size_t TensorTypeSize(TensorType type);

// A graph input or output as the session declares it.
struct TensorSpec {
  std::string name;
  TensorType type = TensorType::kOther;
  std::vector<int64_t> shape;           // -1 where symbolic
  std::vector<std::string> dim_names;   // symbolic names where known, "" for numeric dims
  std::string ShapeString() const;      // "[batch_size, sequence_length, 1536]"
};

// One layer that owns a KV cache: past_key_values.N.{key,value} in, present.N.{key,value} out.
struct KvLayerSpec {
  int index = 0;  // N
  TensorSpec past_key, past_value;
  std::string present_key, present_value;
  int64_t num_heads = 0;  // dim 1 of the cache
  int64_t head_dim = 0;   // dim 3 of the cache
  TensorType type = TensorType::kFloat32;
  // How a step updates this cache, decided at load from the graph: in place (past and present bound
  // to one runtime-owned buffer, so a step writes only its new positions; the op must allow it, as
  // GroupQueryAttention does) or by a copy (present.* written into a second buffer, then swapped).
  bool in_place = false;
  std::string attention;   // the op that reads the cache ("com.microsoft:GroupQueryAttention", "Concat")
  std::string cache_note;  // why the update copies, when it does
  // A sliding-window layer trimmed at load (see onnx_kv_window.h): the cache keeps only the last
  // `window` positions before a step (plus a rollback margin); 0 keeps the whole history.
  int64_t window = 0;
  // Bytes one cached token takes in this layer (keys + values).
  uint64_t BytesPerToken() const { return 2ull * num_heads * head_dim * TensorTypeSize(type); }
};

struct EmbedIo {
  TensorSpec input_ids;
  TensorSpec inputs_embeds;
  std::optional<TensorSpec> per_layer_inputs;
  std::vector<TensorSpec> inputs, outputs;  // everything, in session order
};

struct DecoderIo {
  TensorSpec inputs_embeds;
  std::optional<TensorSpec> per_layer_inputs;
  TensorSpec attention_mask;
  std::optional<TensorSpec> position_ids;
  std::optional<TensorSpec> num_logits_to_keep;
  // The mask of the trimmed sliding-window layers (an input the load-time edit adds): ones over
  // the positions their caches hold plus the step. Absent when no layer is trimmed.
  std::optional<TensorSpec> window_mask;
  std::string window_note;  // why no layer is trimmed, when none is
  TensorSpec logits;
  std::vector<KvLayerSpec> kv_layers;  // sorted by index
  std::vector<TensorSpec> inputs, outputs;
  int64_t vocab_size = 0;  // last dim of logits
  uint64_t KvBytesPerToken() const;
};

// The discovered I/O of `runtime`'s two sessions; valid while `runtime` lives.
const EmbedIo& EmbedIoOf(const Runtime& runtime);
const DecoderIo& DecoderIoOf(const Runtime& runtime);

}  // namespace gemma4
