if(TARGET gemma4)  # the test compares with the CLI
  # The Python module over libgemma4.so, with Debian's python3 (no PyPI).
  add_test(NAME python.gemma4_module
           COMMAND "${CMAKE_COMMAND}" -E env "GEMMA4_LIBRARY=$<TARGET_FILE:gemma4_shared>"
                   "PYTHONPATH=${PROJECT_SOURCE_DIR}/python"
                   "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/python/gemma4_module_test.py"
                   --cli "$<TARGET_FILE:gemma4>" --model "${GEMMA4_TEST_MODELS_DIR}/text-q4"
                   --readme "${PROJECT_SOURCE_DIR}/README.md")
  set_tests_properties(python.gemma4_module PROPERTIES FIXTURES_REQUIRED test_models LABELS python TIMEOUT 300)
endif()
