// Reading a whole file into memory, with the errors every module reports the same way.
#pragma once

#include <filesystem>
#include <string>

namespace gemma4 {

// The file's bytes. Throws Error(kNotFound) "<path>: file not found" when it is missing or not a
// regular file, Error(kRuntime) when reading fails.
std::string ReadTextFile(const std::filesystem::path& path);

}  // namespace gemma4
