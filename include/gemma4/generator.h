// Generation over one conversation's KV cache (the onnxruntime-genai split: Model is shared and
// immutable, a Session owns one conversation's state, Generate runs the token loop).
#pragma once

#include <atomic>
#include <optional>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gemma4/grammar.h"
#include "gemma4/model.h"
#include "gemma4/reply_parser.h"
#include "gemma4/sampling.h"
#include "gemma4/speculative.h"

namespace gemma4 {

enum class StopReason { kEos, kLength, kStop, kCancelled };
std::string_view StopReasonName(StopReason reason);  // "eos", "length", "stop", "cancelled"

// The log probability of one generated token and of the most likely alternatives at that step.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most likely first (ties: lower id first)
};

struct GenerateOptions {
  size_t max_new_tokens = 256;        // 0: until the context is full
  SamplingParams sampling;            // see sampling.h; temperature 0 or do_sample false is greedy
  std::vector<std::string> stop;      // stop strings, matched across token boundaries, never emitted
  bool ignore_eos = false;            // keep going past eos_token_id (up to max_new_tokens)
  // Called on the generating thread with each new piece of clean UTF-8 text (possibly empty, e.g.
  // while a multi-byte character or a possible stop string is held back) and the token that
  // produced it. Return false to stop (StopReason::kCancelled).
  std::function<bool(std::string_view text, int32_t token)> on_token;
  // Polled between steps; set from any thread to stop (StopReason::kCancelled).
  const std::atomic<bool>* cancel = nullptr;
  // Speculative decoding: before each decoder step, `draft` proposes up to `draft_max` tokens
  // (fewer near max_new_tokens or the end of the context) and one decoder call runs the pending
  // token and the drafts together; the drafts the model would have picked itself are kept, the
  // rest rolled back. Every token is the argmax plain greedy decoding would take (penalties and
  // stop rules included); only the number of decoder calls changes. The logits are bit-identical
  // only where the decoder computes a row the same alone or batched: ONNX Runtime's CPU
  // MatMulNBits at accuracy_level 4 takes another numeric path for one row than for several
  // (logits ~0.1 apart on the full-size package), so near-ties can resolve differently there.
  // Greedy only: with sampling on (do_sample and temperature > 0), speculation is silently off,
  // and with a grammar too (drafts are not checked against it). Off when draft is null or
  // draft_max is 0.
  std::shared_ptr<DraftSource> draft;
  size_t draft_max = 0;
  // Log probabilities (OpenAI's logprobs): >= 0 records, for every generated token, its log
  // probability and that of the `top_logprobs` most likely tokens (at most 20) at its step, in
  // GenerationResult::logprobs. The distribution is the softmax of the logits after penalties and
  // logit_bias, divided by the temperature when sampling (greedy: temperature 1), before top-k /
  // top-p / min-p truncation. Turns speculative decoding off. -1: off.
  int top_logprobs = -1;
  // With top_logprobs >= 0: called on the generating thread with each token's entry, just before
  // on_token for the same token.
  std::function<void(const TokenLogprob&)> on_logprob;
  // Constrained decoding (grammar.h): before every sampling step, each token the grammar does not
  // allow next gets a logit of -inf, so greedy, sampling, penalties and logit_bias all see the
  // masked row, and logprobs are those of the masked distribution (a disallowed token has
  // probability 0). EOS is allowed only once the grammar is complete; when nothing else can
  // follow, EOS is the only choice. Turns speculative decoding off. Null: unconstrained.
  std::shared_ptr<const Grammar> grammar;
};

struct Timings {
  double load_ms = 0;     // the model's load time
  double prefill_ms = 0;  // prompt processing, up to the first sampled token
  double decode_ms = 0;   // every later step
  size_t prompt_tokens = 0;      // tokens in the prompt
  size_t prefilled_tokens = 0;   // of which actually run (the rest came from the cache)
  size_t generated_tokens = 0;
  size_t decode_calls = 0;       // decoder calls after the prefill (fewer than generated_tokens - 1
                                 // when drafts are accepted)
};

struct GenerationResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;  // generated ids; ends with the EOS id when generation stopped on one
  std::string text;                 // the decoded answer: no EOS text, no stop string
  StopReason stop_reason = StopReason::kLength;
  size_t reused_tokens = 0;         // prompt tokens served from the cache of earlier turns
  size_t draft_tokens = 0;          // speculative decoding: tokens proposed and verified
  size_t accepted_tokens = 0;       // of which the model agreed with (acceptance = accepted / draft)
  std::vector<TokenLogprob> logprobs;  // one per output id, with GenerateOptions::top_logprobs >= 0
  Timings timings;
};

class Session;

