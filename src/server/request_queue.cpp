// Slots and scheduling: FIFO order, longest-shared-prefix slot choice, cancellation and deadlines.
#include "server/request_queue.h"

#include <algorithm>

#include "gemma4/log.h"
#include "server/api_error.h"

namespace gemma4::server {
namespace {

size_t CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

bool Job::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

void Job::Wait() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return done_; });
}

bool Job::WaitUntil(Clock::time_point until) {
  std::unique_lock lock(mutex_);
  return cv_.wait_until(lock, until, [&] { return done_; });
}

void Job::Complete(std::exception_ptr e) {
  error = std::move(e);
  // Moved out first: they may hold the last reference to whoever owns this job; the caller
  // holds one to the job itself, so `this` outlives the end of this function.
  std::function<void()> complete = std::move(on_complete);
  on_complete = nullptr;
  std::function<bool(std::string_view, int32_t)> on_token = std::move(options.on_token);
  options.on_token = nullptr;
  if (complete) complete();
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
}

void RequestQueue::Admission::Release() {
  if (!queue_) return;
  {
    std::lock_guard lock(queue_->mutex_);
    --queue_->admitted_;
  }
  queue_ = nullptr;
}

RequestQueue::Admission RequestQueue::Admit() {
  std::lock_guard lock(mutex_);
  if (closed_) throw ApiError(503, ErrorKind::kLimit, "the server is shutting down", {}, "shutting_down");
  const size_t capacity = slots_.size() + max_queue_;
  if (admitted_ >= capacity) {
    if (metrics_) metrics_->CountRejected();
    throw ApiError(503, ErrorKind::kLimit,
                   "the server is busy: " + std::to_string(admitted_) + " requests are being served or wait (--parallel " +
                       std::to_string(slots_.size()) + " + --max-queue " + std::to_string(max_queue_) + "); retry later",
                   {}, "queue_full");
  }
  ++admitted_;
  return Admission(this);
}

RequestQueue::RequestQueue(std::shared_ptr<const Model> model, int slots, size_t max_queue, Metrics* metrics)
    : model_(std::move(model)), metrics_(metrics), max_queue_(max_queue) {
  for (int i = 0; i < slots; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->session = std::make_unique<Session>(model_);
    slots_.push_back(std::move(slot));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot* s = slots_[i].get();
    s->thread = std::thread([this, s, i] { Loop(*s, static_cast<int>(i)); });
  }
}

RequestQueue::~RequestQueue() { Shutdown(); }

void RequestQueue::Submit(std::shared_ptr<Job> job) {
  std::lock_guard lock(mutex_);
  if (closed_) throw ApiError(503, ErrorKind::kLimit, "the server is shutting down", {}, "shutting_down");
  // A request that can start at once never counts against the queue limit.
  const bool slot_free = busy_ < slots_.size() && queue_.empty();
  if (!slot_free && queue_.size() >= max_queue_) {
    if (metrics_) metrics_->CountRejected();
    throw ApiError(503, ErrorKind::kLimit,
                   "the server is busy: " + std::to_string(queue_.size()) + " requests are already waiting (--max-queue " +
                       std::to_string(max_queue_) + "); retry later",
                   {}, "queue_full");
  }
  job->enqueued = Clock::now();
  queue_.push_back(std::move(job));
  DispatchLocked();
}

bool RequestQueue::Cancel(const std::shared_ptr<Job>& job, std::exception_ptr error, bool interrupt) {
  bool was_queued = false;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find(queue_.begin(), queue_.end(), job);
    if (it != queue_.end()) {
      queue_.erase(it);
      was_queued = true;
    }
  }
  if (!was_queued) {
    job->cancel = true;
    if (!interrupt) return false;
    // A slot still on this job (maybe in a long prefill, which checks no flag) stops it now. Under
    // the queue's lock, so the slot cannot have moved on to another job meanwhile.
    std::lock_guard lock(mutex_);
    for (auto& s : slots_) {
      if (s->job == job) s->session->kv_state().Interrupt();
    }
    return false;
  }
  if (metrics_) metrics_->CountCancelled();
  // Completed here, not dropped: whoever waits on the job (a stream's writer, a shutdown) must
  // see it end.
  job->Complete(error ? error : std::make_exception_ptr(Error(ErrorKind::kCancelled, "the request was cancelled")));
  idle_cv_.notify_all();
  return true;
}

