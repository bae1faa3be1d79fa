// The sliding-window edit of onnx_kv_window.h: find what each cache's attention reads besides the
// cache (masks, lengths), check it against config.json, and give the sliding layers' reads a copy
// of the mask computation fed by kWindowMaskInput.
#include "runtime/onnx_kv_window.h"

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "gemma4/error.h"
#include "package/onnx_graph.h"

namespace gemma4::onnx {
namespace {

using wire::Field;

constexpr std::string_view kMask = "attention_mask", kPositions = "position_ids", kSuffix = "/kv_window";
constexpr std::string_view kGqa = "com.microsoft:GroupQueryAttention";

// Ops through which a tensor derived from a cache keeps the cache's key axis (so a mask meeting it
// there must match the cache's length). Anything else reached from a cache is not recognised.
bool CarriesKeyAxis(const std::string& op) {
  static const std::set<std::string, std::less<>> ops = {
      "Identity", "Transpose", "Reshape", "Expand", "Unsqueeze", "Squeeze", "Tile", "Cast", "Concat", "Slice",
      "Mul",      "Div",       "Add",     "Sub",    "Where",     "Tanh",    "Softmax", "Neg", "Max", "Min", "Clip",
      "MatMul",   "com.microsoft:FusedMatMul"};
  return ops.count(op) > 0;
}
bool IsMatMul(const std::string& op) { return op == "MatMul" || op == "com.microsoft:FusedMatMul"; }

struct Refused {
  std::string why;
};

// Node indices in an order where every producer comes before its consumers (Kahn's algorithm).
std::vector<size_t> TopologicalOrder(const GraphView& g) {
  std::vector<size_t> pending(g.nodes.size(), 0);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (std::string_view in : g.nodes[n].inputs) {
      if (!in.empty() && g.producer.count(in)) ++pending[n];
    }
  }
  std::deque<size_t> ready;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    if (pending[n] == 0) ready.push_back(n);
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (std::string_view out : g.nodes[n].outputs) {
      for (const TensorUse& use : g.ConsumersOf(out)) {
        if (--pending[use.node] == 0) ready.push_back(use.node);
      }
    }
  }
  if (order.size() != g.nodes.size()) throw Refused{"its nodes form a cycle"};
  return order;
}

// Tensors computed from `sources`; `through_shape` false stops at Shape/Size (which read only a
// tensor's dimensions, not its values).
std::set<std::string_view> Closure(const GraphView& g, const std::vector<size_t>& order,
                                   const std::vector<std::string_view>& sources, bool through_shape) {
  std::set<std::string_view> reached(sources.begin(), sources.end());
  for (size_t n : order) {
    const GraphNode& node = g.nodes[n];
    if (!through_shape && (node.op_type == "Shape" || node.op_type == "Size")) continue;
    bool hit = false;
    for (std::string_view in : node.inputs) hit = hit || reached.count(in);
    if (hit) reached.insert(node.outputs.begin(), node.outputs.end());
  }
  return reached;
}

struct Regions {
  std::set<std::string_view> from_mask, activations, from_positions;
  // Computed from attention_mask (and shapes, constants), not from any activation: mask material.
  bool IsMask(std::string_view t) const { return from_mask.count(t) && !activations.count(t); }
};

// What one KV cache's attention reads besides the cache.
struct LayerReads {
  std::vector<TensorUse> uses;  // node inputs of mask material
  std::set<size_t> nodes;       // nodes the cache reaches
  bool gqa = false;
};

