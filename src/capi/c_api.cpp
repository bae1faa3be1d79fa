// The C API (include/gemma4/gemma4.h): each entry point is one try/catch around the C++ library,
// mapping gemma4::Error kinds to gemma4_status and keeping the message for gemma4_last_error().
#include "gemma4/gemma4.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "gemma4/grammar.h"
#include "gemma4/generator.h"
#include "gemma4/log.h"
#include "gemma4/speculative.h"
#include "gemma4/tokenizer.h"

struct gemma4_model {
  std::shared_ptr<const gemma4::Model> model;
  std::string dtype;  // kept for gemma4_model_dtype/path: the returned pointers live as long as the handle
  std::string path;
};

struct gemma4_session {
  gemma4::Session session;
  explicit gemma4_session(std::shared_ptr<const gemma4::Model> m) : session(std::move(m)) {}
};

struct gemma4_conversation {
  gemma4::Conversation conversation;
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  explicit gemma4_conversation(std::shared_ptr<const gemma4::Model> m) : conversation(std::move(m)) {}
};

struct gemma4_result {
  gemma4::ChatResult result;
  std::string tool_calls;  // the JSON array, serialized once
};

struct gemma4_cancel {
  std::atomic<bool> flag{false};
};

namespace {

using nlohmann::ordered_json;

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
  } catch (const std::bad_alloc&) {
    g_last_error = "out of memory";
    return GEMMA4_ERR_LIMIT;
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

void Require(bool ok, const char* function, const char* what) {
  if (!ok) throw gemma4::Error(gemma4::ErrorKind::kInvalidArgument, std::string(function) + ": " + what);
}

// `text` as JSON of the expected type; null/absent text gives `fallback`. Errors name the argument.
ordered_json ParseJsonArg(const char* function, const char* name, const char* text, ordered_json fallback,
                          bool (ordered_json::*is_type)() const noexcept, const char* type) {
  if (!text) return fallback;
  ordered_json value;
  try {
    value = ordered_json::parse(text);
  } catch (const ordered_json::parse_error& e) {
    throw gemma4::Error(gemma4::ErrorKind::kInvalidArgument,
                        std::string(function) + ": " + name + " is not valid JSON (byte " + std::to_string(e.byte) +
                            "): " + e.what());
  }
  if (value.is_null()) return fallback;
  if (!(value.*is_type)()) {
    throw gemma4::Error(gemma4::ErrorKind::kInvalidArgument, std::string(function) + ": " + name + " must be a JSON " +
                                                                 type + ", got " + value.type_name());
  }
  return value;
}

ordered_json ArrayArg(const char* function, const char* name, const char* text, ordered_json fallback) {
  return ParseJsonArg(function, name, text, std::move(fallback), &ordered_json::is_array, "array");
}
ordered_json ObjectArg(const char* function, const char* name, const char* text) {
  return ParseJsonArg(function, name, text, ordered_json::object(), &ordered_json::is_object, "object");
}

gemma4::ChatRequest ChatRequestOf(const char* function, const char* messages_json, const char* tools_json,
                                  const char* variables_json) {
  Require(messages_json != nullptr, function, "messages_json must not be NULL");
  gemma4::ChatRequest request;
  request.messages = ArrayArg(function, "messages_json", messages_json, ordered_json::array());
  request.tools = ArrayArg(function, "tools_json", tools_json, nullptr);
  request.extra = ObjectArg(function, "variables_json", variables_json);
  return request;
}

// The C parameters -> GenerateOptions, through the one sampling resolver (gemma4/sampling.h).
gemma4::GenerateOptions ToOptions(const gemma4::Model& model, const gemma4_generate_params* params) {
  const gemma4_generate_params p = params ? *params : gemma4_generate_params_default();
  gemma4::SamplingOverrides o;
  auto set = [](std::optional<float>& field, float value) {
    if (!(value < 0)) field = value;  // negative: the model's; NaN reaches Validate and fails there
  };
  set(o.temperature, p.temperature);
  set(o.top_p, p.top_p);
  set(o.min_p, p.min_p);
  set(o.typical_p, p.typical_p);
  set(o.repetition_penalty, p.repetition_penalty);
  o.presence_penalty = p.presence_penalty;
  o.frequency_penalty = p.frequency_penalty;
  if (p.top_k >= 0) o.top_k = p.top_k;
  if (p.do_sample >= 0) o.do_sample = p.do_sample != 0;
  if (p.seed != GEMMA4_SEED_RANDOM) o.seed = p.seed;
  if (p.n_logit_bias > 0) {
    Require(p.logit_bias_ids && p.logit_bias_values, "generate params", "logit_bias_ids and logit_bias_values must be set");
    for (size_t i = 0; i < p.n_logit_bias; ++i) o.logit_bias.emplace_back(p.logit_bias_ids[i], p.logit_bias_values[i]);
  }
  gemma4::GenerateOptions options;
  options.sampling = gemma4::ResolveSampling(
      gemma4::SamplingParamsFromGenerationConfig(model.package().generation.sampling), o, gemma4::RandomSeed());
  options.max_new_tokens = p.max_new_tokens;
  if (p.n_stop > 0) {
    Require(p.stop != nullptr, "generate params", "stop must be set when n_stop > 0");
    for (size_t i = 0; i < p.n_stop; ++i) {
      Require(p.stop[i] != nullptr, "generate params", "a stop string is NULL");
      options.stop.emplace_back(p.stop[i]);
    }
  }
  options.ignore_eos = p.ignore_eos != 0;
  if (p.draft_max > 0) {
    options.draft = std::make_shared<gemma4::PromptLookupDraft>(p.draft_ngram > 0 ? p.draft_ngram : 3, 1);
    options.draft_max = p.draft_max;
  }
  if (p.cancel) options.cancel = &p.cancel->flag;
  Require(!(p.grammar && p.json_schema), "generate params", "give only one of grammar and json_schema");
  if (p.grammar) options.grammar = gemma4::Grammar::FromGbnf(p.grammar, "grammar");
  if (p.json_schema) {
    nlohmann::json schema;
    try {
      schema = nlohmann::json::parse(p.json_schema);
    } catch (const nlohmann::json::parse_error& e) {
      throw gemma4::Error(gemma4::ErrorKind::kInvalidArgument,
                          "json_schema: not valid JSON (parse error at byte " + std::to_string(e.byte) + ")");
    }
    gemma4::Grammar::JsonSchemaOptions schema_options;
    schema_options.strict = p.json_schema_strict != 0;
    try {
      options.grammar = gemma4::Grammar::FromJsonSchema(schema, schema_options);
    } catch (const gemma4::Error& e) {
      throw gemma4::Error(e.kind(), std::string("json_schema: ") + e.what());
    }
  }
  return options;
}

gemma4::ReplyDeltaFn DeltaCallback(gemma4_stream_callback callback, void* user_data, bool& stop) {
  if (!callback) return nullptr;
  return [callback, user_data, &stop](const gemma4::ReplyParser::Event& e) {
    if (stop) return;
    int keep = 1;
    if (e.kind == gemma4::ReplyParser::Event::kToolCall) {
      const std::string call =
          ordered_json{{"id", e.call.id}, {"name", e.call.name}, {"arguments", ordered_json::parse(e.call.arguments, nullptr, false)}}
              .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
      keep = callback(GEMMA4_PIECE_TOOL_CALL, call.data(), call.size(), user_data);
    } else if (!e.text.empty()) {
      keep = callback(e.kind == gemma4::ReplyParser::Event::kReasoning ? GEMMA4_PIECE_REASONING : GEMMA4_PIECE_CONTENT,
                      e.text.data(), e.text.size(), user_data);
    }
    if (!keep) stop = true;
  };
}

// Chat calls: the parsed reply streams through the callback; a callback that returned 0 stops
// generation at the next token.
template <typename F>
gemma4::ChatResult RunChat(gemma4::GenerateOptions options, gemma4_stream_callback callback, void* user_data,
                           F&& turn) {
  bool stop = false;
  const gemma4::ReplyDeltaFn on_delta = DeltaCallback(callback, user_data, stop);
  if (callback) options.on_token = [&stop](std::string_view, int32_t) { return !stop; };
  return turn(options, on_delta);
}

void SetResult(gemma4_result** out, gemma4::ChatResult result) {
  auto* r = new gemma4_result{std::move(result), {}};
  r->tool_calls = gemma4::AssistantMessage(r->result.reply)
                      .value("tool_calls", ordered_json::array())
                      .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  *out = r;
}

const char* kEmpty = "";

}  // namespace

