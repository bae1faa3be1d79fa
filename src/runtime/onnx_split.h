// Splitting an ONNX graph in two at the protobuf level, without ONNX Runtime: a first half that
// computes some of the outputs (and nothing they do not need), and a second half with every
// other node, fed by the tensors that cross the cut. ONNX Runtime runs every node of a session
// whatever outputs a caller asks for; two halves let a caller run only the first when that is
// all it needs (see runtime/decoder_graph.h: prefill needs the KV cache, not the logits).
// The file on disk is never modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "package/onnx_proto.h"

namespace gemma4::onnx {

struct GraphSplit {
  std::filesystem::path path;         // the model that was split
  std::string model;                  // its bytes, as read
  // Where the halves' external data lives: the real folder of the sidecars, with every
  // `location` rewritten to the sidecar's real file name. (A Hugging Face cache links
  // snapshots/REV/onnx/x.onnx_data to blobs/HASH; ONNX Runtime refuses external data that
  // resolves outside the folder it is given, so the halves name the blobs directly.)
  std::filesystem::path data_folder;
  std::map<std::string, std::string> relocated;  // original location -> file name in data_folder
  std::vector<std::string> first_outputs;
  std::string first;                  // ModelProto of the first half (external data refs unchanged)
  // What the second half takes from the first, in the order it first reads each: names the
  // first half returns, either among first_outputs or appended after them. A float16 activation
  // crosses widened to float32 as "<name>/float32" and a tensor that a first output copies
  // crosses as that output (the second half declares them so), so that ONNX Runtime rounds each
  // half as it rounds the whole graph (see onnx_split.cpp).
  std::vector<std::string> boundary;
  size_t nodes_total = 0, nodes_first = 0;
  size_t initializers_total = 0, initializers_first = 0;

  // The second half: the nodes the first half does not have, every original output but
  // first_outputs, and as inputs the original inputs it reads plus `boundary`, declared with the
  // element types given (onnx TensorProto.DataType, e.g. 1 = float, 7 = int64; typically read off
  // the first half's session). Throws Error(kInvalidArgument) when a boundary type is missing.
  std::string Second(const std::map<std::string, int32_t>& boundary_types) const;
};

// Splits the model at `path` after the nodes that `first_outputs` need (all of them must be
// graph outputs). Returns nullopt when it cannot be split safely: a name in `first_outputs` is
// not a graph output, a node carries a subgraph (If/Loop/Scan bodies may read any outer name),
// the second half would be empty, or the sidecars resolve into different folders. Throws Error(kCorrupt) naming the file and byte offset on a
// malformed file.
std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const std::vector<std::string>& first_outputs);
// The same with the file's summary already read (ReadModelSummary(path)), to walk it only once.
std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const ModelSummary& summary,
                                            const std::vector<std::string>& first_outputs);
// The same over `model`, the bytes of `path` after an edit at load (onnx_kv_attention.h) that kept
// every initializer as it was, so `summary` still says where their external data lives.
std::optional<GraphSplit> SplitAfterOutputs(const std::filesystem::path& path, const ModelSummary& summary,
                                            const std::vector<std::string>& first_outputs, std::string model);

}  // namespace gemma4::onnx
