// `gemma4 repack`: a generated community export becomes exactly the text-only package the
// generator writes for the same model; failures and kills leave DST untouched.
#include "gemma4/repack.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "gemma4/package.h"
#include "package/digest.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::CopyPackage;
using testing::ReadFile;
using testing::TempDir;
using testing::TestModel;
using testing::WriteFile;
namespace fs = std::filesystem;

std::set<std::string> Files(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(e.path().lexically_relative(dir).generic_string());
  }
  return out;
}

// Entries of `dir` whose names mark an unfinished repack.
std::vector<std::string> Leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".repack-") != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

TEST(Repack, CommunityExportBecomesTheTextOnlyPackage) {
  TempDir tmp;
  const RepackResult r = Repack(TestModel("community"), tmp / "text");
  // `text-q4-sidecar` is what the generator writes for the same model in the text layout.
  const fs::path expected = TestModel("text-q4-sidecar");
  std::set<std::string> want = Files(expected);
  want.insert("manifest.json");
  EXPECT_EQ(Files(tmp / "text"), want);
  for (const auto& f : Files(expected)) {
    if (f == "config.json" || f == "tokenizer_config.json") {
      EXPECT_EQ(nlohmann::json::parse(ReadFile(tmp / "text" / f)), nlohmann::json::parse(ReadFile(expected / f))) << f;
    } else {
      EXPECT_TRUE(ReadFile(tmp / "text" / f) == ReadFile(expected / f)) << f << " differs";
    }
  }
  const Package p = OpenPackage(tmp / "text");
  EXPECT_EQ(p.layout, PackageLayout::kTextOnly);
  EXPECT_EQ(p.available_dtypes, std::vector<std::string>{"q4"});
  // The manifest lists every other file with its size and sha256.
  const Manifest m = ReadManifest(tmp / "text");
  EXPECT_EQ(m.dtype, "q4");
  ASSERT_EQ(m.files.size(), want.size() - 1);
  for (const auto& e : m.files) {
    EXPECT_EQ(e.size, fs::file_size(tmp / "text" / e.path)) << e.path;
    EXPECT_EQ(e.sha256, digest::Sha256Hex(ReadFile(tmp / "text" / e.path))) << e.path;
  }
  EXPECT_TRUE(VerifyPackage(tmp / "text").ok());
  EXPECT_EQ(r.dst, tmp / "text");
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
}

TEST(Repack, KeepsTheOtherDtypeAndEverySplitSidecar) {
  TempDir tmp;
  RepackOptions o;
  o.dtype = "q4f16";
  Repack(TestModel("community"), tmp / "f16", o);
  std::set<std::string> onnx;
  for (const auto& f : Files(tmp / "f16")) {
    if (f.rfind("onnx/", 0) == 0) onnx.insert(f);
  }
  EXPECT_EQ(onnx, (std::set<std::string>{"onnx/decoder_model_merged_q4f16.onnx", "onnx/decoder_model_merged_q4f16.onnx_data",
                                         "onnx/embed_tokens_q4f16.onnx", "onnx/embed_tokens_q4f16.onnx_data"}));
  const Package src = OpenPackage(TestModel("sidecar-split"));
  Repack(TestModel("sidecar-split"), tmp / "split");
  ASSERT_EQ(src.decoder.external_data.size(), 3u);
  for (const auto& side : src.decoder.external_data) {
    EXPECT_TRUE(ReadFile(tmp / "split" / "onnx" / side.location) == ReadFile(side.path)) << side.location;
  }
  EXPECT_EQ(OpenPackage(tmp / "split").decoder.external_data.size(), 3u);
}

TEST(Repack, PromotesTheTextConfig) {
  const auto community = nlohmann::ordered_json::parse(ReadFile(TestModel("community") / "config.json"));
  const auto text = PromoteTextConfig(community);
  EXPECT_EQ(text["model_type"], "gemma4_text");
  EXPECT_EQ(text["architectures"], nlohmann::ordered_json::array({"Gemma4ForCausalLM"}));
  for (const char* gone : {"text_config", "vision_config", "audio_config", "image_token_id", "audio_token_id",
                           "transformers.js_config"}) {
    EXPECT_FALSE(text.contains(gone)) << gone;
  }
  EXPECT_EQ(text["hidden_size"], community["text_config"]["hidden_size"]);
  // Top-level token ids fill in what the text config lacks.
  auto nested_only = community;
  nested_only["text_config"].erase("eos_token_id");
  EXPECT_EQ(PromoteTextConfig(nested_only)["eos_token_id"], community["eos_token_id"]);
  EXPECT_EQ(PromoteTextConfig(text), text);  // already text-only: unchanged
}

