// How a decoder graph reads and writes each KV cache, found by walking the nodes that consume
// past_key_values.*, and the one edit that lets a cache be updated in place: ONNX Runtime's
// GroupQueryAttention writes only the new positions when its past and present tensors are one
// buffer (the contrib op compares the two pointers; see onnxruntime's gqa_attention_base.h), which
// a caller can arrange with IoBinding only when present.* is the attention node's own output,
// not a copy of it made by an Identity node. Works on protobuf bytes; never loads weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::onnx {

// One KV-owning layer: the four names (filled by the caller), then what the graph does with them.
struct KvAttention {
  std::string past_key, past_value, present_key, present_value;
  std::string consumer;            // "com.microsoft:GroupQueryAttention", "Concat", ... ("" none)
  std::string consumer_node;       // its node name
  bool in_place = false;           // past and present may be bound to one buffer
  std::string reason;              // why not, when !in_place
  bool identity_bypassed = false;  // present.* came through an Identity the edit removed
  int64_t kv_num_heads = 0;        // GroupQueryAttention attribute (0 when absent)
  int64_t local_window_size = -1;  // GroupQueryAttention attribute (-1: none or full attention)
};

struct KvAttentionPlan {
  std::vector<KvAttention> layers;
  // The ModelProto with the edit applied when some layer needed it (identity_bypassed), else
  // empty. Initializers are kept byte for byte, so external data references are unchanged.
  std::string model;
};

// Inspects `model` (the bytes of `path`, which names it in errors) for each of `layers`. A layer is
// in place when past_key and past_value are read by exactly one node, a com.microsoft
// GroupQueryAttention, as its inputs 3 and 4, and present_key / present_value are that node's
// outputs 1 and 2 (directly, or through one Identity that nothing else reads, which the edit
// removes by giving the attention output the present name). Throws Error(kCorrupt) naming the file
// and byte offset on a malformed protobuf.
KvAttentionPlan PlanKvAttention(const std::filesystem::path& path, std::string_view model,
                                std::vector<KvAttention> layers);

}  // namespace gemma4::onnx
