// Server counters and histograms, rendered in the Prometheus text exposition format (v0.0.4).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gemma4::server {

// A cumulative histogram with fixed upper bounds (Prometheus' le buckets).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // "<name>_bucket{le=...} n" lines, then _sum and _count.
  void Render(std::string& out, const std::string& name) const;
  uint64_t count() const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; one extra for +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  // One finished HTTP request.
  void CountRequest(const std::string& endpoint, int status);
  // One finished generation.
  void CountGeneration(size_t prompt_tokens, size_t cached_tokens, size_t completion_tokens, double ttft_s,
                       double decode_tokens_per_s, double queue_wait_s);
  // Speculative decoding: tokens drafted and verified, and how many the model agreed with.
  void CountDrafts(size_t drafted, size_t accepted);
  void CountRejected();   // backpressure: queue full
  void CountCancelled();  // client gone or timeout

  // Gauges are read at render time through these callbacks' values.
  std::string Render(size_t queue_depth, size_t slots_busy, size_t slots_total) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> prompt_tokens_{0}, cached_tokens_{0}, completion_tokens_{0}, generations_{0};
  std::atomic<uint64_t> rejected_{0}, cancelled_{0}, drafted_{0}, draft_accepted_{0};
  Histogram ttft_;
  Histogram tokens_per_s_;
  Histogram queue_wait_;
};

}  // namespace gemma4::server
