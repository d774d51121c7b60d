#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it (.ci/run calls this):
#   1. a release build with the assembly context switch: ctest, then the
#      install check (pkg-config and find_package consumers) and a Valgrind
#      run of an example;
#   2. the same suite on the ucontext fallback switch;
#   3. under AddressSanitizer + UndefinedBehaviorSanitizer;
#   4. under ThreadSanitizer.
# Warnings are errors. Builds go to build-test/<variant>. About 5 minutes on
# 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

jobs=$(nproc)
root=build-test
failed=()

variant() {
    local name=$1 scale=$2
    shift 2
    echo "==== juggle tests: $name ===="
    cmake -S . -B "$root/$name" -DJUGGLE_WERROR=ON \
        -DJUGGLE_STRESS_SCALE="$scale" "$@" >/dev/null
    cmake --build "$root/$name" -j"$jobs" >/dev/null
    if ! ctest --test-dir "$root/$name" -j"$jobs" --output-on-failure; then
        failed+=("$name")
    fi
}

install_check() {
    echo "==== juggle tests: install (pkg-config, find_package) ===="
    local prefix consumer
    prefix=$(mktemp -d)
    consumer=$(mktemp -d)
    cmake --install "$root/release" --prefix "$prefix" >/dev/null
    cp examples/seed_async.c "$consumer/main.c"
    # pkg-config
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch)/pkgconfig" \
        sh -c 'cc -std=c11 -o "$1/via-pc" "$1/main.c" $(pkg-config --cflags --libs juggle)' \
        _ "$consumer"
    # find_package
    cat > "$consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(juggle REQUIRED)
add_executable(via-cmake main.c)
target_link_libraries(via-cmake PRIVATE juggle::juggle)
CM
    cmake -S "$consumer" -B "$consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$consumer/build" >/dev/null
    local libdir
    libdir=$(dirname "$(find "$prefix" -name 'libjuggle.so' | head -n1)")
    for exe in "$consumer/via-pc" "$consumer/build/via-cmake"; do
        out=$(LD_LIBRARY_PATH="$libdir" "$exe" 2>/dev/null)
        if ! grep -q "All tasks are done!" <<<"$out"; then
            echo "install check: $exe printed: $out"
            failed+=("install")
        fi
    done
    rm -rf "$prefix" "$consumer"
    echo "install check done"
}

valgrind_check() {
    echo "==== juggle tests: valgrind (stacks registered, no errors) ===="
    if ! valgrind -q --error-exitcode=9 "$root/release/examples/seed_async" >/dev/null; then
        failed+=("valgrind")
    fi
}

variant release 1 -DCMAKE_BUILD_TYPE=RelWithDebInfo
install_check
valgrind_check
variant ucontext 1 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJUGGLE_CONTEXT=ucontext \
    -DJUGGLE_BUILD_BENCH=OFF
variant asan 4 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJUGGLE_SANITIZE=address \
    -DJUGGLE_BUILD_BENCH=OFF
variant tsan 10 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJUGGLE_SANITIZE=thread \
    -DJUGGLE_BUILD_BENCH=OFF

if [ ${#failed[@]} -gt 0 ]; then
    echo "juggle tests FAILED: ${failed[*]}"
    exit 1
fi
echo "juggle tests: all variants passed"
