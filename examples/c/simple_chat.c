/* A complete C program over gemma4.h: load a package, ask one question, stream the answer.
 *   simple_chat MODEL_DIR "question"   */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemma4/gemma4.h"

static int print_piece(const char* text, size_t len, int32_t token, void* user_data) {
  (void)token;
  (void)user_data;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 1; /* keep going */
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR QUESTION [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  gemma4_model* model = NULL;
  gemma4_load_params lp = gemma4_load_params_default();
  if (gemma4_model_load(argv[1], &lp, &model) != GEMMA4_OK) {
    fprintf(stderr, "error: %s\n", gemma4_last_error());
    return 1;
  }
  gemma4_session* session = gemma4_session_new(model);
  gemma4_generate_params gp = gemma4_generate_params_default();
  gp.temperature = 0.0f; /* greedy: the same answer every time */
  if (argc > 3) gp.max_new_tokens = (size_t)atoi(argv[3]);
  char* answer = NULL;
  int status = gemma4_session_chat(session, argv[2], &gp, print_piece, NULL, &answer);
  if (status != GEMMA4_OK) {
    fprintf(stderr, "\nerror: %s\n", gemma4_last_error());
  } else {
    printf("\n[%zu bytes]\n", strlen(answer));
  }
  gemma4_string_free(answer);
  gemma4_session_free(session);
  gemma4_model_free(model);
  return status == GEMMA4_OK ? 0 : 1;
}
