/* The C API's own suite, written in C (compiled as C11, so gemma4.h is proven valid C): every
 * function of gemma4.h, its errors included (NULL handles, bad paths, bad JSON, small buffers).
 *   capi_test TEST_MODELS_DIR WORK_DIR [CASE]   (CASE: run only the case of that name) */
#define _XOPEN_SOURCE 700 /* realpath, symlink */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemma4/gemma4.h"

static int g_failures = 0;
static const char* g_case = "";

#define CHECK(cond)                                                                                 \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      fprintf(stderr, "%s:%d: [%s] CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, g_case, \
              #cond, gemma4_last_error());                                                          \
      ++g_failures;                                                                                 \
    }                                                                                               \
  } while (0)
#define CHECK_STATUS(call, expected)                                                                    \
  do {                                                                                                  \
    gemma4_status got_ = (call);                                                                        \
    if (got_ != (expected)) {                                                                           \
      fprintf(stderr, "%s:%d: [%s] %s returned %s, expected %s; last error: %s\n", __FILE__, __LINE__, \
              g_case, #call, gemma4_status_name(got_), gemma4_status_name(expected), gemma4_last_error()); \
      ++g_failures;                                                                                     \
    }                                                                                                   \
  } while (0)
#define CHECK_ERROR_MENTIONS(text)                                                                            \
  do {                                                                                                        \
    if (!strstr(gemma4_last_error(), (text))) {                                                               \
      fprintf(stderr, "%s:%d: [%s] last error \"%s\" does not mention \"%s\"\n", __FILE__, __LINE__, g_case, \
              gemma4_last_error(), (text));                                                                   \
      ++g_failures;                                                                                           \
    }                                                                                                         \
  } while (0)

static char g_models[4096];
static char g_work[4096];
static gemma4_model* g_model = NULL; /* text-q4, loaded once */

/* mkdir -p */
static int make_dirs(const char* path) {
  char buf[4200];
  snprintf(buf, sizeof buf, "%s", path);
  for (char* p = buf + 1; *p; ++p) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return 0;
    *p = '/';
  }
  return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

static void model_path(char* out, size_t size, const char* name) { snprintf(out, size, "%s/%s", g_models, name); }

static gemma4_generate_params greedy(size_t max_new_tokens) {
  gemma4_generate_params p = gemma4_generate_params_default();
  p.temperature = 0;
  p.max_new_tokens = max_new_tokens;
  return p;
}

/* The ids of a result, copied into `ids` (room for 64); returns the count. */
static size_t result_ids(const gemma4_result* r, int32_t* ids) {
  size_t n = 0;
  const int32_t* p = gemma4_result_ids(r, &n);
  if (n > 64) n = 64;
  if (n) memcpy(ids, p, n * sizeof(int32_t));
  return n;
}

static int same_ids(const gemma4_result* a, const gemma4_result* b) {
  size_t na = 0, nb = 0;
  const int32_t* ia = gemma4_result_ids(a, &na);
  const int32_t* ib = gemma4_result_ids(b, &nb);
  return na == nb && (na == 0 || memcmp(ia, ib, na * sizeof(int32_t)) == 0);
}

static gemma4_result* generate_ids(gemma4_session* s, const int32_t* ids, size_t n, const gemma4_generate_params* p) {
  gemma4_result* r = NULL;
  CHECK_STATUS(gemma4_session_generate(s, ids, n, p, NULL, NULL, &r), GEMMA4_OK);
  return r;
}

/* A prompt: the chat template's rendering of one user message, tokenized. */
static size_t prompt_ids(int32_t* ids, size_t capacity) {
  char* text = NULL;
  size_t n = 0;
  CHECK_STATUS(gemma4_render_chat(g_model, "[{\"role\":\"user\",\"content\":\"Hello there\"}]", NULL, NULL, 1, &text),
               GEMMA4_OK);
  CHECK_STATUS(gemma4_tokenize(g_model, text, 0, ids, capacity, &n), GEMMA4_OK);
  gemma4_string_free(text);
  return n;
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void test_version_and_names(void) {
  CHECK(strcmp(gemma4_version(), GEMMA4_VERSION_STRING) == 0);
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", GEMMA4_VERSION_MAJOR, GEMMA4_VERSION_MINOR, GEMMA4_VERSION_PATCH);
  CHECK(strcmp(gemma4_version(), expected) == 0);
  CHECK(strcmp(gemma4_status_name(GEMMA4_OK), "ok") == 0);
  CHECK(strcmp(gemma4_status_name(GEMMA4_ERR_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(gemma4_status_name(GEMMA4_ERR_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(gemma4_status_name(GEMMA4_ERR_CANCELLED), "cancelled") == 0);
  CHECK(strcmp(gemma4_status_name((gemma4_status)99), "unknown") == 0);
  CHECK(strcmp(gemma4_stop_reason_name(GEMMA4_STOP_EOS), "eos") == 0);
  CHECK(strcmp(gemma4_stop_reason_name(GEMMA4_STOP_LENGTH), "length") == 0);
  CHECK(strcmp(gemma4_stop_reason_name(GEMMA4_STOP_STRING), "stop") == 0);
  CHECK(strcmp(gemma4_stop_reason_name(GEMMA4_STOP_CANCELLED), "cancelled") == 0);
}

struct log_seen {
  int messages;
  int below_min;
};
static void on_log(gemma4_log_level level, const char* message, void* user_data) {
  struct log_seen* seen = (struct log_seen*)user_data;
  if (message && message[0]) ++seen->messages;
  if (level < GEMMA4_LOG_DEBUG) ++seen->below_min;
}

static void test_log_callback_and_load(void) {
  struct log_seen seen = {0, 0};
  gemma4_set_log_callback(on_log, GEMMA4_LOG_DEBUG, &seen);
  char path[4200];
  model_path(path, sizeof path, "text-q4");
  gemma4_load_params lp = gemma4_load_params_default();
  CHECK(strcmp(lp.dtype, "q4") == 0 && lp.threads == 0 && lp.max_context == 0);
  CHECK(strcmp(lp.device, "cpu") == 0 && strcmp(lp.embed_device, "cpu") == 0);
  lp.threads = 1;
  CHECK_STATUS(gemma4_model_load(path, &lp, &g_model), GEMMA4_OK);
  CHECK(g_model != NULL);
  CHECK(strcmp(gemma4_last_error(), "") == 0);
  CHECK(seen.messages > 0); /* loading logs at debug level (the ONNX Runtime in use) */
  CHECK(seen.below_min == 0);
  gemma4_set_log_callback(NULL, GEMMA4_LOG_INFO, NULL);
}

static void test_load_errors(void) {
  gemma4_model* m = (gemma4_model*)0x1;
  CHECK_STATUS(gemma4_model_load("/nonexistent/package", NULL, &m), GEMMA4_ERR_NOT_FOUND);
  CHECK(m == NULL);
  CHECK_ERROR_MENTIONS("/nonexistent/package");
  CHECK_STATUS(gemma4_model_load(NULL, NULL, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("gemma4_model_load");
  char path[4200];
  model_path(path, sizeof path, "text-q4");
  CHECK_STATUS(gemma4_model_load(path, NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  gemma4_load_params lp = gemma4_load_params_default();
  lp.dtype = "q9";
  CHECK(gemma4_model_load(path, &lp, &m) != GEMMA4_OK);
  CHECK_ERROR_MENTIONS("q9");
  lp = gemma4_load_params_default();
  lp.threads = -2;
  CHECK_STATUS(gemma4_model_load(path, &lp, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("threads");
  gemma4_model_free(NULL);
}

static void test_model_facts(void) {
  CHECK(gemma4_model_vocab_size(g_model) > 0);
  CHECK(gemma4_model_max_context(g_model) > 0);
  int32_t eos[8];
  const size_t n = gemma4_model_eos_ids(g_model, eos, 8);
  CHECK(n == 3);
  CHECK(n >= 1 && eos[0] == 1);
  CHECK(gemma4_model_eos_ids(g_model, NULL, 0) == n);
  int32_t one = -1;
  CHECK(gemma4_model_eos_ids(g_model, &one, 1) == n && one == eos[0]);
  CHECK(strcmp(gemma4_model_dtype(g_model), "q4") == 0);
  const char* path = gemma4_model_path(g_model);
  CHECK(strstr(path, "text-q4") != NULL);
  CHECK(gemma4_model_has_chat_template(g_model) == 1);
  /* A NULL model answers the neutral values. */
  CHECK(gemma4_model_vocab_size(NULL) == 0 && gemma4_model_max_context(NULL) == 0);
  CHECK(gemma4_model_eos_ids(NULL, eos, 8) == 0);
  CHECK(strcmp(gemma4_model_dtype(NULL), "") == 0 && strcmp(gemma4_model_path(NULL), "") == 0);
  CHECK(gemma4_model_has_chat_template(NULL) == 0);

  /* max_context from the load parameters is in force. */
  char p[4200];
  model_path(p, sizeof p, "text-q4");
  gemma4_load_params lp = gemma4_load_params_default();
  lp.threads = 1;
  lp.max_context = 64;
  gemma4_model* small = NULL;
  CHECK_STATUS(gemma4_model_load(p, &lp, &small), GEMMA4_OK);
  CHECK(gemma4_model_max_context(small) == 64);
  gemma4_model_free(small);
}

static void test_tokenizer(void) {
  size_t n = 0;
  CHECK_STATUS(gemma4_tokenize(g_model, "Hello world", 1, NULL, 0, &n), GEMMA4_ERR_LIMIT);
  CHECK(n >= 2);
  CHECK_ERROR_MENTIONS("do not fit");
  int32_t ids[64];
  size_t m = 0;
  CHECK_STATUS(gemma4_tokenize(g_model, "Hello world", 1, ids, 64, &m), GEMMA4_OK);
  CHECK(m == n);
  CHECK(ids[0] == 2); /* <bos> from the post-processor */
  size_t without = 0;
  CHECK_STATUS(gemma4_tokenize(g_model, "Hello world", 0, ids + 32, 32, &without), GEMMA4_OK);
  CHECK(without == m - 1);
  /* A buffer one short: the prefix is written, the count is the full one. */
  int32_t small[64];
  memset(small, 0xff, sizeof small);
  size_t needed = 0;
  CHECK_STATUS(gemma4_tokenize(g_model, "Hello world", 1, small, m - 1, &needed), GEMMA4_ERR_LIMIT);
  CHECK(needed == m && memcmp(small, ids, (m - 1) * sizeof(int32_t)) == 0 && small[m - 1] == -1);

  char* text = NULL;
  CHECK_STATUS(gemma4_detokenize(g_model, ids, m, 1, &text), GEMMA4_OK);
  CHECK(text && strcmp(text, "Hello world") == 0);
  gemma4_string_free(text);
  CHECK_STATUS(gemma4_detokenize(g_model, ids, m, 0, &text), GEMMA4_OK);
  CHECK(text && strcmp(text, "<bos>Hello world") == 0);
  gemma4_string_free(text);
  CHECK_STATUS(gemma4_detokenize(g_model, NULL, 0, 1, &text), GEMMA4_OK);
  CHECK(text && strcmp(text, "") == 0);
  gemma4_string_free(text);

  char* piece = NULL;
  CHECK_STATUS(gemma4_token_to_piece(g_model, 2, &piece), GEMMA4_OK);
  CHECK(piece && strcmp(piece, "<bos>") == 0);
  gemma4_string_free(piece);
  CHECK_STATUS(gemma4_token_to_piece(g_model, 105, &piece), GEMMA4_OK);
  CHECK(piece && strcmp(piece, "<|turn>") == 0);
  gemma4_string_free(piece);

  /* Errors. */
  CHECK_STATUS(gemma4_tokenize(g_model, "\xff\xfe", 1, ids, 64, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("UTF-8");
  CHECK_STATUS(gemma4_tokenize(NULL, "x", 1, ids, 64, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_tokenize(g_model, NULL, 1, ids, 64, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_tokenize(g_model, "x", 1, ids, 64, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_tokenize(g_model, "x", 1, NULL, 4, &m), GEMMA4_ERR_INVALID_ARGUMENT);
  const int32_t bad = (int32_t)gemma4_model_vocab_size(g_model) + 1000;
  text = (char*)0x1;
  CHECK_STATUS(gemma4_detokenize(g_model, &bad, 1, 0, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(text == NULL);
  CHECK_STATUS(gemma4_detokenize(g_model, NULL, 3, 0, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_detokenize(NULL, ids, 1, 0, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_detokenize(g_model, ids, 1, 0, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_token_to_piece(g_model, -1, &piece), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_token_to_piece(NULL, 2, &piece), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_token_to_piece(g_model, 2, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  gemma4_string_free(NULL);
}

static void test_render_chat(void) {
  const char* messages = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]";
  char* text = NULL;
  CHECK_STATUS(gemma4_render_chat(g_model, messages, NULL, NULL, 1, &text), GEMMA4_OK);
  CHECK(text && strstr(text, "<|turn>user\nhi<turn|>") != NULL);
  CHECK(text && strstr(text, "Be brief.") != NULL);
  const size_t len = text ? strlen(text) : 0;
  const size_t tail = strlen("<|turn>model\n");
  CHECK(len > tail && strcmp(text + len - tail, "<|turn>model\n") == 0);
  gemma4_string_free(text);
  CHECK_STATUS(gemma4_render_chat(g_model, messages, NULL, NULL, 0, &text), GEMMA4_OK);
  CHECK(text && strstr(text, "<|turn>model\n") == NULL);
  gemma4_string_free(text);

  const char* tools =
      "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather of a city\","
      "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
  CHECK_STATUS(gemma4_render_chat(g_model, messages, tools, NULL, 1, &text), GEMMA4_OK);
  CHECK(text && strstr(text, "declaration:get_weather") != NULL);
  gemma4_string_free(text);
  CHECK_STATUS(gemma4_render_chat(g_model, messages, NULL, "{\"enable_thinking\": true}", 1, &text), GEMMA4_OK);
  CHECK(text && strstr(text, "<|think|>") != NULL);
  gemma4_string_free(text);
  CHECK_STATUS(gemma4_render_chat(g_model, messages, "null", "null", 1, &text), GEMMA4_OK);
  CHECK(text && strstr(text, "<|think|>") == NULL);
  gemma4_string_free(text);

  /* Errors name the argument; a JSON syntax error its byte. */
  text = (char*)0x1;
  CHECK_STATUS(gemma4_render_chat(g_model, "[{\"role\":", NULL, NULL, 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(text == NULL);
  CHECK_ERROR_MENTIONS("messages_json is not valid JSON (byte");
  CHECK_STATUS(gemma4_render_chat(g_model, "{\"role\":\"user\"}", NULL, NULL, 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("messages_json must be a JSON array, got object");
  CHECK_STATUS(gemma4_render_chat(g_model, messages, "{}", NULL, 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("tools_json must be a JSON array");
  CHECK_STATUS(gemma4_render_chat(g_model, messages, NULL, "[1]", 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("variables_json must be a JSON object");
  CHECK_STATUS(gemma4_render_chat(g_model, NULL, NULL, NULL, 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_render_chat(NULL, messages, NULL, NULL, 1, &text), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_render_chat(g_model, messages, NULL, NULL, 1, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
}

static void test_generate_params_default(void) {
  gemma4_generate_params p = gemma4_generate_params_default();
  CHECK(p.max_new_tokens == 256);
  CHECK(p.temperature < 0 && p.top_k < 0 && p.top_p < 0 && p.min_p < 0 && p.typical_p < 0 &&
        p.repetition_penalty < 0);
  CHECK(p.presence_penalty == 0 && p.frequency_penalty == 0);
  CHECK(p.do_sample == -1 && p.seed == GEMMA4_SEED_RANDOM);
  CHECK(p.n_stop == 0 && p.stop == NULL && p.n_logit_bias == 0 && p.ignore_eos == 0);
  CHECK(p.draft_max == 0 && p.draft_ngram == 3 && p.cancel == NULL);
}

struct stream_seen {
  char text[4096];
  size_t len;
  int calls;
  int stop_after; /* return 0 on this call (0: never) */
  int kinds[3];
};
static int on_piece(gemma4_piece_kind kind, const char* text, size_t len, void* user_data) {
  struct stream_seen* s = (struct stream_seen*)user_data;
  ++s->calls;
  if (kind >= 0 && kind < 3) ++s->kinds[kind];
  if (kind == GEMMA4_PIECE_CONTENT && s->len + len < sizeof s->text) {
    memcpy(s->text + s->len, text, len);
    s->len += len;
    s->text[s->len] = 0;
  }
  return !(s->stop_after && s->calls >= s->stop_after);
}

static void test_session_generate(void) {
  int32_t prompt[256];
  const size_t n = prompt_ids(prompt, 256);
  CHECK(n > 4);
  gemma4_session* s = gemma4_session_new(g_model);
  CHECK(s != NULL);
  gemma4_generate_params p = greedy(8);
  p.ignore_eos = 1;
  struct stream_seen seen;
  memset(&seen, 0, sizeof seen);
  gemma4_result* r = NULL;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, on_piece, &seen, &r), GEMMA4_OK);
  size_t count = 0;
  CHECK(gemma4_result_ids(r, &count) != NULL && count == 8);
  CHECK(gemma4_result_stop_reason(r) == GEMMA4_STOP_LENGTH);
  CHECK(strcmp(gemma4_result_text(r), seen.text) == 0); /* the stream adds up to the text */
  CHECK(strcmp(gemma4_result_content(r), gemma4_result_text(r)) == 0);
  CHECK(strcmp(gemma4_result_reasoning(r), "") == 0);
  CHECK(strcmp(gemma4_result_tool_calls(r), "[]") == 0);
  gemma4_timings t = gemma4_result_timings(r);
  CHECK(t.prompt_tokens == n && t.generated_tokens == 8 && t.reused_tokens == 0);
  CHECK(t.prefill_ms > 0 && t.load_ms > 0);

  /* Greedy is deterministic; a fresh session gives the same ids. */
  gemma4_session_reset(s);
  gemma4_result* again = generate_ids(s, prompt, n, &p);
  CHECK(same_ids(r, again));
  gemma4_timings t2 = gemma4_result_timings(again);
  CHECK(t2.reused_tokens == 0);
  /* The same prompt again on a warm session comes from the cache. */
  gemma4_result* warm = generate_ids(s, prompt, n, &p);
  CHECK(same_ids(r, warm));
  CHECK(gemma4_result_timings(warm).reused_tokens > 0);
  gemma4_result_free(again);
  gemma4_result_free(warm);

  /* Speculative decoding keeps the greedy ids. */
  gemma4_generate_params d = p;
  d.draft_max = 4;
  gemma4_session_reset(s);
  gemma4_result* drafted = generate_ids(s, prompt, n, &d);
  CHECK(same_ids(r, drafted));
  gemma4_result_free(drafted);

  /* A callback that returns 0 stops generation. */
  memset(&seen, 0, sizeof seen);
  seen.stop_after = 1;
  gemma4_result* stopped = NULL;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, on_piece, &seen, &stopped), GEMMA4_OK);
  CHECK(gemma4_result_stop_reason(stopped) == GEMMA4_STOP_CANCELLED);
  gemma4_result_ids(stopped, &count);
  CHECK(count < 8);
  gemma4_result_free(stopped);

  /* A cancel flag set beforehand stops at once; cleared, generation runs again. */
  gemma4_cancel* cancel = gemma4_cancel_new();
  CHECK(cancel != NULL && gemma4_cancel_is_set(cancel) == 0);
  gemma4_cancel_set(cancel);
  CHECK(gemma4_cancel_is_set(cancel) == 1);
  gemma4_generate_params c = p;
  c.cancel = cancel;
  gemma4_result* cancelled = generate_ids(s, prompt, n, &c);
  CHECK(gemma4_result_stop_reason(cancelled) == GEMMA4_STOP_CANCELLED);
  gemma4_result_ids(cancelled, &count);
  CHECK(count <= 1);
  gemma4_result_free(cancelled);
  gemma4_cancel_clear(cancel);
  CHECK(gemma4_cancel_is_set(cancel) == 0);
  gemma4_result* resumed = generate_ids(s, prompt, n, &c);
  CHECK(same_ids(r, resumed));
  gemma4_result_free(resumed);
  gemma4_cancel_free(cancel);
  gemma4_cancel_free(NULL);
  gemma4_cancel_set(NULL);
  gemma4_cancel_clear(NULL);
  CHECK(gemma4_cancel_is_set(NULL) == 0);

  /* logit_bias: banning the greedy first token changes it. */
  int32_t first[64];
  result_ids(r, first);
  const float minus_inf = -INFINITY;
  gemma4_generate_params b = p;
  b.logit_bias_ids = &first[0];
  b.logit_bias_values = &minus_inf;
  b.n_logit_bias = 1;
  gemma4_result* banned = generate_ids(s, prompt, n, &b);
  int32_t got[64];
  CHECK(result_ids(banned, got) > 0 && got[0] != first[0]);
  gemma4_result_free(banned);

  /* max_new_tokens bounds the answer; stop strings end it before the match. */
  gemma4_generate_params two = p;
  two.max_new_tokens = 2;
  gemma4_result* short_r = generate_ids(s, prompt, n, &two);
  gemma4_result_ids(short_r, &count);
  CHECK(count == 2);
  gemma4_result_free(short_r);
  const char* full = gemma4_result_text(r);
  const size_t full_len = strlen(full);
  if (full_len >= 4) {
    char stop[8] = {0};
    /* A stop string that starts mid-answer: the text ends just before it. */
    size_t at = full_len / 2;
    while (at < full_len && ((unsigned char)full[at] & 0xC0) == 0x80) ++at;
    memcpy(stop, full + at, full_len - at < 3 ? full_len - at : 3);
    const char* stops[1] = {stop};
    gemma4_generate_params st = p;
    st.stop = stops;
    st.n_stop = 1;
    gemma4_result* cut = generate_ids(s, prompt, n, &st);
    const char* cut_text = gemma4_result_text(cut);
    CHECK(gemma4_result_stop_reason(cut) == GEMMA4_STOP_STRING);
    CHECK(strlen(cut_text) <= at && strncmp(cut_text, full, strlen(cut_text)) == 0);
    CHECK(strstr(cut_text, stop) == NULL);
    gemma4_result_free(cut);
  }

  /* Bad parameters and handles. */
  gemma4_result* none = (gemma4_result*)0x1;
  gemma4_generate_params bad = p;
  bad.top_p = 1.5f;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("top_p must be in (0, 1], got 1.5");
  CHECK(none == NULL);
  bad = p;
  bad.temperature = NAN;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("temperature");
  bad = p;
  bad.n_stop = 1;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("stop");
  bad = p;
  bad.n_logit_bias = 1;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  const int32_t out_of_vocab = (int32_t)gemma4_model_vocab_size(g_model) + 5;
  const float plus_one = 1.0f;
  bad = p;
  bad.logit_bias_ids = &out_of_vocab;
  bad.logit_bias_values = &plus_one;
  bad.n_logit_bias = 1;
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  const int32_t bad_prompt[1] = {(int32_t)gemma4_model_vocab_size(g_model) + 7};
  CHECK(gemma4_session_generate(s, bad_prompt, 1, &p, NULL, NULL, &none) != GEMMA4_OK);
  CHECK_STATUS(gemma4_session_generate(NULL, prompt, n, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_session_generate(s, NULL, n, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, NULL, NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(gemma4_session_new(NULL) == NULL);
  CHECK_ERROR_MENTIONS("gemma4_session_new");
  gemma4_session_reset(NULL);
  gemma4_session_free(NULL);

  /* NULL params: the defaults (the model's sampling, 256 tokens at most). */
  gemma4_result* defaults = generate_ids(s, prompt, n, NULL);
  gemma4_result_ids(defaults, &count);
  CHECK(count >= 1 && count <= 256);
  gemma4_result_free(defaults);

  /* Results: NULL getters answer neutral values. */
  CHECK(strcmp(gemma4_result_text(NULL), "") == 0 && strcmp(gemma4_result_content(NULL), "") == 0);
  CHECK(strcmp(gemma4_result_reasoning(NULL), "") == 0 && strcmp(gemma4_result_tool_calls(NULL), "[]") == 0);
  CHECK(gemma4_result_ids(NULL, &count) == NULL && count == 0);
  CHECK(gemma4_result_timings(NULL).generated_tokens == 0);
  gemma4_result_free(NULL);

  gemma4_result_free(r);
  gemma4_session_free(s);
}

/* Sampling goes through the one resolver: a seed reproduces, no seed draws a random one. */
static void test_sampling(void) {
  int32_t prompt[256];
  const size_t n = prompt_ids(prompt, 256);
  gemma4_session* s = gemma4_session_new(g_model);
  gemma4_generate_params p = gemma4_generate_params_default();
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.max_new_tokens = 24;
  p.ignore_eos = 1;
  p.seed = 1234;
  gemma4_result* a = generate_ids(s, prompt, n, &p);
  gemma4_result* b = generate_ids(s, prompt, n, &p);
  CHECK(same_ids(a, b)); /* the same seed, the same tokens */
  gemma4_generate_params gp = greedy(24);
  gp.ignore_eos = 1;
  gemma4_result* greedy_r = generate_ids(s, prompt, n, &gp);
  /* Without a seed each call draws its own: among a few calls, two differ. */
  p.seed = GEMMA4_SEED_RANDOM;
  int differ = 0;
  gemma4_result* first = generate_ids(s, prompt, n, &p);
  for (int i = 0; i < 4 && !differ; ++i) {
    gemma4_result* next = generate_ids(s, prompt, n, &p);
    differ = !same_ids(first, next);
    gemma4_result_free(next);
  }
  CHECK(differ);
  /* Sampling at this temperature leaves the greedy path for at least one of the seeds. */
  int left_greedy = !same_ids(a, greedy_r) || !same_ids(first, greedy_r);
  CHECK(left_greedy);
  gemma4_result_free(first);
  gemma4_result_free(greedy_r);
  gemma4_result_free(a);
  gemma4_result_free(b);
  gemma4_session_free(s);
}

/* A package whose generation_config.json says do_sample false: a temperature > 0 still samples
 * (the C API once kept do_sample false and answered greedily). */
static int link_package_with_greedy_config(char* dir, size_t size) {
  snprintf(dir, size, "%s/greedy-config", g_work);
  if (!make_dirs(dir)) return 0;
  char relative[4200], src[PATH_MAX];
  model_path(relative, sizeof relative, "text-q4");
  if (!realpath(relative, src)) return 0; /* symlinks need the absolute target */
  DIR* d = opendir(src);
  if (!d) return 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "generation_config.json") == 0) continue;
    char from[8400], to[8400];
    snprintf(from, sizeof from, "%s/%s", src, e->d_name);
    snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
    unlink(to);
    if (symlink(from, to) != 0) {
      closedir(d);
      return 0;
    }
  }
  closedir(d);
  char cfg[8400];
  snprintf(cfg, sizeof cfg, "%s/generation_config.json", dir);
  FILE* f = fopen(cfg, "w");
  if (!f) return 0;
  fputs("{\"bos_token_id\": 2, \"pad_token_id\": 0, \"eos_token_id\": [1, 106, 50], \"do_sample\": false}\n", f);
  fclose(f);
  return 1;
}

static void test_temperature_samples_over_a_greedy_config(void) {
  char dir[4200];
  CHECK(link_package_with_greedy_config(dir, sizeof dir));
  gemma4_model* m = NULL;
  gemma4_load_params lp = gemma4_load_params_default();
  lp.threads = 1;
  CHECK_STATUS(gemma4_model_load(dir, &lp, &m), GEMMA4_OK);
  if (!m) return;
  gemma4_model* saved = g_model;
  g_model = m;
  int32_t prompt[256];
  const size_t n = prompt_ids(prompt, 256);
  g_model = saved;
  gemma4_session* s = gemma4_session_new(m);
  gemma4_generate_params p = gemma4_generate_params_default();
  p.max_new_tokens = 24;
  p.ignore_eos = 1;
  gemma4_result* model_default = generate_ids(s, prompt, n, &p); /* do_sample false: greedy */
  gemma4_generate_params gp = greedy(24);
  gp.ignore_eos = 1;
  gemma4_result* greedy_r = generate_ids(s, prompt, n, &gp);
  CHECK(same_ids(model_default, greedy_r));
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  int left_greedy = 0;
  for (int i = 0; i < 4 && !left_greedy; ++i) {
    gemma4_result* sampled = generate_ids(s, prompt, n, &p);
    left_greedy = !same_ids(sampled, greedy_r);
    gemma4_result_free(sampled);
  }
  CHECK(left_greedy);
  /* An explicit do_sample 0 is greedy whatever the temperature. */
  p.do_sample = 0;
  gemma4_result* forced = generate_ids(s, prompt, n, &p);
  CHECK(same_ids(forced, greedy_r));
  gemma4_result_free(forced);
  gemma4_result_free(model_default);
  gemma4_result_free(greedy_r);
  gemma4_session_free(s);
  gemma4_model_free(m);
}

static void test_session_chat(void) {
  gemma4_session* s = gemma4_session_new(g_model);
  gemma4_generate_params p = greedy(6);
  struct stream_seen seen;
  memset(&seen, 0, sizeof seen);
  gemma4_result* r = NULL;
  const char* messages = "[{\"role\":\"user\",\"content\":\"Hello there\"}]";
  CHECK_STATUS(gemma4_session_chat(s, messages, NULL, NULL, &p, on_piece, &seen, &r), GEMMA4_OK);
  CHECK(strcmp(gemma4_result_content(r), seen.text) == 0);
  CHECK(seen.kinds[GEMMA4_PIECE_TOOL_CALL] == 0);
  /* The same ids as raw generation over the rendered prompt. */
  int32_t prompt[256];
  const size_t n = prompt_ids(prompt, 256);
  gemma4_session* raw = gemma4_session_new(g_model);
  gemma4_result* rr = generate_ids(raw, prompt, n, &p);
  CHECK(same_ids(r, rr));
  CHECK(gemma4_result_timings(r).prompt_tokens == n);
  gemma4_result_free(rr);
  gemma4_session_free(raw);
  gemma4_result_free(r);

  gemma4_result* none = (gemma4_result*)0x1;
  CHECK_STATUS(gemma4_session_chat(s, "[", NULL, NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(none == NULL);
  CHECK_ERROR_MENTIONS("gemma4_session_chat: messages_json is not valid JSON");
  CHECK_STATUS(gemma4_session_chat(s, NULL, NULL, NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_session_chat(s, messages, "7", NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_session_chat(NULL, messages, NULL, NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_session_chat(s, messages, NULL, NULL, &p, NULL, NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  gemma4_session_free(s);
}

static int count_roles(const char* json, const char* role) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"role\":\"%s\"", role);
  int count = 0;
  for (const char* p = strstr(json, needle); p; p = strstr(p + 1, needle)) ++count;
  return count;
}

static void test_conversation(void) {
  gemma4_conversation* c = gemma4_conversation_new(g_model);
  CHECK(c != NULL);
  CHECK_STATUS(gemma4_conversation_set_system(c, "You are terse."), GEMMA4_OK);
  gemma4_generate_params p = greedy(5);
  gemma4_result* first = NULL;
  struct stream_seen seen;
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(gemma4_conversation_send(c, "Hello", &p, on_piece, &seen, &first), GEMMA4_OK);
  CHECK(strcmp(gemma4_result_content(first), seen.text) == 0);
  gemma4_result* second = NULL;
  CHECK_STATUS(gemma4_conversation_send(c, "And then?", &p, NULL, NULL, &second), GEMMA4_OK);
  /* The second turn reuses the cache of the first. */
  gemma4_timings t = gemma4_result_timings(second);
  CHECK(t.reused_tokens > 0 && t.reused_tokens < t.prompt_tokens);

  char* messages = NULL;
  CHECK_STATUS(gemma4_conversation_messages(c, &messages), GEMMA4_OK);
  CHECK(messages && count_roles(messages, "system") == 1 && count_roles(messages, "user") == 2 &&
        count_roles(messages, "assistant") == 2);
  CHECK(messages && strstr(messages, "\"content\":\"You are terse.\"") != NULL);
  gemma4_string_free(messages);

  /* A tool result added by hand, then the model continues. */
  CHECK_STATUS(gemma4_conversation_add_message(c, "{\"role\":\"tool\",\"name\":\"clock\",\"content\":\"noon\"}"),
               GEMMA4_OK);
  gemma4_result* cont = NULL;
  CHECK_STATUS(gemma4_conversation_continue(c, &p, NULL, NULL, &cont), GEMMA4_OK);
  CHECK_STATUS(gemma4_conversation_messages(c, &messages), GEMMA4_OK);
  CHECK(messages && count_roles(messages, "tool") == 1 && count_roles(messages, "assistant") == 3);
  gemma4_string_free(messages);
  gemma4_result_free(cont);

  /* Tools and variables reach the template. */
  CHECK_STATUS(gemma4_conversation_set_tools(
                   c, "[{\"type\":\"function\",\"function\":{\"name\":\"clock\",\"description\":\"time\"}}]"),
               GEMMA4_OK);
  CHECK_STATUS(gemma4_conversation_set_variables(c, "{\"enable_thinking\": false}"), GEMMA4_OK);
  gemma4_result* with_tools = NULL;
  CHECK_STATUS(gemma4_conversation_send(c, "What time is it?", &p, NULL, NULL, &with_tools), GEMMA4_OK);
  CHECK(gemma4_result_tool_calls(with_tools)[0] == '[');
  gemma4_result_free(with_tools);
  CHECK_STATUS(gemma4_conversation_set_tools(c, NULL), GEMMA4_OK);
  CHECK_STATUS(gemma4_conversation_set_variables(c, NULL), GEMMA4_OK);

  /* Reset keeps the system message only; the next turn prefills from scratch. */
  gemma4_conversation_reset(c);
  CHECK_STATUS(gemma4_conversation_messages(c, &messages), GEMMA4_OK);
  CHECK(messages && count_roles(messages, "system") == 1 && count_roles(messages, "user") == 0);
  gemma4_string_free(messages);
  gemma4_result* after = NULL;
  CHECK_STATUS(gemma4_conversation_send(c, "Hello", &p, NULL, NULL, &after), GEMMA4_OK);
  CHECK(same_ids(after, first)); /* the same first turn, the same greedy answer */
  CHECK(gemma4_result_timings(after).reused_tokens == 0);
  gemma4_result_free(after);
  CHECK_STATUS(gemma4_conversation_set_system(c, NULL), GEMMA4_OK);
  CHECK_STATUS(gemma4_conversation_messages(c, &messages), GEMMA4_OK);
  CHECK(messages && count_roles(messages, "system") == 0);
  gemma4_string_free(messages);

  /* Errors: the history is unchanged by a failed turn. */
  CHECK_STATUS(gemma4_conversation_add_message(c, "{\"content\":\"no role\"}"), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("role");
  CHECK_STATUS(gemma4_conversation_add_message(c, "[]"), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_add_message(c, "{"), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not valid JSON");
  CHECK_STATUS(gemma4_conversation_add_message(c, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_set_tools(c, "{}"), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_set_variables(c, "3"), GEMMA4_ERR_INVALID_ARGUMENT);
  char* before = NULL;
  CHECK_STATUS(gemma4_conversation_messages(c, &before), GEMMA4_OK);
  gemma4_generate_params bad = p;
  bad.min_p = 2.0f;
  gemma4_result* none = (gemma4_result*)0x1;
  CHECK_STATUS(gemma4_conversation_send(c, "x", &bad, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(none == NULL);
  CHECK_STATUS(gemma4_conversation_messages(c, &messages), GEMMA4_OK);
  CHECK(before && messages && strcmp(before, messages) == 0);
  gemma4_string_free(before);
  gemma4_string_free(messages);
  CHECK_STATUS(gemma4_conversation_send(NULL, "x", &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_send(c, NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_send(c, "x", &p, NULL, NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_continue(NULL, &p, NULL, NULL, &none), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_continue(c, &p, NULL, NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_set_system(NULL, "x"), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_set_tools(NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_set_variables(NULL, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_messages(NULL, &messages), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(gemma4_conversation_messages(c, NULL), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(gemma4_conversation_new(NULL) == NULL);
  gemma4_conversation_reset(NULL);
  gemma4_conversation_free(NULL);

  gemma4_result_free(first);
  gemma4_result_free(second);
  gemma4_conversation_free(c);
}

/* Constrained decoding: a JSON Schema or a GBNF grammar shapes the answer even from random weights;
 * bad grammars, schemas and both at once are errors naming what is wrong. */
static void test_constrained(void) {
  int32_t prompt[256];
  const size_t n = prompt_ids(prompt, 256);
  gemma4_session* s = gemma4_session_new(g_model);
  CHECK(s != NULL);
  gemma4_generate_params p = greedy(64);
  p.json_schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
                  "\"ok\":{\"type\":\"boolean\"}},\"required\":[\"n\",\"ok\"],\"additionalProperties\":false}";
  p.json_schema_strict = 1;
  gemma4_result* r = generate_ids(s, prompt, n, &p);
  if (r) {
    const char* text = gemma4_result_text(r);
    CHECK(strncmp(text, "{\"n\":", 5) == 0);
    CHECK(strstr(text, ",\"ok\":") != NULL);
    CHECK(strlen(text) > 0 && text[strlen(text) - 1] == '}');
    CHECK(gemma4_result_stop_reason(r) == GEMMA4_STOP_EOS);
    gemma4_result_free(r);
  }
  p = greedy(8);
  p.grammar = "root ::= \"yes\" | \"no\"";
  r = generate_ids(s, prompt, n, &p);
  if (r) {
    const char* text = gemma4_result_text(r);
    CHECK(strcmp(text, "yes") == 0 || strcmp(text, "no") == 0);
    gemma4_result_free(r);
  }
  gemma4_result* bad = NULL;
  p = greedy(8);
  p.grammar = "root ::= (\"a\"";
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, NULL, NULL, &bad), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(strstr(gemma4_last_error(), "grammar:1:") != NULL);
  p = greedy(8);
  p.json_schema = "{\"type\":";
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, NULL, NULL, &bad), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(strstr(gemma4_last_error(), "json_schema: not valid JSON") != NULL);
  p.json_schema = "{\"type\":\"string\",\"format\":\"email\"}";
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, NULL, NULL, &bad), GEMMA4_ERR_UNSUPPORTED);
  CHECK(strstr(gemma4_last_error(), "/format") != NULL);
  p.grammar = "root ::= \"x\"";
  CHECK_STATUS(gemma4_session_generate(s, prompt, n, &p, NULL, NULL, &bad), GEMMA4_ERR_INVALID_ARGUMENT);
  CHECK(strstr(gemma4_last_error(), "only one of grammar and json_schema") != NULL);
  gemma4_session_free(s);
}

/* ---- driver --------------------------------------------------------------------------------- */

struct test_case {
  const char* name;
  void (*run)(void);
  int needs_model;
};

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s TEST_MODELS_DIR WORK_DIR [CASE]\n", argv[0]);
    return 2;
  }
  snprintf(g_models, sizeof g_models, "%s", argv[1]);
  snprintf(g_work, sizeof g_work, "%s", argv[2]);
  const char* only = argc > 3 ? argv[3] : NULL;
  const struct test_case cases[] = {
      {"version_and_names", test_version_and_names, 0},
      {"load_errors", test_load_errors, 0},
      {"generate_params_default", test_generate_params_default, 0},
      {"log_callback_and_load", test_log_callback_and_load, 0},
      {"model_facts", test_model_facts, 1},
      {"tokenizer", test_tokenizer, 1},
      {"render_chat", test_render_chat, 1},
      {"session_generate", test_session_generate, 1},
      {"sampling", test_sampling, 1},
      {"temperature_samples_over_a_greedy_config", test_temperature_samples_over_a_greedy_config, 1},
      {"session_chat", test_session_chat, 1},
      {"conversation", test_conversation, 1},
      {"constrained", test_constrained, 1},
  };
  int matched = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    /* One case asked for: it still needs the case that loads the shared model. */
    const int is_loader = strcmp(cases[i].name, "log_callback_and_load") == 0;
    const int selected = !only || strcmp(only, cases[i].name) == 0;
    if (!selected && !is_loader) continue;
    matched += selected;
    if (cases[i].needs_model && !g_model) {
      fprintf(stderr, "[%s] skipped: the model did not load\n", cases[i].name);
      ++g_failures;
      continue;
    }
    g_case = cases[i].name;
    const int before = g_failures;
    cases[i].run();
    printf("[%s] %s\n", cases[i].name, g_failures == before ? "ok" : "FAILED");
  }
  gemma4_model_free(g_model);
  if (matched == 0) {
    fprintf(stderr, "no case named %s\n", only);
    return 2;
  }
  printf("%d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
