# Script-driven tests of the package module. The test-model generator's own target, fixture and
# checks live in tests/testmodels.cmake.
include("${CMAKE_CURRENT_SOURCE_DIR}/testmodels.cmake")