LayerReads ReadsOf(const GraphView& g, const std::vector<size_t>& order, const Regions& r,
                   const KvWindowLayer& layer, int64_t window) {
  LayerReads reads;
  const auto& key_uses = g.ConsumersOf(layer.past_key);
  const auto& value_uses = g.ConsumersOf(layer.past_value);
  const std::string who = layer.past_key;
  std::set<std::string_view> walked;
  if (key_uses.size() == 1 && g.nodes[key_uses[0].node].Op() == kGqa) {
    const size_t n = key_uses[0].node;
    const GraphNode& node = g.nodes[n];
    if (key_uses[0].slot != 3 || value_uses.size() != 1 || value_uses[0].node != n || value_uses[0].slot != 4) {
      throw Refused{who + " is not the past_key of GroupQueryAttention node '" + std::string(node.name) +
                    "' with its value as past_value"};
    }
    const auto lws = node.ints.count("local_window_size") ? node.ints.at("local_window_size") : -1;
    const auto rotary = node.ints.count("do_rotary") ? node.ints.at("do_rotary") : 0;
    if (layer.sliding && (lws <= 0 || lws > window)) {
      throw Refused{"GroupQueryAttention node '" + std::string(node.name) + "' (" + who + ", sliding per config.json) has local_window_size " +
                    std::to_string(lws) + ", not within the sliding_window " + std::to_string(window)};
    }
    if (!layer.sliding && lws > 0) {
      throw Refused{"GroupQueryAttention node '" + std::string(node.name) + "' (" + who +
                    ", full attention per config.json) has local_window_size " + std::to_string(lws)};
    }
    if (layer.sliding && rotary != 0) {
      throw Refused{"GroupQueryAttention node '" + std::string(node.name) +
                    "' rotates keys itself (do_rotary) at positions counted from the start of its cache, which a "
                    "shorter cache would shift"};
    }
    reads.gqa = true;
    reads.nodes.insert(n);
    for (size_t s = 0; s < node.inputs.size(); ++s) {
      if (s == 3 || s == 4 || node.inputs[s].empty()) continue;
      if (r.IsMask(node.inputs[s])) reads.uses.push_back({n, s});
      else if (layer.sliding && r.from_positions.count(node.inputs[s]) && !r.activations.count(node.inputs[s])) {
        throw Refused{"GroupQueryAttention node '" + std::string(node.name) + "' reads position_ids (input " +
                      std::to_string(s) + ")"};
      }
    }
    for (size_t s : {1, 2}) {
      if (s < node.outputs.size() && !node.outputs[s].empty()) walked.insert(node.outputs[s]);
    }
  } else {
    walked = {layer.past_key, layer.past_value};
  }
  bool contracted = reads.gqa;
  for (size_t n : order) {
    const GraphNode& node = g.nodes[n];
    bool hit = false;
    for (std::string_view in : node.inputs) hit = hit || walked.count(in);
    if (!hit || reads.nodes.count(n)) continue;
    const std::string op = node.Op();
    if (op == kGqa) {
      throw Refused{who + " reaches GroupQueryAttention node '" + std::string(node.name) + "' as another layer's input"};
    }
    if (!CarriesKeyAxis(op)) {
      throw Refused{who + " reaches " + op + " node '" + std::string(node.name) + "', which the window edit does not know"};
    }
    reads.nodes.insert(n);
    if (IsMatMul(op) && node.inputs.size() >= 2 && walked.count(node.inputs[0]) && walked.count(node.inputs[1])) {
      contracted = true;  // probabilities times values: the key axis ends here
      continue;
    }
    for (size_t s = 0; s < node.inputs.size(); ++s) {
      std::string_view in = node.inputs[s];
      if (in.empty() || walked.count(in)) continue;
      if (r.IsMask(in)) {
        reads.uses.push_back({n, s});
      } else if (layer.sliding && r.from_positions.count(in) && !r.activations.count(in)) {
        throw Refused{"the mask that node '" + std::string(node.name) + "' applies to " + who +
                      " is computed from position_ids"};
      }
    }
    for (std::string_view out : node.outputs) {
      if (g.outputs.count(out) && out.rfind("present.", 0) != 0) {
        throw Refused{who + " reaches the graph output '" + std::string(out) + "' without an attention in between"};
      }
      walked.insert(out);
    }
  }
  if (!contracted) throw Refused{"found no attention (scores times values) over " + who};
  if (layer.sliding && reads.uses.empty()) throw Refused{"the attention over " + who + " reads no mask"};
  return reads;
}

// What the mask material `t` is computed from: the nodes fed by attention_mask (to copy), the graph
// inputs it reaches (directly, or through a Shape of an activation), and whether a constant
// `window` (or one less) is among its inputs.
struct Cone {
  std::set<size_t> nodes;
  std::set<std::string_view> inputs;
  bool has_window_constant = false;
};