extern "C" {

const char* gemma4_version(void) { return GEMMA4_VERSION_STRING; }

const char* gemma4_last_error(void) { return g_last_error.c_str(); }

const char* gemma4_status_name(gemma4_status status) {
  switch (status) {
    case GEMMA4_OK: return "ok";
    case GEMMA4_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case GEMMA4_ERR_NOT_FOUND: return "not_found";
    case GEMMA4_ERR_CORRUPT: return "corrupt";
    case GEMMA4_ERR_UNSUPPORTED: return "unsupported";
    case GEMMA4_ERR_LIMIT: return "limit";
    case GEMMA4_ERR_RUNTIME: return "runtime";
    case GEMMA4_ERR_CANCELLED: return "cancelled";
    case GEMMA4_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}

void gemma4_set_log_callback(gemma4_log_callback callback, gemma4_log_level min_level, void* user_data) {
  gemma4::SetLogLevel(static_cast<gemma4::LogLevel>(min_level));
  if (!callback) {
    gemma4::SetLogSink(nullptr);
    return;
  }
  gemma4::SetLogSink([callback, user_data](gemma4::LogLevel level, std::string_view message) {
    const std::string text(message);
    callback(static_cast<gemma4_log_level>(level), text.c_str(), user_data);
  });
}

gemma4_load_params gemma4_load_params_default(void) { return {"q4", 0, "cpu", "cpu", 0}; }

gemma4_status gemma4_model_load(const char* path, const gemma4_load_params* params, gemma4_model** out) {
  return Guard([&] {
    Require(path && out, "gemma4_model_load", "path and out must not be NULL");
    *out = nullptr;
    gemma4_load_params p = params ? *params : gemma4_load_params_default();
    Require(p.threads >= 0, "gemma4_model_load", "threads must be >= 0");
    gemma4::LoadOptions o;
    if (p.dtype) o.dtype = p.dtype;
    o.runtime.threads = p.threads;
    if (p.device) o.runtime.device = p.device;
    if (p.embed_device) o.runtime.embed_device = p.embed_device;
    o.runtime.max_context = p.max_context;
    auto model = gemma4::Model::Load(path, o);
    *out = new gemma4_model{model, model->package().dtype, model->package().root.string()};
  });
}

void gemma4_model_free(gemma4_model* model) { delete model; }

size_t gemma4_model_vocab_size(const gemma4_model* model) { return model ? model->model->vocab_size() : 0; }
size_t gemma4_model_max_context(const gemma4_model* model) { return model ? model->model->max_context() : 0; }

size_t gemma4_model_eos_ids(const gemma4_model* model, int32_t* ids, size_t capacity) {
  if (!model) return 0;
  const auto& eos = model->model->eos_token_ids();
  if (ids) std::memcpy(ids, eos.data(), std::min(capacity, eos.size()) * sizeof(int32_t));
  return eos.size();
}

const char* gemma4_model_dtype(const gemma4_model* model) { return model ? model->dtype.c_str() : kEmpty; }
const char* gemma4_model_path(const gemma4_model* model) { return model ? model->path.c_str() : kEmpty; }
int gemma4_model_has_chat_template(const gemma4_model* model) { return model && model->model->has_chat_template(); }

gemma4_status gemma4_tokenize(const gemma4_model* model, const char* text, int add_special_tokens, int32_t* ids,
                              size_t capacity, size_t* n_ids) {
  return Guard([&] {
    Require(model && text && n_ids, "gemma4_tokenize", "model, text and n_ids must not be NULL");
    Require(ids || capacity == 0, "gemma4_tokenize", "ids must not be NULL when capacity > 0");
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
    Require(model && out && (ids || n_ids == 0), "gemma4_detokenize", "model, ids and out must not be NULL");
    *out = nullptr;
    *out = CopyString(model->model->tokenizer().Decode({ids, n_ids}, skip_special_tokens != 0));
  });
}

gemma4_status gemma4_token_to_piece(const gemma4_model* model, int32_t token, char** out) {
  return Guard([&] {
    Require(model && out, "gemma4_token_to_piece", "model and out must not be NULL");
    *out = nullptr;
    *out = CopyString(model->model->tokenizer().Decode(std::span<const int32_t>(&token, 1), false));
  });
}

void gemma4_string_free(char* s) { std::free(s); }

gemma4_status gemma4_render_chat(const gemma4_model* model, const char* messages_json, const char* tools_json,
                                 const char* variables_json, int add_generation_prompt, char** out) {
  return Guard([&] {
    Require(model && out, "gemma4_render_chat", "model and out must not be NULL");
    *out = nullptr;
    gemma4::ChatRequest request = ChatRequestOf("gemma4_render_chat", messages_json, tools_json, variables_json);
    request.add_generation_prompt = add_generation_prompt != 0;
    *out = CopyString(model->model->RenderChat(request));
  });
}

gemma4_generate_params gemma4_generate_params_default(void) {
  gemma4_generate_params p;
  std::memset(&p, 0, sizeof p);
  p.max_new_tokens = 256;
  p.temperature = -1;
  p.top_k = -1;
  p.top_p = -1;
  p.min_p = -1;
  p.typical_p = -1;
  p.repetition_penalty = -1;
  p.do_sample = -1;
  p.seed = GEMMA4_SEED_RANDOM;
  p.draft_ngram = 3;
  return p;
}

gemma4_cancel* gemma4_cancel_new(void) { return new (std::nothrow) gemma4_cancel; }
void gemma4_cancel_free(gemma4_cancel* cancel) { delete cancel; }
void gemma4_cancel_set(gemma4_cancel* cancel) {
  if (cancel) cancel->flag.store(true);
}
void gemma4_cancel_clear(gemma4_cancel* cancel) {
  if (cancel) cancel->flag.store(false);
}
int gemma4_cancel_is_set(const gemma4_cancel* cancel) { return cancel && cancel->flag.load(); }

void gemma4_result_free(gemma4_result* result) { delete result; }
const char* gemma4_result_text(const gemma4_result* r) { return r ? r->result.text.c_str() : kEmpty; }
const char* gemma4_result_content(const gemma4_result* r) { return r ? r->result.reply.content.c_str() : kEmpty; }
const char* gemma4_result_reasoning(const gemma4_result* r) { return r ? r->result.reply.reasoning.c_str() : kEmpty; }
const char* gemma4_result_tool_calls(const gemma4_result* r) { return r ? r->tool_calls.c_str() : "[]"; }

const int32_t* gemma4_result_ids(const gemma4_result* r, size_t* n) {
  if (n) *n = r ? r->result.output_ids.size() : 0;
  return r ? r->result.output_ids.data() : nullptr;
}

gemma4_stop_reason gemma4_result_stop_reason(const gemma4_result* r) {
  if (!r) return GEMMA4_STOP_CANCELLED;
  switch (r->result.stop_reason) {
    case gemma4::StopReason::kEos: return GEMMA4_STOP_EOS;
    case gemma4::StopReason::kLength: return GEMMA4_STOP_LENGTH;
    case gemma4::StopReason::kStop: return GEMMA4_STOP_STRING;
    case gemma4::StopReason::kCancelled: return GEMMA4_STOP_CANCELLED;
  }
  return GEMMA4_STOP_CANCELLED;
}

const char* gemma4_stop_reason_name(gemma4_stop_reason reason) {
  switch (reason) {
    case GEMMA4_STOP_EOS: return "eos";
    case GEMMA4_STOP_LENGTH: return "length";
    case GEMMA4_STOP_STRING: return "stop";
    case GEMMA4_STOP_CANCELLED: return "cancelled";
  }
  return "unknown";
}

gemma4_timings gemma4_result_timings(const gemma4_result* r) {
  gemma4_timings t;
  std::memset(&t, 0, sizeof t);
  if (!r) return t;
  const gemma4::GenerationResult& g = r->result;
  t.load_ms = g.timings.load_ms;
  t.prefill_ms = g.timings.prefill_ms;
  t.decode_ms = g.timings.decode_ms;
  t.prompt_tokens = g.timings.prompt_tokens;
  t.reused_tokens = g.reused_tokens;
  t.generated_tokens = g.timings.generated_tokens;
  t.decode_calls = g.timings.decode_calls;
  t.draft_tokens = g.draft_tokens;
  t.accepted_tokens = g.accepted_tokens;
  return t;
}

gemma4_session* gemma4_session_new(const gemma4_model* model) {
  gemma4_session* session = nullptr;
  Guard([&] {
    Require(model != nullptr, "gemma4_session_new", "model must not be NULL");
    session = new gemma4_session(model->model);
  });
  return session;
}

void gemma4_session_free(gemma4_session* session) { delete session; }

void gemma4_session_reset(gemma4_session* session) {
  if (session) session->session.Reset();
}

gemma4_status gemma4_session_generate(gemma4_session* session, const int32_t* prompt_ids, size_t n_prompt,
                                      const gemma4_generate_params* params, gemma4_stream_callback callback,
                                      void* user_data, gemma4_result** out) {
  return Guard([&] {
    Require(session && prompt_ids && out, "gemma4_session_generate", "session, prompt_ids and out must not be NULL");
    *out = nullptr;
    gemma4::GenerateOptions options = ToOptions(session->session.model(), params);
    if (callback) {
      options.on_token = [callback, user_data](std::string_view text, int32_t) {
        return text.empty() || callback(GEMMA4_PIECE_CONTENT, text.data(), text.size(), user_data) != 0;
      };
    }
    gemma4::ChatResult result;
    static_cast<gemma4::GenerationResult&>(result) = session->session.Generate({prompt_ids, n_prompt}, options);
    result.reply.content = result.text;  // raw generation: no markup to parse
    SetResult(out, std::move(result));
  });
}

gemma4_status gemma4_session_chat(gemma4_session* session, const char* messages_json, const char* tools_json,
                                  const char* variables_json, const gemma4_generate_params* params,
                                  gemma4_stream_callback callback, void* user_data, gemma4_result** out) {
  return Guard([&] {
    Require(session && out, "gemma4_session_chat", "session and out must not be NULL");
    *out = nullptr;
    const gemma4::ChatRequest request = ChatRequestOf("gemma4_session_chat", messages_json, tools_json, variables_json);
    SetResult(out, RunChat(ToOptions(session->session.model(), params), callback, user_data,
                           [&](const gemma4::GenerateOptions& o, const gemma4::ReplyDeltaFn& d) {
                             return gemma4::GenerateChat(session->session, request, o, d);
                           }));
  });
}

gemma4_conversation* gemma4_conversation_new(const gemma4_model* model) {
  gemma4_conversation* conversation = nullptr;
  Guard([&] {
    Require(model != nullptr, "gemma4_conversation_new", "model must not be NULL");
    conversation = new gemma4_conversation(model->model);
  });
  return conversation;
}

void gemma4_conversation_free(gemma4_conversation* conversation) { delete conversation; }

gemma4_status gemma4_conversation_set_system(gemma4_conversation* conversation, const char* system) {
  return Guard([&] {
    Require(conversation != nullptr, "gemma4_conversation_set_system", "conversation must not be NULL");
    conversation->conversation.SetSystem(system ? system : "");
  });
}

gemma4_status gemma4_conversation_set_tools(gemma4_conversation* conversation, const char* tools_json) {
  return Guard([&] {
    Require(conversation != nullptr, "gemma4_conversation_set_tools", "conversation must not be NULL");
    conversation->conversation.SetTools(ArrayArg("gemma4_conversation_set_tools", "tools_json", tools_json, nullptr));
  });
}

gemma4_status gemma4_conversation_set_variables(gemma4_conversation* conversation, const char* variables_json) {
  return Guard([&] {
    Require(conversation != nullptr, "gemma4_conversation_set_variables", "conversation must not be NULL");
    conversation->variables = ObjectArg("gemma4_conversation_set_variables", "variables_json", variables_json);
  });
}

gemma4_status gemma4_conversation_add_message(gemma4_conversation* conversation, const char* message_json) {
  return Guard([&] {
    Require(conversation && message_json, "gemma4_conversation_add_message",
            "conversation and message_json must not be NULL");
    conversation->conversation.AddMessage(ParseJsonArg("gemma4_conversation_add_message", "message_json", message_json,
                                                       nullptr, &ordered_json::is_object, "object"));
  });
}

gemma4_status gemma4_conversation_send(gemma4_conversation* conversation, const char* user_text,
                                       const gemma4_generate_params* params, gemma4_stream_callback callback,
                                       void* user_data, gemma4_result** out) {
  return Guard([&] {
    Require(conversation && user_text && out, "gemma4_conversation_send",
            "conversation, user_text and out must not be NULL");
    *out = nullptr;
    auto& c = *conversation;
    SetResult(out, RunChat(ToOptions(c.conversation.session().model(), params), callback, user_data,
                           [&](const gemma4::GenerateOptions& o, const gemma4::ReplyDeltaFn& d) {
                             return c.conversation.Reply(user_text, o, c.variables, d);
                           }));
  });
}

gemma4_status gemma4_conversation_continue(gemma4_conversation* conversation, const gemma4_generate_params* params,
                                           gemma4_stream_callback callback, void* user_data, gemma4_result** out) {
  return Guard([&] {
    Require(conversation && out, "gemma4_conversation_continue", "conversation and out must not be NULL");
    *out = nullptr;
    auto& c = *conversation;
    SetResult(out, RunChat(ToOptions(c.conversation.session().model(), params), callback, user_data,
                           [&](const gemma4::GenerateOptions& o, const gemma4::ReplyDeltaFn& d) {
                             return c.conversation.Continue(o, c.variables, d);
                           }));
  });
}

gemma4_status gemma4_conversation_messages(const gemma4_conversation* conversation, char** out) {
  return Guard([&] {
    Require(conversation && out, "gemma4_conversation_messages", "conversation and out must not be NULL");
    *out = nullptr;
    *out = CopyString(
        conversation->conversation.messages().dump(-1, ' ', false, ordered_json::error_handler_t::replace));
  });
}

void gemma4_conversation_reset(gemma4_conversation* conversation) {
  if (conversation) conversation->conversation.Reset();
}

}  // extern "C"
