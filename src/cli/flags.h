// The flags shared by several subcommands, declared once so every command spells, documents and
// defaults them the same way (llama.cpp habits: -m, -t, -c, -n ...). Each has a GEMMA4_* variable.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "gemma4/package.h"
#include "gemma4/runtime.h"

namespace gemma4::cli {

struct ModelFlags {
  std::string model;          // directory or owner/name[@revision]
  std::string dtype = "q4";
  RuntimeOptions runtime;
};

// -m/--model, --dtype, -t/--threads, -c/--ctx-size, --device, --embed-device, --prefill-chunk.
void AddModelFlags(CLI::App& app, ModelFlags& flags, bool model_required = true);

// The demo package generated at build time, used when `run` gets no -m; empty if absent.
std::string DemoModelPath();

// The directory flags.model names: itself, or a repo id's cache snapshot, pulled (with a progress
// bar on stderr) when missing and not offline.
std::string ResolveModelArg(const ModelFlags& flags);

// Opens the package named by flags.model (directory or repo id, pulled when missing).
Package OpenModelPackage(const ModelFlags& flags);

}  // namespace gemma4::cli

namespace gemma4 {
struct SamplingParams;
class Model;
}  // namespace gemma4

namespace gemma4::cli {

// Sampling and stopping flags shared by run, chat and (as defaults) serve. Values the user did
// not give come from the package's generation_config.json.
struct SamplingFlags {
  int max_new_tokens = 256;
  float temperature = 1.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float typical_p = 1.0f;
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  CLI::Option *temp_opt = nullptr, *top_k_opt = nullptr, *top_p_opt = nullptr, *min_p_opt = nullptr,
              *typical_opt = nullptr, *repeat_opt = nullptr, *seed_opt = nullptr;
};

void AddSamplingFlags(CLI::App& app, SamplingFlags& flags);

// generation_config.json defaults, then every flag the user gave.
SamplingParams ResolveSampling(const SamplingFlags& flags, const Model& model);

}  // namespace gemma4::cli
