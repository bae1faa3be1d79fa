// Reading JSON files with errors that point at the file, line and column.
#include <algorithm>

#include "gemma4/error.h"
#include "gemma4/package.h"
#include "core/read_file.h"

namespace gemma4 {
namespace {

template <typename Json>
Json ParseJsonText(const std::string& text, const std::filesystem::path& path) {
  try {
    return Json::parse(text);
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

}  // namespace

nlohmann::json ReadJsonFile(const std::filesystem::path& path) {
  return ParseJsonText<nlohmann::json>(ReadTextFile(path), path);
}

nlohmann::ordered_json ReadOrderedJsonFile(const std::filesystem::path& path) {
  return ParseJsonText<nlohmann::ordered_json>(ReadTextFile(path), path);
}

}  // namespace gemma4
