#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests of `juggle`, the lab: usage errors exit 2 with a message, --help
# works everywhere, every model computes the right result on io, cpu and
# mixed work, in one round or several (--rounds), JSON and CSV have the
# documented keys, the SVGs are well-formed XML with one timeline row per
# worker, traces are valid JSON whose B/E pairs nest per row, rounds show
# as turns in the traces, and the GIL hands over between threads without
# ever letting two compute at once. Sizes are small and nothing is timed.
#
# Usage: test_cli.sh PATH/TO/juggle [PART]   (PART: a function name below)
set -uo pipefail
J=${1:?usage: test_cli.sh PATH/TO/juggle}
only=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect_exit CODE CMD...: run, compare the exit status; keep stdout/stderr.
expect_exit() {
    local want=$1
    shift
    checks=$((checks + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "exit $got (want $want): $*"
        sed 's/^/    stderr: /' "$tmp/err" | head -5
    fi
}

usage_errors() {
    local bad=(
        ""
        "bogus"
        "run"
        "run --model nope"
        "run --model serial --workload disk"
        "run --model serial --tasks 0"
        "run --model serial --tasks abc"
        "run --model serial --sleep -1"
        "run --model serial --fib 99"
        "run --model serial --rounds 0"
        "run --model serial --rounds -1"
        "run --model serial --rounds abc"
        "run --model serial --rounds 2x"
        "run --model serial --rounds 1001"
        "run --model serial --rounds"
        "compare --rounds 0"
        "sweep --model async --rounds nope"
        "tour --rounds 0"
        "tour --rounds many"
        "run --model hybrid --gil"
        "run --model serial --frobnicate"
        "run --model serial extra"
        "run --model serial --tasks"
        "run --model serial -o x.svg"
        "compare --model serial"
        "compare --trace x.json"
        "compare --json --csv"
        "run --model serial --csv --json"
        "sweep"
        "sweep --model async --workers 4,2"
        "sweep --model async --workers 1,x"
        "sweep --model async --workers 1,2 --tasks 1,2"
        "demo"
        "demo fibers"
        "demo async extra"
        "timeline"
        "timeline a.json b.json"
        "timeline --frob a.json"
        "tour --frob"
    )
    # Numbers too small for a double are as good as 0, not out of range;
    # too large ones are.
    expect_exit 0 "$J" run --model serial --tasks 1 --sleep 1e-400
    expect_exit 2 "$J" run --model serial --tasks 1 --sleep 1e400
    # An option that does not apply is named, not its value.
    local opt
    for opt in "compare --trace x.json:--trace" "compare -m serial:--model" \
        "run --model serial -o x.svg:--output" "compare --gil:--gil"; do
        # shellcheck disable=SC2086
        expect_exit 2 "$J" ${opt%:*}
        grep -q "^juggle: [a-z]*: option '${opt##*:}' does not apply here" \
            "$tmp/err" || fail "${opt%:*}: $(head -1 "$tmp/err")"
    done
    for args in "${bad[@]}"; do
        # shellcheck disable=SC2086
        expect_exit 2 "$J" $args
        if ! grep -q '^juggle: \|^Usage: juggle' "$tmp/err"; then
            fail "no message on stderr for: juggle $args"
        fi
        if [ -s "$tmp/out" ]; then
            fail "stdout not empty for: juggle $args"
        fi
    done
}

helps() {
    for c in "" run compare sweep demo timeline tour; do
        # shellcheck disable=SC2086
        expect_exit 0 "$J" $c --help
        grep -q '^Usage: juggle' "$tmp/out" || fail "no usage text: $c --help"
    done
}

runtime_errors() {
    expect_exit 1 "$J" timeline "$tmp/missing.json"
    grep -q "^juggle: $tmp/missing.json: " "$tmp/err" || fail "timeline: message"
    echo '[{"ph":"B","pid":1,"tid":1,"ts":0,"name":"x"}' >"$tmp/cut.json"
    expect_exit 1 "$J" timeline "$tmp/cut.json"
    grep -q 'line [0-9]*: unexpected end of file' "$tmp/err" || fail "timeline: no line in the message"
    echo '[{"ph":"E","pid":1,"tid":1,"ts":5}]' >"$tmp/e.json"
    expect_exit 1 "$J" timeline "$tmp/e.json"
    expect_exit 1 "$J" run --model async --sleep 0 --tasks 2 \
        --trace "$tmp/no/such/dir/t.json"
    # Output files that cannot be written are found before the run: no
    # table on stdout, the path in the message, and no file left behind
    # by the look.
    expect_exit 1 "$J" run --model async --sleep 1 --tasks 2 \
        --trace "$tmp/no/such/dir/t.json"
    [ -s "$tmp/out" ] && fail "run: a table before the unwritable --trace"
    grep -q "^juggle: $tmp/no/such/dir/t.json: " "$tmp/err" ||
        fail "run --trace: $(head -1 "$tmp/err")"
    expect_exit 1 "$J" sweep --model async --sleep 1 --tasks 2 \
        -o "$tmp/no/such/dir/s.svg"
    [ -s "$tmp/out" ] && fail "sweep: a table before the unwritable -o"
    expect_exit 0 "$J" run --model async --sleep 0 --tasks 1 \
        --trace "$tmp/fresh.json"
    [ -s "$tmp/fresh.json" ] || fail "run --trace: the trace was not written"
}

# check_json FILE ROWS [speedup]: an array of ROWS objects with the keys,
# every result ok, completed == tasks and the sum as expected.
check_json() {
    checks=$((checks + 1))
    python3 - "$@" <<'PY' || fail "JSON check: $*"
import json, sys
path, rows = sys.argv[1], int(sys.argv[2])
want = {"model", "workload", "tasks", "workers", "wall_s", "cpu_s",
        "peak_rss_bytes", "completed", "sum", "expected_sum", "ok"}
if len(sys.argv) > 3:
    want.add("speedup")
data = json.load(open(path))
assert isinstance(data, list) and len(data) == rows, (len(data), rows)
for r in data:
    missing = want - set(r)
    assert not missing, missing
    assert r["ok"] is True, r
    assert r["completed"] == r["tasks"], r
    assert r["sum"] == r["expected_sum"], r
    assert r["wall_s"] >= 0 and r["cpu_s"] >= 0 and r["peak_rss_bytes"] > 0
    if "speedup" in want:
        assert r["speedup"] > 0, r
PY
}

models() {
    local fib=20
    for wl in io cpu mixed; do
        for m in serial async threads processes hybrid forkjoin; do
            expect_exit 0 "$J" run --model "$m" --workload "$wl" --tasks 5 \
                --workers 2 --sleep 0.01 --fib $fib --json
            cp "$tmp/out" "$tmp/run.json"
            check_json "$tmp/run.json" 1
            python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["model"] == sys.argv[2] and r["workload"] == sys.argv[3], r
if sys.argv[3] != "io":
    assert r["sum"] == 5 * 6765, r     # fib(20) = 6765
' "$tmp/run.json" "$m" "$wl" || fail "run $m $wl: wrong result"
        done
        expect_exit 0 "$J" run --model threads --gil --workload "$wl" \
            --tasks 3 --sleep 0.01 --fib $fib --json
        cp "$tmp/out" "$tmp/gil.json"
        check_json "$tmp/gil.json" 1
    done
    # Rounds: the same exact result on every model, whether fib(20) is
    # split in a few parts a round, or rounds outnumber the parts there
    # are (fib(3): most rounds only wait).
    local r
    for r in "3 20" "7 20" "50 3"; do
        set -- $r
        for m in serial async threads processes hybrid forkjoin gil; do
            local model=$m gil=()
            if [ "$m" = gil ]; then
                model=threads gil=(--gil)
            fi
            expect_exit 0 "$J" run --model "$model" "${gil[@]}" \
                --workload mixed --tasks 5 --workers 2 --sleep 0.01 \
                --fib "$2" --rounds "$1" --json
            cp "$tmp/out" "$tmp/rounds.json"
            check_json "$tmp/rounds.json" 1
            python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))[0]
fib = {20: 6765, 3: 2}[int(sys.argv[3])]
assert r["rounds"] == int(sys.argv[2]), r
assert r["sum"] == 5 * fib and r["expected_sum"] == 5 * fib, r
' "$tmp/rounds.json" "$1" "$2" || fail "run $m --rounds $1 --fib $2"
        done
    done
    expect_exit 0 "$J" run --model hybrid --workload cpu --tasks 3 --fib 25 \
        --rounds 1000 --csv
    grep -q '^hybrid,0,cpu,3,[0-9]*,[0-9.]*,25,1000,.*,225075,225075,1$' \
        "$tmp/out" || fail "run --rounds 1000: $(tail -1 "$tmp/out")"
    # Default workers and a table.
    expect_exit 0 "$J" run --model hybrid --workload cpu --tasks 3 --fib 15
    grep -q 'ok sum 1830' "$tmp/out" || fail "run table: no check column"
}

