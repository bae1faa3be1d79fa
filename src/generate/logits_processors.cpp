// The warpers (top-k, top-p, min-p, typical-p) over candidate lists, after transformers' definitions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>

#include "generate/logits_processors.h"

namespace gemma4 {

using detail::Before;

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr size_t kBlock = 64;
}  // namespace

namespace detail {

namespace {

// Max of a block with four independent 4-float vectors (GCC/Clang vector extensions, any target): a single
// running max is a loop-carried select the compiler will not vectorise without -ffast-math. NaN loses.
typedef float Float4 __attribute__((vector_size(16)));

inline float BlockMax(const float* p, size_t n) {
  const Float4 neg_inf = {kNegInf, kNegInf, kNegInf, kNegInf};
  Float4 a = neg_inf, b = neg_inf, c = neg_inf, d = neg_inf;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Float4 x0, x1, x2, x3;
    std::memcpy(&x0, p + i, sizeof x0);
    std::memcpy(&x1, p + i + 4, sizeof x1);
    std::memcpy(&x2, p + i + 8, sizeof x2);
    std::memcpy(&x3, p + i + 12, sizeof x3);
    a = x0 > a ? x0 : a;
    b = x1 > b ? x1 : b;
    c = x2 > c ? x2 : c;
    d = x3 > d ? x3 : d;
  }
  a = b > a ? b : a;
  c = d > c ? d : c;
  a = c > a ? c : a;
  float m = kNegInf;
  for (int k = 0; k < 4; ++k) m = a[k] > m ? a[k] : m;
  for (; i < n; ++i) m = p[i] > m ? p[i] : m;
  return m;
}

}  // namespace

std::pair<float, size_t> MaxWithIndex(std::span<const float> values) {
  float best = kNegInf;
  size_t best_block = 0;
  for (size_t b = 0; b < values.size(); b += kBlock) {
    const float m = BlockMax(values.data() + b, std::min(kBlock, values.size() - b));
    if (m > best) {  // strictly: the first block reaching the max holds the lowest index
      best = m;
      best_block = b;
    }
  }
  if (best == kNegInf) return {kNegInf, 0};
  const size_t end = std::min(values.size(), best_block + kBlock);
  for (size_t i = best_block; i < end; ++i) {
    if (values[i] == best) return {best, i};
  }
  return {best, best_block};  // unreachable
}

void SelectAll(std::span<const float> logits, float temperature, std::vector<Sampler::Candidate>& out) {
  // Fill densely (restrict pointers let the division vectorise), then drop -inf and NaN tokens if any.
  const size_t n = logits.size();
  out.resize(n);
  Sampler::Candidate* __restrict dst = out.data();
  const float* __restrict src = logits.data();
  int masked = 0;
  for (size_t i = 0; i < n; ++i) {
    dst[i].logit = src[i] / temperature;
    dst[i].id = static_cast<int32_t>(i);
    masked |= !(src[i] > kNegInf);
  }
  if (masked) std::erase_if(out, [](const Sampler::Candidate& c) { return !(c.logit > kNegInf); });
}

void SelectTopK(std::span<const float> logits, int top_k, float temperature, std::vector<Sampler::Candidate>& out) {
  out.clear();
  const size_t n = logits.size();
  const size_t k = static_cast<size_t>(top_k);
  if (k == 0 || k >= n) return SelectAll(logits, temperature, out);
  // Pass 1: the k-th largest value, with a min-heap of k values. Blocks whose maximum cannot enter the
  // heap are skipped after one vectorised max; on a real row nearly every block is.
  std::vector<float> storage;
  storage.reserve(k + 1);
  std::priority_queue<float, std::vector<float>, std::greater<float>> heap(std::greater<float>(), std::move(storage));
  for (size_t j = 0; j < k; ++j) heap.push(logits[j] == logits[j] ? logits[j] : kNegInf);  // NaN -> -inf
  float floor_value = heap.top();
  const size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<float> block_max(blocks);
  for (size_t b = 0; b < blocks; ++b) {
    const size_t begin = b * kBlock, end = std::min(n, begin + kBlock);
    block_max[b] = BlockMax(logits.data() + begin, end - begin);
    if (block_max[b] > floor_value) {
      for (size_t j = std::max(begin, k); j < end; ++j) {
        if (logits[j] > floor_value) {
          heap.pop();
          heap.push(logits[j]);
          floor_value = heap.top();
        }
      }
    }
  }
  // Pass 2: collect, comparing after the temperature division as transformers does (temperature first), so
  // values that the division makes equal to the cut are kept like any tie. Division is monotonic, so only
  // logits within a few ulps below the cut can round onto it: blocks whose max is below `near` are skipped.
  const float cut = floor_value / temperature;
  const float near = floor_value == kNegInf ? kNegInf : floor_value - std::abs(floor_value) * 1e-5f - 1e-30f;
  out.reserve(k + 16);
  for (size_t b = 0; b < blocks; ++b) {
    if (!(block_max[b] >= near)) continue;
    const size_t begin = b * kBlock, end = std::min(n, begin + kBlock);
    for (size_t j = begin; j < end; ++j) {
      const float l = logits[j];
      if (l > kNegInf && l / temperature >= cut) out.push_back({l / temperature, static_cast<int32_t>(j)});
    }
  }
}

}  // namespace detail

void ApplyTopK(std::vector<Sampler::Candidate>& c, int top_k) {
  if (top_k <= 0 || static_cast<size_t>(top_k) >= c.size()) return;
  std::vector<float> values(c.size());
  for (size_t i = 0; i < c.size(); ++i) values[i] = c[i].logit;
  std::nth_element(values.begin(), values.begin() + (top_k - 1), values.end(), std::greater<float>());
  const float cut = values[top_k - 1];
  std::erase_if(c, [cut](const Sampler::Candidate& x) { return !(x.logit >= cut); });
}

