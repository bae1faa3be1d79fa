// StreamingDecoder: incremental detokenization that only ever emits text a full Decode agrees with.
//
// Each Push decodes a short window of recent ids and returns what the window's text gained. Text
// is held back while it could still change: while the window ends inside a run of byte-fallback
// tokens (HF decodes a whole invalid run as one U+FFFD per byte, so a run is final only when a
// non-byte token ends it) or while the text ends in U+FFFD (a character split over byte-level
// tokens). Once text is emitted, the window restarts from a few recent ids kept as context, chosen
// so that decoders that treat the first token specially (Metaspace, Strip) cannot tell.
#include "gemma4/tokenizer.h"

#include "tokenizer/decoders.h"

namespace gemma4 {

namespace {
bool EndsWithReplacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamingDecoder::Push(int32_t id) {
  const Tokenizer& t = *tokenizer_;
  if (id < 0 || static_cast<size_t>(id) >= t.vocab_size()) {
    int32_t one[1] = {id};
    (void)t.Decode(one, skip_special_);  // throws the same error Decode gives
  }
  // A skipped special token contributes nothing, and must not end a byte-fallback run either:
  // Decode drops it before the decoders run, so the bytes on both sides form one run.
  if (skip_special_ && t.IsSpecial(id)) return {};
  ids_.push_back(id);
  if (tok::ParseByteToken(t.IdToToken(id)) >= 0) return {};
  std::string text = t.Decode(ids_, skip_special_);
  if (EndsWithReplacement(text) || text.size() < emitted_) return {};
  std::string out = text.substr(emitted_);
  tail_ += out;
  if (tail_.size() > 1024) tail_.erase(0, tail_.size() - 512);
  // Restart the window from the shortest suffix of ids whose own decode is non-empty and equals
  // the end of what was emitted: later tokens then decode exactly as they would after the full
  // prefix (an empty context would let first-token rules such as Strip reach the next token).
  constexpr size_t kMaxContext = 8;
  constexpr size_t kMaxWindow = 256;
  for (size_t k = 1; k <= kMaxContext && k < ids_.size(); ++k) {
    std::span<const int32_t> context(ids_.data() + ids_.size() - k, k);
    std::string ctx = t.Decode(context, skip_special_);
    if (!ctx.empty() && ctx.size() <= tail_.size() && tail_.compare(tail_.size() - ctx.size(), ctx.size(), ctx) == 0) {
      ids_.erase(ids_.begin(), ids_.end() - static_cast<std::ptrdiff_t>(k));
      emitted_ = ctx.size();
      return out;
    }
  }
  if (ids_.size() > kMaxWindow) {
    // No clean restart point in a long window (e.g. tokens that decode to nothing): restart
    // anyway to keep Push O(1); only pathological decoders can notice.
    ids_.erase(ids_.begin(), ids_.end() - 1);
    emitted_ = t.Decode(ids_, skip_special_).size();
    return out;
  }
  emitted_ = text.size();
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string text = tokenizer_->Decode(ids_, skip_special_);
  std::string out = text.size() > emitted_ ? text.substr(emitted_) : std::string();
  Reset();
  return out;
}

void StreamingDecoder::Reset() {
  ids_.clear();
  emitted_ = 0;
  tail_.clear();
}

}  // namespace gemma4
