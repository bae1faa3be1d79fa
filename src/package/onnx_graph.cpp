// The node-level graph view: one pass over the GraphProto's fields, then producer/consumer maps.
#include "package/onnx_graph.h"

#include <cstring>

#include "core/float16.h"

namespace gemma4::onnx {
namespace {

using wire::Field;
using wire::Reader;

// AttributeProto field numbers: name 1, f 2, i 3, t 5, ints 8.
constexpr uint32_t kAttrName = 1, kAttrFloat = 2, kAttrInt = 3, kAttrTensor = 5, kAttrInts = 8;
// TensorProto field numbers.
constexpr uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorInt32Data = 5,
                   kTensorInt64Data = 7, kTensorName = 8, kTensorRawData = 9, kTensorDoubleData = 10,
                   kTensorExternalData = 13, kTensorDataLocation = 14;

void ReadAttribute(Reader sub, GraphNode& node) {
  std::string_view name;
  std::optional<int64_t> i;
  std::optional<float> f;
  std::optional<Reader> t;
  std::vector<int64_t> ints;
  bool has_ints = false;
  uint32_t af, aw;
  while (sub.Tag(af, aw)) {
    if (af == kAttrName && aw == 2) {
      name = wire::AsString(sub.Sub());
    } else if (af == kAttrInt && aw == 0) {
      i = static_cast<int64_t>(sub.Varint());
    } else if (af == kAttrFloat && aw == 5) {
      const uint8_t* p = sub.p;
      sub.Advance(4);
      float v;
      std::memcpy(&v, p, 4);
      f = v;
    } else if (af == kAttrTensor && aw == 2) {
      t = sub.Sub();
    } else if (af == kAttrInts && aw == 0) {
      ints.push_back(static_cast<int64_t>(sub.Varint()));
      has_ints = true;
    } else if (af == kAttrInts && aw == 2) {  // packed
      Reader packed = sub.Sub();
      while (!packed.done()) ints.push_back(static_cast<int64_t>(packed.Varint()));
      has_ints = true;
    } else {
      sub.Skip(aw);
    }
  }
  if (i) node.ints[name] = *i;
  if (f) node.floats[name] = *f;
  if (t) node.tensors.emplace(name, *t);
  if (has_ints) node.int_lists[name] = std::move(ints);
}

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
      case kNodeAttribute: ReadAttribute(sub, node); break;
      default: break;
    }
  }
  return node;
}

// Reads a little-endian scalar of `type` from `p` (which holds at least its size).
double ScalarFromBytes(const uint8_t* p, int32_t type) {
  switch (type) {
    case kElemFloat: { float v; std::memcpy(&v, p, 4); return v; }
    case kElemDouble: { double v; std::memcpy(&v, p, 8); return v; }
    case kElemInt32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case kElemInt64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case kElemFloat16: { uint16_t v; std::memcpy(&v, p, 2); return HalfToFloat(v); }
    default: return 0;
  }
}

size_t ScalarByteSize(int32_t type) {
  switch (type) {
    case kElemFloat: case kElemInt32: return 4;
    case kElemDouble: case kElemInt64: return 8;
    case kElemFloat16: return 2;
    default: return 0;
  }
}

