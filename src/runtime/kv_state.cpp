// KV cache bookkeeping: empty caches from the discovered shapes, truncation (rewind) and cloning.
#include "runtime/kv_state.h"

#include <cstring>

#include "gemma4/error.h"

namespace gemma4 {
namespace {

// Copies the first `keep` positions of a [1, H, len, D] tensor into a new [1, H, keep, D] one.
Ort::Value SliceSequence(const Ort::Value& src, size_t keep) {
  auto info = src.GetTensorTypeAndShapeInfo();
  std::vector<int64_t> shape = info.GetShape();
  const size_t heads = shape[1], len = shape[2], dim = shape[3];
  const size_t elem = TensorTypeSize(ToTensorType(info.GetElementType()));
  Ort::AllocatorWithDefaultOptions alloc;
  shape[2] = static_cast<int64_t>(keep);
  Ort::Value dst = Ort::Value::CreateTensor(alloc, shape.data(), shape.size(), info.GetElementType());
  if (keep == 0) return dst;
  const auto* s = static_cast<const uint8_t*>(src.GetTensorRawData());
  auto* d = static_cast<uint8_t*>(dst.GetTensorMutableRawData());
  const size_t row = dim * elem;
  for (size_t h = 0; h < heads; ++h) std::memcpy(d + h * keep * row, s + h * len * row, keep * row);
  return dst;
}

}  // namespace

Ort::Value EmptyCacheTensor(const KvLayerSpec& layer) {
  std::vector<int64_t> shape = {1, layer.num_heads, 0, layer.head_dim};
  Ort::AllocatorWithDefaultOptions alloc;
  return Ort::Value::CreateTensor(alloc, shape.data(), shape.size(), ToOrtType(layer.type));
}

KvStateImpl::KvStateImpl(const DecoderIo& io) : io_(&io) {
  for (const auto& layer : io.kv_layers) {
    keys_.push_back(EmptyCacheTensor(layer));
    values_.push_back(EmptyCacheTensor(layer));
  }
}

void KvStateImpl::Truncate(size_t length) {
  if (length >= tokens_.size()) return;
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_[i] = SliceSequence(keys_[i], length);
    values_[i] = SliceSequence(values_[i], length);
  }
  tokens_.resize(length);
  last_logits = Ort::Value{nullptr};
}

std::unique_ptr<KvState> KvStateImpl::Clone() const {
  auto copy = std::make_unique<KvStateImpl>(*io_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    copy->keys_[i] = SliceSequence(keys_[i], tokens_.size());
    copy->values_[i] = SliceSequence(values_[i], tokens_.size());
  }
  copy->tokens_ = tokens_;
  return copy;
}

}  // namespace gemma4
