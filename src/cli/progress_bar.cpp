// Drawing the progress bar.
#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace gemma4::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(::isatty(2) == 1) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Clear() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

void ProgressBar::Update(uint64_t done, uint64_t total, const std::string& item, double speed) {
  if (!tty_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (speed <= 0 && elapsed > 0.2) speed = done / elapsed;
  const double fraction = total ? std::min(1.0, double(done) / double(total)) : 1.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::string eta = "--:--";
  if (speed > 0 && total >= done) {
    const long s = static_cast<long>((total - done) / speed);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    eta = buf;
  }
  std::string shown = item.size() > 40 ? "..." + item.substr(item.size() - 37) : item;
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %s / %s %s/s ETA %s %s", label_.c_str(), bar.c_str(),
               static_cast<int>(fraction * 100), FormatBytes(done).c_str(), FormatBytes(total).c_str(),
               FormatBytes(static_cast<uint64_t>(speed)).c_str(), eta.c_str(), shown.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Note(const std::string& line) {
  Clear();
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (drawn_) {
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }
  drawn_ = false;
}

PullProgressFn PullProgressPrinter(std::unique_ptr<ProgressBar>& bar, const std::string& label) {
  return [&bar, label](const PullProgress& p) {
    using Event = PullProgress::Event;
    if (p.event == Event::kCached || (p.event == Event::kPlan && p.total == p.done)) return true;
    if (!bar) bar = std::make_unique<ProgressBar>(label);
    if (p.event == Event::kFileDone) bar->Note("  fetched " + p.file + " (" + FormatBytes(p.file_total) + ")");
    if (p.event == Event::kStart && p.file_done > 0) {
      bar->Note("  resuming " + p.file + " at " + FormatBytes(p.file_done) + " of " + FormatBytes(p.file_total));
    }
    bar->Update(p.done, p.total, p.file, p.bytes_per_second);
    return true;
  };
}

}  // namespace gemma4::cli
