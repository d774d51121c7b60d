#!/usr/bin/env bash
# Threads, processes and pools: juggle's wrappers against raw pthread/fork in C
# and Python's concurrent.futures / multiprocessing.
#
#   threads    start+join 100,000 threads, 100 at a time (pthread_create/join)
#   processes  start+join 10,000 processes, 100 at a time (fork, child
#              _exit(0) at once, waitpid)
#   map        f(x) = x*2+1 over N int64 items (default 100,000) with a pool of
#              W workers (default 2); only the map is timed, the pool is
#              started and warmed up first. Python: ThreadPoolExecutor.map,
#              ProcessPoolExecutor.map and multiprocessing.Pool.map with
#              chunksize N/(4W), and the two process pools again with
#              chunksize=1 on at most MAP_C1_ITEMS (10,000) items (per-item
#              IPC is slow). "result" is the sum of the outputs, N*N.
#   fib4       4 tasks each computing naive fib(30): one after another
#              (serial), one pthread each, one forked child each; Python's
#              serial loop, ThreadPoolExecutor and ProcessPoolExecutor for
#              contrast. Times include creating and joining threads/processes.
#              The C programs (juggle-bench and the raw peer) run the model
#              once untimed, then 7 times, and report the median: at n=30 the
#              work is a few ms, and an idle VM's second vCPU may take that
#              long to come back. For a parallel model each of the 7 runs is
#              paired with a serial run just before it in the same process,
#              and "speedup" is the median of the 7 serial/parallel ratios:
#              these VMs change speed from one second to the next, which
#              makes ratios of separate programs' medians noisy.
#
# juggle's side, run as $JUGGLE_BENCH (if it is missing, or a subcommand exits
# non-zero or prints no JSON, juggle's rows are skipped with a note):
#   juggle-bench threads     -> {"bench":"threads","impl":"juggle","ns_per_thread":X}
#   juggle-bench processes   -> {"bench":"processes","impl":"juggle","ns_per_process":X}
#   juggle-bench map --pool threads|processes --items N [--workers W]
#                            -> {"bench":"map","impl":"juggle","pool":P,"workers":W,
#                                "items":N,"ns_per_item":X[,"result":N*N]}
#   juggle-bench fib4 --model serial|threads|processes|tasks1|tasks2 [--n N]
#                            -> {"bench":"fib4","impl":"juggle","model":M,"seconds":S,
#                                ["serial_seconds":S0,"speedup":X,]"result":R}
#   (--workers and --n are passed only when MAP_WORKERS or FIB4_N differ from
#   the defaults 2 and 30; --count only when THREADS_COUNT/PROCESSES_COUNT are set)
#
# Installs what it needs with apt-get (idempotently), builds the C peer into a
# build dir, runs everything interleaved (A B A B ...) for ROUNDS rounds, and
# prints Markdown tables with medians, juggle/peer ratios and juggle's targets.
# Raw JSON lines go to a results file.
#
# Environment:
#   ROUNDS=3                    rounds (median over these)
#   BENCHES="threads processes map fib4"
#   PEERS="c python"            which peers to run
#   THREADS_COUNT=, PROCESSES_COUNT=   override 100,000 / 10,000
#   MAP_ITEMS=100000  MAP_WORKERS=2  MAP_C1_ITEMS=10000
#   FIB4_N=30
#   JUGGLE_BENCH=build/bench/juggle-bench
#   PEERS_BUILD_DIR=build/peers where the peers are built
#   RESULTS=<build dir>/exec-<time>.jsonl
#   RUN_TIMEOUT=120             seconds before a single run is killed
#   SKIP_INSTALL=1              do not call apt-get
#
# Run time with the defaults is about 1.5 minutes on the 2-vCPU VM.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # ROOT, PY, log, run_one, ...
PEERS_SRC=$ROOT/bench/peers/exec
BUILD=${PEERS_BUILD_DIR:-$ROOT/build/peers}
JUGGLE_BENCH=${JUGGLE_BENCH:-$ROOT/build/bench/juggle-bench}
ROUNDS=${ROUNDS:-3}
BENCHES=${BENCHES:-threads processes map fib4}
PEERS=${PEERS:-c python}
THREADS_COUNT=${THREADS_COUNT:-}
PROCESSES_COUNT=${PROCESSES_COUNT:-}
MAP_ITEMS=${MAP_ITEMS:-100000}
MAP_WORKERS=${MAP_WORKERS:-2}
MAP_C1_ITEMS=${MAP_C1_ITEMS:-10000}
FIB4_N=${FIB4_N:-30}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

# --- install ------------------------------------------------------------------
install_deps() {
    install_missing python3 gcc libc6-dev
}
[[ ${SKIP_INSTALL:-0} == 1 ]] || install_deps

