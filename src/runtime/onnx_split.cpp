// Liveness over a topologically sorted ONNX graph, then byte-level copies of the ModelProto that
// keep each half's fields verbatim (nodes, initializers, declarations) and add only the
// declarations of the tensors that cross the cut.
#include "runtime/onnx_split.h"

#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "gemma4/error.h"
#include "package/onnx_proto.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

using wire::AsString;
using wire::Field;
using wire::Fields;
using wire::Reader;
using wire::StringField;
using wire::WireError;

// GraphProto field numbers.
constexpr uint32_t kNode = 1, kInitializer = 5, kInput = 11, kOutput = 12, kValueInfo = 13, kSparseInitializer = 15;
constexpr uint32_t kModelGraph = 7;

struct NodeInfo {
  size_t field = 0;  // index in the graph's fields
  std::vector<std::string_view> inputs, outputs;
  std::string_view op_type, domain;
  std::optional<int32_t> to;  // Cast's target type
  bool has_subgraph = false;
};

NodeInfo ReadNode(Reader r, size_t field) {
  NodeInfo node;
  node.field = field;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == 1 && w == 2) {
      node.inputs.push_back(AsString(r.Sub()));
    } else if (f == 2 && w == 2) {
      node.outputs.push_back(AsString(r.Sub()));
    } else if (f == 4 && w == 2) {
      node.op_type = AsString(r.Sub());
    } else if (f == 7 && w == 2) {
      node.domain = AsString(r.Sub());
    } else if (f == 5 && w == 2) {  // AttributeProto: name = 1, i = 3, g = 6, graphs = 11
      Reader attr = r.Sub();
      std::string_view name;
      std::optional<int64_t> i;
      uint32_t af, aw;
      while (attr.Tag(af, aw)) {
        if (af == 1 && aw == 2) name = AsString(attr.Sub());
        else if (af == 3 && aw == 0) i = static_cast<int64_t>(attr.Varint());
        else {
          if ((af == 6 || af == 11) && aw == 2) node.has_subgraph = true;
          attr.Skip(aw);
        }
      }
      if (name == "to" && i) node.to = static_cast<int32_t>(*i);
    } else {
      r.Skip(w);
    }
  }
  return node;
}

// The name a graph field declares or defines ("" for fields that have none).
std::string_view FieldName(const Field& field) {
  if (field.wire_type != 2) return {};
  switch (field.number) {
    case kInitializer: return StringField(field.payload, 8);  // TensorProto.name
    case kSparseInitializer: {                                 // its name is values.name
      Reader sparse = field.payload;
      uint32_t f, w;
      while (sparse.Tag(f, w)) {
        if (f == 1 && w == 2) return StringField(sparse.Sub(), 8);
        sparse.Skip(w);
      }
      return {};
    }
    case kInput: case kOutput: case kValueInfo: return StringField(field.payload, 1);
    default: return {};
  }
}

// How one tensor of the first half reaches the second. ONNX Runtime does not run a float16
// graph as written on the CPU: it computes in float32 wherever a kernel lacks float16 and drops
// the float16 round trips in between (its InsertedPrecisionFreeCast nodes), so a float16 tensor
// in the middle of such a chain is never rounded in the whole graph. A graph output is always
// rounded to its declared type, so float16 activations cross widened to float32 and are
// narrowed again in the second half, where the same pass drops that round trip as it would
// have in the whole graph. Tensors that a first-half output merely copies (Identity, as GQA's
// present key/value) cross as that output, so the cache is not widened on every step.
enum class Crossing { kAsIs, kWidened, kAlias };

struct BoundaryTensor {
  std::string_view tensor;    // the name both halves' nodes use
  std::string head_input;     // the name it crosses under: tensor, tensor + "/float32", or the aliased output
  Crossing how = Crossing::kAsIs;
};

