#!/usr/bin/env bash
# HTTP benchmark: juggle's examples/http_server against five peer servers
# (plain epoll in C, libuv, nginx, Tokio current_thread, Go net/http), all
# answering GET / with "Hello, World!" on keep-alive HTTP/1.1 connections.
#
# Installs what it needs with apt-get (idempotently), builds the peers from
# bench/peers/http into a build dir, and then, for ROUNDS rounds, for each
# server in turn: starts it pinned to CPU 0, waits until it answers three
# pipelined requests, runs wrk pinned to CPU 1 once per connection count
# (a short unrecorded warm-up first), and stops it. For each run it records
# requests/s, latency percentiles, and the server's own CPU time (utime+stime
# from /proc of the server and its children, before and after the run) per
# request (split into user and system time), the busy share of both vCPUs,
# wrk's own CPU time, and what neither used ("other_share": other work on the
# machine; the report lists runs above 5% as disturbed). Prints one Markdown
# table per connection count with medians, juggle's ratios against the best
# peer and the plain epoll server, and juggle's targets. Raw JSON lines go to
# a results file.
#
# juggle's server is started as `JUGGLE_HTTP --port PORT --workers 1`, once
# per poller in POLLERS with JG_POLLER=<poller> in its environment; its
# rows are skipped (with a note) when the executable is missing.
#
# Only 127.0.0.1 is ever a target, and every wrk run is bounded by -d and by
# `timeout`.
#
# Environment:
#   ROUNDS=1                 rounds (median over these); each server per round
#   DURATION=10s             wrk -d of each recorded run (wrk syntax: 10s, 1m)
#   WARMUP=2s                unrecorded wrk run before each recorded one (0: none)
#   CONNS="100 1000"         connection counts (wrk -c), one table each
#   WRK_THREADS=1            wrk -t
#   WRK_TIMEOUT=5s           wrk --timeout (slower responses count as timeouts)
#   PEERS="epoll libuv nginx tokio go"   which peers to run
#   POLLERS="epoll uring"    JG_POLLER values, one juggle row each
#   JUGGLE_HTTP=build/examples/http_server   juggle's HTTP server executable
#   PEERS_BUILD_DIR=build/peers                where the peers are built
#   RESULTS=<build dir>/http-<time>.jsonl      raw results file
#   PORT=18080               first port; each server gets its own port above it
#   SERVER_CPU=0 CLIENT_CPU=1   CPUs for taskset
#   START_TIMEOUT=15         seconds a server has to start answering
#   NOFILE=65536             fd limit asked for (ulimit -n); needs > max CONNS
#   SKIP_INSTALL=1           do not call apt-get
#   REPORT_ONLY=FILE         only print the tables from an earlier results file
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # ROOT, PY, log, run_one, ...
PEERS_SRC=$ROOT/bench/peers/http
BUILD=${PEERS_BUILD_DIR:-$ROOT/build/peers}
JUGGLE_HTTP=${JUGGLE_HTTP:-$ROOT/build/examples/http_server}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-100 1000}
WRK_THREADS=${WRK_THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
PEERS=${PEERS:-epoll libuv nginx tokio go}
POLLERS=${POLLERS:-epoll uring}
PORT=${PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
START_TIMEOUT=${START_TIMEOUT:-15}
NOFILE=${NOFILE:-65536}

# seconds DUR: a wrk duration (10, 10s, 2m, 1h) in whole seconds, rounded up.
seconds() {
    local d=$1 n mult=1
    case $d in
    *h) n=${d%h} mult=3600 ;;
    *m) n=${d%m} mult=60 ;;
    *s) n=${d%s} ;;
    *) n=$d ;;
    esac
    awk -v n="$n" -v m="$mult" 'BEGIN { s = n * m; printf "%d\n", (s == int(s)) ? s : int(s) + 1 }'
}
WARMUP_S=$(seconds "$WARMUP")

