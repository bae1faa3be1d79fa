// manifest.json (every file of a package with size and sha256) and `gemma4 verify`.
#include "gemma4/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/package.h"
#include "package/digest.h"

namespace gemma4 {
namespace fs = std::filesystem;

namespace {

constexpr size_t kHashChunk = 1 << 20;

// Hashes a file, feeding `prefix` first (git blob hashes start with "blob <size>\0").
std::string HashFile(const fs::path& path, digest::Algorithm algorithm, std::string_view prefix,
                     const std::function<bool(uint64_t)>& on_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::kNotFound, path.string() + ": cannot read (" + std::strerror(errno) + ")");
  digest::Hasher hasher(algorithm);
  hasher.Update(prefix);
  std::string buffer(kHashChunk, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::kRuntime, path.string() + ": read failed (" + std::strerror(err) + ")");
    }
    if (n == 0) break;
    hasher.Update(buffer.data(), static_cast<size_t>(n));
    if (on_bytes && !on_bytes(static_cast<uint64_t>(n))) {
      ::close(fd);
      throw Error(ErrorKind::kCancelled, "stopped while hashing " + path.string());
    }
  }
  ::close(fd);
  return hasher.HexDigest();
}

std::string Relative(const fs::path& path, const fs::path& root) { return path.lexically_relative(root).generic_string(); }

bool IsCacheSnapshot(const fs::path& dir) {
  const fs::path abs = fs::absolute(dir).lexically_normal();
  const fs::path d = abs.filename().empty() ? abs.parent_path() : abs;
  return d.parent_path().filename() == "snapshots" &&
         d.parent_path().parent_path().filename().string().rfind("models--", 0) == 0;
}

}  // namespace

std::string FileSha256(const fs::path& path, const std::function<bool(uint64_t)>& on_bytes) {
  return HashFile(path, digest::Algorithm::kSha256, {}, on_bytes);
}

Manifest ReadManifest(const fs::path& dir) {
  const fs::path path = dir / kManifestFileName;
  const nlohmann::json j = ReadJsonFile(path);
  auto bad = [&](const std::string& pointer, const std::string& what) {
    return Error(ErrorKind::kCorrupt, path.string() + ": " + pointer + ": " + what);
  };
  if (!j.is_object()) throw bad("/", "expected an object");
  if (j.value("format", "") != kManifestFormat) {
    throw bad("/format", "expected \"" + std::string(kManifestFormat) + "\"");
  }
  Manifest m;
  if (j.contains("dtype") && j["dtype"].is_string()) m.dtype = j["dtype"].get<std::string>();
  if (!j.contains("files") || !j["files"].is_array()) throw bad("/files", "expected an array");
  for (size_t i = 0; i < j["files"].size(); ++i) {
    const auto& f = j["files"][i];
    const std::string at = "/files/" + std::to_string(i);
    if (!f.is_object()) throw bad(at, "expected an object");
    if (!f.contains("path") || !f["path"].is_string()) throw bad(at + "/path", "expected a string");
    if (!f.contains("size") || !f["size"].is_number_unsigned()) throw bad(at + "/size", "expected a byte count");
    if (!f.contains("sha256") || !f["sha256"].is_string() || !digest::IsHex(f["sha256"].get<std::string>(), 64)) {
      throw bad(at + "/sha256", "expected 64 lowercase hex digits");
    }
    ManifestEntry e{f["path"].get<std::string>(), f["size"].get<uint64_t>(), f["sha256"].get<std::string>()};
    const fs::path rel(e.path);
    if (e.path.empty() || rel.is_absolute() ||
        std::any_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; })) {
      throw bad(at + "/path", "'" + e.path + "' is not a path inside the package");
    }
    m.files.push_back(std::move(e));
  }
  return m;
}

void WriteManifest(const fs::path& dir, const Manifest& manifest) {
  std::vector<ManifestEntry> files = manifest.files;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  nlohmann::ordered_json j;
  j["format"] = kManifestFormat;
  if (!manifest.dtype.empty()) j["dtype"] = manifest.dtype;
  j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : files) j["files"].push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  const fs::path path = dir / kManifestFileName;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << j.dump(2) << '\n';
  if (!out.flush()) throw Error(ErrorKind::kRuntime, path.string() + ": write failed");
}

