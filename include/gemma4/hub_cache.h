// Where Hugging Face hub repositories live on disk (the huggingface_hub cache layout), and the
// resolution of a user's `-m` argument (a directory, or a repo id) to a package directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace gemma4 {

// HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::filesystem::path HubCacheDir();

// True when `spec` looks like "owner/name" or "owner/name@revision" and is not an existing path.
bool LooksLikeRepoId(const std::string& spec);

// The snapshot folder of repo `owner/name` at `revision` (a branch or tag in refs/, or a commit
// hash) in the cache, when present.
std::optional<std::filesystem::path> FindCachedSnapshot(const std::string& repo, const std::string& revision = "main");

// A directory is returned as is; a repo id is looked up in the cache. Throws Error(kNotFound)
// with the command that fetches it when the repo is not cached.
std::filesystem::path ResolveModelPath(const std::string& spec);

}  // namespace gemma4