compare_sweep() {
    expect_exit 0 "$J" compare --workload io --tasks 3 --sleep 0.01 --json
    cp "$tmp/out" "$tmp/cmp.json"
    check_json "$tmp/cmp.json" 7 speedup
    expect_exit 0 "$J" compare --workload cpu --tasks 3 --fib 18 --csv
    head -1 "$tmp/out" | grep -q '^model,.*workload,tasks,workers,.*wall_s,cpu_s,.*peak_rss_bytes,.*speedup$' \
        || fail "compare csv header: $(head -1 "$tmp/out")"
    [ "$(wc -l <"$tmp/out")" = 8 ] || fail "compare csv: not 7 rows"
    expect_exit 0 "$J" compare --workload mixed --tasks 3 --sleep 0.01 --fib 18
    grep -q '^Mixed: ' "$tmp/out" || fail "compare: no sentences"
    # Short waits read in milliseconds, never as "0.00 s".
    expect_exit 0 "$J" compare --workload io --tasks 3 --sleep 0.002
    grep -q 'waits 2.00 ms' "$tmp/out" || fail "compare: 2 ms wait not in ms"
    if grep -q '0\.00 s' "$tmp/out"; then
        fail "compare: a time printed as 0.00 s"
    fi
    expect_exit 0 "$J" sweep --model hybrid --workload cpu --tasks 4 \
        --fib 18 --workers 1,2,3 --json -o "$tmp/sweep.svg"
    cp "$tmp/out" "$tmp/sweep.json"
    check_json "$tmp/sweep.json" 3 speedup
    checks=$((checks + 1))
    xmllint --noout "$tmp/sweep.svg" || fail "sweep svg: not XML"
    expect_exit 0 "$J" sweep --model async --workload io --sleep 0.01 \
        --tasks 1,2,4 --csv -o "$tmp/sweep2.svg"
    [ "$(wc -l <"$tmp/out")" = 4 ] || fail "sweep csv: not 3 rows"
    xmllint --noout "$tmp/sweep2.svg" || fail "sweep svg 2: not XML"
}

