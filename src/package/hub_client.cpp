// `gemma4 pull`: the hub's resolve and listing endpoints, written into the huggingface_hub cache
// layout with per-blob locks, resumable .incomplete files and hash checks.
#include "gemma4/hub.h"
#include "core/format.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/hub_cache.h"
#include "gemma4/log.h"
#include "gemma4/package.h"
#include "package/digest.h"
#include "package/hub_answers.h"
#include "package/http_client.h"
#include "package/onnx_proto.h"

namespace gemma4 {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Where the token came from, for messages ("HF_TOKEN", "/home/u/.cache/huggingface/token").
struct Token {
  std::string value;
  std::string source;
};

std::optional<Token> FindToken() {
  if (auto v = Trim(Env("HF_TOKEN")); !v.empty()) return Token{v, "HF_TOKEN"};
  fs::path path = Env("HF_TOKEN_PATH");
  if (path.empty()) {
    if (auto home = Env("HF_HOME"); !home.empty()) path = fs::path(home) / "token";
    else if (auto xdg = Env("XDG_CACHE_HOME"); !xdg.empty()) path = fs::path(xdg) / "huggingface" / "token";
    else path = fs::path(Env("HOME").empty() ? "/tmp" : Env("HOME")) / ".cache" / "huggingface" / "token";
  }
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && !Trim(line).empty()) return Token{Trim(line), path.string()};
  return std::nullopt;
}

struct RepoRef {
  std::string repo;
  std::string revision = "main";
};

RepoRef ParseSpec(const std::string& spec) {
  RepoRef ref;
  const auto at = spec.find('@');
  ref.repo = spec.substr(0, at);
  if (at != std::string::npos) ref.revision = spec.substr(at + 1);
  const auto slash = ref.repo.find('/');
  auto valid_part = [](std::string_view s) {
    return !s.empty() && s != "." && s != ".." && s.find("--") == std::string_view::npos &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
  };
  if (slash == std::string::npos || !valid_part(std::string_view(ref.repo).substr(0, slash)) ||
      !valid_part(std::string_view(ref.repo).substr(slash + 1))) {
    throw Error(ErrorKind::kInvalidArgument, "'" + spec + "' is not a repo id (expected owner/name or owner/name@revision)");
  }
  // The revision names a file under refs/: it must stay there.
  if (auto problem = hub::RevisionProblem(ref.revision)) {
    throw Error(ErrorKind::kInvalidArgument, "'" + spec + "': '" + ref.revision + "' is not a revision (" + *problem + ")");
  }
  return ref;
}

fs::path RepoFolderName(const std::string& repo) {
  std::string name = repo;
  return "models--" + name.replace(name.find('/'), 1, "--");
}

bool IsCommitHash(const std::string& s) { return digest::IsHex(s, 40); }

// fsync of a file or directory, so a rename that publishes it survives a crash.
void SyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::kRuntime, path.string() + ": cannot open to sync (" + std::strerror(errno) + ")");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(ErrorKind::kRuntime, path.string() + ": fsync failed (" + std::strerror(err) + ")");
}

// Writes `content` to `path` through a temporary file, an fsync and a rename, so readers never
// see half of it and a crash leaves the old file or the new one.
void AtomicWrite(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) throw Error(ErrorKind::kRuntime, tmp.string() + ": write failed");
  }
  SyncPath(tmp, false);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorKind::kRuntime, "cannot write " + path.string() + " (" + ec.message() + ")");
  SyncPath(path.parent_path(), true);
}

// snapshots/<commit>/<path> -> ../../blobs/<hash> (relative, as huggingface_hub makes it).
void LinkIntoSnapshot(const fs::path& link, const fs::path& blob) {
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  const fs::path target = blob.lexically_relative(link.parent_path());
  if (fs::is_symlink(link, ec) && fs::read_symlink(link, ec) == target) return;
  const fs::path tmp = link.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) throw Error(ErrorKind::kRuntime, "cannot create the link " + tmp.string() + " (" + ec.message() + ")");
  fs::rename(tmp, link, ec);
  if (ec) throw Error(ErrorKind::kRuntime, "cannot create " + link.string() + " (" + ec.message() + ")");
}

