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

# The forms the public export may take (make_full_size.py --reduced with each variant's flags):
# gemma4 must give the tokens of the model card's loop and of transformers.js on every one.
set(GEMMA4_EXPORT_VARIANTS
    "lm_head_int8:--lm-head int8"
    "lm_head_fp16:--lm-head fp16"
    "lm_head_fp32:--lm-head fp32"
    "norm_fused:--norm fused"
    "norm_decomposed:--norm decomposed"
    "norm_pow:--norm pow"
    "shared_mha:--shared-attention mha"
    "shared_attention:--shared-attention attention"
    "rope_fused:--rope fused"
    "zero_points:--zero-points"
    "layer_scalar:--layer-scalar"
    # What the public q4 export most likely is: fp16 head, fused norms and RoPE, no logits_to_keep.
    "likely_export:--lm-head fp16 --norm fused --rope fused --shared-attention mha --no-logits-to-keep --layer-scalar")
foreach(variant IN LISTS GEMMA4_EXPORT_VARIANTS)
  string(FIND "${variant}" ":" colon)
  string(SUBSTRING "${variant}" 0 ${colon} name)
  math(EXPR flags_at "${colon} + 1")
  string(SUBSTRING "${variant}" ${flags_at} -1 flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  add_test(NAME generate.variant_parity.${name}
           COMMAND "${GEMMA4_PYTHON}" "${CMAKE_CURRENT_SOURCE_DIR}/generate/variant_parity.py"
                   --source-dir "${PROJECT_SOURCE_DIR}" --cli "$<TARGET_FILE:gemma4>"
                   --work-dir "${CMAKE_BINARY_DIR}/export-variants" --name ${name} -- ${flags})
  set_tests_properties(generate.variant_parity.${name} PROPERTIES LABELS "generate;parity;variants" TIMEOUT 300)
endforeach()
