// A one-line progress bar on stderr (bytes, percent, speed, ETA) for pull, repack and verify.
// On a terminal it redraws in place; otherwise it prints a line per finished file only.
#pragma once

#include "core/format.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "gemma4/hub.h"

namespace gemma4::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();  // ends the line

  // `speed` <= 0: computed from the bytes seen since the bar was made.
  void Update(uint64_t done, uint64_t total, const std::string& item, double speed = 0);
  // A permanent line above the bar ("fetched onnx/x.onnx_data (1.2 GiB)").
  void Note(const std::string& line);
  void Finish();

 private:
  void Clear();
  std::string label_;
  bool tty_;
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

// A pull progress callback drawing into `bar` (created at the first event, so a pull served from
// the cache draws nothing) with a note per finished file.
PullProgressFn PullProgressPrinter(std::unique_ptr<ProgressBar>& bar, const std::string& label);

}  // namespace gemma4::cli