// An exclusive flock on .locks/<repo>/<hash>.lock for the life of the object: one writer per blob,
// across threads and processes (each object opens its own file description).
class BlobLock {
 public:
  explicit BlobLock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(ErrorKind::kRuntime, path.string() + ": cannot open the lock file (" + std::strerror(errno) + ")");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw Error(ErrorKind::kRuntime, path.string() + ": cannot lock (" + std::strerror(errno) + ")");
      }
    }
  }
  ~BlobLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

using hub::RemoteFile;

// Serialises progress reports and throttles byte events to ~10 a second.
class ProgressHub {
 public:
  explicit ProgressHub(const PullProgressFn& fn) : fn_(fn) {}

  void Plan(uint64_t add_bytes, size_t add_files) {
    std::lock_guard lock(mu_);
    state_.total += add_bytes;
    state_.files_total += add_files;
    EmitLocked(PullProgress::Event::kPlan, "", 0, 0);
  }
  // `delta` new bytes of `file`; `file_done` counts resumed bytes too.
  void Event(PullProgress::Event event, const std::string& file, uint64_t file_done, uint64_t file_total, uint64_t delta,
             uint64_t transferred) {
    std::lock_guard lock(mu_);
    if (transferred && !first_byte_) first_byte_ = Clock::now();
    transferred_ += transferred;
    state_.done += delta;
    if (event == PullProgress::Event::kFileDone || event == PullProgress::Event::kCached) state_.files_done++;
    if (event == PullProgress::Event::kBytes) {
      const auto now = Clock::now();
      if (now - last_emit_ < std::chrono::milliseconds(100)) return;
      last_emit_ = now;
    }
    EmitLocked(event, file, file_done, file_total);
  }
  bool cancelled() const { return cancelled_.load(); }
  void Cancel() { cancelled_ = true; }

 private:
  void EmitLocked(PullProgress::Event event, const std::string& file, uint64_t file_done, uint64_t file_total) {
    state_.event = event;
    state_.file = file;
    state_.file_done = file_done;
    state_.file_total = file_total;
    if (first_byte_) {
      const double s = std::chrono::duration<double>(Clock::now() - *first_byte_).count();
      state_.bytes_per_second = s > 0.05 ? transferred_ / s : 0;
    }
    if (fn_) {
      if (!fn_(state_)) cancelled_ = true;
    } else if (event == PullProgress::Event::kStart) {
      Log(LogLevel::kInfo, "downloading " + file + " (" + FormatBytes(file_total) +
                               (file_done ? ", resuming at " + FormatBytes(file_done) : std::string()) + ")");
    }
  }

  const PullProgressFn& fn_;
  std::mutex mu_;
  PullProgress state_;
  uint64_t transferred_ = 0;
  std::optional<Clock::time_point> first_byte_;
  Clock::time_point last_emit_{};
  std::atomic<bool> cancelled_{false};
};

