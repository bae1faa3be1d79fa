// The KV cache of one conversation: one key and one value tensor per KV-owning layer, shaped
// [1, heads, length, head_dim], plus the token ids they encode. Truncating a single-head cache
// (Gemma's layout) costs nothing: the shorter cache is a view of the longer buffer. The decoder's present.* outputs
// become the next step's past_key_values.* by moving the Ort::Value, never by copying.
#pragma once

#include <vector>

#include "runtime/ort.h"

namespace gemma4 {

class KvStateImpl final : public KvState {
 public:
  explicit KvStateImpl(const DecoderIo& io);

  size_t length() const override { return tokens_.size(); }
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  void Truncate(size_t length) override;
  std::unique_ptr<KvState> Clone() const override;

  // keys_[i] / values_[i] belong to io.kv_layers[i].
  std::vector<Ort::Value>& keys() { return keys_; }
  std::vector<Ort::Value>& values() { return values_; }
  std::vector<int32_t>& mutable_tokens() { return tokens_; }
  // Drops the buffers that truncated caches were views of; call once every cache tensor has
  // been replaced (after a decoder step stored its present.* outputs).
  void ReleaseViews();

  // Holds the last logits output (float32) or their float32 conversion (float16 graphs).
  Ort::Value last_logits{nullptr};
  std::vector<float> logits_buffer;

 private:
  const DecoderIo* io_;
  std::vector<Ort::Value> keys_, values_;
  // After Truncate, a single-head cache is a view of the longer buffer, kept alive here.
  std::vector<Ort::Value> key_owners_, value_owners_;
  std::vector<int32_t> tokens_;
};

// A tensor of `type` and `shape` with zero elements in dimension 2: the cache before any token.
Ort::Value EmptyCacheTensor(const KvLayerSpec& layer);

}  // namespace gemma4
