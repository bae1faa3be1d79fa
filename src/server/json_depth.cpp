// One pass over the body's bytes: strings skipped (escapes included), brackets counted, and the
// current top-level key remembered so the error can name the field.
#include "server/json_depth.h"

#include <string>

#include "server/api_error.h"

namespace gemma4::server {

void CheckJsonDepth(std::string_view body, size_t max_depth) {
  size_t depth = 0;
  bool top_level_object = false;
  bool expect_key = false;    // at depth 1 of the top-level object, the next string is a key
  std::string key;            // the current top-level field
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"') {
      const size_t start = i + 1;
      for (++i; i < body.size() && body[i] != '"'; ++i) {
        if (body[i] == '\\') ++i;
      }
      if (depth == 1 && top_level_object && expect_key) {
        key.assign(body.substr(start, std::min<size_t>(i - start, 64)));
        expect_key = false;
      }
    } else if (c == '{' || c == '[') {
      if (depth == 0) top_level_object = c == '{';
      if (++depth > max_depth) {
        const std::string where = key.empty() ? std::string() : " in field '" + key + "'";
        throw ApiError(400, ErrorKind::kLimit,
                       "the request body nests arrays and objects deeper than " + std::to_string(max_depth) +
                           " levels (at byte " + std::to_string(i) + where + ")",
                       key, "json_too_deep");
      }
      if (depth == 1) expect_key = top_level_object;
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    } else if (c == ',' && depth == 1) {
      expect_key = top_level_object;
    }
  }
}

}  // namespace gemma4::server
