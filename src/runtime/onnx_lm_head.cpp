// Walking back from the logits output to the head's MatMul over the node-level view, and the
// re-emitted graphs: only the nodes an edit replaces are re-encoded, everything else is verbatim.
#include "runtime/onnx_lm_head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "core/float16.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

// Nodes allowed between the head's MatMul and the logits (Gemma's softcapping takes three, an
// export may add Casts and an Identity).
constexpr int kMaxHeadChain = 8;
// A chain node's other inputs are constants of at most this many elements (scalars, in practice).
constexpr int64_t kMaxHeadConstant = 16;
// Weights claiming more elements than this are not taken (a lying file must not make the
// re-quantization allocate what it claims): 2^34 is 64 times Gemma's 262144 x 1536 head.
constexpr int64_t kMaxHeadElements = int64_t{1} << 34;

// TensorProto fields the edits write.
constexpr uint32_t kHeadTensorDims = 1, kHeadTensorType = 2, kHeadTensorName = 8, kHeadTensorRaw = 9,
                   kHeadTensorExternal = 13, kHeadTensorLocation = 14;

size_t HeadIndex(const GraphView& g, const GraphNode* node) { return static_cast<size_t>(node - g.nodes.data()); }

int64_t ElementCount(const std::vector<int64_t>& dims) {
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && count > kMaxHeadElements / d)) return -1;
    count *= d;
  }
  return count;
}

bool SmallConstant(const GraphView& g, std::string_view tensor) {
  if (g.inputs.count(tensor)) return false;  // an initializer a caller may override is no constant
  const auto c = ConstantOf(g, tensor);
  if (!c || c->external) return false;
  const int64_t count = ElementCount(c->dims);
  return count >= 0 && count <= kMaxHeadConstant;
}

// The element type and dims (-1 where symbolic) of graph output `name` as declared; type 0 when not.
void OutputType(const GraphView& g, std::string_view name, int32_t& type, std::vector<int64_t>& dims) {
  type = 0;
  dims.clear();
  for (const auto& f : g.fields) {
    if (f.number != kGraphOutput || f.wire_type != 2 || wire::StringField(f.payload, 1) != name) continue;
    // ValueInfoProto.type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2) -> dim (1).
    wire::Reader vi = f.payload;
    uint32_t fn, w;
    while (vi.Tag(fn, w)) {
      if (fn != 2 || w != 2) {
        vi.Skip(w);
        continue;
      }
      wire::Reader tp = vi.Sub();
      while (tp.Tag(fn, w)) {
        if (fn != 1 || w != 2) {
          tp.Skip(w);
          continue;
        }
        wire::Reader tensor = tp.Sub();
        while (tensor.Tag(fn, w)) {
          if (fn == 1 && w == 0) {
            type = static_cast<int32_t>(tensor.Varint());
          } else if (fn == 2 && w == 2) {
            wire::Reader shape = tensor.Sub();
            while (shape.Tag(fn, w)) {
              if (fn != 1 || w != 2) {
                shape.Skip(w);
                continue;
              }
              wire::Reader dim = shape.Sub();
              int64_t value = -1;
              while (dim.Tag(fn, w)) {
                if (fn == 1 && w == 0) value = static_cast<int64_t>(dim.Varint());
                else dim.Skip(w);
              }
              dims.push_back(value);
            }
          } else {
            tensor.Skip(w);
          }
        }
      }
    }
    return;
  }
}

int64_t CastTo(const GraphNode& cast) {
  auto it = cast.ints.find("to");
  return it == cast.ints.end() ? -1 : it->second;
}

std::string ShapeText(int64_t k, int64_t n) { return "[" + std::to_string(k) + ", " + std::to_string(n) + "]"; }

// The field index of initializer `name`, or g.fields.size().
size_t InitializerField(const GraphView& g, std::string_view name) {
  for (size_t i = 0; i < g.fields.size(); ++i) {
    const auto& f = g.fields[i];
    if (f.number == kGraphInitializer && f.wire_type == 2 && wire::StringField(f.payload, kHeadTensorName) == name) return i;
  }
  return g.fields.size();
}

void HeadVarintField(std::string& out, uint32_t field, uint64_t value) {
  wire::PutVarint(out, uint64_t(field) << 3);
  wire::PutVarint(out, value);
}

std::string OpsetImport(std::string_view domain, int64_t version) {
  std::string opset;
  wire::PutBytesField(opset, 1, domain);
  HeadVarintField(opset, 2, static_cast<uint64_t>(version));
  std::string field;
  wire::PutBytesField(field, 8, opset);  // ModelProto.opset_import
  return field;
}

