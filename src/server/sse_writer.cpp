// SSE framing and the producer/consumer channel behind streamed responses.
#include "server/sse_writer.h"

namespace gemma4::server {

std::string SseEvent(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out += "data: ";
  out += payload;
  out += "\n\n";
  return out;
}

void StreamChannel::Push(std::string data) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    pending_ += data;
  }
  cv_.notify_one();
}

void StreamChannel::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  cv_.notify_one();
}

StreamChannel::Status StreamChannel::Pop(std::string& out, std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, until, [&] { return !pending_.empty() || closed_; });
  if (!pending_.empty()) {
    out.swap(pending_);
    pending_.clear();
    return Status::kData;
  }
  return closed_ ? Status::kClosed : Status::kTimeout;
}

}  // namespace gemma4::server