# --- report (defined here, run at the end) ------------------------------------
# report RESULTS HAVE_JUGGLE [CONNS]: the Markdown tables from a results file,
# one per connection count in CONNS (default: every count in the file).
report() {
"$PY" - "$1" "$2" "$JUGGLE_HTTP" "${3:-}" <<'PYEOF'
import json, statistics, sys
from collections import defaultdict

path, have_juggle, juggle_path, conns = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
NAMES = {"epoll": "plain epoll (C)", "libuv": "libuv", "nginx": "nginx (1 worker)",
         "tokio": "Tokio current_thread", "go": "Go net/http, GOMAXPROCS=1"}
CPU_TARGET = 0.9      # juggle CPU/request ≤ 0.9× the plain epoll server's
DISTURBED = 0.05     # other_share above this marks a run as disturbed
CLIENT_LIMIT = 100e3  # one wrk thread on one vCPU saturates near 115-125k req/s

rows = [json.loads(l) for l in open(path) if l.strip()]
by = defaultdict(list)
for r in rows:
    by[(r["conns"], r["label"])].append(r)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def ratio(a, b):
    return a / b if a is not None and b else None

def fr(x):
    return "–" if x is None else f"{x:.2f}×"

def ms(us):
    return "–" if us is None else f"{us / 1000:.2f}"

def busy(x):
    return "–" if x is None else f"{x * 100:.0f}%"

def verdict(ok):
    return "" if ok is None else (" **met**" if ok else " **missed**")

for c in [int(x) for x in conns.split()] or sorted({r["conns"] for r in rows}):
    labels = [l for (cc, l) in by if cc == c]  # run order: juggle first
    if not labels:
        continue
    m = {}
    for l in labels:
        allrs = by[(c, l)]
        # Medians over the undisturbed runs when there are any.
        rs = [r for r in allrs if r.get("other_share", 0) <= DISTURBED] or allrs
        errs = sum(r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"]
                   + r["err_timeout"] for r in rs)
        m[l] = dict(runs=f"{len(rs)}/{len(allrs)}", rps=med([r["rps"] for r in rs]),
                    p50=med([r["p50_us"] for r in rs]), p99=med([r["p99_us"] for r in rs]),
                    cpu=med([r["cpu_us_per_req"] for r in rs]),
                    sys=med([r["server_sys_s"] / r["server_cpu_s"] for r in rs
                             if r.get("server_cpu_s")]),
                    rss=med([r["server_rss_kib"] for r in rs]), errs=errs,
                    sbusy=med([r.get("server_vcpu_busy") for r in rs]),
                    cbusy=med([r.get("client_vcpu_busy") for r in rs]))
    peers = [l for l in labels if not l.startswith("juggle")]
    best_rps = max(peers, key=lambda l: m[l]["rps"]) if peers else None
    best_p99 = min(peers, key=lambda l: m[l]["p99"]) if peers else None
    base_cpu = m["epoll"]["cpu"] if "epoll" in m else None
    print(f"\n### HTTP GET /, wrk -c{c}  (medians of the runs used: undisturbed ones "
          f"where there are any; server on 1 vCPU, wrk on the other)\n")
    print("| server | runs used | req/s | p50 ms | p99 ms | server CPU µs/req | RSS MiB | errors "
          "| vCPU busy srv/cli | req/s ÷ best peer | CPU/req ÷ epoll | p99 ÷ best peer | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for l in labels:
        s = m[l]
        rr = ratio(s["rps"], m[best_rps]["rps"]) if best_rps else None
        rc = ratio(s["cpu"], base_cpu)
        rp = ratio(s["p99"], m[best_p99]["p99"]) if best_p99 else None
        tgt = ""
        if l.startswith("juggle"):
            tgt = ("req/s ≥ best peer" + verdict(None if rr is None else rr >= 1.0)
                   + "; CPU ≤ 0.9× epoll" + verdict(None if rc is None else rc <= CPU_TARGET)
                   + "; p99 ≤ best peer" + verdict(None if rp is None else rp <= 1.0))
        print(f"| {NAMES.get(l, l)} | {s['runs']} | {s['rps']:,.0f} | {ms(s['p50'])} "
              f"| {ms(s['p99'])} | {s['cpu']:.2f} ({busy(s['sys'])} sys) | {s['rss'] / 1024:.1f} | {s['errs']} "
              f"| {busy(s['sbusy'])}/{busy(s['cbusy'])} "
              f"| {fr(rr)} | {fr(rc)} | {fr(rp)} | {tgt} |")
    notes = []
    if best_rps:
        notes.append(f"best peer by req/s: {NAMES.get(best_rps, best_rps)}; "
                     f"by p99: {NAMES.get(best_p99, best_p99)}")
    if not have_juggle:
        notes.append(f"juggle: no server at {juggle_path}; its rows are skipped")
    if best_rps and m[best_rps]["rps"] >= CLIENT_LIMIT:
        notes.append("one wrk thread saturates its vCPU near 115-125k req/s: past that, "
                     "req/s measures the client; compare CPU/request and latency")
    notes.append("vCPU busy: share of each vCPU (server's, wrk's) in use during the run, "
                 "from /proc/stat; the server's vCPU well under 100% with req/s low means "
                 "the client side was the limit (or other work shared the machine)")
    disturbed = [f"{r['label']} r{r['round']} ({r['other_share'] * 100:.0f}%)"
                 for l in labels for r in by[(c, l)] if r.get("other_share", 0) > DISTURBED]
    if disturbed:
        notes.append(f"**disturbed runs** (other work took > {DISTURBED * 100:.0f}% of the "
                     f"two vCPUs; left out of the medians where a server has undisturbed runs): {', '.join(disturbed)}")
    for n in notes:
        print(f"\n_{n}._")
PYEOF
}
if [[ -n ${REPORT_ONLY:-} ]]; then
    have=0
    grep -q '"label":"juggle' "$REPORT_ONLY" && have=1
    report "$REPORT_ONLY" "$have"
    exit 0
fi

# --- (a) install --------------------------------------------------------------
install_deps() {
    # librust-tokio-dev provides the net, io-util, rt and macros features.
    install_missing wrk nginx libuv1-dev golang-go librust-tokio-dev gcc python3 procps cmd:cargo
}
[[ ${SKIP_INSTALL:-0} == 1 ]] || install_deps

# --- (b) build ----------------------------------------------------------------
build_dir "HTTP peers"
CC=${CC:-cc}
if want_peer epoll; then
    $CC -O2 -std=c11 -Wall -Wextra -o "$BUILD/http-epoll" "$PEERS_SRC/epoll_server.c"
fi
if want_peer libuv; then
    $CC -O2 -std=c11 -Wall -Wextra -o "$BUILD/http-libuv" "$PEERS_SRC/libuv_server.c" -luv
fi
want_peer go && go_peer "$PEERS_SRC/go" "$BUILD/go-http-peer"
want_peer tokio && cargo_peer "$PEERS_SRC/tokio" tokio-http tokio-http-peer "$BUILD/tokio-http-peer"
NGINX_DIR=
if want_peer nginx; then
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    NGINX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/juggle-nginx.XXXXXX")
    mkdir -p "$NGINX_DIR/tmp"
fi

find_juggle "$JUGGLE_HTTP" "== juggle's HTTP server not found at $JUGGLE_HTTP: juggle rows skipped"

# --- (c) servers --------------------------------------------------------------
# Each entry is "label|command"; %PORT% is replaced by the server's port.
declare -a SERVERS=()
if ((HAVE_JUGGLE)); then
    for p in $POLLERS; do
        SERVERS+=("juggle-$p|env JG_POLLER=$p $JUGGLE_HTTP --port %PORT% --workers 1")
    done
fi
want_peer epoll && SERVERS+=("epoll|$BUILD/http-epoll --port %PORT%")
want_peer libuv && SERVERS+=("libuv|$BUILD/http-libuv --port %PORT%")
want_peer nginx && SERVERS+=("nginx|$NGINX -p $NGINX_DIR/ -e $NGINX_DIR/error.log -c $NGINX_DIR/nginx-%PORT%.conf")
want_peer tokio && SERVERS+=("tokio|$BUILD/tokio-http-peer --port %PORT%")
want_peer go && SERVERS+=("go|env GOMAXPROCS=1 $BUILD/go-http-peer --port %PORT%")
if ((${#SERVERS[@]} == 0)); then
    log "nothing to run"
    exit 1
fi

max_conns=0
for c in $CONNS; do ((c > max_conns)) && max_conns=$c; done
ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < max_conns + 64)); then
    log "  [warn] fd limit $(ulimit -n) is too low for -c$max_conns"
fi
log "== fd limit $(ulimit -n), somaxconn $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo ?)"

SERVER_PID=""
WRK_PID=""
stop_server() {
    local pid=$SERVER_PID i
    [[ -n $pid ]] || return 0
    SERVER_PID=
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    [[ -z $WRK_PID ]] || kill -TERM "$WRK_PID" 2>/dev/null || true
    stop_server
    [[ -z $NGINX_DIR ]] || rm -rf "$NGINX_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# probe PORT: 0 when three pipelined GET / come back as 200 "Hello, World!",
# 2 when nothing listens yet, 1 on a wrong answer.
probe() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys, time
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
except OSError:
    sys.exit(2)
req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
data, deadline = b"", time.time() + 3
try:
    s.sendall(req * 3)
    while data.count(b"Hello, World!") < 3 and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError as e:
    print(f"probe: {e}", file=sys.stderr)
heads = [h for h in data.split(b"Hello, World!") if h.strip()]
ok = len(heads) == 3 and all(
    h.startswith(b"HTTP/1.1 200") and b"content-length: 13\r\n" in h.lower()
    for h in heads)
if not ok:
    print(f"probe: unexpected answer: {data[:400]!r}", file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
}

# start_server LABEL PORT CMD: start pinned to SERVER_CPU, wait until it
# answers. Sets SERVER_PID; returns 1 (server stopped) when it never does.
start_server() {
    local label=$1 port=$2 cmd=$3 i rc
    if [[ $label == nginx ]]; then
        sed "s/@PORT@/$port/" "$PEERS_SRC/nginx.conf.in" >"$NGINX_DIR/nginx-$port.conf"
    fi
    # taskset and env exec the server, so $! is the server's own pid.
    # shellcheck disable=SC2086 # commands are split on purpose
    taskset -c "$SERVER_CPU" ${cmd//%PORT%/$port} >"$BUILD/http-$label.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "  [warn] $label exited at start; its log:"
            sed 's/^/    /' "$BUILD/http-$label.log" >&2
            SERVER_PID=
            return 1
        fi
        rc=0
        probe "$port" 2>"$BUILD/http-probe.err" || rc=$?
        ((rc == 0)) && return 0
        if ((rc == 1)); then
            log "  [warn] $label answered wrongly:"
            sed 's/^/    /' "$BUILD/http-probe.err" >&2
            stop_server
            return 1
        fi
        sleep 0.1
    done
    log "  [warn] $label did not accept within ${START_TIMEOUT}s"
    stop_server
    return 1
}

# tree_stat PID: "UTIME STIME RSS_KIB" (ticks, ticks, KiB) summed over PID
# and its descendants (nginx's worker is the master's child).
tree_stat() {
    local pids=("$1") i=0 p c line ut=0 st=0 rss=0 kib
    while ((i < ${#pids[@]})); do
        p=${pids[i]}
        i=$((i + 1))
        for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do pids+=("$c"); done
        read -r line 2>/dev/null </proc/"$p"/stat || continue
        # shellcheck disable=SC2086 # fields after "(comm) "
        set -- ${line##*) }
        ut=$((ut + ${12}))
        st=$((st + ${13}))
        kib=$(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null || true)
        rss=$((rss + ${kib:-0}))
    done
    echo "$ut $st $rss"
}
HZ=$(getconf CLK_TCK)

# cpu_busy CPU: "BUSY TOTAL" jiffies of that CPU from /proc/stat (busy is all
# but idle and iowait). Shows whether other work shared the vCPUs in a run.
cpu_busy() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
# children_cpu: sets CHILD_CPU to the CPU seconds used so far by this shell's
# waited-for children (wrk, through timeout and taskset), from the `times`
# builtin. Call it plainly: in $(...) or <(...) a subshell would answer.
children_cpu() {
    times >"$BUILD/http-times"
    CHILD_CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; print t }' "$BUILD/http-times")
}

# wrk_run CONNS DURATION PORT OUT: one bounded wrk run; its output to OUT.
# Run in the background and waited for, so that a signal stops it at once.
wrk_run() {
    local conns=$1 dur=$2 port=$3 out=$4 rc=0
    timeout -k 5 $(($(seconds "$dur") + 30)) \
        taskset -c "$CLIENT_CPU" wrk -t"$WRK_THREADS" -c"$conns" -d"$dur" \
        --timeout "$WRK_TIMEOUT" --latency -s "$PEERS_SRC/wrk_report.lua" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    return "$rc"
}

# --- (d) run ------------------------------------------------------------------
start_results http
WRK_OUT=$BUILD/http-last-wrk.txt

log "== HTTP: ${#SERVERS[@]} servers × CONNS=($CONNS) × $ROUNDS rounds, ${DURATION} each" \
    "(+${WARMUP} warm-up), server on CPU $SERVER_CPU, wrk -t$WRK_THREADS on CPU $CLIENT_CPU"
for ((r = 1; r <= ROUNDS; r++)); do
    idx=0
    for entry in "${SERVERS[@]}"; do
        label=${entry%%|*}
        cmd=${entry#*|}
        port=$((PORT + idx))
        idx=$((idx + 1))
        start_server "$label" "$port" "$cmd" || continue
        for c in $CONNS; do
            if ((WARMUP_S > 0)); then
                wrk_run "$c" "$WARMUP" "$port" "$WRK_OUT" || true
            fi
            read -r u0 s0 _ < <(tree_stat "$SERVER_PID")
            read -r sb0 st0 < <(cpu_busy "$SERVER_CPU")
            read -r cb0 ct0 < <(cpu_busy "$CLIENT_CPU")
            children_cpu
            w0=$CHILD_CPU
            if ! wrk_run "$c" "$DURATION" "$port" "$WRK_OUT"; then
                log "  [warn] $label -c$c: wrk failed:"
                sed 's/^/    /' "$WRK_OUT" >&2
                continue
            fi
            children_cpu
            w1=$CHILD_CPU
            read -r u1 s1 rss < <(tree_stat "$SERVER_PID")
            read -r sb1 st1 < <(cpu_busy "$SERVER_CPU")
            read -r cb1 ct1 < <(cpu_busy "$CLIENT_CPU")
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                log "  [warn] $label died during -c$c"
                break
            fi
            line=$(grep '^{' "$WRK_OUT" | tail -n 1 || true)
            if [[ -z $line ]]; then
                log "  [warn] $label -c$c: no JSON from wrk:"
                sed 's/^/    /' "$WRK_OUT" >&2
                continue
            fi
            req=${line#*\"requests\":}
            req=${req%%,*}
            cpu=$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" -v n="$req" 'BEGIN {
                t = (u + s) / hz
                printf "\"server_cpu_s\":%.2f,\"server_user_s\":%.2f,\"server_sys_s\":%.2f,\"cpu_us_per_req\":%.3f",
                    t, u / hz, s / hz, n ? t * 1e6 / n : 0 }')
            # other_cpu_s: busy time of both vCPUs not spent in the server or
            # wrk (other work on the machine, plus a little unattributed
            # kernel time); a large share marks a disturbed run.
            busy=$(awk -v sb=$((sb1 - sb0)) -v st=$((st1 - st0)) -v cb=$((cb1 - cb0)) -v ct=$((ct1 - ct0)) \
                -v srv=$(((u1 - u0) + (s1 - s0))) -v w0="$w0" -v w1="$w1" -v hz="$HZ" \
                -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
                other = (sb + cb - srv) / hz - (w1 - w0)
                printf "\"server_vcpu_busy\":%.2f,\"client_vcpu_busy\":%.2f,\"wrk_cpu_s\":%.2f,", \
                    st ? sb / st : 0, ct ? cb / ct : 0, w1 - w0
                printf "\"other_cpu_s\":%.2f,\"other_share\":%.3f,\"load1\":%s", \
                    other, (st + ct) ? other * hz / (st + ct) : 0, load }')
            printf '{"label":"%s","round":%d,"conns":%d,"threads":%d,"duration":"%s",%s,"server_rss_kib":%d,%s,%s\n' \
                "$label" "$r" "$c" "$WRK_THREADS" "$DURATION" "$cpu" "$rss" "$busy" "${line#\{}" >>"$RESULTS"
            log "  r$r $label -c$c: $(tail -n 1 "$RESULTS")"
            sleep 1 # let the server finish closing the connections
        done
        stop_server
    done
done

# --- (e) report ---------------------------------------------------------------
report "$RESULTS" "$HAVE_JUGGLE" "$CONNS"

echo
echo "raw results: $RESULTS"
