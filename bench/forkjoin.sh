#!/usr/bin/env bash
# Fork-join benchmarks: juggle against rayon, oneTBB, OpenMP, Go and plain C.
#
#   fib  naive recursive Fibonacci; every call with n >= 2 forks fib(n-1) and
#        computes fib(n-2) itself (below --cutoff C, if given: plain serial
#        recursion). Peers: rayon::join, tbb::task_group, OpenMP task/taskwait,
#        goroutines + sync.WaitGroup, and a serial C function (gcc -O2).
#   sum  sum of an int64 array of N elements, element i = i % 1000.
#        Filling is not timed: each program fills the array, runs one untimed
#        pass, then SUM_REPS=5 timed passes and reports their median.
#        Peers: OpenMP parallel for reduction(+), rayon par_iter().sum(), serial C.
#
# juggle's side, run as $JUGGLE_BENCH (if it is missing, or a subcommand exits
# non-zero or prints no JSON, juggle's rows are skipped with a note):
#   juggle-bench fib N --workers W [--cutoff C]
#     -> {"bench":"fib","impl":"juggle","n":N,"workers":W,"seconds":S,"result":R}
#   juggle-bench sum --n N --workers W
#     -> {"bench":"sum","impl":"juggle","n":N,"workers":W,"seconds":S,"result":R}
#        (the peers report the median of 5 timed passes after one untimed
#        pass; a juggle-bench that times a single pass is comparable but noisier)
#
# Installs what it needs with apt-get (idempotently), builds the peers from
# bench/peers/forkjoin into a build dir, runs everything interleaved
# (A B A B ...) for ROUNDS rounds, and prints Markdown tables with medians,
# juggle/peer ratios and juggle's targets. Raw JSON lines go to a results file.
#
# Environment:
#   ROUNDS=3                    rounds (median over these)
#   FIB_N=35                    fib argument
#   SUM_N=100000000             sum elements (800 MB of int64)
#   FIB_WORKERS="1 2"           worker counts for fib (targets need 1 and 2)
#   SUM_WORKERS="1 2"           worker counts for sum (the target is at 2)
#   CUTOFF=                     if set, --cutoff CUTOFF for every fib run
#   BENCHES="fib sum"           which benchmarks to run
#   PEERS="rayon tbb openmp go serial"   which peers to run
#   JUGGLE_BENCH=build/bench/juggle-bench
#   PEERS_BUILD_DIR=build/peers where the peers are built
#   RESULTS=<build dir>/forkjoin-<time>.jsonl
#   RUN_TIMEOUT=120             seconds before a single run is killed
#   SKIP_INSTALL=1              do not call apt-get
#
# Run time with the defaults is about 2-3 minutes on the 2-vCPU VM, most of it
# Go's fib (a goroutine per call: ~15-20 s per run) and OpenMP's fib with 2
# threads (libgomp's task queue under contention: ~5 s per run).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # ROOT, PY, log, run_one, ...
PEERS_SRC=$ROOT/bench/peers/forkjoin
BUILD=${PEERS_BUILD_DIR:-$ROOT/build/peers}
JUGGLE_BENCH=${JUGGLE_BENCH:-$ROOT/build/bench/juggle-bench}
ROUNDS=${ROUNDS:-3}
FIB_N=${FIB_N:-35}
SUM_N=${SUM_N:-100000000}
FIB_WORKERS=${FIB_WORKERS:-1 2}
SUM_WORKERS=${SUM_WORKERS:-1 2}
CUTOFF=${CUTOFF:-}
BENCHES=${BENCHES:-fib sum}
PEERS=${PEERS:-rayon tbb openmp go serial}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

# --- install ------------------------------------------------------------------
install_deps() {
    local pkgs=(python3 gcc)
    want_peer tbb && pkgs+=(g++ libtbb-dev)
    want_peer go && pkgs+=(golang-go)
    want_peer rayon && pkgs+=(librust-rayon-dev cmd:cargo)
    install_missing "${pkgs[@]}"
}
[[ ${SKIP_INSTALL:-0} == 1 ]] || install_deps

