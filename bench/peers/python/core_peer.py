#!/usr/bin/python3
"""Python asyncio peer for juggle's core benchmarks: switch | spawn | sleepers N.

Run with Debian's optimised /usr/bin/python3. Each run prints one JSON object
on one line. Python is slow, so switch and spawn use fewer operations than the
other peers and report per-operation figures.
"""
import asyncio
import json
import resource
import sys
import time

SWITCH_TOTAL = 200_000  # yields in total, both tasks together
SPAWN_TASKS = 100_000


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


async def _yielder(n):
    for _ in range(n):
        await asyncio.sleep(0)


async def _switch():
    per = SWITCH_TOTAL // 2
    start = time.perf_counter_ns()
    await asyncio.gather(_yielder(per), _yielder(per))
    return time.perf_counter_ns() - start


def bench_switch():
    ns = asyncio.run(_switch())
    emit({"bench": "switch", "impl": "python-asyncio", "workers": 1,
          "switches": SWITCH_TOTAL, "ns_per_switch": round(ns / SWITCH_TOTAL, 2)})


async def _empty():
    pass


async def _spawn():
    start = time.perf_counter_ns()
    tasks = [asyncio.create_task(_empty()) for _ in range(SPAWN_TASKS)]
    await asyncio.gather(*tasks)
    return time.perf_counter_ns() - start


def bench_spawn():
    ns = asyncio.run(_spawn())
    emit({"bench": "spawn", "impl": "python-asyncio", "tasks": SPAWN_TASKS,
          "ns_per_task": round(ns / SPAWN_TASKS, 2)})


async def _sleepers(n):
    start = time.perf_counter()
    tasks = [asyncio.create_task(asyncio.sleep(2)) for _ in range(n)]
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


def bench_sleepers(n):
    wall = asyncio.run(_sleepers(n))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    emit({"bench": "sleepers", "impl": "python-asyncio", "tasks": n,
          "wall_s": round(wall, 4), "peak_rss_bytes": ru.ru_maxrss * 1024,
          "minflt": ru.ru_minflt})


def usage():
    sys.exit("usage: core_peer.py switch | spawn | sleepers N")


def main(argv):
    if len(argv) < 2:
        usage()
    cmd = argv[1]
    if cmd == "switch":
        bench_switch()
    elif cmd == "spawn":
        bench_spawn()
    elif cmd == "sleepers" and len(argv) == 3 and argv[2].isdigit():
        bench_sleepers(int(argv[2]))
    else:
        usage()


if __name__ == "__main__":
    main(sys.argv)
