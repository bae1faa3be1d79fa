// The `gemma4 info` report on a generated package: layout, files, discovery and the memory plan
// agree with what the package and the runtime say themselves.
#include "gemma4/describe.h"

#include <gtest/gtest.h>

#include "runtime/discovered_io.h"
#include "runtime/runtime_fixture.h"

namespace gemma4 {
namespace {

using testing::Load;
using testing::Loaded;

TEST(Describe, ReportsDiscoveryAndAMemoryPlan) {
  // Every cache whole (kv_window_test.cpp checks the plan of caches trimmed to their window).
  RuntimeOptions whole;
  whole.kv_window = false;
  Loaded l = Load("community", "q4", whole);
  nlohmann::json j = DescribeModel(l.package, l.runtime.get(), 1000);
  EXPECT_EQ(j["layout"], "community");
  EXPECT_EQ(j["discovery"]["kv_layers"].size(), DecoderIoOf(*l.runtime).kv_layers.size());
  EXPECT_EQ(j["discovery"]["kv_shared_layers"], l.package.config.num_kv_shared_layers);
  EXPECT_EQ(j["discovery"]["split_prefill"], true);
  const uint64_t per_token = DecoderIoOf(*l.runtime).KvBytesPerToken();
  EXPECT_EQ(j["memory"]["kv_bytes_per_token"], per_token);
  EXPECT_EQ(j["memory"]["decoder"]["kv_cache_bytes"], per_token * 1000);
  EXPECT_EQ(j["memory"]["decoder"]["weight_bytes"], l.package.decoder.WeightBytes());
  EXPECT_EQ(j["graphs"]["decoder"]["external_data"].size(), 1u);
  EXPECT_EQ(j["files"]["chat_template"], "tokenizer_config.json#chat_template");
}

}  // namespace
}  // namespace gemma4
