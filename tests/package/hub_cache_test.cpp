// Resolving -m: directories as given, repo ids through the Hugging Face cache layout.
#include "gemma4/hub_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.h"

namespace gemma4 {
namespace {

using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

class HubCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("HF_HUB_CACHE", tmp_.path().c_str(), 1);
    const fs::path repo = tmp_ / "models--owner--model";
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "snapshots" / "abc123");
    WriteFile(repo / "refs" / "main", "abc123");
  }
  void TearDown() override { unsetenv("HF_HUB_CACHE"); }
  TempDir tmp_;
};

TEST_F(HubCacheTest, RepoIdResolvesToItsSnapshot) {
  EXPECT_EQ(ResolveModelPath("owner/model"), tmp_ / "models--owner--model" / "snapshots" / "abc123");
  EXPECT_EQ(ResolveModelPath("owner/model@abc123"), tmp_ / "models--owner--model" / "snapshots" / "abc123");
}

TEST_F(HubCacheTest, MissingRepoSaysHowToFetchIt) {
  EXPECT_GEMMA4_ERROR(ResolveModelPath("owner/other"), ErrorKind::kNotFound, "fetch it with: gemma4 pull owner/other");
}

TEST_F(HubCacheTest, DirectoriesWin) {
  EXPECT_EQ(ResolveModelPath(tmp_.path().string()), tmp_.path());
  EXPECT_FALSE(LooksLikeRepoId(tmp_.path().string()));
  EXPECT_TRUE(LooksLikeRepoId("google/gemma-4-E2B"));
  EXPECT_FALSE(LooksLikeRepoId("../x/y/z"));
}

TEST_F(HubCacheTest, RevisionsAndRefsCannotLeaveTheRepoFolder) {
  const fs::path outside = tmp_ / "outside";
  fs::create_directories(outside);
  // "@/abs" would read an arbitrary file as the ref, and a ref naming "../../outside" would pick
  // a directory outside the snapshots.
  EXPECT_GEMMA4_ERROR(ResolveModelPath("owner/model@" + outside.string()), ErrorKind::kNotFound, "gemma4 pull");
  WriteFile(tmp_ / "models--owner--model" / "refs" / "evil", "../../outside");
  EXPECT_GEMMA4_ERROR(ResolveModelPath("owner/model@evil"), ErrorKind::kNotFound, "gemma4 pull");
  WriteFile(tmp_ / "models--owner--model" / "refs" / "abs", outside.string());
  EXPECT_GEMMA4_ERROR(ResolveModelPath("owner/model@abs"), ErrorKind::kNotFound, "gemma4 pull");
}

TEST(HubCacheDir, FollowsTheEnvironmentOrder) {
  unsetenv("HF_HUB_CACHE");
  setenv("HF_HOME", "/srv/hf", 1);
  EXPECT_EQ(HubCacheDir(), fs::path("/srv/hf/hub"));
  setenv("HF_HUB_CACHE", "/data/cache", 1);
  EXPECT_EQ(HubCacheDir(), fs::path("/data/cache"));
  unsetenv("HF_HUB_CACHE");
  unsetenv("HF_HOME");
}

}  // namespace
}  // namespace gemma4