TEST(Repack, MissingSidecarFailsWithItsNameAndLeavesNoDst) {
  TempDir tmp;
  const fs::path src = CopyPackage("sidecar-split", tmp);
  fs::remove(src / "onnx" / "decoder_model_merged_q4.onnx_data_1");
  EXPECT_GEMMA4_ERROR(Repack(src, tmp / "out"), ErrorKind::kNotFound,
                      "decoder_model_merged_q4.onnx references external data 'decoder_model_merged_q4.onnx_data_1'");
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
}

TEST(Repack, ExistingDstIsRefusedOrSwappedWhole) {
  TempDir tmp;
  fs::create_directories(tmp / "out");
  WriteFile(tmp / "out" / "old.txt", "old");
  EXPECT_GEMMA4_ERROR(Repack(TestModel("text-q4"), tmp / "out"), ErrorKind::kInvalidArgument, "already exists");
  EXPECT_EQ(Files(tmp / "out"), std::set<std::string>{"old.txt"});
  RepackOptions o;
  o.overwrite = true;
  // --force replaces only what a repack wrote: a folder with someone's file is refused, intact.
  EXPECT_GEMMA4_ERROR(Repack(TestModel("text-q4"), tmp / "out", o), ErrorKind::kInvalidArgument,
                      "has no manifest.json, so it is not a package a repack wrote");
  EXPECT_EQ(Files(tmp / "out"), std::set<std::string>{"old.txt"});
  fs::remove(tmp / "out" / "old.txt");
  Repack(TestModel("text-q4"), tmp / "out", o);  // empty: replaced
  Repack(TestModel("community"), tmp / "out", o);  // a repacked package: replaced whole
  EXPECT_TRUE(VerifyPackage(tmp / "out").ok());
  WriteFile(tmp / "out" / "notes.txt", "mine");
  EXPECT_GEMMA4_ERROR(Repack(TestModel("text-q4"), tmp / "out", o), ErrorKind::kInvalidArgument,
                      "holds 'notes.txt', which its manifest.json does not list");
  EXPECT_EQ(ReadFile(tmp / "out" / "notes.txt"), "mine");
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
}

TEST(Repack, DstThatHoldsOrLiesInsideSrcIsRefused) {
  TempDir tmp;
  const fs::path src = CopyPackage("community", tmp);
  RepackOptions o;
  o.overwrite = true;
  // `gemma4 repack models/x models --force` must not swap out (and delete) models/.
  EXPECT_GEMMA4_ERROR(Repack(src, tmp.path(), o), ErrorKind::kInvalidArgument, "contains SRC");
  EXPECT_GEMMA4_ERROR(Repack(src, src / "onnx" / "out", o), ErrorKind::kInvalidArgument, "lies inside SRC");
  // Through a symlink to SRC's parent too.
  fs::create_directory_symlink(tmp.path(), tmp / "alias");
  EXPECT_GEMMA4_ERROR(Repack(src, tmp / "alias", o), ErrorKind::kInvalidArgument, "contains SRC");
  EXPECT_TRUE(fs::exists(src / "onnx" / "decoder_model_merged_q4.onnx"));
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
}

TEST(Repack, DstInsideTheHubCacheIsRefused) {
  TempDir tmp;
  setenv("HF_HUB_CACHE", (tmp / "hub").c_str(), 1);
  fs::create_directories(tmp / "hub" / "models--a--b");
  RepackOptions o;
  o.overwrite = true;
  EXPECT_GEMMA4_ERROR(Repack(TestModel("community"), tmp / "hub" / "models--a--b" / "out", o), ErrorKind::kInvalidArgument,
                      "overlaps the Hugging Face cache");
  EXPECT_GEMMA4_ERROR(Repack(TestModel("community"), tmp.path(), o), ErrorKind::kInvalidArgument,
                      "overlaps the Hugging Face cache");
  EXPECT_TRUE(fs::exists(tmp / "hub" / "models--a--b"));
  unsetenv("HF_HUB_CACHE");
}

