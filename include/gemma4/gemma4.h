/* gemma4.h: the C API of gemma4-ort (libgemma4.so), for C programs and other languages.
 *
 * Conventions (llama.h's and onnxruntime-genai's):
 *  - Opaque handles with create/free pairs; every *_free accepts NULL. Free sessions and
 *    conversations before the model they use; results and strings own their data and may
 *    outlive everything.
 *  - Every fallible call returns GEMMA4_OK (0) or another gemma4_status; gemma4_last_error() then
 *    describes the failure. A NULL handle or out-pointer where one is required is
 *    GEMMA4_ERR_INVALID_ARGUMENT, never a crash.
 *  - Strings are UTF-8 and NUL-terminated. A `char**` out-parameter receives a new string to
 *    release with gemma4_string_free. A `const char*` returned by a getter is owned by the library
 *    and lives as long as the handle it came from.
 *  - JSON goes in and out as text: messages, tools and template variables as OpenAI and
 *    transformers' apply_chat_template write them; tool calls as OpenAI's tool_calls array.
 *  - Thread safety is stated per function. In short: a model is immutable and may be used from
 *    any number of threads at once; a session, conversation or result is used by one thread at a
 *    time (different ones may run in parallel over one model); a cancel flag may be set from any
 *    thread.
 *
 *   gemma4_model* model = NULL;
 *   gemma4_load_params lp = gemma4_load_params_default();
 *   if (gemma4_model_load("path/to/package", &lp, &model) != GEMMA4_OK) { puts(gemma4_last_error()); return 1; }
 *   gemma4_conversation* chat = gemma4_conversation_new(model);
 *   gemma4_generate_params gp = gemma4_generate_params_default();
 *   gp.temperature = 0;  // greedy
 *   gemma4_result* r = NULL;
 *   if (gemma4_conversation_send(chat, "Hello!", &gp, on_piece, NULL, &r) == GEMMA4_OK)
 *     puts(gemma4_result_content(r));
 *   gemma4_result_free(r);
 *   gemma4_conversation_free(chat);  // conversations and sessions before their model
 *   gemma4_model_free(model);
 */
#ifndef GEMMA4_H_
#define GEMMA4_H_

#include <stddef.h>
#include <stdint.h>

#include "gemma4/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gemma4_model gemma4_model;               /* immutable, shareable between threads */
typedef struct gemma4_session gemma4_session;           /* one KV cache: raw token generation */
typedef struct gemma4_conversation gemma4_conversation; /* messages + a session: multi-turn chat */
typedef struct gemma4_result gemma4_result;             /* what one generation produced */
typedef struct gemma4_cancel gemma4_cancel;             /* a flag that stops generation */

typedef enum gemma4_status {
  GEMMA4_OK = 0,
  GEMMA4_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a value out of range, malformed JSON */
  GEMMA4_ERR_NOT_FOUND = 2,        /* a missing file or package */
  GEMMA4_ERR_CORRUPT = 3,          /* a package file that does not parse or validate */
  GEMMA4_ERR_UNSUPPORTED = 4,
  GEMMA4_ERR_LIMIT = 5,            /* a buffer too small, the context full, a template limit */
  GEMMA4_ERR_RUNTIME = 6,          /* ONNX Runtime failed */
  GEMMA4_ERR_CANCELLED = 7,
  GEMMA4_ERR_INTERNAL = 8
} gemma4_status;

/* ---- library ---------------------------------------------------------------------------- */

/* "MAJOR.MINOR.PATCH", the same as GEMMA4_VERSION_STRING of the headers built against; a static
 * string. Any thread. */
const char* gemma4_version(void);

/* Describes the last failure on the calling thread ("" after a success). The text is per thread
 * and valid until that thread's next gemma4 call. Any thread. */
const char* gemma4_last_error(void);

/* The name of a status ("ok", "invalid_argument", ...); a static string. Any thread. */
const char* gemma4_status_name(gemma4_status status);

typedef enum gemma4_log_level {
  GEMMA4_LOG_DEBUG = 0,
  GEMMA4_LOG_INFO = 1,
  GEMMA4_LOG_WARN = 2,
  GEMMA4_LOG_ERROR = 3
} gemma4_log_level;

/* Receives the library's log messages (`message` is valid during the call only). It is called from
 * whichever thread logs, one call at a time (the library serializes them). */
typedef void (*gemma4_log_callback)(gemma4_log_level level, const char* message, void* user_data);

/* Installs `callback` (NULL silences the library) for messages at `min_level` and above; the
 * process-wide default writes nothing. Call it before loading models, not while other threads use
 * the library. */
void gemma4_set_log_callback(gemma4_log_callback callback, gemma4_log_level min_level, void* user_data);

