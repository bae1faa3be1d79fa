# Finds ONNX Runtime's C API and defines the imported target onnxruntime::onnxruntime.
#
# Search order (the first hit wins, so a user's own ONNX Runtime beats the bootstrapped one):
#   1. ONNXRUNTIME_ROOT (CMake variable or environment): <root>/include[/onnxruntime] + <root>/lib
#   2. an installed CMake package (find_package(onnxruntime CONFIG)), e.g. Debian's libonnxruntime-dev
#   3. pkg-config libonnxruntime
#   4. the copy scripts/bootstrap.sh puts in <source>/.deps/onnxruntime
#
# Sets OnnxRuntime_FOUND, OnnxRuntime_INCLUDE_DIR, OnnxRuntime_LIBRARY, OnnxRuntime_ORIGIN.
include(FindPackageHandleStandardArgs)

if(NOT ONNXRUNTIME_ROOT AND DEFINED ENV{ONNXRUNTIME_ROOT})
  set(ONNXRUNTIME_ROOT "$ENV{ONNXRUNTIME_ROOT}")
endif()

set(OnnxRuntime_ORIGIN "")
if(ONNXRUNTIME_ROOT)
  find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_c_api.h
            PATHS "${ONNXRUNTIME_ROOT}/include" "${ONNXRUNTIME_ROOT}/include/onnxruntime" NO_DEFAULT_PATH)
  find_library(OnnxRuntime_LIBRARY NAMES onnxruntime libonnxruntime.so.1
               PATHS "${ONNXRUNTIME_ROOT}/lib" "${ONNXRUNTIME_ROOT}/lib64" NO_DEFAULT_PATH)
  set(OnnxRuntime_ORIGIN "ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT}")
endif()

if(NOT OnnxRuntime_LIBRARY)
  find_package(onnxruntime CONFIG QUIET)
  if(onnxruntime_FOUND AND TARGET onnxruntime::onnxruntime)
    get_target_property(_ort_inc onnxruntime::onnxruntime INTERFACE_INCLUDE_DIRECTORIES)
    find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_c_api.h PATHS ${_ort_inc} ${_ort_inc}/onnxruntime NO_DEFAULT_PATH)
    get_target_property(_ort_lib onnxruntime::onnxruntime LOCATION)
    if(_ort_lib AND OnnxRuntime_INCLUDE_DIR)
      set(OnnxRuntime_LIBRARY "${_ort_lib}" CACHE FILEPATH "" FORCE)
      set(OnnxRuntime_ORIGIN "system CMake package")
    endif()
  endif()
endif()

if(NOT OnnxRuntime_LIBRARY)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(PC_ORT QUIET libonnxruntime)
    if(PC_ORT_FOUND)
      find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_c_api.h
                PATHS ${PC_ORT_INCLUDE_DIRS} ${PC_ORT_INCLUDEDIR}/onnxruntime NO_DEFAULT_PATH)
      find_library(OnnxRuntime_LIBRARY NAMES onnxruntime PATHS ${PC_ORT_LIBRARY_DIRS} NO_DEFAULT_PATH)
      set(OnnxRuntime_ORIGIN "pkg-config libonnxruntime")
    endif()
  endif()
endif()

if(NOT OnnxRuntime_LIBRARY)
  set(_boot "${PROJECT_SOURCE_DIR}/.deps/onnxruntime")
  find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_c_api.h PATHS "${_boot}/include" NO_DEFAULT_PATH)
  find_library(OnnxRuntime_LIBRARY NAMES onnxruntime PATHS "${_boot}/lib" NO_DEFAULT_PATH)
  set(OnnxRuntime_ORIGIN "bootstrapped copy in ${_boot}")
endif()

find_package_handle_standard_args(OnnxRuntime
  REQUIRED_VARS OnnxRuntime_LIBRARY OnnxRuntime_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "run scripts/bootstrap.sh, or set ONNXRUNTIME_ROOT to an ONNX Runtime install")

if(OnnxRuntime_FOUND AND NOT TARGET onnxruntime::onnxruntime_c)
  add_library(onnxruntime::onnxruntime_c SHARED IMPORTED)
  set_target_properties(onnxruntime::onnxruntime_c PROPERTIES
    IMPORTED_LOCATION "${OnnxRuntime_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OnnxRuntime_INCLUDE_DIR}")
  message(STATUS "ONNX Runtime: ${OnnxRuntime_LIBRARY} (${OnnxRuntime_ORIGIN})")
endif()
