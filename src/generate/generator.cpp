// The step-wise token loop: prefill with prefix reuse, then sample / stop / stream one token per
// call, running each sampled token through the decoder only when the next one is asked for.
#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>

#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "generate/stop_strings.h"
#include "gemma4/tokenizer.h"
#include "generate/grammar_constraint.h"
#include "generate/logprobs.h"

namespace gemma4 {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

size_t CommonPrefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

std::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kEos: return "eos";
    case StopReason::kLength: return "length";
    case StopReason::kStop: return "stop";
    case StopReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

struct Generator::Impl {
  Impl(Session& session, std::span<const int32_t> prompt, const GenerateOptions& options);
  ~Impl();
  int32_t GenerateNextToken();
  void Finish(StopReason reason);

  void Feed(int32_t token);
  // Runs `token` and the drafted tokens after it in one decoder call and queues the accepted drafts
  // and the model's own next token; falls back to Feed + Sample when nothing is drafted.
  void Verify(int32_t token);
  size_t DraftBudget() const;
  void TrimCache();
  void FlushHeldText();

  Session& session_;
  const Model& model_;
  GenerateOptions options_;  // on_token is not used by the generator itself
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<StreamingDecoder> detokenizer_;
  std::unique_ptr<StopStringMatcher> stops_;
  std::unique_ptr<GrammarConstraint> constraint_;  // with options.grammar
  std::vector<int32_t> context_;  // prompt + generated, for penalties
  std::vector<float> row_;        // the logits of the next position, copied (the sampler edits them)
  std::optional<int32_t> pending_;  // sampled but not yet run through the decoder
  bool speculate_ = false;          // a draft source is set and decoding is greedy
  std::deque<int32_t> queued_;      // settled by a verifying call, not yet returned; the cache
                                    // holds all of them but the last
  std::string text_;
  GenerationResult result_;
  bool done_ = false;
  std::chrono::steady_clock::time_point start_, first_token_;
};

Generator::Impl::Impl(Session& session, std::span<const int32_t> prompt, const GenerateOptions& options)
    : session_(session), model_(session.model()), options_(options) {
  if (prompt.empty()) throw Error(ErrorKind::kInvalidArgument, "the prompt is empty (no tokens to start from)");
  const Runtime& runtime = model_.runtime();
  const size_t vocab = runtime.vocab_size();
  if (prompt.size() >= runtime.max_context()) {
    throw Error(ErrorKind::kLimit, "the prompt has " + std::to_string(prompt.size()) +
                                       " tokens, which does not fit the context size of " +
                                       std::to_string(runtime.max_context()) + " (raise -c or shorten the prompt)");
  }
  sampler_ = std::make_unique<Sampler>(options.sampling, vocab);  // validates before any work
  detokenizer_ = std::make_unique<StreamingDecoder>(model_.tokenizer(), /*skip_special_tokens=*/true);
  stops_ = std::make_unique<StopStringMatcher>(options.stop);
  options_.on_token = nullptr;
  if (options_.top_logprobs > 20) {
    throw Error(ErrorKind::kInvalidArgument, "top_logprobs must be at most 20, got " + std::to_string(options_.top_logprobs));
  }
  // A verified draft is never sampled from its own row: no logprob to report for it. Drafts are
  // not checked against a grammar either, so constrained decoding runs without them.
  speculate_ = options_.draft && options_.draft_max > 0 && options_.sampling.greedy() && options_.top_logprobs < 0 &&
               !options_.grammar;
  if (options_.grammar) constraint_ = std::make_unique<GrammarConstraint>(options_.grammar, model_.grammar_vocabulary());

  result_.prompt_ids.assign(prompt.begin(), prompt.end());
  result_.timings.load_ms = model_.load_ms();
  result_.timings.prompt_tokens = prompt.size();

  // Keep the longest cached prefix, but always run at least one prompt token: its logits are
  // what the first new token is sampled from.
  KvState& state = session_.kv_state();
  const size_t reuse = std::min(CommonPrefix(state.tokens(), prompt), prompt.size() - 1);
  state.Truncate(reuse);
  result_.reused_tokens = reuse;
  result_.timings.prefilled_tokens = prompt.size() - reuse;
  context_.assign(prompt.begin(), prompt.end());

  start_ = Clock::now();
  std::span<const float> logits = runtime.Forward(state, prompt.subspan(reuse), 1);
  row_.assign(logits.begin(), logits.end());
}

Generator::Impl::~Impl() {
  // Dropped mid-answer: do not leave verified-but-unreturned drafts in the session's cache.
  try {
    TrimCache();
  } catch (...) {
  }
}

void Generator::Impl::Feed(int32_t token) {
  const int32_t next[] = {token};
  std::span<const float> logits = model_.runtime().Forward(session_.kv_state(), next, 1);
  ++result_.timings.decode_calls;
  std::copy(logits.begin(), logits.end(), row_.begin());
}

size_t Generator::Impl::DraftBudget() const {
  // The verifying call settles up to k + 1 tokens (the accepted drafts and the model's own next
  // one) and caches the pending token and the k drafts.
  size_t k = options_.draft_max;
  if (options_.max_new_tokens > 0) {
    const size_t left = options_.max_new_tokens - std::min(options_.max_new_tokens, result_.output_ids.size());
    k = std::min(k, left > 0 ? left - 1 : 0);
  }
  const size_t cached = session_.kv_state().length() + 1;  // with the pending token
  const size_t room = model_.runtime().max_context();
  return std::min(k, room > cached ? room - cached : 0);
}

void Generator::Impl::Verify(int32_t token) {
  const size_t budget = DraftBudget();
  std::vector<int32_t> drafts;
  if (budget > 0) drafts = options_.draft->Propose(context_, budget);
  if (drafts.size() > budget) drafts.resize(budget);
  if (drafts.empty()) return Feed(token);
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (drafts[i] < 0 || static_cast<size_t>(drafts[i]) >= row_.size()) {
      throw Error(ErrorKind::kInvalidArgument, "the draft source proposed token id " + std::to_string(drafts[i]) +
                                                   " (draft " + std::to_string(i) + "), outside the vocabulary of " +
                                                   std::to_string(row_.size()));
    }
  }