# check_trace TRACE SVG [WORKERS]: the trace is JSON, B/E nest on every
# row; the SVG is XML with one row per trace row (= WORKERS if given).
check_trace() {
    checks=$((checks + 1))
    python3 - "$@" <<'PY' || fail "trace check: $*"
import json, re, sys
trace, svg = sys.argv[1], sys.argv[2]
events = json.load(open(trace))
if isinstance(events, dict):
    events = events["traceEvents"]
stacks, rows = {}, set()
for e in events:
    key = (e["pid"], e["tid"])
    if e["ph"] == "B":
        stacks.setdefault(key, []).append(e["ts"])
        rows.add(key)
    elif e["ph"] == "E":
        assert stacks.get(key), ("E without B", e)
        assert e["ts"] >= stacks[key].pop(), ("E before B", e)
assert all(not s for s in stacks.values()), "B without E"
assert rows, "no slices"
drawn = len(re.findall(r'class="row"', open(svg).read()))
assert drawn == len(rows), (drawn, len(rows))
if len(sys.argv) > 3:
    assert len(rows) == int(sys.argv[3]), (len(rows), sys.argv[3])
PY
    xmllint --noout "$2" || fail "timeline svg not XML: $2"
}

traces() {
    local m
    for m in serial async threads processes hybrid forkjoin; do
        expect_exit 0 "$J" run --model "$m" --workload mixed --tasks 3 \
            --workers 3 --sleep 0.2 --fib 18 --trace "$tmp/$m.json"
        expect_exit 0 "$J" timeline "$tmp/$m.json" -o "$tmp/$m.svg"
        grep -q "^$tmp/$m.svg: " "$tmp/out" || fail "timeline: summary"
    done
    check_trace "$tmp/serial.json" "$tmp/serial.svg" 1
    check_trace "$tmp/async.json" "$tmp/async.svg" 1
    check_trace "$tmp/threads.json" "$tmp/threads.svg" 3
    check_trace "$tmp/processes.json" "$tmp/processes.svg" 3
    check_trace "$tmp/hybrid.json" "$tmp/hybrid.svg"
    check_trace "$tmp/forkjoin.json" "$tmp/forkjoin.svg"
    # Rounds show as turns: a task runs once before its first wait, then
    # once after each (serial and threads record that by hand, async's
    # runtime by itself), so R rounds make at least R + 1 slices a task.
    for m in serial threads async; do
        expect_exit 0 "$J" run --model "$m" --workload mixed --tasks 3 \
            --workers 3 --sleep 0.03 --fib 18 --rounds 4 \
            --trace "$tmp/r$m.json"
        checks=$((checks + 1))
        python3 - "$tmp/r$m.json" <<'PY' || fail "rounds: $m trace"
import collections, json, sys
ev = json.load(open(sys.argv[1]))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
n = collections.Counter(e["name"] for e in ev
                        if e["ph"] == "B" and e["name"].startswith("task"))
assert sorted(n) == ["task 0", "task 1", "task 2"], n
assert min(n.values()) >= 5, n
PY
    done
    gil_trace 3 22 # Short tasks: whatever the hand-overs, no overlap.
    gil_trace 3 34 turns
    gil_trace 1 30 alone
}

