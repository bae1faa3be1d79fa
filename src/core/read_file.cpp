// Whole-file reads: one sized read, no stream buffering copies.
#include "core/read_file.h"

#include <fstream>

#include "gemma4/error.h"

namespace gemma4 {

std::string ReadTextFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(ErrorKind::kNotFound, path.string() + ": file not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kNotFound, path.string() + ": file not found");
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw Error(ErrorKind::kRuntime, path.string() + ": cannot read");
  std::string data(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(data.data(), size)) throw Error(ErrorKind::kRuntime, path.string() + ": read failed");
  return data;
}

}  // namespace gemma4