class HubClient {
 public:
  HubClient(const PullOptions& options, const RepoRef& ref)
      : options_(options), ref_(ref), endpoint_(options.endpoint.empty() ? HubEndpoint() : options.endpoint) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    if (options.token) {
      if (!options.token->empty()) token_ = Token{*options.token, "the token option"};
    } else {
      token_ = FindToken();
    }
  }

  const std::string& endpoint() const { return endpoint_; }

  // GET /api/models/{repo}/revision/{revision}?blobs=true -> commit and files.
  std::pair<std::string, std::vector<RemoteFile>> List() {
    const std::string url = endpoint_ + "/api/models/" + ref_.repo + "/revision/" + http::Escape(ref_.revision, false) +
                            "?blobs=true";
    http::Request req;
    req.url = url;
    req.headers = Headers(url);
    const http::Response r = PerformOrThrow(req, "the file list");
    if (r.status != 200) throw HttpError(r, url, "");
    hub::Listing listing = hub::ParseListing(r.body, url);
    return {std::move(listing.commit), std::move(listing.files)};
  }

  struct Metadata {
    std::string commit;
    std::string etag;
    uint64_t size = 0;
    std::string download_url;
    bool redirected = false;  // download_url came from a redirect: no token goes there
  };

  // HEAD /{repo}/resolve/{commit}/{path}: relative redirects (renamed repos) followed, an absolute
  // one (the LFS CDN) kept as the download URL, as huggingface_hub's get_hf_file_metadata does.
  // Every value that names a file or sizes a download is checked here: the ETag must be the hash
  // this kind of file is named by, the size a plain decimal, a redirect http(s) only.
  Metadata Head(const std::string& commit, const RemoteFile& file) {
    const std::string& path = file.path;
    std::string url = endpoint_ + "/" + ref_.repo + "/resolve/" + http::Escape(commit, false) + "/" + http::Escape(path, true);
    for (int hop = 0; hop < 5; ++hop) {
      http::Request req;
      req.method = "HEAD";
      req.url = url;
      req.headers = Headers(url);
      req.headers.push_back("Accept-Encoding: identity");
      const http::Response r = PerformOrThrow(req, path);
      const std::string location = r.Header("location");
      const bool redirect = r.status >= 300 && r.status < 400 && !location.empty();
      if (redirect && !hub::RedirectAllowed(location)) {
        throw Error(ErrorKind::kCorrupt, url + ": the hub redirects " + path + " to '" + location +
                                             "' (Location header), which is not an http(s) URL or a path on the hub");
      }
      if (redirect && location.front() == '/') {
        url = http::Origin(url) + location;
        continue;
      }
      if (r.status >= 400 || r.status < 200) throw HttpError(r, url, path);
      Metadata m;
      m.commit = r.Header("x-repo-commit");
      const char* etag_header = !r.Header("x-linked-etag").empty() ? "x-linked-etag" : "etag";
      const std::string etag = r.Header(etag_header);
      if (etag.empty()) throw Error(ErrorKind::kCorrupt, url + ": the hub sent no ETag, so the download cannot be checked");
      const auto hash = hub::BlobHashFromEtag(etag, file.lfs);
      if (!hash) {
        throw Error(ErrorKind::kCorrupt, url + ": the hub's " + etag_header + " header for " + path + " is '" + etag +
                                             "', not the " + (file.lfs ? "sha256 (64 hex digits)" : "git sha1 (40 hex digits)") +
                                             " the blob is named and checked by");
      }
      if (!file.hash.empty() && *hash != file.hash) {
        throw Error(ErrorKind::kCorrupt, url + ": the hub's " + etag_header + " header for " + path + " is " + *hash +
                                             " but its file list says " + file.hash);
      }
      m.etag = *hash;
      const char* size_header = !r.Header("x-linked-size").empty() ? "x-linked-size" : "content-length";
      const auto size = hub::ParseDecimal(r.Header(size_header));
      if (!size) {
        throw Error(ErrorKind::kCorrupt, url + ": the hub's " + size_header + " header for " + path + " is '" +
                                             r.Header(size_header) + "', not a size in bytes");
      }
      m.size = *size;
      m.redirected = redirect;
      m.download_url = m.redirected ? location : url;
      return m;
    }
    throw Error(ErrorKind::kRuntime, url + ": too many redirects");
  }

  // Headers for `url`: the token only goes to the hub itself, never to a CDN it redirects to.
  std::vector<std::string> Headers(const std::string& url) const {
    std::vector<std::string> h;
    if (token_ && http::Origin(url) == http::Origin(endpoint_)) h.push_back("Authorization: Bearer " + token_->value);
    return h;
  }

  http::Response PerformOrThrow(const http::Request& req, const std::string& what) {
    http::Response r = http::Perform(req);
    if (r.curl_code != 0) {
      throw Error(ErrorKind::kRuntime, "cannot reach the hub at " + endpoint_ + " (" + r.curl_error + ") while asking for " +
                                           what + "; check the network, or set HF_HUB_OFFLINE=1 to use the cache only");
    }
    return r;
  }

  Error HttpError(const http::Response& r, const std::string& url, const std::string& file) const {
    const std::string code = r.Header("x-error-code");
    std::string message = r.Header("x-error-message");
    if (message.empty()) {
      try {
        auto j = nlohmann::json::parse(r.body);
        if (j.is_object() && j.contains("error") && j["error"].is_string()) message = j["error"].get<std::string>();
      } catch (...) {
      }
    }
    const std::string status = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) +
                               (message.empty() ? "" : ": " + message);
    const std::string page = endpoint_ + "/" + ref_.repo;
    const std::string how_to_token =
        "create a read token at https://huggingface.co/settings/tokens and set it with: export HF_TOKEN=hf_... "
        "(or save it in $HF_HOME/token)";
    if (code == "GatedRepo" || (code.empty() && (r.status == 401 || r.status == 403) && message.find("gated") != std::string::npos)) {
      if (!token_) {
        return Error(ErrorKind::kInvalidArgument, ref_.repo + " is a gated model and no Hugging Face token is set (" + status +
                                                      "). Accept its conditions on " + page + ", then " + how_to_token);
      }
      return Error(ErrorKind::kInvalidArgument, ref_.repo + " is a gated model and the token from " + token_->source +
                                                    " has no access to it (" + status + "). Accept its conditions on " +
                                                    page + " with the account that owns the token");
    }
    if (r.status == 401 && message.find("Invalid credentials") != std::string::npos) {
      return Error(ErrorKind::kInvalidArgument, "the hub rejected the token from " + (token_ ? token_->source : "?") +
                                                    " (" + status + "); " + how_to_token);
    }
    if (code == "RepoNotFound" || (r.status == 401 && file.empty()) || (r.status == 404 && file.empty() && code.empty())) {
      return Error(ErrorKind::kNotFound, "repository '" + ref_.repo + "' not found on " + endpoint_ + " (" + status + ")" +
                                             (token_ ? "" : "; if it is private or gated, " + how_to_token));
    }
    if (code == "RevisionNotFound") {
      return Error(ErrorKind::kNotFound, "revision '" + ref_.revision + "' not found in " + ref_.repo + " (" + status + ")");
    }
    if (code == "EntryNotFound" || r.status == 404) {
      return Error(ErrorKind::kNotFound, ref_.repo + "@" + ref_.revision + " has no file '" + file + "' (" + status + ")");
    }
    if (r.status == 401 || r.status == 403) {
      return Error(ErrorKind::kInvalidArgument, "access to " + ref_.repo + " denied (" + status + "); " +
                                                    (token_ ? "check that the token from " + token_->source + " can read it"
                                                            : how_to_token));
    }
    return Error(ErrorKind::kRuntime, "the hub answered " + status + " for " + url);
  }

  // Downloads `path` (if its blob is not already there) and links it into the snapshot.
  // Returns the bytes fetched over the network.
  uint64_t Fetch(const fs::path& repo_dir, const std::string& commit, const RemoteFile& file, ProgressHub& progress) {
    const Metadata meta = Head(commit, file);
    if (!meta.commit.empty() && meta.commit != commit) {
      Log(LogLevel::kWarn, file.path + ": the hub resolved it at commit " + meta.commit + ", not " + commit);
    }
    const fs::path blob = repo_dir / "blobs" / meta.etag;
    const fs::path link = repo_dir / "snapshots" / commit / file.path;
    std::error_code ec;
    fs::create_directories(blob.parent_path(), ec);
    uint64_t fetched = 0;
    // A blob already there is trusted only once its bytes hash to its name: a file of the right
    // size may still be another tool's half-written copy, or edited in place through a link.
    BlobLock lock(options_.cache_dir / ".locks" / repo_dir.filename() / (meta.etag + ".lock"));
    if (fs::is_regular_file(blob, ec) && fs::file_size(blob, ec) == meta.size &&
        HashBlob(blob, file.lfs, meta.size) == meta.etag) {
      // verified: nothing to fetch
    } else {
      if (fs::exists(blob, ec)) {
        Log(LogLevel::kWarn, blob.string() + ": the cached blob of " + file.path + " does not match its hash; downloading it again");
        fs::remove(blob, ec);
      }
      fetched = Download(file.path, meta, blob, progress, file.lfs);
    }
    if (fetched == 0) progress.Event(PullProgress::Event::kCached, file.path, meta.size, meta.size, 0, 0);
    LinkIntoSnapshot(link, blob);
    return fetched;
  }

 private:
  uint64_t Download(const std::string& path, const Metadata& meta, const fs::path& blob, ProgressHub& progress, bool sha256) {
    const fs::path partial = blob.string() + ".incomplete";
    std::error_code ec;
    uint64_t fetched = 0;
    for (int attempt = 0;; ++attempt) {
      uint64_t resume = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
      if (resume > meta.size) {
        fs::resize_file(partial, 0, ec);
        resume = 0;
      }
      const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) throw Error(ErrorKind::kRuntime, partial.string() + ": cannot write (" + std::strerror(errno) + ")");
      uint64_t have = resume;
      bool restarted = false;
      std::string write_error;
      progress.Event(PullProgress::Event::kStart, path, have, meta.size, attempt == 0 ? resume : 0, 0);

      http::Request req;
      req.url = meta.download_url;
      // As huggingface_hub does, the token is not sent on to where the hub redirected (the LFS CDN).
      if (!meta.redirected) req.headers = Headers(req.url);
      if (resume > 0) req.headers.push_back("Range: bytes=" + std::to_string(resume) + "-");
      req.on_body = [&](const char* data, size_t n, long status) {
        if (status == 200 && resume > 0 && !restarted) {
          // The server ignored the Range: start over.
          restarted = true;
          if (::ftruncate(fd, 0) != 0) {
            write_error = std::strerror(errno);
            return false;
          }
          progress.Event(PullProgress::Event::kBytes, path, 0, meta.size, 0, 0);
          have = 0;
        }
        for (size_t off = 0; off < n;) {
          const ssize_t w = ::write(fd, data + off, n - off);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) {
            write_error = std::strerror(errno);
            return false;
          }
          off += static_cast<size_t>(w);
        }
        have += n;
        fetched += n;
        progress.Event(PullProgress::Event::kBytes, path, have, meta.size, n, n);
        return !progress.cancelled();
      };
      const http::Response r = http::Perform(req);
      if (write_error.empty() && ::fsync(fd) != 0) write_error = std::string("fsync: ") + std::strerror(errno);
      ::close(fd);
      if (!write_error.empty()) throw Error(ErrorKind::kRuntime, partial.string() + ": write failed (" + write_error + ")");
      if (progress.cancelled()) throw Error(ErrorKind::kCancelled, "pull stopped while downloading " + path);

      const bool complete_already = r.status == 416 && resume == meta.size;
      if (!complete_already && (r.NetworkError() || (r.curl_code == 0 && r.status >= 200 && r.status < 300 && have < meta.size) ||
                                r.status >= 500)) {
        const std::string why = r.curl_code ? r.curl_error : "HTTP " + std::to_string(r.status);
        if (attempt < options_.retries) {
          Log(LogLevel::kWarn, path + ": download interrupted at " + FormatBytes(have) + " of " + FormatBytes(meta.size) +
                                   " (" + why + "); resuming");
          std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
          continue;
        }
        throw Error(ErrorKind::kRuntime, "network error while downloading " + path + " from " + meta.download_url + " (" +
                                             why + "); " + std::to_string(have) + " of " + std::to_string(meta.size) +
                                             " bytes are kept in " + partial.string() +
                                             ": run the same command again to resume");
      }
      if (r.curl_code != 0) {
        throw Error(ErrorKind::kRuntime, "download of " + path + " failed: " + r.curl_error);
      }
      if (!complete_already && (r.status < 200 || r.status >= 300)) {
        if (r.status == 416) {
          fs::resize_file(partial, 0, ec);
          if (attempt < options_.retries) continue;
        }
        throw HttpError(r, meta.download_url, path);
      }
      break;
    }

    // Check the bytes against the hash the hub announced, then publish the blob.
    const uint64_t size = fs::file_size(partial, ec);
    if (size != meta.size) {
      fs::remove(partial, ec);
      throw Error(ErrorKind::kCorrupt, path + ": downloaded " + std::to_string(size) + " bytes, the hub announced " +
                                           std::to_string(meta.size) + "; the partial file was removed, run the pull again");
    }
    const std::string actual = HashBlob(partial, sha256, meta.size);
    if (actual != meta.etag) {
      fs::remove(partial, ec);
      throw Error(ErrorKind::kCorrupt, path + ": corrupted download: its " + (sha256 ? "sha256" : "git sha1") + " is " +
                                           actual + " but the hub announced " + meta.etag +
                                           "; the bad file was removed, run the pull again");
    }
    fs::rename(partial, blob, ec);
    if (ec) throw Error(ErrorKind::kRuntime, "cannot move " + partial.string() + " to " + blob.string() + " (" + ec.message() + ")");
    SyncPath(blob.parent_path(), true);
    progress.Event(PullProgress::Event::kFileDone, path, meta.size, meta.size, 0, 0);
    return std::max<uint64_t>(fetched, 1);
  }

  static std::string HashBlob(const fs::path& path, bool sha256, uint64_t size) {
    digest::Hasher h(sha256 ? digest::Algorithm::kSha256 : digest::Algorithm::kSha1);
    if (!sha256) h.Update("blob " + std::to_string(size) + std::string(1, '\0'));
    std::ifstream in(path, std::ios::binary);
    std::string buffer(1 << 20, '\0');
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      h.Update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    return h.HexDigest();
  }

  const PullOptions& options_;
  RepoRef ref_;
  std::string endpoint_;
  std::optional<Token> token_;
};

