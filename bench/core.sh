#!/usr/bin/env bash
# Core benchmarks: juggle against its peers (Go, Tokio, Python asyncio,
# Boost.Context) on switch, rawswitch, spawn and sleepers.
#
# Installs what it needs with apt-get (idempotently), builds the peers from
# bench/peers into a build dir, runs every benchmark interleaved (A B A B ...)
# for ROUNDS rounds, and prints one Markdown table per benchmark with medians,
# juggle/peer ratios and juggle's targets. Raw JSON lines go to a results file.
#
# Environment:
#   ROUNDS=3                 rounds per benchmark (median over these)
#   SLEEPERS_N=1000000       tasks in the sleepers benchmark
#   BENCHES="switch rawswitch spawn sleepers"   which benchmarks to run
#   PEERS="go tokio python boost"               which peers to run
#   JUGGLE_BENCH=build/bench/juggle-bench       juggle's benchmark executable
#   PEERS_BUILD_DIR=build/peers                 where the peers are built
#   RESULTS=<build dir>/core-<time>.jsonl       raw results file
#   WARM_GIB=4               memory touched and freed once before sleepers
#   RUN_TIMEOUT=300          seconds before a single run is killed
#   SKIP_INSTALL=1           do not call apt-get
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # ROOT, PY, log, run_one, ...
PEERS_SRC=$ROOT/bench/peers
BUILD=${PEERS_BUILD_DIR:-$ROOT/build/peers}
JUGGLE_BENCH=${JUGGLE_BENCH:-$ROOT/build/bench/juggle-bench}
ROUNDS=${ROUNDS:-3}
SLEEPERS_N=${SLEEPERS_N:-1000000}
BENCHES=${BENCHES:-switch rawswitch spawn sleepers}
PEERS=${PEERS:-go tokio python boost}
WARM_GIB=${WARM_GIB:-4}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

# --- (a) install --------------------------------------------------------------
install_deps() {
    install_missing python3 golang-go librust-tokio-dev librust-libc-dev libboost-context-dev g++ cmd:cargo
}
[[ ${SKIP_INSTALL:-0} == 1 ]] || install_deps

# --- (b) build ----------------------------------------------------------------
build_dir peers
want_peer go && go_peer "$PEERS_SRC/go" "$BUILD/go-peer"
want_peer tokio && cargo_peer "$PEERS_SRC/tokio" tokio tokio-peer "$BUILD/tokio-peer"
if want_peer boost; then
    g++ -O2 -std=c++17 -o "$BUILD/rawswitch" "$PEERS_SRC/boost/rawswitch.cpp" -lboost_context
fi

find_juggle "$JUGGLE_BENCH" "== juggle-bench not found at $JUGGLE_BENCH: juggle rows skipped"

# --- (c, d) run ---------------------------------------------------------------
start_results core
# run_one (lib.sh): a failing juggle command is warned about like any other.
SKIP_FAILED_JUGGLE=0

# Each list holds "label|command" pairs, run in this order in every round.
declare -a SWITCH=() RAWSWITCH=() SPAWN=() SLEEPERS=()
if ((HAVE_JUGGLE)); then
    SWITCH+=("juggle|$JUGGLE_BENCH switch")
    RAWSWITCH+=("juggle|$JUGGLE_BENCH rawswitch")
    SPAWN+=("juggle|$JUGGLE_BENCH spawn")
    SLEEPERS+=("juggle-shared|$JUGGLE_BENCH sleepers %N --stack shared"
        "juggle-private|$JUGGLE_BENCH sleepers %N --stack private")
fi
if want_peer go; then
    SWITCH+=("go|$BUILD/go-peer switch")
    SPAWN+=("go|$BUILD/go-peer spawn")
    SLEEPERS+=("go|$BUILD/go-peer sleepers %N")
