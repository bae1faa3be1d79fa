// Reads a session's declared inputs and outputs and maps them onto the roles the loop needs.
#pragma once

#include <string>
#include <vector>

#include "runtime/ort.h"

namespace gemma4 {

// `graph` is the file name, used in error messages ("decoder_model_merged_q4.onnx: ...").
EmbedIo DiscoverEmbedIo(Ort::Session& session, const std::string& graph);
DecoderIo DiscoverDecoderIo(Ort::Session& session, const std::string& graph);
// The same from declarations already read (e.g. a decoder split in two sessions: the inputs of
// the first half, the outputs of both).
DecoderIo DiscoverDecoderIo(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs, const std::string& graph);
// A session's declared inputs (or outputs), in session order.
std::vector<TensorSpec> ReadSpecs(Ort::Session& session, bool inputs);

}  // namespace gemma4