/* ---- model ------------------------------------------------------------------------------ */

typedef struct gemma4_load_params {
  const char* dtype;        /* ONNX variant: "q4" (default), "q4f16", ... */
  int threads;              /* intra-op threads, 0 = one per core */
  const char* device;       /* decoder device: "cpu" (default) or "cuda" */
  const char* embed_device; /* embedding graph device: "cpu" (default) or "cuda" */
  size_t max_context;       /* tokens per session, 0 = the model's maximum */
} gemma4_load_params;

/* The defaults above. Any thread. */
gemma4_load_params gemma4_load_params_default(void);

/* Loads a package directory or a Hugging Face repo id already in the local cache (owner/name[@rev];
 * `gemma4 pull` downloads). `params` NULL means the defaults. On success *out owns the model.
 * Any thread; loading several models at once is fine. */
gemma4_status gemma4_model_load(const char* path, const gemma4_load_params* params, gemma4_model** out);
/* Frees the model. Free its sessions and conversations first. NULL is fine. */
void gemma4_model_free(gemma4_model* model);

/* Facts of a loaded model (any thread; 0 / "" for a NULL model). */
size_t gemma4_model_vocab_size(const gemma4_model* model);  /* rows of the decoder's logits */
size_t gemma4_model_max_context(const gemma4_model* model); /* effective tokens per session */
/* The end-of-sequence ids (generation_config.json): copies up to `capacity` of them into `ids`
 * (may be NULL when capacity is 0) and returns how many there are. */
size_t gemma4_model_eos_ids(const gemma4_model* model, int32_t* ids, size_t capacity);
const char* gemma4_model_dtype(const gemma4_model* model); /* the variant loaded, e.g. "q4" */
const char* gemma4_model_path(const gemma4_model* model);  /* the package directory */
int gemma4_model_has_chat_template(const gemma4_model* model);

/* ---- tokenizer (any thread) --------------------------------------------------------------- */

/* Tokenizes `text` into `ids` (room for `capacity`); *n_ids receives the count needed. When it
 * exceeds `capacity`, only `capacity` ids are written and GEMMA4_ERR_LIMIT is returned, so a
 * first call with capacity 0 sizes the buffer. `add_special_tokens` 1 adds <bos> as
 * transformers' tokenizer(text) does. Invalid UTF-8 is GEMMA4_ERR_INVALID_ARGUMENT. */
gemma4_status gemma4_tokenize(const gemma4_model* model, const char* text, int add_special_tokens, int32_t* ids,
                              size_t capacity, size_t* n_ids);
/* Decodes ids into *out. An id outside the vocabulary is GEMMA4_ERR_INVALID_ARGUMENT. */
gemma4_status gemma4_detokenize(const gemma4_model* model, const int32_t* ids, size_t n_ids, int skip_special_tokens,
                                char** out);
/* The text one token decodes to on its own (special tokens included, e.g. "<|turn>"), into *out. */
gemma4_status gemma4_token_to_piece(const gemma4_model* model, int32_t token, char** out);
/* Frees a string this API returned. NULL is fine. Any thread. */
void gemma4_string_free(char* s);

/* ---- chat template (any thread) ----------------------------------------------------------- */

/* Renders the package's chat template into *out, as transformers' apply_chat_template(messages,
 * tools=tools, add_generation_prompt=..., **variables) does. `messages_json`: a JSON array of
 * messages; `tools_json`: NULL or a JSON array of tool definitions; `variables_json`: NULL or a
 * JSON object of extra template variables (e.g. {"enable_thinking": true}). Malformed JSON is
 * GEMMA4_ERR_INVALID_ARGUMENT naming the argument and the byte offset; a model without a
 * template is GEMMA4_ERR_NOT_FOUND. */
gemma4_status gemma4_render_chat(const gemma4_model* model, const char* messages_json, const char* tools_json,
                                 const char* variables_json, int add_generation_prompt, char** out);

/* ---- generation parameters ---------------------------------------------------------------- */

#define GEMMA4_SEED_RANDOM UINT64_MAX /* gemma4_generate_params.seed: a fresh random seed per call */

/* Sampling fields left at their "unset" value (negative; -1 for do_sample) take the package's
 * generation_config.json value, as the CLI and the server do: one resolver serves all three.
 * A temperature > 0 turns sampling on even where generation_config.json says do_sample false. */
