/* SPDX-License-Identifier: MIT */
/*
 * test_place.c - "spread start" (src/os/os_place.c): the first 2n
 * creations of a burst go round-robin over the n allowed CPUs, starting
 * with one other than the creator's, and the rest are left to the kernel; JG_SPREAD=0 and a one-CPU affinity turn it off; and every kind
 * of thread and process juggle starts (jg_thread, jg_process, both pools,
 * the runtime's workers and its blocking pool) runs its code with the
 * creator's whole affinity, not the CPU it was started on.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_check.h"
#include "os/os.h"

static cpu_set_t my_set(void) {
    cpu_set_t s;
    cr_assert_eq(sched_getaffinity(0, sizeof(s), &s), 0);
    return s;
}

/* Make sure the next pick starts a new burst (the gap is 0.5 ms). */
static void end_burst(void) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

Test(place, a_burst_covers_every_cpu_once_starting_elsewhere) {
    cpu_set_t all = my_set();
    int n = CPU_COUNT(&all);
    if (n < 2) {
        /* One CPU: nothing to spread (checked by the test below). */
        struct jg__place pl;
        jg__os_place_pick(&pl);
        cr_assert_eq(pl.cpu, -1);
        return;
    }
    /* The picks count from the CPU we run on: try again if we moved. */
    for (int attempt = 0;; attempt++) {
        cr_assert(attempt < 100, "the test thread never kept its CPU");
        end_burst();
        int me = sched_getcpu();
        int seen[CPU_SETSIZE] = {0};
        int first = -1;
        bool ok = true;
        for (int i = 0; i < n; i++) {
            struct jg__place pl;
            jg__os_place_pick(&pl);
            cr_assert(pl.cpu >= 0 && CPU_ISSET(pl.cpu, &all));
            cr_assert(CPU_EQUAL(&pl.allowed, &all));
            if (i == 0) {
                first = pl.cpu;
            }
            ok = ok && seen[pl.cpu]++ == 0;
        }
        if (sched_getcpu() != me) {
            continue;
        }
        cr_assert(ok, "a CPU was picked twice in one burst of %d", n);
        cr_assert_neq(first, me, "the first pick is the creator's CPU");
        /* The burst goes on: the next pick wraps around to the first, and
         * after 2n picks the kernel places the rest. */
        struct jg__place pl;
        jg__os_place_pick(&pl);
        if (sched_getcpu() != me) {
            continue;
        }
        cr_assert_eq(pl.cpu, first);
        for (int i = n + 1; i < 2 * n; i++) {
            jg__os_place_pick(&pl);
            cr_assert(pl.cpu >= 0);
        }
        jg__os_place_pick(&pl);
        cr_assert_eq(pl.cpu, -1, "pick %d of a burst was placed", 2 * n + 1);
        /* A pause ends the burst: placing starts again. */
        end_burst();
        jg__os_place_pick(&pl);
        cr_assert(pl.cpu >= 0);
        return;
    }
}

Test(place, off_with_one_cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
    struct jg__place pl;
    jg__os_place_pick(&pl);
    cr_assert_eq(pl.cpu, -1);
}

Test(place, off_with_jg_spread_0) {
    /* Criterion runs each test in a fresh process: the setting is read on
     * the first pick. */
    cr_assert_eq(setenv("JG_SPREAD", "0", 1), 0);
    struct jg__place pl;
    jg__os_place_pick(&pl);
    cr_assert_eq(pl.cpu, -1);
}

/* What the code of a new thread or process sees: 1 if its affinity is the
 * creator's whole set. */
static cpu_set_t creator_set;

static void *whole_set(void *arg) {
    (void)arg;
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof(s), &s) != 0) {
        return (void *)(intptr_t)-1;
    }
    return (void *)(intptr_t)(CPU_EQUAL(&s, &creator_set) ? 1 : 0);
}

Test(place, threads_run_with_the_whole_set) {
    creator_set = my_set();
    jg_thread *t[8];
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(jg_thread_start(&t[i], whole_set, NULL, NULL), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *r;
        cr_assert_eq(jg_thread_join(t[i], &r), 0);
        cr_assert_eq((intptr_t)r, 1, "thread %d kept a narrower affinity", i);
    }
}

Test(place, processes_run_with_the_whole_set) {
    struct leakcheck lc = leak_begin();
    creator_set = my_set();
    jg_process *p[8];
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(jg_process_start(&p[i], whole_set, NULL, NULL), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *r;
        jg_exit how;
        cr_assert_eq(jg_process_join(p[i], &r, &how), 0);
        cr_assert_eq((intptr_t)r, 1, "child %d kept a narrower affinity", i);
    }
    assert_no_children();
    leak_end(lc);
}

static void pool_check(jg_pool_kind kind) {
    creator_set = my_set();
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = 4};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f[32];
    for (int i = 0; i < 32; i++) {
        cr_assert_eq(jg_pool_submit(p, &f[i], whole_set, NULL), 0);
    }
    for (int i = 0; i < 32; i++) {
        void *r;
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r), 0);
        cr_assert_eq((intptr_t)r, 1, "item %d ran with a narrower affinity",
                     i);
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_free(p), 0);
}

Test(place, thread_pool_workers_run_with_the_whole_set) {
    pool_check(JG_POOL_THREADS);
}

Test(place, process_pool_workers_run_with_the_whole_set) {
    pool_check(JG_POOL_PROCESSES);
    assert_no_children();
}

/* On every worker of a runtime and in its blocking pool. */
static _Atomic int narrow;

static void *check_here(void *arg) {
    (void)arg;
    if ((intptr_t)whole_set(NULL) != 1) {
        atomic_fetch_add(&narrow, 1);
    }
    return NULL;
}

static void *on_every_worker(void *arg) {
    (void)arg;
    jg_task *t[64];
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(jg_spawn(&t[i], check_here, NULL, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 64, NULL), 0);
    cr_assert_eq(jg_blocking(check_here, NULL, NULL), 0);
    return NULL;
}

Test(place, runtime_workers_run_with_the_whole_set) {
    creator_set = my_set();
    jg_run_opts o = {.workers = 4};
    cr_assert_eq(jg_run(on_every_worker, NULL, &o, NULL), 0);
    cr_assert_eq(atomic_load(&narrow), 0);
}