// The files of the package for `dtype` among `names`: configs, tokenizer, template, both graphs.
// Sidecars come later, from the graphs themselves.
std::vector<std::string> PackageFiles(const std::set<std::string>& names, const std::string& dtype, const std::string& where) {
  const auto [embed, decoder] = GraphFileNames(dtype);
  for (const std::string& graph : {"onnx/" + embed, "onnx/" + decoder}) {
    if (!names.count(graph)) {
      std::set<std::string> dtypes;
      for (const auto& n : names) {
        const std::string prefix = "onnx/decoder_model_merged";
        if (n.rfind(prefix, 0) == 0 && n.size() > 5 && n.compare(n.size() - 5, 5, ".onnx") == 0) {
          std::string rest = n.substr(prefix.size(), n.size() - 5 - prefix.size());
          dtypes.insert(rest.empty() ? "fp32" : rest.substr(1));
        }
      }
      std::string list;
      for (const auto& d : dtypes) list += (list.empty() ? "" : ", ") + d;
      throw Error(ErrorKind::kNotFound, where + " has no " + graph + " (dtype '" + dtype + "'; dtypes there: " +
                                            (list.empty() ? "none" : list) + ")");
    }
  }
  for (const char* required : {"config.json", "tokenizer.json"}) {
    if (!names.count(required)) throw Error(ErrorKind::kNotFound, where + " has no " + std::string(required) + ": not a model package");
  }
  std::vector<std::string> out;
  for (const char* f : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"}) {
    if (names.count(f)) out.push_back(f);
  }
  out.push_back("onnx/" + embed);
  out.push_back("onnx/" + decoder);
  return out;
}