// The model parsed once: views into `bytes`, which must outlive it.
struct ParsedModel {
  std::vector<Field> model_fields;
  size_t graph = 0;  // index of the graph in model_fields
  std::vector<Field> graph_fields;
  std::vector<NodeInfo> nodes;
  std::vector<std::optional<size_t>> node_of_field;  // per graph field: the node it holds, if any
  std::vector<bool> in_first;   // per node
  std::vector<bool> in_second;  // per node: !in_first, or a Cast both halves compute
  std::unordered_set<std::string_view> first_live;    // every name the first half reads or must return
  std::unordered_set<std::string_view> second_reads;  // every name a second-half node reads
  std::unordered_set<std::string_view> produced_first;
  std::unordered_set<std::string_view> graph_inputs;
  std::vector<BoundaryTensor> boundary;  // in the order the second half first reads each tensor
};

// TypeProto.tensor_type.elem_type of a ValueInfoProto, if declared.
std::optional<int32_t> DeclaredElemType(Reader info) {
  uint32_t f, w;
  while (info.Tag(f, w)) {
    if (f != 2 || w != 2) { info.Skip(w); continue; }
    Reader type = info.Sub();
    while (type.Tag(f, w)) {
      if (f != 1 || w != 2) { type.Skip(w); continue; }
      Reader tensor = type.Sub();
      while (tensor.Tag(f, w)) {
        if (f == 1 && w == 0) return static_cast<int32_t>(tensor.Varint());
        tensor.Skip(w);
      }
    }
  }
  return std::nullopt;
}

// Element types of graph inputs, initializers and value_info, and of node outputs where the
// operator's schema ties them to an input's (or fixes them); nullopt where that is not known.
class ElemTypes {
 public:
  explicit ElemTypes(const ParsedModel& m) : m_(m) {
    for (const Field& field : m.graph_fields) {
      if (field.wire_type != 2) continue;
      if (field.number == kInput || field.number == kValueInfo) {
        if (auto t = DeclaredElemType(field.payload)) known_[FieldName(field)] = *t;
      } else if (field.number == kInitializer) {
        Reader r = field.payload;
        uint32_t f, w;
        while (r.Tag(f, w)) {
          if (f == 2 && w == 0) known_[FieldName(field)] = static_cast<int32_t>(r.Varint());
          else r.Skip(w);
        }
      }
    }
    for (size_t n = 0; n < m.nodes.size(); ++n) {
      for (std::string_view out : m.nodes[n].outputs) producer_[out] = n;
    }
  }

  std::optional<int32_t> Of(std::string_view name, int depth = 0) {
    if (auto it = known_.find(name); it != known_.end()) return it->second;
    auto p = producer_.find(name);
    if (p == producer_.end() || depth > 256) return std::nullopt;
    const NodeInfo& node = m_.nodes[p->second];
    static const std::set<std::string_view> kBool = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
                                                      "Not", "And", "Or", "Xor", "IsNaN", "IsInf"};
    static const std::set<std::string_view> kLikeFirstInput = {
        "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Sqrt", "Reciprocal", "Pow", "Exp", "Log", "Tanh", "Erf",
        "Sigmoid", "Relu", "Gelu", "Softmax", "Max", "Min", "Clip", "ReduceMean", "ReduceSum", "ReduceMax",
        "Identity", "Gather", "Slice", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split",
        "Expand", "Tile", "MatMul", "LayerNormalization", "SimplifiedLayerNormalization",
        "SkipSimplifiedLayerNormalization", "MatMulNBits", "GroupQueryAttention", "RotaryEmbedding",
        "FastGelu", "FusedMatMul", "Range"};
    std::optional<int32_t> t;
    if (node.op_type == "Cast") t = node.to;
    else if (node.op_type == "Shape" || node.op_type == "Size") t = 7;
    else if (kBool.count(node.op_type)) t = 9;
    else if (node.op_type == "Where" && node.inputs.size() == 3) t = Of(node.inputs[1], depth + 1);
    else if (kLikeFirstInput.count(node.op_type) && !node.inputs.empty()) t = Of(node.inputs[0], depth + 1);
    if (t) known_[name] = *t;
    return t;
  }

 private:
  const ParsedModel& m_;
  std::unordered_map<std::string_view, int32_t> known_;
  std::unordered_map<std::string_view, size_t> producer_;
};

