// Which browser-borne requests the server answers. A web page the user visits can POST to a
// server on 127.0.0.1 without a preflight (a text/plain form) and, by rebinding its own domain
// name to 127.0.0.1, read the answers. So: the Host must name this server (a rebound domain does
// not), a cross-site Origin must be allowed explicitly, and POST bodies must be JSON (a type no
// simple form can send).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.h"

namespace gemma4::server {

struct BrowserPolicyOptions {
  std::string listen_host;                 // the address the server is bound to ("127.0.0.1", "0.0.0.0", "::")
  std::vector<std::string> allowed_hosts;  // extra Host names accepted ("*": any); IP literals always pass
  std::vector<std::string> cors_origins;   // origins allowed to call the API cross-site ("*": any)
};

class BrowserPolicy {
 public:
  explicit BrowserPolicy(BrowserPolicyOptions options);

  // Why `req` is refused (status + message), or nullopt when it may go on. Adds the CORS
  // response headers for an allowed cross-site Origin to `res`.
  struct Refusal {
    int status;
    std::string message;
    std::string code;
  };
  std::optional<Refusal> Check(const HttpRequest& req, HttpResponse& res) const;

  // True when `req` is a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method);
  // fills `res` with the answer (204 with the allowances, or 403).
  bool AnswerPreflight(const HttpRequest& req, HttpResponse& res) const;

  // The host part of a Host header value ("[::1]:8080" -> "::1", "Example.COM." -> "example.com").
  static std::string HostName(std::string_view host_header);

 private:
  bool HostAllowed(std::string_view host_header) const;
  // nullopt: not allowed; "": same origin (no CORS headers needed); else the value for
  // Access-Control-Allow-Origin.
  std::optional<std::string> OriginAllowance(std::string_view origin, std::string_view host_header) const;

  BrowserPolicyOptions options_;
  bool any_host_ = false;
  bool any_origin_ = false;
};

}  // namespace gemma4::server
