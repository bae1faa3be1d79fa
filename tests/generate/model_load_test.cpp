// Model::Load reads local files only: a repo id must be complete in the cache (pulling is the
// caller's explicit step, with progress and offline control).
#include <gtest/gtest.h>

#include <cstdlib>

#include "gemma4/error.h"
#include "gemma4/model.h"
#include "test_util.h"

namespace gemma4 {
namespace {

TEST(ModelLoad, ARepoIdMissingFromTheCacheIsNotDownloaded) {
  testing::TempDir cache;
  ::setenv("HF_HUB_CACHE", cache.path().c_str(), 1);
  ::setenv("HF_HOME", cache.path().c_str(), 1);
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);  // nothing listens there; a download attempt would say so
  ::unsetenv("HF_HUB_OFFLINE");
  try {
    Model::Load("nobody/not-cached");
    FAIL() << "loaded a model that is not there";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("gemma4 pull nobody/not-cached"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
  // A plain missing directory still names itself.
  try {
    Model::Load("/nonexistent/package");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/package"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gemma4
