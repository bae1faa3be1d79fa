// Consumers and producers of the cache tensors, read straight from the protobuf; the Identity
// bypass re-encodes only the nodes it renames and keeps every other field verbatim.
#include "package/onnx_kv_attention.h"

#include <map>
#include <optional>
#include <set>

#include "gemma4/error.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

using wire::Field;
using wire::Reader;

// GraphProto / ModelProto field numbers.
constexpr uint32_t kNode = 1, kValueInfo = 13, kOutput = 12, kModelGraph = 7;
// NodeProto field numbers.
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7;

struct Node {
  size_t field = 0;  // index in the graph's fields
  std::string_view name, op_type, domain;
  std::vector<std::string_view> inputs, outputs;
  std::map<std::string_view, int64_t> ints;  // integer attributes
  std::string Op() const { return (domain.empty() || domain == "ai.onnx" ? "" : std::string(domain) + ":") + std::string(op_type); }
};

Node ReadNode(Reader r, size_t field) {
  Node node;
  node.field = field;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (w != 2) {
      r.Skip(w);
      continue;
    }
    Reader sub = r.Sub();
    switch (f) {
      case kNodeInput: node.inputs.push_back(wire::AsString(sub)); break;
      case kNodeOutput: node.outputs.push_back(wire::AsString(sub)); break;
      case kNodeName: node.name = wire::AsString(sub); break;
      case kNodeOpType: node.op_type = wire::AsString(sub); break;
      case kNodeDomain: node.domain = wire::AsString(sub); break;
      case kNodeAttribute: {  // AttributeProto: name 1, i 3
        std::string_view name;
        std::optional<int64_t> value;
        uint32_t af, aw;
        while (sub.Tag(af, aw)) {
          if (af == 1 && aw == 2) name = wire::AsString(sub.Sub());
          else if (af == 3 && aw == 0) value = static_cast<int64_t>(sub.Varint());
          else sub.Skip(aw);
        }
        if (value) node.ints[name] = *value;
        break;
      }
      default: break;
    }
  }
  return node;
}

struct Use {
  size_t node = 0, slot = 0;
};

struct Graph {
  std::vector<Field> model_fields;
  size_t graph = 0;
  std::vector<Field> fields;
  std::vector<Node> nodes;
  std::map<std::string_view, std::vector<Use>> consumers;
  std::map<std::string_view, Use> producer;
  std::set<std::string_view> outputs;
};

Graph Parse(std::string_view bytes) {
  Graph g;
  const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
  g.model_fields = wire::Fields(Reader{begin, begin + bytes.size(), begin});
  bool found = false;
  for (size_t i = 0; i < g.model_fields.size(); ++i) {
    if (g.model_fields[i].number == kModelGraph && g.model_fields[i].wire_type == 2) g.graph = i, found = true;
  }
  if (!found) throw wire::WireError{0, "no graph"};
  g.fields = wire::Fields(g.model_fields[g.graph].payload);
  for (size_t i = 0; i < g.fields.size(); ++i) {
    const Field& f = g.fields[i];
    if (f.wire_type != 2) continue;
    if (f.number == kNode) {
      g.nodes.push_back(ReadNode(f.payload, i));
    } else if (f.number == kOutput) {
      g.outputs.insert(wire::StringField(f.payload, 1));
    }
  }
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (size_t s = 0; s < g.nodes[n].inputs.size(); ++s) {
      if (!g.nodes[n].inputs[s].empty()) g.consumers[g.nodes[n].inputs[s]].push_back({n, s});
    }
    for (size_t s = 0; s < g.nodes[n].outputs.size(); ++s) g.producer[g.nodes[n].outputs[s]] = {n, s};
  }
  return g;
}

const std::vector<Use>& ConsumersOf(const Graph& g, std::string_view name) {
  static const std::vector<Use> none;
  auto it = g.consumers.find(name);
  return it == g.consumers.end() ? none : it->second;
}

// An edit that gives attention output `from` the graph output name `to` (dropping `identity`).
struct Bypass {
  std::string from, to;
  size_t identity = 0;
};

// How `present` is produced from output `slot` of node `attn`: nullopt when it is not, else the
// bypass needed (empty `from` when present is the node's output already). Sets `why` otherwise.
std::optional<Bypass> PresentRoute(const Graph& g, size_t attn, size_t slot, const std::string& present, std::string& why) {
  const Node& node = g.nodes[attn];
  if (node.outputs.size() <= slot || node.outputs[slot].empty()) {
    why = "its output " + std::to_string(slot) + " (present) is not used";
    return std::nullopt;
  }
  const std::string_view out = node.outputs[slot];
  if (out == present) return Bypass{};
  for (const Use& use : ConsumersOf(g, out)) {
    const Node& id = g.nodes[use.node];
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

void PlanLayer(const Graph& g, KvAttention& layer, std::vector<Bypass>& bypasses) {
  const auto& key_uses = ConsumersOf(g, layer.past_key);
  const auto& value_uses = ConsumersOf(g, layer.past_value);
  if (key_uses.empty()) {
    layer.reason = layer.past_key + " is not read by any node";
    return;
  }
  const Node& first = g.nodes[key_uses[0].node];
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

// NodeProto with inputs and outputs renamed per `rename`, every other field verbatim.
std::string RenamedNode(const Field& field, const std::map<std::string, std::string, std::less<>>& rename) {
  std::string node;
  for (const Field& f : wire::Fields(field.payload)) {
    if ((f.number == kNodeInput || f.number == kNodeOutput) && f.wire_type == 2) {
      auto it = rename.find(wire::AsString(f.payload));
      if (it != rename.end()) {
        wire::PutBytesField(node, f.number, it->second);
        continue;
      }
    }
    node.append(f.encoded);
  }
  std::string out;
  wire::PutBytesField(out, kNode, node);
  return out;
}

std::string Apply(const Graph& g, const std::vector<Bypass>& bypasses) {
  std::map<std::string, std::string, std::less<>> rename;
  std::set<size_t> dropped;
  for (const Bypass& b : bypasses) {
    rename[b.from] = b.to;
    dropped.insert(g.nodes[b.identity].field);
  }
  std::string graph;
  for (size_t i = 0; i < g.fields.size(); ++i) {
    const Field& f = g.fields[i];
    if (dropped.count(i)) continue;
    if (f.number == kNode && f.wire_type == 2) {
      graph.append(RenamedNode(f, rename));
    } else if (f.number == kValueInfo && f.wire_type == 2 && rename.count(wire::StringField(f.payload, 1))) {
      continue;  // the renamed tensor is declared as a graph output already
    } else {
      graph.append(f.encoded);
    }
  }
  std::string model;
  for (size_t i = 0; i < g.model_fields.size(); ++i) {
    if (i == g.graph) wire::PutBytesField(model, kModelGraph, graph);
    else model.append(g.model_fields[i].encoded);
  }
  return model;
}

}  // namespace

KvAttentionPlan PlanKvAttention(const std::filesystem::path& path, std::string_view model, std::vector<KvAttention> layers) {
  try {
    KvAttentionPlan plan;
    const Graph g = Parse(model);
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
