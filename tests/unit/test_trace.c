/* SPDX-License-Identifier: MIT */
/*
 * test_trace.c - timelines: the trace buffer (add, count, get, full,
 * errors), what a runtime records (one row per worker, slices that never
 * overlap on a row, every task present with its name), slices added from a
 * forked child, and the Chrome trace file (B/E pairs that nest per row).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static jg_trace_slice slice(int pid, int tid, const char *name, int64_t b,
                            int64_t e) {
    jg_trace_slice s;
    memset(&s, 0, sizeof s);
    s.pid = pid;
    s.tid = tid;
    snprintf(s.row, sizeof s.row, "row %d", tid);
    snprintf(s.name, sizeof s.name, "%s", name);
    s.id = (uint64_t)tid;
    s.begin = b;
    s.end = e;
    return s;
}

Test(trace, errors) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(NULL, 4), -EINVAL);
    cr_assert_eq(jg_trace_new(&tr, (size_t)1 << 29), -EINVAL);
    cr_assert_eq(jg_trace_new(&tr, 2), 0);
    jg_trace_slice s = slice(1, 0, "a", 10, 5);
    cr_assert_eq(jg_trace_add(tr, &s), -EINVAL, "end before begin");
    cr_assert_eq(jg_trace_add(NULL, &s), -EINVAL);
    cr_assert_eq(jg_trace_add(tr, NULL), -EINVAL);
    cr_assert_eq(jg_trace_count(tr), 0);
    s = slice(1, 0, "a", 5, 10);
    cr_assert_eq(jg_trace_add(tr, &s), 0);
    cr_assert_eq(jg_trace_add(tr, &s), 0);
    cr_assert_eq(jg_trace_add(tr, &s), -ENOSPC);
    cr_assert_eq(jg_trace_count(tr), 2);
    cr_assert_eq(jg_trace_dropped(tr), 1);
    jg_trace_slice out;
    cr_assert_eq(jg_trace_get(tr, 2, &out), -ERANGE);
    cr_assert_eq(jg_trace_get(tr, 0, NULL), -EINVAL);
    cr_assert_eq(jg_trace_get(tr, 1, &out), 0);
    cr_assert_str_eq(out.name, "a");
    cr_assert_eq(out.begin, 5);
    cr_assert_eq(jg_trace_write(NULL, "/tmp/x"), -EINVAL);
    cr_assert_eq(jg_trace_write(tr, NULL), -EINVAL);
    cr_assert_eq(jg_trace_write(tr, "/nonexistent-dir/trace.json"), -ENOENT);
    cr_assert_eq(jg_trace_count(NULL), 0);
    jg_trace_free(tr);
    jg_trace_free(NULL);
}

Test(trace, long_names_are_truncated) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 0), 0);
    jg_trace_slice s = slice(1, 0, "x", 1, 2);
    memset(s.name, 'n', sizeof s.name); /* No terminator at all. */
    cr_assert_eq(jg_trace_add(tr, &s), 0);
    jg_trace_slice out;
    cr_assert_eq(jg_trace_get(tr, 0, &out), 0);
    cr_assert_eq(strlen(out.name), JG_TRACE_NAME - 1);
    jg_trace_free(tr);
}

/* ---- what a runtime records ---- */

#define NTASKS 16

static void *worker_task(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        jg_sleep(JG_US(200));
        volatile uint64_t x = 0;
        for (int k = 0; k < 20000; k++) {
            x += (uint64_t)k;
        }
        jg_yield();
    }
    return NULL;
}

static void *trace_main(void *arg) {
    (void)arg;
    jg_task *ts[NTASKS];
    for (int i = 0; i < NTASKS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(jg_spawn(&ts[i], worker_task, NULL,
                              &(jg_spawn_opts){.name = name}), 0);
    }
    cr_assert_eq(jg_gather(ts, NTASKS, NULL), 0);
    return NULL;
}