# gil_trace TASKS FIB [turns|alone]: a threads --gil cpu run's trace. One
# thread computes at a time: no two slices overlap, on any rows. A thread
# gives the lock up before the switch interval (5 ms) only when its task
# ends. "turns": the tasks are long enough that they took turns, so there
# are more slices than threads. "alone": with nobody waiting, one thread
# never lets go (one slice a task).
gil_trace() {
    expect_exit 0 "$J" run --model threads --gil --workload cpu \
        --tasks "$1" --fib "$2" --trace "$tmp/gil.json"
    checks=$((checks + 1))
    python3 - "$tmp/gil.json" "$1" "${3:-}" <<'PY' || fail "gil trace: $*"
import json, sys
ev = json.load(open(sys.argv[1]))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
tasks, mode = int(sys.argv[2]), sys.argv[3]
spans, open_, rows = [], {}, set()
for e in ev:
    k = (e["pid"], e["tid"])
    if e["ph"] == "B":
        open_[k] = (e["ts"], e["name"])
        rows.add(k)
    elif e["ph"] == "E":
        b, name = open_.pop(k)
        spans.append((b, e["ts"], name))
spans.sort()
# A thread that starts late may find every task taken: rows <= tasks.
assert 1 <= len(rows) <= tasks, (rows, tasks)
for (b1, e1, _), (b2, e2, _) in zip(spans, spans[1:]):
    assert b2 >= e1 - 0.002, ("overlap", (b1, e1), (b2, e2))
last = {}
for b, e, name in spans:
    last[name] = (b, e)
for b, e, name in spans:
    if (b, e) != last[name]:
        assert e - b >= 5000 - 1, ("let go early", name, b, e)
if mode == "turns":
    assert len(spans) > tasks, ("no turns", len(spans), tasks)
if mode == "alone":
    assert len(spans) == tasks, ("let go alone", spans)
PY
}

