// The request queue and its generation slots: N worker threads, each owning one Session (its own
// KV cache). A queued request goes to the free slot whose cached tokens share the longest prefix
// with its prompt, so a shared system prompt or a continued conversation is not prefilled again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "gemma4/generator.h"
#include "server/metrics.h"

namespace gemma4::server {

using Clock = std::chrono::steady_clock;

// One generation request as the queue sees it. Filled by the HTTP side, run by a slot.
struct Job {
  std::vector<int32_t> prompt;
  // options.on_token is called on the slot's thread; return false to stop. options.cancel is
  // replaced by `cancel` below.
  GenerateOptions options;
  Clock::time_point deadline = Clock::time_point::max();  // generation stops here (finish "length")
  // Called once on the slot's thread (or on the thread that cancelled a queued job) after
  // `result` or `error` is set. Complete() drops it, and options.on_token, right after: they may
  // own the job's owner (the server's per-request state keeps itself alive through them while a
  // slot still runs the job after its HTTP thread has left).
  std::function<void()> on_complete;

  std::atomic<bool> cancel{false};     // set from any thread to stop generating
  std::atomic<bool> timed_out{false};  // the deadline stopped generation

  // Outcome, valid once done().
  GenerationResult result;
  std::exception_ptr error;
  Clock::time_point enqueued, started, first_token;
  int slot = -1;

  bool done() const;
  void Wait();
  bool WaitUntil(Clock::time_point until);  // true when done

  // Sets the outcome and wakes waiters (internal to the queue).
  void Complete(std::exception_ptr error);

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
};

class RequestQueue {
 public:
  RequestQueue(std::shared_ptr<const Model> model, int slots, size_t max_queue, Metrics* metrics);
  ~RequestQueue();  // Shutdown()
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;

  // A place among the requests the server works on: at most slots + max_queue exist at a time,
  // from before a request's body is parsed and its prompt rendered and tokenized until its job is
  // done, so the cost of requests nobody will run is never paid. Movable; releases on destruction.
  class Admission {
   public:
    Admission() = default;
    explicit Admission(RequestQueue* queue) : queue_(queue) {}
    Admission(Admission&& o) noexcept : queue_(std::exchange(o.queue_, nullptr)) {}
    Admission& operator=(Admission&& o) noexcept {
      if (this != &o) {
        Release();
        queue_ = std::exchange(o.queue_, nullptr);
      }
      return *this;
    }
    ~Admission() { Release(); }
    explicit operator bool() const { return queue_ != nullptr; }

   private:
    void Release();
    RequestQueue* queue_ = nullptr;
  };
  // Throws ApiError 503 (queue_full) when slots + max_queue requests are already admitted.
  Admission Admit();

  // Queues `job`. Throws ApiError 503 (Retry-After worthy) when max_queue requests already wait,
  // or after Close().
  void Submit(std::shared_ptr<Job> job);
  // Removes `job` if it is still waiting and completes it with `error` (true); otherwise flags it
  // to stop at its next token (false). Either way the caller may leave at once: a running job
  // completes on its slot's thread.
  // `interrupt`: also stop a decoder call in flight (a long prefill) — for a client that is gone;
  // a deadline instead lets the running job stop at its next token and keep its partial answer.
  bool Cancel(const std::shared_ptr<Job>& job, std::exception_ptr error, bool interrupt = false);

  void Close();                                // refuse new submissions
  bool WaitIdle(Clock::time_point until);      // true once nothing waits or runs
  void CancelAll(const std::string& reason);   // queued jobs fail with 503 `reason`; running ones stop
  void Shutdown();                             // Close + CancelAll + join the slot threads

  size_t queue_depth() const;
  size_t busy_slots() const;
  size_t slots() const { return slots_.size(); }
  size_t max_queue() const { return max_queue_; }

 private:
  struct Slot {
    std::unique_ptr<Session> session;
    std::shared_ptr<Job> job;          // assigned, running
    std::vector<int32_t> cached;       // snapshot of session->cached_tokens() while idle
    uint64_t last_used = 0;
    std::condition_variable cv;
    std::thread thread;
  };
  void Loop(Slot& slot, int index);
  // Generates `job` on `slot`; the error, if any (the caller completes the job).
  std::exception_ptr Run(Slot& slot, const std::shared_ptr<Job>& job);
  void DispatchLocked();

  std::shared_ptr<const Model> model_;
  Metrics* metrics_;
  size_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::unique_ptr<Slot>> slots_;
  size_t busy_ = 0;
  size_t admitted_ = 0;
  size_t completing_ = 0;  // jobs whose slot is free again but whose Complete() still runs
  uint64_t use_counter_ = 0;
  bool closed_ = false;
  bool stopping_ = false;
};

}  // namespace gemma4::server