bool ImportsDomain(const GraphView& g, std::string_view domain) {
  for (const auto& f : g.model_fields) {
    if (f.number == 8 && f.wire_type == 2 && wire::StringField(f.payload, 1) == domain) return true;
  }
  return false;
}

std::string NodeField(const std::string& node) {
  std::string field;
  wire::PutBytesField(field, kGraphNode, node);
  return field;
}

// A ValueInfoProto [1, "M", last] of `type`.
std::string ProbeValueInfo(std::string_view name, int32_t type, int64_t last) {
  std::string shape;
  for (int i = 0; i < 3; ++i) {
    std::string dim;
    if (i == 1) wire::PutBytesField(dim, 2, "M");
    else HeadVarintField(dim, 1, static_cast<uint64_t>(i == 0 ? 1 : last));
    wire::PutBytesField(shape, 1, dim);
  }
  std::string tensor;
  HeadVarintField(tensor, 1, static_cast<uint64_t>(type));
  wire::PutBytesField(tensor, 2, shape);
  std::string type_proto;
  wire::PutBytesField(type_proto, 1, tensor);
  std::string vi;
  wire::PutBytesField(vi, 1, name);
  wire::PutBytesField(vi, 2, type_proto);
  return vi;
}

std::string ExternalEntry(std::string_view key, std::string_view value) {
  std::string entry;
  wire::PutBytesField(entry, 1, key);
  wire::PutBytesField(entry, 2, value);
  return entry;
}

// An initializer field whose data is `length` bytes at `offset` of the external file `location`.
std::string ExternalInitializer(std::string_view name, int32_t type, const std::vector<int64_t>& dims,
                                std::string_view location, uint64_t offset, uint64_t length) {
  std::string t;
  for (int64_t d : dims) HeadVarintField(t, kHeadTensorDims, static_cast<uint64_t>(d));
  HeadVarintField(t, kHeadTensorType, static_cast<uint64_t>(type));
  wire::PutBytesField(t, kHeadTensorName, name);
  wire::PutBytesField(t, kHeadTensorExternal, ExternalEntry("location", location));
  wire::PutBytesField(t, kHeadTensorExternal, ExternalEntry("offset", std::to_string(offset)));
  wire::PutBytesField(t, kHeadTensorExternal, ExternalEntry("length", std::to_string(length)));
  HeadVarintField(t, kHeadTensorLocation, 1);  // EXTERNAL
  std::string field;
  wire::PutBytesField(field, kGraphInitializer, t);
  return field;
}

constexpr const char* kInt8Codes = "gemma4/lm_head_int8";
constexpr const char* kInt8Scales = "gemma4/lm_head_int8_scales";

}  // namespace

