# Generates the small demo package (text layout, q4, weights in an .onnx_data sidecar) into
# ${CMAKE_BINARY_DIR}/demo-model at build time; re-run only when the generator's sources change.
# Included by the top-level CMakeLists.txt when GEMMA4_BUILD_DEMO_MODEL is ON.
set(GEMMA4_PYTHON /usr/bin/python3 CACHE FILEPATH "Debian's python3, which has python3-onnx and numpy")
file(GLOB GEMMA4_DEMO_MODEL_SOURCES CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/tools/testmodel/*.py" "${PROJECT_SOURCE_DIR}/tools/testmodel/*.jinja")
set(GEMMA4_DEMO_MODEL_DIR "${CMAKE_BINARY_DIR}/demo-model")
set(GEMMA4_DEMO_MODEL_OUTPUTS
    "${GEMMA4_DEMO_MODEL_DIR}/config.json"
    "${GEMMA4_DEMO_MODEL_DIR}/generation_config.json"
    "${GEMMA4_DEMO_MODEL_DIR}/tokenizer.json"
    "${GEMMA4_DEMO_MODEL_DIR}/tokenizer_config.json"
    "${GEMMA4_DEMO_MODEL_DIR}/chat_template.jinja"
    "${GEMMA4_DEMO_MODEL_DIR}/onnx/embed_tokens_q4.onnx"
    "${GEMMA4_DEMO_MODEL_DIR}/onnx/embed_tokens_q4.onnx_data"
    "${GEMMA4_DEMO_MODEL_DIR}/onnx/decoder_model_merged_q4.onnx"
    "${GEMMA4_DEMO_MODEL_DIR}/onnx/decoder_model_merged_q4.onnx_data")
add_custom_command(
  OUTPUT ${GEMMA4_DEMO_MODEL_OUTPUTS}
  COMMAND "${GEMMA4_PYTHON}" "${PROJECT_SOURCE_DIR}/tools/testmodel/make_test_model.py" "${GEMMA4_DEMO_MODEL_DIR}"
          --layout text --dtype q4 --sidecar single
  DEPENDS ${GEMMA4_DEMO_MODEL_SOURCES}
  COMMENT "Generating the demo model package in ${GEMMA4_DEMO_MODEL_DIR}"
  VERBATIM)
add_custom_target(demo_model ALL DEPENDS ${GEMMA4_DEMO_MODEL_OUTPUTS})
