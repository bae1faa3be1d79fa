// BrowserPolicy: which Host, Origin and Content-Type a request may carry, and CORS preflights.
#include "server/browser_policy.h"

#include <gtest/gtest.h>

namespace gemma4::server {
namespace {

HttpRequest Req(std::string method, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/v1/chat/completions";
  r.headers = std::move(headers);
  return r;
}

BrowserPolicy Loopback(std::vector<std::string> cors = {}, std::vector<std::string> hosts = {}) {
  return BrowserPolicy({"127.0.0.1", std::move(hosts), std::move(cors)});
}

int StatusOf(const BrowserPolicy& p, const HttpRequest& r) {
  HttpResponse res;
  auto refusal = p.Check(r, res);
  return refusal ? refusal->status : 0;
}

TEST(BrowserPolicy, HostNameParsing) {
  EXPECT_EQ(BrowserPolicy::HostName("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(BrowserPolicy::HostName("[::1]:8080"), "::1");
  EXPECT_EQ(BrowserPolicy::HostName("Example.COM."), "example.com");
  EXPECT_EQ(BrowserPolicy::HostName("::1"), "::1");  // bare IPv6: no port to strip
}

TEST(BrowserPolicy, RebindingHostsAreRefused) {
  const BrowserPolicy p = Loopback();
  for (const char* ok : {"127.0.0.1:8080", "localhost:8080", "[::1]:1", "10.0.0.7", "app.localhost"}) {
    EXPECT_EQ(StatusOf(p, Req("GET", {{"Host", ok}})), 0) << ok;
  }
  HttpResponse res;
  auto refusal = p.Check(Req("GET", {{"Host", "evil.example:8080"}}), res);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 403);
  EXPECT_EQ(refusal->code, "host_not_allowed");
  EXPECT_NE(refusal->message.find("--allowed-host evil.example"), std::string::npos) << refusal->message;
  EXPECT_EQ(StatusOf(p, Req("GET", {{"Host", "localhost.evil.example"}})), 403);
  // Allowed by name, or by "*".
  EXPECT_EQ(StatusOf(Loopback({}, {"MyBox.lan"}), Req("GET", {{"Host", "mybox.lan:8080"}})), 0);
  EXPECT_EQ(StatusOf(Loopback({}, {"*"}), Req("GET", {{"Host", "anything"}})), 0);
  // HTTP/1.0 without Host is not a browser.
  EXPECT_EQ(StatusOf(p, Req("GET", {})), 0);
}

TEST(BrowserPolicy, ForeignOriginsAreRefusedUnlessAllowed) {
  const BrowserPolicy p = Loopback();
  const auto post = [](std::string origin) {
    return Req("POST", {{"Host", "127.0.0.1:8080"}, {"Origin", std::move(origin)}, {"Content-Type", "application/json"}});
  };
  EXPECT_EQ(StatusOf(p, post("http://127.0.0.1:8080")), 0);  // same origin (a page this server serves)
  EXPECT_EQ(StatusOf(p, post("https://evil.example")), 403);
  EXPECT_EQ(StatusOf(p, post("null")), 403);
  EXPECT_EQ(StatusOf(p, post("http://127.0.0.1:9999")), 403);  // another local app is another origin

  const BrowserPolicy allowing = Loopback({"http://localhost:3000"});
  HttpResponse res;
  EXPECT_FALSE(allowing.Check(post("http://localhost:3000"), res));
  ASSERT_TRUE(res.has_header("Access-Control-Allow-Origin"));
  EXPECT_EQ(res.headers[0].second, "http://localhost:3000");
  EXPECT_EQ(StatusOf(allowing, post("http://localhost:3001")), 403);
}

TEST(BrowserPolicy, PostBodiesMustBeJson) {
  const BrowserPolicy p = Loopback();
  auto post = [](std::string type) {
    std::vector<std::pair<std::string, std::string>> h = {{"Host", "127.0.0.1"}};
    if (!type.empty()) h.emplace_back("Content-Type", std::move(type));
    return Req("POST", std::move(h));
  };
  EXPECT_EQ(StatusOf(p, post("application/json")), 0);
  EXPECT_EQ(StatusOf(p, post("Application/JSON; charset=utf-8")), 0);
  EXPECT_EQ(StatusOf(p, post("text/plain")), 415);  // what a form can send without a preflight
  EXPECT_EQ(StatusOf(p, post("application/x-www-form-urlencoded")), 415);
  EXPECT_EQ(StatusOf(p, post("")), 415);
  EXPECT_EQ(StatusOf(p, Req("GET", {{"Host", "127.0.0.1"}})), 0);
}

TEST(BrowserPolicy, Preflight) {
  const BrowserPolicy p = Loopback({"http://localhost:3000"});
  auto preflight = [](std::string origin) {
    return Req("OPTIONS", {{"Host", "127.0.0.1:8080"},
                           {"Origin", std::move(origin)},
                           {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "authorization, content-type"}});
  };
  HttpResponse ok;
  ASSERT_TRUE(p.AnswerPreflight(preflight("http://localhost:3000"), ok));
  EXPECT_EQ(ok.status, 204);
  auto header = [](const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (HeaderNameEquals(k, name)) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(header(ok, "Access-Control-Allow-Headers"), "authorization, content-type");
  EXPECT_NE(header(ok, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
  HttpResponse refused;
  ASSERT_TRUE(p.AnswerPreflight(preflight("https://evil.example"), refused));
  EXPECT_EQ(refused.status, 403);
  EXPECT_FALSE(refused.has_header("Access-Control-Allow-Origin"));
  HttpResponse not_preflight;
  EXPECT_FALSE(p.AnswerPreflight(Req("OPTIONS", {{"Host", "127.0.0.1"}}), not_preflight));
}

}  // namespace
}  // namespace gemma4::server
