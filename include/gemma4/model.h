// The immutable model: a package, its two ONNX Runtime sessions, its tokenizer and its chat
// template, loaded once and shared (std::shared_ptr<const Model>) by every conversation.
// All methods are const and safe to call from several threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/package.h"
#include "gemma4/runtime.h"

namespace gemma4 {

class Tokenizer;
class ChatTemplate;
class GrammarVocabulary;

struct LoadOptions {
  std::string dtype = "q4";  // which ONNX variant of the package to load
  RuntimeOptions runtime;    // threads, devices, context size, prefill chunk
};

// Inputs of a chat-template render (OpenAI-style messages and tools; see chat_template.h).
struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;                       // null or an array of tool definitions
  bool add_generation_prompt = true;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // e.g. {"enable_thinking": true}
};

class Model {
 public:
  // `path` is a package directory or a Hugging Face repo id (owner/name[@rev]) complete in the
  // local cache. Load does no network I/O: pull first (gemma4/hub.h) to download a repo.
  static std::shared_ptr<const Model> Load(const std::string& path, const LoadOptions& options = {});
  ~Model();

  const Package& package() const;
  const Runtime& runtime() const;
  const Tokenizer& tokenizer() const;
  bool has_chat_template() const;
  // Whether the template uses tool-call arguments as a mapping (TemplateTakesArgumentMappings in
  // chat_template.h); false without a template.
  bool chat_template_takes_argument_mappings() const;
  const std::vector<int32_t>& eos_token_ids() const;
  bool IsEos(int32_t id) const;
  double load_ms() const;  // wall time of Load: package checks + sessions + tokenizer + template
  size_t vocab_size() const;   // rows of the decoder's logits (the graph's, discovered at load)
  size_t max_context() const;  // the effective limit on cached + new tokens of one session
  // The tokenizer's tables for constrained decoding (token bytes, byte trie), built on first use
  // (a few hundred ms on a 262144-token vocabulary) and shared by every request afterwards.
  std::shared_ptr<const GrammarVocabulary> grammar_vocabulary() const;

  // The prompt text the package's chat template makes of `request`. Throws when there is no template.
  std::string RenderChat(const ChatRequest& request) const;
  // Rendered and tokenized without adding special tokens (the template writes <bos> itself), as
  // transformers' apply_chat_template(tokenize=True) does.
  std::vector<int32_t> TokenizeChat(const ChatRequest& request) const;
  // Tokenized as transformers' tokenizer(text) does: the tokenizer's post-processor adds <bos>.
  std::vector<int32_t> TokenizeRaw(const std::string& text) const;

 private:
  struct Impl;
  Model();
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma4
