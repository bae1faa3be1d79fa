// `gemma4 pull`: downloads a model package from the Hugging Face hub into the cache layout that
// huggingface_hub uses, so both tools share one copy:
//
//   <cache>/models--owner--name/blobs/<sha256 or git sha1>          the bytes, named by their hash
//   <cache>/models--owner--name/snapshots/<commit>/<path> -> ../../blobs/<hash>
//   <cache>/models--owner--name/refs/<revision>                      the commit a branch/tag pointed at
//   <cache>/.locks/models--owner--name/<hash>.lock                   one writer per blob
//
// Environment (as huggingface_hub reads it): HF_HUB_CACHE / HF_HOME (cache), HF_ENDPOINT (hub URL),
// HF_TOKEN / HF_TOKEN_PATH / $HF_HOME/token (token), HF_HUB_OFFLINE=1 (cache only, no network).
//
// Downloads go to blobs/<hash>.incomplete and resume with an HTTP Range request; each blob is
// checked against the hash the hub announced (X-Linked-Etag: sha256 for LFS files, git sha1 else)
// before it is fsynced and renamed into place. A blob already in the cache is used only after
// its bytes hash to its name. The hub's answers are checked before they name a file
// (package/hub_answers.h): ETags must be hashes, listed names must stay inside the snapshot,
// redirects go to http(s) only, sizes are plain decimals.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gemma4 {

struct PullProgress {
  enum class Event {
    kPlan,      // the file list is known: `total` is the bytes to fetch (cached files excluded)
    kStart,     // `file` starts downloading (file_done > 0 when it resumes a partial download)
    kBytes,     // bytes arrived (at most ~10 calls a second)
    kFileDone,  // `file` is complete and verified
    kCached,    // `file` was already in the cache
  };
  Event event = Event::kBytes;
  std::string file;  // repo path ("onnx/decoder_model_merged_q4.onnx")
  uint64_t file_done = 0, file_total = 0;
  uint64_t done = 0, total = 0;  // bytes over all files still to fetch
  double bytes_per_second = 0;   // average since the first byte of this pull
  size_t files_done = 0, files_total = 0;
};
// Calls are serialised (never two at once) but may come from any of the download threads.
// Return false to stop the pull (Error(kCancelled)); partial downloads stay resumable.
using PullProgressFn = std::function<bool(const PullProgress&)>;

struct PullOptions {
  std::string dtype = "q4";           // the ONNX variant whose files make up the package
  std::vector<std::string> include;   // glob patterns (fnmatch with FNM_PATHNAME: '*' stays in one
                                      // directory, "onnx/*" for the graphs): when given, exactly the
                                      // repo files that match one, instead of the package's files
  int jobs = 4;                       // files downloaded in parallel
  int retries = 3;                    // resumptions after a network failure, per file
  std::string endpoint;               // empty: $HF_ENDPOINT, else https://huggingface.co
  std::optional<std::string> token;   // unset: $HF_TOKEN, $HF_TOKEN_PATH, $HF_HOME/token
  std::optional<bool> offline;        // unset: $HF_HUB_OFFLINE
  std::filesystem::path cache_dir;    // empty: HubCacheDir()
  PullProgressFn progress;            // empty: one log line per file
};

struct PullResult {
  std::string repo;      // owner/name
  std::string revision;  // as asked ("main" by default)
  std::string commit;    // what it resolved to
  std::filesystem::path snapshot;
  std::vector<std::string> files;  // repo paths in the snapshot
  uint64_t downloaded_bytes = 0;   // fetched over the network by this call
  uint64_t cached_bytes = 0;       // already present
  bool offline = false;            // served from the cache without asking the hub
};

// Downloads `spec` ("owner/name" or "owner/name@revision"). Throws Error with a message a user
// can act on: 401/403 (gated or private: how to set a token) as kInvalidArgument, 404 (repo,
// revision or file) and offline-but-not-cached as kNotFound, a hash mismatch as kCorrupt, network
// failures as kRuntime (say how to resume), kCancelled when the progress callback said stop.
PullResult Pull(const std::string& spec, const PullOptions& options = {});

// The snapshot of `spec` when the cache holds every file the package needs (offline check, no
// network), else nullopt.
std::optional<std::filesystem::path> FindCompleteSnapshot(const std::string& spec, const PullOptions& options = {});

// What `-m` means: an existing directory as is; a repo id from the cache when complete there,
// else pulled (unless offline: then Error(kNotFound) saying so).
std::filesystem::path ResolveOrPull(const std::string& spec, const PullOptions& options = {});

// The hub's base URL: $HF_ENDPOINT without a trailing '/', else https://huggingface.co.
std::string HubEndpoint();
// The token: $HF_TOKEN, else the file $HF_TOKEN_PATH, else $HF_HOME/token (~/.cache/huggingface/token).
std::optional<std::string> HubToken();
// $HF_HUB_OFFLINE set to 1/ON/YES/TRUE (any case).
bool HubOffline();

}  // namespace gemma4
