// Liveness over a topologically sorted ONNX graph, then byte-level copies of the ModelProto that
// keep each half's fields verbatim (nodes, initializers, declarations) and add only the
// declarations of the tensors that cross the cut.
#include "package/onnx_split.h"

#include <set>
#include <string_view>
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
    } else if (f == 5 && w == 2) {  // AttributeProto: g = 6, graphs = 11
      Reader attr = r.Sub();
      uint32_t af, aw;
      while (attr.Tag(af, aw)) {
        if ((af == 6 || af == 11) && aw == 2) node.has_subgraph = true;
        attr.Skip(aw);
      }
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

// The model parsed once: views into `bytes`, which must outlive it.
struct ParsedModel {
  std::vector<Field> model_fields;
  size_t graph = 0;  // index of the graph in model_fields
  std::vector<Field> graph_fields;
  std::vector<NodeInfo> nodes;
  std::vector<std::optional<size_t>> node_of_field;  // per graph field: the node it holds, if any
  std::vector<bool> in_first;  // per node
  std::unordered_set<std::string_view> first_live;    // every name the first half reads or must return
  std::unordered_set<std::string_view> second_reads;  // every name a second-half node reads
  std::unordered_set<std::string_view> produced_first;
  std::unordered_set<std::string_view> graph_inputs;
};

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
  size_t outputs_found = 0;
  for (size_t i = 0; i < m.graph_fields.size(); ++i) {
    const Field& field = m.graph_fields[i];
    if (field.wire_type != 2) continue;
    if (field.number == kNode) {
      m.nodes.push_back(ReadNode(field.payload, i));
      if (m.nodes.back().has_subgraph) return std::nullopt;
    } else if (field.number == kOutput) {
      outputs_found += wanted.count(FieldName(field));
    } else if (field.number == kInput) {
      m.graph_inputs.insert(FieldName(field));
    }
  }
  if (outputs_found != wanted.size()) return std::nullopt;
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
    if (m.in_first[i]) {
      for (std::string_view out : m.nodes[i].outputs) m.produced_first.insert(out);
    } else {
      for (std::string_view in : m.nodes[i].inputs) {
        if (!in.empty()) m.second_reads.insert(in);
      }
    }
  }
  return m;
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

    // The boundary, in the order the second half first reads each tensor.
    std::set<std::string_view> seen;
    for (size_t i = 0; i < m.nodes.size(); ++i) {
      if (m.in_first[i]) continue;
      for (std::string_view in : m.nodes[i].inputs) {
        if (!in.empty() && m.produced_first.count(in) && seen.insert(in).second) split.boundary.emplace_back(in);
      }
    }
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
    for (const auto& name : split.boundary) {
      if (!wanted.count(name)) wire::PutBytesField(graph, kOutput, EncodedValueInfo(name, std::nullopt));
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
      if (!m.in_first[i]) second_names.insert(m.nodes[i].outputs.begin(), m.nodes[i].outputs.end());
    }
    std::string graph;
    bool boundary_written = false;
    auto write_boundary = [&] {
      for (const auto& b : boundary) {
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
      if (const auto node = m.node_of_field[i]) keep = !m.in_first[*node];
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