void AddCone(const GraphView& g, const Regions& r, std::string_view t, int64_t window, Cone& cone) {
  std::vector<std::string_view> stack = {t};
  std::set<std::string_view> seen;
  while (!stack.empty()) {
    const std::string_view x = stack.back();
    stack.pop_back();
    if (!seen.insert(x).second) continue;
    if (g.inputs.count(x)) cone.inputs.insert(x);
    if (auto c = g.small_ints.find(x); c != g.small_ints.end() && c->second.size() == 1 &&
                                        (c->second[0] == window || c->second[0] == window - 1)) {
      cone.has_window_constant = true;
    }
    if (r.activations.count(x)) continue;  // an activation, read for its shape: not followed
    auto p = g.producer.find(x);
    if (p == g.producer.end()) continue;
    // Only what attention_mask feeds is copied; the rest (query indices, constants) is shared.
    if (r.IsMask(x)) cone.nodes.insert(p->second.node);
    for (std::string_view in : g.nodes[p->second.node].inputs) {
      if (!in.empty()) stack.push_back(in);
    }
  }
}

std::string CopyName(std::string_view t) {
  return t == kMask ? std::string(kWindowMaskInput) : std::string(t) + std::string(kSuffix);
}

// ValueInfoProto of the new input: [batch_size, kv_window_sequence_length] of `elem_type`.
std::string WindowInputField(int64_t elem_type) {
  auto dim = [](std::string_view name) {
    std::string d;
    wire::PutBytesField(d, 2, name);  // dim_param
    return d;
  };
  std::string shape, tensor, type, info, field;
  wire::PutBytesField(shape, 1, dim("batch_size"));
  wire::PutBytesField(shape, 1, dim("kv_window_sequence_length"));
  wire::PutVarint(tensor, (1u << 3) | 0);  // elem_type
  wire::PutVarint(tensor, static_cast<uint64_t>(elem_type));
  wire::PutBytesField(tensor, 2, shape);
  wire::PutBytesField(type, 1, tensor);
  wire::PutBytesField(info, 1, kWindowMaskInput);
  wire::PutBytesField(info, 2, type);
  wire::PutBytesField(field, kGraphInput, info);
  return field;
}

// The elem_type of a ValueInfoProto (type 2 -> tensor_type 1 -> elem_type 1); 7 (int64) if absent.
int64_t ElemType(wire::Reader info) {
  uint32_t f, w;
  while (info.Tag(f, w)) {
    if (f == 2 && w == 2) {
      wire::Reader type = info.Sub();
      while (type.Tag(f, w)) {
        if (f == 1 && w == 2) {
          wire::Reader tensor = type.Sub();
          while (tensor.Tag(f, w)) {
            if (f == 1 && w == 0) return static_cast<int64_t>(tensor.Varint());
            tensor.Skip(w);
          }
        } else {
          type.Skip(w);
        }
      }
    } else {
      info.Skip(w);
    }
  }
  return 7;
}

std::string Edit(const GraphView& g, const std::set<size_t>& copied,
                 const std::map<size_t, std::map<std::string, std::string, std::less<>>>& rewired) {
  std::map<std::string, std::string, std::less<>> copy_names;
  copy_names[std::string(kMask)] = kWindowMaskInput;
  for (size_t n : copied) {
    for (std::string_view out : g.nodes[n].outputs) copy_names[std::string(out)] = CopyName(out);
  }
  std::map<size_t, size_t> node_at_field;
  for (size_t n = 0; n < g.nodes.size(); ++n) node_at_field[g.nodes[n].field] = n;
  std::string graph;
  for (size_t i = 0; i < g.fields.size(); ++i) {
    const Field& f = g.fields[i];
    auto node = node_at_field.find(i);
    if (node == node_at_field.end()) {
      graph.append(f.encoded);
      if (f.number == kGraphInput && i == g.input_field.at(kMask)) graph.append(WindowInputField(ElemType(f.payload)));
      continue;
    }
    auto r = rewired.find(node->second);
    graph.append(r == rewired.end() ? std::string(f.encoded) : RenamedNodeField(f, r->second));
    // The copy right after its original keeps the node list in topological order.
    if (copied.count(node->second)) graph.append(RenamedNodeField(f, copy_names, kSuffix));
  }
  std::string model;
  for (size_t i = 0; i < g.model_fields.size(); ++i) {
    if (i == g.graph) wire::PutBytesField(model, kModelGraph, graph);
    else model.append(g.model_fields[i].encoded);
  }
  return model;
}

