#!/usr/bin/env bash
# Installs every build and test dependency of gemma4-ort on a Debian 12 machine.
# Idempotent: each step checks what is already there. Safe to run again and again.
#
#   scripts/bootstrap.sh            build + run dependencies (apt packages, ONNX Runtime)
#   scripts/bootstrap.sh --test     also the reference implementations the tests compare against (npm)
#                                   and Chromium, which the chat page's test drives headless
#   scripts/bootstrap.sh --sanitize also clang, libFuzzer and the sanitizer runtimes (scripts/fuzz.sh,
#                                   scripts/sanitize.sh)
#
# ONNX Runtime is not packaged for Debian 12. Unless the user has their own (system package,
# ONNXRUNTIME_ROOT), we take the shared library from the npm package onnxruntime-node and the
# C/C++ headers from Debian trixie's libonnxruntime-dev (headers only; the C API is versioned and
# backward compatible). Both downloads are pinned by version and sha256. Everything lands in
# .deps/ (git-ignored); the machine's own apt state is never touched by the header download.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
WITH_TEST=0
WITH_SANITIZE=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    --sanitize) WITH_SANITIZE=1 ;;
    *) echo "bootstrap: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

ORT_VERSION=1.30.0
ORT_NPM_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_HEADERS_SUITE=trixie
ORT_HEADERS_DEB=libonnxruntime-dev_1.21.0+dfsg-1_amd64.deb
ORT_HEADERS_SHA256=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08

APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl xz-utils
  nlohmann-json3-dev libonig-dev libutf8proc-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev libreadline-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-onnx python3-protobuf python3-jinja2
)
# --test only: the browser tests/server/chat_page.test.mjs drives through puppeteer-core.
TEST_APT_PACKAGES=(chromium)

# Debian 12's clang 14: libFuzzer and the ASan/UBSan/TSan runtimes live in libclang-rt-14-dev.
SANITIZE_PACKAGES=(clang libclang-rt-14-dev)
[ "$WITH_SANITIZE" -eq 1 ] && APT_PACKAGES+=("${SANITIZE_PACKAGES[@]}")

log() { printf 'bootstrap: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=() wanted=("${APT_PACKAGES[@]}")
  [ "$WITH_TEST" -eq 1 ] && wanted+=("${TEST_APT_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Node.js may come from elsewhere (nodesource ships npm inside nodejs): only ask apt when absent.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -eq 0 ]; then log "apt packages: all present"; return; fi
  log "apt packages: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_sha256() {  # file expected
  local got; got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    log "checksum mismatch for $1: expected $2, got $got"; rm -f "$1"; exit 1
  fi
}

user_has_ort() {
  [ -n "${ONNXRUNTIME_ROOT:-}" ] && [ -f "$ONNXRUNTIME_ROOT/include/onnxruntime_c_api.h" -o -f "$ONNXRUNTIME_ROOT/include/onnxruntime/onnxruntime_c_api.h" ] && return 0
  pkg-config --exists libonnxruntime 2>/dev/null && return 0
  return 1
}

install_ort() {
  local dst="$DEPS/onnxruntime"
  if user_has_ort; then log "onnxruntime: using the one already on this machine"; return; fi
  if [ -f "$dst/lib/libonnxruntime.so.1" ] && [ -f "$dst/include/onnxruntime_c_api.h" ] \
     && [ "$(cat "$dst/VERSION" 2>/dev/null)" = "$ORT_VERSION" ]; then
    log "onnxruntime $ORT_VERSION: present in $dst"; return
  fi
  local tmp="$DEPS/tmp"; rm -rf "$tmp"; mkdir -p "$tmp" "$dst/lib" "$dst/include"

  log "onnxruntime $ORT_VERSION: library from npm onnxruntime-node (no install scripts)"
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  check_sha256 "$tmp/onnxruntime-node-$ORT_VERSION.tgz" "$ORT_NPM_SHA256"
  tar -xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$dst/lib/"
  ln -sf libonnxruntime.so.1 "$dst/lib/libonnxruntime.so"

  log "onnxruntime headers: $ORT_HEADERS_DEB from Debian $ORT_HEADERS_SUITE (private apt state)"
  local apt="$tmp/apt"; mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb http://deb.debian.org/debian $ORT_HEADERS_SUITE main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Debug::NoLocking=1"
              -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$tmp" && apt-get "${opts[@]}" download -qq "libonnxruntime-dev=${ORT_HEADERS_DEB#libonnxruntime-dev_}" >/dev/null 2>&1 \
     || apt-get "${opts[@]}" download -qq libonnxruntime-dev >/dev/null)
  local deb; deb="$(ls "$tmp"/libonnxruntime-dev_*.deb | head -1)"
  [ "$(basename "$deb")" = "$ORT_HEADERS_DEB" ] || { log "expected $ORT_HEADERS_DEB, archive has $(basename "$deb")"; exit 1; }
  check_sha256 "$deb" "$ORT_HEADERS_SHA256"
  dpkg -x "$deb" "$tmp/deb"
  cp "$tmp"/deb/usr/include/onnxruntime/*.h "$dst/include/"
  echo "$ORT_VERSION" > "$dst/VERSION"
  rm -rf "$tmp"
  log "onnxruntime $ORT_VERSION: installed in $dst"
}

install_test_refs() {
  local refs="$ROOT/tests/refs"
  if [ -f "$refs/node_modules/.gemma4-installed" ] && cmp -s "$refs/package.json" "$refs/node_modules/.gemma4-installed"; then
    log "npm test references: present"; return
  fi
  log "npm test references: installing into tests/refs/node_modules (scripts skipped)"
  (cd "$refs" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$refs/package.json" "$refs/node_modules/.gemma4-installed"
}

install_apt_packages
install_ort
[ "$WITH_TEST" -eq 1 ] && install_test_refs
log "done"