fi
if want_peer tokio; then
    SWITCH+=("tokio|$BUILD/tokio-peer switch")
    SPAWN+=("tokio|$BUILD/tokio-peer spawn")
    SLEEPERS+=("tokio|$BUILD/tokio-peer sleepers %N")
fi
if want_peer python; then
    SWITCH+=("python-asyncio|$PY $PEERS_SRC/python/core_peer.py switch")
    SPAWN+=("python-asyncio|$PY $PEERS_SRC/python/core_peer.py spawn")
    SLEEPERS+=("python-asyncio|$PY $PEERS_SRC/python/core_peer.py sleepers %N")
fi
want_peer boost && RAWSWITCH+=("boost.context|$BUILD/rawswitch")

# run_interleaved NAME ENTRY...: ROUNDS rounds, each running every entry once.
# Entries containing %N (sleepers) run with N=0 and then N=SLEEPERS_N.
run_interleaved() {
    local name=$1 r entry label cmd
    shift
    (($#)) || return 0
    log "== $name ($ROUNDS rounds)"
    for ((r = 1; r <= ROUNDS; r++)); do
        for entry in "$@"; do
            label=${entry%%|*}
            cmd=${entry#*|}
            if [[ $cmd == *%N* ]]; then
                # shellcheck disable=SC2086 # commands are split on purpose
                run_one "$label" "$r" ${cmd//%N/0}
                # shellcheck disable=SC2086
                run_one "$label" "$r" ${cmd//%N/$SLEEPERS_N}
            else
                # shellcheck disable=SC2086
                run_one "$label" "$r" $cmd
            fi
        done
    done
}

# First touch of memory is slow on these VMs: touch and free WARM_GIB once.
warm_memory() {
    log "== warming memory: touching ${WARM_GIB} GiB once"
    "$PY" - "$WARM_GIB" <<'PYEOF' || log "  [warn] memory warm-up failed"
import mmap, sys
gib, page = int(sys.argv[1]), mmap.PAGESIZE
maps = []
for _ in range(gib):
    m = mmap.mmap(-1, 1 << 30)
    m[::page] = b"\1" * ((1 << 30) // page)  # one write per page
    maps.append(m)
for m in maps:
    m.close()
PYEOF
}

want_bench switch && run_interleaved switch "${SWITCH[@]}"
want_bench rawswitch && run_interleaved rawswitch "${RAWSWITCH[@]}"
want_bench spawn && run_interleaved spawn "${SPAWN[@]}"
if want_bench sleepers && ((${#SLEEPERS[@]})); then
    warm_memory
    run_interleaved "sleepers N=$SLEEPERS_N" "${SLEEPERS[@]}"
fi

# --- (e) report ---------------------------------------------------------------
"$PY" - "$RESULTS" "$SLEEPERS_N" <<'PYEOF'
import json, statistics, sys
from collections import defaultdict

path, big_n = sys.argv[1], int(sys.argv[2])
KIB45 = 4.5 * 1024  # 4.5 KB target, read as KiB

rows = [json.loads(l) for l in open(path) if l.strip()]
by = defaultdict(list)  # (bench, label) -> rows
for r in rows:
    by[(r.get("bench"), r["label"])].append(r)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:,.{nd}f}" if isinstance(x, float) else f"{x:,}"

def ratio(a, b):
    return a / b if a is not None and b else None

def fr(x):
    return "–" if x is None else f"{x:.2f}×"

def verdict(ok):
    return "" if ok is None else (" — **met**" if ok else " — **missed**")

def simple(bench, key, unit, targets):
    labels = [l for (b, l) in by if b == bench]  # run order: juggle first
    if not labels:
        return
    m = {l: med([r.get(key) for r in by[(bench, l)]]) for l in labels}
    j = m.get("juggle")
    print(f"\n### {bench}  ({unit}, median of runs; lower is better)\n")
    print("| impl | runs | median | juggle/peer | target |")
    print("|---|---|---|---|---|")
    for l in labels:
        rs = by[(bench, l)]
        extra = ""
        if rs and "tasks" in rs[0] and bench == "spawn":
            extra = f" ({rs[0]['tasks']:,} tasks"
            extra += f", GOMAXPROCS={rs[0]['gomaxprocs']})" if "gomaxprocs" in rs[0] else ")"
        if rs and "switches" in rs[0]:
            extra = f" ({rs[0]['switches']:,} switches)"
        rt = ratio(j, m[l])
        tgt = ""
        if l in targets:
            lim = targets[l]
            tgt = f"juggle ≤ {lim}× {l}" + verdict(None if rt is None else rt <= lim)
        print(f"| {l}{extra} | {len(rs)} | {fmt(m[l])} | {fr(rt)} | {tgt} |")

simple("switch", "ns_per_switch", "ns per switch", {"go": 0.5})
simple("rawswitch", "ns_per_switch", "ns per switch", {"boost.context": 1.0})
simple("spawn", "ns_per_task", "ns per task", {"tokio": 0.35})

# sleepers: bytes_per_task = (peak_rss(N) - peak_rss(0)) / N, per round, median.
labels = [l for (b, l) in by if b == "sleepers"]
if labels:
    st = {}
    for l in labels:
        rs = by[("sleepers", l)]
        zero = {r["round"]: r for r in rs if r.get("tasks") == 0}
        full = [r for r in rs if r.get("tasks") == big_n]
        bpt = [(r["peak_rss_bytes"] - zero[r["round"]]["peak_rss_bytes"]) / big_n
               for r in full if r["round"] in zero and big_n]
        st[l] = dict(runs=len(full),
                     wall=med([r.get("wall_s") for r in full]),
                     rss=med([r.get("peak_rss_bytes") for r in full]),
                     rss0=med([r.get("peak_rss_bytes") for r in zero.values()]),
                     bpt=med(bpt),
                     minflt=med([r.get("minflt") for r in full]))
        if st[l]["minflt"] is not None:
            st[l]["minflt"] = round(st[l]["minflt"])
    def cmp(j, l):
        if j not in st or st[j]["runs"] == 0:
            return "–"
        return (f"wall {fr(ratio(st[j]['wall'], st[l]['wall']))}, "
                f"B/task {fr(ratio(st[j]['bpt'], st[l]['bpt']))}")
    def target(l):
        s = st[l]
        if l == "juggle-shared":
            t = st.get("tokio", {}).get("bpt")
            ok = None if s["wall"] is None or s["bpt"] is None or t is None \
                else s["wall"] <= 2.5 and s["bpt"] <= 0.5 * t
            return "wall ≤ 2.5 s, B/task ≤ 0.5× tokio" + verdict(ok)
        if l == "juggle-private":
            g = st.get("go", {}).get("wall")
            ok = None if s["wall"] is None or s["bpt"] is None or g is None \
                else s["wall"] <= g and s["bpt"] <= KIB45
            return "wall ≤ go, B/task ≤ 4.5 KiB (4608)" + verdict(ok)
        return ""
    print(f"\n### sleepers  (N = {big_n:,} tasks sleeping 2 s; medians; "
          "B/task = (peak RSS(N) − peak RSS(0)) / N)\n")
    print("| impl | runs | wall s | peak RSS MiB | RSS(0) MiB | bytes/task | minflt "
          "| juggle-shared/peer | juggle-private/peer | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    mib = lambda x: None if x is None else x / 2**20
    for l in labels:
        s = st[l]
        print(f"| {l} | {s['runs']} | {fmt(s['wall'], 3)} | {fmt(mib(s['rss']), 1)} "
              f"| {fmt(mib(s['rss0']), 1)} | {fmt(s['bpt'], 0)} | {fmt(s['minflt'])} "
              f"| {cmp('juggle-shared', l)} | {cmp('juggle-private', l)} | {target(l)} |")
PYEOF

echo
echo "raw results: $RESULTS"
