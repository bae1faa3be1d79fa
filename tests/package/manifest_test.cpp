// `gemma4 verify`: a package against its manifest.json, a cache snapshot against its blob names.
#include "gemma4/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gemma4/repack.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::TestModel;
using testing::WriteFile;
namespace fs = std::filesystem;

constexpr char kData[] = "onnx/decoder_model_merged_q4.onnx_data";

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { Repack(TestModel("community"), dir_); }
  TempDir tmp_;
  fs::path dir_ = tmp_ / "pkg";
};

TEST_F(VerifyTest, IntactPackagePasses) {
  uint64_t last = 0;
  const VerifyResult r = VerifyPackage(dir_, [&](const VerifyProgress& p) {
    EXPECT_GE(p.done, last);
    last = p.done;
    return true;
  });
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.basis, VerifyBasis::kManifest);
  EXPECT_EQ(r.files_checked, ReadManifest(dir_).files.size());
  EXPECT_EQ(last, r.bytes_checked);
}

TEST_F(VerifyTest, FlippedByteTruncationAndMissingFilesAreNamed) {
  std::string bytes = ReadFile(dir_ / kData);
  bytes[bytes.size() / 2] ^= 1;
  WriteFile(dir_ / kData, bytes);
  WriteFile(dir_ / "tokenizer.json", ReadFile(dir_ / "tokenizer.json").substr(0, 100));
  fs::remove(dir_ / "generation_config.json");
  const VerifyResult r = VerifyPackage(dir_);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0], "generation_config.json: missing");
  EXPECT_EQ(r.problems[1].rfind(std::string(kData) + ": sha256 ", 0), 0u) << r.problems[1];
  EXPECT_NE(r.problems[1].find("(manifest.json)"), std::string::npos);
  EXPECT_EQ(r.problems[2].rfind("tokenizer.json: size 100 bytes, the manifest says ", 0), 0u) << r.problems[2];
}

TEST_F(VerifyTest, FilesTheManifestDoesNotListAreReported) {
  // A package whose template lives in tokenizer_config.json: an added chat_template.jinja would
  // take precedence over it, so it must not pass as verified.
  Manifest m = ReadManifest(dir_);
  std::erase_if(m.files, [](const ManifestEntry& e) { return e.path == "chat_template.jinja"; });
  WriteManifest(dir_, m);
  WriteFile(dir_ / "chat_template.jinja", "{{ 'hijacked' }}");
  fs::create_directories(dir_ / "onnx" / "extra");
  WriteFile(dir_ / "onnx" / "extra" / "x.onnx_data", "x");
  const VerifyResult r = VerifyPackage(dir_);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0], "chat_template.jinja: not listed in manifest.json (added after the package was made)");
  EXPECT_EQ(r.problems[1], "onnx/extra/x.onnx_data: not listed in manifest.json (added after the package was made)");
  EXPECT_FALSE(r.ok());
}

TEST_F(VerifyTest, BadManifestNamesTheField) {
  auto j = nlohmann::json::parse(ReadFile(dir_ / "manifest.json"));
  j["files"][1]["sha256"] = "xyz";
  WriteFile(dir_ / "manifest.json", j.dump());
  EXPECT_GEMMA4_ERROR(VerifyPackage(dir_), ErrorKind::kCorrupt, "manifest.json: /files/1/sha256: expected 64 lowercase hex");
  j["files"][1]["path"] = "../../etc/passwd";
  j["files"][1]["sha256"] = std::string(64, 'a');
  WriteFile(dir_ / "manifest.json", j.dump());
  EXPECT_GEMMA4_ERROR(VerifyPackage(dir_), ErrorKind::kCorrupt, "/files/1/path: '../../etc/passwd' is not a path inside");
}

TEST(Verify, NothingToCheckAgainst) {
  EXPECT_GEMMA4_ERROR(VerifyPackage(TestModel("text-q4")), ErrorKind::kNotFound,
                      "not a Hugging Face cache snapshot; nothing to verify against");
}

}  // namespace
}  // namespace gemma4
