// `gemma4 pull` against a loopback fake hub (tests/package/fake_hub.py): the cache layout
// huggingface_hub uses, resumable downloads, hash checks, gated and missing repos, offline mode,
// and two pulls of one repo at once.
#include "gemma4/hub.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "gemma4/hub_cache.h"
#include "gemma4/manifest.h"
#include "gemma4/package.h"
#include "package/digest.h"
#include "package/fake_hub.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::FakeHub;
using testing::ReadFile;
using testing::TempDir;
using testing::TestModel;
using testing::WriteFile;
namespace fs = std::filesystem;

constexpr char kCommit[] = "5f1e0d2c3b4a59687766554433221100ffeeddcc";
constexpr char kSidecar[] = "onnx/decoder_model_merged_q4.onnx_data";

std::string GitSha1(const std::string& bytes) {
  digest::Hasher h(digest::Algorithm::kSha1);
  h.Update("blob " + std::to_string(bytes.size()) + std::string(1, '\0'));
  h.Update(bytes);
  return h.HexDigest();
}

// The repo files a q4 pull of the `community` test package must bring: no vision/audio graphs,
// no q4f16, every sidecar the two graphs reference.
std::set<std::string> ExpectedQ4Files() {
  const Package p = OpenPackage(TestModel("community"), PackageOptions{"q4"});
  std::set<std::string> files = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                 "onnx/embed_tokens_q4.onnx", "onnx/decoder_model_merged_q4.onnx"};
  for (const auto* g : {&p.embed, &p.decoder}) {
    for (const auto& s : g->external_data) files.insert("onnx/" + s.location);
  }
  return files;
}

size_t CountRequests(const FakeHub& hub, const std::string& method, const std::string& path_part) {
  size_t n = 0;
  for (const auto& r : hub.Requests()) {
    if (r["method"] == method && r["path"].get<std::string>().find(path_part) != std::string::npos) ++n;
  }
  return n;
}

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE"}) unsetenv(v);
    setenv("HF_HOME", (tmp_ / "hf-home").c_str(), 1);  // no token file from the real home
  }
  void TearDown() override {
    for (const char* v : {"HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE"}) unsetenv(v);
  }
  PullOptions Options() const {
    PullOptions o;
    o.endpoint = hub_.url();
    o.cache_dir = tmp_ / "cache";
    o.retries = 0;
    return o;
  }
  fs::path RepoDir(const std::string& name = "models--owner--full") const { return tmp_ / "cache" / name; }
  fs::path Blob(const std::string& repo_path) const {
    return RepoDir() / "blobs" / digest::Sha256Hex(ReadFile(TestModel("community") / repo_path));
  }

  TempDir tmp_;
  FakeHub hub_{{{"owner/full", TestModel("community"), kCommit},
                {"owner/gated", TestModel("text-q4"), kCommit, /*gated=*/true, "hf_secret"}}};
};

