/* gemma4.h: the C API of gemma4-ort, for other languages and for C programs.
 *
 * Opaque handles with create/free pairs (llama.cpp's habit). Every fallible call returns 0 on
 * success and a non-zero gemma4_status otherwise; gemma4_last_error() then describes the failure
 * (per thread, valid until the next call on that thread). Strings are UTF-8. Thread safety: a
 * model may be shared by any number of threads; a session is used by one thread at a time.
 *
 *   gemma4_model* model = NULL;
 *   gemma4_load_params lp = gemma4_load_params_default();
 *   if (gemma4_model_load("path/to/package", &lp, &model) != 0) { puts(gemma4_last_error()); return 1; }
 *   gemma4_session* session = gemma4_session_new(model);
 *   gemma4_generate_params gp = gemma4_generate_params_default();
 *   gp.temperature = 0;  // greedy
 *   char* text = NULL;
 *   gemma4_session_chat(session, "Hello!", &gp, on_token, NULL, &text);
 *   gemma4_string_free(text);
 *   gemma4_session_free(session);   // sessions before their model
 *   gemma4_model_free(model);
 */
#ifndef GEMMA4_H_
#define GEMMA4_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gemma4_model gemma4_model;      /* immutable, shareable */
typedef struct gemma4_session gemma4_session;  /* one conversation: KV cache + messages */

typedef enum gemma4_status {
  GEMMA4_OK = 0,
  GEMMA4_ERR_INVALID_ARGUMENT = 1,
  GEMMA4_ERR_NOT_FOUND = 2,
  GEMMA4_ERR_CORRUPT = 3,
  GEMMA4_ERR_UNSUPPORTED = 4,
  GEMMA4_ERR_LIMIT = 5,
  GEMMA4_ERR_RUNTIME = 6,
  GEMMA4_ERR_CANCELLED = 7,
  GEMMA4_ERR_INTERNAL = 8
} gemma4_status;

/* Describes the last failure on the calling thread ("" when none). */
const char* gemma4_last_error(void);

typedef struct gemma4_load_params {
  const char* dtype;        /* ONNX variant, "q4" by default */
  int threads;              /* intra-op threads, 0 = one per core */
  const char* device;       /* decoder device: "cpu" (default) or "cuda" */
  const char* embed_device; /* embedding graph device: "cpu" (default) or "cuda" */
  size_t max_context;       /* tokens, 0 = the model's maximum */
} gemma4_load_params;
gemma4_load_params gemma4_load_params_default(void);

/* `path`: a package directory or a cached Hugging Face repo id. On success *out owns the model. */
gemma4_status gemma4_model_load(const char* path, const gemma4_load_params* params, gemma4_model** out);
void gemma4_model_free(gemma4_model* model); /* NULL is fine; free every session first */

/* Tokenizes `text` into `ids` (capacity `capacity`); *n_ids receives the count needed. When it
 * exceeds `capacity`, nothing past `capacity` is written and GEMMA4_ERR_LIMIT is returned. */
gemma4_status gemma4_tokenize(const gemma4_model* model, const char* text, int add_special_tokens, int32_t* ids,
                              size_t capacity, size_t* n_ids);
/* Decodes ids; *out is a new string to release with gemma4_string_free. */
gemma4_status gemma4_detokenize(const gemma4_model* model, const int32_t* ids, size_t n_ids, int skip_special_tokens,
                                char** out);
void gemma4_string_free(char* s);

typedef struct gemma4_generate_params {
  size_t max_new_tokens;     /* 0 = until the context is full; default 256 */
  float temperature;         /* 0 = greedy; default from generation_config.json */
  int top_k;                 /* 0 = off */
  float top_p;               /* 1 = off */
  float min_p;               /* 0 = off */
  float repetition_penalty;  /* 1 = off */
  uint64_t seed;
  int use_model_defaults;    /* 1 (default): start from generation_config.json, then apply the fields
                                that differ from their "off" values; 0: use the fields as given */
} gemma4_generate_params;
gemma4_generate_params gemma4_generate_params_default(void);

/* Called with each new piece of UTF-8 text (not NUL-terminated; `len` bytes). Return 0 to stop. */
typedef int (*gemma4_token_callback)(const char* text, size_t len, int32_t token, void* user_data);

gemma4_session* gemma4_session_new(const gemma4_model* model); /* NULL on failure */
void gemma4_session_free(gemma4_session* session);
void gemma4_session_reset(gemma4_session* session);

/* Adds a user turn, renders the conversation with the model's chat template, generates the
 * answer (reusing the cached prefix), appends it. *text_out (optional) receives the answer. */
gemma4_status gemma4_session_chat(gemma4_session* session, const char* user_text, const gemma4_generate_params* params,
                                  gemma4_token_callback callback, void* user_data, char** text_out);

/* Generates from raw token ids (no template). *text_out as above; *n_generated (optional) the count. */
gemma4_status gemma4_session_generate(gemma4_session* session, const int32_t* prompt_ids, size_t n_prompt,
                                      const gemma4_generate_params* params, gemma4_token_callback callback,
                                      void* user_data, char** text_out, size_t* n_generated);

#ifdef __cplusplus
}
#endif

#endif /* GEMMA4_H_ */