static int by_row_begin(const void *a, const void *b) {
    const jg_trace_slice *x = a, *y = b;
    if (x->tid != y->tid) {
        return x->tid - y->tid;
    }
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static void check_runtime_trace(int workers) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 0), 0);
    run_opts(trace_main, NULL, (jg_run_opts){.workers = workers, .trace = tr});
    size_t n = jg_trace_count(tr);
    cr_assert_eq(jg_trace_dropped(tr), 0);
    /* Every task sleeps and yields 3 times: at least 7 slices each. */
    cr_assert_geq(n, (size_t)NTASKS * 7, "only %zu slices", n);
    jg_trace_slice *all = calloc(n, sizeof *all);
    int seen[NTASKS] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(jg_trace_get(tr, i, &all[i]), 0);
        jg_trace_slice *s = &all[i];
        cr_assert_eq(s->pid, getpid());
        cr_assert(s->tid >= 0 && s->tid < workers, "row %d", s->tid);
        char row[JG_TRACE_NAME];
        snprintf(row, sizeof row, "worker %d", s->tid);
        cr_assert_str_eq(s->row, row);
        cr_assert_leq(s->begin, s->end);
        int k;
        if (sscanf(s->name, "t%d", &k) == 1) {
            cr_assert(k >= 0 && k < NTASKS);
            seen[k]++;
        }
    }
    for (int k = 0; k < NTASKS; k++) {
        cr_assert_geq(seen[k], 4, "task t%d has %d slices", k, seen[k]);
    }
    /* A worker runs one task at a time: no overlap on a row. */
    qsort(all, n, sizeof *all, by_row_begin);
    for (size_t i = 1; i < n; i++) {
        if (all[i].tid == all[i - 1].tid) {
            cr_assert_geq(all[i].begin, all[i - 1].end,
                          "overlap on worker %d", all[i].tid);
        }
    }
    free(all);
    jg_trace_free(tr);
}

Test(trace, runtime_one_worker) { check_runtime_trace(1); }
Test(trace, runtime_two_workers) { check_runtime_trace(2); }

/* ---- children share the buffer ---- */

Test(trace, forked_children_add) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 64), 0);
    pid_t kids[3];
    for (int c = 0; c < 3; c++) {
        kids[c] = fork();
        cr_assert_geq(kids[c], 0);
        if (kids[c] == 0) {
            for (int i = 0; i < 5; i++) {
                jg_trace_slice s = slice(getpid(), c, "child", i * 10,
                                         i * 10 + 5);
                if (jg_trace_add(tr, &s) != 0) {
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (int c = 0; c < 3; c++) {
        int st;
        cr_assert_eq(waitpid(kids[c], &st, 0), kids[c]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    cr_assert_eq(jg_trace_count(tr), 15);
    int per_kid[3] = {0};
    for (size_t i = 0; i < 15; i++) {
        jg_trace_slice s;
        cr_assert_eq(jg_trace_get(tr, i, &s), 0);
        cr_assert_str_eq(s.name, "child");
        for (int c = 0; c < 3; c++) {
            per_kid[c] += s.pid == kids[c];
        }
    }
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(per_kid[c], 5);
    }
    jg_trace_free(tr);
}

/* ---- the file ---- */

/* Read back the events the writer puts one per line, and check that on
 * every row B and E alternate as a properly nested sequence with times
 * that never go back. */
static int check_file(const char *path, int *nb) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    struct {
        int pid, tid, depth;
        double ts;
    } rows[64];
    int nrows = 0;
    *nb = 0;
    int meta = 0, lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        char ph;
        int pid, tid;
        double ts;
        if (strstr(line, "\"ph\":\"M\"")) {
            meta++;
            continue;
        }
        if (sscanf(line, " {\"ph\":\"%c\",\"pid\":%d,\"tid\":%d,\"ts\":%lf",
                   &ph, &pid, &tid, &ts) != 4) {
            continue;
        }
        int r;
        for (r = 0; r < nrows; r++) {
            if (rows[r].pid == pid && rows[r].tid == tid) {
                break;
            }
        }
        if (r == nrows) {
            cr_assert_lt(nrows, 64);
            rows[nrows].pid = pid;
            rows[nrows].tid = tid;
            rows[nrows].depth = 0;
            rows[nrows].ts = 0;
            nrows++;
        }
        cr_assert_geq(ts, rows[r].ts, "time went back on a row");
        rows[r].ts = ts;
        if (ph == 'B') {
            rows[r].depth++;
            (*nb)++;
        } else {
            cr_assert_eq(ph, 'E');
            cr_assert_gt(rows[r].depth, 0, "E without B");
            rows[r].depth--;
        }
    }
    fclose(f);
    for (int r = 0; r < nrows; r++) {
        cr_assert_eq(rows[r].depth, 0, "unclosed slice");
    }
    cr_assert_geq(meta, nrows, "every row is named");
    cr_assert_gt(lines, 2);
    return nrows;
}

Test(trace, file_nests_overlapping_manual_slices) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 0), 0);
    /* Row 0: [0,100) contains [10,20); [50,150) straddles the end of the
     * first and gets clipped. Row 1: back to back, equal times. */
    jg_trace_slice s[] = {
        slice(7, 0, "outer", 0, 100),    slice(7, 0, "inner", 10, 20),
        slice(7, 0, "straddle", 50, 150), slice(7, 1, "a", 0, 10),
        slice(7, 1, "b \"quoted\"\n", 10, 20),
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        cr_assert_eq(jg_trace_add(tr, &s[i]), 0);
    }
    char path[] = "/tmp/jg-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(jg_trace_write(tr, path), 0);
    int nb;
    cr_assert_eq(check_file(path, &nb), 2);
    cr_assert_eq(nb, 5);
    /* The file is JSON that Python's parser accepts. */
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "sys.exit(0 if len(d[\"traceEvents\"]) > 10 else 1)' %s",
             path);
    cr_assert_eq(system(cmd), 0, "not valid JSON");
    unlink(path);
    jg_trace_free(tr);
}