// The sidecars the two graphs in `snapshot` reference, as repo paths ("onnx/x.onnx_data").
std::vector<std::string> SidecarFiles(const fs::path& snapshot, const std::string& dtype) {
  const auto [embed, decoder] = GraphFileNames(dtype);
  std::vector<std::string> out;
  for (const auto& graph : {embed, decoder}) {
    for (const auto& ref : onnx::ReadModelSummary(snapshot / "onnx" / graph).external) {
      const fs::path rel(ref.location);
      if (ref.location.empty() || rel.is_absolute() ||
          std::any_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; })) {
        throw Error(ErrorKind::kCorrupt, "onnx/" + graph + ": tensor '" + ref.tensor + "' has a bad external location '" +
                                             ref.location + "'");
      }
      const std::string path = "onnx/" + rel.generic_string();
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
    }
  }
  return out;
}

std::vector<std::string> MatchGlobs(const std::vector<std::string>& names, const std::vector<std::string>& globs) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    for (const auto& g : globs) {
      // FNM_PATHNAME: '*' stays within one directory, so "*.json" cannot pick "onnx/x.json".
      if (::fnmatch(g.c_str(), n.c_str(), FNM_PATHNAME) == 0) {
        out.push_back(n);
        break;
      }
    }
  }
  return out;
}

