// Host / Origin / Content-Type rules and CORS preflight answers.
#include "server/browser_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace gemma4::server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsIpLiteral(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool IsLocalhostName(std::string_view name) {
  // "localhost" and "*.localhost" resolve to loopback by specification (RFC 6761 §6.3): no
  // outside party can rebind them.
  constexpr std::string_view kLocal = "localhost";
  return name == kLocal || (name.size() > kLocal.size() + 1 && name.substr(name.size() - kLocal.size() - 1) == ".localhost");
}

// "http://Host:1234/" -> "host:1234"; "" for an origin that is not scheme://authority.
std::string OriginAuthority(std::string_view origin) {
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return {};
  std::string_view authority = origin.substr(sep + 3);
  while (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  if (authority.empty() || authority.find('/') != std::string_view::npos) return {};
  return Lower(authority);
}

std::string NormalizeOrigin(std::string_view origin) {
  origin = Trim(origin);
  while (!origin.empty() && origin.back() == '/') origin.remove_suffix(1);
  return Lower(origin);
}

// Access-Control-Request-Headers is echoed back only when it is a plain list of header names.
bool IsHeaderList(std::string_view s) {
  if (s.size() > 1024) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ',' || c == ' ';
  });
}

}  // namespace

BrowserPolicy::BrowserPolicy(BrowserPolicyOptions options) : options_(std::move(options)) {
  for (auto& h : options_.allowed_hosts) {
    h = Lower(Trim(h));
    if (h == "*") any_host_ = true;
  }
  for (auto& o : options_.cors_origins) {
    o = NormalizeOrigin(o);
    if (o == "*") any_origin_ = true;
  }
}

std::string BrowserPolicy::HostName(std::string_view host_header) {
  std::string_view h = Trim(host_header);
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    h = close == std::string_view::npos ? std::string_view{} : h.substr(1, close - 1);
  } else {
    const size_t colon = h.rfind(':');
    if (colon != std::string_view::npos && h.find(':') == colon) h = h.substr(0, colon);
  }
  while (!h.empty() && h.back() == '.') h.remove_suffix(1);
  return Lower(h);
}

bool BrowserPolicy::HostAllowed(std::string_view host_header) const {
  if (any_host_) return true;
  const std::string name = HostName(host_header);
  if (name.empty()) return false;
  if (IsIpLiteral(name) || IsLocalhostName(name)) return true;
  if (name == Lower(options_.listen_host)) return true;
  return std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), name) != options_.allowed_hosts.end();
}

std::optional<std::string> BrowserPolicy::OriginAllowance(std::string_view origin, std::string_view host_header) const {
  const std::string normalized = NormalizeOrigin(origin);
  // A page served by this very server (e.g. a chat page at "/") calls it same-origin.
  const std::string authority = OriginAuthority(normalized);
  if (!authority.empty() && authority == Lower(Trim(host_header)) && HostAllowed(host_header)) return std::string();
  if (any_origin_) return std::string("*");
  if (std::find(options_.cors_origins.begin(), options_.cors_origins.end(), normalized) != options_.cors_origins.end()) {
    return std::string(Trim(origin));
  }
  return std::nullopt;
}

std::optional<BrowserPolicy::Refusal> BrowserPolicy::Check(const HttpRequest& req, HttpResponse& res) const {
  // HTTP/1.0 requests may come without Host; browsers always send one.
  if (req.has_header("Host") && !HostAllowed(req.header("Host"))) {
    const std::string name = HostName(req.header("Host"));
    return Refusal{403,
                   "the Host header '" + std::string(req.header("Host")) +
                       "' does not name this server (DNS rebinding protection); start the server with --allowed-host " +
                       (name.empty() ? std::string("NAME") : name) + " to accept it",
                   "host_not_allowed"};
  }
  if (req.has_header("Origin")) {
    const std::string_view origin = req.header("Origin");
    const std::optional<std::string> allowance = OriginAllowance(origin, req.header("Host"));
    if (!allowance) {
      return Refusal{403,
                     "cross-origin request from '" + std::string(origin) + "' refused; start the server with --cors-origin " +
                         std::string(origin) + " to allow it",
                     "origin_not_allowed"};
    }
    if (!allowance->empty()) {
      res.set_header("Access-Control-Allow-Origin", *allowance);
      res.set_header("Vary", "Origin");
    }
  }
  if (req.method == "POST") {
    const std::string_view type = req.header("Content-Type");
    const std::string media = Lower(Trim(type.substr(0, type.find(';'))));
    if (media != "application/json") {
      return Refusal{415,
                     type.empty() ? "POST bodies must be sent with 'Content-Type: application/json'"
                                  : "POST bodies must be 'application/json', got '" + std::string(type) + "'",
                     "unsupported_media_type"};
    }
  }
  return std::nullopt;
}

bool BrowserPolicy::AnswerPreflight(const HttpRequest& req, HttpResponse& res) const {
  if (req.method != "OPTIONS" || !req.has_header("Origin") || !req.has_header("Access-Control-Request-Method")) {
    return false;
  }
  const std::string_view origin = req.header("Origin");
  std::optional<std::string> allowance;
  if (!req.has_header("Host") || HostAllowed(req.header("Host"))) allowance = OriginAllowance(origin, req.header("Host"));
  res.set_header("Vary", "Origin");
  if (!allowance) {
    res.status = 403;
    res.set_content("", "text/plain");
    return true;
  }
  res.status = 204;
  res.set_header("Access-Control-Allow-Origin", allowance->empty() ? std::string(Trim(origin)) : *allowance);
  res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  const std::string_view wanted = req.header("Access-Control-Request-Headers");
  res.set_header("Access-Control-Allow-Headers",
                 IsHeaderList(wanted) && !wanted.empty() ? std::string(wanted) : "Authorization, Content-Type");
  res.set_header("Access-Control-Max-Age", "600");
  res.set_content("", "text/plain");
  return true;
}

}  // namespace gemma4::server
