// Human-readable figures shared by messages, the CLI and logs.
#pragma once

#include <cstdint>
#include <string>

namespace gemma4 {

// 1536 -> "1.5 KiB", 3.6e9 -> "3.35 GiB" (binary units).
std::string FormatBytes(uint64_t bytes);

}  // namespace gemma4