demos() {
    expect_exit 0 "$J" demo async
    printf 'Task A started\nTask B started\nTask C started\nTask A finished\nTask B finished\nTask C finished\nAll tasks are done!\n' >"$tmp/want"
    head -7 "$tmp/out" | diff -u "$tmp/want" - || fail "demo async output"
    for d in threads processes; do
        expect_exit 0 "$J" demo "$d"
        printf 'Task A started\nTask B started\n' >"$tmp/want"
        head -2 "$tmp/out" | diff -u "$tmp/want" - || fail "demo $d: start order"
        for line in "Task A started" "Task B started" "Task A finished" \
            "Task B finished"; do
            [ "$(grep -c "^$line\$" "$tmp/out")" = 1 ] ||
                fail "demo $d: '$line' not printed once"
        done
        [ "$(sed -n 5p "$tmp/out")" = "Both tasks are done!" ] ||
            fail "demo $d: last line"
        grep -q '^([0-9.]* s in total)$' "$tmp/out" || fail "demo $d: time"
    done
}

tour() {
    expect_exit 0 "$J" tour --quick -o "$tmp/tour"
    for f in async hybrid; do
        [ -s "$tmp/tour/$f.svg" ] || fail "tour: no $f.svg"
        check_trace "$tmp/tour/$f.json" "$tmp/tour/$f.svg"
        grep -q "^\\$ juggle run --model $f --workload mixed .*--rounds 3 " \
            "$tmp/out" || fail "tour: no command line for $f"
    done
    # The timelines' tasks take turns in 3 rounds: 4 slices each at least.
    checks=$((checks + 1))
    python3 - "$tmp/tour/async.json" <<'PY' || fail "tour: no rounds"
import collections, json, sys
ev = json.load(open(sys.argv[1]))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
n = collections.Counter(e["name"] for e in ev
                        if e["ph"] == "B" and e["name"].startswith("task"))
assert len(n) == 4 and min(n.values()) >= 4, n
PY
    grep -q '^I/O-bound: ' "$tmp/out" || fail "tour: no io comparison"
    grep -q '^CPU-bound: ' "$tmp/out" || fail "tour: no cpu comparison"
}

# bad_numbers: traces with times or ids that are not finite or out of
# range are refused with a message naming the key (they used to make the
# time axis loop forever, writing without end).
bad_numbers() {
    local evs=(
        '"ts":0,"dur":1e999,"pid":1,"tid":1'
        '"ts":1e308,"dur":1e308,"pid":1,"tid":1'
        '"ts":-1e999,"dur":1,"pid":1,"tid":1'
        '"ts":0,"dur":1,"pid":1e300,"tid":1'
        '"ts":0,"dur":1,"pid":1,"tid":-1e300'
        '"ts":0,"dur":-1,"pid":1,"tid":1'
    )
    for ev in "${evs[@]}"; do
        printf '[{"ph":"X","name":"a",%s}]' "$ev" >"$tmp/bad.json"
        rm -f "$tmp/bad.svg"
        expect_exit 1 timeout 20 "$J" timeline "$tmp/bad.json"
        grep -Eq '^juggle: .*bad.json: line 1: "(ts|dur|pid|tid)" is (not a finite number|out of range)' \
            "$tmp/err" || fail "bad number $ev: message: $(cat "$tmp/err")"
        [ ! -e "$tmp/bad.svg" ] || fail "bad number $ev: an SVG was written"
    done
    # An "E" far from its "B" is fine as long as the numbers are.
    printf '[{"ph":"B","name":"a","ts":0,"pid":1,"tid":1},{"ph":"E","ts":1e17,"pid":1,"tid":1}]' \
        >"$tmp/far.json"
    expect_exit 0 timeout 20 "$J" timeline "$tmp/far.json"
    [ "$(stat -c %s "$tmp/far.svg")" -lt 100000 ] || fail "far: huge SVG"
    # Stamped from the epoch, as other tools write them: the span printed
    # is from the first slice to the end (1.5 s), not the end's stamp.
    printf '[{"ph":"X","name":"a","ts":1764000000000000,"dur":1000000,"pid":1,"tid":1},{"ph":"X","name":"b","ts":1764000000500000,"dur":1000000,"pid":1,"tid":2}]' \
        >"$tmp/epoch.json"
    expect_exit 0 timeout 20 "$J" timeline "$tmp/epoch.json"
    grep -q ': 2 rows, 2 slices, 1.500 s$' "$tmp/out" \
        || fail "epoch: span: $(cat "$tmp/out")"
}

