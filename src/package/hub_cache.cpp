// The huggingface_hub cache layout: models--owner--name/{refs/<rev>, snapshots/<commit>/...}.
#include "gemma4/hub_cache.h"

#include <cstdlib>
#include <fstream>
#include <regex>

#include "gemma4/error.h"
#include "package/hub_answers.h"

namespace gemma4 {
namespace fs = std::filesystem;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::pair<std::string, std::string> SplitRevision(const std::string& spec) {
  auto at = spec.find('@');
  if (at == std::string::npos) return {spec, "main"};
  return {spec.substr(0, at), spec.substr(at + 1)};
}

}  // namespace

fs::path HubCacheDir() {
  if (auto v = Env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = Env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
  if (auto v = Env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
  return fs::path(Env("HOME").empty() ? "/tmp" : Env("HOME")) / ".cache" / "huggingface" / "hub";
}

bool LooksLikeRepoId(const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) return false;
  static const std::regex pattern(R"(^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-/]+)?$)");
  return std::regex_match(spec, pattern);
}

std::optional<fs::path> FindCachedSnapshot(const std::string& repo, const std::string& revision) {
  auto slash = repo.find('/');
  if (slash == std::string::npos) return std::nullopt;
  // The revision and the commit its ref names become paths under the repo folder: both must stay
  // there ("@/etc" or a ref file holding "../../x" must not select another directory).
  if (hub::RevisionProblem(revision)) return std::nullopt;
  const fs::path root = HubCacheDir() / ("models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1));
  std::string commit = revision;
  std::ifstream ref(root / "refs" / revision);
  if (ref) std::getline(ref, commit);
  if (hub::RevisionProblem(commit)) return std::nullopt;
  const fs::path snapshot = root / "snapshots" / commit;
  std::error_code ec;
  if (fs::is_directory(snapshot, ec)) return snapshot;
  return std::nullopt;
}

fs::path ResolveModelPath(const std::string& spec) {
  if (spec.empty()) throw Error(ErrorKind::kInvalidArgument, "no model given (-m DIR or -m owner/name)");
  if (!LooksLikeRepoId(spec)) return spec;
  auto [repo, revision] = SplitRevision(spec);
  if (auto snapshot = FindCachedSnapshot(repo, revision)) return *snapshot;
  throw Error(ErrorKind::kNotFound, "model '" + spec + "' is neither a directory nor in the Hugging Face cache (" +
                                        HubCacheDir().string() + "); fetch it with: gemma4 pull " + spec);
}

}  // namespace gemma4
