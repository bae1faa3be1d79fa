# Greedy generation of `gemma4 run` against transformers.js and the model card's loop (node).
add_test(NAME generate.parity_with_references
         COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/generate/parity_check.py"
                 --gemma4 "$<TARGET_FILE:gemma4>" --source-dir "${PROJECT_SOURCE_DIR}"
                 --models-dir "${GEMMA4_TEST_MODELS_DIR}")
set_tests_properties(generate.parity_with_references PROPERTIES FIXTURES_REQUIRED test_models
                     LABELS "generate;parity" TIMEOUT 600)

# The reduced variant of the full-size benchmark package (tools/testmodel/make_full_size.py --reduced:
# GroupQueryAttention, GatherBlockQuantized, KV-shared layers, double-wide MLP) gives the reference
# loop's tokens through `gemma4 run`, and `gemma4 bench` runs on it with consistent figures.
add_test(NAME generate.fullsize_parity
         COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/generate/fullsize_parity.py"
                 --source-dir "${PROJECT_SOURCE_DIR}" --cli "$<TARGET_FILE:gemma4>"
                 --work-dir "${CMAKE_BINARY_DIR}/fullsize-reduced")
set_tests_properties(generate.fullsize_parity PROPERTIES LABELS "generate;fullsize" TIMEOUT 300)
