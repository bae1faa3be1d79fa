// The HTTP/1.1 transport: one reactor thread reads every connection's request without blocking
// (so a slow or stalled client costs a socket and a buffer, never a thread) under a deadline for
// the whole request and the limits of HttpLimits; complete requests go to a pool of handler
// threads. It applies the browser policy and the API key, turns every exception into a JSON
// error, logs one line per request, and drains on shutdown. Handlers never throw out of it.
//
// Why not cpp-httplib (Debian 12 ships 0.11): it reads each request on a pool thread with a
// timeout per read, so a client sending one header line every few seconds holds a thread as
// long as it likes, and in 0.11 a chunked or compressed body escapes the size limit. The
// guarantees the server owes its users live exactly in that part, so it is ours.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/server.h"
#include "server/api_error.h"
#include "server/browser_policy.h"
#include "server/http_connection.h"
#include "server/http_message.h"
#include "server/metrics.h"

namespace gemma4::server {

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
// The error body of a route whose API has its own error shape (Anthropic's); null: OpenAI's.
using ErrorShaper = nlohmann::json (*)(const ErrorResponse&);

// Whether a route needs the API key (when one is set). kOptional routes run either way and see
// HttpRequest::authorized.
enum class Auth { kNone, kRequired, kOptional };

class HttpTransport {
 public:
  struct Options {
    std::string host;
    int port = 0;
    int threads = 16;                 // handler threads
    size_t max_connections = 1024;    // open sockets; more are answered 503 and closed
    HttpLimits limits;
    int request_timeout_s = 10;       // headers and body of one request must arrive within this
    int write_timeout_s = 10;         // a client not reading a response this long is dropped
    int keep_alive_s = 5;             // an idle connection waits this long for its next request
    std::string api_key;
    BrowserPolicyOptions browser;
    std::function<void(const RequestLogEntry&)> on_request;
  };
  HttpTransport(Options options, Metrics* metrics);
  ~HttpTransport();  // Stop()
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // `endpoint` labels metrics and logs.
  void Get(const std::string& path, const std::string& endpoint, Auth auth, Handler handler);
  void Post(const std::string& path, const std::string& endpoint, Auth auth, Handler handler,
            ErrorShaper error_shape = nullptr);

  int Start();         // bind + listen; reactor and handler threads start; returns the port
  void SetDraining();  // new requests get 503 (Connection: close) from now on
  // Closes the listener and the connections being read; lets handler threads finish the answers
  // they are writing until `grace_until`, then shuts their connections down (a handler still
  // writing sees its client gone) and joins every thread. Idempotent.
  void Stop(Clock::time_point grace_until = Clock::now());
  int port() const { return port_; }

  // A short note for the access log line of the request being handled on this thread.
  static void SetLogDetail(std::string detail);

  static void SendJson(HttpResponse& res, int status, const nlohmann::json& body);
  static void SendError(HttpResponse& res, const ErrorResponse& error);

 private:
  struct Route {
    std::string endpoint;
    Auth auth;
    Handler handler;
    ErrorShaper error_shape = nullptr;
  };
  using ConnectionPtr = std::shared_ptr<Connection>;

  void ReactorLoop();
  void Accept();
  // Reads what `conn` sent; true when the reactor keeps watching it.
  bool ReadFrom(const ConnectionPtr& conn);
  // After bytes arrived (or a connection came back with bytes of a next request): dispatches a
  // complete request, answers a bad one; true when the reactor keeps watching it.
  bool Advance(const ConnectionPtr& conn);
  // Answers a request the parser refused, then lingers (Connection::lingering).
  void Refuse(const ConnectionPtr& conn, int status, const std::string& message);
  void HandOver(ConnectionPtr conn);  // handler thread -> reactor, for the next request
  void Wake();

  void HandlerLoop();
  // Answers the request on `conn`; true when the connection stays open for a next one.
  bool Serve(const ConnectionPtr& conn);
  void Dispatch(HttpRequest& req, HttpResponse& res);
  bool Authorized(const HttpRequest& req) const;
  void LogRequest(const HttpRequest& req, int status);

  Options options_;
  Metrics* metrics_;
  BrowserPolicy policy_;
  std::map<std::string, std::map<std::string, Route>> routes_;  // path -> method -> route

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: wakes the reactor for hand-overs and shutdown
  int port_ = 0;
  std::thread reactor_;
  std::vector<std::thread> handlers_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_connections_{0};

  // Reactor-only: connections whose request is being read.
  std::unordered_map<int, ConnectionPtr> reading_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable work_cv_;
  std::condition_variable served_cv_;  // a handler finished a request
  std::deque<ConnectionPtr> ready_;      // complete requests waiting for a handler thread
  std::vector<ConnectionPtr> returned_;  // keep-alive connections handed back to the reactor
  std::set<int> serving_fds_;            // sockets handler threads are answering (shut down on Stop)
  bool stopped_ = false;
};

}  // namespace gemma4::server
