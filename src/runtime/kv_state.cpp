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
  key_owners_.resize(keys_.size());
  value_owners_.resize(values_.size());
}

namespace {

// Shortens `cache` to its first `keep` positions. With one head the kept positions are a prefix
// of the buffer, so the result is a view of it and the buffer moves to `owner` (which must then
// outlive the view); otherwise the kept positions are copied.
void ShortenSequence(Ort::Value& cache, Ort::Value& owner, size_t keep) {
  auto info = cache.GetTensorTypeAndShapeInfo();
  std::vector<int64_t> shape = info.GetShape();
  if (shape[1] != 1 || keep == 0) {
    cache = SliceSequence(cache, keep);
    owner = Ort::Value{nullptr};
    return;
  }
  const size_t bytes = keep * static_cast<size_t>(shape[3]) * TensorTypeSize(ToTensorType(info.GetElementType()));
  void* data = cache.GetTensorMutableRawData();
  shape[2] = static_cast<int64_t>(keep);
  Ort::Value view = Ort::Value::CreateTensor(cache.GetTensorMemoryInfo(), data, bytes, shape.data(), shape.size(),
                                             info.GetElementType());
  if (!owner) owner = std::move(cache);  // a view of a view keeps the first owner
  cache = std::move(view);
}

}  // namespace

void KvStateImpl::Truncate(size_t length) {
  if (length >= tokens_.size()) return;
  for (size_t i = 0; i < keys_.size(); ++i) {
    ShortenSequence(keys_[i], key_owners_[i], length);
    ShortenSequence(values_[i], value_owners_[i], length);
  }
  tokens_.resize(length);
  last_logits = Ort::Value{nullptr};
}

void KvStateImpl::ReleaseViews() {
  for (auto& o : key_owners_) o = Ort::Value{nullptr};
  for (auto& o : value_owners_) o = Ort::Value{nullptr};
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
