// Pattern matching from each norm's last node (the Mul by the weight) back to its input, over the
// node-level view; matched nodes are dropped and the weight Mul's field becomes the fused node.
#include "runtime/onnx_norm_fusion.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "gemma4/error.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {


constexpr int64_t kMaxNormWidth = 1 << 16;

struct Match {
  std::string_view input;   // the fused node's input
  std::string_view weight;  // its 1-D weight, or "" for a float32 ones vector of `ones_width`
  int64_t ones_width = 0;
  std::string_view output;  // the fused node's output (the last replaced node's)
  double epsilon = 0;
  std::vector<size_t> dropped;  // matched nodes that go
  size_t replaced = 0;          // the node whose place the fused node takes
};

// The node producing `tensor` when it is `op` and its output is read by exactly `uses` node
// inputs and is not a graph output; else nullptr.
const GraphNode* Private(const GraphView& g, std::string_view tensor, const char* op, size_t uses = 1) {
  const GraphNode* node = g.ProducerOf(tensor);
  if (!node || node->Op() != op || node->outputs.size() != 1) return nullptr;
  if (g.outputs.count(tensor) || g.ConsumersOf(tensor).size() != uses) return nullptr;
  return node;
}

size_t IndexOf(const GraphView& g, const GraphNode* node) { return static_cast<size_t>(node - g.nodes.data()); }

std::optional<double> Scalar(const GraphView& g, std::string_view tensor) {
  auto c = ConstantOf(g, tensor);
  if (!c || !c->scalar) return std::nullopt;
  return c->scalar;
}

bool Is(std::optional<double> v, double want) { return v && *v == want; }

// ReduceMean over the last axis with keepdims: axes [-1] as an attribute (opset < 18) or input.
bool MeansLastAxis(const GraphView& g, const GraphNode& mean) {
  if (auto it = mean.ints.find("keepdims"); it != mean.ints.end() && it->second != 1) return false;
  if (auto it = mean.int_lists.find("axes"); it != mean.int_lists.end()) {
    return it->second.size() == 1 && it->second[0] == -1 && mean.inputs.size() == 1;
  }
  return mean.inputs.size() == 2 && Is(Scalar(g, mean.inputs[1]), -1);
}

// mean(x * x) or mean(Pow(x, 2)) + eps -> sets x and eps, appends the nodes.
bool MatchMeanSquarePlusEps(const GraphView& g, std::string_view sum, std::string_view& x, double& eps,
                            std::vector<size_t>& nodes) {
  const GraphNode* add = Private(g, sum, "Add");
  if (!add || add->inputs.size() != 2) return false;
  for (int side = 0; side < 2; ++side) {
    std::optional<double> e = Scalar(g, add->inputs[1 - side]);
    if (!e || !(*e >= 0) || *e > 1) continue;
    const GraphNode* mean = Private(g, add->inputs[side], "ReduceMean");
    if (!mean || !MeansLastAxis(g, *mean)) continue;
    const GraphNode* square = g.ProducerOf(mean->inputs[0]);
    if (!square || g.outputs.count(mean->inputs[0]) || g.ConsumersOf(mean->inputs[0]).size() != 1) continue;
    if (square->Op() == "Mul" && square->inputs.size() == 2 && square->inputs[0] == square->inputs[1]) {
      x = square->inputs[0];
    } else if (square->Op() == "Pow" && square->inputs.size() == 2 && Is(Scalar(g, square->inputs[1]), 2)) {
      x = square->inputs[0];
    } else {
      continue;
    }
    eps = *e;
    nodes.insert(nodes.end(), {IndexOf(g, square), IndexOf(g, mean), IndexOf(g, add)});
    return true;
  }
  return false;
}

// y = x / sqrt(mean(x^2) + eps) in one of its three spellings; sets x, eps and the nodes.
bool MatchNormalized(const GraphView& g, std::string_view y, std::string_view& x, double& eps,
                     std::vector<size_t>& nodes) {
  const GraphNode* last = g.ProducerOf(y);
  if (!last || last->outputs.size() != 1 || last->inputs.size() != 2) return false;
  if (last->Op() == "Div") {  // x / Sqrt(mean + eps)
    const GraphNode* root = Private(g, last->inputs[1], "Sqrt");
    if (!root || !MatchMeanSquarePlusEps(g, root->inputs[0], x, eps, nodes) || x != last->inputs[0]) return false;
    nodes.insert(nodes.end(), {IndexOf(g, root), IndexOf(g, last)});
    return true;
  }
  if (last->Op() != "Mul") return false;
  for (int side = 0; side < 2; ++side) {
    std::string_view inv = last->inputs[1 - side];
    std::vector<size_t> found;
    if (const GraphNode* recip = Private(g, inv, "Reciprocal")) {  // x * Reciprocal(Sqrt(mean + eps))
      const GraphNode* root = Private(g, recip->inputs[0], "Sqrt");
      if (!root || !MatchMeanSquarePlusEps(g, root->inputs[0], x, eps, found)) continue;
      found.insert(found.end(), {IndexOf(g, root), IndexOf(g, recip)});
    } else if (const GraphNode* pow = Private(g, inv, "Pow")) {  // x * Pow(mean + eps, -0.5)
      if (pow->inputs.size() != 2 || !Is(Scalar(g, pow->inputs[1]), -0.5)) continue;
      if (!MatchMeanSquarePlusEps(g, pow->inputs[0], x, eps, found)) continue;
      found.push_back(IndexOf(g, pow));
    } else {
      continue;
    }
    if (x != last->inputs[side]) return false;
    found.push_back(IndexOf(g, last));
    nodes.insert(nodes.end(), found.begin(), found.end());
    return true;
  }
  return false;
}