ConstantInfo ReadTensor(Reader r) {
  ConstantInfo info;
  std::vector<double> values;
  std::optional<std::string_view> raw;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == kTensorDims && w == 0) {
      info.dims.push_back(static_cast<int64_t>(r.Varint()));
    } else if (f == kTensorDims && w == 2) {
      Reader packed = r.Sub();
      while (!packed.done()) info.dims.push_back(static_cast<int64_t>(packed.Varint()));
    } else if (f == kTensorDataType && w == 0) {
      info.elem_type = static_cast<int32_t>(r.Varint());
    } else if (f == kTensorRawData && w == 2) {
      raw = r.Bytes();
    } else if (f == kTensorFloatData && w == 2) {
      Reader packed = r.Sub();
      while (!packed.done()) {
        const uint8_t* p = packed.p;
        packed.Advance(4);
        values.push_back(ScalarFromBytes(p, kElemFloat));
      }
    } else if (f == kTensorFloatData && w == 5) {
      const uint8_t* p = r.p;
      r.Advance(4);
      values.push_back(ScalarFromBytes(p, kElemFloat));
    } else if ((f == kTensorInt32Data || f == kTensorInt64Data) && w == 2) {
      Reader packed = r.Sub();
      while (!packed.done()) values.push_back(static_cast<double>(static_cast<int64_t>(packed.Varint())));
    } else if ((f == kTensorInt32Data || f == kTensorInt64Data) && w == 0) {
      values.push_back(static_cast<double>(static_cast<int64_t>(r.Varint())));
    } else if (f == kTensorDoubleData && w == 2) {
      Reader packed = r.Sub();
      while (!packed.done()) {
        const uint8_t* p = packed.p;
        packed.Advance(8);
        values.push_back(ScalarFromBytes(p, kElemDouble));
      }
    } else if (f == kTensorDataLocation && w == 0) {
      info.external = r.Varint() == 1;
    } else if (f == kTensorExternalData && w == 2) {
      info.external = true;
      r.Sub();
    } else {
      r.Skip(w);
    }
  }
  int64_t count = 1;
  for (int64_t d : info.dims) count = d < 0 || (d > 0 && count > INT64_MAX / d) ? -1 : count * d;
  if (count != 1 || info.external) return info;
  if (raw) {
    if (raw->size() == ScalarByteSize(info.elem_type)) {
      info.scalar = ScalarFromBytes(reinterpret_cast<const uint8_t*>(raw->data()), info.elem_type);
    }
  } else if (values.size() == 1) {
    // float16 values stored in int32_data are the half's bits.
    info.scalar = info.elem_type == kElemFloat16 ? HalfToFloat(static_cast<uint16_t>(values[0])) : values[0];
  }
  return info;
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
  constexpr int64_t kElemInt32 = 6, kElemInt64 = 7;
  if ((type != kElemInt32 && type != kElemInt64) || external || count < 0 || count > 4) return std::nullopt;
  if (!raw.empty()) {
    const size_t width = type == kElemInt64 ? 8 : 4;
    if (raw.size() != static_cast<size_t>(count) * width) return std::nullopt;
    values.clear();
    for (int64_t i = 0; i < count; ++i) {
      uint64_t v = 0;
      for (size_t b = 0; b < width; ++b) v |= uint64_t(static_cast<uint8_t>(raw[i * width + b])) << (8 * b);
      values.push_back(width == 8 ? static_cast<int64_t>(v) : static_cast<int64_t>(static_cast<int32_t>(v)));
    }
  } else if (type == kElemInt32) {
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

std::string GraphNode::Op() const {
  return (domain.empty() || domain == "ai.onnx" ? "" : std::string(domain) + ":") + std::string(op_type);
}

const std::vector<TensorUse>& GraphView::ConsumersOf(std::string_view tensor) const {
  static const std::vector<TensorUse> none;
  auto it = consumers.find(tensor);
  return it == consumers.end() ? none : it->second;
}

const GraphNode* GraphView::ProducerOf(std::string_view tensor) const {
  auto it = producer.find(tensor);
  return it == producer.end() ? nullptr : &nodes[it->second.node];
}

GraphView ParseGraph(std::string_view bytes) {
  GraphView g;
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
      std::string_view name = wire::StringField(f.payload, kTensorName);
      g.initializers.emplace(name, f.payload);
      if (auto v = SmallInts(f.payload, nullptr)) g.small_ints[name] = std::move(*v);
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

std::optional<ConstantInfo> ConstantOf(const GraphView& g, std::string_view tensor) {
  if (auto it = g.initializers.find(tensor); it != g.initializers.end()) return ReadTensor(it->second);
  const GraphNode* node = g.ProducerOf(tensor);
  if (!node || node->Op() != "Constant") return std::nullopt;
  if (auto it = node->tensors.find("value"); it != node->tensors.end()) return ReadTensor(it->second);
  if (auto it = node->floats.find("value_float"); it != node->floats.end()) {
    ConstantInfo info;
    info.elem_type = kElemFloat;
    info.scalar = it->second;
    return info;
  }
  return std::nullopt;
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

std::string EmitModel(const GraphView& g, const std::map<size_t, std::string>& replaced,
                      const std::map<size_t, std::string>& appended) {
  std::string graph;
  for (size_t i = 0; i < g.fields.size(); ++i) {
    if (auto it = replaced.find(i); it != replaced.end()) graph.append(it->second);
    else graph.append(g.fields[i].encoded);
    if (auto it = appended.find(i); it != appended.end()) graph.append(it->second);
  }
  std::string model;
  for (size_t i = 0; i < g.model_fields.size(); ++i) {
    if (i == g.graph) wire::PutBytesField(model, kModelGraph, graph);
    else model.append(g.model_fields[i].encoded);
  }
  return model;
}

void PutIntAttribute(std::string& node, std::string_view name, int64_t value) {
  std::string attr;
  wire::PutBytesField(attr, 1, name);
  wire::PutVarint(attr, (uint64_t(3) << 3) | 0);  // i
  wire::PutVarint(attr, static_cast<uint64_t>(value));
  wire::PutVarint(attr, (uint64_t(20) << 3) | 0);  // type INT
  wire::PutVarint(attr, 2);
  wire::PutBytesField(node, kNodeAttribute, attr);
}

void PutFloatAttribute(std::string& node, std::string_view name, float value) {
  std::string attr;
  wire::PutBytesField(attr, 1, name);
  wire::PutVarint(attr, (uint64_t(2) << 3) | 5);  // f
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  attr.append(bytes, 4);
  wire::PutVarint(attr, (uint64_t(20) << 3) | 0);  // type FLOAT
  wire::PutVarint(attr, 1);
  wire::PutBytesField(node, kNodeAttribute, attr);
}

}  // namespace gemma4::onnx
