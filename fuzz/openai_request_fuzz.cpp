// Request parsing and validation, through the server's own functions (ParseBody,
// ParseChatCompletionRequest / ParseCompletionRequest, ResolveSampling, and the Anthropic Messages
// and Responses translators): any body is a request or a gemma4::Error naming the field, never a
// crash or a stray nlohmann exception.
#include "fuzz_util.h"
#include "server/anthropic_schema.h"
#include "server/openai_schema.h"
#include "server/responses_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kVocab = 262144;
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const nlohmann::json body = gemma4::server::ParseBody(gemma4::fuzz::AsText(data, size));
    const bool chat = size % 2 == 0;
    const gemma4::server::GenerationRequest request = chat ? gemma4::server::ParseChatCompletionRequest(body, kVocab)
                                                           : gemma4::server::ParseCompletionRequest(body, kVocab);
    for (const auto& [id, bias] : request.logit_bias) {
      gemma4::fuzz::Require(id >= 0 && static_cast<size_t>(id) < kVocab, "logit_bias id inside the vocabulary");
    }
    for (int32_t id : request.prompt_ids) {
      gemma4::fuzz::Require(id >= 0 && static_cast<size_t>(id) < kVocab, "prompt id inside the vocabulary");
    }
    (void)gemma4::server::ResolveSampling(request, gemma4::SamplingParams{}, 42);
  });
  // The same body as an Anthropic Messages or a Responses request.
  gemma4::fuzz::ExpectOnlyGemmaErrors([&] {
    const nlohmann::json body = gemma4::server::ParseBody(gemma4::fuzz::AsText(data, size));
    const nlohmann::json chat = size % 3 == 0 ? gemma4::server::AnthropicToChatRequest(body)
                                              : gemma4::server::ResponsesToChatRequest(body);
    (void)gemma4::server::ParseChatCompletionRequest(chat, kVocab);
  });
  return 0;
}
