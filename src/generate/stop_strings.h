// User stop strings matched on the decoded text (EOS ids and max_new_tokens are the Generator's own checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4 {

// Finds user stop strings in streamed text. Feed it the decoded chunks in order (as the streaming
// detokenizer emits them); each call returns the text that is safe to show now. A suffix that could still
// grow into a stop string is held back until it either completes one or stops matching; Flush() releases
// it when generation ends for another reason.
//
// The emitted text never contains a stop string nor anything after it. The result does not depend on how
// the text is cut into chunks: the stop that counts is the one that completes first in the text (at equal
// end, the longest), and everything from its first byte on is dropped. Matching is on bytes, so multi-byte
// UTF-8 stops work, and a held suffix always starts at a character boundary of valid UTF-8 input.
class StopStringMatcher {
 public:
  // Empty strings in `stop_strings` are rejected (kInvalidArgument): they would match before any text.
  explicit StopStringMatcher(std::vector<std::string> stop_strings);

  struct Result {
    std::string text;      // safe to emit now (may be empty)
    bool stopped = false;  // a stop string completed: end generation, emit `text`, then nothing more
  };

  // After a stop, every further call returns empty text with stopped = true.
  Result Feed(std::string_view chunk);

  // The held-back text, at the end of generation (empty after a stop).
  std::string Flush();

  bool stopped() const { return stopped_; }
  // Index into stop_strings() of the stop that matched, or -1.
  int matched_index() const { return matched_; }
  const std::vector<std::string>& stop_strings() const { return stops_; }
  // Bytes held back right now (a proper prefix of some stop string).
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  size_t max_len_ = 0;
  std::string held_;
  bool stopped_ = false;
  int matched_ = -1;
};

}  // namespace gemma4