int64_t CastTarget(const GraphNode& cast) {
  auto it = cast.ints.find("to");
  return it == cast.ints.end() ? -1 : it->second;
}

// The norm that ends in the weight Mul `mul`, if it is one.
//  - float32 graph: x -> ... -> Mul(normed, w) becomes SimplifiedLayerNormalization(x, w).
//  - float16 graph: Cast(x16 -> f32) -> ... -> Cast(-> f16) -> Mul(normed16, w16). Only the float32
//    core becomes SimplifiedLayerNormalization(x32, ones); the Casts and the float16 weight Mul
//    stay, so the output is rounded to float16 twice exactly as before (fusing the weight too
//    would round once, and change the tokens of a float16 model).
std::optional<Match> MatchNorm(const GraphView& g, const GraphNode& mul) {
  if (mul.Op() != "Mul" || mul.inputs.size() != 2 || mul.outputs.size() != 1) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    auto weight = ConstantOf(g, mul.inputs[side]);
    // The width sizes the float32 ones vector a float16 norm gets: a norm is a row of hidden or
    // head size, so a weight that claims more than kMaxNormWidth is no norm's (and a lying file
    // must not make us allocate what it claims).
    if (!weight || weight->dims.size() != 1 || weight->dims[0] < 2 || weight->dims[0] > kMaxNormWidth) continue;
    if (weight->elem_type != kElemFloat && weight->elem_type != kElemFloat16) continue;
    std::string_view y = mul.inputs[1 - side];
    const GraphNode* back = Private(g, y, "Cast");
    if (back) {
      if (weight->elem_type != kElemFloat16 || CastTarget(*back) != kElemFloat16) continue;
      y = back->inputs[0];
    } else if (weight->elem_type != kElemFloat) {
      continue;
    }
    if (g.outputs.count(y) || g.ConsumersOf(y).size() != 1) continue;
    Match m;
    std::string_view x;
    if (!MatchNormalized(g, y, x, m.epsilon, m.dropped)) continue;
    m.input = x;
    if (back) {
      m.ones_width = weight->dims[0];
      m.output = y;
      m.replaced = m.dropped.back();  // the core's last node
      m.dropped.pop_back();
    } else {
      m.weight = mul.inputs[side];
      m.output = mul.outputs[0];
      m.replaced = IndexOf(g, &mul);
    }
    return m;
  }
  return std::nullopt;
}

std::string OnesName(int64_t width) { return "gemma4/rms_norm_ones_" + std::to_string(width); }

// A float32 initializer [width] of ones (raw data).
std::string OnesInitializer(int64_t width) {
  std::string t;
  wire::PutVarint(t, (uint64_t(1) << 3) | 0);  // dims
  wire::PutVarint(t, static_cast<uint64_t>(width));
  wire::PutVarint(t, (uint64_t(2) << 3) | 0);  // data_type FLOAT
  wire::PutVarint(t, kElemFloat);
  wire::PutBytesField(t, 8, OnesName(width));
  std::string raw;
  const float one = 1.0f;
  for (int64_t i = 0; i < width; ++i) raw.append(reinterpret_cast<const char*>(&one), 4);
  wire::PutBytesField(t, 9, raw);
  std::string field;
  wire::PutBytesField(field, kGraphInitializer, t);
  return field;
}

std::string FusedNode(const Match& m, size_t index) {
  std::string node;
  wire::PutBytesField(node, kNodeInput, m.input);
  wire::PutBytesField(node, kNodeInput, m.weight.empty() ? OnesName(m.ones_width) : std::string(m.weight));
  wire::PutBytesField(node, kNodeOutput, m.output);
  wire::PutBytesField(node, kNodeName, "gemma4/fused_rms_norm_" + std::to_string(index));
  wire::PutBytesField(node, kNodeOpType, "SimplifiedLayerNormalization");
  PutIntAttribute(node, "axis", -1);
  PutFloatAttribute(node, "epsilon", static_cast<float>(m.epsilon));
  PutIntAttribute(node, "stash_type", 1);  // float32 arithmetic
  std::string field;
  wire::PutBytesField(field, kGraphNode, node);
  return field;
}

}  // namespace

NormFusion FuseRmsNorms(const std::filesystem::path& path, std::string_view model) {
  try {
    const GraphView g = ParseGraph(model);
    std::map<size_t, std::string> replaced;
    std::set<size_t> taken;
    std::set<int64_t> ones_widths;
    NormFusion result;
    for (const GraphNode& node : g.nodes) {
      std::optional<Match> m = MatchNorm(g, node);
      if (!m) continue;
      bool overlaps = taken.count(m->replaced) > 0;
      for (size_t n : m->dropped) overlaps |= taken.count(n) > 0;
      if (overlaps) continue;
      for (size_t n : m->dropped) {
        taken.insert(n);
        replaced[g.nodes[n].field] = "";
      }
      taken.insert(m->replaced);
      replaced[g.nodes[m->replaced].field] = FusedNode(*m, result.fused++);
      if (m->weight.empty()) ones_widths.insert(m->ones_width);
    }
    if (result.fused > 0) {
      std::map<size_t, std::string> appended;
      std::string& ones = appended[g.fields.size() - 1];
      for (int64_t width : ones_widths) ones += OnesInitializer(width);
      if (ones.empty()) appended.clear();
      result.model = EmitModel(g, replaced, appended);
    }
    return result;
  } catch (const wire::WireError& e) {
    throw Error(ErrorKind::kCorrupt, path.string() + ": not a valid ONNX model (byte " + std::to_string(e.offset) +
                                         ": " + e.what + ")");
  }
}

}  // namespace gemma4::onnx
