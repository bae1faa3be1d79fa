// A conversation's KV cache, and the streaming loop over a Generator.
#include "gemma4/error.h"
#include "gemma4/generator.h"

namespace gemma4 {

Session::Session(std::shared_ptr<const Model> model) : model_(std::move(model)), state_(model_->runtime().NewState()) {}
Session::~Session() = default;

void Session::Reset() { state_ = model_->runtime().NewState(); }

const std::vector<int32_t>& Session::cached_tokens() const { return state_->tokens(); }

GenerationResult Session::Generate(std::span<const int32_t> prompt, const GenerateOptions& options) {
  Generator generator(*this, prompt, options);
  while (!generator.IsDone()) {
    const int32_t token = generator.GenerateNextToken();
    if (options.on_token && !options.on_token(generator.text(), token)) {
      generator.Finish(StopReason::kCancelled);  // the caller stopped listening: no more callbacks
      break;
    }
  }
  return generator.result();
}

}  // namespace gemma4