constexpr int32_t kFloat = 1, kFloat16 = 10;

bool IsGatherOrSlice(const NodeInfo& node) {
  return node.domain.empty() && (node.op_type == "Gather" || node.op_type == "Slice") && !node.inputs.empty();
}

std::optional<ParsedModel> Parse(std::string_view bytes, const std::vector<std::string>& first_outputs) {
  ParsedModel m;
  const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
  m.model_fields = Fields(Reader{begin, begin + bytes.size(), begin});
  size_t graphs = 0;
  for (size_t i = 0; i < m.model_fields.size(); ++i) {
    if (m.model_fields[i].number == kModelGraph && m.model_fields[i].wire_type == 2) m.graph = i, ++graphs;
  }
  if (graphs == 0) throw WireError{0, "no graph"};
  if (graphs > 1) return std::nullopt;  // repeated graph fields merge; not worth supporting
  m.graph_fields = Fields(m.model_fields[m.graph].payload);

  std::unordered_set<std::string_view> wanted(first_outputs.begin(), first_outputs.end());
  std::unordered_set<std::string_view> graph_outputs, initializers;
  for (size_t i = 0; i < m.graph_fields.size(); ++i) {
    const Field& field = m.graph_fields[i];
    if (field.wire_type != 2) continue;
    if (field.number == kNode) {
      m.nodes.push_back(ReadNode(field.payload, i));
      if (m.nodes.back().has_subgraph) return std::nullopt;
    } else if (field.number == kOutput) {
      graph_outputs.insert(FieldName(field));
    } else if (field.number == kInput) {
      m.graph_inputs.insert(FieldName(field));
    } else if (field.number == kInitializer || field.number == kSparseInitializer) {
      initializers.insert(FieldName(field));
    }
  }
  for (std::string_view name : wanted) {
    if (!graph_outputs.count(name)) return std::nullopt;
  }
  m.node_of_field.resize(m.graph_fields.size());
  for (size_t n = 0; n < m.nodes.size(); ++n) m.node_of_field[m.nodes[n].field] = n;

  // ONNX requires nodes in topological order, so one backward sweep finds everything needed.
  m.first_live = wanted;
  m.in_first.assign(m.nodes.size(), false);
  for (size_t i = m.nodes.size(); i-- > 0;) {
    bool needed = false;
    for (std::string_view out : m.nodes[i].outputs) needed = needed || (!out.empty() && m.first_live.count(out));
    if (!needed) continue;
    m.in_first[i] = true;
    for (std::string_view in : m.nodes[i].inputs) {
      if (!in.empty()) m.first_live.insert(in);
    }
  }
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.in_first[i]) m.produced_first.insert(m.nodes[i].outputs.begin(), m.nodes[i].outputs.end());
  }

  // ONNX Runtime fuses the Gather/Slice readers of one tensor into a single Split when together
  // they cover it (GatherSliceToSplitFusion), which changes where float16 is rounded (see
  // Crossing). Cut through such a fan-out, neither half could fuse it: the second-half readers
  // of a tensor that first-half Gathers/Slices also read join them, and their outputs cross.
  std::unordered_set<std::string_view> fanned_out;  // first-half tensors a first-half Gather/Slice reads
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.in_first[i] && IsGatherOrSlice(m.nodes[i])) fanned_out.insert(m.nodes[i].inputs[0]);
  }
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const NodeInfo& node = m.nodes[i];
    if (m.in_first[i] || !IsGatherOrSlice(node) || !fanned_out.count(node.inputs[0]) ||
        !m.produced_first.count(node.inputs[0])) {
      continue;
    }
    bool available = true;
    for (std::string_view in : node.inputs) {
      available = available && (in.empty() || m.produced_first.count(in) || initializers.count(in) || m.graph_inputs.count(in));
    }
    for (std::string_view out : node.outputs) available = available && !graph_outputs.count(out);
    if (!available) continue;
    m.in_first[i] = true;
    for (std::string_view in : node.inputs) {
      if (!in.empty()) m.first_live.insert(in);
    }
    m.produced_first.insert(node.outputs.begin(), node.outputs.end());
  }

  // A Cast whose output the second half reads is computed in both halves from its input: the
  // whole graph often drops it (a float16 Cast ahead of float32 arithmetic), which a graph
  // output would not allow. Reverse order, so that a Cast of a Cast is caught too.
  m.in_second.resize(m.nodes.size());
  for (size_t i = 0; i < m.nodes.size(); ++i) m.in_second[i] = !m.in_first[i];
  std::unordered_set<std::string_view> read_by_second;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (m.in_second[i]) read_by_second.insert(m.nodes[i].inputs.begin(), m.nodes[i].inputs.end());
  }
  for (size_t i = m.nodes.size(); i-- > 0;) {
    const NodeInfo& node = m.nodes[i];
    if (!m.in_first[i] || node.op_type != "Cast" || !node.domain.empty() || node.inputs.size() != 1 ||
        node.outputs.size() != 1 || wanted.count(node.outputs[0]) || !read_by_second.count(node.outputs[0])) {
      continue;
    }
    m.in_second[i] = true;
    read_by_second.insert(node.inputs[0]);
  }

  std::unordered_set<std::string_view> produced_second;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (!m.in_second[i]) continue;
    for (std::string_view in : m.nodes[i].inputs) {
      if (!in.empty()) m.second_reads.insert(in);
    }
    produced_second.insert(m.nodes[i].outputs.begin(), m.nodes[i].outputs.end());
  }

  // The boundary, in the order the second half first reads each tensor.
  std::unordered_map<std::string_view, std::string_view> copied_to;  // tensor -> the first output copying it
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const NodeInfo& node = m.nodes[i];
    if (m.in_first[i] && node.op_type == "Identity" && node.domain.empty() && node.inputs.size() == 1 &&
        node.outputs.size() == 1 && wanted.count(node.outputs[0])) {
      copied_to.emplace(node.inputs[0], node.outputs[0]);
    }
  }
  ElemTypes types(m);
  std::set<std::string_view> seen;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (!m.in_second[i]) continue;
    for (std::string_view in : m.nodes[i].inputs) {
      if (in.empty() || !m.produced_first.count(in) || produced_second.count(in) || !seen.insert(in).second) continue;
      BoundaryTensor b{in, std::string(in), Crossing::kAsIs};
      if (wanted.count(in)) {
        // a first-half output: crosses as it is
      } else if (auto copy = copied_to.find(in); copy != copied_to.end()) {
        b = {in, std::string(copy->second), Crossing::kAlias};
      } else if (types.Of(in) == kFloat16) {
        b = {in, std::string(in) + "/float32", Crossing::kWidened};
      }
      m.boundary.push_back(std::move(b));
    }
  }
  return m;
}

