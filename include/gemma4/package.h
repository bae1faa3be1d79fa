// A Gemma 4 model package on disk: which files make it up, what its configs say, and whether
// every byte the ONNX graphs reference is present. Opening a package never creates an ONNX
// Runtime session; it is the cheap, exhaustive check that runs before one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

// The two directory layouts we accept.
enum class PackageLayout {
  kTextOnly,   // text config at top level of config.json, model_type "gemma4_text" (the repack)
  kCommunity,  // model_type "gemma4", text config nested under "text_config" (the full export)
};
std::string_view PackageLayoutName(PackageLayout layout);

// The text-model fields we rely on, read from config.json (or its "text_config").
// Zero / empty means the field is absent; runtime/ discovers shapes from the graphs anyway.
struct ModelConfig {
  std::string model_type;  // of the text config: "gemma4_text"
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;         // sliding-attention layers
  int64_t global_head_dim = 0;  // full-attention layers (0: same as head_dim)
  int64_t vocab_size = 0;
  int64_t hidden_size_per_layer_input = 0;
  int64_t num_kv_shared_layers = 0;
  int64_t sliding_window = 0;
  int64_t max_position_embeddings = 0;
  std::optional<double> final_logit_softcapping;
  std::vector<std::string> layer_types;  // "sliding_attention" | "full_attention", one per layer
  nlohmann::json text_config;            // the whole text config, for fields not listed here
};

// generation_config.json (optional file; config.json supplies eos/bos when it is absent).
struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;  // any of these ends generation
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;
  nlohmann::json sampling;  // do_sample, temperature, top_k, top_p, min_p, ... as written in the file
};

// One external-data file an ONNX graph references, with the size its tensors require.
struct ExternalDataFile {
  std::filesystem::path path;  // absolute
  std::string location;        // as written in the graph, relative to the graph's folder
  uint64_t required_bytes = 0; // max(offset + length) over the tensors stored there
  uint64_t actual_bytes = 0;
};

// One ONNX graph file and everything it needs.
struct GraphFiles {
  std::filesystem::path onnx;  // absolute
  uint64_t onnx_bytes = 0;
  uint64_t inline_weight_bytes = 0;    // initializer bytes inside the .onnx itself
  uint64_t external_weight_bytes = 0;  // initializer bytes in sidecars
  std::vector<ExternalDataFile> external_data;
  std::vector<std::string> op_types;  // distinct "domain:op" used, sorted (e.g. "com.microsoft:MatMulNBits")
  uint64_t WeightBytes() const { return inline_weight_bytes + external_weight_bytes; }
};

struct PackageOptions {
  // ONNX variant: "q4" (default), "q4f16", "fp16", "fp32", "quantized", "uint8", ...
  std::string dtype = "q4";
};

struct Package {
  std::filesystem::path root;
  PackageLayout layout = PackageLayout::kTextOnly;
  std::string dtype;
  std::vector<std::string> available_dtypes;  // variants present under onnx/ with both graphs
  ModelConfig config;
  GenerationConfig generation;
  std::filesystem::path tokenizer_json;
  std::optional<std::filesystem::path> tokenizer_config_json;
  std::optional<std::filesystem::path> chat_template_jinja;  // else tokenizer_config.json "chat_template"
  bool has_chat_template = false;
  GraphFiles embed;
  GraphFiles decoder;
};

// Opens and fully validates the package in `dir`: configs parse and describe a Gemma 4 text
// model, the tokenizer exists, both graphs of the chosen dtype exist, parse, and every
// external-data sidecar they reference exists with at least the bytes they reference.
// Throws gemma4::Error naming the file (and field or byte offset) at fault.
Package OpenPackage(const std::filesystem::path& dir, const PackageOptions& options = {});

// File names of a dtype's graphs: ("embed_tokens_q4.onnx", "decoder_model_merged_q4.onnx");
// fp32 has no suffix.
std::pair<std::string, std::string> GraphFileNames(std::string_view dtype);

// Reads a JSON file; a syntax error names the file, line and column.
nlohmann::json ReadJsonFile(const std::filesystem::path& path);
// The same, keeping the key order of the file (templates and repacked configs need it).
nlohmann::ordered_json ReadOrderedJsonFile(const std::filesystem::path& path);

}  // namespace gemma4
