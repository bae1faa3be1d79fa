// Loading a Model: package checks, sessions, tokenizer and chat template, timed as one.
#include "gemma4/model.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "gemma4/chat_template.h"
#include "gemma4/error.h"
#include "gemma4/grammar.h"
#include "gemma4/hub.h"
#include "gemma4/hub_cache.h"
#include "gemma4/log.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {

struct Model::Impl {
  Package package;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplateConfig> template_config;
  std::optional<ChatTemplate> chat_template;
  std::vector<int32_t> eos;
  double load_ms = 0;
  mutable std::once_flag grammar_once;
  mutable std::shared_ptr<const GrammarVocabulary> grammar_vocabulary;
};

namespace {

// `path` as a directory: itself, or the snapshot of a repo id complete in the local cache. Never
// the network.
std::filesystem::path LocalPackageDir(const std::string& path, const std::string& dtype) {
  std::error_code ec;
  if (path.empty() || std::filesystem::is_directory(path, ec) || path[0] == '/' || path[0] == '.') return path;
  PullOptions cache;
  cache.dtype = dtype;
  cache.offline = true;
  std::optional<std::filesystem::path> snapshot;
  try {
    snapshot = FindCompleteSnapshot(path, cache);
  } catch (const Error&) {
    return path;  // not a repo id: OpenPackage names the missing directory
  }
  if (snapshot) return *snapshot;
  throw Error(ErrorKind::kNotFound, "model '" + path + "' is neither a directory nor complete in the Hugging Face "
                                    "cache: download it first (gemma4 pull " + path + ", or gemma4::Pull)");
}

}  // namespace

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::Load(const std::string& path, const LoadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<Model> model(new Model());
  Impl& m = *model->impl_;
  // No network here: a repo id must already be complete in the local cache. Pulling is the
  // caller's explicit step (gemma4::Pull / ResolveOrPull, with progress and offline control; the
  // CLI's -m does it before loading).
  m.package = OpenPackage(LocalPackageDir(path, options.dtype), PackageOptions{options.dtype});
  const OrtInfo& ort = GetOrtInfo();
  Log(LogLevel::kDebug, "ONNX Runtime " + ort.version + " from " + ort.library_path);
  m.tokenizer = std::make_unique<Tokenizer>(Tokenizer::FromFile(
      m.package.tokenizer_json, m.package.tokenizer_config_json.value_or(std::filesystem::path())));
  if (m.package.has_chat_template) {
    m.template_config = LoadChatTemplateConfig(m.package.root);
    m.chat_template = ChatTemplate::Parse(m.template_config->source, m.template_config->origin);
  }
  m.runtime = std::make_unique<Runtime>(m.package, options.runtime);
  const int64_t vocab = m.runtime->vocab_size();
  if (static_cast<int64_t>(m.tokenizer->vocab_size()) > vocab) {
    Log(LogLevel::kWarn, "the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
                             " tokens but the decoder's logits cover " + std::to_string(vocab));
  }
  m.eos = m.package.generation.eos_token_ids;
  for (int32_t id : m.eos) {
    if (id >= vocab) {
      throw Error(ErrorKind::kCorrupt, "eos_token_id " + std::to_string(id) + " is outside the vocabulary of " +
                                           std::to_string(vocab) + " tokens");
    }
  }
  m.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return model;
}

const Package& Model::package() const { return impl_->package; }
const Runtime& Model::runtime() const { return *impl_->runtime; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }
bool Model::has_chat_template() const { return impl_->chat_template.has_value(); }
bool Model::chat_template_takes_argument_mappings() const {
  return impl_->template_config && TemplateTakesArgumentMappings(impl_->template_config->source);
}
const std::vector<int32_t>& Model::eos_token_ids() const { return impl_->eos; }
bool Model::IsEos(int32_t id) const { return std::find(impl_->eos.begin(), impl_->eos.end(), id) != impl_->eos.end(); }
double Model::load_ms() const { return impl_->load_ms; }
size_t Model::vocab_size() const { return runtime().vocab_size(); }
size_t Model::max_context() const { return runtime().max_context(); }

std::shared_ptr<const GrammarVocabulary> Model::grammar_vocabulary() const {
  std::call_once(impl_->grammar_once,
                 [this] { impl_->grammar_vocabulary = GrammarVocabulary::Build(*impl_->tokenizer, impl_->eos); });
  return impl_->grammar_vocabulary;
}

std::string Model::RenderChat(const ChatRequest& request) const {
  if (!impl_->chat_template) {
    throw Error(ErrorKind::kNotFound, impl_->package.root.string() +
                                          ": the package has no chat template (chat_template.jinja or tokenizer_config.json "
                                          "chat_template); use --raw to send the prompt as is");
  }
  return ApplyChatTemplate(*impl_->chat_template, *impl_->template_config, request.messages, request.tools,
                           request.add_generation_prompt, request.extra);
}

std::vector<int32_t> Model::TokenizeChat(const ChatRequest& request) const {
  return impl_->tokenizer->Encode(RenderChat(request), /*add_special_tokens=*/false);
}

std::vector<int32_t> Model::TokenizeRaw(const std::string& text) const {
  return impl_->tokenizer->Encode(text, /*add_special_tokens=*/true);
}

}  // namespace gemma4
