# The standard test packages written by tools/testmodel (see tools/testmodel/README.md), and the
# checks that prove they honour the real export's contract.
#
#   cmake --build <dir> --target test_models      -> <dir>/test-models/<name>/
#   CTest fixture "test_models": tests that need the packages declare FIXTURES_REQUIRED test_models.
file(GLOB GEMMA4_TESTMODEL_SOURCES CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/tools/testmodel/*.py" "${PROJECT_SOURCE_DIR}/tools/testmodel/*.jinja")
set(GEMMA4_MAKE_TEST_MODELS "${PROJECT_SOURCE_DIR}/tools/testmodel/make_standard_set.py")

add_custom_command(
  OUTPUT "${GEMMA4_TEST_MODELS_DIR}/.generated"
  COMMAND "${GEMMA4_PYTHON}" "${GEMMA4_MAKE_TEST_MODELS}" "${GEMMA4_TEST_MODELS_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E touch "${GEMMA4_TEST_MODELS_DIR}/.generated"
  DEPENDS ${GEMMA4_TESTMODEL_SOURCES}
  COMMENT "Generating the test model packages in ${GEMMA4_TEST_MODELS_DIR}"
  VERBATIM)
add_custom_target(test_models DEPENDS "${GEMMA4_TEST_MODELS_DIR}/.generated")

add_test(NAME package.test_models_generate
         COMMAND "${GEMMA4_PYTHON}" "${GEMMA4_MAKE_TEST_MODELS}" "${GEMMA4_TEST_MODELS_DIR}")
set_tests_properties(package.test_models_generate PROPERTIES FIXTURES_SETUP test_models LABELS package
                     TIMEOUT 60)

foreach(check contract determinism tokenizer template varied perturbations parity)
  add_test(NAME package.testmodel_${check}
           COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/package/testmodel_checks.py" ${check}
                   --source-dir "${PROJECT_SOURCE_DIR}" --models-dir "${GEMMA4_TEST_MODELS_DIR}")
  set_tests_properties(package.testmodel_${check} PROPERTIES FIXTURES_REQUIRED test_models
                       LABELS "package;testmodel" TIMEOUT 300)
endforeach()