LmHead FindLmHead(const GraphView& g, std::string_view logits) {
  LmHead h;
  h.logits = std::string(logits);
  std::vector<int64_t> logits_dims;
  OutputType(g, logits, h.logits_type, logits_dims);
  auto none = [&](std::string form, std::string note) {
    h.form = std::move(form);
    h.note = std::move(note);
    return h;
  };
  if (!g.outputs.count(logits)) return none("not found", "the graph has no output '" + std::string(logits) + "'");
  std::string_view t = logits;
  std::vector<size_t> chain;
  const GraphNode* node = nullptr;
  for (int steps = 0;; ++steps) {
    node = g.ProducerOf(t);
    if (!node) return none("not found", "'" + std::string(t) + "' is not computed by a node");
    const std::string op = node->Op();
    if (op == "MatMul" || op == "com.microsoft:MatMulNBits" || op == "Gemm" || op == "com.microsoft:FusedMatMul") break;
    if (steps == kMaxHeadChain) {
      return none("not found", "no MatMul within " + std::to_string(kMaxHeadChain) + " nodes of the logits");
    }
    std::string_view next;
    int computed = 0;
    for (std::string_view in : node->inputs) {
      if (in.empty() || SmallConstant(g, in)) continue;
      next = in;
      ++computed;
    }
    if (node->outputs.size() != 1 || computed != 1) {
      return none("not recognised", "node '" + std::string(node->name) + "' (" + op +
                                        ") between the head and the logits reads more than one computed tensor");
    }
    if (g.outputs.count(next) || g.ConsumersOf(next).size() != 1) {
      return none("not recognised", "'" + std::string(next) + "' on the way to the logits is read elsewhere too");
    }
    chain.push_back(HeadIndex(g, node));
    t = next;
  }
  const std::string op = node->Op();
  if (op == "com.microsoft:MatMulNBits") {
    auto bits = node->ints.find("bits");
    const int64_t b = bits == node->ints.end() ? 4 : bits->second;
    return none("MatMulNBits (" + std::to_string(b) + " bits)", "already quantized");
  }
  if (op != "MatMul" || node->inputs.size() != 2) return none(op, "not a MatMul");
  std::reverse(chain.begin(), chain.end());
  h.matmul = HeadIndex(g, node);
  h.activation = std::string(node->inputs[0]);
  h.output = std::string(node->outputs[0]);
  std::string_view weight = node->inputs[1];
  bool cast = false;
  if (const GraphNode* c = g.ProducerOf(weight); c && c->Op() == "Cast" && c->inputs.size() == 1) {
    if (CastTo(*c) != kElemFloat) return none("MatMul", "its weight goes through a Cast to another type than float32");
    h.cast = HeadIndex(g, c);
    h.cast_private = g.ConsumersOf(weight).size() == 1 && !g.outputs.count(weight);
    weight = c->inputs[0];
    cast = true;
  }
  const auto info = g.initializers.count(weight) ? ConstantOf(g, weight) : std::nullopt;
  if (!info) return none("MatMul", "its weight is not an initializer (it is computed in the graph or a graph input)");
  if (g.inputs.count(weight)) return none("MatMul", "its weight is also a graph input (a caller may override it)");
  const bool half = info->elem_type == kElemFloat16;
  if ((!half && info->elem_type != kElemFloat) || (cast && !half)) {
    return none("MatMul", "its weight is neither float16 nor float32 (through a Cast: float16 only)");
  }
  if (info->dims.size() != 2 || info->dims[0] <= 0 || info->dims[1] <= 0 || ElementCount(info->dims) < 0) {
    return none("MatMul", "its weight is not a [K, N] matrix of at most 2^34 values");
  }
  h.weight = std::string(weight);
  h.weight_type = info->elem_type;
  h.k = info->dims[0];
  h.n = info->dims[1];
  h.float32_activations = cast || !half;
  const std::string shape = ShapeText(h.k, h.n);
  h.form = !h.float32_activations ? "MatMul in float16 (float16 weight " + shape + ")"
           : cast                 ? "MatMul, float16 weight " + shape + " through a Cast to float32"
                                  : "MatMul, float32 weight " + shape;
  if (logits_dims.size() >= 1 && logits_dims.back() > 0 && logits_dims.back() != h.n) {
    return none(h.form, "its N (" + std::to_string(h.n) + ") is not the logits' last dimension (" +
                            std::to_string(logits_dims.back()) + ")");
  }
  if (!chain.empty()) {
    const GraphNode& s = g.nodes[chain.front()];
    const bool mul = s.Op() == "Mul", div = s.Op() == "Div";
    if ((mul || div) && s.inputs.size() == 2 && (mul || s.inputs[0] == h.output)) {
      const std::string_view other = s.inputs[0] == h.output ? s.inputs[1] : s.inputs[0];
      const auto c = ConstantOf(g, other);
      if (c && c->scalar && *c->scalar != 0 && (c->elem_type == kElemFloat || c->elem_type == kElemFloat16)) {
        h.scale = chain.front();
        const float v = static_cast<float>(*c->scalar);
        h.scale_alpha = mul ? v : 1.0f / v;
      }
    }
  }
  h.chain = std::move(chain);
  h.float_head = true;
  return h;
}

std::optional<InitializerData> FindInitializerData(const GraphView& g, std::string_view name) {
  auto it = g.initializers.find(name);
  if (it == g.initializers.end()) return std::nullopt;
  InitializerData d;
  bool raw = false;
  wire::Reader r = it->second;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == kHeadTensorRaw && w == 2) {
      d.inline_bytes = r.Bytes();
      raw = true;
    } else if (f == kHeadTensorExternal && w == 2) {
      d.external = true;
      wire::Reader entry = r.Sub();
      const std::string_view key = wire::StringField(entry, 1), value = wire::StringField(entry, 2);
      auto number = [&](uint64_t& out) {
        out = 0;
        for (char ch : value) {
          if (ch < '0' || ch > '9' || out > (UINT64_MAX - 9) / 10) throw wire::WireError{entry.offset(), "bad external_data " + std::string(key)};
          out = out * 10 + static_cast<uint64_t>(ch - '0');
        }
      };
      if (key == "location") d.location = std::string(value);
      else if (key == "offset") number(d.offset);
      else if (key == "length") number(d.length);
    } else if (f == kHeadTensorLocation && w == 0) {
      d.external = r.Varint() == 1 || d.external;
    } else {
      r.Skip(w);
    }
  }
  if (!d.external && !raw) return std::nullopt;
  return d;
}