void Plan(const GraphView& g, KvWindowPlan& plan, int64_t window) {
  if (!g.inputs.count(kMask)) throw Refused{"the graph has no attention_mask input"};
  if (g.inputs.count(kWindowMaskInput) || g.producer.count(kWindowMaskInput)) {
    throw Refused{std::string("the graph already has a tensor named ") + kWindowMaskInput};
  }
  const std::vector<size_t> order = TopologicalOrder(g);
  std::vector<std::string_view> activation_sources;
  for (std::string_view in : g.inputs) {
    if (in != kMask && in != kPositions) activation_sources.push_back(in);
  }
  Regions r;
  r.from_mask = Closure(g, order, {kMask}, true);
  r.activations = Closure(g, order, activation_sources, false);
  r.from_positions = Closure(g, order, {kPositions}, false);

  std::vector<LayerReads> reads;
  for (const KvWindowLayer& layer : plan.layers) reads.push_back(ReadsOf(g, order, r, layer, window));
  std::map<size_t, bool> node_sliding;
  std::map<std::string_view, bool> full_reads;
  for (size_t i = 0; i < reads.size(); ++i) {
    for (size_t n : reads[i].nodes) {
      auto [it, fresh] = node_sliding.emplace(n, plan.layers[i].sliding);
      if (!fresh && it->second != plan.layers[i].sliding) {
        throw Refused{"node '" + std::string(g.nodes[n].name) + "' reads both a sliding and a full-attention cache"};
      }
    }
    if (!plan.layers[i].sliding) {
      for (const TensorUse& u : reads[i].uses) {
        if (!reads[i].gqa || g.nodes[u.node].Op() != kGqa) full_reads[g.nodes[u.node].inputs[u.slot]] = true;
      }
    }
  }
  Cone cone;
  std::map<size_t, std::map<std::string, std::string, std::less<>>> rewired;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (!plan.layers[i].sliding) continue;
    for (const TensorUse& u : reads[i].uses) {
      const std::string_view t = g.nodes[u.node].inputs[u.slot];
      const bool gqa_length = g.nodes[u.node].Op() == kGqa;
      if (!gqa_length && full_reads.count(t)) {
        throw Refused{"the mask '" + std::string(t) + "' of " + plan.layers[i].past_key +
                      " (sliding per config.json) is also a full-attention layer's mask"};
      }
      Cone own;
      AddCone(g, r, t, window, own);
      for (std::string_view in : own.inputs) {
        if (in == kMask || in == "inputs_embeds" || in == "per_layer_inputs" || in == "input_ids") continue;
        throw Refused{"the mask '" + std::string(t) + "' of " + plan.layers[i].past_key + " depends on " +
                      std::string(in)};
      }
      if (!own.inputs.count(kMask)) {
        throw Refused{"the mask '" + std::string(t) + "' of " + plan.layers[i].past_key + " is not computed from attention_mask"};
      }
      if (!gqa_length && !own.has_window_constant) {
        throw Refused{"the mask '" + std::string(t) + "' of " + plan.layers[i].past_key + " has no constant " +
                      std::to_string(window) + " (config.json sliding_window)"};
      }
      cone.nodes.insert(own.nodes.begin(), own.nodes.end());
      rewired[u.node][std::string(t)] = CopyName(t);
    }
    plan.layers[i].window = window;
  }
  plan.model = Edit(g, cone.nodes, rewired);
  plan.trimmed = true;
}

}  // namespace

KvWindowPlan PlanKvWindow(const std::filesystem::path& path, std::string_view model, std::vector<KvWindowLayer> layers,
                          int64_t sliding_window) {
  KvWindowPlan plan;
  plan.layers = std::move(layers);
  bool any = false;
  for (const auto& l : plan.layers) any = any || l.sliding;
  if (sliding_window <= 0 || !any) {
    plan.note = "config.json names no sliding-window layer that owns a cache";
    return plan;
  }
  try {
    Plan(ParseGraph(model), plan, sliding_window);
  } catch (const Refused& refused) {
    for (auto& l : plan.layers) l.window = 0;
    plan.model.clear();
    plan.note = "not recognised: " + refused.why;
  } catch (const wire::WireError& e) {
    throw Error(ErrorKind::kCorrupt, path.string() + ": not a valid ONNX model (byte " + std::to_string(e.offset) +
                                         ": " + e.what + ")");
  }
  return plan;
}

}  // namespace gemma4::onnx