  KvState& state = session_.kv_state();
  const size_t cached = state.length();
  std::vector<int32_t> ids;
  ids.reserve(drafts.size() + 1);
  ids.push_back(token);
  ids.insert(ids.end(), drafts.begin(), drafts.end());
  std::span<const float> logits = model_.runtime().Forward(state, ids, ids.size());
  ++result_.timings.decode_calls;
  result_.draft_tokens += drafts.size();

  // Row i holds the logits after ids[i]: the model's choice there is exactly what a plain greedy
  // step would sample with the context extended by drafts[0..i), so draft i stands if it equals it.
  const size_t vocab = row_.size();
  const size_t context_size = context_.size();
  size_t accepted = 0;
  int32_t next = 0;
  for (size_t i = 0; i <= drafts.size(); ++i) {
    const auto row = logits.subspan(i * vocab, vocab);
    std::copy(row.begin(), row.end(), row_.begin());  // the sampler edits the row in place
    next = sampler_->Sample(row_, context_, result_.prompt_ids.size());
    if (i == drafts.size() || next != drafts[i]) break;
    context_.push_back(next);  // what the penalties of the next row see
    ++accepted;
  }
  context_.resize(context_size);  // the tokens go back on as they are returned
  result_.accepted_tokens += accepted;
  queued_.assign(drafts.begin(), drafts.begin() + static_cast<std::ptrdiff_t>(accepted));
  queued_.push_back(next);
  // Roll back the rejected drafts: keep the pending token and the accepted ones. The mask and the
  // positions of the next call follow from the cache length.
  state.Truncate(cached + 1 + accepted);
}

void Generator::Impl::TrimCache() {
  // Without drafts the cache holds the prompt and every returned token but the last; restore that
  // when accepted drafts were queued but never returned (a stop rule fired first).
  const size_t keep = context_.size() - (result_.output_ids.empty() ? 0 : 1);
  KvState& state = session_.kv_state();
  if (state.length() > keep) state.Truncate(keep);
}

