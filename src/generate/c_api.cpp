// The C API: each entry point is one try/catch around the C++ library, mapping gemma4::Error
// kinds to gemma4_status and keeping the message for gemma4_last_error().
#include "gemma4/gemma4.h"

#include <cstring>
#include <string>

#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/tokenizer.h"

struct gemma4_model {
  std::shared_ptr<const gemma4::Model> model;
};

struct gemma4_session {
  std::shared_ptr<const gemma4::Model> model;
  gemma4::Conversation conversation;
  explicit gemma4_session(std::shared_ptr<const gemma4::Model> m) : model(m), conversation(std::move(m)) {}
};

namespace {

thread_local std::string g_last_error;

gemma4_status StatusOf(gemma4::ErrorKind kind) {
  using gemma4::ErrorKind;
  switch (kind) {
    case ErrorKind::kInvalidArgument: return GEMMA4_ERR_INVALID_ARGUMENT;
    case ErrorKind::kNotFound: return GEMMA4_ERR_NOT_FOUND;
    case ErrorKind::kCorrupt: return GEMMA4_ERR_CORRUPT;
    case ErrorKind::kUnsupported: return GEMMA4_ERR_UNSUPPORTED;
    case ErrorKind::kLimit: return GEMMA4_ERR_LIMIT;
    case ErrorKind::kRuntime: return GEMMA4_ERR_RUNTIME;
    case ErrorKind::kCancelled: return GEMMA4_ERR_CANCELLED;
  }
  return GEMMA4_ERR_INTERNAL;
}

template <typename F>
gemma4_status Guard(F&& body) {
  try {
    g_last_error.clear();
    body();
    return GEMMA4_OK;
  } catch (const gemma4::Error& e) {
    g_last_error = e.what();
    return StatusOf(e.kind());
  } catch (const std::exception& e) {
    g_last_error = e.what();
    return GEMMA4_ERR_INTERNAL;
  } catch (...) {
    g_last_error = "unknown error";
    return GEMMA4_ERR_INTERNAL;
  }
}

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

void RequireArg(bool ok, const char* what) {
  if (!ok) throw gemma4::Error(gemma4::ErrorKind::kInvalidArgument, what);
}

gemma4::GenerateOptions ToOptions(const gemma4::Model& model, const gemma4_generate_params* p,
                                  gemma4_token_callback callback, void* user_data) {
  gemma4::GenerateOptions o;
  gemma4_generate_params d = p ? *p : gemma4_generate_params_default();
  o.max_new_tokens = d.max_new_tokens;
  gemma4::SamplingParams s;
  if (d.use_model_defaults) s = gemma4::SamplingParamsFromGenerationConfig(model.package().generation.sampling);
  if (!d.use_model_defaults || d.temperature >= 0) s.temperature = d.temperature < 0 ? 1.0f : d.temperature;
  if (!d.use_model_defaults || d.top_k > 0) s.top_k = d.top_k;
  if (!d.use_model_defaults || d.top_p < 1) s.top_p = d.top_p;
  if (!d.use_model_defaults || d.min_p > 0) s.min_p = d.min_p;
  if (!d.use_model_defaults || d.repetition_penalty != 1) s.repetition_penalty = d.repetition_penalty;
  s.seed = d.seed;
  o.sampling = s;
  if (callback) {
    o.on_token = [callback, user_data](std::string_view text, int32_t token) {
      return callback(text.data(), text.size(), token, user_data) != 0;
    };
  }
  return o;
}

}  // namespace

extern "C" {

const char* gemma4_last_error(void) { return g_last_error.c_str(); }

gemma4_load_params gemma4_load_params_default(void) { return {"q4", 0, "cpu", "cpu", 0}; }

gemma4_status gemma4_model_load(const char* path, const gemma4_load_params* params, gemma4_model** out) {
  return Guard([&] {
    RequireArg(path && out, "gemma4_model_load: path and out must not be NULL");
    *out = nullptr;
    gemma4_load_params p = params ? *params : gemma4_load_params_default();
    gemma4::LoadOptions o;
    if (p.dtype) o.dtype = p.dtype;
    o.runtime.threads = p.threads;
    if (p.device) o.runtime.device = p.device;
    if (p.embed_device) o.runtime.embed_device = p.embed_device;
    o.runtime.max_context = p.max_context;
    *out = new gemma4_model{gemma4::Model::Load(path, o)};
  });
}

void gemma4_model_free(gemma4_model* model) { delete model; }

gemma4_status gemma4_tokenize(const gemma4_model* model, const char* text, int add_special_tokens, int32_t* ids,
                              size_t capacity, size_t* n_ids) {
  return Guard([&] {
    RequireArg(model && text && n_ids, "gemma4_tokenize: model, text and n_ids must not be NULL");
    auto tokens = model->model->tokenizer().Encode(text, add_special_tokens != 0);
    *n_ids = tokens.size();
    if (ids) std::memcpy(ids, tokens.data(), std::min(capacity, tokens.size()) * sizeof(int32_t));
    if (tokens.size() > capacity) {
      throw gemma4::Error(gemma4::ErrorKind::kLimit, "gemma4_tokenize: " + std::to_string(tokens.size()) +
                                                         " ids do not fit a buffer of " + std::to_string(capacity));
    }
  });
}

gemma4_status gemma4_detokenize(const gemma4_model* model, const int32_t* ids, size_t n_ids, int skip_special_tokens,
                                char** out) {
  return Guard([&] {
    RequireArg(model && out && (ids || n_ids == 0), "gemma4_detokenize: model, ids and out must not be NULL");
    *out = CopyString(model->model->tokenizer().Decode({ids, n_ids}, skip_special_tokens != 0));
  });
}

void gemma4_string_free(char* s) { std::free(s); }

gemma4_generate_params gemma4_generate_params_default(void) {
  // Negative temperature means "not set": keep generation_config.json's.
  return {256, -1.0f, 0, 1.0f, 0.0f, 1.0f, 0, 1};
}

gemma4_session* gemma4_session_new(const gemma4_model* model) {
  gemma4_session* session = nullptr;
  Guard([&] {
    RequireArg(model, "gemma4_session_new: model must not be NULL");
    session = new gemma4_session(model->model);
  });
  return session;
}

void gemma4_session_free(gemma4_session* session) { delete session; }

void gemma4_session_reset(gemma4_session* session) {
  if (session) session->conversation.Reset();
}

gemma4_status gemma4_session_chat(gemma4_session* session, const char* user_text, const gemma4_generate_params* params,
                                  gemma4_token_callback callback, void* user_data, char** text_out) {
  return Guard([&] {
    RequireArg(session && user_text, "gemma4_session_chat: session and user_text must not be NULL");
    auto r = session->conversation.Reply(user_text, ToOptions(*session->model, params, callback, user_data));
    if (text_out) *text_out = CopyString(r.text);
  });
}

gemma4_status gemma4_session_generate(gemma4_session* session, const int32_t* prompt_ids, size_t n_prompt,
                                      const gemma4_generate_params* params, gemma4_token_callback callback,
                                      void* user_data, char** text_out, size_t* n_generated) {
  return Guard([&] {
    RequireArg(session && prompt_ids, "gemma4_session_generate: session and prompt_ids must not be NULL");
    auto r = session->conversation.session().Generate({prompt_ids, n_prompt},
                                                      ToOptions(*session->model, params, callback, user_data));
    if (text_out) *text_out = CopyString(r.text);
    if (n_generated) *n_generated = r.output_ids.size();
  });
}

}  // extern "C"