typedef struct gemma4_generate_params {
  size_t max_new_tokens;      /* 0 = until the context is full; default 256 */
  float temperature;          /* 0 = greedy; < 0 = the model's (default) */
  int top_k;                  /* 0 = off; < 0 = the model's */
  float top_p;                /* in (0, 1], 1 = off; < 0 = the model's */
  float min_p;                /* in [0, 1], 0 = off; < 0 = the model's */
  float typical_p;            /* in (0, 1], 1 = off; < 0 = the model's */
  float repetition_penalty;   /* > 0, 1 = off; < 0 = the model's */
  float presence_penalty;     /* in [-2, 2], default 0 (off) */
  float frequency_penalty;    /* in [-2, 2], default 0 (off) */
  int do_sample;              /* 0 = greedy, 1 = sample, -1 = the model's (default) */
  uint64_t seed;              /* GEMMA4_SEED_RANDOM (default) or a seed: the same seed, the same text */
  const int32_t* logit_bias_ids;   /* n_logit_bias token ids ... */
  const float* logit_bias_values;  /* ... and the bias added to each (-INFINITY bans it) */
  size_t n_logit_bias;
  const char* const* stop;    /* n_stop stop strings: generation ends before them (not in the text) */
  size_t n_stop;
  int ignore_eos;             /* 1: keep going past the EOS ids (up to max_new_tokens) */
  size_t draft_max;           /* prompt-lookup speculative decoding: drafts per decoder call, 0 = off;
                                 greedy only (ignored when sampling) */
  size_t draft_ngram;         /* longest n-gram looked up for drafts; default 3 */
  gemma4_cancel* cancel;      /* NULL, or a flag that stops generation when set (from any thread) */
  /* Constrained decoding (at most one of the two; include/gemma4/grammar.h says what is supported).
   * The mask applies before sampling; speculative drafts are off under a grammar. */
  const char* grammar;        /* NULL, or GBNF text the answer must follow */
  const char* json_schema;    /* NULL, or a JSON Schema (text): the answer is compact JSON valid against it */
  int json_schema_strict;     /* 1: OpenAI's strict mode for json_schema (every property required,
                                 additionalProperties false; a schema that breaks it is an error) */
} gemma4_generate_params;

/* The defaults above. Any thread. */
gemma4_generate_params gemma4_generate_params_default(void);

/* ---- cancellation ------------------------------------------------------------------------- */

/* A flag to stop a generation in progress from another thread (generation ends at its next
 * token with GEMMA4_STOP_CANCELLED and a partial result; the call still returns GEMMA4_OK).
 * new/free on one thread; set/clear/is_set from any thread at any time. */
gemma4_cancel* gemma4_cancel_new(void);
void gemma4_cancel_free(gemma4_cancel* cancel);
void gemma4_cancel_set(gemma4_cancel* cancel);
void gemma4_cancel_clear(gemma4_cancel* cancel);
int gemma4_cancel_is_set(const gemma4_cancel* cancel);

/* ---- streaming ---------------------------------------------------------------------------- */

typedef enum gemma4_piece_kind {
  GEMMA4_PIECE_CONTENT = 0,   /* answer text */
  GEMMA4_PIECE_REASONING = 1, /* the thought channel (enable_thinking) */
  GEMMA4_PIECE_TOOL_CALL = 2  /* one whole tool call: {"id", "name", "arguments"} as JSON */
} gemma4_piece_kind;

/* Called on the generating thread with each settled piece (`len` bytes of UTF-8, not
 * NUL-terminated, valid during the call only). Raw generation (gemma4_session_generate) sends
 * every piece as CONTENT; chat calls send the parsed reply. Return 0 to stop generation
 * (GEMMA4_STOP_CANCELLED), non-zero to go on. It must not call into the same session or
 * conversation. */
typedef int (*gemma4_stream_callback)(gemma4_piece_kind kind, const char* text, size_t len, void* user_data);

/* ---- results (one thread at a time per result) --------------------------------------------- */

typedef enum gemma4_stop_reason {
  GEMMA4_STOP_EOS = 0,       /* an EOS id (including <|tool_response> after a tool call) */
  GEMMA4_STOP_LENGTH = 1,    /* max_new_tokens or the end of the context */
  GEMMA4_STOP_STRING = 2,    /* one of the stop strings */
  GEMMA4_STOP_CANCELLED = 3  /* the callback returned 0 or the cancel flag was set */
} gemma4_stop_reason;

typedef struct gemma4_timings {
  double load_ms;            /* the model's load time */
  double prefill_ms;         /* prompt processing, up to the first token */
  double decode_ms;          /* every later step */
  size_t prompt_tokens;
  size_t reused_tokens;      /* prompt tokens served from the session's cache */
  size_t generated_tokens;
  size_t decode_calls;       /* decoder calls after the prefill */
  size_t draft_tokens;       /* speculative decoding: drafted ... */
  size_t accepted_tokens;    /* ... and accepted */
} gemma4_timings;

