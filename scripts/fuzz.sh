#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/*_fuzz.cpp, clang + ASan + UBSan) and runs each one for
# SECONDS (default 30) over its seed corpus fuzz/corpus/<name>/. A crash, a sanitizer report, a
# leak, a timeout or running out of memory fails the run; the input that did it is saved under
# $BUILD/artifacts/<name>/ and its path printed, to replay with: $BUILD/fuzz/fuzz_<name> FILE
#
#   scripts/fuzz.sh [SECONDS] [NAME ...]      e.g. scripts/fuzz.sh 600 template_render
#
# New inputs the fuzzers find go to $BUILD/corpus/<name>/ (not the repo); copy the interesting
# ones into fuzz/corpus/<name>/. Executions per harness are written to $BUILD/fuzz-stats.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GEMMA4_SANITIZE_BUILD_DIR:-$ROOT/build-asan}"
JOBS="${GEMMA4_JOBS:-$(nproc)}"
SECONDS_EACH="${1:-30}"
shift || true
ALL=(tokenizer_load tokenizer_encode streaming_decoder template_render template_messages openai_request output_parser http_request
     onnx_summary hub_answers grammar)
NAMES=("$@")
[ ${#NAMES[@]} -eq 0 ] && NAMES=("${ALL[@]}")

"$ROOT/scripts/bootstrap.sh" --sanitize >&2
"$ROOT/scripts/sanitize.sh" --configure-only
cmake --build "$BUILD" -j "$JOBS" --target fuzzers

# Leaks are findings too; UBSan stops at the first report so libFuzzer saves the input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Harnesses with a known, open finding in code this branch does not own (fuzz/known_failures).
# (awk, not grep -v: with every line a comment grep exits 1, and pipefail would end the script here.)
known=" $(awk '!/^#/ && NF {print $1}' "$ROOT/fuzz/known_failures" | tr '\n' ' ') "
stats="$BUILD/fuzz-stats.txt"
: > "$stats"
failed=()
for name in "${NAMES[@]}"; do
  bin="$BUILD/fuzz/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz: no harness '$name' (known: ${ALL[*]})" >&2; exit 2; }
  work="$BUILD/corpus/$name" artifacts="$BUILD/artifacts/$name"
  mkdir -p "$work" "$artifacts"
  log="$BUILD/fuzz-$name.log"
  echo "fuzz: $name for ${SECONDS_EACH}s" >&2
  # -timeout: one input may take 10 s (a hang is a finding); -rss_limit_mb: 2 GB is far above any
  # legitimate input under the library's own limits.
  max_len=65536
  if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
       -artifact_prefix="$artifacts/" "$work" "$ROOT/fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "$name $runs" >> "$stats"
    echo "fuzz: $name ok, $runs executions" >&2
  else
    runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    if [[ "$known" == *" $name "* ]]; then
      echo "$name $runs known-finding" >> "$stats"
      echo "fuzz: $name found its known, open finding (fuzz/known_failures); not counted as a failure" >&2
    else
      echo "$name $runs FAILED" >> "$stats"
      failed+=("$name")
    fi
    echo "fuzz: $name stopped; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    for f in "$artifacts"/*; do [ -f "$f" ] && echo "fuzz: reproducing input saved: $f (replay: $bin $f)" >&2; done
  fi
done
column -t "$stats" >&2 || cat "$stats" >&2
if [ ${#failed[@]} -gt 0 ]; then echo "fuzz: failures in ${failed[*]}" >&2; exit 1; fi
