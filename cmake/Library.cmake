# libgemma4.so and libgemma4.a, made of the objects of every module (GEMMA4_MODULES, recorded by
# gemma4_module), their installation, the exported CMake package (find_package(gemma4) ->
# gemma4::gemma4, gemma4::gemma4_static) and gemma4.pc. Included at the end of the top-level
# CMakeLists.txt, once every module exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(GEMMA4_MODULE_TARGETS GLOBAL PROPERTY GEMMA4_MODULES)
set(GEMMA4_MODULE_OBJECTS "")
foreach(module IN LISTS GEMMA4_MODULE_TARGETS)
  list(APPEND GEMMA4_MODULE_OBJECTS "$<TARGET_OBJECTS:${module}>")
endforeach()

set(GEMMA4_PUBLIC_INCLUDE "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
                          "$<BUILD_INTERFACE:${GEMMA4_GENERATED_INCLUDE_DIR}>"
                          "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

# The shared library: the modules' objects; linking the static modules after them adds only their
# external dependencies (every symbol is already defined by the objects, so no archive member is
# pulled). The version script hides everything but the API (cmake/libgemma4.map says what).
add_library(gemma4_shared SHARED ${GEMMA4_MODULE_OBJECTS})
target_link_libraries(gemma4_shared PRIVATE gemma4_lib)
target_link_libraries(gemma4_shared PUBLIC "$<BUILD_INTERFACE:nlohmann_json::nlohmann_json>")
target_include_directories(gemma4_shared INTERFACE ${GEMMA4_PUBLIC_INCLUDE})
target_link_options(gemma4_shared PRIVATE "-Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/libgemma4.map")
if(NOT (GEMMA4_SANITIZE OR GEMMA4_SANITIZE_THREAD OR GEMMA4_FUZZ))
  # Every symbol resolved at link time (the sanitizer runtimes come with the executable, so not there).
  target_link_options(gemma4_shared PRIVATE "-Wl,--no-undefined")
endif()
set_target_properties(gemma4_shared PROPERTIES
  OUTPUT_NAME gemma4 EXPORT_NAME gemma4
  VERSION "${PROJECT_VERSION}" SOVERSION "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}"
  LINK_DEPENDS "${PROJECT_SOURCE_DIR}/cmake/libgemma4.map")
add_library(gemma4::gemma4 ALIAS gemma4_shared)

# The static library: the same objects in one archive, for programs that link everything in.
add_library(gemma4_static STATIC ${GEMMA4_MODULE_OBJECTS})
set_target_properties(gemma4_static PROPERTIES OUTPUT_NAME gemma4 EXPORT_NAME gemma4_static)
target_include_directories(gemma4_static INTERFACE ${GEMMA4_PUBLIC_INCLUDE})

# The external libraries the objects need, for the static library's users: link flags here,
# find_dependency in the package config, Libs.private in gemma4.pc.
set(GEMMA4_STATIC_DEPS "${OnnxRuntime_LIBRARY}" ${ONIG_LINK_LIBRARIES} ${UTF8PROC_LINK_LIBRARIES}
                       ${CURL_LIBRARIES} ${OPENSSL_CRYPTO_LIBRARY} ${CMAKE_DL_LIBS})
target_link_libraries(gemma4_static INTERFACE "$<BUILD_INTERFACE:nlohmann_json::nlohmann_json>"
                      ${GEMMA4_STATIC_DEPS} Threads::Threads)

# ONNX Runtime is not ours to install: when it lives outside the linker's default directories (the
# bootstrapped copy in .deps/), the installed library and command find it through their RUNPATH.
get_filename_component(GEMMA4_ORT_LIBDIR "${OnnxRuntime_LIBRARY}" DIRECTORY)
if(NOT GEMMA4_ORT_LIBDIR IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  set_target_properties(gemma4_shared PROPERTIES INSTALL_RPATH "${GEMMA4_ORT_LIBDIR}")
  if(TARGET gemma4)
    set_target_properties(gemma4 PROPERTIES INSTALL_RPATH "${GEMMA4_ORT_LIBDIR}")
  endif()
endif()

install(TARGETS gemma4_shared gemma4_static EXPORT gemma4Targets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/gemma4" "${GEMMA4_GENERATED_INCLUDE_DIR}/gemma4"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" FILES_MATCHING PATTERN "*.h")
if(TARGET gemma4)
  install(TARGETS gemma4 RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()
# The demo package generator (tools/testmodel, Python with numpy and onnx): a small package with
# random weights to try the library without downloading the real one.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/tools/testmodel/" DESTINATION "${CMAKE_INSTALL_DATADIR}/gemma4/testmodel"
        FILES_MATCHING PATTERN "*.py" PATTERN "*.jinja" PATTERN "README.md" PATTERN "__pycache__" EXCLUDE)
configure_file("${PROJECT_SOURCE_DIR}/cmake/gemma4-make-demo-model.in" "${CMAKE_BINARY_DIR}/gemma4-make-demo-model" @ONLY)
install(PROGRAMS "${CMAKE_BINARY_DIR}/gemma4-make-demo-model" DESTINATION "${CMAKE_INSTALL_BINDIR}")

# The Python module (ctypes over the C API): it finds libgemma4.so two directories up.
set(GEMMA4_PYTHON_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/python3/dist-packages" CACHE STRING
    "Where the gemma4 Python module goes, relative to the prefix")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/python/gemma4" DESTINATION "${GEMMA4_PYTHON_INSTALL_DIR}"
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)

set(GEMMA4_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/gemma4")
install(EXPORT gemma4Targets NAMESPACE gemma4:: DESTINATION "${GEMMA4_CMAKE_DIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/gemma4Config.cmake.in"
                              "${CMAKE_BINARY_DIR}/gemma4Config.cmake" INSTALL_DESTINATION "${GEMMA4_CMAKE_DIR}")
write_basic_package_version_file("${CMAKE_BINARY_DIR}/gemma4ConfigVersion.cmake" VERSION "${PROJECT_VERSION}"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/gemma4Config.cmake" "${CMAKE_BINARY_DIR}/gemma4ConfigVersion.cmake"
        DESTINATION "${GEMMA4_CMAKE_DIR}")

# gemma4.pc: `pkg-config --cflags --libs gemma4` for the shared library, `--static` adds what
# libgemma4.a needs.
set(GEMMA4_PC_LIBS_PRIVATE "")
foreach(dep IN LISTS GEMMA4_STATIC_DEPS)
  if(IS_ABSOLUTE "${dep}")
    string(APPEND GEMMA4_PC_LIBS_PRIVATE " ${dep}")
  else()
    string(APPEND GEMMA4_PC_LIBS_PRIVATE " -l${dep}")  # e.g. CMAKE_DL_LIBS's "dl"
  endif()
endforeach()
string(STRIP "${GEMMA4_PC_LIBS_PRIVATE}" GEMMA4_PC_LIBS_PRIVATE)
if(NOT GEMMA4_ORT_LIBDIR IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  # A statically linked program needs ONNX Runtime at run time, from where it was found here.
  string(APPEND GEMMA4_PC_LIBS_PRIVATE " -Wl,-rpath,${GEMMA4_ORT_LIBDIR}")
endif()
set(GEMMA4_PC_LIBS_PRIVATE "${GEMMA4_PC_LIBS_PRIVATE} -lpthread -lstdc++")
file(RELATIVE_PATH GEMMA4_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file("${PROJECT_SOURCE_DIR}/cmake/gemma4.pc.in" "${CMAKE_BINARY_DIR}/gemma4.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/gemma4.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
