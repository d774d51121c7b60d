#!/usr/bin/python3
"""Python peer for juggle's thread/process benchmarks.

    exec_peer.py map --pool threadpool|processpool|mp-pool [--items N]
                     [--workers W] [--chunksize C]
    exec_peer.py fib4 --model serial|threads|processes [--n 30] [--tasks 4]

map: f(x) = x*2+1 over range(N) with a pool of W workers. The pool is started
and warmed up (one small map, so every worker exists) before the clock starts;
only the map itself is timed and reported as ns per item. chunksize applies to
the process pools (default N/(4W), which is also multiprocessing.Pool.map's
own default); ThreadPoolExecutor.map ignores it. "result" is the sum of the
outputs (N*N).

fib4: TASKS naive fib(N) computations, one after another (serial), on a
ThreadPoolExecutor of TASKS threads, or a ProcessPoolExecutor of TASKS
processes; the time includes starting and shutting down the pool.

Run with Debian's optimised /usr/bin/python3. Prints one JSON line.
"""
import argparse
import concurrent.futures as cf
import json
import multiprocessing
import time


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def f(x):
    return x * 2 + 1


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def bench_map(pool, items, workers, chunksize):
    if chunksize is None:
        chunksize = max(1, items // (4 * workers))
    data = range(items)
    if pool == "threadpool":
        ex, kind, chunksize = cf.ThreadPoolExecutor(max_workers=workers), "threads", None
        run = lambda: ex.map(f, data)
        close = ex.shutdown
    elif pool == "processpool":
        ex, kind = cf.ProcessPoolExecutor(max_workers=workers), "processes"
        run = lambda: ex.map(f, data, chunksize=chunksize)
        close = ex.shutdown
    elif pool == "mp-pool":
        ex, kind = multiprocessing.Pool(processes=workers), "processes"
        run = lambda: ex.map(f, data, chunksize=chunksize)
        close = lambda: (ex.close(), ex.join())
    else:
        raise SystemExit(f"unknown pool {pool}")
    # Warm-up: make every worker exist before timing (ProcessPoolExecutor and
    # ThreadPoolExecutor start workers lazily).
    if pool == "mp-pool":
        ex.map(f, range(4 * workers), chunksize=1)
    else:
        list(ex.map(f, range(4 * workers)))
    t0 = time.perf_counter_ns()
    result = sum(run())
    ns = time.perf_counter_ns() - t0
    close()
    out = {"bench": "map", "impl": f"python-{pool}", "pool": kind, "workers": workers,
           "items": items, "ns_per_item": round(ns / items, 1), "result": result}
    if chunksize is not None:
        out["chunksize"] = chunksize
    emit(out)


def bench_fib4(model, n, tasks):
    t0 = time.perf_counter()
    if model == "serial":
        results = [fib(n) for _ in range(tasks)]
    elif model in ("threads", "processes"):
        pool = cf.ThreadPoolExecutor if model == "threads" else cf.ProcessPoolExecutor
        with pool(max_workers=tasks) as ex:
            results = list(ex.map(fib, [n] * tasks))
    else:
        raise SystemExit(f"unknown model {model}")
    s = time.perf_counter() - t0
    assert len(set(results)) == 1
    emit({"bench": "fib4", "impl": f"python-{model}", "model": model, "n": n,
          "tasks": tasks, "seconds": round(s, 6), "result": results[0]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench", choices=["map", "fib4"])
    ap.add_argument("--pool", default="threadpool")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunksize", type=int)
    ap.add_argument("--model", default="serial")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--tasks", type=int, default=4)
    a = ap.parse_args()
    if a.bench == "map":
        bench_map(a.pool, a.items, a.workers, a.chunksize)
    else:
        bench_fib4(a.model, a.n, a.tasks)


if __name__ == "__main__":
    main()
