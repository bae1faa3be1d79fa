// A bound on how deeply a request body nests, checked on the raw bytes before any JSON value is
// built: copying, comparing or converting an nlohmann value recurses once per level, so a body
// of a million '[' would otherwise exhaust the stack of whichever code touches it first.
#pragma once

#include <cstddef>
#include <string_view>

namespace gemma4::server {

// Far above what real requests need (a tool schema nests a dozen levels), far below what the
// stack can take.
inline constexpr size_t kMaxJsonDepth = 128;

// Throws ApiError 400 (param: the top-level field at fault) when arrays and objects in `body`
// nest deeper than `max_depth`. Linear in the size of the body; says nothing about validity.
void CheckJsonDepth(std::string_view body, size_t max_depth = kMaxJsonDepth);

}  // namespace gemma4::server
