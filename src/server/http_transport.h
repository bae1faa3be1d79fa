// HTTP transport over cpp-httplib: binding, connection threads, limits (body size, read/write
// timeouts), API-key check, JSON error bodies for transport-level errors, draining on shutdown,
// one access-log entry per request. Handlers registered here never let an exception escape.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "gemma4/server.h"
#include "server/api_error.h"
#include "server/metrics.h"

namespace gemma4::server {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

class HttpTransport {
 public:
  struct Options {
    std::string host;
    int port = 0;
    int threads = 16;
    size_t max_body_bytes = 0;
    int io_timeout_s = 10;
    std::string api_key;
    std::function<void(const RequestLogEntry&)> on_request;
  };
  HttpTransport(Options options, Metrics* metrics);
  ~HttpTransport();

  // `endpoint` labels metrics and logs. `needs_auth`: the API key (when set) is required.
  void Get(const std::string& path, const std::string& endpoint, bool needs_auth, Handler handler);
  void Post(const std::string& path, const std::string& endpoint, bool needs_auth, Handler handler);

  int Start();              // bind + listen on a background thread; returns the port
  void SetDraining();       // new requests get 503 from now on
  void Stop();              // close the listener, wait for connection threads
  int port() const { return port_; }

  // A short note for the access log line of the request being handled on this thread.
  static void SetLogDetail(std::string detail);

  static void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
  static void SendError(httplib::Response& res, const ErrorResponse& error);

 private:
  void Route(const std::string& method, const std::string& path, const std::string& endpoint, bool needs_auth,
             Handler handler);

  Options options_;
  Metrics* metrics_;
  httplib::Server http_;
  std::thread listener_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
};

}  // namespace gemma4::server
