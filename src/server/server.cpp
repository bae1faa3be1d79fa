// gemma4::Server: wires the transport, the route table, the request queue and the metrics, and
// runs the graceful shutdown.
#include "gemma4/server.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "gemma4/error.h"
#include "gemma4/log.h"
#include "server/http_transport.h"
#include "server/metrics.h"
#include "server/request_queue.h"
#include "server/routes.h"

namespace gemma4 {

// Member order is destruction order in reverse: the transport (which calls into routes and the
// queue from its threads) goes first, the queue (whose slots hold Sessions) after it.
struct Server::Impl {
  std::shared_ptr<const Model> model;
  ServerOptions options;
  server::Metrics metrics;
  std::unique_ptr<server::RequestQueue> queue;
  std::unique_ptr<server::Routes> routes;
  std::unique_ptr<server::HttpTransport> http;
  std::mutex stop_mutex;
  std::condition_variable stopped_cv;
  bool started = false;
  bool stopped = false;   // Stop() began
  bool finished = false;  // Stop() completed
};

namespace {

void ValidateOptions(const ServerOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorKind::kInvalidArgument, what); };
  if (o.port < 0 || o.port > 65535) bad("--port must be in [0, 65535], got " + std::to_string(o.port));
  if (o.parallel < 1 || o.parallel > 256) bad("--parallel must be in [1, 256], got " + std::to_string(o.parallel));
  if (o.max_queue > 100000) bad("--max-queue must be at most 100000, got " + std::to_string(o.max_queue));
  if (o.timeout_s < 0) bad("--timeout must be >= 0, got " + std::to_string(o.timeout_s));
  if (o.max_body_bytes < 1024) bad("--max-body must be at least 1024 bytes, got " + std::to_string(o.max_body_bytes));
  if (o.host.empty()) bad("--host must not be empty");
  if (o.read_timeout_s < 1 || o.read_timeout_s > 3600) bad("--read-timeout must be in [1, 3600], got " + std::to_string(o.read_timeout_s));
  if (o.max_connections < 1) bad("--max-connections must be at least 1");
  for (const auto& origin : o.cors_origins) {
    if (origin == "*" && o.api_key.empty()) {
      bad("--cors-origin '*' lets any web page use the server: it needs --api-key");
    }
    if (origin != "*" && origin.find("://") == std::string::npos) {
      bad("--cors-origin '" + origin + "' is not an origin: expected scheme://host[:port], e.g. http://localhost:3000");
    }
  }
}

}  // namespace

Server::Server(std::shared_ptr<const Model> model, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  if (!model) throw Error(ErrorKind::kInvalidArgument, "Server: no model");
  ValidateOptions(options);
  impl_->model = std::move(model);
  impl_->options = std::move(options);
  const ServerOptions& o = impl_->options;
  impl_->queue = std::make_unique<server::RequestQueue>(impl_->model, o.parallel, o.max_queue, &impl_->metrics);
  impl_->routes = std::make_unique<server::Routes>(impl_->model, o, *impl_->queue, impl_->metrics);
  server::HttpTransport::Options http;
  http.host = o.host;
  http.port = o.port;
  // Every admitted request (running or queued) holds a handler thread; leave room for health
  // checks and metrics scrapes on top. Slow clients hold no thread while their request is read.
  http.threads = o.http_threads > 0 ? o.http_threads
                                     : static_cast<int>(std::min<size_t>(o.parallel + o.max_queue + 16, 512));
  http.max_connections = o.max_connections;
  http.limits.max_body = o.max_body_bytes;
  http.request_timeout_s = o.read_timeout_s;
  http.write_timeout_s = o.read_timeout_s;
  http.api_key = o.api_key;
  http.browser.listen_host = o.host;
  http.browser.allowed_hosts = o.allowed_hosts;
  http.browser.cors_origins = o.cors_origins;
  http.on_request = o.on_request;
  impl_->http = std::make_unique<server::HttpTransport>(http, &impl_->metrics);
  impl_->routes->Register(*impl_->http);
}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

int Server::Start() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->started) return impl_->http->port();
  const int port = impl_->http->Start();
  impl_->started = true;
  return port;
}

int Server::port() const { return impl_->http->port(); }

void Server::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(impl_->stop_mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  impl_->http->SetDraining();
  impl_->queue->Close();
  // Let what is running or queued finish, up to the deadline; then cancel the rest.
  if (!impl_->queue->WaitIdle(until)) {
    Log(LogLevel::kWarn, "server: shutdown deadline reached; cancelling " +
                             std::to_string(impl_->queue->busy_slots()) + " running and " +
                             std::to_string(impl_->queue->queue_depth()) + " queued requests");
    impl_->queue->CancelAll("the server is shutting down");
  }
  // Answers being written get a moment to reach their clients (the rest of the deadline, at
  // least a second: cancelled streams still send their last event).
  impl_->http->Stop(std::max(until, std::chrono::steady_clock::now() + std::chrono::seconds(1)));
  impl_->queue->Shutdown();
  {
    std::lock_guard lock(impl_->stop_mutex);
    impl_->finished = true;
  }
  impl_->stopped_cv.notify_all();
}

void Server::Wait() {
  std::unique_lock lock(impl_->stop_mutex);
  impl_->stopped_cv.wait(lock, [&] { return impl_->finished; });
}

}  // namespace gemma4