# --- build --------------------------------------------------------------------
build_dir "exec peers"
want_peer c && gcc -O2 -pthread -o "$BUILD/exec-raw" "$PEERS_SRC/raw.c"

find_juggle "$JUGGLE_BENCH" "== note: juggle-bench not found at $JUGGLE_BENCH: juggle rows skipped"

# --- run ----------------------------------------------------------------------
note_load # other work on these 2 vCPUs skews everything
start_results exec
# run_one (lib.sh): a failing juggle command is noted once and skipped in
# later rounds.
SKIP_FAILED_JUGGLE=1

# run_interleaved NAME ENTRY...: ROUNDS rounds, each running every entry once.
run_interleaved() {
    local name=$1 r entry
    shift
    (($#)) || return 0
    log "== $name ($ROUNDS rounds)"
    for ((r = 1; r <= ROUNDS; r++)); do
        for entry in "$@"; do
            # shellcheck disable=SC2086 # commands are split on purpose
            run_one "${entry%%|*}" "$r" ${entry#*|}
        done
    done
}

JB=$JUGGLE_BENCH RAW=$BUILD/exec-raw PYP="$PY $PEERS_SRC/exec_peer.py"
TC='' PC='' MW='' FN='' C1=$((MAP_C1_ITEMS < MAP_ITEMS ? MAP_C1_ITEMS : MAP_ITEMS))
[[ -n $THREADS_COUNT ]] && TC=" --count $THREADS_COUNT"
[[ -n $PROCESSES_COUNT ]] && PC=" --count $PROCESSES_COUNT"
[[ $MAP_WORKERS != 2 ]] && MW=" --workers $MAP_WORKERS"
[[ $FIB4_N != 30 ]] && FN=" --n $FIB4_N"
PYMAP="$PYP map --workers $MAP_WORKERS --items"
declare -a THREADS=() PROCS=() MAP=() FIB4=()
if ((HAVE_JUGGLE)); then
    THREADS+=("juggle|$JB threads$TC")
    PROCS+=("juggle|$JB processes$PC")
    MAP+=("juggle-threads|$JB map --pool threads --items $MAP_ITEMS$MW"
        "juggle-processes|$JB map --pool processes --items $MAP_ITEMS$MW")
    for m in serial threads processes tasks1 tasks2; do
        FIB4+=("juggle-$m|$JB fib4 --model $m$FN")
    done
fi
if want_peer c; then
    THREADS+=("pthread|$RAW threads$TC")
    PROCS+=("fork|$RAW processes$PC")
    FIB4+=("serial|$RAW fib4 --model serial --n $FIB4_N"
        "pthread|$RAW fib4 --model threads --n $FIB4_N"
        "fork|$RAW fib4 --model processes --n $FIB4_N")
fi
if want_peer python; then
    MAP+=("python-threadpool|$PYMAP $MAP_ITEMS --pool threadpool"
        "python-processpool|$PYMAP $MAP_ITEMS --pool processpool"
        "python-processpool-c1|$PYMAP $C1 --pool processpool --chunksize 1"
        "python-mp-pool|$PYMAP $MAP_ITEMS --pool mp-pool"
        "python-mp-pool-c1|$PYMAP $C1 --pool mp-pool --chunksize 1")
    for m in serial threads processes; do
        FIB4+=("python-$m|$PYP fib4 --model $m --n $FIB4_N")
    done
fi

want_bench threads && run_interleaved threads "${THREADS[@]}"
want_bench processes && run_interleaved processes "${PROCS[@]}"
want_bench map && run_interleaved "map items=$MAP_ITEMS workers=$MAP_WORKERS" "${MAP[@]}"
want_bench fib4 && run_interleaved "fib4 n=$FIB4_N" "${FIB4[@]}"

# --- report -------------------------------------------------------------------
"$PY" - "$RESULTS" <<'PYEOF'
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = defaultdict(list)  # (bench, label) -> rows, in run order
for r in rows:
    by[(r.get("bench"), r["label"])].append(r)

def labels(bench):
    return [l for (b, l) in by if b == bench]

def med(bench, label, key):
    xs = [r.get(key) for r in by.get((bench, label), []) if r.get(key) is not None]
    return statistics.median(xs) if xs else None

def first(bench, label, key):
    rs = by.get((bench, label), [])
    return rs[0].get(key) if rs else None

def fmt(x, nd=1):
    return "–" if x is None else f"{x:,.{nd}f}"

def fr(x):
    return "–" if x is None else f"{x:.2f}×"

def ratio(a, b):
    return a / b if a is not None and b else None

def verdict(ok):
    return "" if ok is None else (" — **met**" if ok else " — **missed**")

def nojuggle(has):
    if not has:
        print("_No juggle rows: juggle-bench missing or failed (see the notes above)._\n")

def startjoin(bench, key, what, whats, peer):
    ls = labels(bench)
    if not ls:
        return
    j = med(bench, "juggle", key)
    count = next((first(bench, l, "count") for l in ls if first(bench, l, "count")), None)
    batch = next((first(bench, l, "batch") for l in ls if first(bench, l, "batch")), None)
    extra = f", {count:,} {whats} in batches of {batch}" if count else ""
    print(f"\n### {bench}  (ns per {what} start+join{extra}; median; lower is better)\n")
    nojuggle(j is not None)
    print("| impl | runs | median ns | juggle/peer | target |")
    print("|---|---|---|---|---|")
    for l in ls:
        m = med(bench, l, key)
        rt = ratio(j, m)
        tgt = f"juggle ≤ 1.1× {peer}" + verdict(None if rt is None else rt <= 1.1) if l == peer else ""
        print(f"| {l} | {len(by[(bench, l)])} | {fmt(m)} | {fr(rt)} | {tgt} |")

startjoin("threads", "ns_per_thread", "thread", "threads", "pthread")
startjoin("processes", "ns_per_process", "process", "processes", "fork")

# map: one table per pool kind.
TARGETED = {"python-threadpool", "python-processpool", "python-mp-pool"}
for kind in ("threads", "processes"):
    ls = [l for l in labels("map")
          if (first("map", l, "pool") or l.rsplit("-", 1)[-1]) == kind]
    if not ls:
        continue
    jl = f"juggle-{kind}"
    j = med("map", jl, "ns_per_item")
    w = first("map", ls[0], "workers")
    print(f"\n### map, {kind} pool, {w} workers  (ns per item, f(x) = x*2+1; median; lower is better)\n")
    nojuggle(j is not None)
    print("| impl | items | chunksize | runs | median ns/item | juggle/peer | result | target |")
    print("|---|---|---|---|---|---|---|---|")
    for l in ls:
        m = med("map", l, "ns_per_item")
        rt = ratio(j, m)
        items = first("map", l, "items")
        res = {r.get("result") for r in by[("map", l)]}
        ok = "–" if res == {None} else (f"{res.pop():,} ✓" if res == {items * items}
                                       else f"**{sorted(res, key=str)} ≠ N² **")
        tgt = (f"juggle ≤ 0.05× {l}" + verdict(None if rt is None else rt <= 0.05)) if l in TARGETED else ""
        cs = first("map", l, "chunksize")
        print(f"| {l} | {items:,} | {cs if cs is not None else '–'} | {len(by[('map', l)])} "
              f"| {fmt(m)} | {fr(rt)} | {ok} | {tgt} |")

# fib4: speed-up over serial: the median of the program's own paired
# serial/parallel ratios where it reports "speedup", else over the same
# family's serial program.
ls = labels("fib4")
if ls:
    n = next((first("fib4", l, "n") for l in ls if first("fib4", l, "n")), "?")
    print(f"\n### fib4  (4 tasks × naive fib({n}); seconds, median; lower is better)\n")
    nojuggle(any(l.startswith("juggle") for l in ls))
    print("| impl | model | runs | median s | speed-up vs serial | juggle/peer (same model) | result | target |")
    print("|---|---|---|---|---|---|---|---|")
    C = {"serial": "serial", "threads": "pthread", "processes": "fork"}
    def family_serial(l):
        if l.startswith("juggle"):
            return "juggle-serial"
        if l.startswith("python"):
            return "python-serial"
        return "serial"
    results = set()
    for l in ls:
        model = first("fib4", l, "model") or l.split("-", 1)[-1]
        s = med("fib4", l, "seconds")
        base = med("fib4", family_serial(l), "seconds")
        # Paired in-process speed-up when the program measured one (serial
        # and parallel runs interleaved), else the two programs' medians.
        sp = med("fib4", l, "speedup") if model != "serial" else None
        if sp is None and model != "serial":
            sp = ratio(base, s)
        jm = None if l.startswith("juggle") else med("fib4", f"juggle-{model}", "seconds")
        res = {r.get("result") for r in by[("fib4", l)]} - {None}
        results |= res
        tgt = ""
        if l in ("juggle-threads", "juggle-processes", "juggle-tasks2"):
            tgt = "speed-up ≥ 1.8" + verdict(None if sp is None else sp >= 1.8)
        print(f"| {l} | {model} | {len(by[('fib4', l)])} | {fmt(s, 4)} | {fr(sp)} "
              f"| {fr(ratio(jm, s))} | {', '.join(f'{x:,}' for x in res) or '–'} | {tgt} |")
    if len(results) == 1:
        print(f"\nResults agree across implementations: {results.pop():,}")
    elif results:
        print(f"\n**Results differ:** {sorted(results)}")
PYEOF

echo
echo "raw results: $RESULTS"
