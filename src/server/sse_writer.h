// Server-sent events: the wire format of streamed completions, and the pull-style channel that
// carries events from a generation slot's thread to the HTTP thread writing the response.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

namespace gemma4::server {

// "data: <payload>\n\n". `payload` must not contain a newline (compact JSON never does).
std::string SseEvent(std::string_view payload);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
// A comment line: ignored by SSE clients, used to notice a vanished client while nothing is sent.
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

class StreamChannel {
 public:
  enum class Status { kData, kClosed, kTimeout };

  void Push(std::string data);  // producer
  void Close();                 // producer: nothing more will come
  // Consumer: everything pushed so far (concatenated) into `out`; kClosed once closed and drained.
  Status Pop(std::string& out, std::chrono::steady_clock::time_point until);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;
  bool closed_ = false;
};

}  // namespace gemma4::server