// The token loop, one step at a time (onnxruntime-genai's Generator): the prompt is prefilled on
// construction (reusing the session's cached prefix), then each GenerateNextToken() samples one
// token, applies the stop rules, and returns it. A sampled token is run through the decoder
// lazily, at the next call, so the last token of an answer never costs a decoder step.
// With a draft source (GenerateOptions::draft), one decoder call may settle several tokens; they
// are then returned one per call, each through the same stop rules, and the cache runs ahead of
// the returned tokens by those still queued. Once done, the cache holds exactly the prompt and
// the output minus its last token, as without drafts.
// Borrows the session: the session must outlive the generator, and only one generator may use a
// session at a time.
class Generator {
 public:
  Generator(Session& session, std::span<const int32_t> prompt_ids, const GenerateOptions& options);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  bool IsDone() const;
  // Samples the next token; throws Error(kInvalidArgument) when IsDone(). Also updates text():
  // the clean UTF-8 this token released (held back while a character or a possible stop string
  // is incomplete), and marks the generator done on EOS, a stop string, the budget, the end of
  // the context, or cancellation (the `cancel` flag of the options).
  int32_t GenerateNextToken();
  // Text released by the last GenerateNextToken (or by Finish).
  const std::string& text() const;
  // Ends generation now (e.g. the caller's callback asked to stop): flushes held text into
  // text(), marks the generator done with `reason`.
  void Finish(StopReason reason);
  // The result so far; complete once IsDone().
  const GenerationResult& result() const;

 private:
  // The loop's state (sampler, detokenizer, stop matcher, the logits row it samples from, queued
  // drafts) lives in src/generate/generator.cpp.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One conversation: owns a KV cache and the tokens it holds. Not thread-safe; use one Session
// per concurrent conversation (they may share the Model).
class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();

  // Generates a continuation of `prompt_ids` (a Generator loop that streams through
  // options.on_token). The cache keeps whatever prefix it shares with the prompt (multi-turn
  // reuse) and drops the rest, so a new turn prefills only new tokens.
  GenerationResult Generate(std::span<const int32_t> prompt_ids, const GenerateOptions& options);

  void Reset();                                  // forget the cache
  const std::vector<int32_t>& cached_tokens() const;
  const Model& model() const { return *model_; }
  KvState& kv_state() { return *state_; }
  std::shared_ptr<const Model> shared_model() const { return model_; }

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<KvState> state_;
};

// A chat turn: the generation and the reply parsed out of it (gemma4/reply_parser.h).
struct ChatResult : GenerationResult {
  AssistantOutput reply;
};

// Called with each parsed piece of a reply (content, reasoning or a whole tool call) as soon as it
// is settled, on the generating thread.
using ReplyDeltaFn = std::function<void(const ReplyParser::Event&)>;

// One chat turn over `session`: renders `request` with the package's template, generates (reusing
// the session's cached prefix) and parses the reply: the thought channel -> reply.reasoning, tool
// calls (only when request.tools declares some) -> reply.tool_calls, the rest -> reply.content.
// options.on_token still sees every raw piece; `on_delta` (optional) the parsed ones.
ChatResult GenerateChat(Session& session, const ChatRequest& request, const GenerateOptions& options,
                        const ReplyDeltaFn& on_delta = nullptr);

// The message a reply adds to the history, as transformers users write it: {"role": "assistant",
// "content": ...} plus "tool_calls" ([{id, type "function", function {name, arguments as an
// object}}]) when it made calls. Never the reasoning: Gemma's template does not replay thoughts.
nlohmann::ordered_json AssistantMessage(const AssistantOutput& reply);

// A multi-turn chat over a Session: keeps the messages, renders the whole conversation with the
// package's template each turn, and lets the Session reuse the cached prefix. Not thread-safe.
class Conversation {
 public:
  explicit Conversation(std::shared_ptr<const Model> model);

  // Appends the user message, generates the assistant's reply, appends AssistantMessage(reply)
  // (only once the turn finished without an exception), returns the result.
  ChatResult Reply(const std::string& user_text, const GenerateOptions& options,
                   const nlohmann::ordered_json& template_extra = nlohmann::ordered_json::object(),
                   const ReplyDeltaFn& on_delta = nullptr);
  // Generates the next assistant reply for the messages as they are (e.g. after AddMessage of a
  // tool result), appends it like Reply.
  ChatResult Continue(const GenerateOptions& options,
                      const nlohmann::ordered_json& template_extra = nlohmann::ordered_json::object(),
                      const ReplyDeltaFn& on_delta = nullptr);

  void SetSystem(const std::string& text);  // replaces (or, with "", removes) the system message
  void SetTools(nlohmann::ordered_json tools);  // null or an array of tool definitions (OpenAI's shape)
  void AddMessage(nlohmann::ordered_json message);  // an object with a string "role"
  void Reset();                             // clears messages (keeps the system message) and cache
  const nlohmann::ordered_json& messages() const { return messages_; }
  const nlohmann::ordered_json& tools() const { return tools_; }
  void SetMessages(nlohmann::ordered_json messages);  // e.g. /load; validated as an array of {role, content}
  Session& session() { return session_; }

 private:
  ChatResult Turn(nlohmann::ordered_json messages, const GenerateOptions& options,
                  const nlohmann::ordered_json& template_extra, const ReplyDeltaFn& on_delta);

  std::shared_ptr<const Model> model_;
  Session session_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools_;  // null: none
};

}  // namespace gemma4
