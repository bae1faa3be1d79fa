// The embedded chat page: self-contained (nothing fetched from elsewhere), guarded by a CSP that
// hashes exactly its inline script and style, and served at / without auth unless turned off.
#include "server/webui.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "gemma4/server.h"
#include "server/loopback_client.h"
#include "test_util.h"

namespace gemma4::server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

TEST(WebUi, PageIsOneSelfContainedFile) {
  const std::string html = Lower(ChatPage().html);
  ASSERT_EQ(html.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(html.find("/v1/chat/completions"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // No CDN, no external fetch: no absolute URL at all, no external script, stylesheet or import.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("//cdn"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("rel=\"stylesheet\""), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
}

TEST(WebUi, InlineHashesAreTheBrowsersSha256) {
  // sha256("abc"), base64: the value a browser computes for <script>abc</script>.
  EXPECT_EQ(InlineHashes("<p><script>abc</script>", "script"), "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='");
  EXPECT_EQ(InlineHashes("<style>abc</style><style media=\"x\">abc</style>", "style"),
            "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=' 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='");
  EXPECT_EQ(InlineHashes("<p>none</p>", "script"), "");
}

TEST(WebUi, PolicyAllowsOnlyThePagesOwnScriptAndStyle) {
  const std::string& csp = ChatPage().content_security_policy;
  EXPECT_EQ(csp.rfind("default-src 'none'; script-src 'sha256-", 0), 0u) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  // One script element and one style element, each hashed once.
  EXPECT_EQ(InlineHashes(ChatPage().html, "script").find(' '), std::string::npos);
  EXPECT_EQ(InlineHashes(ChatPage().html, "style").find(' '), std::string::npos);
}

std::string Get(int port, const std::string& path) {
  const int fd = gemma4::testing::ConnectLoopback(port);
  if (fd < 0) return {};
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got = gemma4::testing::ReadFrom(fd);
  ::close(fd);
  return got;
}

TEST(WebUi, ServedAtRootWithoutTheApiKey) {
  auto model = Model::Load(gemma4::testing::TestModel("text-q4").string(), {});
  ServerOptions options;
  options.port = 0;
  options.api_key = "sekret";
  options.on_request = [](const RequestLogEntry&) {};
  {
    Server server(model, options);
    const int port = server.Start();
    const std::string res = Get(port, "/");
    EXPECT_EQ(res.rfind("HTTP/1.1 200", 0), 0u) << res.substr(0, 200);
    const std::string head = Lower(res.substr(0, res.find("\r\n\r\n")));
    EXPECT_NE(head.find("content-type: text/html; charset=utf-8"), std::string::npos) << head;
    EXPECT_NE(head.find("content-security-policy: default-src 'none'"), std::string::npos) << head;
    EXPECT_NE(head.find("x-content-type-options: nosniff"), std::string::npos) << head;
    EXPECT_NE(res.find(std::string(ChatPage().html)), std::string::npos);
    // The API behind it still wants the key.
    EXPECT_EQ(Get(port, "/v1/models").rfind("HTTP/1.1 401", 0), 0u);
    server.Stop(std::chrono::seconds(1));
  }
  options.webui = false;
  Server server(model, options);
  const int port = server.Start();
  EXPECT_EQ(Get(port, "/").rfind("HTTP/1.1 404", 0), 0u);
  server.Stop(std::chrono::seconds(1));
}

}  // namespace
}  // namespace gemma4::server
