// HostBuffer: growing keeps the contents (the KV cache relies on it instead of copying) and the
// new bytes are zero.
#include "runtime/host_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace gemma4 {
namespace {

TEST(HostBuffer, GrowingKeepsTheContents) {
  HostBuffer b(1000);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(b.size(), 1000u);
  auto* bytes = static_cast<uint8_t*>(b.data());
  for (size_t i = 0; i < 1000; ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  b.Grow(500);  // never shrinks
  EXPECT_EQ(b.size(), 1000u);
  b.Grow(64u << 20);  // far past the first mapping: the kernel may move it
  EXPECT_EQ(b.size(), 64u << 20);
  bytes = static_cast<uint8_t*>(b.data());
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(bytes[i], static_cast<uint8_t>(i * 7)) << i;
  EXPECT_EQ(bytes[(64u << 20) - 1], 0);
  HostBuffer moved = std::move(b);
  EXPECT_EQ(moved.size(), 64u << 20);
  EXPECT_EQ(b.data(), nullptr);
}

}  // namespace
}  // namespace gemma4
