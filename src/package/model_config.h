// config.json and generation_config.json -> the typed structs of gemma4/package.h.
#pragma once

#include <filesystem>

#include "gemma4/package.h"

namespace gemma4 {

// Parses config.json (already read); sets `layout`. Errors name `file` and the JSON pointer.
ModelConfig ParseModelConfig(const nlohmann::json& config, const std::filesystem::path& file, PackageLayout& layout);

// Parses generation_config.json when present, falling back to config.json's token ids.
GenerationConfig ParseGenerationConfig(const nlohmann::json* generation, const nlohmann::json& config,
                                       const std::filesystem::path& file);

}  // namespace gemma4
