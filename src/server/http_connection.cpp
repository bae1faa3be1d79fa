// Socket writes with deadlines, the peer-gone probe, and response heads. Every send uses
// MSG_NOSIGNAL: a client that vanished must cost an error return, never the process (an
// embedder of gemma4::Server may not ignore SIGPIPE).
#include "server/http_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace gemma4::server {

Connection::~Connection() {
  if (fd >= 0) ::close(fd);
}

bool SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) return false;
    if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return false;
  }
  return true;
}

void SendNoWait(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

bool PeerClosed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  int r;
  do r = ::poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP)) return true;
  if (p.revents & POLLIN) {
    // Readable: either bytes of a next request (still there) or the end of the stream.
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
  return false;
}

std::string ResponseHead(const HttpResponse& res, int request_version_minor, int keep_alive_s) {
  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + std::string(StatusText(res.status)) + "\r\n";
  for (const auto& [name, value] : res.headers) {
    if (HeaderNameEquals(name, "Connection") || HeaderNameEquals(name, "Content-Length") ||
        HeaderNameEquals(name, "Transfer-Encoding")) {
      continue;  // framing is the transport's
    }
    head += name + ": " + value + "\r\n";
  }
  const bool no_body = res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
  if (!no_body) {
    if (!res.content_type.empty()) head += "Content-Type: " + res.content_type + "\r\n";
    if (!res.stream) head += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
    else if (request_version_minor >= 1) head += "Transfer-Encoding: chunked\r\n";
  }
  if (keep_alive_s <= 0) {
    head += "Connection: close\r\n";
  } else {
    if (request_version_minor == 0) head += "Connection: keep-alive\r\n";
    head += "Keep-Alive: timeout=" + std::to_string(keep_alive_s) + "\r\n";
  }
  head += "\r\n";
  return head;
}

std::string ErrorResponseBytes(int status, std::string_view json_body) {
  HttpResponse res;
  res.status = status;
  res.body = std::string(json_body);
  return ResponseHead(res, 1, 0) + res.body;
}

bool ChunkedSink::Write(std::string_view data) {
  if (!ok_) return false;
  if (data.empty()) return true;
  std::string framed;
  if (chunked_) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    framed.reserve(data.size() + 32);
    framed += size;
    framed += data;
    framed += "\r\n";
    data = framed;
  }
  ok_ = SendAll(fd_, data, Clock::now() + write_timeout_);
  return ok_;
}

bool ChunkedSink::Finish() {
  if (!ok_) return false;
  if (chunked_) ok_ = SendAll(fd_, "0\r\n\r\n", Clock::now() + write_timeout_);
  return ok_;
}

}  // namespace gemma4::server
