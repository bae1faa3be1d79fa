// The KV cache of one conversation in runtime-owned buffers, and the small per-step tensors
// (ids, mask, positions, logits) that a step binds instead of allocating. Each cache tensor is
// kept compact, [1, heads, length, head_dim] at the start of a buffer of `capacity` positions.
// A layer updated in place (KvLayerSpec::in_place: one KV head, an op that writes into its past)
// binds past and present to that one buffer, so a step writes only its new positions; any other
// layer gets present.* written into a spare buffer of the same size, swapped in when the step
// succeeds. Either way a failed step leaves length() and every cached position as they were, and
// rewinding (Truncate) is a length change.
//
// A layer trimmed to its sliding window (KvLayerSpec::window > 0) holds only positions
// [window_offset(), cached()): before a step that would not fit its window, margin and one more
// window of slack, the oldest positions are dropped (one memmove per head, every `window` steps),
// keeping window_offset() a multiple of 256 (see kv_state.cpp).
// A rewind that keeps at least `window` positions before the new end is a length change; one
// reaching further back empties the caches and leaves the tokens pending (cached() < length()),
// and the next Forward re-prefills them first: exact, as a fresh prompt is.
#pragma once

#include <span>
#include <vector>

#include "runtime/host_buffer.h"
#include "runtime/kv_device.h"
#include "runtime/ort.h"

namespace gemma4 {

// Positions to hold when `needed` do not fit in `current`: the context size when it was fixed
// (-c), else geometric growth (at least doubling, from 64) capped at `max_context`.
size_t NextKvCapacity(size_t current, size_t needed, size_t max_context, bool fixed);
// Positions a trimmed layer's buffer holds between evictions: window + margin + one window of
// slack, at least 256 (a step longer than the slack grows it by the rest). `margin` 0 means one
// window.
size_t KvWindowPositions(size_t window, size_t margin);

class KvStateImpl final : public KvState {
 public:
  // `io` and `device` must outlive the state. `fixed_capacity`: allocate max_context positions at
  // once. The caches live on `device` (the host's mappings, or the decoder's CUDA memory).
  KvStateImpl(const DecoderIo& io, const KvDevice& device, size_t max_context, bool fixed_capacity,
              size_t window_margin = 0);

  size_t length() const override { return tokens_.size(); }
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  void Truncate(size_t length) override;
  std::unique_ptr<KvState> Clone() const override;

  size_t capacity() const { return capacity_; }
  size_t window_capacity() const { return window_capacity_; }
  // Positions the caches hold (the rest of tokens() waits to be re-prefilled), and the first one
  // the trimmed layers hold.
  size_t cached() const { return cached_; }
  size_t window_offset() const { return window_offset_; }
  std::span<const int32_t> pending() const { return std::span(tokens_).subspan(cached_); }
  // Positions layer `layer` holds now.
  size_t Held(size_t layer) const;

  // The run options every Run of this state's steps uses: Interrupt() sets their terminate flag,
  // so a Run in flight returns at ONNX Runtime's next check.
  Ort::RunOptions& run_options() { return run_options_; }
  // Makes room for a step of `count` positions after cached(), keeping the cached ones (growing
  // remaps, never copies; trimmed layers first drop what their window no longer needs).
  void PrepareStep(size_t count);

  // The tensors a step of `count` positions binds for KV layer `layer`, which holds Held(layer)
  // positions: past is [1, H, held, D] (in place: [1, 1, held + count, D], the last `count` being
  // the ones the step writes), present is [1, H, held + count, D]. PrepareStep(count) first.
  Ort::Value Past(size_t layer, bool value, size_t count);
  Ort::Value Present(size_t layer, bool value, size_t count);
  // Records a step that succeeded: swaps in what the copying layers wrote, advances cached() over
  // `ids` (appending those not already pending in tokens()).
  void Commit(std::span<const int32_t> ids);

  // Step inputs over state-owned memory, in the element type the graph declares (int64/int32).
  Ort::Value Ids(TensorType type, std::span<const int32_t> ids);
  Ort::Value Mask(TensorType type, size_t total);
  Ort::Value Positions(TensorType type, size_t first, size_t count);
  Ort::Value Scalar(TensorType type, const std::vector<int64_t>& shape, int64_t value);

  // The logits output: [1, rows, vocab] in the graph's type over a buffer kept between steps.
  Ort::Value Logits(size_t rows);
  void SetLogitsRows(size_t rows) { logits_rows_ = rows; }
  size_t logits_rows() const { return logits_rows_; }
  const void* logits_data() const { return logits_.data(); }
  std::vector<float> logits_float;  // float32 copy of float16 logits

 private:
  void Evict(size_t drop);  // drops the oldest `drop` positions of the trimmed layers
  void Allocate(size_t positions, size_t window_positions);
  void OnInterrupt() override { run_options_.SetTerminate(); }
  void OnClearInterrupt() override { run_options_.UnsetTerminate(); }
  Ort::RunOptions run_options_;

  struct Cache {
    KvBuffer live, spare;  // spare: present.* of a copying layer
  };
  Ort::Value View(KvBuffer& buffer, const KvLayerSpec& layer, size_t positions);
  Ort::Value IntView(TensorType type, std::vector<int64_t>& values, std::vector<int32_t>& narrow,
                     std::vector<int64_t> shape);
  size_t RowBytes(const KvLayerSpec& layer) const;  // one position of one head

  const DecoderIo* io_;
  const KvDevice* device_;
  size_t max_context_;
  bool fixed_;
  Ort::MemoryInfo memory_;  // the host memory of the small step inputs and the logits
  size_t capacity_ = 0;         // positions of each untrimmed layer's buffers
  size_t window_ = 0;           // the trimmed layers' window (0: none trimmed)
  size_t window_margin_ = 0;
  size_t window_capacity_ = 0;  // positions of each trimmed layer's buffers
  size_t window_offset_ = 0;
  size_t cached_ = 0;
  std::vector<Cache> keys_, values_;  // one per io.kv_layers entry
  std::vector<int32_t> tokens_;
  // Step scratch: int64 values, converted in place to int32 when the graph wants that.
  std::vector<int64_t> ids_, mask_, positions_, scalar_;
  std::vector<int32_t> ids32_, mask32_, positions32_, scalar32_;
  HostBuffer logits_;
  size_t logits_rows_ = 0;
};

}  // namespace gemma4