TEST_F(PullTest, WritesOnlyThePackageFilesInTheHubCacheLayout) {
  const PullResult r = Pull("owner/full", Options());
  EXPECT_EQ(r.commit, kCommit);
  EXPECT_EQ(r.snapshot, RepoDir() / "snapshots" / kCommit);
  EXPECT_EQ(ReadFile(RepoDir() / "refs" / "main"), kCommit);
  const std::set<std::string> expected = ExpectedQ4Files();
  EXPECT_EQ(std::set<std::string>(r.files.begin(), r.files.end()), expected);
  std::set<std::string> in_snapshot;
  for (const auto& e : fs::recursive_directory_iterator(r.snapshot)) {
    if (!e.is_directory()) in_snapshot.insert(e.path().lexically_relative(r.snapshot).generic_string());
  }
  EXPECT_EQ(in_snapshot, expected);
  for (const auto& f : expected) {
    const std::string bytes = ReadFile(TestModel("community") / f);
    const bool lfs = f.find(".onnx") != std::string::npos || f == "tokenizer.json";
    const std::string blob_name = lfs ? digest::Sha256Hex(bytes) : GitSha1(bytes);
    const fs::path link = r.snapshot / f;
    ASSERT_TRUE(fs::is_symlink(link)) << f;
    const std::string up = f.find('/') != std::string::npos ? "../../../" : "../../";
    EXPECT_EQ(fs::read_symlink(link), fs::path(up + "blobs/" + blob_name)) << f;
    EXPECT_EQ(ReadFile(RepoDir() / "blobs" / blob_name), bytes) << f;
  }
  for (const auto& e : fs::directory_iterator(RepoDir() / "blobs")) {
    EXPECT_EQ(e.path().extension(), "") << "left behind: " << e.path();
  }
  EXPECT_EQ(OpenPackage(r.snapshot, PackageOptions{"q4"}).dtype, "q4");
  const VerifyResult v = VerifyPackage(r.snapshot);
  EXPECT_EQ(v.basis, VerifyBasis::kHubBlobs);
  EXPECT_TRUE(v.ok()) << v.problems.front();
  EXPECT_EQ(v.files_checked, expected.size());
  setenv("HF_HUB_CACHE", (tmp_ / "cache").c_str(), 1);
  EXPECT_EQ(ResolveModelPath("owner/full"), r.snapshot);

  // A second pull only asks for metadata.
  hub_.ClearLog();
  const PullResult again = Pull("owner/full", Options());
  EXPECT_EQ(again.downloaded_bytes, 0u);
  EXPECT_GT(again.cached_bytes, 0u);
  EXPECT_EQ(CountRequests(hub_, "GET", "/_cdn/"), 0u);
  EXPECT_EQ(CountRequests(hub_, "GET", "/resolve/"), 0u);
}

