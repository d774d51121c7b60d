#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz the HTTP request parser of examples/http with libFuzzer, under
# AddressSanitizer and UndefinedBehaviorSanitizer. Installs clang and
# libclang-rt-14-dev (Debian 12) if missing. Not part of scripts/test.sh:
# ctest only replays the seed corpus (tests/fuzz/corpus) through the same
# harness built without libFuzzer.
#
#   scripts/fuzz.sh [SECONDS]        default 300
#
# Environment: FUZZ_DIR=build-fuzz (binary, working corpus, crash files).
# New inputs are kept in FUZZ_DIR/corpus, not in the seed corpus; a crash
# leaves FUZZ_DIR/crash-* and makes the script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-300}
dir=${FUZZ_DIR:-build-fuzz}

missing=()
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >&2
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

mkdir -p "$dir/corpus"
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Iexamples/http \
    -o "$dir/fuzz_http_parse" tests/fuzz/fuzz_http_parse.c \
    examples/http/http_parse.c
cd "$dir"
exec ./fuzz_http_parse -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix=./ corpus "$root/tests/fuzz/corpus"
