// The SIGINT handler behind InterruptScope; only touches a lock-free atomic, as a handler must.
#include "cli/interrupt.h"

#include <csignal>
#include <unistd.h>

namespace gemma4::cli {
namespace {

std::atomic<bool> g_interrupted{false};
struct sigaction g_previous {};

void OnSigint(int) {
  if (g_interrupted.exchange(true)) _exit(130);  // second Ctrl-C: leave now
}

}  // namespace

InterruptScope::InterruptScope() {
  g_interrupted = false;
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_previous);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &g_previous, nullptr); }

const std::atomic<bool>& InterruptScope::flag() const { return g_interrupted; }

void InterruptScope::Clear() { g_interrupted = false; }

}  // namespace gemma4::cli