TEST_F(PullTest, CutDownloadResumesWithARangeRequest) {
  const uint64_t size = fs::file_size(TestModel("community") / kSidecar);
  const uint64_t cut = size / 2;
  hub_.SetFaults({{"cut", {{kSidecar, cut}}}, {"cut_times", 100}, {"chunk", 1024}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kRuntime, "run the same command again to resume");
  const fs::path partial = Blob(kSidecar).string() + ".incomplete";
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_EQ(fs::file_size(partial), cut);
  EXPECT_FALSE(fs::exists(Blob(kSidecar)));

  hub_.SetFaults(nlohmann::json::object());
  hub_.ClearLog();
  const PullResult r = Pull("owner/full", Options());
  bool resumed = false;
  const std::string sidecar_url = "/_cdn/owner--full/" + Blob(kSidecar).filename().string();
  for (const auto& q : hub_.Requests()) {
    if (q["method"] == "GET" && q["path"] == sidecar_url) {
      EXPECT_EQ(q["range"], "bytes=" + std::to_string(cut) + "-");
      resumed = true;
    }
  }
  EXPECT_TRUE(resumed) << "no Range request after the cut";
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_EQ(ReadFile(r.snapshot / kSidecar), ReadFile(TestModel("community") / kSidecar));
}

TEST_F(PullTest, ConnectionLostMidwayIsRetriedFromWhereItStopped) {
  const uint64_t cut = fs::file_size(TestModel("community") / kSidecar) / 3;
  hub_.SetFaults({{"cut", {{kSidecar, cut}}}, {"cut_times", 1}, {"chunk", 1024}});
  PullOptions o = Options();
  o.retries = 2;
  const PullResult r = Pull("owner/full", o);
  EXPECT_EQ(ReadFile(r.snapshot / kSidecar), ReadFile(TestModel("community") / kSidecar));
  size_t ranged = 0;
  for (const auto& q : hub_.Requests()) ranged += q["range"] == "bytes=" + std::to_string(cut) + "-";
  EXPECT_EQ(ranged, 1u);
}

TEST_F(PullTest, CorruptedBlobIsDetectedByItsHash) {
  hub_.SetFaults({{"corrupt", {kSidecar}}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt,
                      std::string(kSidecar) + ": corrupted download: its sha256 is");
  EXPECT_FALSE(fs::exists(Blob(kSidecar)));
  EXPECT_FALSE(fs::exists(Blob(kSidecar).string() + ".incomplete"));
  EXPECT_FALSE(FindCompleteSnapshot("owner/full", Options()).has_value());
  // Small (non-LFS) files are checked against their git blob sha1.
  hub_.SetFaults({{"corrupt", {"config.json"}}});
  PullOptions fresh = Options();
  fresh.cache_dir = tmp_ / "other-cache";
  EXPECT_GEMMA4_ERROR(Pull("owner/full", fresh), ErrorKind::kCorrupt, "config.json: corrupted download: its git sha1 is");
}

TEST_F(PullTest, GatedRepoSaysHowToSetAToken) {
  EXPECT_GEMMA4_ERROR(Pull("owner/gated", Options()), ErrorKind::kInvalidArgument,
                      "owner/gated is a gated model and no Hugging Face token is set (HTTP 401 GatedRepo");
  EXPECT_GEMMA4_ERROR(Pull("owner/gated", Options()), ErrorKind::kInvalidArgument, "export HF_TOKEN=hf_...");
  setenv("HF_TOKEN", "hf_wrong", 1);
  EXPECT_GEMMA4_ERROR(Pull("owner/gated", Options()), ErrorKind::kInvalidArgument,
                      "the token from HF_TOKEN has no access to it (HTTP 403 GatedRepo");
  setenv("HF_TOKEN", "hf_secret", 1);
  hub_.ClearLog();
  const PullResult r = Pull("owner/gated", Options());
  EXPECT_TRUE(fs::exists(r.snapshot / "onnx" / "decoder_model_merged_q4.onnx"));
  for (const auto& q : hub_.Requests()) {
    const bool cdn = q["path"].get<std::string>().rfind("/_cdn/", 0) == 0;
    // The token goes to the hub, never to the CDN it redirects to.
    EXPECT_EQ(q["auth"].is_null(), cdn) << q.dump();
  }
}

TEST_F(PullTest, MissingRepoRevisionOrDtypeIsNotFound) {
  EXPECT_GEMMA4_ERROR(Pull("owner/missing", Options()), ErrorKind::kNotFound,
                      "repository 'owner/missing' not found on " + hub_.url() + " (HTTP 401 RepoNotFound");
  setenv("HF_TOKEN", "hf_any", 1);
  EXPECT_GEMMA4_ERROR(Pull("owner/missing", Options()), ErrorKind::kNotFound, "(HTTP 404 RepoNotFound");
  EXPECT_GEMMA4_ERROR(Pull("owner/full@v9", Options()), ErrorKind::kNotFound,
                      "revision 'v9' not found in owner/full (HTTP 404 RevisionNotFound");
  PullOptions o = Options();
  o.dtype = "int8";
  EXPECT_GEMMA4_ERROR(Pull("owner/full", o), ErrorKind::kNotFound,
                      "owner/full@main has no onnx/embed_tokens_int8.onnx (dtype 'int8'; dtypes there: q4, q4f16)");
  EXPECT_GEMMA4_ERROR(Pull("not-a-repo", Options()), ErrorKind::kInvalidArgument, "is not a repo id");
}

TEST_F(PullTest, OfflineModeIsServedFromTheCache) {
  const PullResult online = Pull("owner/full", Options());
  hub_.ClearLog();
  setenv("HF_HUB_OFFLINE", "1", 1);
  PullOptions o = Options();
  const PullResult offline = Pull("owner/full", o);
  EXPECT_TRUE(offline.offline);
  EXPECT_EQ(offline.snapshot, online.snapshot);
  EXPECT_EQ(ResolveOrPull("owner/full", o), online.snapshot);
  EXPECT_TRUE(hub_.Requests().empty()) << "offline mode asked the hub";
  EXPECT_GEMMA4_ERROR(Pull("owner/gated", o), ErrorKind::kNotFound, "HF_HUB_OFFLINE is set");
  o.dtype = "q4f16";  // not pulled: the cache cannot serve it
  EXPECT_GEMMA4_ERROR(ResolveOrPull("owner/full", o), ErrorKind::kNotFound, "HF_HUB_OFFLINE is set");
}

TEST_F(PullTest, NetworkLossIsAClearError) {
  PullOptions o = Options();
  o.endpoint = "http://127.0.0.1:1";
  EXPECT_GEMMA4_ERROR(Pull("owner/full", o), ErrorKind::kRuntime, "cannot reach the hub at http://127.0.0.1:1");
}

TEST_F(PullTest, ResolveOrPullFetchesAMissingRepo) {
  const fs::path snapshot = ResolveOrPull("owner/full", Options());
  EXPECT_EQ(snapshot, RepoDir() / "snapshots" / kCommit);
  EXPECT_EQ(OpenPackage(snapshot).dtype, "q4");
}

TEST_F(PullTest, IncludeGlobsPickFiles) {
  PullOptions o = Options();
  o.include = {"*.json"};
  const PullResult r = Pull("owner/full", o);
  EXPECT_EQ(r.files, (std::vector<std::string>{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}));
  o.include = {"*.bin"};
  EXPECT_GEMMA4_ERROR(Pull("owner/full", o), ErrorKind::kNotFound, "no file matches --include *.bin");
}

// Everything under the scratch directory but the cache, to prove a hostile answer wrote nothing
// outside it.
std::set<std::string> FilesOutsideCache(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = e.path().lexically_relative(root).generic_string();
    if (rel.rfind("cache", 0) != 0 && rel.rfind("hf-home", 0) != 0) out.insert(rel);
  }
  return out;
}

TEST_F(PullTest, EtagThatIsNotAHashIsRefused) {
  // A path as the ETag would name a blob outside the cache.
  hub_.SetFaults({{"etag", {{"config.json", "../../../escaped"}}}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt,
                      "etag header for config.json is '\"../../../escaped\"', not the git sha1 (40 hex digits)");
  EXPECT_EQ(FilesOutsideCache(tmp_.path()), std::set<std::string>{});
  hub_.SetFaults({{"etag", {{"config.json", "/tmp/abs"}}}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt, "is '\"/tmp/abs\"', not the git sha1");
  // An LFS file must be named by its sha256: a 40-digit ETag is the wrong kind of hash.
  hub_.SetFaults({{"etag", {{kSidecar, std::string(40, 'a')}}}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt,
                      "x-linked-etag header for " + std::string(kSidecar) + " is '\"" + std::string(40, 'a') +
                          "\"', not the sha256 (64 hex digits)");
  // A hash of the right kind that is not the one the listing gave.
  hub_.SetFaults({{"etag", {{kSidecar, std::string(64, 'b')}}}});
  EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt, "but its file list says");
  // Only hash names (partial downloads of other files, stopped by the error, keep resuming).
  for (const auto& e : fs::directory_iterator(RepoDir() / "blobs")) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".incomplete") name = e.path().stem().string();
    EXPECT_TRUE(digest::IsHex(name, 40) || digest::IsHex(name, 64)) << e.path();
  }
}

TEST_F(PullTest, ListedNamesMustStayInsideTheSnapshot) {
  for (const std::string bad : {"../../../outside.json", "/etc/evil.json", "onnx/../../x.json", "a//b.json"}) {
    hub_.SetFaults({{"siblings", {bad}}});
    EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt, "names the file '" + bad + "' at siblings[");
  }
  EXPECT_EQ(FilesOutsideCache(tmp_.path()), std::set<std::string>{});
  EXPECT_FALSE(fs::exists(RepoDir() / "snapshots"));
}