# many_rows: a trace with 60,000 rows is read and drawn whole, and every
# slice stays on its own row once the rows are sorted; B/E pairs
# interleaved across rows (100,000 of them) and nested on one row pair up
# right. (Reading was quadratic in the rows; it is linear now, which no
# test here times: the timeouts only guard against a hang.)
many_rows() {
    checks=$((checks + 1))
    python3 - "$tmp/many.json" 60000 <<'PY' || fail "many_rows: generate"
import json, sys
n = int(sys.argv[2])
# Descending tids, so sorting moves every row.
ev = [{"ph": "X", "name": "task %d" % t, "ts": t, "dur": 1, "pid": 1,
       "tid": t} for t in range(n, 0, -1)]
json.dump(ev, open(sys.argv[1], "w"))
PY
    expect_exit 0 timeout 120 "$J" timeline "$tmp/many.json"
    grep -q 'many.svg: 60000 rows, 60000 slices' "$tmp/out" ||
        fail "many_rows: $(cat "$tmp/out" "$tmp/err")"
    checks=$((checks + 1))
    python3 - "$tmp/many.json" 100000 <<'PY' || fail "many_rows: generate"
import json, sys
n = int(sys.argv[2])
# B/E pairs, the E events in the order of their B (not the reverse).
ev = [{"ph": "B", "name": "t", "ts": 0, "pid": 1, "tid": t}
      for t in range(n, 0, -1)]
ev += [{"ph": "E", "ts": 1, "pid": 1, "tid": t} for t in range(n, 0, -1)]
json.dump(ev, open(sys.argv[1], "w"))
PY
    expect_exit 0 timeout 120 "$J" timeline "$tmp/many.json" -o /dev/null
    grep -q '/dev/null: 100000 rows, 100000 slices' "$tmp/out" ||
        fail "many_rows: 100000: $(cat "$tmp/out" "$tmp/err")"
    rm -f "$tmp/many.json"
    checks=$((checks + 1))
    python3 - "$tmp/mixed.json" <<'PY' || fail "many_rows: generate mixed"
import json, sys
ev = []
for t in range(300, 0, -1):       # rows 300..1, each with an X slice
    ev.append({"ph": "X", "name": "task %d" % t, "ts": 0, "dur": 5,
               "pid": 7, "tid": t})
for t in range(1, 301):           # B on every row, then E in reverse
    ev.append({"ph": "B", "name": "task %d" % t, "ts": 10, "pid": 7,
               "tid": t})
for t in range(300, 0, -1):
    ev.append({"ph": "E", "ts": 20, "pid": 7, "tid": t})
# Nested on one row: the inner pair ends first.
ev += [{"ph": "B", "name": "task 1", "ts": 30, "pid": 7, "tid": 1},
       {"ph": "B", "name": "task 1", "ts": 31, "pid": 7, "tid": 1},
       {"ph": "E", "ts": 32, "pid": 7, "tid": 1},
       {"ph": "E", "ts": 40, "pid": 7, "tid": 1}]
json.dump(ev, open(sys.argv[1], "w"))
PY
    expect_exit 0 "$J" timeline "$tmp/mixed.json"
    grep -q 'mixed.svg: 300 rows, 602 slices' "$tmp/out" ||
        fail "many_rows: mixed: $(cat "$tmp/out" "$tmp/err")"
    checks=$((checks + 1))
    python3 - "$tmp/mixed.svg" <<'PY' || fail "many_rows: slices on wrong rows"
import re, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
rows = {}
for t in doc.getElementsByTagName("text"):
    if t.getAttribute("class") == "row":
        rows[t.firstChild.data] = float(t.getAttribute("y"))
assert len(rows) == 300, len(rows)
ys = [rows["pid 7 tid %d" % t] for t in range(1, 301)]
assert ys == sorted(ys), "rows not sorted by tid"
spans = []
for r in doc.getElementsByTagName("rect"):
    if r.getAttribute("class") != "slice":
        continue
    title = r.getElementsByTagName("title")[0].firstChild.data
    tid = int(re.match(r"task (\d+):", title).group(1))
    # The bar sits gap/2 = 4 below its row's band; the label 19 below.
    assert abs(float(r.getAttribute("y")) + 15 - rows["pid 7 tid %d" % tid]) < 0.01, title
    spans.append(title)
assert "task 1: 0.031-0.032 ms" in spans and "task 1: 0.030-0.040 ms" in spans, spans[:5]
PY
}

