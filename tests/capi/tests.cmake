# The C API suite (tests/capi/capi_test.c), compiled as C against libgemma4.so, one CTest test per
# case so a failure names it.
add_executable(test_capi "${CMAKE_CURRENT_SOURCE_DIR}/capi/capi_test.c")
set_target_properties(test_capi PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(test_capi PRIVATE -Wall -Wextra -Werror)
target_link_libraries(test_capi PRIVATE gemma4_shared m)
foreach(case version_and_names load_errors generate_params_default log_callback_and_load model_facts tokenizer
             render_chat session_generate sampling temperature_samples_over_a_greedy_config session_chat constrained
             conversation)
  add_test(NAME capi.${case}
           COMMAND test_capi "${GEMMA4_TEST_MODELS_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/capi-work/${case}" ${case})
  set_tests_properties(capi.${case} PROPERTIES FIXTURES_REQUIRED test_models LABELS capi TIMEOUT 300)
endforeach()

# Install into a clean prefix and build examples/ against it (find_package and pkg-config); the
# programs must give gemma4 run --temp 0's tokens. Needs every installed target built.
if(TARGET gemma4)  # the installed command is the reference
  add_test(NAME capi.install_and_build_examples
           COMMAND "${CMAKE_CURRENT_SOURCE_DIR}/install/install_test.sh" "${CMAKE_BINARY_DIR}" "${PROJECT_SOURCE_DIR}"
                   "${GEMMA4_TEST_MODELS_DIR}/text-q4" "${CMAKE_CURRENT_BINARY_DIR}/install-test")
  set_tests_properties(capi.install_and_build_examples PROPERTIES FIXTURES_REQUIRED test_models LABELS "capi;install"
                       TIMEOUT 600)
endif()
