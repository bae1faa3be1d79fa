// The KV cache of one conversation in runtime-owned buffers, and the small per-step tensors
// (ids, mask, positions, logits) that a step binds instead of allocating. Each cache tensor is
// kept compact, [1, heads, length, head_dim] at the start of a buffer of `capacity` positions.
// A layer updated in place (KvLayerSpec::in_place: one KV head, an op that writes into its past)
// binds past and present to that one buffer, so a step writes only its new positions; any other
// layer gets present.* written into a spare buffer of the same size, swapped in when the step
// succeeds. Either way a failed step leaves length() and every cached position as they were, and
// rewinding (Truncate) is a length change.
#pragma once

#include <span>
#include <vector>

#include "runtime/host_buffer.h"
#include "runtime/ort.h"

namespace gemma4 {

// Positions to hold when `needed` do not fit in `current`: the context size when it was fixed
// (-c), else geometric growth (at least doubling, from 64) capped at `max_context`.
size_t NextKvCapacity(size_t current, size_t needed, size_t max_context, bool fixed);

class KvStateImpl final : public KvState {
 public:
  // `io` must outlive the state. `fixed_capacity`: allocate max_context positions at once.
  KvStateImpl(const DecoderIo& io, size_t max_context, bool fixed_capacity);

  size_t length() const override { return tokens_.size(); }
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  void Truncate(size_t length) override;
  std::unique_ptr<KvState> Clone() const override;

  size_t capacity() const { return capacity_; }

  // The run options every Run of this state's steps uses: Interrupt() sets their terminate flag,
  // so a Run in flight returns at ONNX Runtime's next check.
  Ort::RunOptions& run_options() { return run_options_; }
  // Makes room for `total` positions, keeping the cached ones (growing remaps, never copies).
  void Reserve(size_t total);

  // The tensors a step from length() to `total` positions binds for KV layer `layer`: past is
  // [1, H, length, D] (in place: [1, 1, total, D], the positions past length being the ones the
  // step writes), present is [1, H, total, D]. Reserve(total) first.
  Ort::Value Past(size_t layer, bool value, size_t total);
  Ort::Value Present(size_t layer, bool value, size_t total);
  // Records a step that succeeded: swaps in what the copying layers wrote, appends `ids`.
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
  void OnInterrupt() override { run_options_.SetTerminate(); }
  void OnClearInterrupt() override { run_options_.UnsetTerminate(); }
  Ort::RunOptions run_options_;

  struct Cache {
    HostBuffer live, spare;  // spare: present.* of a copying layer
  };
  Ort::Value View(HostBuffer& buffer, const KvLayerSpec& layer, size_t positions);
  Ort::Value IntView(TensorType type, std::vector<int64_t>& values, std::vector<int32_t>& narrow,
                     std::vector<int64_t> shape);
  size_t RowBytes(const KvLayerSpec& layer) const;  // one position of one head

  const DecoderIo* io_;
  size_t max_context_;
  bool fixed_;
  Ort::MemoryInfo memory_;
  size_t capacity_ = 0;
  std::vector<Cache> keys_, values_;  // one per io.kv_layers entry
  std::vector<int32_t> tokens_;
  // Step scratch: int64 values, converted in place to int32 when the graph wants that.
  std::vector<int64_t> ids_, mask_, positions_, scalar_;
  std::vector<int32_t> ids32_, mask32_, positions32_, scalar32_;
  HostBuffer logits_;
  size_t logits_rows_ = 0;
};

}  // namespace gemma4
