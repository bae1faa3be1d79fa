// Protobuf wire-format walk over a memory-mapped .onnx file. Field numbers follow onnx.proto3
// (ModelProto.graph = 7, GraphProto.node = 1 / initializer = 5 / input = 11 / output = 12, ...).
#include "package/onnx_proto.h"

#include <charconv>

#include <algorithm>
#include <set>
#include <string_view>

#include "gemma4/error.h"
#include "package/proto_wire.h"

namespace gemma4::onnx {
namespace {

using wire::MappedFile;
using wire::Reader;
using wire::WireError;

constexpr int kMaxGraphDepth = 16;  // subgraphs (If/Loop bodies) nest; bound the recursion

size_t ElementSize(int32_t t) {
  switch (t) {
    case 1: case 6: case 12: return 4;    // float, int32, uint32
    case 7: case 11: case 13: return 8;   // int64, double, uint64
    case 10: case 16: case 4: case 5: return 2;  // float16, bfloat16, uint16, int16
    case 2: case 3: case 9: return 1;     // uint8, int8, bool
    default: return 0;
  }
}

ValueInfo ReadValueInfo(Reader r) {
  ValueInfo info;
  uint32_t f, w;
  while (r.Tag(f, w)) {
    if (f == 1 && w == 2) {
      info.name = std::string(r.Bytes());
    } else if (f == 2 && w == 2) {  // TypeProto
      Reader type = r.Sub();
      while (type.Tag(f, w)) {
        if (f == 1 && w == 2) {  // tensor_type
          Reader tensor = type.Sub();
          while (tensor.Tag(f, w)) {
            if (f == 1 && w == 0) {
              info.elem_type = static_cast<int32_t>(tensor.Varint());
            } else if (f == 2 && w == 2) {  // TensorShapeProto
              Reader shape = tensor.Sub();
              while (shape.Tag(f, w)) {
                if (f == 1 && w == 2) {
                  Reader dim = shape.Sub();
                  int64_t value = -1;
                  std::string param;
                  while (dim.Tag(f, w)) {
                    if (f == 1 && w == 0) value = static_cast<int64_t>(dim.Varint());
                    else if (f == 2 && w == 2) param = std::string(dim.Bytes());
                    else dim.Skip(w);
                  }
                  info.dims.push_back(param.empty() ? value : -1);
                  info.dim_params.push_back(param);
                } else {
                  shape.Skip(w);
                }
              }
            } else {
              tensor.Skip(w);
            }
          }
        } else {
          type.Skip(w);
        }
      }
    } else {
      r.Skip(w);
    }
  }
  return info;
}

// a * b, or a WireError at `offset` when the product does not fit 64 bits (a hostile dims list
// would otherwise wrap to a small byte count that passes the truncation checks).
uint64_t CheckedMul(uint64_t a, uint64_t b, size_t offset, const char* what) {
  uint64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) throw WireError{offset, std::string(what) + " overflows 64 bits"};
  return out;
}

// external_data values are decimal strings: digits only (std::stoull would take "-1" as 2^64-1
// and "12abc" as 12).
uint64_t ParseExternalNumber(const std::string& key, const std::string& value, size_t offset) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || value[0] == '-' || value[0] == '+' || ec != std::errc() || end != value.data() + value.size()) {
    throw WireError{offset, "external_data '" + key + "' is not a number: '" + value + "'"};
  }
  return v;
}

struct Walker {
  ModelSummary& out;
  std::set<std::string> ops;

  void Tensor(Reader r) {
    std::string name;
    int32_t data_type = 0;
    uint64_t count_dims = 1;
    bool any_dims = false;
    bool external = false;
    uint64_t inline_bytes = 0;
    ExternalRef ref;
    uint32_t f, w;
    while (r.Tag(f, w)) {
      if (f == 1) {  // dims, packed or not
        if (w == 2) {
          Reader packed = r.Sub();
          while (!packed.done()) {
            count_dims = CheckedMul(count_dims, packed.Varint(), packed.offset(), "the product of the tensor's dims");
            any_dims = true;
          }
        } else {
          count_dims = CheckedMul(count_dims, r.Varint(), r.offset(), "the product of the tensor's dims");
          any_dims = true;
        }
      } else if (f == 2 && w == 0) {
        data_type = static_cast<int32_t>(r.Varint());
      } else if (f == 8 && w == 2) {
        name = std::string(r.Bytes());
      } else if (f == 9 && w == 2) {  // raw_data
        inline_bytes += r.Bytes().size();
      } else if ((f == 4 || f == 5 || f == 7 || f == 10 || f == 11) && w == 2) {  // packed typed data
        inline_bytes += r.Bytes().size();
      } else if (f == 13 && w == 2) {  // external_data entry
        Reader kv = r.Sub();
        std::string key, value;
        while (kv.Tag(f, w)) {
          if (f == 1 && w == 2) key = std::string(kv.Bytes());
          else if (f == 2 && w == 2) value = std::string(kv.Bytes());
          else kv.Skip(w);
        }
        if (key == "location") ref.location = value;
        else if (key == "offset") ref.offset = ParseExternalNumber(key, value, kv.offset());
        else if (key == "length") ref.length = ParseExternalNumber(key, value, kv.offset());
      } else if (f == 14 && w == 0) {
        external = r.Varint() == 1;
      } else {
        r.Skip(w);
      }
    }
    out.initializer_count++;
    if (external) {
      ref.tensor = name;
      if (ref.length == 0 && any_dims) ref.length = CheckedMul(count_dims, ElementSize(data_type), r.offset(), "the tensor's byte size");
      uint64_t end = 0;
      if (__builtin_add_overflow(ref.offset, ref.length, &end)) {
        throw WireError{r.offset(), "external data of '" + name + "': offset + length overflows 64 bits"};
      }
      out.external.push_back(std::move(ref));
    } else {
      out.inline_bytes += inline_bytes;
    }
  }

