// Which KV caches may hold only their sliding window, and the edit at load that makes the graph
// read such a shorter cache correctly. A sliding layer's attention reads its cache through a mask
// (or, for GroupQueryAttention, the lengths seqlens_k / total_sequence_length) that the graph
// builds from attention_mask. The edit gives those reads, in the sliding layers and in the
// KV-shared layers that read their cache, a copy of that mask computation fed by a second input
// (kWindowMaskInput) as long as the shorter cache plus the step, while full-attention layers keep
// attention_mask. Keys enter the cache already rotated at their absolute positions (RoPE from
// position_ids, applied before the cache), so dropping the oldest positions changes neither the
// new tokens' rotation nor the index-based causal and window masks, which depend only on the
// distance between a query and a key. A graph whose form the edit cannot vouch for is left
// as it is (every layer keeps its whole history) with the reason in KvWindowPlan::note.
// Works on protobuf bytes; never loads weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::onnx {

// The graph input the edit adds: ones, one per position the sliding caches hold plus the step.
inline constexpr const char* kWindowMaskInput = "gemma4_kv_window_mask";

struct KvWindowLayer {
  std::string past_key, past_value;  // filled by the caller
  bool sliding = false;              // config.json layer_types says sliding_attention
  int64_t window = 0;                // set when trimmed: history positions the cache must keep
};

struct KvWindowPlan {
  std::vector<KvWindowLayer> layers;
  bool trimmed = false;  // some layer holds only its window; `model` is the edited graph
  std::string note;      // why nothing is trimmed (empty when trimmed)
  std::string model;     // the edited ModelProto (initializers kept byte for byte), empty if untrimmed
};

// Plans the edit on `model` (the bytes of `path`, which names it in errors) for a window of
// `sliding_window` positions (config.json). Checks the graph against the config: every
// GroupQueryAttention of a sliding layer has 0 < local_window_size <= sliding_window and does not
// rotate keys itself (do_rotary), full layers have none; a plain attention (MatMul, Softmax) of a
// sliding layer reads a mask that no full layer reads, built from attention_mask with a constant of
// sliding_window (or one less), and depending on neither position_ids nor a cache's shape. Throws
// Error(kCorrupt) on a malformed protobuf.
KvWindowPlan PlanKvWindow(const std::filesystem::path& path, std::string_view model, std::vector<KvWindowLayer> layers,
                          int64_t sliding_window);

}  // namespace gemma4::onnx
