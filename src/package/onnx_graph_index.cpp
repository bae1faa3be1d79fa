// The node index of onnx_graph_index.h, and the one re-encoding the edits share.
#include "package/onnx_graph_index.h"

#include <optional>

namespace gemma4::onnx {
namespace {

using wire::Field;
using wire::Reader;

GraphNode ReadNode(Reader r, size_t field) {
  GraphNode node;
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

// The values of an int64 / int32 TensorProto of at most 4 elements, nullopt otherwise.
// TensorProto: dims 1, data_type 2, int32_data 5, int64_data 7, name 8, raw_data 9.
std::optional<std::vector<int64_t>> SmallInts(Reader r, std::string_view* name) {
  int64_t type = 0, count = 1;
  std::vector<int64_t> values;
  std::string_view raw;
  bool external = false;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == 1 && w == 0) count *= static_cast<int64_t>(r.Varint());
    else if (f == 1 && w == 2) {
      Reader dims = r.Sub();
      while (!dims.done()) count *= static_cast<int64_t>(dims.Varint());
    } else if (f == 2 && w == 0) type = static_cast<int64_t>(r.Varint());
    else if ((f == 5 || f == 7) && w == 0) values.push_back(static_cast<int64_t>(r.Varint()));
    else if ((f == 5 || f == 7) && w == 2) {
      Reader packed = r.Sub();
      while (!packed.done()) values.push_back(static_cast<int64_t>(packed.Varint()));
    } else if (f == 8 && w == 2) {
      if (name) *name = wire::AsString(r.Sub());
      else r.Skip(w);
    } else if (f == 9 && w == 2) raw = wire::AsString(r.Sub());
    else if (f == 13) external = true, r.Skip(w);
    else r.Skip(w);
  }
  constexpr int64_t kInt32 = 6, kInt64 = 7;
  if ((type != kInt32 && type != kInt64) || external || count < 0 || count > 4) return std::nullopt;
  if (!raw.empty()) {
    const size_t width = type == kInt64 ? 8 : 4;
    if (raw.size() != static_cast<size_t>(count) * width) return std::nullopt;
    values.clear();
    for (int64_t i = 0; i < count; ++i) {
      uint64_t v = 0;
      for (size_t b = 0; b < width; ++b) v |= uint64_t(static_cast<uint8_t>(raw[i * width + b])) << (8 * b);
      values.push_back(width == 8 ? static_cast<int64_t>(v) : static_cast<int64_t>(static_cast<int32_t>(v)));
    }
  } else if (type == kInt32) {
    for (auto& v : values) v = static_cast<int32_t>(v);
  }
  if (values.size() != static_cast<size_t>(count)) return std::nullopt;
  return values;
}

// The `value` tensor of a Constant node (AttributeProto t = 5), its value_int (i = 3) or value_ints.
std::optional<std::vector<int64_t>> ConstantValue(Reader node) {
  uint32_t f, w;
  while (node.Tag(f, w)) {
    if (f != kNodeAttribute || w != 2) {
      node.Skip(w);
      continue;
    }
    Reader attr = node.Sub();
    std::string_view name;
    std::optional<std::vector<int64_t>> value;
    uint32_t af, aw;
    while (attr.Tag(af, aw)) {
      if (af == 1 && aw == 2) name = wire::AsString(attr.Sub());
      else if (af == 5 && aw == 2) value = SmallInts(attr.Sub(), nullptr);
      else if (af == 3 && aw == 0) value = std::vector<int64_t>{static_cast<int64_t>(attr.Varint())};
      else attr.Skip(aw);
    }
    if ((name == "value" || name == "value_int") && value) return value;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<TensorUse>& GraphIndex::ConsumersOf(std::string_view name) const {
  static const std::vector<TensorUse> none;
  auto it = consumers.find(name);
  return it == consumers.end() ? none : it->second;
}

GraphIndex IndexGraph(std::string_view bytes) {
  GraphIndex g;
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
    if (f.number == kGraphNode) {
      g.nodes.push_back(ReadNode(f.payload, i));
      if (g.nodes.back().Op() == "Constant" && g.nodes.back().outputs.size() == 1) {
        if (auto v = ConstantValue(f.payload)) g.small_ints[g.nodes.back().outputs[0]] = std::move(*v);
      }
    } else if (f.number == kGraphOutput) {
      g.outputs.insert(wire::StringField(f.payload, 1));
    } else if (f.number == kGraphInput) {
      const std::string_view name = wire::StringField(f.payload, 1);
      g.inputs.insert(name);
      g.input_field[name] = i;
    } else if (f.number == kGraphInitializer) {
      std::string_view name;
      if (auto v = SmallInts(f.payload, &name)) g.small_ints[name] = std::move(*v);
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

std::string RenamedNodeField(const Field& field, const std::map<std::string, std::string, std::less<>>& rename,
                             std::string_view name_suffix) {
  std::string node;
  for (const Field& f : wire::Fields(field.payload)) {
    if ((f.number == kNodeInput || f.number == kNodeOutput) && f.wire_type == 2) {
      auto it = rename.find(wire::AsString(f.payload));
      if (it != rename.end()) {
        wire::PutBytesField(node, f.number, it->second);
        continue;
      }
    }
    if (f.number == kNodeName && f.wire_type == 2 && !name_suffix.empty()) {
      wire::PutBytesField(node, f.number, std::string(wire::AsString(f.payload)) + std::string(name_suffix));
      continue;
    }
    node.append(f.encoded);
  }
  std::string out;
  wire::PutBytesField(out, kGraphNode, node);
  return out;
}

}  // namespace gemma4::onnx
