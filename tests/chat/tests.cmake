# Chat templates: the `gemma4 template` command against the jinja2 reference (the library-level
# parity, safety and fuzz tests are in test_chat).
add_test(NAME chat.cli_contract
         COMMAND ${GEMMA4_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/chat/cli_contract_test.py $<TARGET_FILE:gemma4>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(chat.cli_contract PROPERTIES LABELS chat TIMEOUT 120)
