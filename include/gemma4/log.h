// The library's only voice besides return values and exceptions: one process-wide log sink
// that cli/ and server/ install. Nothing below cli/ writes to stdout or stderr directly.
#pragma once

#include <functional>
#include <string_view>

namespace gemma4 {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Called from whichever thread logs; must be thread-safe. An empty function silences the library.
using LogSink = std::function<void(LogLevel, std::string_view)>;

void SetLogSink(LogSink sink);
void SetLogLevel(LogLevel min_level);
void Log(LogLevel level, std::string_view message);

}  // namespace gemma4