std::string WithFloatHeadOp(const GraphView& g, const LmHead& head, std::string_view domain, std::string_view op,
                            bool with_scale) {
  with_scale = with_scale && head.scale.has_value();
  std::string node;
  wire::PutBytesField(node, kNodeInput, head.activation);
  wire::PutBytesField(node, kNodeInput, head.weight);
  wire::PutBytesField(node, kNodeOutput, with_scale ? g.nodes[*head.scale].outputs[0] : std::string_view(head.output));
  wire::PutBytesField(node, kNodeName, "gemma4/lm_head");
  wire::PutBytesField(node, kNodeOpType, op);
  wire::PutBytesField(node, kNodeDomain, domain);
  if (with_scale) PutFloatAttribute(node, "alpha", head.scale_alpha);
  std::map<size_t, std::string> replaced;
  if (head.cast && head.cast_private) replaced[g.nodes[*head.cast].field] = "";
  // The new node takes the place of the last node it replaces, after everything it reads.
  if (with_scale) {
    replaced[g.nodes[head.matmul].field] = "";
    replaced[g.nodes[*head.scale].field] = NodeField(node);
  } else {
    replaced[g.nodes[head.matmul].field] = NodeField(node);
  }
  std::string model = EmitModel(g, replaced);
  if (!ImportsDomain(g, domain)) model += OpsetImport(domain, 1);
  return model;
}

HeadProbe MakeHeadProbe(const GraphView& g, const LmHead& head, int64_t probe_n, std::string_view weight_raw,
                        std::string_view domain, std::string_view op, bool with_scale) {
  const std::string weight = "gemma4_probe_weight";
  std::map<std::string, std::string, std::less<>> rename{{head.activation, kProbeInput}, {head.weight, weight}};
  std::string graph;
  wire::PutBytesField(graph, 2, "gemma4_lm_head_probe");  // GraphProto.name
  // The nodes in graph order: constants of the chain (Constant nodes) come along.
  std::set<size_t> take{head.matmul};
  if (head.cast) take.insert(*head.cast);
  std::set<std::string_view> constants;
  for (size_t n : head.chain) {
    take.insert(n);
    for (std::string_view in : g.nodes[n].inputs) {
      if (in.empty() || !SmallConstant(g, in)) continue;
      if (const GraphNode* c = g.ProducerOf(in)) take.insert(HeadIndex(g, c));
      else constants.insert(in);
    }
  }
  for (size_t n : take) graph += RenamedNodeField(g.fields[g.nodes[n].field], rename);
  std::string t;
  HeadVarintField(t, kHeadTensorDims, static_cast<uint64_t>(head.k));
  HeadVarintField(t, kHeadTensorDims, static_cast<uint64_t>(probe_n));
  HeadVarintField(t, kHeadTensorType, static_cast<uint64_t>(head.weight_type));
  wire::PutBytesField(t, kHeadTensorName, weight);
  wire::PutBytesField(t, kHeadTensorRaw, weight_raw);
  wire::PutBytesField(graph, kGraphInitializer, t);
  for (std::string_view c : constants) graph.append(g.fields[InitializerField(g, c)].encoded);
  wire::PutBytesField(graph, kGraphInput, ProbeValueInfo(kProbeInput, head.float32_activations ? kElemFloat : kElemFloat16, head.k));
  wire::PutBytesField(graph, kGraphOutput, ProbeValueInfo(head.logits, head.logits_type ? head.logits_type : kElemFloat, probe_n));
  HeadProbe probe;
  for (const auto& f : g.model_fields) {
    if (f.number == 1 || f.number == 8) probe.original.append(f.encoded);  // ir_version, opset_import
  }
  wire::PutBytesField(probe.original, kModelGraph, graph);
  const GraphView p = ParseGraph(probe.original);
  const LmHead again = FindLmHead(p, head.logits);
  if (!again.float_head) throw wire::WireError{0, "the probe graph does not reproduce the head: " + again.note};
  probe.edited = WithFloatHeadOp(p, again, domain, op, with_scale);
  return probe;
}

Int8HeadLayout Int8Layout(const LmHead& head) {
  Int8HeadLayout l;
  l.blocks = (head.k + kInt8Block - 1) / kInt8Block;
  l.codes_bytes = static_cast<uint64_t>(head.n) * static_cast<uint64_t>(l.blocks) * kInt8Block;
  l.scales_bytes = static_cast<uint64_t>(head.n) * static_cast<uint64_t>(l.blocks) * (head.float32_activations ? 4 : 2);
  return l;
}

