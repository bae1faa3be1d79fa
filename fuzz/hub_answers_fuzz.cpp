// The hub's answers on fuzzed bytes: a listing parses into names that stay inside a snapshot,
// hashes of the right length and a 40-hex commit, or a gemma4::Error naming the field; the
// header checks (ETag, sizes, redirects, revisions) accept only what they promise to.
#include <algorithm>

#include "fuzz_util.h"
#include "package/hub_answers.h"

namespace {

bool LowerHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gemma4::fuzz::Require;
  const std::string_view text = gemma4::fuzz::AsText(data, size);
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const gemma4::hub::Listing listing = gemma4::hub::ParseListing(text, "https://hub/api/models/o/n/revision/main");
    Require(LowerHex(listing.commit, 40), "commit is 40 lowercase hex");
    for (const auto& f : listing.files) {
      Require(!gemma4::hub::RepoPathProblem(f.path), "listed path stays inside the snapshot");
      Require(f.hash.empty() || LowerHex(f.hash, f.lfs ? 64 : 40), "hash of the right length");
    }
  });
  // The same bytes as header values.
  for (bool lfs : {false, true}) {
    if (auto hash = gemma4::hub::BlobHashFromEtag(text, lfs)) Require(LowerHex(*hash, lfs ? 64 : 40), "ETag hash");
  }
  if (auto n = gemma4::hub::ParseDecimal(text)) {
    Require(!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }), "digits");
  }
  if (gemma4::hub::RedirectAllowed(text)) {
    std::string head(text.substr(0, 8));
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    Require(head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0 || (text[0] == '/' && text.substr(0, 2) != "//"),
            "redirect is http(s) or a path on the hub");
  }
  if (!gemma4::hub::RevisionProblem(text)) {
    Require(text.front() != '/' && text.find("..") == std::string_view::npos && text.find('\0') == std::string_view::npos,
            "revision stays under refs/");
  }
  return 0;
}
