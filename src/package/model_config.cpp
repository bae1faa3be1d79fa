// Typed views of config.json and generation_config.json, with errors naming file and field.
#include "package/model_config.h"

#include "gemma4/error.h"

namespace gemma4 {
namespace {

[[noreturn]] void FieldError(const std::filesystem::path& file, const std::string& pointer, const std::string& what) {
  throw Error(ErrorKind::kCorrupt, file.string() + ": field " + pointer + ": " + what);
}

int64_t OptionalInt(const nlohmann::json& obj, const char* key, const std::filesystem::path& file,
                    const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) FieldError(file, prefix + "/" + key, "expected an integer, got " + it->dump());
  int64_t v = it->get<int64_t>();
  if (v < 0) FieldError(file, prefix + "/" + key, "must not be negative, got " + std::to_string(v));
  return v;
}

std::vector<int32_t> TokenIdList(const nlohmann::json& value, const std::filesystem::path& file,
                                 const std::string& pointer) {
  std::vector<int32_t> ids;
  auto add = [&](const nlohmann::json& v, const std::string& where) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      FieldError(file, where, "expected a token id (non-negative integer), got " + v.dump());
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  };
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) add(value[i], pointer + "/" + std::to_string(i));
  } else if (!value.is_null()) {
    add(value, pointer);
  }
  return ids;
}

std::optional<int32_t> OptionalTokenId(const nlohmann::json& obj, const char* key, const std::filesystem::path& file,
                                       const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  auto ids = TokenIdList(*it, file, prefix + "/" + key);
  if (ids.empty()) return std::nullopt;
  return ids.front();
}

}  // namespace

ModelConfig ParseModelConfig(const nlohmann::json& config, const std::filesystem::path& file, PackageLayout& layout) {
  if (!config.is_object()) throw Error(ErrorKind::kCorrupt, file.string() + ": expected a JSON object at the top level");
  auto type_it = config.find("model_type");
  if (type_it == config.end() || !type_it->is_string()) {
    throw Error(ErrorKind::kCorrupt, file.string() + ": field /model_type is missing (not a Hugging Face model config?)");
  }
  const std::string model_type = type_it->get<std::string>();
  const nlohmann::json* text = &config;
  std::string prefix;
  if (model_type == "gemma4_text") {
    layout = PackageLayout::kTextOnly;
  } else if (model_type == "gemma4") {
    layout = PackageLayout::kCommunity;
    auto it = config.find("text_config");
    if (it == config.end() || !it->is_object()) {
      FieldError(file, "/text_config", "missing; model_type \"gemma4\" packages nest the text model config there");
    }
    text = &*it;
    prefix = "/text_config";
  } else {
    throw Error(ErrorKind::kUnsupported, file.string() + ": field /model_type is \"" + model_type +
                                             "\"; this runtime runs Gemma 4 text models (\"gemma4_text\", or "
                                             "\"gemma4\" with a text_config)");
  }

  ModelConfig mc;
  mc.text_config = *text;
  mc.model_type = text->value("model_type", model_type == "gemma4" ? std::string("gemma4_text") : model_type);
  mc.hidden_size = OptionalInt(*text, "hidden_size", file, prefix);
  mc.num_hidden_layers = OptionalInt(*text, "num_hidden_layers", file, prefix);
  mc.num_attention_heads = OptionalInt(*text, "num_attention_heads", file, prefix);
  mc.num_key_value_heads = OptionalInt(*text, "num_key_value_heads", file, prefix);
  mc.head_dim = OptionalInt(*text, "head_dim", file, prefix);
  mc.global_head_dim = OptionalInt(*text, "global_head_dim", file, prefix);
  mc.vocab_size = OptionalInt(*text, "vocab_size", file, prefix);
  mc.hidden_size_per_layer_input = OptionalInt(*text, "hidden_size_per_layer_input", file, prefix);
  mc.num_kv_shared_layers = OptionalInt(*text, "num_kv_shared_layers", file, prefix);
  mc.sliding_window = OptionalInt(*text, "sliding_window", file, prefix);
  mc.max_position_embeddings = OptionalInt(*text, "max_position_embeddings", file, prefix);
  if (auto it = text->find("final_logit_softcapping"); it != text->end() && !it->is_null()) {
    if (!it->is_number()) FieldError(file, prefix + "/final_logit_softcapping", "expected a number, got " + it->dump());
    mc.final_logit_softcapping = it->get<double>();
  }
  if (auto it = text->find("layer_types"); it != text->end() && !it->is_null()) {
    if (!it->is_array()) FieldError(file, prefix + "/layer_types", "expected an array of strings");
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& v = (*it)[i];
      if (!v.is_string()) FieldError(file, prefix + "/layer_types/" + std::to_string(i), "expected a string, got " + v.dump());
      mc.layer_types.push_back(v.get<std::string>());
    }
    if (mc.num_hidden_layers && static_cast<int64_t>(mc.layer_types.size()) != mc.num_hidden_layers) {
      FieldError(file, prefix + "/layer_types",
                 "has " + std::to_string(mc.layer_types.size()) + " entries but num_hidden_layers is " +
                     std::to_string(mc.num_hidden_layers));
    }
  }
  if (mc.num_kv_shared_layers > mc.num_hidden_layers && mc.num_hidden_layers) {
    FieldError(file, prefix + "/num_kv_shared_layers", "is larger than num_hidden_layers");
  }
  return mc;
}