Test(trace, file_from_runtime) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 0), 0);
    run_opts(trace_main, NULL, (jg_run_opts){.workers = 2, .trace = tr});
    char path[] = "/tmp/jg-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(jg_trace_write(tr, path), 0);
    int nb;
    int rows = check_file(path, &nb);
    cr_assert(rows >= 1 && rows <= 2);
    cr_assert_eq((size_t)nb, jg_trace_count(tr));
    unlink(path);
    jg_trace_free(tr);
}

/* Names that are not ASCII: cut only between UTF-8 characters, and bytes
 * that are not UTF-8 written as U+FFFD, so the file stays JSON (RFC 8259
 * wants UTF-8) and the names keep their valid characters. Negative times
 * are refused (their differences would overflow the export). */
Test(trace, names_stay_utf8_and_times_are_checked) {
    jg_trace *tr;
    cr_assert_eq(jg_trace_new(&tr, 0), 0);
    jg_trace_slice neg = slice(1, 0, "x", -5, 10);
    cr_assert_eq(jg_trace_add(tr, &neg), -EINVAL);
    /* 12 x "é" is 24 bytes: a cut at 23 would split the last one. */
    const char *e12 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    jg_trace_slice s[] = {
        slice(1, 0, e12, 0, 10),
        slice(1, 0, "bad \xff\xc3 end", 10, 20),   /* Not UTF-8. */
        slice(1, 1, "\xed\xa0\x80 surrogate", 0, 5),  /* Not UTF-8. */
        slice(1, 1, "ok \xe2\x82\xac \xf0\x9f\x98\x80", 5, 9), /* Euro, emoji. */
    };
    memcpy(s[0].name, e12, JG_TRACE_NAME); /* All 24 bytes, no NUL. */
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        cr_assert_eq(jg_trace_add(tr, &s[i]), 0);
    }
    char path[] = "/tmp/jg-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(jg_trace_write(tr, path), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys\n"
             "d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
             "names = {e[\"name\"] for e in d[\"traceEvents\"] "
             "if e.get(\"ph\") == \"B\"}\n"
             "want = {\"\\u00e9\" * 11, \"bad \\ufffd\\ufffd end\", "
             "\"\\ufffd\\ufffd\\ufffd surrogate\", "
             "\"ok \\u20ac \\U0001f600\"}\n"
             "sys.exit(0 if names == want else print(names) or 1)' %s",
             path);
    cr_assert_eq(system(cmd), 0, "names in the JSON");
    unlink(path);
    jg_trace_free(tr);
}