  void Attribute(Reader r, int depth) {
    uint32_t f, w;
    while (r.Tag(f, w)) {
      if ((f == 5 || f == 10) && w == 2) Tensor(r.Sub());           // t, tensors
      else if ((f == 6 || f == 11) && w == 2) Graph(r.Sub(), depth + 1, false);  // g, graphs
      else r.Skip(w);
    }
  }

  void Node(Reader r, int depth) {
    std::string op, domain;
    uint32_t f, w;
    while (r.Tag(f, w)) {
      if (f == 4 && w == 2) op = std::string(r.Bytes());
      else if (f == 7 && w == 2) domain = std::string(r.Bytes());
      else if (f == 5 && w == 2) Attribute(r.Sub(), depth);
      else r.Skip(w);
    }
    ops.insert((domain == "ai.onnx" ? std::string() : domain) + ":" + op);
  }

  void Graph(Reader r, int depth, bool top) {
    if (depth > kMaxGraphDepth) throw WireError{r.offset(), "subgraphs nested deeper than 16"};
    uint32_t f, w;
    while (r.Tag(f, w)) {
      if (f == 1 && w == 2) Node(r.Sub(), depth);
      else if (f == 5 && w == 2) Tensor(r.Sub());
      else if (f == 15 && w == 2) {  // sparse_initializer: values (1) and indices (2) are tensors
        Reader sparse = r.Sub();
        while (sparse.Tag(f, w)) {
          if ((f == 1 || f == 2) && w == 2) Tensor(sparse.Sub());
          else sparse.Skip(w);
        }
      } else if (top && f == 11 && w == 2) out.inputs.push_back(ReadValueInfo(r.Sub()));
      else if (top && f == 12 && w == 2) out.outputs.push_back(ReadValueInfo(r.Sub()));
      else r.Skip(w);
    }
  }
};

}  // namespace

ModelSummary ReadModelSummary(const std::filesystem::path& path) {
  MappedFile file(path);
  return ParseModelSummary({file.data(), file.size()}, path.string());
}

ModelSummary ParseModelSummary(std::span<const uint8_t> bytes, const std::string& name) {
  const std::string path = name;
  if (bytes.empty()) throw Error(ErrorKind::kCorrupt, path + ": empty file, not an ONNX model");
  ModelSummary summary;
  Walker walker{summary, {}};
  bool saw_graph = false;
  try {
    Reader model{bytes.data(), bytes.data() + bytes.size(), bytes.data()};
    uint32_t f, w;
    while (model.Tag(f, w)) {
      if (f == 7 && w == 2) {
        walker.Graph(model.Sub(), 0, true);
        saw_graph = true;
      } else {
        model.Skip(w);
      }
    }
  } catch (const WireError& e) {
    throw Error(ErrorKind::kCorrupt, path + ": not a valid ONNX model (byte " + std::to_string(e.offset) + ": " + e.what + ")");
  }
  if (!saw_graph) throw Error(ErrorKind::kCorrupt, path + ": not a valid ONNX model (no graph)");
  summary.op_types.assign(walker.ops.begin(), walker.ops.end());
  return summary;
}

const char* ElementTypeName(int32_t t) {
  switch (t) {
    case 1: return "float32";
    case 2: return "uint8";
    case 3: return "int8";
    case 4: return "uint16";
    case 5: return "int16";
    case 6: return "int32";
    case 7: return "int64";
    case 8: return "string";
    case 9: return "bool";
    case 10: return "float16";
    case 11: return "float64";
    case 12: return "uint32";
    case 13: return "uint64";
    case 16: return "bfloat16";
    default: return "unknown";
  }
}

}  // namespace gemma4::onnx
