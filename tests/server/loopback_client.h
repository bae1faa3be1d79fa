// A raw TCP client on 127.0.0.1 for the in-process server tests: what a real client sends and
// does (reset the connection, stop reading), which an HTTP library would hide.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace gemma4::testing {

// A connected socket to 127.0.0.1:`port`, or -1.
inline int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes, or until `at_least` bytes came (0: until it closes).
inline std::string ReadFrom(int fd, size_t at_least = 0) {
  std::string got;
  char buf[8192];
  while (at_least == 0 || got.size() < at_least) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace gemma4::testing
