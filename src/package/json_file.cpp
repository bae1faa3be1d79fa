// Reading JSON files with errors that point at the file, line and column.
#include <fstream>
#include <sstream>

#include "gemma4/error.h"
#include "gemma4/package.h"

namespace gemma4 {

nlohmann::json ReadJsonFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kNotFound, path.string() + ": file not found");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t byte = e.byte > 0 ? std::min<size_t>(e.byte - 1, text.size()) : 0;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < byte; ++i) {
      if (text[i] == '\n') line++, column = 1;
      else column++;
    }
    std::string reason = e.what();
    // nlohmann's message repeats the position; keep only the part after "syntax error while parsing ...".
    if (auto colon = reason.find("- "); colon != std::string::npos) reason = reason.substr(colon + 2);
    if (text.empty() || byte >= text.size()) reason = "unexpected end of file (truncated?); " + reason;
    throw Error(ErrorKind::kCorrupt, path.string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                         ": invalid JSON: " + reason);
  }
}

}  // namespace gemma4
