// `gemma4 repack`: turns a full onnx-community/gemma-4-*-ONNX directory (vision and audio graphs,
// several dtypes, nested text_config) into the text-only package of one dtype, with a manifest.
//
//   gemma4::RepackOptions options;
//   options.dtype = "q4";
//   gemma4::RepackResult r = gemma4::Repack("gemma-4-E2B-it-ONNX", "gemma-4-E2B-text-q4", options);
//
// The package is built in a hidden folder beside DST and renamed into place only once it is
// complete and verified, so an interrupted or failed repack never leaves a half package at DST.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gemma4/manifest.h"

namespace gemma4 {

// How one file reached the new package.
enum class CopyMethod { kCopy, kReflink, kHardLink, kWritten /* generated: config.json, ... */ };
std::string_view CopyMethodName(CopyMethod method);

struct RepackProgress {
  std::string file;       // relative path in the new package
  uint64_t file_done = 0, file_total = 0;
  uint64_t done = 0, total = 0;  // bytes over all files
};
// Called from the calling thread; return false to stop the repack (Error(kCancelled), DST untouched).
using RepackProgressFn = std::function<bool(const RepackProgress&)>;

struct RepackOptions {
  std::string dtype = "q4";  // the ONNX variant to keep: q4, q4f16, fp16, fp32, quantized, ...
  bool link = false;         // share data with SRC: reflink where the filesystem can, else a hard link,
                             // except for hub cache blobs (copied: editing DST must not change the cache)
  bool overwrite = false;    // replace an existing DST (swapped in atomically once the new one is ready);
                             // only an empty DST or a package whose manifest.json lists all its files
  RepackProgressFn progress;
  // Extra check of the finished package before it is published (e.g. loading it into ONNX Runtime);
  // it receives the temporary folder and throws to refuse it. OpenPackage always runs first.
  std::function<void(const std::filesystem::path&)> verify;
};

struct RepackedFile {
  std::string path;  // relative to DST
  uint64_t size = 0;
  CopyMethod method = CopyMethod::kCopy;
};

struct RepackResult {
  std::filesystem::path dst;  // absolute
  std::string dtype;
  std::vector<RepackedFile> files;  // manifest.json last
  uint64_t total_bytes = 0;
  Manifest manifest;
};

// Throws Error naming the culprit: kNotFound for a missing SRC file (a sidecar the graph
// references, the requested dtype, the tokenizer), kInvalidArgument when DST exists without
// `overwrite`, holds files its manifest does not list, contains or lies inside SRC or the hub
// cache; kCancelled when the progress callback said stop.
RepackResult Repack(const std::filesystem::path& src, const std::filesystem::path& dst, const RepackOptions& options = {});

// config.json of the text-only package from a community config: text_config promoted to the top
// level with model_type "gemma4_text" and the causal-LM architecture, plus the top-level token ids
// and dtype fields the text config lacks. A text-only config comes back unchanged.
nlohmann::ordered_json PromoteTextConfig(const nlohmann::ordered_json& config);

}  // namespace gemma4
