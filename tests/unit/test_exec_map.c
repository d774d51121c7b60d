/* SPDX-License-Identifier: MIT */
/*
 * test_exec_map.c - jg_map on thread pools, process pools and juggle's own
 * workers (p == NULL): results, per-item errors, chunk sizes, copied ctx,
 * a process pool that loses workers mid-map (exactly the items that were
 * running fail with -ECHILD, every other item is right), every error, and
 * maps from inside tasks.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_check.h"

static int affine(void *ctx, const void *in, void *out) {
    int64_t k = ctx != NULL ? *(const int64_t *)ctx : 1;
    int64_t x = *(const int64_t *)in;
    *(int64_t *)out = x * 2 * k + 1;
    return x % 1000 == 999 ? -EDOM : 0; /* Some items fail. */
}

static void check_map(jg_pool *p, size_t n, size_t chunk) {
    int64_t *in = malloc(n * sizeof(*in));
    int64_t *out = malloc(n * sizeof(*out));
    int *err = malloc(n * sizeof(*err));
    for (size_t i = 0; i < n; i++) {
        in[i] = (int64_t)i;
        out[i] = -1;
        err[i] = 12345;
    }
    jg_map_opts o = {.chunk = chunk};
    int failed =
        jg_map(p, affine, NULL, in, sizeof(*in), out, sizeof(*out), n, err, &o);
    size_t want_failed = (n + 1) / 1000;
    cr_assert_eq(failed, (int)want_failed, "failed %d", failed);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(out[i], 2 * (int64_t)i + 1, "item %zu", i);
        cr_assert_eq(err[i], i % 1000 == 999 ? -EDOM : 0, "item %zu", i);
    }
    /* Without an errors array the count is the same. */
    failed = jg_map(p, affine, NULL, in, sizeof(*in), out, sizeof(*out), n,
                    NULL, &o);
    cr_assert_eq(failed, (int)want_failed);
    free(in);
    free(out);
    free(err);
}

static void maps_on(jg_pool *p) {
    check_map(p, 1, 0);
    check_map(p, 7, 0);
    check_map(p, 10000, 0);
    check_map(p, 10000, 1);
    check_map(p, 10000, 3333);
    check_map(p, 10000, 20000);
    check_map(p, 100000, 0);
    /* Chunks bigger than n are one chunk: n + chunk - 1 must not wrap. */
    check_map(p, 1000, SIZE_MAX);
    check_map(p, 1000, SIZE_MAX / 2 + 2);
}

Test(map, on_a_thread_pool, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    for (int w = 1; w <= 3; w++) {
        jg_pool *p;
        jg_pool_opts o = {.workers = w};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        maps_on(p);
        cr_assert_eq(jg_pool_free(p), 0);
    }
    leak_end(lc);
}

Test(map, on_a_process_pool, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    for (int w = 1; w <= 3; w++) {
        jg_pool *p;
        jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = w};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        maps_on(p);
        cr_assert_eq(jg_pool_free(p), 0);
    }
    leak_end(lc);
}

Test(map, on_juggle_workers, .timeout = 60) {
    maps_on(NULL);
}

static void *map_main(void *arg) {
    (void)arg;
    maps_on(NULL);
    return NULL;
}

Test(map, on_juggle_workers_inside_a_task, .timeout = 60) {
    run_on(map_main, NULL, 1);
    run_on(map_main, NULL, 2);
}

Test(map, copies_ctx_to_processes, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = 2};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    int64_t k = 5; /* Set after the fork: only a copy reaches the child. */
    int64_t in[100], out[100];
    for (int i = 0; i < 100; i++) {
        in[i] = i;
    }
    jg_map_opts mo = {.ctx_size = sizeof(k)};
    cr_assert_eq(jg_map(p, affine, &k, in, 8, out, 8, 100, NULL, &mo), 0);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(out[i], 10 * i + 1);
    }
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

/* ---- workers that die mid-map ---- */

/* An unmapped address, read at run time: a real fault (not NULL, which
 * UBSan would catch first in sanitizer builds). */
static volatile uintptr_t nowhere = 16;

