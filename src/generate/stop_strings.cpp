// Stop strings across chunk boundaries.
#include <algorithm>
#include <string>

#include "gemma4/error.h"
#include "generate/stop_strings.h"

namespace gemma4 {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
  for (size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) {
      throw Error(ErrorKind::kInvalidArgument, "stop[" + std::to_string(i) + "] is an empty string");
    }
    max_len_ = std::max(max_len_, stops_[i].size());
  }
}

StopStringMatcher::Result StopStringMatcher::Feed(std::string_view chunk) {
  Result result;
  result.stopped = stopped_;
  if (stopped_ || chunk.empty()) return result;
  held_.append(chunk);
  // Every stop that could end inside this chunk starts inside held_: what was released before could not be
  // the start of any stop. Pick the occurrence that ends first, as a byte-by-byte stream would.
  size_t best_end = std::string::npos, best_start = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t pos = held_.find(stops_[i]);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stops_[i].size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_end = end;
      best_start = pos;
      matched_ = static_cast<int>(i);
    }
  }
  if (best_end != std::string::npos) {
    result.text = held_.substr(0, best_start);
    result.stopped = stopped_ = true;
    held_.clear();
    return result;
  }
  // Hold the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (size_t k = max_len_ == 0 ? 0 : std::min(held_.size(), max_len_ - 1); k > 0 && hold == 0; --k) {
    const std::string_view suffix = std::string_view(held_).substr(held_.size() - k);
    for (const auto& s : stops_) {
      if (s.size() > k && std::string_view(s).substr(0, k) == suffix) {
        hold = k;
        break;
      }
    }
  }
  result.text = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return result;
}

std::string StopStringMatcher::Flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace gemma4
