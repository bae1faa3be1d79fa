// Consumers and producers of the cache tensors, read straight from the protobuf; the Identity
// bypass re-encodes only the nodes it renames and keeps every other field verbatim.
#include "runtime/onnx_kv_attention.h"

#include <map>
#include <optional>
#include <set>

#include "gemma4/error.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

using wire::Field;
// An edit that gives attention output `from` the graph output name `to` (dropping `identity`).
struct Bypass {
  std::string from, to;
  size_t identity = 0;
};

// How `present` is produced from output `slot` of node `attn`: nullopt when it is not, else the
// bypass needed (empty `from` when present is the node's output already). Sets `why` otherwise.
std::optional<Bypass> PresentRoute(const GraphView& g, size_t attn, size_t slot, const std::string& present, std::string& why) {
  const GraphNode& node = g.nodes[attn];
  if (node.outputs.size() <= slot || node.outputs[slot].empty()) {
    why = "its output " + std::to_string(slot) + " (present) is not used";
    return std::nullopt;
  }
  const std::string_view out = node.outputs[slot];
  if (out == present) return Bypass{};
  for (const TensorUse& use : g.ConsumersOf(out)) {
    const GraphNode& id = g.nodes[use.node];
    if (id.Op() == "Identity" && id.outputs.size() == 1 && id.outputs[0] == present) {
      if (g.outputs.count(out)) {
        why = "'" + std::string(out) + "' is a graph output as well as the source of " + present;
        return std::nullopt;
      }
      return Bypass{std::string(out), present, use.node};
    }
  }
  why = present + " is not output " + std::to_string(slot) + " of node '" + std::string(node.name) +
        "' (nor an Identity of it)";
  return std::nullopt;
}

void PlanLayer(const GraphView& g, KvAttention& layer, std::vector<Bypass>& bypasses) {
  const auto& key_uses = g.ConsumersOf(layer.past_key);
  const auto& value_uses = g.ConsumersOf(layer.past_value);
  if (key_uses.empty()) {
    layer.reason = layer.past_key + " is not read by any node";
    return;
  }
  const GraphNode& first = g.nodes[key_uses[0].node];
  layer.consumer = first.Op();
  layer.consumer_node = std::string(first.name);
  if (layer.consumer != "com.microsoft:GroupQueryAttention") {
    layer.reason = "read by " + layer.consumer + ", which returns a new tensor rather than updating the cache";
    return;
  }
  if (key_uses.size() != 1 || value_uses.size() != 1 || value_uses[0].node != key_uses[0].node) {
    // Another reader (a Shape for the past length, say) would see the whole buffer in place.
    layer.reason = "the cache is read by " + std::to_string(key_uses.size() + value_uses.size()) +
                   " node inputs, not only by one attention node";
    return;
  }
  if (key_uses[0].slot != 3 || value_uses[0].slot != 4) {
    layer.reason = "the cache is not GroupQueryAttention's past_key/past_value (inputs 3 and 4)";
    return;
  }
  if (auto it = first.ints.find("kv_num_heads"); it != first.ints.end()) layer.kv_num_heads = it->second;
  if (auto it = first.ints.find("local_window_size"); it != first.ints.end()) layer.local_window_size = it->second;
  std::optional<Bypass> key = PresentRoute(g, key_uses[0].node, 1, layer.present_key, layer.reason);
  if (!key) return;
  std::optional<Bypass> value = PresentRoute(g, key_uses[0].node, 2, layer.present_value, layer.reason);
  if (!value) return;
  layer.in_place = true;
  for (auto* b : {&*key, &*value}) {
    if (b->from.empty()) continue;
    layer.identity_bypassed = true;
    bypasses.push_back(std::move(*b));
  }
}

std::string Apply(const GraphView& g, const std::vector<Bypass>& bypasses) {
  std::map<std::string, std::string, std::less<>> rename;
  std::map<size_t, std::string> replaced;
  for (const Bypass& b : bypasses) {
    rename[b.from] = b.to;
    replaced[g.nodes[b.identity].field] = "";
  }
  for (size_t i = 0; i < g.fields.size(); ++i) {
    const Field& f = g.fields[i];
    if (replaced.count(i)) continue;
    if (f.number == kGraphNode && f.wire_type == 2) {
      std::string renamed = RenamedNodeField(f, rename);
      if (renamed.size() != f.encoded.size() || renamed != f.encoded) replaced[i] = std::move(renamed);
    } else if (f.number == kGraphValueInfo && f.wire_type == 2 && rename.count(wire::StringField(f.payload, 1))) {
      replaced[i] = "";  // the renamed tensor is declared as a graph output already
    }
  }
  return EmitModel(g, replaced);
}

}  // namespace

KvAttentionPlan PlanKvAttention(const std::filesystem::path& path, std::string_view model, std::vector<KvAttention> layers) {
  try {
    KvAttentionPlan plan;
    const GraphView g = ParseGraph(model);
    std::vector<Bypass> bypasses;
    for (auto& layer : layers) PlanLayer(g, layer, bypasses);
    if (!bypasses.empty()) plan.model = Apply(g, bypasses);
    plan.layers = std::move(layers);
    return plan;
  } catch (const wire::WireError& e) {
    throw Error(ErrorKind::kCorrupt, path.string() + ": not a valid ONNX model (byte " + std::to_string(e.offset) +
                                         ": " + e.what + ")");
  }
}

}  // namespace gemma4::onnx
