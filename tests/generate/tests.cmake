# Greedy generation of `gemma4 run` against transformers.js and the model card's loop (node).
add_test(NAME generate.parity_with_references
         COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/generate/parity_check.py"
                 --gemma4 "$<TARGET_FILE:gemma4>" --source-dir "${PROJECT_SOURCE_DIR}"
                 --models-dir "${GEMMA4_TEST_MODELS_DIR}")
set_tests_properties(generate.parity_with_references PROPERTIES FIXTURES_REQUIRED test_models
                     LABELS "generate;parity" TIMEOUT 600)