// NodeProto {input, output, name, op_type} with an optional int attribute.
std::string EncodedNode(std::string_view input, std::string_view output, std::string_view op,
                        std::optional<std::pair<std::string_view, int64_t>> attribute = std::nullopt) {
  std::string node;
  wire::PutBytesField(node, 1, input);
  wire::PutBytesField(node, 2, output);
  wire::PutBytesField(node, 3, std::string(output) + "/" + std::string(op));
  wire::PutBytesField(node, 4, op);
  if (attribute) {
    std::string attr;
    wire::PutBytesField(attr, 1, attribute->first);
    wire::PutVarint(attr, (3u << 3) | 0);  // AttributeProto.i
    wire::PutVarint(attr, static_cast<uint64_t>(attribute->second));
    wire::PutVarint(attr, (20u << 3) | 0);  // AttributeProto.type = INT
    wire::PutVarint(attr, 2);
    wire::PutBytesField(node, 5, attr);
  }
  std::string field;
  wire::PutBytesField(field, kNode, node);
  return field;
}

// ValueInfoProto {name} or {name, tensor type}.
std::string EncodedValueInfo(std::string_view name, std::optional<int32_t> elem_type) {
  std::string info;
  wire::PutBytesField(info, 1, name);
  if (elem_type) {
    std::string tensor, type;
    wire::PutVarint(tensor, (1u << 3) | 0);  // TypeProto.Tensor.elem_type
    wire::PutVarint(tensor, static_cast<uint64_t>(*elem_type));
    wire::PutBytesField(type, 1, tensor);    // TypeProto.tensor_type
    wire::PutBytesField(info, 2, type);      // ValueInfoProto.type
  }
  return info;
}

