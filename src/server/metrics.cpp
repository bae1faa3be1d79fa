// Prometheus text rendering of the server's counters and histograms.
#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace gemma4::server {
namespace {

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void Line(std::string& out, const std::string& name, double value) { out += name + ' ' + Num(value) + '\n'; }

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  if (!std::isfinite(value)) return;
  std::lock_guard lock(mutex_);
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

uint64_t Histogram::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

void Histogram::Render(std::string& out, const std::string& name) const {
  std::lock_guard lock(mutex_);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + Num(bounds_[i]) + "\"} " + std::to_string(cumulative) + '\n';
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + '\n';
  Line(out, name + "_sum", sum_);
  out += name + "_count " + std::to_string(count_) + '\n';
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      tokens_per_s_({1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}),
      queue_wait_({0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60}) {}

void Metrics::CountRequest(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::CountGeneration(size_t prompt_tokens, size_t cached_tokens, size_t completion_tokens, double ttft_s,
                              double decode_tokens_per_s, double queue_wait_s) {
  prompt_tokens_ += prompt_tokens;
  cached_tokens_ += cached_tokens;
  completion_tokens_ += completion_tokens;
  ++generations_;
  if (completion_tokens > 0) ttft_.Observe(ttft_s);
  if (decode_tokens_per_s > 0) tokens_per_s_.Observe(decode_tokens_per_s);
  queue_wait_.Observe(queue_wait_s);
}

void Metrics::CountDrafts(size_t drafted, size_t accepted) {
  drafted_ += drafted;
  draft_accepted_ += accepted;
}

void Metrics::CountRejected() { ++rejected_; }
void Metrics::CountCancelled() { ++cancelled_; }

std::string Metrics::Render(size_t queue_depth, size_t slots_busy, size_t slots_total) const {
  std::string out;
  Header(out, "gemma4_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, n] : requests_) {
      out += "gemma4_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
             std::to_string(n) + '\n';
    }
  }
  Header(out, "gemma4_generations_total", "counter", "Generations run to completion or cancellation.");
  Line(out, "gemma4_generations_total", double(generations_.load()));
  Header(out, "gemma4_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
  Line(out, "gemma4_prompt_tokens_total", double(prompt_tokens_.load()));
  Header(out, "gemma4_prompt_tokens_cached_total", "counter", "Prompt tokens served from a slot's prefix cache.");
  Line(out, "gemma4_prompt_tokens_cached_total", double(cached_tokens_.load()));
  Header(out, "gemma4_completion_tokens_total", "counter", "Generated tokens.");
  Line(out, "gemma4_completion_tokens_total", double(completion_tokens_.load()));
  Header(out, "gemma4_draft_tokens_total", "counter", "Speculative decoding: tokens drafted (prompt lookup) and verified.");
  Line(out, "gemma4_draft_tokens_total", double(drafted_.load()));
  Header(out, "gemma4_draft_accepted_tokens_total", "counter", "Speculative decoding: drafted tokens the model agreed with.");
  Line(out, "gemma4_draft_accepted_tokens_total", double(draft_accepted_.load()));
  Header(out, "gemma4_requests_rejected_total", "counter", "Requests refused with 503 because the queue was full.");
  Line(out, "gemma4_requests_rejected_total", double(rejected_.load()));
  Header(out, "gemma4_requests_cancelled_total", "counter", "Generations stopped early: client gone, timeout or shutdown.");
  Line(out, "gemma4_requests_cancelled_total", double(cancelled_.load()));
  Header(out, "gemma4_queue_depth", "gauge", "Requests waiting for a slot.");
  Line(out, "gemma4_queue_depth", double(queue_depth));
  Header(out, "gemma4_slots_busy", "gauge", "Slots generating now.");
  Line(out, "gemma4_slots_busy", double(slots_busy));
  Header(out, "gemma4_slots_total", "gauge", "Generation slots (--parallel).");
  Line(out, "gemma4_slots_total", double(slots_total));
  Header(out, "gemma4_time_to_first_token_seconds", "histogram", "From the request entering the queue to its first token.");
  ttft_.Render(out, "gemma4_time_to_first_token_seconds");
  Header(out, "gemma4_decode_tokens_per_second", "histogram", "Decode speed of each generation (tokens after the first).");
  tokens_per_s_.Render(out, "gemma4_decode_tokens_per_second");
  Header(out, "gemma4_queue_wait_seconds", "histogram", "Time requests spent waiting for a slot.");
  queue_wait_.Render(out, "gemma4_queue_wait_seconds");
  return out;
}

}  // namespace gemma4::server
