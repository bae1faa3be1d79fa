// Helpers of the runtime tests: a package opened with a Runtime on one thread, deterministic
// prompts, and the largest difference between two rows of logits.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gemma4/runtime.h"
#include "test_util.h"

namespace gemma4::testing {

struct Loaded {
  Package package;
  std::unique_ptr<Runtime> runtime;
};

inline Loaded Load(const std::string& name, const std::string& dtype = "q4", RuntimeOptions options = {}) {
  Loaded l;
  l.package = OpenPackage(TestModel(name), PackageOptions{dtype});
  options.threads = options.threads ? options.threads : 1;
  l.runtime = std::make_unique<Runtime>(l.package, options);
  return l;
}

// `n` ids after <bos>, spread over the vocabulary above the special tokens; `seed` picks another run.
inline std::vector<int32_t> Prompt(size_t n, int32_t vocab, int32_t seed = 1) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((seed * 7919 + i * 104729) % (vocab - 300)) + 260;
  ids[0] = 2;  // <bos>
  return ids;
}

// A step's logits kept past the next Forward on the same state (which reuses their buffer).
inline std::vector<float> CopyLogits(std::span<const float> s) { return {s.begin(), s.end()}; }

// Between calls of other shapes on accuracy_level-4 graphs (MatMulNBits quantize activations to
// int8 and round one row differently from many): logits ~0.1 apart.
inline constexpr float kOtherBatchShapes = 1e-1f;

inline float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace gemma4::testing
