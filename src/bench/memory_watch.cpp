// /proc/self/status parsing and the sampling thread behind MemoryWatch.
#include "bench/memory_watch.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace gemma4 {

MemoryFigures ReadMemoryFigures() {
  MemoryFigures f;
  std::ifstream in("/proc/self/status");
  std::string line;
  auto mb = [&](size_t skip) { return std::strtod(line.c_str() + skip, nullptr) / 1024.0; };  // kB
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) f.rss_mb = mb(6);
    else if (line.rfind("VmHWM:", 0) == 0) f.hwm_mb = mb(6);
    else if (line.rfind("RssAnon:", 0) == 0) f.anon_mb = mb(8);
  }
  return f;
}

namespace {

// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+); false when refused.
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

void RaiseTo(std::atomic<double>& peak, double v) {
  double cur = peak.load();
  while (v > cur && !peak.compare_exchange_weak(cur, v)) {
  }
}

}  // namespace

MemoryWatch::MemoryWatch(std::chrono::milliseconds interval) : interval_(interval) {
  hwm_reset_ = ResetPeakRss();
  Sample();
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(interval_);
      Sample();
    }
  });
}

MemoryWatch::~MemoryWatch() { Stop(); }

void MemoryWatch::Sample() {
  const MemoryFigures f = ReadMemoryFigures();
  RaiseTo(peak_rss_, f.rss_mb);
  RaiseTo(peak_anon_, f.anon_mb);
}

MemoryFigures MemoryWatch::Stop() {
  if (stopped_) return result_;
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  Sample();
  stopped_ = true;
  const MemoryFigures now = ReadMemoryFigures();
  result_.rss_mb = hwm_reset_ && now.hwm_mb > 0 ? now.hwm_mb : peak_rss_.load();
  result_.hwm_mb = now.hwm_mb;
  result_.anon_mb = peak_anon_.load();
  return result_;
}

}  // namespace gemma4
