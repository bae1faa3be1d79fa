# Script-driven tests of the package module. The test-model generator's own target, fixture and
# checks live in tests/testmodels.cmake.
include("${CMAKE_CURRENT_SOURCE_DIR}/testmodels.cmake")

# gemma4 repack / pull / verify and `-m owner/name` end to end, through the binary and a loopback
# fake hub (tests/package/fake_hub.py).
foreach(tool repack pull)
  add_test(NAME package.cli_${tool}
           COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/package/package_tools_cli.py" ${tool}
                   --cli "$<TARGET_FILE:gemma4>" --models-dir "${GEMMA4_TEST_MODELS_DIR}"
                   --source-dir "${PROJECT_SOURCE_DIR}")
  set_tests_properties(package.cli_${tool} PROPERTIES FIXTURES_REQUIRED test_models LABELS "package;cli" TIMEOUT 300)
endforeach()
