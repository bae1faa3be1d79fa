// manifest.json: the list of every file of a package with its size and sha256, written by
// `gemma4 repack`, and the check of a package against it (or, for a Hugging Face cache snapshot,
// against the blob names, which are the files' sha256 or git blob sha1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace gemma4 {

struct ManifestEntry {
  std::string path;    // relative to the package root, '/'-separated
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
};

struct Manifest {
  std::string dtype;  // the ONNX variant the package holds ("q4"); empty when unknown
  std::vector<ManifestEntry> files;  // sorted by path; manifest.json itself is not listed
};

inline constexpr std::string_view kManifestFileName = "manifest.json";
inline constexpr std::string_view kManifestFormat = "gemma4-package-manifest/1";

// Reads `dir`/manifest.json. Throws Error(kNotFound) when absent, kCorrupt naming the field at fault.
Manifest ReadManifest(const std::filesystem::path& dir);
// Writes `dir`/manifest.json (pretty JSON, files sorted by path).
void WriteManifest(const std::filesystem::path& dir, const Manifest& manifest);

// Streams `path` through SHA-256; `on_bytes` (optional) sees each chunk's size and returns false to
// stop (then Error(kCancelled)). Throws Error(kNotFound) naming the file when it cannot be read.
std::string FileSha256(const std::filesystem::path& path, const std::function<bool(uint64_t)>& on_bytes = {});

// Progress of a verification: called from the calling thread with the file being hashed and the
// bytes hashed so far over all files. Return false to stop (Error(kCancelled)).
struct VerifyProgress {
  std::string file;
  uint64_t done = 0;
  uint64_t total = 0;
};
using VerifyProgressFn = std::function<bool(const VerifyProgress&)>;

enum class VerifyBasis {
  kManifest,   // manifest.json in the directory
  kHubBlobs,   // a snapshot folder of the Hugging Face cache: each file against its blob's name
};

struct VerifyResult {
  VerifyBasis basis = VerifyBasis::kManifest;
  size_t files_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<std::string> problems;  // one line per bad file, naming it; empty when all is well
  bool ok() const { return problems.empty(); }
};

// Checks every file of the package in `dir`: against manifest.json when present, else (for a
// cache snapshot) against the hash its blob is named by. Damage is reported in `problems`, not
// thrown; throws Error(kNotFound) when there is nothing to check against.
VerifyResult VerifyPackage(const std::filesystem::path& dir, const VerifyProgressFn& progress = {});

}  // namespace gemma4
