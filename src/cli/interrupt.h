// Ctrl-C handling for interactive commands: the first SIGINT sets a flag the generation loop
// polls (the answer stops, the program goes on); a second one within the same answer exits.
#pragma once

#include <atomic>

namespace gemma4::cli {

class InterruptScope {
 public:
  InterruptScope();   // installs the handler
  ~InterruptScope();  // restores the previous one
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const std::atomic<bool>& flag() const;
  void Clear();  // re-arm for the next answer
};

}  // namespace gemma4::cli
