// Reads a session's declared inputs and outputs and maps them onto the roles the loop needs.
#pragma once

#include <string>

#include "runtime/ort.h"

namespace gemma4 {

// `graph` is the file name, used in error messages ("decoder_model_merged_q4.onnx: ...").
EmbedIo DiscoverEmbedIo(Ort::Session& session, const std::string& graph);
DecoderIo DiscoverDecoderIo(Ort::Session& session, const std::string& graph);

}  // namespace gemma4
