// The reactor (accept + non-blocking request reads under deadlines), the handler pool, and the
// wrapper every handler runs in: draining, browser policy, routing, API key, errors, access log.
#include "server/http_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "gemma4/error.h"
#include "gemma4/log.h"

namespace gemma4::server {
namespace {

// The request being handled on this handler thread (one at a time per thread).
struct RequestContext {
  Clock::time_point start{};
  std::string endpoint;
  std::string detail;
};
thread_local RequestContext t_request;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxRequestsPerConnection = 1000;

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Remote(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

std::string ErrorJson(int status, const std::string& message, const std::string& code = {}) {
  return MakeErrorResponse(status, message, {}, code).body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t MsUntil(Clock::time_point t, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
}

}  // namespace

HttpTransport::HttpTransport(Options options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics), policy_(options_.browser) {
  if (options_.threads < 1) options_.threads = 1;
}

HttpTransport::~HttpTransport() { Stop(); }

void HttpTransport::SetLogDetail(std::string detail) { t_request.detail = std::move(detail); }

void HttpTransport::SendJson(HttpResponse& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void HttpTransport::SendError(HttpResponse& res, const ErrorResponse& error) {
  if (error.status == 503 && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  if (error.status == 401 && !res.has_header("WWW-Authenticate")) res.set_header("WWW-Authenticate", "Bearer");
  res.stream = nullptr;
  SendJson(res, error.status, error.body);
}

void HttpTransport::Get(const std::string& path, const std::string& endpoint, Auth auth, Handler handler) {
  routes_[path]["GET"] = Route{endpoint, auth, std::move(handler)};
}

void HttpTransport::Post(const std::string& path, const std::string& endpoint, Auth auth, Handler handler,
                         ErrorShaper error_shape) {
  routes_[path]["POST"] = Route{endpoint, auth, std::move(handler), error_shape};
}

// ---- listening and the reactor ----

int HttpTransport::Start() {
  if (reactor_.joinable()) return port_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  const std::string where = options_.host + ":" + port;
  if (const int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw Error(ErrorKind::kRuntime, "cannot bind " + where + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai && listen_fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 512) == 0) {
      listen_fd_ = fd;
    } else {
      last_error = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    throw Error(ErrorKind::kRuntime, "cannot bind " + where + " (" + last_error +
                                         "; address in use, or not an address of this machine)");
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw Error(ErrorKind::kRuntime, std::string("eventfd: ") + std::strerror(errno));
  for (int i = 0; i < options_.threads; ++i) handlers_.emplace_back([this] { HandlerLoop(); });
  reactor_ = std::thread([this] { ReactorLoop(); });
  return port_;
}

void HttpTransport::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void HttpTransport::SetDraining() { draining_ = true; }

void HttpTransport::ReactorLoop() {
  std::vector<pollfd> fds;
  std::vector<ConnectionPtr> polled;
  while (!stopping_) {
    fds.clear();
    polled.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = !draining_;
    if (accepting) fds.push_back({listen_fd_, POLLIN, 0});
    const auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (const auto& [fd, conn] : reading_) {
      fds.push_back({fd, POLLIN, 0});
      polled.push_back(conn);
      next = std::min(next, conn->deadline);
    }
    const int timeout = static_cast<int>(std::clamp<int64_t>(MsUntil(next, now) + 1, 0, 1000));
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      Log(LogLevel::kError, std::string("server: poll failed: ") + std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (stopping_) break;
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
      std::vector<ConnectionPtr> back;
      {
        std::lock_guard lock(mutex_);
        back.swap(returned_);
      }
      for (auto& conn : back) {
        reading_[conn->fd] = conn;
        if (!Advance(conn)) reading_.erase(conn->fd);
      }
    }
    const size_t first = accepting ? 2 : 1;
    if (accepting && (fds[1].revents & POLLIN)) Accept();
    for (size_t i = 0; i < polled.size(); ++i) {
      if (fds[first + i].revents == 0) continue;
      const ConnectionPtr& conn = polled[i];
      if (!ReadFrom(conn)) reading_.erase(conn->fd);
    }
    // Deadlines: a request that is not in by now is answered 408 (or, idle, just closed).
    const auto after = Clock::now();
    for (auto it = reading_.begin(); it != reading_.end();) {
      if (after < it->second->deadline) {
        ++it;
        continue;
      }
      if (!it->second->lingering && it->second->parser.started()) {
        SendNoWait(it->first, ErrorResponseBytes(408, ErrorJson(408, "the request did not arrive within " +
                                                                       std::to_string(options_.request_timeout_s) +
                                                                       " s (--read-timeout)", "request_timeout")));
        if (metrics_) metrics_->CountRequest("other", 408);
        Log(LogLevel::kDebug, "server: " + it->second->remote + ": request timed out while being read");
      }
      --open_connections_;
      it = reading_.erase(it);
    }
  }
  open_connections_ -= reading_.size();
  reading_.clear();
}

void HttpTransport::Accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) Log(LogLevel::kWarn, "server: out of file descriptors; not accepting for now");
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (open_connections_ >= options_.max_connections) {
      SendNoWait(fd, ErrorResponseBytes(503, ErrorJson(503, "too many open connections; retry later", "too_many_connections")));
      ::close(fd);
      if (metrics_) metrics_->CountRequest("other", 503);
      continue;
    }
    ++open_connections_;
    auto conn = std::make_shared<Connection>(fd, Remote(addr), options_.limits);
    conn->deadline = Clock::now() + std::chrono::seconds(options_.request_timeout_s);
    reading_[fd] = std::move(conn);
  }
}

bool HttpTransport::ReadFrom(const ConnectionPtr& conn) {
  char buf[kReadChunk];
  if (conn->lingering) {
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::recv(conn->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n <= 0) break;
    }
    --open_connections_;
    return false;
  }
  // A few reads per wake-up at most, so one fast sender cannot starve the others.
  for (int i = 0; i < 4; ++i) {
    const ssize_t n = ::recv(conn->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {  // closed or reset: whatever was half-sent is dropped
      --open_connections_;
      return false;
    }
    if (!conn->parser.started()) conn->deadline = Clock::now() + std::chrono::seconds(options_.request_timeout_s);
    conn->parser.Feed(std::string_view(buf, static_cast<size_t>(n)));
    if (!Advance(conn)) return false;
    if (static_cast<size_t>(n) < sizeof buf) return true;
  }
  return true;
}

bool HttpTransport::Advance(const ConnectionPtr& conn) {
  HttpRequestParser& parser = conn->parser;
  const HttpRequestParser::Status status = parser.Feed({});
  if (status == HttpRequestParser::Status::kError) {
    Refuse(conn, parser.error_status(), parser.error_message());
    return true;  // lingers
  }
  if (status == HttpRequestParser::Status::kNeedMore) {
    if (parser.headers_done() && parser.expects_continue() && !conn->continue_sent) {
      conn->continue_sent = true;
      SendNoWait(conn->fd, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    return true;
  }
  {
    std::lock_guard lock(mutex_);
    ready_.push_back(conn);
  }
  work_cv_.notify_one();
  return false;
}

void HttpTransport::Refuse(const ConnectionPtr& conn, int status, const std::string& message) {
  SendNoWait(conn->fd, ErrorResponseBytes(status, ErrorJson(status, message)));
  ::shutdown(conn->fd, SHUT_WR);
  conn->lingering = true;
  conn->deadline = Clock::now() + std::chrono::seconds(2);
  if (metrics_) metrics_->CountRequest("other", status);
  Log(LogLevel::kDebug, "server: " + conn->remote + ": " + std::to_string(status) + " " + message);
}

void HttpTransport::HandOver(ConnectionPtr conn) {
  {
    std::lock_guard lock(mutex_);
    returned_.push_back(std::move(conn));
  }
  Wake();
}

// ---- handler threads ----

void HttpTransport::HandlerLoop() {
  while (true) {
    ConnectionPtr conn;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopped_ || !ready_.empty(); });
      if (ready_.empty()) return;
      conn = std::move(ready_.front());
      ready_.pop_front();
      serving_fds_.insert(conn->fd);
    }
    const bool keep = Serve(conn);
    {
      std::lock_guard lock(mutex_);
      serving_fds_.erase(conn->fd);  // before the hand-over: another thread may serve it next
    }
    served_cv_.notify_all();
    if (keep) HandOver(std::move(conn));
    else --open_connections_;
  }
}

bool HttpTransport::Serve(const ConnectionPtr& conn) {
  HttpRequest& req = conn->parser.request();
  req.remote = conn->remote;
  const int fd = conn->fd;
  req.client_gone = [fd] { return PeerClosed(fd); };
  t_request = RequestContext{Clock::now(), "other", {}};
  HttpResponse res;
  Dispatch(req, res);

  bool keep_alive = conn->parser.keep_alive() && !draining_ && !stopping_ &&
                    conn->requests_served + 1 < kMaxRequestsPerConnection && !res.has_header("Connection");
  if (res.stream && req.version_minor == 0) keep_alive = false;  // the stream ends with the connection
  const std::string head = ResponseHead(res, req.version_minor, keep_alive ? options_.keep_alive_s : 0);
  bool ok;
  if (!res.stream) {
    // Time to write: the write timeout, plus a second per 64 KiB for large bodies.
    const auto deadline = Clock::now() + std::chrono::seconds(options_.write_timeout_s) +
                          std::chrono::seconds(res.body.size() / (64 * 1024));
    ok = SendAll(fd, head, deadline) && SendAll(fd, res.body, deadline);
  } else {
    ChunkedSink sink(fd, req.version_minor >= 1, std::chrono::seconds(options_.write_timeout_s));
    ok = SendAll(fd, head, Clock::now() + std::chrono::seconds(options_.write_timeout_s));
    if (ok) {
      try {
        res.stream(sink);
      } catch (...) {
        // Headers are out: all a client can be told now is that the stream broke off.
        Log(LogLevel::kWarn, "server: a stream ended with an error: " + ErrorResponseFor(std::current_exception()).body.dump());
        keep_alive = false;
      }
      ok = sink.Finish();
    }
  }
  LogRequest(req, res.status);
  if (!ok || !keep_alive || stopping_) return false;
  conn->parser.Reset();
  conn->continue_sent = false;
  ++conn->requests_served;
  // Bytes of a next request may have come along with this one.
  conn->deadline = Clock::now() + std::chrono::seconds(conn->parser.started() ? options_.request_timeout_s
                                                                               : options_.keep_alive_s);
  return true;
}

bool HttpTransport::Authorized(const HttpRequest& req) const {
  if (options_.api_key.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  const std::string_view auth = req.header("Authorization");
  if (auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer &&
      ConstantTimeEquals(auth.substr(kBearer.size()), options_.api_key)) {
    return true;
  }
  const std::string_view key = req.header("x-api-key");  // Anthropic's clients send this
  return !key.empty() && ConstantTimeEquals(key, options_.api_key);
}

void HttpTransport::Dispatch(HttpRequest& req, HttpResponse& res) {
  try {
    if (draining_) {
      res.set_header("Retry-After", "5");
      res.set_header("Connection", "close");
      SendError(res, MakeErrorResponse(503, "the server is shutting down", {}, "shutting_down"));
      return;
    }
    if (policy_.AnswerPreflight(req, res)) return;
    if (auto refusal = policy_.Check(req, res)) {
      SendError(res, MakeErrorResponse(refusal->status, refusal->message, {}, refusal->code));
      return;
    }
    auto path = routes_.find(req.path);
    if (path == routes_.end()) {
      SendError(res, MakeErrorResponse(404, "no such endpoint: " + req.method + " " + req.path, {}, "not_found"));
      return;
    }
    auto route = path->second.find(req.method);
    if (route == path->second.end()) {
      std::string allow;
      for (const auto& [method, r] : path->second) allow += (allow.empty() ? "" : ", ") + method;
      res.set_header("Allow", allow + ", OPTIONS");
      if (req.method == "OPTIONS") {
        res.status = 204;
        res.set_content("", "");
        return;
      }
      SendError(res, MakeErrorResponse(405, req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")",
                                       {}, "method_not_allowed"));
      return;
    }
    const Route& r = route->second;
    t_request.endpoint = r.endpoint;
    auto send_error = [&](ErrorResponse e) {
      if (r.error_shape) e.body = r.error_shape(e);
      SendError(res, e);
    };
    try {
      req.authorized = Authorized(req);
      if (r.auth == Auth::kRequired && !req.authorized) {
        const bool sent = req.has_header("Authorization") || req.has_header("x-api-key");
        send_error(MakeErrorResponse(401, sent ? "invalid API key" : "missing API key: send 'Authorization: Bearer <key>'",
                                     {}, "invalid_api_key"));
        return;
      }
      r.handler(req, res);
    } catch (...) {
      send_error(ErrorResponseFor(std::current_exception()));
    }
  } catch (...) {
    SendError(res, ErrorResponseFor(std::current_exception()));
  }
}

void HttpTransport::LogRequest(const HttpRequest& req, int status) {
  RequestLogEntry entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.status = status;
  entry.remote = req.remote;
  entry.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request.start).count();
  entry.detail = std::move(t_request.detail);
  if (metrics_) metrics_->CountRequest(t_request.endpoint.empty() ? "other" : t_request.endpoint, status);
  t_request = RequestContext{};
  if (options_.on_request) {
    options_.on_request(entry);
    return;
  }
  char line[160];
  std::snprintf(line, sizeof line, "%s %s %d %.1f ms %s", entry.method.c_str(), entry.path.c_str(), entry.status,
                entry.duration_ms, entry.remote.c_str());
  Log(LogLevel::kInfo, entry.detail.empty() ? std::string(line) : std::string(line) + " " + entry.detail);
}

void HttpTransport::Stop(Clock::time_point grace_until) {
  if (stopping_.exchange(true)) {
    return;
  }
  if (reactor_.joinable()) {
    Wake();
    reactor_.join();
  }
  {
    std::unique_lock lock(mutex_);
    served_cv_.wait_until(lock, grace_until, [&] { return serving_fds_.empty() && ready_.empty(); });
    stopped_ = true;
    // Handlers blocked writing to (or waiting on) a client see it gone at once.
    for (int fd : serving_fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& conn : ready_) ::shutdown(conn->fd, SHUT_RDWR);
  }
  work_cv_.notify_all();
  for (auto& t : handlers_) {
    if (t.joinable()) t.join();
  }
  handlers_.clear();
  {
    std::lock_guard lock(mutex_);
    ready_.clear();
    returned_.clear();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

}  // namespace gemma4::server