TEST_F(PullTest, IncludeGlobsDoNotCrossDirectories) {
  PullOptions o = Options();
  o.include = {"*.onnx"};  // every graph is under onnx/
  EXPECT_GEMMA4_ERROR(Pull("owner/full", o), ErrorKind::kNotFound, "no file matches --include *.onnx");
  o.include = {"onnx/embed_tokens_q4.onnx*"};
  const PullResult r = Pull("owner/full", o);
  ASSERT_FALSE(r.files.empty());
  for (const auto& f : r.files) EXPECT_EQ(f.rfind("onnx/embed_tokens_q4.onnx", 0), 0u) << f;
}

TEST_F(PullTest, RevisionMustStayUnderRefs) {
  for (const std::string bad : {"/abs", "a//b", "x/../../y", "..", "v1 2", "a\\b"}) {
    EXPECT_GEMMA4_ERROR(Pull("owner/full@" + bad, Options()), ErrorKind::kInvalidArgument, "is not a revision");
  }
  EXPECT_TRUE(hub_.Requests().empty()) << "a bad revision reached the hub";
}

TEST_F(PullTest, RedirectsGoToHttpOnly) {
  for (const std::string bad : {"file:///etc/passwd", "ftp://127.0.0.1/x", "//evil.example/x", "gopher://x"}) {
    hub_.SetFaults({{"location", {{kSidecar, bad}}}});
    EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt,
                        "redirects " + std::string(kSidecar) + " to '" + bad + "' (Location header)");
  }
}

