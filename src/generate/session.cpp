// The token loop: reuse the cached prefix, prefill the rest in one call, then sample, stream and
// step one token at a time until EOS, a stop string, the token budget, or cancellation.
#include <algorithm>
#include <chrono>

#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/stop_criteria.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

size_t CommonPrefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
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

Session::Session(std::shared_ptr<const Model> model) : model_(std::move(model)), state_(model_->runtime().NewState()) {}
Session::~Session() = default;

void Session::Reset() { state_ = model_->runtime().NewState(); }

const std::vector<int32_t>& Session::cached_tokens() const { return state_->tokens(); }

GenerationResult Session::Generate(std::span<const int32_t> prompt, const GenerateOptions& options) {
  if (prompt.empty()) throw Error(ErrorKind::kInvalidArgument, "the prompt is empty (no tokens to start from)");
  const Runtime& runtime = model_->runtime();
  const size_t vocab = static_cast<size_t>(runtime.decoder_io().vocab_size);
  if (prompt.size() >= runtime.max_context()) {
    throw Error(ErrorKind::kLimit, "the prompt has " + std::to_string(prompt.size()) +
                                       " tokens, which does not fit the context size of " +
                                       std::to_string(runtime.max_context()) + " (raise -c or shorten the prompt)");
  }
  Sampler sampler(options.sampling, vocab);  // validates before any work

  GenerationResult result;
  result.prompt_ids.assign(prompt.begin(), prompt.end());
  result.timings.load_ms = model_->load_ms();
  result.timings.prompt_tokens = prompt.size();

  // Keep the longest cached prefix, but always run at least one prompt token: its logits are
  // what the first new token is sampled from.
  size_t reuse = std::min(CommonPrefix(state_->tokens(), prompt), prompt.size() - 1);
  state_->Truncate(reuse);
  result.reused_tokens = reuse;
  result.timings.prefilled_tokens = prompt.size() - reuse;

  std::vector<int32_t> context(prompt.begin(), prompt.end());
  StreamingDecoder detokenizer(model_->tokenizer(), /*skip_special_tokens=*/true);
  StopStringMatcher stops(options.stop);
  std::vector<float> row(vocab);

  auto emit = [&](const std::string& text, int32_t token) -> bool {
    result.text += text;
    return !options.on_token || options.on_token(text, token);
  };

  const auto t0 = Clock::now();
  std::span<const float> logits = runtime.Forward(*state_, prompt.subspan(reuse), 1);
  auto t_first = Clock::now();
  bool first = true;
  bool stopped_by_string = false;
  while (true) {
    std::copy(logits.begin(), logits.end(), row.begin());
    const int32_t token = sampler.Sample(row, context, prompt.size());
    if (first) {
      t_first = Clock::now();
      first = false;
    }
    result.output_ids.push_back(token);
    context.push_back(token);

    if (!options.ignore_eos && model_->IsEos(token)) {
      result.stop_reason = StopReason::kEos;
      break;
    }
    const StopStringMatcher::Result match = stops.Feed(detokenizer.Push(token));
    if (!emit(match.text, token)) {
      result.stop_reason = StopReason::kCancelled;
      break;
    }
    if (match.stopped) {
      result.stop_reason = StopReason::kStop;
      stopped_by_string = true;
      break;
    }
    if (options.max_new_tokens > 0 && result.output_ids.size() >= options.max_new_tokens) {
      result.stop_reason = StopReason::kLength;
      break;
    }
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      result.stop_reason = StopReason::kCancelled;
      break;
    }
    if (state_->length() + 1 > runtime.max_context()) {
      result.stop_reason = StopReason::kLength;
      break;
    }
    const int32_t next[] = {token};
    logits = runtime.Forward(*state_, next, 1);
  }
  if (!stopped_by_string) {
    // Release what the detokenizer and the stop matcher still hold (an incomplete character at
    // the very end, or a prefix of a stop string that never completed).
    const StopStringMatcher::Result tail = stops.Feed(detokenizer.Flush());
    std::string rest = tail.text;
    if (!tail.stopped) rest += stops.Flush();
    if (!rest.empty()) emit(rest, -1);
  }
  const auto t_end = Clock::now();
  result.timings.prefill_ms = Ms(t0, t_first);
  result.timings.decode_ms = Ms(t_first, t_end);
  result.timings.generated_tokens = result.output_ids.size();
  return result;
}

}  // namespace gemma4
