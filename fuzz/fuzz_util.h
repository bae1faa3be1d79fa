// Shared by the libFuzzer harnesses: what a harness may see thrown. A gemma4::Error is the
// contract for bad input (the message names the culprit); anything else escaping is a bug, and
// aborting makes libFuzzer save the input that caused it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "gemma4/error.h"

namespace gemma4::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// Runs `f`; a gemma4::Error is an accepted outcome, any other exception aborts.
template <typename F>
void ExpectOnlyGemmaErrors(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "gemma4::Error with an empty message\n");
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception (not gemma4::Error): %s\n", e.what());
    std::abort();
  }
}

// A property the harness checks; failing it aborts with `what`.
inline void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace gemma4::fuzz
