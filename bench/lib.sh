# shellcheck shell=bash
# Helpers shared by the benchmark scripts (core.sh, forkjoin.sh, exec.sh,
# http.sh), which source this file after `set -euo pipefail`. Sets ROOT (the
# repository) and PY; the functions read the scripts' own variables: BENCHES,
# PEERS, BUILD, RESULTS, RUN_TIMEOUT and SKIP_FAILED_JUGGLE.

# shellcheck disable=SC2034 # ROOT, PY and HAVE_JUGGLE are the scripts'
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034
PY=/usr/bin/python3 # Debian's optimised build, not whatever is first on PATH

log() { printf '%s\n' "$*" >&2; }
want_bench() { [[ " $BENCHES " == *" $1 "* ]]; }
want_peer() { [[ " $PEERS " == *" $1 "* ]]; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# install_missing PKG...: apt-get update, then apt-get install those PKGs that
# are not installed yet (nothing at all when every one is), as root or through
# sudo. A PKG written cmd:NAME is the package NAME, wanted only when no
# command NAME is on PATH (cargo: a rustup toolchain will do).
install_missing() {
    local need=() p
    for p in "$@"; do
        if [[ $p == cmd:* ]]; then
            command -v "${p#cmd:}" >/dev/null 2>&1 || need+=("${p#cmd:}")
        else
            have_pkg "$p" || need+=("$p")
        fi
    done
    if ((${#need[@]})); then
        log "== installing: ${need[*]}"
        local sudo=
        [[ $(id -u) -eq 0 ]] || sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}" >&2
    fi
}

# build_dir WHAT: create BUILD, make it absolute, and say what goes there.
build_dir() {
    mkdir -p "$BUILD"
    BUILD=$(cd "$BUILD" && pwd)
    log "== building $1 into $BUILD"
}

# go_peer SRC OUT: build the Go module in SRC, offline, into OUT.
go_peer() {
    (cd "$1" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$2" .)
}

# cargo_peer SRC NAME BIN OUT: build the Cargo package in SRC into OUT (its
# binary BIN). Builds a copy, $BUILD/NAME-src, so Cargo.lock and target/ stay
# out of the source tree; Cargo reads .cargo/config.toml (offline, Debian's
# registry) from the working directory, so it runs there.
cargo_peer() {
    local src=$1 copy=$BUILD/$2-src target=$BUILD/$2-target
    mkdir -p "$copy"
    cp -a "$src/Cargo.toml" "$src/src" "$src/.cargo" "$copy/"
    rm -f "$copy/Cargo.lock" # resolve afresh against Debian's registry
    (cd "$copy" && cargo build --release --quiet --target-dir "$target")
    cp "$target/release/$3" "$4"
}

# find_juggle EXE NOTE: HAVE_JUGGLE=1 when EXE is executable; else 0, and
# NOTE is logged.
find_juggle() {
    HAVE_JUGGLE=1
    if [[ ! -x $1 ]]; then
        log "$2"
        # shellcheck disable=SC2034
        HAVE_JUGGLE=0
    fi
}

# note_load: other work on these 2 vCPUs skews everything: say so before
# starting.
note_load() {
    local load1
    read -r load1 _ </proc/loadavg
    if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
        log "== note: load average $load1 before starting: other work is running, figures will be noisy"
    fi
}

# start_results NAME: RESULTS defaults to $BUILD/NAME-<time>.jsonl; empty it.
# Also sets ERR, where run_one keeps a run's stderr.
start_results() {
    RESULTS=${RESULTS:-$BUILD/$1-$(date +%Y%m%d-%H%M%S).jsonl}
    : >"$RESULTS"
    ERR=$BUILD/last-stderr
}

declare -A DEAD=() # juggle commands that failed once: not retried

# run_one LABEL ROUND CMD...: run once (killed after RUN_TIMEOUT seconds), keep
# the last JSON line it prints and append it to the results file with "label"
# and "round" added in front. With SKIP_FAILED_JUGGLE=1 a failing juggle
# command is noted once and skipped in later rounds; otherwise every failure
# is a warning with the command's whole stderr.
run_one() {
    local label=$1 round=$2 out line key skip=0
    shift 2
    key="$label $*"
    [[ -n ${DEAD[$key]:-} ]] && return 0
    [[ ${SKIP_FAILED_JUGGLE:-0} == 1 && $label == juggle* ]] && skip=1
    if ! out=$(timeout "$RUN_TIMEOUT" "$@" 2>"$ERR"); then
        if ((skip)); then
            log "  [note] juggle failed, its rows are skipped: $*"
            sed -n '1,3s/^/    /p' "$ERR" >&2
            DEAD[$key]=1
        else
            log "  [warn] $label failed: $*"
            sed 's/^/    /' "$ERR" >&2
        fi
        return 0
    fi
    line=$(printf '%s\n' "$out" | grep '^[[:space:]]*{' | tail -n 1 || true)
    if [[ -z $line ]]; then
        if ((skip)); then
            log "  [note] juggle printed no JSON, its rows are skipped: $*"
            DEAD[$key]=1
        else
            log "  [warn] $label printed no JSON: $*"
        fi
        return 0
    fi
    line=${line#"${line%%\{*}"} # strip leading blanks
    printf '{"label":"%s","round":%d,%s\n' "$label" "$round" "${line#\{}" >>"$RESULTS"
    log "  $label: $line"
}
