#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the build and the reference
# implementations need, builds, generates the test packages, and runs CTest.
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -L tokenizer
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GEMMA4_BUILD_DIR:-$ROOT/build}"
JOBS="${GEMMA4_JOBS:-$(nproc)}"

"$ROOT/scripts/bootstrap.sh" --test
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$JOBS"
cd "$BUILD"
ctest --output-on-failure -j "$JOBS" --timeout 300 "$@"
