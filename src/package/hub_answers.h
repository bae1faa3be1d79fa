// What the hub answers, checked before any of it names a file: the listing (commit, file names,
// hashes, sizes), the ETag and size headers of a resolve, and where a redirect may go. The hub is
// untrusted input: each check names the field at fault, and nothing here touches the disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::hub {

// One file of the repo as the listing describes it.
struct RemoteFile {
  std::string path;   // a relative repo path, checked by CheckRepoPath
  uint64_t size = 0;
  std::string hash;   // lfs.sha256 (64 hex) for LFS files, else the git blob id (40 hex); may be empty
  bool lfs = false;
};

struct Listing {
  std::string commit;  // 40 lowercase hex
  std::vector<RemoteFile> files;
};

// Parses GET /api/models/{repo}/revision/{rev}?blobs=true. `where` (the URL) prefixes errors.
// Throws Error(kCorrupt) naming the JSON field ("siblings[3].rfilename") at fault.
Listing ParseListing(std::string_view body, const std::string& where);

// Empty when `path` is a relative path that stays inside a snapshot directory ("onnx/x.onnx"),
// else why not. Components may not be empty, "." or ".."; no NUL, backslash or control bytes.
std::optional<std::string> RepoPathProblem(std::string_view path);

// Empty when `revision` (branch, tag or commit) can name a file under refs/, else why not: the
// same component rules as a repo path, and the characters git refuses in a ref (space, ~^:?*[).
std::optional<std::string> RevisionProblem(std::string_view revision);

// The ETag a resolve answered, unquoted (W/ and quotes stripped), when it is a lowercase hex
// hash of the length this file's kind calls for (64 for LFS, 40 for a git blob); else nullopt.
std::optional<std::string> BlobHashFromEtag(std::string_view etag, bool lfs);

// A decimal header value (Content-Length, X-Linked-Size): digits only, no sign or spaces, fits
// 64 bits. nullopt otherwise.
std::optional<uint64_t> ParseDecimal(std::string_view text);

// True when a redirect target may be followed or downloaded from: an absolute http(s) URL, or a
// path on the same origin ("/x", but not the scheme-relative "//host").
bool RedirectAllowed(std::string_view location);

}  // namespace gemma4::hub
