// KV buffers: growth, views for a step, commit, rewind and cloning.
#include "runtime/kv_state.h"

#include <algorithm>
#include <cstring>

#include "gemma4/error.h"

namespace gemma4 {

size_t NextKvCapacity(size_t current, size_t needed, size_t max_context, bool fixed) {
  if (needed <= current) return current;
  if (fixed) return std::max(needed, max_context);
  constexpr size_t kMinimum = 64;
  const size_t grown = std::max({needed, current * 2, kMinimum});
  return std::max(needed, std::min(grown, max_context));
}

// The first held position stays a multiple of this: a key then sits at the same index modulo 256
// as in the whole cache, so SIMD reductions and GEMM blocks over the keys add the same values in
// the same order (masked keys contribute exact zeros), and the logits come out as the whole
// cache's, bit for bit on the CPU kernels measured (kv_window_test.cpp).
constexpr size_t kEvictAlign = 256;

size_t KvWindowPositions(size_t window, size_t margin) {
  return window + (margin ? margin : window) + std::max(window, kEvictAlign);
}

KvStateImpl::KvStateImpl(const DecoderIo& io, const KvDevice& device, size_t max_context, bool fixed_capacity,
                         size_t window_margin)
    : io_(&io), device_(&device), max_context_(max_context), fixed_(fixed_capacity),
      memory_(Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault)) {
  keys_.resize(io.kv_layers.size());
  values_.resize(io.kv_layers.size());
  for (size_t i = 0; i < io.kv_layers.size(); ++i) {
    keys_[i] = {KvBuffer(device_), KvBuffer(device_)};
    values_[i] = {KvBuffer(device_), KvBuffer(device_)};
  }
  for (const KvLayerSpec& layer : io.kv_layers) window_ = std::max(window_, static_cast<size_t>(layer.window));
  window_margin_ = window_margin ? window_margin : window_;
}

size_t KvStateImpl::RowBytes(const KvLayerSpec& layer) const {
  return static_cast<size_t>(layer.head_dim) * TensorTypeSize(layer.type);
}

size_t KvStateImpl::Held(size_t layer) const {
  return io_->kv_layers[layer].window > 0 ? cached_ - window_offset_ : cached_;
}

void KvStateImpl::Allocate(size_t positions, size_t window_positions) {
  for (size_t i = 0; i < io_->kv_layers.size(); ++i) {
    const KvLayerSpec& layer = io_->kv_layers[i];
    const bool trimmed = layer.window > 0;
    if (trimmed ? window_positions <= window_capacity_ : positions <= capacity_) continue;
    // The held positions sit compact at the start of the buffer, so growing keeps them in place.
    const size_t bytes = static_cast<size_t>(layer.num_heads) * (trimmed ? window_positions : positions) * RowBytes(layer);
    for (Cache* c : {&keys_[i], &values_[i]}) {
      c->live.Grow(bytes);
      if (!layer.in_place) c->spare.Grow(bytes);
    }
  }
  capacity_ = std::max(capacity_, positions);
  window_capacity_ = std::max(window_capacity_, window_positions);
}

void KvStateImpl::Evict(size_t drop) {
  const size_t held = cached_ - window_offset_;
  for (size_t i = 0; i < io_->kv_layers.size(); ++i) {
    const KvLayerSpec& layer = io_->kv_layers[i];
    if (layer.window <= 0) continue;
    const size_t row = RowBytes(layer);
    for (Cache* c : {&keys_[i], &values_[i]}) {
      for (int64_t h = 0; h < layer.num_heads; ++h) {
        c->live.MoveDown(h * (held - drop) * row, (h * held + drop) * row, (held - drop) * row);
      }
    }
  }
  window_offset_ += drop;
}

void KvStateImpl::PrepareStep(size_t count) {
  size_t window_positions = 0;
  if (window_ > 0) {
    // Keep window + margin positions (up to kEvictAlign more); evict only when the slack (one more
    // window, at least kEvictAlign) is used up, so a memmove of the kept positions happens once
    // every `window` positions at most.
    const size_t keep = window_ + window_margin_;
    const size_t held = cached_ - window_offset_;
    if (held > keep && held + count > KvWindowPositions(window_, window_margin_)) {
      const size_t offset = (cached_ - keep) / kEvictAlign * kEvictAlign;
      if (offset > window_offset_) Evict(offset - window_offset_);
    }
    window_positions = std::max(cached_ - window_offset_ + count, KvWindowPositions(window_, window_margin_));
  }
  Allocate(NextKvCapacity(capacity_, cached_ + count, max_context_, fixed_), window_positions);
  // Both masks of a step are views of these ones: sized once here, so neither moves the other.
  if (mask_.size() < cached_ + count) {
    mask_.assign(std::max(cached_ + count, capacity_), 1);
    mask32_.assign(mask_.size(), 1);
  }
}

Ort::Value KvStateImpl::View(KvBuffer& buffer, const KvLayerSpec& layer, size_t positions) {
  const std::vector<int64_t> shape = {1, layer.num_heads, static_cast<int64_t>(positions), layer.head_dim};
  const size_t bytes = static_cast<size_t>(layer.num_heads) * positions * RowBytes(layer);
  return Ort::Value::CreateTensor(device_->memory_info(), buffer.data(), bytes, shape.data(), shape.size(), ToOrtType(layer.type));
}

Ort::Value KvStateImpl::Past(size_t layer, bool value, size_t count) {
  const KvLayerSpec& spec = io_->kv_layers[layer];
  Cache& c = value ? values_[layer] : keys_[layer];
  return View(c.live, spec, spec.in_place ? Held(layer) + count : Held(layer));
}

