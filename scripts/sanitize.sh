#!/usr/bin/env bash
# The test suite under the sanitizers (clang, Debian's compiler-rt):
#   1. AddressSanitizer + UndefinedBehaviorSanitizer over the GoogleTest unit suite,
#      in build-asan/ (the same tree scripts/fuzz.sh builds its harnesses in, so objects are shared);
#   2. ThreadSanitizer over the server's C++ tests and the unit tests that run threads (concurrent
#      encode / render / pull), in build-tsan/.
# Reports are errors (halt_on_error); suppressions (scripts/tsan.supp) cover third-party code only.
#
#   scripts/sanitize.sh [asan|tsan]...       both when none is named
#   scripts/sanitize.sh --configure-only     configure build-asan only (used by scripts/fuzz.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASAN_BUILD="${GEMMA4_SANITIZE_BUILD_DIR:-$ROOT/build-asan}"
TSAN_BUILD="${GEMMA4_TSAN_BUILD_DIR:-$ROOT/build-tsan}"
JOBS="${GEMMA4_JOBS:-$(nproc)}"

# Built for compile time, since CI builds these trees from scratch (docs/RELIABILITY.md, "CI time"):
# the libraries at -O1 with line tables (sanitizer stacks name file:line; -O1 is what the sanitizers'
# documentation suggests, and -O3 compiles slower), the tests' own sources at -O0, and
# unity builds (nlohmann/json parsed and instantiated once per batch of sources, not once per file).
# No demo model, no benchmarks: only the libraries and the tests that run here.
common=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
        "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG"
        "-DCMAKE_CXX_FLAGS=-gline-tables-only" "-DCMAKE_C_FLAGS=-gline-tables-only"
        -DCMAKE_UNITY_BUILD=ON -DGEMMA4_TEST_COMPILE_OPTIONS=-O0
        -DGEMMA4_BUILD_DEMO_MODEL=OFF)
[ -n "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && common+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER"
                                                      "-DCMAKE_C_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER")

configure_asan() { cmake -S "$ROOT" -B "$ASAN_BUILD" "${common[@]}" -DGEMMA4_FUZZ=ON -DGEMMA4_TESTS_BUILD_TOOLS=OFF >/dev/null; }

if [ "${1:-}" = "--configure-only" ]; then configure_asan; exit 0; fi
"$ROOT/scripts/bootstrap.sh" --test --sanitize >&2

# GoogleTest cases are "<module>.<Suite>.<Test>" with a capitalised suite; the script-driven tests
# (parity with the references, CLI contracts, node server tests) are not, and run in build/.
UNIT_TESTS='^(package|tokenizer|chat|runtime|describe|generate|server)\.[A-Z]'
# The CLI is not rebuilt under ASan: the tests that drive it (cli.*, SpeculativeCli.*) run in build/.
UNIT_TARGETS=(test_package test_tokenizer test_chat test_runtime test_describe test_generate test_server)

run_asan() {
  configure_asan
  cmake --build "$ASAN_BUILD" -j "$JOBS" --target "${UNIT_TARGETS[@]}"
  # ORT is not instrumented; its allocations are freed at exit by design (static state), which
  # LeakSanitizer would report as leaks of ours: suppress leaks inside libonnxruntime only.
  export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
  export ASAN_OPTIONS="suppressions=$ROOT/scripts/asan.supp:detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  (cd "$ASAN_BUILD" && ctest --output-on-failure -j "$JOBS" --timeout 900 -R "$UNIT_TESTS" -E 'SpeculativeCli')
}

run_tsan() {
  cmake -S "$ROOT" -B "$TSAN_BUILD" "${common[@]}" -DGEMMA4_SANITIZE_THREAD=ON -DGEMMA4_TESTS_BUILD_TOOLS=OFF >/dev/null
  cmake --build "$TSAN_BUILD" -j "$JOBS" --target test_server test_tokenizer test_chat test_package
  export TSAN_OPTIONS="suppressions=$ROOT/scripts/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0"
  # The server's C++ tests and the unit tests that run threads. Not yet the black-box server tests:
  # a TSan-built `gemma4 serve` stops at a report inside ONNX Runtime's uninstrumented thread pool
  # (docs/RELIABILITY.md, known gaps).
  (cd "$TSAN_BUILD" && ctest --output-on-failure -j "$JOBS" --timeout 900 \
     -R '^server\.[A-Z]|Concurrent|TwoPullsAtOnce')
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(asan tsan)
for s in "${steps[@]}"; do
  case "$s" in
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) echo "sanitize: unknown step '$s' (asan, tsan)" >&2; exit 2 ;;
  esac
done