# --- build --------------------------------------------------------------------
build_dir "fork-join peers"
want_peer serial && gcc -O2 -o "$BUILD/fj-serial" "$PEERS_SRC/serial.c"
want_peer openmp && gcc -O2 -fopenmp -o "$BUILD/fj-openmp" "$PEERS_SRC/openmp.c"
want_peer tbb && g++ -O2 -std=c++17 -o "$BUILD/fj-tbb" "$PEERS_SRC/tbb.cpp" -ltbb
want_peer go && go_peer "$PEERS_SRC/go" "$BUILD/fj-go"
want_peer rayon && cargo_peer "$PEERS_SRC/rayon" rayon rayon-peer "$BUILD/fj-rayon"

find_juggle "$JUGGLE_BENCH" "== note: juggle-bench not found at $JUGGLE_BENCH: juggle rows skipped"

# --- run ----------------------------------------------------------------------
note_load # other work on these 2 vCPUs skews everything
start_results forkjoin
# run_one (lib.sh): a failing juggle command is noted once and skipped in
# later rounds.
SKIP_FAILED_JUGGLE=1

# run_interleaved NAME "W1 W2" ENTRY...: ROUNDS rounds; in each, every worker
# count, and for each every entry once. %W in a command is the worker count.
run_interleaved() {
    local name=$1 workers=$2 r w entry label cmd
    shift 2
    (($#)) || return 0
    log "== $name, workers: $workers ($ROUNDS rounds)"
    for ((r = 1; r <= ROUNDS; r++)); do
        for w in $workers; do
            for entry in "$@"; do
                label=${entry%%|*}
                cmd=${entry#*|}
                # serial has no workers: run it once per round, with the first W
                [[ $label == serial && $w != "${workers%% *}" ]] && continue
                # shellcheck disable=SC2086 # commands are split on purpose
                run_one "$label" "$r" ${cmd//%W/$w}
            done
        done
    done
}

CUT=
[[ -n $CUTOFF ]] && CUT=" --cutoff $CUTOFF"
declare -a FIB=() SUM=()
if ((HAVE_JUGGLE)); then
    FIB+=("juggle|$JUGGLE_BENCH fib $FIB_N --workers %W$CUT")
    SUM+=("juggle|$JUGGLE_BENCH sum --n $SUM_N --workers %W")
fi
want_peer rayon && FIB+=("rayon|$BUILD/fj-rayon fib $FIB_N --workers %W$CUT") &&
    SUM+=("rayon|$BUILD/fj-rayon sum --n $SUM_N --workers %W")
want_peer tbb && FIB+=("tbb|$BUILD/fj-tbb fib $FIB_N --workers %W$CUT")
want_peer openmp && FIB+=("openmp|$BUILD/fj-openmp fib $FIB_N --workers %W$CUT") &&
    SUM+=("openmp|$BUILD/fj-openmp sum --n $SUM_N --workers %W")
want_peer go && FIB+=("go|$BUILD/fj-go fib $FIB_N --workers %W$CUT")
want_peer serial && FIB+=("serial|$BUILD/fj-serial fib $FIB_N") &&
    SUM+=("serial|$BUILD/fj-serial sum --n $SUM_N")

want_bench fib && run_interleaved "fib($FIB_N)${CUT}" "$FIB_WORKERS" "${FIB[@]}"
want_bench sum && run_interleaved "sum n=$SUM_N" "$SUM_WORKERS" "${SUM[@]}"

# --- report -------------------------------------------------------------------
"$PY" - "$RESULTS" <<'PYEOF'
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = defaultdict(list)   # (bench, workers, label) -> rows
order = []               # labels in run order (juggle first)
for r in rows:
    key = (r.get("bench"), r.get("workers", 1), r["label"])
    by[key].append(r)
    if r["label"] not in order:
        order.append(r["label"])

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def secs(bench, w, label):
    return med([r.get("seconds") for r in by.get((bench, w, label), [])])

def fmt(x):
    return "–" if x is None else f"{x:,.4f}" if x >= 0.01 else f"{x:.6f}"

def fr(x):
    return "–" if x is None else f"{x:.2f}×"

def verdict(ok):
    return "" if ok is None else (" — **met**" if ok else " — **missed**")

def results_of(bench):
    res = defaultdict(set)
    for (b, w, l), rs in by.items():
        if b == bench:
            for r in rs:
                res[l].add(r.get("result"))
    return res

def check(bench):
    res = results_of(bench)
    vals = {v for s in res.values() for v in s if v is not None}
    if len(vals) == 1:
        print(f"\nResults agree across implementations: {vals.pop():,}")
    elif vals:
        print("\n**Results differ:** " + ", ".join(
            f"{l}: {sorted(v, key=str)}" for l, v in res.items()))

def table(bench, w, targets, extra_cols=()):
    labels = [l for l in order if (bench, w, l) in by or (l == "serial" and (bench, 1, l) in by)]
    if not labels:
        return
    j = secs(bench, w, "juggle")
    n = next(r.get("n") for (b, _, _), rs in by.items() if b == bench for r in rs)
    title = f"fib({n})" if bench == "fib" else f"sum of {n:,} int64"
    cut = {r.get("cutoff") for (b, _, _), rs in by.items() if b == bench for r in rs} - {None, 0}
    if cut:
        title += f", cutoff {sorted(cut)}"
    print(f"\n### {title}, {w} worker{'s' if w > 1 else ''}  (seconds, median; lower is better)\n")
    if j is None:
        print("_No juggle rows: juggle-bench missing or failed (see the notes above)._\n")
    head = ["impl", "runs", "median s"] + [c[0] for c in extra_cols] + ["juggle/peer", "result", "target"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for l in labels:
        ww = 1 if l == "serial" else w
        rs = by[(bench, ww, l)]
        s = secs(bench, ww, l)
        rt = j / s if j is not None and s else None
        cells = [l + (" (1 thread)" if l == "serial" and w > 1 else ""), str(len(rs)), fmt(s)]
        cells += [c[1](l, s) for c in extra_cols]
        res = {r.get("result") for r in rs}
        cells += [fr(rt), ", ".join(f"{x:,}" if isinstance(x, int) else str(x) for x in res),
                  targets.get(l, lambda: "")()]
        print("| " + " | ".join(cells) + " |")

def speedup(bench):
    def col(l, s):
        t1 = secs(bench, 1, l)
        return fr(t1 / s) if t1 is not None and s and l != "serial" else "–"
    return ("speed-up T1/T2", col)

def gbps(bench):
    def col(l, s):
        rs = [r for rs in by.values() for r in rs if r.get("bench") == bench]
        n = rs[0].get("n") if rs else None
        return "–" if not s or not n else f"{n * 8 / s / 1e9:.1f}"
    return ("GB/s", col)

j1, j2 = secs("fib", 1, "juggle"), secs("fib", 2, "juggle")
def le(a, b, lim):
    return None if a is None or b is None else a <= lim * b
table("fib", 1, {
    "rayon": lambda: "juggle ≤ 1.0× rayon (1 thread)" + verdict(le(j1, secs("fib", 1, "rayon"), 1.0)),
    "serial": lambda: "juggle T1/Ts ≤ 2.0" + verdict(le(j1, secs("fib", 1, "serial"), 2.0)),
})
table("fib", 2, {
    "juggle": lambda: "T1/T2 ≥ 1.8" + verdict(None if j1 is None or not j2 else j1 / j2 >= 1.8),
    "rayon": lambda: "juggle ≤ 1.0× rayon (2 threads)" + verdict(le(j2, secs("fib", 2, "rayon"), 1.0)),
}, [speedup("fib")])
if any(b == "fib" for b, _, _ in by):
    check("fib")

s2 = secs("sum", 2, "juggle")
table("sum", 1, {}, [gbps("sum")])
table("sum", 2, {
    "openmp": lambda: "juggle throughput ≥ 0.95× openmp (time ≤ 1.05×)"
              + verdict(le(s2, secs("sum", 2, "openmp"), 1 / 0.95)),
}, [gbps("sum"), speedup("sum")])
if any(b == "sum" for b, _, _ in by):
    check("sum")
PYEOF

echo
echo "raw results: $RESULTS"