Ort::Value KvStateImpl::Present(size_t layer, bool value, size_t count) {
  const KvLayerSpec& spec = io_->kv_layers[layer];
  Cache& c = value ? values_[layer] : keys_[layer];
  return View(spec.in_place ? c.live : c.spare, spec, Held(layer) + count);
}

void KvStateImpl::Commit(std::span<const int32_t> ids) {
  for (size_t i = 0; i < io_->kv_layers.size(); ++i) {
    if (io_->kv_layers[i].in_place) continue;
    std::swap(keys_[i].live, keys_[i].spare);
    std::swap(values_[i].live, values_[i].spare);
  }
  // Re-prefilled positions are in tokens() already.
  for (size_t k = 0; k < ids.size(); ++k) {
    if (cached_ + k >= tokens_.size()) tokens_.push_back(ids[k]);
  }
  cached_ += ids.size();
}

void KvStateImpl::Truncate(size_t length) {
  if (length >= tokens_.size()) return;
  logits_rows_ = 0;
  if (length >= cached_) {  // only pending tokens go
    tokens_.resize(length);
    return;
  }
  if (window_ > 0 && window_offset_ > 0 && length < window_offset_ + window_) {
    // The trimmed layers no longer hold the window before `length`: the next Forward re-prefills.
    cached_ = window_offset_ = 0;
    tokens_.resize(length);
    return;
  }
  // Compact caches with several heads keep head h at h * held positions: move each head's kept
  // prefix down. One head (every in-place layer) needs nothing.
  for (size_t i = 0; i < io_->kv_layers.size(); ++i) {
    const KvLayerSpec& layer = io_->kv_layers[i];
    const size_t row = RowBytes(layer);
    const size_t first = layer.window > 0 ? window_offset_ : 0;
    const size_t held = cached_ - first, kept = length - first;
    for (Cache* c : {&keys_[i], &values_[i]}) {
      for (int64_t h = 1; h < layer.num_heads; ++h) c->live.MoveDown(h * kept * row, h * held * row, kept * row);
    }
  }
  cached_ = length;
  tokens_.resize(length);
}

std::unique_ptr<KvState> KvStateImpl::Clone() const {
  auto copy = std::make_unique<KvStateImpl>(*io_, *device_, max_context_, fixed_, window_margin_);
  if (cached_ > 0) copy->Allocate(cached_, window_ > 0 ? cached_ - window_offset_ : 0);
  for (size_t i = 0; i < io_->kv_layers.size(); ++i) {
    const KvLayerSpec& layer = io_->kv_layers[i];
    const size_t used = static_cast<size_t>(layer.num_heads) * Held(i) * RowBytes(layer);
    if (used == 0) continue;
    copy->keys_[i].live.CopyFrom(keys_[i].live, used);
    copy->values_[i].live.CopyFrom(values_[i].live, used);
  }
  copy->tokens_ = tokens_;
  copy->cached_ = cached_;
  copy->window_offset_ = window_offset_;
  return copy;
}

// The graph's int32 inputs get a narrowed copy (ids and positions stay far below 2^31: the
// context is capped by max_position_embeddings).
Ort::Value KvStateImpl::IntView(TensorType type, std::vector<int64_t>& values, std::vector<int32_t>& narrow,
                                std::vector<int64_t> shape) {
  if (type != TensorType::kInt32) {
    return Ort::Value::CreateTensor<int64_t>(memory_, values.data(), values.size(), shape.data(), shape.size());
  }
  narrow.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) narrow[i] = static_cast<int32_t>(values[i]);
  return Ort::Value::CreateTensor<int32_t>(memory_, narrow.data(), narrow.size(), shape.data(), shape.size());
}

Ort::Value KvStateImpl::Ids(TensorType type, std::span<const int32_t> ids) {
  ids_.assign(ids.begin(), ids.end());
  return IntView(type, ids_, ids32_, {1, static_cast<int64_t>(ids.size())});
}

Ort::Value KvStateImpl::Mask(TensorType type, size_t total) {
  // Every cached position is attended (no padding): a mask of ones, grown with the capacity.
  if (mask_.size() < total) mask_.assign(std::max(total, capacity_), 1);
  if (type == TensorType::kInt32) {
    if (mask32_.size() < total) mask32_.assign(mask_.size(), 1);
    const std::vector<int64_t> shape = {1, static_cast<int64_t>(total)};
    return Ort::Value::CreateTensor<int32_t>(memory_, mask32_.data(), total, shape.data(), shape.size());
  }
  const std::vector<int64_t> shape = {1, static_cast<int64_t>(total)};
  return Ort::Value::CreateTensor<int64_t>(memory_, mask_.data(), total, shape.data(), shape.size());
}

Ort::Value KvStateImpl::Positions(TensorType type, size_t first, size_t count) {
  positions_.resize(count);
  for (size_t i = 0; i < count; ++i) positions_[i] = static_cast<int64_t>(first + i);
  return IntView(type, positions_, positions32_, {1, static_cast<int64_t>(count)});
}

Ort::Value KvStateImpl::Scalar(TensorType type, const std::vector<int64_t>& shape, int64_t value) {
  scalar_.assign(1, value);
  return IntView(type, scalar_, scalar32_, shape);
}

Ort::Value KvStateImpl::Logits(size_t rows) {
  const TensorSpec& spec = io_->logits;
  const size_t bytes = rows * static_cast<size_t>(io_->vocab_size) * TensorTypeSize(spec.type);
  logits_.Grow(bytes);
  const std::vector<int64_t> shape = {1, static_cast<int64_t>(rows), io_->vocab_size};
  return Ort::Value::CreateTensor(memory_, logits_.data(), bytes, shape.data(), shape.size(), ToOrtType(spec.type));
}

}  // namespace gemma4
