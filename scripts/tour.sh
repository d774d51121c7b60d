#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: build juggle and run its tour (`juggle tour`): the article's
# three programs (threads, processes, asyncio), then every model on
# I/O-bound, CPU-bound and mixed work with the speed-ups measured on this
# machine, then timelines of the async and the hybrid model drawn as SVG
# pictures in ./juggle-tour. Under a minute on 2 cores, after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target juggle_cli >/dev/null
build/cli/juggle tour -o juggle-tour