# bad_text: names with bytes that are not UTF-8, lone surrogates, \u0000,
# characters XML forbids, and long names cut in the middle of a character
# still make an SVG that parses as XML; a \u escape takes exactly four hex
# digits.
bad_text() {
    checks=$((checks + 1))
    python3 - "$tmp/text.json" <<'PY' || fail "bad_text: generate"
import sys
names = [b"raw \xff\xfe end", b"overlong \xc0\x80", b"surrogate \xed\xa0\x80",
         b"cut \xe2\x82", b"lone high \\ud800 x", b"lone low \\udc00",
         b"high then letter \\ud800\\u0041", b"pair \\ud83d\\ude00",
         b"nul \\u0000 x", b"ctl \\u0001 \\t", b"nonchar \\uFFFE \\uffff",
         b"e \\u00e9", b"\xc3\xa9" * 70, b"a" + "\u20ac".encode() * 40,
         b"x" + "\U0001f600".encode() * 30, b"ok & < > \\\" end"]
ev = [b'{"ph":"X","name":"%s","ts":%d,"dur":1,"pid":1,"tid":%d}'
      % (n, i, i % 4) for i, n in enumerate(names)]
ev.append(b'{"ph":"M","name":"thread_name","pid":1,"tid":0,'
          b'"args":{"name":"row \xff\\ud800 \xe2\x82"}}')
open(sys.argv[1], "wb").write(b"[" + b",".join(ev) + b"]")
PY
    expect_exit 0 "$J" timeline "$tmp/text.json" --title $'title \xff\xc3'
    checks=$((checks + 1))
    python3 - "$tmp/text.svg" <<'PY' || fail "bad_text: SVG is not XML"
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
titles = [t.firstChild.data for t in doc.getElementsByTagName("title")
          if t.firstChild is not None]
text = "\n".join(titles)
assert "pair \U0001f600" in text, titles
assert "e \u00e9" in text, titles
assert "lone high \ufffd x" in text, titles
assert "high then letter \ufffdA" in text, titles
assert "raw \ufffd\ufffd end" in text, titles
assert "nul \ufffd x" in text, titles
assert "\u00e9" * 31 + ":" in text, "63 bytes of 2-byte characters: 31"
assert "a" + "\u20ac" * 20 + ":" in text, "1 + 20 * 3 bytes fit in 63"
assert "x" + "\U0001f600" * 15 + ":" in text, "1 + 15 * 4 bytes fit in 63"
assert 'ok & < > " end' in text, titles
PY
    # \u takes exactly four hex digits: no sign, no space, no fewer.
    for esc in '\u+123' '\u 123' '\u-123' '\u12"' '\u0x12'; do
        printf '[{"ph":"X","name":"a%s","ts":0,"dur":1,"pid":1,"tid":1}]' \
            "$esc" >"$tmp/esc.json"
        expect_exit 1 "$J" timeline "$tmp/esc.json"
        grep -q 'bad \\u escape' "$tmp/err" ||
            fail "bad_text: $esc: $(cat "$tmp/err")"
    done
}

