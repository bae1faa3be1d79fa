// An incremental HTTP/1.x request parser that enforces every size limit while bytes arrive:
// request line, header count and bytes, body bytes after de-chunking. Nothing is allocated in
// proportion to what a client merely announces, and nothing recurses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/http_message.h"

namespace gemma4::server {

struct HttpLimits {
  size_t max_request_line = 8192;   // longer: 414
  size_t max_header_bytes = 16384;  // the whole header section (and a chunked body's trailers): 431
  size_t max_headers = 100;         // more header lines: 431
  size_t max_body = 4u << 20;       // decoded body bytes, whatever the framing: 413
};

class HttpRequestParser {
 public:
  enum class Status {
    kNeedMore,  // feed more bytes
    kComplete,  // request() is whole; leftover() holds bytes of a pipelined next request
    kError,     // error_status()/error_message() say why; the connection must be closed
  };

  explicit HttpRequestParser(HttpLimits limits) : limits_(limits) {}

  // Appends `data` and parses as far as it goes. After kComplete or kError, Feed does nothing
  // until Reset().
  Status Feed(std::string_view data);

  // Starts the next request on the same connection; bytes already received past the previous
  // request are parsed first (call Feed({}) to process them).
  void Reset();

  bool started() const { return !buffer_.empty() || state_ != State::kRequestLine; }
  // The header section is in: the handler-independent checks can run (and a client that sent
  // "Expect: 100-continue" may be told to go on).
  bool headers_done() const { return state_ > State::kHeaders; }
  bool expects_continue() const { return expect_continue_; }
  bool keep_alive() const { return keep_alive_; }

  HttpRequest& request() { return request_; }
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  enum class State { kRequestLine, kHeaders, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone, kError };

  Status Fail(int status, std::string message);
  // Takes one line (without CR LF) from buffer_ at pos_; false when no full line is buffered.
  bool TakeLine(std::string_view& line, size_t max_length, bool& too_long);
  Status ParseRequestLine(std::string_view line);
  Status ParseHeader(std::string_view line);
  Status EndOfHeaders();
  void Compact();

  HttpLimits limits_;
  State state_ = State::kRequestLine;
  std::string buffer_;   // received, not yet consumed from pos_
  size_t pos_ = 0;
  size_t scan_ = 0;      // where the search for the next line end resumes (avoids rescans)
  size_t header_bytes_ = 0;
  size_t header_count_ = 0;
  size_t content_length_ = 0;
  size_t chunk_left_ = 0;
  bool chunked_ = false;
  bool expect_continue_ = false;
  bool keep_alive_ = true;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace gemma4::server
