// The rewrite: nodes are re-emitted field by field with only op_type and domain replaced, every
// other field (and every other message) copied verbatim.
#include "runtime/onnx_op_routing.h"

#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "gemma4/error.h"
#include "package/onnx_graph.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {

namespace {

using wire::Field;
using wire::Fields;
using wire::PutBytesField;
using wire::PutVarint;
using wire::Reader;


struct Attribute {
  bool has_int = false;
  int64_t i = 0;
};

using TypeMap = std::map<std::string, int32_t, std::less<>>;
struct TensorTypes {
  TypeMap initializers;  // element type of each initializer
  TypeMap inputs;        // of each graph input that declares one
};

TensorTypes GraphTensorTypes(const std::vector<Field>& graph_fields) {
  TensorTypes types;
  for (const Field& field : graph_fields) {
    if (field.wire_type != 2) continue;
    if (field.number == 5) {  // TensorProto
      Reader t = field.payload;
      std::string tensor_name;
      int32_t type = 0;
      uint32_t f, w;
      while (t.Tag(f, w)) {
        if (f == 8 && w == 2) tensor_name = std::string(t.Bytes());
        else if (f == 2 && w == 0) type = static_cast<int32_t>(t.Varint());
        else t.Skip(w);
      }
      types.initializers[tensor_name] = type;
    } else if (field.number == 11) {  // ValueInfoProto: name, TypeProto.tensor_type.elem_type
      Reader vi = field.payload;
      std::string value_name;
      int32_t type = 0;
      uint32_t f, w;
      while (vi.Tag(f, w)) {
        if (f == 1 && w == 2) {
          value_name = std::string(vi.Bytes());
        } else if (f == 2 && w == 2) {
          Reader tp = vi.Sub();
          uint32_t tf, tw;
          while (tp.Tag(tf, tw)) {
            if (tf != 1 || tw != 2) {
              tp.Skip(tw);
              continue;
            }
            Reader tensor = tp.Sub();
            uint32_t ef, ew;
            while (tensor.Tag(ef, ew)) {
              if (ef == 1 && ew == 0) type = static_cast<int32_t>(tensor.Varint());
              else tensor.Skip(ew);
            }
          }
        } else {
          vi.Skip(w);
        }
      }
      types.inputs[value_name] = type;
    }
  }
  return types;
}

// What the decisions below look at in a node.
struct NodeView {
  std::string_view op_type, domain;
  std::vector<std::string_view> inputs;
  size_t outputs = 0;
  std::map<std::string_view, Attribute> attributes;
  bool other_attribute_kind = false;  // an attribute that is not a plain int or float
};

NodeView ViewNode(Reader node) {
  NodeView view;
  uint32_t f, w;
  while (node.Tag(f, w)) {
    if (f == 1 && w == 2) view.inputs.push_back(node.Bytes());
    else if (f == 2 && w == 2) node.Bytes(), ++view.outputs;
    else if (f == 4 && w == 2) view.op_type = node.Bytes();
    else if (f == 7 && w == 2) view.domain = node.Bytes();
    else if (f == 5 && w == 2) {
      Reader a = node.Sub();
      std::string_view name;
      Attribute attr;
      uint32_t af, aw;
      while (a.Tag(af, aw)) {
        if (af == 1 && aw == 2) name = a.Bytes();
        else if (af == 3 && aw == 0) attr.has_int = true, attr.i = static_cast<int64_t>(a.Varint());
        else if (af == 20 && aw == 0) {
          const uint64_t kind = a.Varint();
          if (kind != 1 && kind != 2) view.other_attribute_kind = true;  // FLOAT, INT
        } else a.Skip(aw);
      }
      view.attributes[name] = attr;
    } else {
      node.Skip(w);
    }
  }
  return view;
}

// The new op_type for `node`, or "" when it stays.
std::string RoutedOp(Reader node, const TypeMap& initializer_types, const MatMulRouting& routing) {
  const NodeView view = ViewNode(node);
  const auto& op_type = view.op_type;
  const auto& domain = view.domain;
  const auto& inputs = view.inputs;
  const auto& attributes = view.attributes;
  if (op_type != "MatMulNBits" || domain != "com.microsoft") return "";
  auto int_attr = [&](std::string_view name, int64_t fallback, bool required) -> std::optional<int64_t> {
    auto it = attributes.find(name);
    if (it == attributes.end()) return required ? std::nullopt : std::optional<int64_t>(fallback);
    if (!it->second.has_int) return std::nullopt;
    return it->second.i;
  };
  const auto bits = int_attr("bits", 4, false), block = int_attr("block_size", 0, true),
             level = int_attr("accuracy_level", 0, false), k = int_attr("K", 0, true), n = int_attr("N", 0, true);
  if (!bits || *bits != 4 || !block || *block != 32 || !level || *level != 4 || !k || *k <= 0 || !n || *n <= 0) return "";
  for (size_t i = 4; i < inputs.size(); ++i) {
    if (!inputs[i].empty()) return "";  // g_idx or bias
  }
  if (inputs.size() < 3) return "";
  auto type_of = [&](std::string_view name) {
    auto it = initializer_types.find(name);
    return it == initializer_types.end() ? 0 : it->second;
  };
  if (type_of(inputs[1]) != kElemUint8) return "";
  if (inputs.size() > 3 && !inputs[3].empty() && type_of(inputs[3]) != kElemUint8) return "";
  const int32_t scale_type = type_of(inputs[2]);
  if (scale_type == kElemFloat) return routing.op_float;
  if (scale_type == kElemFloat16) return routing.op_half;  // "" keeps it
  return "";
}

std::string RewriteNode(Reader node, const std::string& op_type, const std::string& domain) {
  std::string out;
  for (const Field& field : Fields(node)) {
    if (field.number == 4 || field.number == 7) continue;
    out.append(field.encoded);
  }
  PutBytesField(out, 4, op_type);
  PutBytesField(out, 7, domain);
  return out;
}

// Rewrites the nodes `decide` gives a new op_type (in routing.domain) and counts as kept those of
// type `counted` it leaves.
RoutedModel RouteNodes(const std::string& model, const MatMulRouting& routing, const std::string& name,
                       std::string_view counted,
                       const std::function<std::string(Reader node, const TensorTypes& types)>& decide) {
  RoutedModel result;
  try {
    const uint8_t* begin = reinterpret_cast<const uint8_t*>(model.data());
    const Reader whole{begin, begin + model.size(), begin};
    const std::vector<Field> model_fields = Fields(whole);
    const Field* graph_field = nullptr;
    for (const Field& field : model_fields) {
      if (field.number == 7 && field.wire_type == 2) graph_field = &field;
    }
    if (graph_field == nullptr) return result;
    const std::vector<Field> graph_fields = Fields(graph_field->payload);
    const TensorTypes types = GraphTensorTypes(graph_fields);
    std::string graph;
    for (const Field& field : graph_fields) {
      if (field.number == 1 && field.wire_type == 2) {
        const std::string op = decide(field.payload, types);
        if (!op.empty()) {
          PutBytesField(graph, 1, RewriteNode(field.payload, op, routing.domain));
          ++result.routed;
          continue;
        }
        if (wire::StringField(field.payload, 4) == counted) ++result.kept;
      }
      graph.append(field.encoded);
    }
    if (result.routed == 0) return result;
    for (const Field& field : model_fields) {
      if (&field == graph_field) {
        PutBytesField(result.model, 7, graph);
      } else {
        result.model.append(field.encoded);
      }
    }
    std::string opset;
    PutBytesField(opset, 1, routing.domain);
    PutVarint(opset, uint64_t(2) << 3);
    PutVarint(opset, 1);
    PutBytesField(result.model, 8, opset);
    return result;
  } catch (const wire::WireError& e) {
    throw Error(ErrorKind::kCorrupt, name + ": at byte " + std::to_string(e.offset) + ": " + e.what);
  }
}

// The new op_type for a GroupQueryAttention node, or "" when it stays.
std::string RoutedAttention(Reader node, const TensorTypes& types, const MatMulRouting& routing) {
  const NodeView view = ViewNode(node);
  if (view.op_type != "GroupQueryAttention" || view.domain != "com.microsoft") return "";
  if (view.other_attribute_kind || view.outputs != 3 || view.inputs.size() != 7) return "";
  for (std::string_view input : view.inputs) {
    if (input.empty()) return "";
  }
  for (const auto& [attr, value] : view.attributes) {
    if (attr == "num_heads" || attr == "kv_num_heads" || attr == "local_window_size" || attr == "scale" ||
        attr == "softcap") {
      continue;
    }
    if ((attr == "do_rotary" || attr == "rotary_interleaved" || attr == "smooth_softmax") && value.has_int &&
        value.i == 0) {
      continue;
    }
    return "";
  }
  if (!view.attributes.count("num_heads") || !view.attributes.count("kv_num_heads")) return "";
  auto type_of = [&](std::string_view tensor) {
    auto it = types.inputs.find(tensor);
    return it == types.inputs.end() ? 0 : it->second;
  };
  const int32_t key_type = type_of(view.inputs[3]);
  if (key_type != type_of(view.inputs[4])) return "";
  if (key_type == kElemFloat) return routing.op_float;
  if (key_type == kElemFloat16) return routing.op_half;
  return "";
}

}  // namespace

RoutedModel RouteMatMulNBits(const std::string& model, const MatMulRouting& routing, const std::string& name) {
  return RouteNodes(model, routing, name, "MatMulNBits", [&](Reader node, const TensorTypes& types) {
    return RoutedOp(node, types.initializers, routing);
  });
}

RoutedModel RouteGroupQueryAttention(const std::string& model, const MatMulRouting& routing, const std::string& name) {
  return RouteNodes(model, routing, name, "GroupQueryAttention", [&](Reader node, const TensorTypes& types) {
    return RoutedAttention(node, types, routing);
  });
}

}  // namespace gemma4::onnx
