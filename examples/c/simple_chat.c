/* A complete C program over gemma4.h: load a package, ask one question, stream the answer, then
 * print the generated token ids (so a test can compare them with `gemma4 run --temp 0 --json`).
 *   simple_chat MODEL_DIR "question" [MAX_TOKENS]   */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemma4/gemma4.h"

static int print_piece(gemma4_piece_kind kind, const char* text, size_t len, void* user_data) {
  (void)user_data;
  if (kind == GEMMA4_PIECE_CONTENT) {
    fwrite(text, 1, len, stdout);
    fflush(stdout);
  }
  return 1; /* keep going */
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR QUESTION [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  gemma4_model* model = NULL;
  gemma4_load_params lp = gemma4_load_params_default();
  lp.threads = 1;
  if (gemma4_model_load(argv[1], &lp, &model) != GEMMA4_OK) {
    fprintf(stderr, "error: %s\n", gemma4_last_error());
    return 1;
  }
  gemma4_conversation* chat = gemma4_conversation_new(model);
  gemma4_generate_params gp = gemma4_generate_params_default();
  gp.temperature = 0.0f; /* greedy: the same answer every time */
  if (argc > 3) gp.max_new_tokens = (size_t)atoi(argv[3]);
  gemma4_result* result = NULL;
  gemma4_status status = gemma4_conversation_send(chat, argv[2], &gp, print_piece, NULL, &result);
  if (status != GEMMA4_OK) {
    fprintf(stderr, "\nerror: %s\n", gemma4_last_error());
  } else {
    size_t n = 0;
    const int32_t* ids = gemma4_result_ids(result, &n);
    printf("\n[%zu bytes, stop: %s]\n[ids", strlen(gemma4_result_text(result)),
           gemma4_stop_reason_name(gemma4_result_stop_reason(result)));
    for (size_t i = 0; i < n; ++i) printf(" %d", (int)ids[i]);
    printf("]\n");
  }
  gemma4_result_free(result);
  gemma4_conversation_free(chat);
  gemma4_model_free(model);
  return status == GEMMA4_OK ? 0 : 1;
}
