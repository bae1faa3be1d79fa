// gemma4::Server embedded in a program that did not ignore SIGPIPE (as the CLI does): a client
// that vanishes mid-stream must cost an error return inside the server, not the process.
#include "gemma4/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "server/loopback_client.h"
#include "test_util.h"

namespace gemma4 {
namespace {

void SendText(int fd, const std::string& s) { ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), (ssize_t)s.size()); }

std::string Post(const std::string& body) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(ServerEmbedding, VanishingStreamClientsDoNotRaiseSigpipe) {
  struct sigaction previous {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &previous), 0);  // as a program that never heard of SIGPIPE

  auto model = Model::Load(gemma4::testing::TestModel("text-q4").string(), {});
  ServerOptions options;
  options.port = 0;
  options.on_request = [](const RequestLogEntry&) {};
  Server server(model, options);
  const int port = server.Start();

  const std::string streaming =
      R"({"messages":[{"role":"user","content":"tell me a long story"}],"max_tokens":400,"temperature":0,"stream":true})";
  for (int round = 0; round < 5; ++round) {
    const int fd = gemma4::testing::ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    SendText(fd, Post(streaming));
    const std::string head = gemma4::testing::ReadFrom(fd, 64);
    ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    // Reset the connection (linger 0) while tokens are still being written to it.
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  }
  // Still alive, and still serving.
  const int fd = gemma4::testing::ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  SendText(fd, Post(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"temperature":0})"));
  const std::string answer = gemma4::testing::ReadFrom(fd, 12);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  ::close(fd);
  server.Stop(std::chrono::seconds(5));
  ::sigaction(SIGPIPE, &previous, nullptr);
}

}  // namespace
}  // namespace gemma4
