// One client connection and the socket I/O the transport does on it: writes bounded by a
// deadline (never SIGPIPE), a cheap "has the client gone?" probe, and the response head.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "server/http_message.h"
#include "server/http_parser.h"

namespace gemma4::server {

using Clock = std::chrono::steady_clock;

// Owned by exactly one thread at a time: the reactor while a request is being read, a handler
// thread while it is answered. Closing the socket is the owner's job (the destructor).
struct Connection {
  Connection(int fd, std::string remote, const HttpLimits& limits) : fd(fd), remote(std::move(remote)), parser(limits) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd;
  std::string remote;  // "127.0.0.1:53412"
  HttpRequestParser parser;
  // The request (headers and body) must be in by then; before its first byte, the keep-alive
  // idle limit applies instead.
  Clock::time_point deadline;
  size_t requests_served = 0;
  bool continue_sent = false;
  // Refused (e.g. 413) with the request unread: our side is shut down for writing, and what the
  // client still sends is read and dropped until it closes or `deadline`. Closing at once with
  // unread bytes would reset the connection, and a reset can destroy the refusal before the
  // client reads it.
  bool lingering = false;
};

// Writes all of `data`, waiting for the socket as needed, until `deadline`. False when the peer
// is gone or too slow; the connection is then unusable.
bool SendAll(int fd, std::string_view data, Clock::time_point deadline);

// One non-blocking attempt, for short replies from the reactor thread (errors, 100 Continue),
// which must never wait on a client.
void SendNoWait(int fd, std::string_view data);

// True when the client closed or reset the connection (bytes it sent ahead do not count).
bool PeerClosed(int fd);

// "HTTP/1.1 200 OK\r\n...\r\n\r\n" for `res`: Content-Length for a whole body, chunked framing
// for a stream (HTTP/1.1) or end-of-connection framing (HTTP/1.0). `keep_alive_s` > 0 keeps the
// connection and tells the client how long it may stay idle (so that it, not the server, closes
// an idle connection first: a request sent just as the server closes would be lost); 0 closes.
std::string ResponseHead(const HttpResponse& res, int request_version_minor, int keep_alive_s);

// A short response with a JSON error body, whole, with "Connection: close".
std::string ErrorResponseBytes(int status, std::string_view json_body);

// The chunked stream of one response on a connection.
class ChunkedSink : public ResponseSink {
 public:
  ChunkedSink(int fd, bool chunked, std::chrono::seconds write_timeout)
      : fd_(fd), chunked_(chunked), write_timeout_(write_timeout) {}
  bool Write(std::string_view data) override;
  bool PeerGone() override { return !ok_ || PeerClosed(fd_); }
  // Sends the last chunk; false when the stream was already broken.
  bool Finish();
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool chunked_;
  std::chrono::seconds write_timeout_;
  bool ok_ = true;
};

}  // namespace gemma4::server
