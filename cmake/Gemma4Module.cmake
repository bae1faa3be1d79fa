# gemma4_module(NAME DEPS ...): a static library gemma4_NAME from src/NAME/*.cpp.
# Public headers live in include/gemma4/; headers private to the module sit beside its sources.
# A module with no sources yet is an INTERFACE library, so the layering can be declared up front.
# Every module with sources is recorded in the global property GEMMA4_MODULES: libgemma4.so and
# libgemma4.a are made of their objects (cmake/Library.cmake).
function(gemma4_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${name}/*.cpp")
  if(_srcs)
    add_library(gemma4_${name} STATIC ${_srcs})
    target_include_directories(gemma4_${name} PUBLIC "${PROJECT_SOURCE_DIR}/include" "${GEMMA4_GENERATED_INCLUDE_DIR}"
                                              PRIVATE "${PROJECT_SOURCE_DIR}/src")
    set_property(GLOBAL APPEND PROPERTY GEMMA4_MODULES gemma4_${name})
    target_link_libraries(gemma4_${name} PUBLIC ${ARG_DEPS})
    target_compile_options(gemma4_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  else()
    add_library(gemma4_${name} INTERFACE)
    target_include_directories(gemma4_${name} INTERFACE "${PROJECT_SOURCE_DIR}/include" "${GEMMA4_GENERATED_INCLUDE_DIR}")
    target_link_libraries(gemma4_${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
