#!/bin/bash
# Installs gemma4 into a clean temporary prefix, then builds examples/ against the installed tree
# the way a program outside the repository would: with find_package(gemma4) (shared and static)
# and with pkg-config. Each build runs and must give the same greedy tokens as the installed
# `gemma4 run --temp 0 --json`. Also checks the shared library's soname and exported symbols.
#   install_test.sh BUILD_DIR SOURCE_DIR TEST_PACKAGE WORK_DIR
set -euo pipefail
build=$1 source=$2 package=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log" || fail "cmake --install failed: $(tail "$work/install.log")"
libdir=$prefix/lib
[ -d "$libdir" ] || libdir=$(dirname "$(find "$prefix" -name 'libgemma4.so' | head -1)")
for f in "$prefix/include/gemma4/gemma4.h" "$prefix/include/gemma4/version.h" "$prefix/include/gemma4/model.h" \
         "$libdir/libgemma4.a" "$libdir/pkgconfig/gemma4.pc" "$libdir/cmake/gemma4/gemma4Config.cmake" \
         "$libdir/cmake/gemma4/gemma4ConfigVersion.cmake" "$prefix/bin/gemma4" "$prefix/bin/gemma4-make-demo-model" \
         "$prefix/share/gemma4/testmodel/make_test_model.py"; do
  [ -e "$f" ] || fail "not installed: $f"
done

# The versioned soname from the project version, and only the API exported.
version=$(sed -n 's/^#define GEMMA4_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/gemma4/version.h")
soname=$(readelf -d "$libdir/libgemma4.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libgemma4.so.${version%.*}" ] || fail "soname '$soname', expected libgemma4.so.${version%.*}"
[ -e "$libdir/libgemma4.so.$version" ] || fail "libgemma4.so.$version missing"
nm -D --defined-only "$libdir/libgemma4.so" | c++filt > "$work/exports.txt"
grep -qE ' gemma4_model_load(@@GEMMA4_0)?$' "$work/exports.txt" || fail "the C API is not exported"
grep -q 'gemma4::Model::Load(' "$work/exports.txt" || fail "the C++ API (gemma4::Model::Load) is not exported"
if grep -E '^[0-9a-f]+ [A-Za-z] ((typeinfo|typeinfo name|vtable|VTT|guard variable) for )?(gemma4::(server|tok|onnx|chat|cli|hub|http|digest|embedded|detail)::|nlohmann::|std::)' \
     "$work/exports.txt" > "$work/leaked.txt"; then
  fail "internal symbols exported: $(head -3 "$work/leaked.txt")"
fi

# The reference: greedy tokens of the installed command.
"$prefix/bin/gemma4" run -m "$package" -p Hello --temp 0 -n 8 -t 1 --json > "$work/run.json"
expected=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["output_ids"])))' "$work/run.json")
[ -n "$expected" ] || fail "gemma4 run gave no tokens"

check() {  # check NAME BINARY
  "$2" "$package" Hello 8 > "$work/$1.out" 2> "$work/$1.err" || fail "$1 failed: $(cat "$work/$1.err")"
  got=$(sed -n 's/^\[ids \?\(.*\)\]$/\1/p' "$work/$1.out")
  [ "$got" = "$expected" ] || fail "$1 gave ids '$got', gemma4 run --temp 0 gave '$expected'"
  echo "$1: ids $got (same as gemma4 run)"
}

# find_package(gemma4), shared and static.
cmake -S "$source/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
      > "$work/examples-configure.log" 2>&1 || fail "configuring examples/ failed: $(tail "$work/examples-configure.log")"
cmake --build "$work/examples" > "$work/examples-build.log" 2>&1 || fail "building examples/ failed: $(tail -20 "$work/examples-build.log")"
check find_package "$work/examples/simple_chat"
check find_package_static "$work/examples/simple_chat_static"
if readelf -d "$work/examples/simple_chat_static" | grep -q 'libgemma4'; then fail "simple_chat_static links libgemma4.so"; fi

# pkg-config, shared (a C compiler only) and static (--static: what libgemma4.a needs).
export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exists gemma4 || fail "pkg-config does not find gemma4"
[ "$(pkg-config --modversion gemma4)" = "$version" ] || fail "gemma4.pc version $(pkg-config --modversion gemma4)"
cc -std=c11 -Wall -Wextra -Werror "$source/examples/c/simple_chat.c" -o "$work/simple_chat_pc" \
   $(pkg-config --cflags --libs gemma4) -Wl,-rpath,"$libdir"
check pkg_config "$work/simple_chat_pc"
cc -std=c11 -c "$source/examples/c/simple_chat.c" $(pkg-config --cflags gemma4) -o "$work/simple_chat_pc.o"
c++ "$work/simple_chat_pc.o" -o "$work/simple_chat_pc_static" -L"$libdir" -Wl,-Bstatic -lgemma4 -Wl,-Bdynamic \
    $(pkg-config --static --libs gemma4 | sed 's/-lgemma4\b//') 2> "$work/pc-static.err" ||
  fail "static pkg-config link failed: $(tail "$work/pc-static.err")"
check pkg_config_static "$work/simple_chat_pc_static"

# The Python module from the installed tree (Debian's python3, nothing from PyPI).
got=$(PYTHONPATH=$libdir/python3/dist-packages /usr/bin/python3 -c '
import sys, gemma4
model = gemma4.Model(sys.argv[1], threads=1)
reply = model.chat([{"role": "user", "content": "Hello"}], max_new_tokens=8, temperature=0)
print(" ".join(map(str, reply.ids)))' "$package") || fail "the installed Python module failed"
[ "$got" = "$expected" ] || fail "python gave ids '$got', gemma4 run --temp 0 gave '$expected'"
echo "python: ids $got (same as gemma4 run)"
echo "install_test: ok ($prefix)"
