// What a route handler sees of HTTP: one parsed request, and the response it fills in (a whole
// body, or a stream written through a sink while the handler runs).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma4::server {

// Header names compare case-insensitively (RFC 9110 §5.1).
bool HeaderNameEquals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;   // "GET", "POST", ... as sent (methods are case-sensitive)
  std::string target;   // request-target as sent: "/v1/models?x=1"
  std::string path;     // target up to '?'
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, values trimmed
  std::string body;     // decoded (chunked framing removed)
  std::string remote;   // "127.0.0.1:53412"
  bool authorized = false;  // the API key was sent (or none is set); filled in before the handler runs
  // True once the client has closed or reset the connection; cheap, callable from the handler's
  // thread while it waits (a request whose client left must stop at once).
  std::function<bool()> client_gone;

  // The first header of that name, or "" (has_header tells an empty value from a missing one).
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Where a streamed response goes. Write() returns false once the client is gone (or too slow
// to take the data within the write timeout); after that every call returns false.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual bool Write(std::string_view data) = 0;
  // True when the client has closed its side or reset the connection. Cheap (no blocking).
  virtual bool PeerGone() = 0;
};

struct HttpResponse {
  int status = 200;
  // Besides Content-Type; the transport owns Content-Length, Transfer-Encoding and Connection
  // (a "Connection: close" here closes the connection after the response).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  std::string body;
  // Set for a streamed body: called on the handler's thread after the status line and headers
  // went out; everything it writes is sent with chunked framing. Returns when the stream ends.
  std::function<void(ResponseSink&)> stream;

  void set_header(std::string name, std::string value);
  bool has_header(std::string_view name) const;
  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
};

// The reason phrase of a status code ("Not Found").
std::string_view StatusText(int status);

}  // namespace gemma4::server
