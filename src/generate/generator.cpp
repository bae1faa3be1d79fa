// The step-wise token loop: prefill with prefix reuse, then sample / stop / stream one token per
// call, running each sampled token through the decoder only when the next one is asked for.
#include <algorithm>

#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/stop_criteria.h"
#include "gemma4/tokenizer.h"

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

Generator::Generator(Session& session, std::span<const int32_t> prompt, const GenerateOptions& options)
    : session_(session), model_(session.model()), options_(options) {
  if (prompt.empty()) throw Error(ErrorKind::kInvalidArgument, "the prompt is empty (no tokens to start from)");
  const Runtime& runtime = model_.runtime();
  const size_t vocab = static_cast<size_t>(runtime.decoder_io().vocab_size);
  if (prompt.size() >= runtime.max_context()) {
    throw Error(ErrorKind::kLimit, "the prompt has " + std::to_string(prompt.size()) +
                                       " tokens, which does not fit the context size of " +
                                       std::to_string(runtime.max_context()) + " (raise -c or shorten the prompt)");
  }
  sampler_ = std::make_unique<Sampler>(options.sampling, vocab);  // validates before any work
  detokenizer_ = std::make_unique<StreamingDecoder>(model_.tokenizer(), /*skip_special_tokens=*/true);
  stops_ = std::make_unique<StopStringMatcher>(options.stop);
  options_.on_token = nullptr;

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

Generator::~Generator() = default;

void Generator::Feed(int32_t token) {
  const int32_t next[] = {token};
  std::span<const float> logits = model_.runtime().Forward(session_.kv_state(), next, 1);
  std::copy(logits.begin(), logits.end(), row_.begin());
}

int32_t Generator::GenerateNextToken() {
  if (done_) throw Error(ErrorKind::kInvalidArgument, "GenerateNextToken: generation is already done");
  text_.clear();
  if (pending_) {
    Feed(*pending_);
    pending_.reset();
  }
  const int32_t token = sampler_->Sample(row_, context_, result_.prompt_ids.size());
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
    FlushHeldText();
    finish_timings();
    return token;
  }
  const StopStringMatcher::Result match = stops_->Feed(detokenizer_->Push(token));
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
  } else if (session_.kv_state().length() + 1 > model_.runtime().max_context()) {
    result_.stop_reason = StopReason::kLength;  // the token could not be run: the context is full
    done_ = true;
  }
  if (done_) {
    if (result_.stop_reason != StopReason::kStop) FlushHeldText();
    finish_timings();
  } else {
    pending_ = token;
  }
  return token;
}

void Generator::Finish(StopReason reason) {
  text_.clear();
  if (done_) return;
  done_ = true;
  result_.stop_reason = reason;
  FlushHeldText();
  const auto end = Clock::now();
  if (result_.output_ids.empty()) first_token_ = end;
  result_.timings.prefill_ms = Ms(start_, first_token_);
  result_.timings.decode_ms = Ms(first_token_, end);
  result_.timings.generated_tokens = result_.output_ids.size();
}

void Generator::FlushHeldText() {
  // Release what the detokenizer and the stop matcher still hold (an incomplete character at
  // the very end, or a prefix of a stop string that never completed).
  const StopStringMatcher::Result tail = stops_->Feed(detokenizer_->Flush());
  std::string rest = tail.text;
  if (!tail.stopped) rest += stops_->Flush();
  else result_.stop_reason = StopReason::kStop;
  text_ += rest;
  result_.text += rest;
}

}  // namespace gemma4
