// Peak memory of this process over a stretch of work, for `gemma4 bench`: resident set (VmHWM,
// reset at the start where the kernel allows it) and anonymous memory (RssAnon: caches, buffers
// and ONNX Runtime's arenas, not the mapped weights), which Linux keeps no peak of, so a thread
// samples it.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace gemma4 {

// Current figures of /proc/self/status in MiB (0 when unknown).
struct MemoryFigures {
  double rss_mb = 0, hwm_mb = 0, anon_mb = 0;
};
MemoryFigures ReadMemoryFigures();

class MemoryWatch {
 public:
  // Starts sampling every `interval` on a thread of its own.
  explicit MemoryWatch(std::chrono::milliseconds interval = std::chrono::milliseconds(5));
  ~MemoryWatch();
  MemoryWatch(const MemoryWatch&) = delete;
  MemoryWatch& operator=(const MemoryWatch&) = delete;

  // Stops sampling (idempotent) and returns the peaks since construction: peak RSS from VmHWM when
  // it could be reset, else the largest sample; peak anonymous memory from the samples.
  MemoryFigures Stop();

 private:
  void Sample();

  std::chrono::milliseconds interval_;
  bool hwm_reset_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<double> peak_rss_{0}, peak_anon_{0};
  std::thread thread_;
  MemoryFigures result_;
  bool stopped_ = false;
};

}  // namespace gemma4