// Re-emits the ModelProto with `graph` in place of the original graph.
std::string WithGraph(const ParsedModel& m, const std::string& graph) {
  std::string out;
  for (size_t i = 0; i < m.model_fields.size(); ++i) {
    if (i == m.graph) wire::PutBytesField(out, kModelGraph, graph);
    else out.append(m.model_fields[i].encoded);
  }
  return out;
}

// An initializer field with its external_data `location` renamed per `relocated` (verbatim
// when it has none or the name is unchanged).
std::string Relocated(const Field& field, const std::map<std::string, std::string>& relocated) {
  if (field.number != kInitializer || relocated.empty()) return std::string(field.encoded);
  std::string tensor;
  bool changed = false;
  for (const Field& f : Fields(field.payload)) {
    if (f.number == 13 && f.wire_type == 2 && StringField(f.payload, 1) == "location") {
      auto it = relocated.find(std::string(StringField(f.payload, 2)));
      if (it != relocated.end() && it->first != it->second) {
        std::string entry;
        wire::PutBytesField(entry, 1, "location");
        wire::PutBytesField(entry, 2, it->second);
        wire::PutBytesField(tensor, 13, entry);
        changed = true;
        continue;
      }
    }
    tensor.append(f.encoded);
  }
  if (!changed) return std::string(field.encoded);
  std::string out;
  wire::PutBytesField(out, kInitializer, tensor);
  return out;
}

template <typename Fn>
auto Guarded(const std::filesystem::path& path, Fn fn) {
  try {
    return fn();
  } catch (const WireError& e) {
    throw Error(ErrorKind::kCorrupt, path.string() + ": not a valid ONNX model (byte " + std::to_string(e.offset) +
                                         ": " + e.what + ")");
  }
}

}  // namespace

std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const std::vector<std::string>& first_outputs) {
  return SplitAfterOutputs(path, ReadModelSummary(path), first_outputs);
}

std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const ModelSummary& summary,
                                            const std::vector<std::string>& first_outputs) {
  std::string model;
  {
    wire::MappedFile file(path);
    if (file.size() == 0) throw Error(ErrorKind::kCorrupt, path.string() + ": empty file, not an ONNX model");
    model.assign(reinterpret_cast<const char*>(file.data()), file.size());
  }
  return SplitAfterOutputs(path, summary, first_outputs, std::move(model));
}