fs::path CacheDir(const PullOptions& options) { return options.cache_dir.empty() ? HubCacheDir() : options.cache_dir; }

std::optional<std::string> CachedCommit(const fs::path& repo_dir, const std::string& revision) {
  std::ifstream ref(repo_dir / "refs" / revision);
  std::string commit;
  if (ref && std::getline(ref, commit) && IsCommitHash(Trim(commit))) return Trim(commit);
  if (IsCommitHash(revision)) return revision;
  return std::nullopt;
}

// Runs `work(i)` for i in [0, n) on up to `jobs` threads; the first error stops the rest and is rethrown.
void ParallelFor(size_t n, int jobs, ProgressHub& progress, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto worker = [&] {
    for (;;) {
      const size_t i = next++;
      if (i >= n || progress.cancelled()) return;
      try {
        work(i);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        progress.Cancel();
        return;
      }
    }
  };
  const size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, jobs)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::string HubEndpoint() {
  std::string e = Trim(Env("HF_ENDPOINT"));
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e.empty() ? "https://huggingface.co" : e;
}

std::optional<std::string> HubToken() {
  if (auto t = FindToken()) return t->value;
  return std::nullopt;
}

bool HubOffline() {
  std::string v = Trim(Env("HF_HUB_OFFLINE"));
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::toupper(c); });
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::optional<fs::path> FindCompleteSnapshot(const std::string& spec, const PullOptions& options) {
  const RepoRef ref = ParseSpec(spec);
  const fs::path repo_dir = CacheDir(options) / RepoFolderName(ref.repo);
  const auto commit = CachedCommit(repo_dir, ref.revision);
  if (!commit) return std::nullopt;
  const fs::path snapshot = repo_dir / "snapshots" / *commit;
  std::error_code ec;
  if (!fs::is_directory(snapshot, ec)) return std::nullopt;
  std::vector<std::string> present;
  for (auto it = fs::recursive_directory_iterator(snapshot, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) present.push_back(it->path().lexically_relative(snapshot).generic_string());
  }
  if (!options.include.empty()) {
    if (MatchGlobs(present, options.include).empty()) return std::nullopt;
    return snapshot;
  }
  try {
    const std::set<std::string> names(present.begin(), present.end());
    PackageFiles(names, options.dtype, snapshot.string());
    for (const auto& side : SidecarFiles(snapshot, options.dtype)) {
      if (!names.count(side)) return std::nullopt;
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  return snapshot;
}

PullResult Pull(const std::string& spec, const PullOptions& options_in) {
  PullOptions options = options_in;
  options.cache_dir = CacheDir(options_in);
  const RepoRef ref = ParseSpec(spec);
  PullResult result;
  result.repo = ref.repo;
  result.revision = ref.revision;
  const fs::path repo_dir = options.cache_dir / RepoFolderName(ref.repo);

  if (options.offline.value_or(HubOffline())) {
    auto snapshot = FindCompleteSnapshot(spec, options);
    if (!snapshot) {
      throw Error(ErrorKind::kNotFound, ref.repo + "@" + ref.revision + " (dtype " + options.dtype +
                                            ") is not complete in the Hugging Face cache " + options.cache_dir.string() +
                                            ", and HF_HUB_OFFLINE is set: unset it to download");
    }
    result.offline = true;
    result.snapshot = *snapshot;
    result.commit = snapshot->filename().string();
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(*snapshot, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) {
        result.files.push_back(it->path().lexically_relative(*snapshot).generic_string());
        result.cached_bytes += it->file_size(ec);
      }
    }
    std::sort(result.files.begin(), result.files.end());
    return result;
  }

  HubClient client(options, ref);
  ProgressHub progress(options.progress);
  // Not a structured binding: clang 14 (the sanitizer and fuzz builds) cannot capture one in a lambda.
  std::string commit;
  std::vector<RemoteFile> listing;
  std::tie(commit, listing) = client.List();
  if (!IsCommitHash(commit)) throw Error(ErrorKind::kCorrupt, "the hub gave '" + commit + "' as the commit of " + spec);
  result.commit = commit;
  result.snapshot = repo_dir / "snapshots" / commit;
  std::map<std::string, RemoteFile> by_path;
  std::vector<std::string> names;
  for (const auto& f : listing) {
    by_path[f.path] = f;
    names.push_back(f.path);
  }
  const std::string where = ref.repo + "@" + ref.revision;

  std::error_code ec;
  fs::create_directories(repo_dir / "blobs", ec);
  fs::create_directories(result.snapshot, ec);
  if (ec) throw Error(ErrorKind::kRuntime, result.snapshot.string() + ": cannot create (" + ec.message() + ")");

  std::mutex totals_mu;
  auto fetch_all = [&](const std::vector<std::string>& paths) {
    uint64_t bytes = 0;
    for (const auto& p : paths) {
      const RemoteFile& f = by_path.at(p);
      if (!(fs::is_regular_file(repo_dir / "blobs" / f.hash, ec) && fs::file_size(repo_dir / "blobs" / f.hash, ec) == f.size)) {
        bytes += f.size;
      }
    }
    progress.Plan(bytes, paths.size());
    ParallelFor(paths.size(), options.jobs, progress, [&](size_t i) {
      const RemoteFile& f = by_path.at(paths[i]);
      const uint64_t fetched = client.Fetch(repo_dir, commit, f, progress);
      std::lock_guard lock(totals_mu);
      if (fetched) result.downloaded_bytes += f.size;
      else result.cached_bytes += f.size;
      result.files.push_back(f.path);
    });
    if (progress.cancelled()) throw Error(ErrorKind::kCancelled, "pull of " + spec + " stopped");
  };

  if (!options.include.empty()) {
    const auto chosen = MatchGlobs(names, options.include);
    if (chosen.empty()) {
      std::string globs;
      for (const auto& g : options.include) globs += (globs.empty() ? "" : ", ") + g;
      throw Error(ErrorKind::kNotFound, where + ": no file matches --include " + globs);
    }
    fetch_all(chosen);
  } else {
    fetch_all(PackageFiles(std::set<std::string>(names.begin(), names.end()), options.dtype, where));
    std::vector<std::string> sidecars = SidecarFiles(result.snapshot, options.dtype);
    for (const auto& s : sidecars) {
      if (!by_path.count(s)) {
        throw Error(ErrorKind::kNotFound, "a graph of " + where + " references external data '" + s.substr(5) + "', but the repo has no " + s);
      }
    }
    if (!sidecars.empty()) fetch_all(sidecars);
  }

  if (ref.revision != commit) {
    fs::create_directories(repo_dir / "refs" / fs::path(ref.revision).parent_path(), ec);
    AtomicWrite(repo_dir / "refs" / ref.revision, commit);
  }
  std::sort(result.files.begin(), result.files.end());
  if (!options.progress) {
    Log(LogLevel::kInfo, "pulled " + where + " (" + commit.substr(0, 12) + ") into " + result.snapshot.string());
  }
  return result;
}

fs::path ResolveOrPull(const std::string& spec, const PullOptions& options) {
  if (spec.empty()) throw Error(ErrorKind::kInvalidArgument, "no model given (-m DIR or -m owner/name)");
  if (!LooksLikeRepoId(spec)) return spec;
  if (auto snapshot = FindCompleteSnapshot(spec, options)) return *snapshot;
  if (options.offline.value_or(HubOffline())) {
    throw Error(ErrorKind::kNotFound, "model '" + spec + "' is neither a directory nor complete in the Hugging Face cache (" +
                                          CacheDir(options).string() + "), and HF_HUB_OFFLINE is set: unset it to download, "
                                          "or fetch it elsewhere with: gemma4 pull " + spec);
  }
  return Pull(spec, options).snapshot;
}

}  // namespace gemma4
