#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: build juggle and run its tour. Until the lab (`juggle tour`)
# exists, the tour is the article's asyncio program in C: three tasks that
# each sleep 2 s finish together, about 2.0 s in total, on one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "== the article's asyncio program, in C (examples/seed_async.c) =="
/usr/bin/time -f "wall %e s, CPU %U s user + %S s sys" build/examples/seed_async
