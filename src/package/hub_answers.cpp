// Checks of the hub's answers (hub_answers.h). huggingface_hub trusts these values to name files;
// we do not, because a hostile or broken hub (or a proxy) would otherwise write outside the cache.
#include "package/hub_answers.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "package/digest.h"

namespace gemma4::hub {

namespace {

bool IsLowerHex(std::string_view s, size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The component rules shared by repo paths and revisions.
std::optional<std::string> ComponentsProblem(std::string_view path, std::string_view extra_forbidden) {
  if (path.empty()) return "it is empty";
  if (path.front() == '/') return "it is an absolute path";
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return "it contains a control character";
    if (c == '\\') return "it contains a backslash";
    if (extra_forbidden.find(static_cast<char>(c)) != std::string_view::npos) {
      return std::string("it contains '") + static_cast<char>(c) + "'";
    }
  }
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) return "it has an empty path component";
    if (part == "." || part == "..") return "it has a '" + std::string(part) + "' component";
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> RepoPathProblem(std::string_view path) { return ComponentsProblem(path, ""); }

std::optional<std::string> RevisionProblem(std::string_view revision) {
  if (auto p = ComponentsProblem(revision, " ~^:?*[")) return p;
  if (revision.find("..") != std::string_view::npos) return "it contains '..'";
  return std::nullopt;
}

std::optional<std::string> BlobHashFromEtag(std::string_view etag, bool lfs) {
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  if (!IsLowerHex(etag, lfs ? 64 : 40)) return std::nullopt;
  return std::string(etag);
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool RedirectAllowed(std::string_view location) {
  if (location.size() >= 2 && location[0] == '/' && location[1] != '/') return true;
  if (location == "/") return true;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (location.size() > scheme.size() && std::equal(scheme.begin(), scheme.end(), location.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return true;
    }
  }
  return false;
}

Listing ParseListing(std::string_view body, const std::string& where) {
  auto corrupt = [&](const std::string& what) { return Error(ErrorKind::kCorrupt, where + ": the hub's answer " + what); };
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw corrupt("is not JSON");
  if (!j.is_object() || !j.contains("sha") || !j["sha"].is_string() || !j.contains("siblings") || !j["siblings"].is_array()) {
    throw corrupt("lacks \"sha\" or \"siblings\"");
  }
  Listing listing;
  listing.commit = j["sha"].get<std::string>();
  if (!IsLowerHex(listing.commit, 40)) throw corrupt("gives '" + listing.commit + "' as the commit (\"sha\"), not 40 hex digits");
  const auto& siblings = j["siblings"];
  for (size_t i = 0; i < siblings.size(); ++i) {
    const auto& s = siblings[i];
    const std::string field = "siblings[" + std::to_string(i) + "]";
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) {
      throw corrupt("has no file name at " + field + ".rfilename");
    }
    RemoteFile f;
    f.path = s["rfilename"].get<std::string>();
    if (auto problem = RepoPathProblem(f.path)) {
      throw corrupt("names the file '" + f.path + "' at " + field + ".rfilename, which cannot go in a snapshot: " + *problem);
    }
    auto size_of = [&](const nlohmann::json& obj, const std::string& name) -> uint64_t {
      if (!obj.contains("size")) return 0;
      if (!obj["size"].is_number_unsigned()) throw corrupt("has a size that is not a non-negative integer at " + name + ".size");
      return obj["size"].get<uint64_t>();
    };
    auto hash_of = [&](const nlohmann::json& obj, const char* key, size_t length, const std::string& name) -> std::string {
      if (!obj.contains(key)) return "";
      if (!obj[key].is_string() || !IsLowerHex(obj[key].get_ref<const std::string&>(), length)) {
        throw corrupt("has a " + std::string(key) + " that is not " + std::to_string(length) + " hex digits at " + name + "." + key);
      }
      return obj[key].get<std::string>();
    };
    if (s.contains("lfs") && !s["lfs"].is_null()) {
      if (!s["lfs"].is_object()) throw corrupt("has a non-object " + field + ".lfs");
      f.lfs = true;
      f.hash = hash_of(s["lfs"], "sha256", 64, field + ".lfs");
      f.size = size_of(s["lfs"], field + ".lfs");
    } else {
      f.hash = hash_of(s, "blobId", 40, field);
      f.size = size_of(s, field);
    }
    listing.files.push_back(std::move(f));
  }
  return listing;
}

}  // namespace gemma4::hub