std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const ModelSummary& summary,
                                            const std::vector<std::string>& first_outputs, std::string model) {
  GraphSplit split;
  split.path = path;
  split.first_outputs = first_outputs;
  split.model = std::move(model);
  // Each sidecar's real folder and name; all must share one folder.
  split.data_folder = std::filesystem::weakly_canonical(path).parent_path();
  bool first_ref = true;
  for (const auto& ref : summary.external) {
    if (split.relocated.count(ref.location)) continue;
    const auto real = std::filesystem::weakly_canonical(path.parent_path() / ref.location);
    if (first_ref) split.data_folder = real.parent_path();
    else if (real.parent_path() != split.data_folder) return std::nullopt;
    first_ref = false;
    split.relocated[ref.location] = real.filename().string();
  }
  return Guarded(path, [&]() -> std::optional<GraphSplit> {
    std::optional<ParsedModel> parsed = Parse(split.model, first_outputs);
    if (!parsed) return std::nullopt;
    const ParsedModel& m = *parsed;
    split.nodes_total = m.nodes.size();
    for (bool f : m.in_first) split.nodes_first += f;
    if (split.nodes_first == split.nodes_total) return std::nullopt;
    for (const auto& b : m.boundary) split.boundary.push_back(b.head_input);

    // Every original output the second half must return has to be computed there.
    const std::unordered_set<std::string_view> wanted(first_outputs.begin(), first_outputs.end());
    for (const Field& field : m.graph_fields) {
      if (field.number == kOutput && !wanted.count(FieldName(field)) && m.produced_first.count(FieldName(field))) {
        return std::nullopt;
      }
    }

    std::string graph;
    for (size_t i = 0; i < m.graph_fields.size(); ++i) {
      const Field& field = m.graph_fields[i];
      const std::string_view name = FieldName(field);
      bool keep = true;
      if (const auto node = m.node_of_field[i]) keep = m.in_first[*node];
      else if (field.number == kInitializer || field.number == kSparseInitializer) {
        keep = m.first_live.count(name) > 0;
        ++split.initializers_total;
        split.initializers_first += keep;
      } else if (field.number == kOutput) keep = wanted.count(name) > 0;
      else if (field.number == kValueInfo) keep = m.first_live.count(name) > 0;
      if (keep) graph.append(Relocated(field, split.relocated));
    }
    for (const auto& b : m.boundary) {
      if (b.how == Crossing::kWidened) graph.append(EncodedNode(b.tensor, b.head_input, "Cast", {{"to", kFloat}}));
      if (b.how != Crossing::kAlias && !wanted.count(b.head_input)) {
        wire::PutBytesField(graph, kOutput, EncodedValueInfo(b.head_input, std::nullopt));
      }
    }
    split.first = WithGraph(m, graph);
    return split;
  });
}

std::string GraphSplit::Second(const std::map<std::string, int32_t>& boundary_types) const {
  return Guarded(path, [&]() -> std::string {
    std::optional<ParsedModel> parsed = Parse(model, first_outputs);
    if (!parsed) throw Error(ErrorKind::kInvalidArgument, path.string() + ": the graph can no longer be split");
    const ParsedModel& m = *parsed;
    const std::unordered_set<std::string_view> first_out(first_outputs.begin(), first_outputs.end());
    std::unordered_set<std::string_view> second_names = m.second_reads;
    for (size_t i = 0; i < m.nodes.size(); ++i) {
      if (m.in_second[i]) second_names.insert(m.nodes[i].outputs.begin(), m.nodes[i].outputs.end());
    }
    // What turns a crossing back into the tensor the nodes read, ahead of every other node.
    std::string graph;
    for (const auto& b : m.boundary) {
      if (b.how == Crossing::kWidened) graph.append(EncodedNode(b.head_input, b.tensor, "Cast", {{"to", kFloat16}}));
      if (b.how == Crossing::kAlias) graph.append(EncodedNode(b.head_input, b.tensor, "Identity"));
    }
    bool boundary_written = false;
    auto write_boundary = [&] {
      std::set<std::string_view> declared;
      for (const auto& b : boundary) {
        if (!declared.insert(b).second) continue;  // an output read both directly and as the copy of its tensor
        auto type = boundary_types.find(b);
        if (type == boundary_types.end()) {
          throw Error(ErrorKind::kInvalidArgument, path.string() + ": no element type for the split boundary tensor '" + b + "'");
        }
        wire::PutBytesField(graph, kInput, EncodedValueInfo(b, type->second));
      }
      boundary_written = true;
    };
    for (size_t i = 0; i < m.graph_fields.size(); ++i) {
      const Field& field = m.graph_fields[i];
      const std::string_view name = FieldName(field);
      bool keep = true;
      if (const auto node = m.node_of_field[i]) keep = m.in_second[*node];
      else if (field.number == kInitializer || field.number == kSparseInitializer) keep = m.second_reads.count(name) > 0;
      else if (field.number == kInput) keep = m.second_reads.count(name) > 0;
      else if (field.number == kOutput) keep = !first_out.count(name);
      else if (field.number == kValueInfo) keep = second_names.count(name) > 0;
      if (keep) graph.append(Relocated(field, relocated));
      if (field.number == kInput && !boundary_written) write_boundary();  // next to the declared inputs
    }
    if (!boundary_written) write_boundary();
    return WithGraph(m, graph);
  });
}

}  // namespace gemma4::onnx
