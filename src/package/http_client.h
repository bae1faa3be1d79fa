// A small blocking HTTP client over libcurl for the hub: one request per call, redirects never
// followed (the caller decides, as huggingface_hub does), headers collected, the body streamed
// to a callback or kept in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gemma4::http {

struct Request {
  std::string method = "GET";  // "GET" or "HEAD"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Receives the body of a 2xx response (status known by then); return false to abort the transfer.
  // Empty: the body is kept in Response::body (up to 16 MiB).
  std::function<bool(const char* data, size_t size, long status)> on_body;
  long connect_timeout_s = 15;
  long stall_timeout_s = 30;  // abort when less than 1 byte/s arrives for this long
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, of the final response
  std::string body;
  int curl_code = 0;       // CURLcode; 0 when the transfer completed
  std::string curl_error;  // libcurl's message when curl_code != 0
  bool aborted_by_callback = false;
  std::string Header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
  // A transport failure that a retry may cure (connection refused or reset, timeout, truncated body).
  bool NetworkError() const;
};

Response Perform(const Request& request);

// "scheme://host[:port]" of a URL.
std::string Origin(std::string_view url);
// Percent-encodes everything but unreserved characters (and '/' when keep_slash).
std::string Escape(std::string_view text, bool keep_slash);

}  // namespace gemma4::http