GenerationConfig ParseGenerationConfig(const nlohmann::json* generation, const nlohmann::json& config,
                                       const std::filesystem::path& file) {
  GenerationConfig gc;
  // transformers.js and transformers take eos_token_id from generation_config.json over config.json.
  const nlohmann::json* text = &config;
  if (auto it = config.find("text_config"); it != config.end() && it->is_object()) text = &*it;
  auto from_config = [&](const char* key) -> const nlohmann::json* {
    if (auto it = config.find(key); it != config.end() && !it->is_null()) return &*it;
    if (auto it = text->find(key); it != text->end() && !it->is_null()) return &*it;
    return nullptr;
  };
  const std::filesystem::path config_file = file.parent_path() / "config.json";
  if (generation) {
    if (!generation->is_object()) throw Error(ErrorKind::kCorrupt, file.string() + ": expected a JSON object");
    if (auto it = generation->find("eos_token_id"); it != generation->end()) {
      gc.eos_token_ids = TokenIdList(*it, file, "/eos_token_id");
    }
    gc.bos_token_id = OptionalTokenId(*generation, "bos_token_id", file, "");
    gc.pad_token_id = OptionalTokenId(*generation, "pad_token_id", file, "");
    for (const char* key : {"do_sample", "temperature", "top_k", "top_p", "min_p", "typical_p", "repetition_penalty",
                            "max_new_tokens", "max_length"}) {
      if (auto it = generation->find(key); it != generation->end() && !it->is_null()) gc.sampling[key] = *it;
    }
  }
  if (gc.eos_token_ids.empty()) {
    if (const auto* eos = from_config("eos_token_id")) gc.eos_token_ids = TokenIdList(*eos, config_file, "/eos_token_id");
  }
  if (!gc.bos_token_id) {
    if (const auto* bos = from_config("bos_token_id")) {
      auto ids = TokenIdList(*bos, config_file, "/bos_token_id");
      if (!ids.empty()) gc.bos_token_id = ids.front();
    }
  }
  if (!gc.pad_token_id) {
    if (const auto* pad = from_config("pad_token_id")) {
      auto ids = TokenIdList(*pad, config_file, "/pad_token_id");
      if (!ids.empty()) gc.pad_token_id = ids.front();
    }
  }
  return gc;
}

}  // namespace gemma4
