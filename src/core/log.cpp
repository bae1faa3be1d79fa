// The process-wide log sink; guarded by a mutex so any thread may log.
#include "gemma4/log.h"

#include <mutex>
#include <utility>

namespace gemma4 {
namespace {

struct LogState {
  std::mutex mutex;
  LogSink sink;
  LogLevel min_level = LogLevel::kInfo;
};

LogState& State() {
  static LogState state;
  return state;
}

}  // namespace

void SetLogSink(LogSink sink) {
  std::lock_guard lock(State().mutex);
  State().sink = std::move(sink);
}

void SetLogLevel(LogLevel min_level) {
  std::lock_guard lock(State().mutex);
  State().min_level = min_level;
}

void Log(LogLevel level, std::string_view message) {
  std::lock_guard lock(State().mutex);
  if (State().sink && level >= State().min_level) State().sink(level, message);
}

}  // namespace gemma4
