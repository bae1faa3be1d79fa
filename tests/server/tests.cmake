# Black-box tests of `gemma4 serve` with node: the official openai client, a load test, hostile
# input over raw sockets, and parity with `gemma4 run --json`. Each starts the server on a free
# port on the generated text-q4 package.
find_program(GEMMA4_NODE node)
set(_server_refs "${PROJECT_SOURCE_DIR}/tests/refs/node_modules")
if(GEMMA4_NODE AND EXISTS "${_server_refs}/openai/index.mjs")
  foreach(_t openai_client anthropic_client responses_client logprobs load hostile hostile_clients parity speculative backpressure)
    add_test(NAME server.${_t}
             COMMAND "${GEMMA4_NODE}" "${CMAKE_CURRENT_LIST_DIR}/${_t}.test.mjs" "$<TARGET_FILE:gemma4>"
                     "${GEMMA4_TEST_MODELS_DIR}/text-q4" "${_server_refs}")
    set_tests_properties(server.${_t} PROPERTIES FIXTURES_REQUIRED test_models LABELS server TIMEOUT 120)
  endforeach()
  set_tests_properties(server.hostile_clients PROPERTIES TIMEOUT 300)
  # Constrained decoding, validated by ajv (an independent JSON Schema validator).
  if(EXISTS "${_server_refs}/ajv/package.json")
    add_test(NAME server.structured_output
             COMMAND "${GEMMA4_NODE}" "${CMAKE_CURRENT_LIST_DIR}/structured_output.test.mjs" "$<TARGET_FILE:gemma4>"
                     "${GEMMA4_TEST_MODELS_DIR}/text-q4" "${_server_refs}")
    set_tests_properties(server.structured_output PROPERTIES FIXTURES_REQUIRED test_models LABELS server TIMEOUT 300)
  else()
    message(STATUS "server.structured_output disabled: tests/refs/node_modules/ajv missing (scripts/bootstrap.sh --test)")
  endif()
else()
  message(STATUS "server tests disabled: node or tests/refs/node_modules/openai (scripts/bootstrap.sh --test) missing")
endif()

# The chat page at / in headless Chromium (Debian's chromium + puppeteer-core from tests/refs).
find_program(GEMMA4_CHROMIUM NAMES chromium chromium-browser)
if(GEMMA4_NODE AND GEMMA4_CHROMIUM AND EXISTS "${_server_refs}/puppeteer-core/package.json")
  add_test(NAME server.chat_page
           COMMAND "${GEMMA4_NODE}" "${CMAKE_CURRENT_LIST_DIR}/chat_page.test.mjs" "$<TARGET_FILE:gemma4>"
                   "${GEMMA4_TEST_MODELS_DIR}/text-q4" "${_server_refs}" "${GEMMA4_CHROMIUM}" "${CMAKE_CURRENT_BINARY_DIR}")
  set_tests_properties(server.chat_page PROPERTIES FIXTURES_REQUIRED test_models LABELS "server;browser" TIMEOUT 240)
else()
  message(STATUS "server.chat_page disabled: node, chromium or tests/refs/node_modules/puppeteer-core (scripts/bootstrap.sh --test) missing")
endif()