TEST_F(PullTest, SizeHeadersAreParsedStrictly) {
  for (const std::string bad : {"-1", "12abc", "1 2", "99999999999999999999999", "0x10", "+5"}) {
    hub_.SetFaults({{"size", {{kSidecar, bad}}}});
    EXPECT_GEMMA4_ERROR(Pull("owner/full", Options()), ErrorKind::kCorrupt,
                        "x-linked-size header for " + std::string(kSidecar) + " is '" + bad + "', not a size in bytes");
  }
}

TEST_F(PullTest, CachedBlobOfTheRightSizeIsCheckedByItsHash) {
  const PullResult first = Pull("owner/full", Options());
  const fs::path blob = Blob(kSidecar);
  std::string bytes = ReadFile(blob);
  bytes[bytes.size() / 2] ^= 0x5a;  // same size, other content (an in-place edit through a link)
  WriteFile(blob, bytes);
  const PullResult again = Pull("owner/full", Options());
  EXPECT_EQ(ReadFile(again.snapshot / kSidecar), ReadFile(TestModel("community") / kSidecar));
  EXPECT_GT(again.downloaded_bytes, 0u);
}

TEST_F(PullTest, TwoPullsAtOnceShareTheCacheSafely) {
  hub_.SetFaults({{"chunk", 4096}, {"delay_per_chunk", 0.002}});
  std::exception_ptr errors[2];
  PullResult results[2];
  std::thread a([&] { try { results[0] = Pull("owner/full", Options()); } catch (...) { errors[0] = std::current_exception(); } });
  std::thread b([&] { try { results[1] = Pull("owner/full", Options()); } catch (...) { errors[1] = std::current_exception(); } });
  a.join();
  b.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  EXPECT_EQ(results[0].snapshot, results[1].snapshot);
  const VerifyResult v = VerifyPackage(results[0].snapshot);
  EXPECT_TRUE(v.ok()) << v.problems.front();
  EXPECT_EQ(v.files_checked, ExpectedQ4Files().size());
  // Each blob crossed the network once: the second pull waited on the lock, then found it.
  std::set<std::string> seen;
  for (const auto& q : hub_.Requests()) {
    if (q["method"] == "GET" && q["path"].get<std::string>().rfind("/_cdn/", 0) == 0) {
      EXPECT_TRUE(seen.insert(q["path"]).second) << "downloaded twice: " << q["path"];
    }
  }
  for (const auto& e : fs::directory_iterator(RepoDir() / "blobs")) EXPECT_EQ(e.path().extension(), "");
}

}  // namespace
}  // namespace gemma4