void RequestQueue::DispatchLocked() {
  while (!queue_.empty() && busy_ < slots_.size()) {
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    Slot* best = nullptr;
    size_t best_prefix = 0;
    for (auto& s : slots_) {
      if (s->job) continue;
      const size_t prefix = CommonPrefix(s->cached, job->prompt);
      // Longest shared prefix; among equals, the slot idle the longest (keeps other caches warm).
      if (!best || prefix > best_prefix || (prefix == best_prefix && s->last_used < best->last_used)) {
        best = s.get();
        best_prefix = prefix;
      }
    }
    best->job = std::move(job);
    ++busy_;
    best->cv.notify_one();
  }
}

void RequestQueue::Loop(Slot& slot, int index) {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      slot.cv.wait(lock, [&] { return slot.job != nullptr || stopping_; });
      if (!slot.job) return;
      job = slot.job;
      // Under the lock that Cancel() takes: an interrupt meant for the previous job ends here,
      // one for this job can only come after.
      slot.session->kv_state().ClearInterrupt();
    }
    job->slot = index;
    std::exception_ptr error = Run(slot, job);
    // The slot is free, with its cache on record, before the client hears back: a client that
    // sends its next turn at once must find this slot (and its prefix) available.
    {
      std::lock_guard lock(mutex_);
      slot.job.reset();
      slot.cached = slot.session->cached_tokens();
      slot.last_used = ++use_counter_;
      --busy_;
      ++completing_;  // idle only once its client has been told
      DispatchLocked();
    }
    job->Complete(error);
    {
      std::lock_guard lock(mutex_);
      --completing_;
    }
    idle_cv_.notify_all();
  }
}

std::exception_ptr RequestQueue::Run(Slot& slot, const std::shared_ptr<Job>& job) {
  job->started = Clock::now();
  GenerateOptions options = job->options;
  options.cancel = &job->cancel;
  bool first = true;
  Job* j = job.get();
  options.on_token = [j, &first](std::string_view text, int32_t token) {
    if (first) {
      j->first_token = Clock::now();
      first = false;
    }
    if (j->cancel.load(std::memory_order_relaxed)) return false;
    if (j->deadline != Clock::time_point::max() && Clock::now() >= j->deadline) {
      j->timed_out = true;
      return false;
    }
    return !j->options.on_token || j->options.on_token(text, token);
  };
  std::exception_ptr error;
  try {
    if (job->cancel) throw Error(ErrorKind::kCancelled, "the request was cancelled before it started");
    job->result = slot.session->Generate(job->prompt, options);
  } catch (...) {
    error = std::current_exception();
    // A step that failed half-way may have left the cache half-moved, whatever the error's kind:
    // the next request on this slot starts clean rather than reuse it.
    try {
      std::lock_guard lock(mutex_);  // Cancel() may be interrupting this session's state
      slot.session->Reset();
    } catch (...) {
      Log(LogLevel::kError, "server: slot " + std::to_string(job->slot) + ": could not reset after a failed request");
    }
  }
  if (!error && metrics_) {
    const auto& r = job->result;
    const auto& t = r.timings;
    const double ttft = first ? 0.0 : Seconds(job->first_token - job->enqueued);
    const double tps = t.decode_ms > 0 && t.generated_tokens > 1 ? (t.generated_tokens - 1) * 1000.0 / t.decode_ms : 0.0;
    metrics_->CountGeneration(t.prompt_tokens, r.reused_tokens, r.output_ids.size(), ttft, tps,
                              Seconds(job->started - job->enqueued));
    if (r.stop_reason == StopReason::kCancelled) metrics_->CountCancelled();
    if (r.draft_tokens > 0) metrics_->CountDrafts(r.draft_tokens, r.accepted_tokens);
  }
  return error;
}

void RequestQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

bool RequestQueue::WaitIdle(Clock::time_point until) {
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_until(lock, until, [&] { return queue_.empty() && busy_ == 0 && completing_ == 0; });
}

void RequestQueue::CancelAll(const std::string& reason) {
  std::deque<std::shared_ptr<Job>> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(queue_);
    for (auto& s : slots_) {
      if (!s->job) continue;
      s->job->cancel = true;
      s->session->kv_state().Interrupt();
    }
  }
  for (auto& job : dropped) {
    if (metrics_) metrics_->CountCancelled();
    job->Complete(std::make_exception_ptr(ApiError(503, ErrorKind::kCancelled, reason, {}, "shutting_down")));
  }
  idle_cv_.notify_all();
}

void RequestQueue::Shutdown() {
  Close();
  CancelAll("the server is shutting down");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  for (auto& s : slots_) s->cv.notify_all();
  for (auto& s : slots_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

size_t RequestQueue::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

size_t RequestQueue::busy_slots() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

}  // namespace gemma4::server