# trace_full: a run that fills its trace (forced small through the test
# seam JUGGLE_TEST_TRACE_CAPACITY) says so on stderr, in the table and in
# the JSON, instead of dropping slices silently; a trace sized from the run
# drops nothing.
trace_full() {
    local m
    for m in async threads; do
        expect_exit 0 env JUGGLE_TEST_TRACE_CAPACITY=5 "$J" run --model "$m" \
            --tasks 4 --sleep 0 --rounds 3 --trace "$tmp/full.json"
        grep -Eq "^juggle: .*full.json: warning: the trace was full: [0-9]+ of [0-9]+ slices dropped" \
            "$tmp/err" || fail "trace_full $m: no warning: $(cat "$tmp/err")"
        grep -Eq "^trace .*full.json: incomplete, 5 slices kept, [1-9][0-9]* dropped" \
            "$tmp/out" || fail "trace_full $m: table: $(cat "$tmp/out")"
        expect_exit 0 env JUGGLE_TEST_TRACE_CAPACITY=5 "$J" run --model "$m" \
            --tasks 4 --sleep 0 --rounds 3 --trace "$tmp/full.json" --json
        checks=$((checks + 1))
        python3 - "$tmp/out" <<'PY' || fail "trace_full $m: JSON"
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["trace_slices"] == 5 and r["trace_dropped"] > 0, r
PY
    done
    # Sized from the run: 3,000 tasks in 400 rounds need 1.2 million
    # slices, more than the library's default of 2^20.
    expect_exit 0 "$J" run --model serial --tasks 3000 --rounds 400 \
        --sleep 0 --trace "$tmp/big.json" --json
    grep -q warning "$tmp/err" && fail "trace_full: big run: $(cat "$tmp/err")"
    checks=$((checks + 1))
    python3 - "$tmp/out" <<'PY' || fail "trace_full: big run JSON"
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["trace_slices"] == 3000 * 401 and r["trace_dropped"] == 0, r
PY
    rm -f "$tmp/big.json"
}

# sweep_lists: --workers N alone is a sweep of one point (it was ignored,
# and the default 1,2,4,8 swept); an empty item in a list is an error; a
# count the model cannot use (more threads than tasks) is noted.
sweep_lists() {
    expect_exit 0 "$J" sweep --model threads --sleep 0.001 --workers 3 --json
    checks=$((checks + 1))
    python3 - "$tmp/out" <<'PY' || fail "sweep --workers 3: $(cat "$tmp/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["workers"] for x in r] == [3], r
PY
    expect_exit 0 "$J" sweep --model threads --sleep 0.001 --tasks 5 --json
    checks=$((checks + 1))
    python3 - "$tmp/out" <<'PY' || fail "sweep --tasks 5: $(cat "$tmp/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [(x["tasks"], x["workers"]) for x in r] == [(5, 1), (5, 2), (5, 4), (5, 5)], r
PY
    local l
    for l in 1,2,,3 1, ,1 , 1,,; do
        expect_exit 2 "$J" sweep --model async --workers "$l"
        grep -q "^juggle: sweep: --workers: an empty item in '$l'" \
            "$tmp/err" || fail "sweep --workers $l: $(head -1 "$tmp/err")"
    done
    expect_exit 2 "$J" sweep --model async --tasks 1,,2
    grep -q "^juggle: sweep: --tasks: an empty item in '1,,2'" "$tmp/err" ||
        fail "sweep --tasks 1,,2: $(head -1 "$tmp/err")"
    expect_exit 0 "$J" sweep --model threads --sleep 0.001 --tasks 2 \
        --workers 1,4
    grep -q '^note: --workers 4 ran with 2: threads uses at most one worker per task (--tasks 2)$' \
        "$tmp/out" || fail "sweep: no clamp note: $(cat "$tmp/out")"
    expect_exit 0 "$J" sweep --model async --sleep 0.001 --workers 1,2 --csv
    grep -q '^note: --workers 2 ran with 1: async always uses 1$' \
        "$tmp/err" || fail "sweep: no clamp note on stderr: $(cat "$tmp/err")"
    [ "$(wc -l <"$tmp/out")" = 3 ] || fail "sweep csv: $(cat "$tmp/out")"
}

parts=(usage_errors helps runtime_errors models compare_sweep traces demos tour
       bad_numbers many_rows bad_text trace_full sweep_lists)
for p in "${parts[@]}"; do
    if [ -z "$only" ] || [ "$only" = "$p" ]; then
        echo "-- $p"
        "$p"
    fi
done
echo "$checks checks, $failures failures"
[ "$failures" = 0 ]
