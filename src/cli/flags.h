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

// Opens the package named by flags.model (directory or cached repo id).
Package OpenModelPackage(const ModelFlags& flags);

}  // namespace gemma4::cli