namespace {

// Sum of exp(logit - max) over the list, and the max.
std::pair<double, float> Mass(const std::vector<Sampler::Candidate>& c) {
  float m = kNegInf;
  for (const auto& x : c) m = std::max(m, x.logit);
  double z = 0;
  for (const auto& x : c) z += std::exp(x.logit - m);
  return {z, m};
}

// Sorts `c` (Before order) and keeps the shortest prefix whose mass reaches target (at least one).
// `mass_above` is mass already kept ahead of this list.
size_t KeepPrefixReaching(std::vector<Sampler::Candidate>& c, float m, double target, double mass_above) {
  std::sort(c.begin(), c.end(), Before);
  double cum = mass_above;
  size_t keep = 0;
  while (keep < c.size()) {
    cum += std::exp(c[keep].logit - m);
    ++keep;
    if (cum >= target) break;
  }
  return c.empty() ? 0 : std::max<size_t>(keep, 1);
}

}  // namespace

// transformers: sort ascending, cumsum of softmax, drop where cumsum <= 1 - top_p, keep >= 1. In descending
// order that keeps every token whose predecessors' mass is below top_p: the shortest prefix reaching top_p.
void ApplyTopP(std::vector<Sampler::Candidate>& c, float top_p) {
  if (top_p >= 1.0f || c.size() <= 1) return;
  constexpr size_t kSortLimit = 4096;
  if (c.size() <= kSortLimit) {
    const auto [z, m] = Mass(c);
    c.resize(KeepPrefixReaching(c, m, static_cast<double>(top_p) * z, 0.0));
    return;
  }
  // Large lists (the whole vocabulary): bucket by distance below the max, find the bucket where the mass
  // reaches the target, and sort only that bucket. Buckets are monotonic in the logit, so every token of
  // an earlier bucket comes before every token of a later one in Before order.
  float m = kNegInf, lo = std::numeric_limits<float>::infinity();
  for (const auto& x : c) {
    m = std::max(m, x.logit);
    lo = std::min(lo, x.logit);
  }
  const float range = m - lo;
  if (!(range > 0)) {  // all equal: the order is by id alone
    c.resize(KeepPrefixReaching(c, m, static_cast<double>(top_p) * static_cast<double>(c.size()), 0.0));
    return;
  }
  constexpr int kBins = 4096;
  const float scale = (kBins - 1) / range;
  auto bin_of = [&](float logit) { return std::min(kBins - 1, static_cast<int>((m - logit) * scale)); };
  std::vector<double> mass(kBins, 0.0);
  double z = 0;
  for (const auto& x : c) {
    const double w = std::exp(x.logit - m);
    mass[bin_of(x.logit)] += w;
    z += w;
  }
  const double target = static_cast<double>(top_p) * z;
  double above = 0;
  int cut_bin = kBins - 1;
  for (int b = 0; b < kBins; ++b) {
    if (above + mass[b] >= target) {
      cut_bin = b;
      break;
    }
    above += mass[b];
  }
  std::vector<Sampler::Candidate> kept, edge;
  for (const auto& x : c) {
    const int b = bin_of(x.logit);
    if (b < cut_bin) kept.push_back(x);
    else if (b == cut_bin) edge.push_back(x);
  }
  edge.resize(KeepPrefixReaching(edge, m, target, above));
  if (kept.empty() && edge.empty()) return;
  kept.insert(kept.end(), edge.begin(), edge.end());
  c = std::move(kept);
}

// transformers: drop tokens with p < min_p * p_max, keep >= 1 (the max always passes).
void ApplyMinP(std::vector<Sampler::Candidate>& c, float min_p) {
  if (min_p <= 0.0f || c.empty()) return;
  float m = kNegInf;
  for (const auto& x : c) m = std::max(m, x.logit);
  const double threshold = static_cast<double>(min_p);
  std::erase_if(c, [&](const Sampler::Candidate& x) { return !(std::exp(static_cast<double>(x.logit - m)) >= threshold); });
}

// transformers' TypicalLogitsWarper: order tokens by |-log p - H|, keep through the first token at which the
// cumulative mass reaches typical_p, plus any token tied with it on that score; keep >= 1.
void ApplyTypicalP(std::vector<Sampler::Candidate>& c, float typical_p) {
  if (typical_p >= 1.0f || c.size() <= 1) return;
  const auto [z, m] = Mass(c);
  const double log_z = std::log(z);
  double entropy = 0;
  struct Scored {
    double shift;
    double p;
    Sampler::Candidate cand;
  };
  std::vector<Scored> s;
  s.reserve(c.size());
  for (const auto& x : c) {
    const double logp = static_cast<double>(x.logit - m) - log_z;
    const double p = std::exp(logp);
    if (p > 0) entropy -= logp * p;  // nansum: 0 * -inf contributes nothing
    s.push_back({0.0, p, x});
  }
  for (auto& e : s) e.shift = std::abs(-(static_cast<double>(e.cand.logit - m) - log_z) - entropy);
  std::sort(s.begin(), s.end(), [](const Scored& a, const Scored& b) {
    return a.shift < b.shift || (a.shift == b.shift && a.cand.id < b.cand.id);
  });
  const double target = static_cast<double>(typical_p);
  double cum = 0;
  size_t last = 0;
  for (; last < s.size(); ++last) {
    cum += s[last].p;
    if (cum >= target) break;
  }
  last = std::min(last, s.size() - 1);
  const double cut = s[last].shift;
  c.clear();
  for (const auto& e : s) {
    if (e.shift <= cut) c.push_back(e.cand);
  }
}

}  // namespace gemma4