/* Item 1234 segfaults, 5000 is killed, 7777 exits: each once. */
static int crashy(void *ctx, const void *in, void *out) {
    (void)ctx;
    int64_t x = *(const int64_t *)in;
    if (x == 1234) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile int *)nowhere = 1;
    } else if (x == 5000) {
        raise(SIGKILL);
    } else if (x == 7777) {
        _exit(3);
    }
    *(int64_t *)out = x * 3;
    return 0;
}

static void crash_map(int workers, size_t chunk) {
    jg_pool *p;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = workers};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    enum { N = 10000 };
    static int64_t in[N], out[N];
    static int err[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            in[i] = i;
            out[i] = -1;
        }
        jg_map_opts mo = {.chunk = chunk};
        int failed = jg_map(p, crashy, NULL, in, 8, out, 8, N, err, &mo);
        cr_assert_eq(failed, 3, "failed %d", failed);
        for (int i = 0; i < N; i++) {
            if (i == 1234 || i == 5000 || i == 7777) {
                cr_assert_eq(err[i], -ECHILD, "item %d: %d", i, err[i]);
            } else {
                cr_assert_eq(err[i], 0, "item %d: %d", i, err[i]);
                cr_assert_eq(out[i], 3 * i, "item %d", i);
            }
        }
    }
    /* The replacements work for items too. */
    check_map(p, 5000, 0);
    cr_assert_eq(jg_pool_free(p), 0);
}

Test(map, a_process_pool_that_loses_workers_finishes, .timeout = 120) {
    struct leakcheck lc = leak_begin();
    crash_map(1, 0);
    crash_map(2, 0);
    crash_map(2, 10000); /* One chunk: the rest of it is re-run. */
    crash_map(3, 1);
    leak_end(lc);
}

/* ---- errors ---- */

static void *map_on_own_pool(void *arg) {
    int64_t x = 1, y;
    return (void *)(intptr_t)jg_map(arg, affine, NULL, &x, 8, &y, 8, 1, NULL,
                                    NULL);
}

Test(map, rejects_bad_arguments) {
    struct leakcheck lc = leak_begin();
    int64_t in[4] = {0}, out[4];
    jg_pool *p;
    cr_assert_eq(jg_pool_new(&p, NULL), 0);
    jg_pool *pools[] = {NULL, p};
    for (int k = 0; k < 2; k++) {
        jg_pool *q = pools[k];
        cr_assert_eq(jg_map(q, NULL, NULL, in, 8, out, 8, 4, NULL, NULL),
                     -EINVAL);
        cr_assert_eq(jg_map(q, affine, NULL, NULL, 8, out, 8, 4, NULL, NULL),
                     -EINVAL);
        cr_assert_eq(jg_map(q, affine, NULL, in, 8, NULL, 8, 4, NULL, NULL),
                     -EINVAL);
        cr_assert_eq(
            jg_map(q, affine, NULL, in, SIZE_MAX / 2, out, 8, 4, NULL, NULL),
            -EINVAL);
        jg_map_opts mo = {.ctx_size = 8};
        cr_assert_eq(jg_map(q, affine, NULL, in, 8, out, 8, 4, NULL, &mo),
                     -EINVAL);
        cr_assert_eq(jg_map(q, affine, NULL, NULL, 8, NULL, 8, 0, NULL, NULL),
                     0);
    }
    jg_future *f;
    cr_assert_eq(jg_pool_submit(p, &f, map_on_own_pool, p), 0);
    void *r;
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, -EDEADLK);
    jg_future_free(f);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

/* ---- from tasks, concurrently ---- */

static void *map_from_task(void *arg) {
    jg_pool *p = arg;
    check_map(p, 3000, 0);
    return NULL;
}

static void *maps_in_tasks(void *arg) {
    jg_task *t[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jg_spawn(&t[i], map_from_task, arg, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 4, NULL), 0);
    return NULL;
}

Test(map, concurrent_maps_from_tasks, .timeout = 120) {
    struct leakcheck lc = leak_begin();
    for (int k = 0; k < 2; k++) {
        jg_pool *p;
        jg_pool_opts o = {.kind = (jg_pool_kind)k, .workers = 2};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        run_on(maps_in_tasks, p, 1);
        run_on(maps_in_tasks, p, 2);
        cr_assert_eq(jg_pool_free(p), 0);
    }
    leak_end(lc);
}