void gemma4_result_free(gemma4_result* result); /* NULL is fine */
/* The decoded answer (special tokens skipped, no stop string): the raw text. */
const char* gemma4_result_text(const gemma4_result* result);
/* The reply parsed (chat calls; raw generation: content = text, the rest empty): the answer ... */
const char* gemma4_result_content(const gemma4_result* result);
/* ... the thought channel ... */
const char* gemma4_result_reasoning(const gemma4_result* result);
/* ... and the tool calls, a JSON array in OpenAI's shape ([{"id", "type": "function", "function":
 * {"name", "arguments"}}], arguments a JSON object; "[]" when none). */
const char* gemma4_result_tool_calls(const gemma4_result* result);
/* The generated ids (ending with the EOS id when generation stopped on one); *n receives the count. */
const int32_t* gemma4_result_ids(const gemma4_result* result, size_t* n);
gemma4_stop_reason gemma4_result_stop_reason(const gemma4_result* result);
const char* gemma4_stop_reason_name(gemma4_stop_reason reason); /* "eos", "length", "stop", "cancelled" */
gemma4_timings gemma4_result_timings(const gemma4_result* result);

/* ---- sessions: raw generation over one KV cache (one thread at a time per session) --------- */

gemma4_session* gemma4_session_new(const gemma4_model* model); /* NULL on failure (gemma4_last_error) */
void gemma4_session_free(gemma4_session* session);              /* NULL is fine */
void gemma4_session_reset(gemma4_session* session);             /* forgets the cache */

/* Generates a continuation of `prompt_ids` (no template). The cache keeps the prefix it shares
 * with the prompt, so a call that extends the last prompt + answer prefills only the new ids.
 * `params` NULL means the defaults; `callback` may be NULL. *out (required) receives the result. */
gemma4_status gemma4_session_generate(gemma4_session* session, const int32_t* prompt_ids, size_t n_prompt,
                                      const gemma4_generate_params* params, gemma4_stream_callback callback,
                                      void* user_data, gemma4_result** out);

/* One chat turn over `session` with messages the caller keeps: renders them with the template
 * (arguments as gemma4_render_chat; a generation prompt is added), generates, and parses the
 * reply (thoughts; tool calls when tools are declared). */
gemma4_status gemma4_session_chat(gemma4_session* session, const char* messages_json, const char* tools_json,
                                  const char* variables_json, const gemma4_generate_params* params,
                                  gemma4_stream_callback callback, void* user_data, gemma4_result** out);

/* ---- conversations: the library keeps the messages (one thread at a time per conversation) -- */

gemma4_conversation* gemma4_conversation_new(const gemma4_model* model); /* NULL on failure */
void gemma4_conversation_free(gemma4_conversation* conversation);         /* NULL is fine */
/* Replaces the system message ("" or NULL removes it); takes effect at the next turn. */
gemma4_status gemma4_conversation_set_system(gemma4_conversation* conversation, const char* system);
/* Declares tools (a JSON array, OpenAI's shape; NULL removes them): replies may then call them. */
gemma4_status gemma4_conversation_set_tools(gemma4_conversation* conversation, const char* tools_json);
/* Template variables for every turn (a JSON object, e.g. {"enable_thinking": true}; NULL: none). */
gemma4_status gemma4_conversation_set_variables(gemma4_conversation* conversation, const char* variables_json);
/* Appends one message (a JSON object with a string "role"), e.g. a tool result
 * {"role": "tool", "name": ..., "content": ...}. */
gemma4_status gemma4_conversation_add_message(gemma4_conversation* conversation, const char* message_json);
/* Adds a user turn, generates the reply (the cache serves the part of the conversation it already
 * holds), appends the reply to the history (content and tool calls, never the thoughts). A failed
 * turn leaves the history unchanged. */
gemma4_status gemma4_conversation_send(gemma4_conversation* conversation, const char* user_text,
                                       const gemma4_generate_params* params, gemma4_stream_callback callback,
                                       void* user_data, gemma4_result** out);
/* Generates the next reply for the history as it is (e.g. after a tool result), appends it. */
gemma4_status gemma4_conversation_continue(gemma4_conversation* conversation, const gemma4_generate_params* params,
                                           gemma4_stream_callback callback, void* user_data, gemma4_result** out);
/* The history as a JSON array into *out. */
gemma4_status gemma4_conversation_messages(const gemma4_conversation* conversation, char** out);
/* Forgets the messages (keeps the system message and tools) and the cache. */
void gemma4_conversation_reset(gemma4_conversation* conversation);

#ifdef __cplusplus
}
#endif

#endif /* GEMMA4_H_ */