int32_t Generator::Impl::GenerateNextToken() {
  if (done_) throw Error(ErrorKind::kInvalidArgument, "GenerateNextToken: generation is already done");
  text_.clear();
  if (queued_.empty()) {
    if (pending_) {
      const int32_t token = *pending_;
      pending_.reset();
      if (speculate_) {
        Verify(token);
      } else {
        Feed(token);
      }
    }
    if (queued_.empty()) {
      if (constraint_) constraint_->Mask(row_);
      queued_.push_back(sampler_->Sample(row_, context_, result_.prompt_ids.size()));
      if (options_.top_logprobs >= 0) {
        // Sample left penalties and bias applied to row_: the distribution it drew from, untruncated.
        const float t = options_.sampling.greedy() ? 1.0f : options_.sampling.temperature;
        result_.logprobs.push_back(TokenLogprobOf(row_, t, queued_.front(), static_cast<size_t>(options_.top_logprobs)));
        if (options_.on_logprob) options_.on_logprob(result_.logprobs.back());
      }
    }
  }
  const int32_t token = queued_.front();
  queued_.pop_front();
  if (constraint_) constraint_->Accept(token);
  if (result_.output_ids.empty()) first_token_ = Clock::now();
  result_.output_ids.push_back(token);
  context_.push_back(token);
  auto finish_timings = [&] {
    const auto end = Clock::now();
    result_.timings.prefill_ms = Ms(start_, first_token_);
    result_.timings.decode_ms = Ms(first_token_, end);
    result_.timings.generated_tokens = result_.output_ids.size();
  };

  if (!options_.ignore_eos && model_.IsEos(token)) {
    // The EOS id ends output_ids (as transformers' generate() returns it) but adds no text.
    result_.stop_reason = StopReason::kEos;
    done_ = true;
    queued_.clear();
    TrimCache();
    FlushHeldText();
    finish_timings();
    return token;
  }
  // Under a grammar, byte-fallback tokens are common (random or weak models pick them), and the
  // detokenizer holds a byte run across a skipped special token; the server puts markup such as
  // <|"|> back after the text released with it, so a special token first releases the run.
  const bool release = constraint_ && model_.tokenizer().IsSpecial(token);
  const StopStringMatcher::Result match = stops_->Feed(release ? detokenizer_->Flush() : detokenizer_->Push(token));
  text_ = match.text;
  result_.text += text_;
  if (match.stopped) {
    result_.stop_reason = StopReason::kStop;
    done_ = true;
  } else if (options_.max_new_tokens > 0 && result_.output_ids.size() >= options_.max_new_tokens) {
    result_.stop_reason = StopReason::kLength;
    done_ = true;
  } else if (options_.cancel && options_.cancel->load(std::memory_order_relaxed)) {
    result_.stop_reason = StopReason::kCancelled;
    done_ = true;
  } else if (context_.size() > model_.runtime().max_context()) {
    result_.stop_reason = StopReason::kLength;  // the token could not be run: the context is full
    done_ = true;
  }
  if (done_) {
    queued_.clear();
    TrimCache();
    if (result_.stop_reason != StopReason::kStop) FlushHeldText();
    finish_timings();
  } else if (queued_.empty()) {
    pending_ = token;  // the others in the queue are in the cache already
  }
  return token;
}

void Generator::Impl::Finish(StopReason reason) {
  text_.clear();
  if (done_) return;
  done_ = true;
  result_.stop_reason = reason;
  queued_.clear();
  TrimCache();
  FlushHeldText();
  const auto end = Clock::now();
  if (result_.output_ids.empty()) first_token_ = end;
  result_.timings.prefill_ms = Ms(start_, first_token_);
  result_.timings.decode_ms = Ms(first_token_, end);
  result_.timings.generated_tokens = result_.output_ids.size();
}

void Generator::Impl::FlushHeldText() {
  // Release what the detokenizer and the stop matcher still hold (an incomplete character at
  // the very end, or a prefix of a stop string that never completed).
  const StopStringMatcher::Result tail = stops_->Feed(detokenizer_->Flush());
  std::string rest = tail.text;
  if (!tail.stopped) rest += stops_->Flush();
  else result_.stop_reason = StopReason::kStop;
  text_ += rest;
  result_.text += rest;
}

Generator::Generator(Session& session, std::span<const int32_t> prompt, const GenerateOptions& options)
    : impl_(std::make_unique<Impl>(session, prompt, options)) {}
Generator::~Generator() = default;
bool Generator::IsDone() const { return impl_->done_; }
int32_t Generator::GenerateNextToken() { return impl_->GenerateNextToken(); }
const std::string& Generator::text() const { return impl_->text_; }
void Generator::Finish(StopReason reason) { impl_->Finish(reason); }
const GenerationResult& Generator::result() const { return impl_->result_; }

}  // namespace gemma4
