// cpp-httplib configuration and the wrapper every handler runs in.
#include "server/http_transport.h"

#include <openssl/crypto.h>

#include <chrono>

#include "gemma4/error.h"
#include "gemma4/log.h"

namespace gemma4::server {
namespace {

using Clock = std::chrono::steady_clock;

// The request being handled on this connection thread (httplib handles a request, writes its
// response and logs it on one thread).
struct RequestContext {
  Clock::time_point start{};
  std::string endpoint;
  std::string detail;
};
thread_local RequestContext t_request;

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string TransportErrorMessage(int status, size_t max_body) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no such endpoint";
    case 405: return "method not allowed";
    case 413: return "the request body is larger than the limit of " + std::to_string(max_body) + " bytes";
    case 414: return "the request URI is too long";
    case 431: return "the request headers are too large";
    default: return "HTTP error " + std::to_string(status);
  }
}

}  // namespace

HttpTransport::HttpTransport(Options options, Metrics* metrics) : options_(std::move(options)), metrics_(metrics) {
  const size_t threads = static_cast<size_t>(std::max(4, options_.threads));
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  if (options_.max_body_bytes) http_.set_payload_max_length(options_.max_body_bytes);
  // A client gets io_timeout_s per read or write; a stalled one is dropped, never waited on forever.
  http_.set_read_timeout(options_.io_timeout_s, 0);
  http_.set_write_timeout(options_.io_timeout_s, 0);
  http_.set_keep_alive_timeout(3);
  http_.set_keep_alive_max_count(1000);
  http_.set_tcp_nodelay(true);

  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request = RequestContext{Clock::now(), "other", {}};
    if (draining_) {
      res.set_header("Retry-After", "5");
      res.set_header("Connection", "close");
      SendError(res, MakeErrorResponse(503, "the server is shutting down", {}, "shutting_down"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, MakeErrorResponse(res.status, TransportErrorMessage(res.status, options_.max_body_bytes)));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
    SendError(res, ErrorResponseFor(e));
  });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestLogEntry entry;
    entry.method = req.method;
    entry.path = req.path;
    entry.status = res.status;
    entry.remote = req.remote_addr + ":" + std::to_string(req.remote_port);
    if (t_request.start != Clock::time_point{}) {
      entry.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request.start).count();
    }
    entry.detail = std::move(t_request.detail);
    if (metrics_) metrics_->CountRequest(t_request.endpoint.empty() ? "other" : t_request.endpoint, res.status);
    t_request = RequestContext{};
    if (options_.on_request) {
      options_.on_request(entry);
    } else {
      char line[160];
      std::snprintf(line, sizeof line, "%s %s %d %.1f ms %s", entry.method.c_str(), entry.path.c_str(), entry.status,
                    entry.duration_ms, entry.remote.c_str());
      Log(LogLevel::kInfo, entry.detail.empty() ? std::string(line) : std::string(line) + " " + entry.detail);
    }
  });
}

HttpTransport::~HttpTransport() { Stop(); }

void HttpTransport::SetLogDetail(std::string detail) { t_request.detail = std::move(detail); }

void HttpTransport::SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void HttpTransport::SendError(httplib::Response& res, const ErrorResponse& error) {
  if (error.status == 503 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  SendJson(res, error.status, error.body);
}

void HttpTransport::Route(const std::string& method, const std::string& path, const std::string& endpoint,
                          bool needs_auth, Handler handler) {
  auto wrapped = [this, endpoint, needs_auth, handler = std::move(handler)](const httplib::Request& req,
                                                                            httplib::Response& res) {
    t_request.endpoint = endpoint;
    try {
      if (needs_auth && !options_.api_key.empty()) {
        const std::string auth = req.get_header_value("Authorization");
        constexpr std::string_view kBearer = "Bearer ";
        const bool ok = auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0 &&
                        ConstantTimeEquals(auth.substr(kBearer.size()), options_.api_key);
        if (!ok) {
          res.set_header("WWW-Authenticate", "Bearer");
          SendError(res, MakeErrorResponse(401,
                                           auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'"
                                                        : "invalid API key",
                                           {}, "invalid_api_key"));
          return;
        }
      }
      handler(req, res);
    } catch (...) {
      SendError(res, ErrorResponseFor(std::current_exception()));
    }
  };
  if (method == "GET") http_.Get(path, wrapped);
  else http_.Post(path, wrapped);
}

void HttpTransport::Get(const std::string& path, const std::string& endpoint, bool needs_auth, Handler handler) {
  Route("GET", path, endpoint, needs_auth, std::move(handler));
}

void HttpTransport::Post(const std::string& path, const std::string& endpoint, bool needs_auth, Handler handler) {
  Route("POST", path, endpoint, needs_auth, std::move(handler));
}

int HttpTransport::Start() {
  if (options_.port == 0) {
    port_ = http_.bind_to_any_port(options_.host);
    if (port_ <= 0) throw Error(ErrorKind::kRuntime, "cannot bind " + options_.host + " to a free port");
  } else {
    if (!http_.bind_to_port(options_.host, options_.port)) {
      throw Error(ErrorKind::kRuntime, "cannot bind " + options_.host + ":" + std::to_string(options_.port) +
                                           " (address in use, or not an address of this machine)");
    }
    port_ = options_.port;
  }
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  return port_;
}

void HttpTransport::SetDraining() { draining_ = true; }

void HttpTransport::Stop() {
  if (listener_.joinable()) {
    http_.stop();
    listener_.join();
  }
}

}  // namespace gemma4::server