TEST(Repack, LinkNeverSharesAnInodeWithAHubCacheBlob) {
  TempDir tmp;
  // A snapshot as huggingface_hub lays it out: relative symlinks into blobs/.
  const fs::path repo = tmp / "hub" / "models--owner--name";
  const fs::path snapshot = repo / "snapshots" / std::string(40, 'c');
  const fs::path pkg = TestModel("community");
  for (const auto& e : fs::recursive_directory_iterator(pkg)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = e.path().lexically_relative(pkg).generic_string();
    const std::string hash = digest::Sha256Hex(ReadFile(e.path()));
    fs::create_directories(repo / "blobs");
    fs::copy_file(e.path(), repo / "blobs" / hash, fs::copy_options::overwrite_existing);
    fs::create_directories((snapshot / rel).parent_path());
    fs::create_symlink((repo / "blobs" / hash).lexically_relative((snapshot / rel).parent_path()), snapshot / rel);
  }
  setenv("HF_HUB_CACHE", (tmp / "hub").c_str(), 1);
  RepackOptions o;
  o.link = true;
  const RepackResult r = Repack(snapshot, tmp / "linked", o);
  unsetenv("HF_HUB_CACHE");
  for (const auto& f : r.files) {
    EXPECT_NE(f.method, CopyMethod::kHardLink) << f.path;
    if (f.method == CopyMethod::kWritten) continue;
    EXPECT_FALSE(fs::equivalent(fs::canonical(snapshot / f.path), tmp / "linked" / f.path)) << f.path;
  }
  // Editing DST in place leaves the blob (named by its hash) alone.
  const fs::path edited = tmp / "linked" / "onnx" / "decoder_model_merged_q4.onnx_data";
  const fs::path blob = fs::canonical(snapshot / "onnx" / "decoder_model_merged_q4.onnx_data");
  const std::string before = ReadFile(blob);
  {
    std::fstream f(edited, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put(static_cast<char>(~before[0]));
  }
  EXPECT_NE(ReadFile(edited), before);
  EXPECT_EQ(ReadFile(blob), before);
  EXPECT_EQ(digest::Sha256Hex(ReadFile(blob)), blob.filename().string());
}

TEST(Repack, CancelledOrRefusedRepackLeavesNothing) {
  TempDir tmp;
  RepackOptions o;
  o.progress = [](const RepackProgress& p) { return p.done < p.total / 2; };
  EXPECT_GEMMA4_ERROR(Repack(TestModel("community"), tmp / "out", o), ErrorKind::kCancelled, "repack stopped");
  EXPECT_FALSE(fs::exists(tmp / "out"));
  RepackOptions refuse;
  refuse.verify = [](const fs::path& dir) {
    EXPECT_TRUE(fs::exists(dir / "manifest.json"));  // the finished package, not yet published
    throw Error(ErrorKind::kCorrupt, "load check failed");
  };
  EXPECT_GEMMA4_ERROR(Repack(TestModel("community"), tmp / "out", refuse), ErrorKind::kCorrupt, "load check failed");
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
}

// A child process repacks and is killed (SIGKILL, no cleanup possible) halfway through the copy.
void RepackAndDieHalfway(const fs::path& src, const fs::path& dst, bool overwrite) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    RepackOptions o;
    o.overwrite = overwrite;
    o.progress = [](const RepackProgress& p) {
      if (p.done >= p.total / 2) ::raise(SIGKILL);
      return true;
    };
    try {
      Repack(src, dst, o);
    } catch (...) {
    }
    ::_exit(0);  // not reached when the kill lands
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the repack was not killed midway";
}

TEST(Repack, KilledMidwayLeavesDstUntouched) {
  TempDir tmp;
  RepackAndDieHalfway(TestModel("community"), tmp / "out", false);
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_EQ(Leftovers(tmp.path()).size(), 1u);  // the dead process's half-built folder

  Repack(TestModel("text-q4"), tmp / "old");
  const std::set<std::string> previous = Files(tmp / "old");
  const std::string previous_manifest = ReadFile(tmp / "old" / "manifest.json");
  RepackAndDieHalfway(TestModel("community"), tmp / "old", true);
  EXPECT_EQ(Files(tmp / "old"), previous);
  EXPECT_EQ(ReadFile(tmp / "old" / "manifest.json"), previous_manifest);

  // The next repack to the same place clears what the killed ones left.
  Repack(TestModel("community"), tmp / "out");
  EXPECT_TRUE(VerifyPackage(tmp / "out").ok());
  const auto left = Leftovers(tmp.path());
  ASSERT_EQ(left.size(), 1u);  // only the one beside "old"
  EXPECT_NE(left[0].find(".old.repack-"), std::string::npos);
}

TEST(Repack, LinkSharesDataWithTheSource) {
  TempDir tmp;
  const fs::path src = CopyPackage("community", tmp);  // same filesystem as DST
  RepackOptions o;
  o.link = true;
  const RepackResult r = Repack(src, tmp / "linked", o);
  for (const auto& f : r.files) {
    if (f.path.rfind("onnx/", 0) != 0) continue;
    EXPECT_TRUE(f.method == CopyMethod::kReflink || f.method == CopyMethod::kHardLink) << f.path;
    if (f.method == CopyMethod::kHardLink) EXPECT_TRUE(fs::equivalent(src / f.path, tmp / "linked" / f.path)) << f.path;
  }
  EXPECT_TRUE(VerifyPackage(tmp / "linked").ok());
}

}  // namespace
}  // namespace gemma4