VerifyResult VerifyPackage(const fs::path& dir, const VerifyProgressFn& progress) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorKind::kNotFound, dir.string() + ": no such directory");
  VerifyResult result;

  // (relative path, expected size or -1, algorithm, expected hex, git-blob prefix?)
  struct Check {
    std::string rel;
    int64_t size = -1;
    digest::Algorithm algorithm = digest::Algorithm::kSha256;
    std::string hex;
    bool git_blob = false;
  };
  std::vector<Check> checks;

  // A cache snapshot is checked against its blobs, the hub's own record: a manifest.json there may
  // list variants that were not pulled.
  if (IsCacheSnapshot(dir)) {
    result.basis = VerifyBasis::kHubBlobs;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_symlink(ec)) {
        if (it->is_regular_file(ec)) result.problems.push_back(Relative(it->path(), dir) + ": not a link to a blob");
        continue;
      }
      const std::string rel = Relative(it->path(), dir);
      const std::string blob = fs::read_symlink(it->path(), ec).filename().string();
      if (digest::IsHex(blob, 64)) checks.push_back({rel, -1, digest::Algorithm::kSha256, blob, false});
      else if (digest::IsHex(blob, 40)) checks.push_back({rel, -1, digest::Algorithm::kSha1, blob, true});
      else result.problems.push_back(rel + ": its blob '" + blob + "' is not named by a hash");
    }
    std::sort(checks.begin(), checks.end(), [](const Check& a, const Check& b) { return a.rel < b.rel; });
  } else if (fs::exists(dir / kManifestFileName, ec)) {
    result.basis = VerifyBasis::kManifest;
    for (const auto& f : ReadManifest(dir).files) {
      checks.push_back({f.path, static_cast<int64_t>(f.size), digest::Algorithm::kSha256, f.sha256, false});
    }
  } else {
    throw Error(ErrorKind::kNotFound, (dir / kManifestFileName).string() +
                                          ": file not found, and the directory is not a Hugging Face cache snapshot; "
                                          "nothing to verify against (gemma4 repack writes a manifest)");
  }

  uint64_t total = 0;
  for (const auto& c : checks) {
    const fs::path p = dir / c.rel;
    if (fs::is_regular_file(p, ec)) total += fs::file_size(p, ec);
  }
  uint64_t done = 0;
  for (const auto& c : checks) {
    const fs::path p = dir / c.rel;
    if (!fs::is_regular_file(p, ec)) {
      result.problems.push_back(c.rel + ": missing" + (fs::is_symlink(p, ec) ? " (dangling link to its blob)" : ""));
      continue;
    }
    const uint64_t size = fs::file_size(p, ec);
    if (c.size >= 0 && size != static_cast<uint64_t>(c.size)) {
      result.problems.push_back(c.rel + ": size " + std::to_string(size) + " bytes, the manifest says " +
                                std::to_string(c.size));
      done += size;
      continue;
    }
    auto on_bytes = [&](uint64_t n) {
      done += n;
      return !progress || progress(VerifyProgress{c.rel, done, total});
    };
    const std::string prefix = c.git_blob ? "blob " + std::to_string(size) + std::string(1, '\0') : std::string();
    const std::string actual = HashFile(p, c.algorithm, prefix, on_bytes);
    if (actual != c.hex) {
      const char* name = c.algorithm == digest::Algorithm::kSha256 ? "sha256" : "git sha1";
      result.problems.push_back(c.rel + ": " + name + " " + actual + ", expected " + c.hex +
                                (result.basis == VerifyBasis::kManifest ? " (manifest.json)" : " (its blob name)"));
    }
    result.files_checked++;
    result.bytes_checked += size;
  }
  // A file the manifest does not list is as much a change as an edited one: an added
  // chat_template.jinja, for one, takes precedence over the template in tokenizer_config.json.
  if (result.basis == VerifyBasis::kManifest) {
    std::set<std::string> listed{std::string(kManifestFileName)};
    for (const auto& c : checks) listed.insert(c.rel);
    std::vector<std::string> extra;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
      const std::string rel = Relative(it->path(), dir);
      if (!listed.count(rel)) extra.push_back(rel + ": not listed in manifest.json (added after the package was made)");
    }
    if (ec) result.problems.push_back(dir.string() + ": cannot list the package (" + ec.message() + ")");
    std::sort(extra.begin(), extra.end());
    result.problems.insert(result.problems.end(), extra.begin(), extra.end());
  }
  return result;
}

}  // namespace gemma4