void QuantizeHeadInt8(const LmHead& head, const void* weight, uint8_t* out) {
  const Int8HeadLayout l = Int8Layout(head);
  const size_t k = static_cast<size_t>(head.k), n = static_cast<size_t>(head.n), blocks = static_cast<size_t>(l.blocks);
  uint8_t* codes = out;
  uint8_t* scales = out + l.codes_bytes;
  const bool half = head.weight_type == kElemFloat16;
  // Columns a tile at a time: the weight is read row by row (its layout), one column's K values
  // gathered for its blocks.
  constexpr size_t kTile = 64;
  std::vector<float> tile(kTile * k);
  for (size_t n0 = 0; n0 < n; n0 += kTile) {
    const size_t width = std::min(kTile, n - n0);
    for (size_t kk = 0; kk < k; ++kk) {
      for (size_t j = 0; j < width; ++j) {
        const size_t i = kk * n + n0 + j;
        tile[j * k + kk] = half ? HalfToFloat(static_cast<const uint16_t*>(weight)[i]) : static_cast<const float*>(weight)[i];
      }
    }
    for (size_t j = 0; j < width; ++j) {
      const float* col = tile.data() + j * k;
      for (size_t b = 0; b < blocks; ++b) {
        const size_t begin = b * kInt8Block, end = std::min(k, begin + kInt8Block);
        float amax = 0.0f;
        for (size_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(col[i]));
        float scale = amax / 127.0f;
        const size_t s = (n0 + j) * blocks + b;
        if (head.float32_activations) {
          std::memcpy(scales + 4 * s, &scale, 4);
        } else {
          const uint16_t h = FloatToHalf(std::min(scale, 65504.0f));
          std::memcpy(scales + 2 * s, &h, 2);
          scale = HalfToFloat(h);  // the codes are for the scale the kernel will use
        }
        const float inverse = scale > 0.0f && std::isfinite(scale) ? 1.0f / scale : 0.0f;
        uint8_t* block = codes + s * kInt8Block;
        for (size_t i = 0; i < static_cast<size_t>(kInt8Block); ++i) {
          float q = begin + i < end ? std::nearbyint(col[begin + i] * inverse) : 0.0f;
          if (!(q >= -127.0f)) q = -127.0f;  // also NaN
          if (q > 127.0f) q = 127.0f;
          block[i] = static_cast<uint8_t>(static_cast<int>(q) + 128);
        }
      }
    }
  }
}

Int8HeadModel WithInt8Head(const GraphView& g, const LmHead& head, std::string_view location) {
  const Int8HeadLayout l = Int8Layout(head);
  std::string node;
  wire::PutBytesField(node, kNodeInput, head.activation);
  wire::PutBytesField(node, kNodeInput, kInt8Codes);
  wire::PutBytesField(node, kNodeInput, kInt8Scales);
  wire::PutBytesField(node, kNodeOutput, head.output);
  wire::PutBytesField(node, kNodeName, "gemma4/lm_head_int8");
  wire::PutBytesField(node, kNodeOpType, "MatMulNBits");
  wire::PutBytesField(node, kNodeDomain, "com.microsoft");
  PutIntAttribute(node, "K", head.k);
  PutIntAttribute(node, "N", head.n);
  PutIntAttribute(node, "bits", 8);
  PutIntAttribute(node, "block_size", kInt8Block);
  PutIntAttribute(node, "accuracy_level", 4);
  std::map<size_t, std::string> replaced;
  replaced[g.nodes[head.matmul].field] = NodeField(node);
  if (head.cast && head.cast_private) replaced[g.nodes[*head.cast].field] = "";
  // The float weight goes too when only the head read it: ONNX Runtime would otherwise map it.
  bool others = g.inputs.count(head.weight) > 0;
  for (const TensorUse& use : g.ConsumersOf(head.weight)) {
    others |= use.node != head.matmul && !(head.cast && head.cast_private && use.node == *head.cast);
  }
  if (!others) {
    if (const size_t f = InitializerField(g, head.weight); f < g.fields.size()) replaced[f] = "";
  }
  std::map<size_t, std::string> appended;
  appended[g.fields.size() - 1] =
      ExternalInitializer(kInt8Codes, kElemUint8, {head.n, l.blocks, kInt8Block}, location, 0, l.codes_bytes) +
      ExternalInitializer(kInt8Scales, head.float32_activations ? kElemFloat : kElemFloat16, {head.n * l.blocks}, location,
                          l.codes_bytes, l.scales_bytes);
  Int8HeadModel out{EmitModel(g, replaced, appended), kInt8Codes, kInt8Scales};
  if (!ImportsDomain(g, "com.microsoft")) out.model += OpsetImport("com.microsoft", 1);
  return out;
}

}  // namespace gemma4::onnx
