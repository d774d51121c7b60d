/* SPDX-License-Identifier: MIT */
/*
 * test_sleep.c - jg_sleep, jg_sleep_until and jg_yield: ordering, every
 * sleeper wakes exactly once, the same calls outside the runtime, errors.
 * Ordering is checked through the order of events, never through timing.
 */
#include <errno.h>
#include <pthread.h>

#include "helpers.h"

struct order {
    _Atomic int next;
    int slot[64];
    _Atomic int armed;   /* Sleepers that have set their deadline. */
    _Atomic int early;   /* Wake-ups that came before all were armed. */
};

struct nap {
    struct order *o;
    int id;
    int64_t ns;       /* jg_sleep duration, or */
    int64_t deadline; /* an absolute deadline (when ns is 0). */
};

static void *napper(void *arg) {
    struct nap *n = arg;
    if (n->ns > 0) {
        cr_assert_eq(jg_sleep(n->ns), 0);
    } else {
        atomic_fetch_add(&n->o->armed, 1);
        cr_assert_eq(jg_sleep_until(n->deadline), 0);
        if (atomic_load(&n->o->armed) < 8) {
            atomic_fetch_add(&n->o->early, 1);
        }
    }
    n->o->slot[atomic_fetch_add(&n->o->next, 1)] = n->id;
    return NULL;
}

/* Sleepers spawned in a shuffled order wake in deadline order. Deadlines
 * are absolute, 10 ms apart, and 200 ms ahead; should the machine stall so
 * long that one fires before all are set, the round proves nothing and is
 * run again (no assumption about timing decides the verdict). */
static void *sleep_order(void *arg) {
    (void)arg;
    int durations_ms[8] = {70, 10, 50, 30, 80, 20, 60, 40};
    for (int round = 0; round < 10; round++) {
        struct order o = {0};
        struct nap naps[8];
        jg_task *t[8];
        int64_t base = jg_now() + JG_MS(200);
        for (int i = 0; i < 8; i++) {
            naps[i] = (struct nap){&o, durations_ms[i], 0,
                                   base + JG_MS(durations_ms[i])};
            jg_spawn(&t[i], napper, &naps[i], NULL);
        }
        jg_gather(t, 8, NULL);
        if (atomic_load(&o.early) > 0) {
            continue;
        }
        for (int i = 0; i < 8; i++) {
            cr_assert_eq(o.slot[i], (i + 1) * 10, "wake #%d was %d ms", i,
                         o.slot[i]);
        }
        return NULL;
    }
    cr_assert(0, "the machine stalled for 200 ms in 10 rounds out of 10");
    return NULL;
}

/* One worker: its timers fire in deadline order even if it stalls. (Across
 * workers, the order of two wake-ups 10 ms apart is a matter of timing.) */
Test(sleep, shorter_sleeps_wake_first) {
    run_on(sleep_order, NULL, 1);
}

static void *same_deadline(void *arg) {
    (void)arg;
    struct order o = {0};
    struct nap naps[16];
    jg_task *t[16];
    for (int i = 0; i < 16; i++) {
        naps[i] = (struct nap){&o, i, 0, 0};
    }
    int64_t deadline = jg_now() + JG_MS(30);
    for (int i = 0; i < 16; i++) {
        naps[i].ns = deadline - jg_now();
        jg_spawn(&t[i], napper, &naps[i], NULL);
    }
    jg_gather(t, 16, NULL);
    cr_assert_eq(atomic_load(&o.next), 16);
    return NULL;
}

Test(sleep, many_at_one_deadline_all_wake) {
    run_on(same_deadline, NULL, 1);
}

static void *sleep_then_count(void *arg) {
    jg_sleep(JG_MS(1) + (int64_t)(jg_now() % 5) * JG_US(100));
    atomic_fetch_add((_Atomic long *)arg, 1);
    return NULL;
}

static void *thousand_sleepers(void *arg) {
    _Atomic long *woke = arg;
    jg_task *t[1000];
    for (int i = 0; i < 1000; i++) {
        jg_spawn(&t[i], sleep_then_count, (void *)woke, NULL);
    }
    jg_gather(t, 1000, NULL);
    return NULL;
}

/* Criterion forks each test and kills it at the timeout, so a lost wake-up
 * fails here instead of hanging the suite. */
Test(sleep, every_sleeper_wakes_exactly_once, .timeout = 60) {
    for (int w = 1; w <= 3; w++) {
        _Atomic long woke = 0;
        run_on(thousand_sleepers, (void *)&woke, w);
        cr_assert_eq(atomic_load(&woke), 1000, "woke %ld of 1000",
                     atomic_load(&woke));
    }
}

Test(sleep, blocks_a_thread_outside_the_runtime) {
    int64_t t0 = jg_now();
    cr_assert_eq(jg_sleep(JG_MS(20)), 0);
    cr_assert(jg_now() - t0 >= JG_MS(20), "woke early");
    cr_assert_eq(jg_sleep(0), 0);
    cr_assert_eq(jg_sleep(-5), 0);
    cr_assert_eq(jg_sleep_until(jg_now() + JG_MS(1)), 0);
    cr_assert_eq(jg_sleep_until(JG_FOREVER), -EINVAL);
    cr_assert_eq(jg_sleep_until(-7), -EINVAL);
}

/* The one idea: the same function runs as a task and on a thread. */
static void *same_function(void *arg) {
    int64_t t0 = jg_now();
    cr_assert_eq(jg_sleep(JG_MS(10)), 0);
    cr_assert(jg_now() - t0 >= JG_MS(10));
    return arg;
}

static void *as_task(void *arg) {
    jg_task *t;
    jg_spawn(&t, same_function, arg, NULL);
    void *r;
    jg_join(t, &r);
    return r;
}

Test(sleep, same_task_function_runs_on_a_thread_and_as_a_task) {
    pthread_t th;
    void *r1;
    pthread_create(&th, NULL, same_function, (void *)11);
    pthread_join(th, &r1);
    cr_assert_eq((intptr_t)r1, 11);
    cr_assert_eq((intptr_t)run_on(as_task, (void *)12, 2), 12);
}

static void *bad_deadline(void *arg) {
    (void)arg;
    cr_assert_eq(jg_sleep_until(-2), -EINVAL);
    cr_assert_eq(jg_sleep_until(0), 0); /* In the past: a yield. */
    return NULL;
}

Test(sleep, rejects_negative_deadlines_in_a_task) {
    run_on(bad_deadline, NULL, 1);
}

struct pingpong {
    int turn;
    int log[20];
    int n;
};

static void *yield_a(void *arg) {
    struct pingpong *p = arg;
    for (int i = 0; i < 10; i++) {
        p->log[p->n++] = 0;
        jg_yield();
    }
    return NULL;
}

static void *yield_b(void *arg) {
    struct pingpong *p = arg;
    for (int i = 0; i < 10; i++) {
        p->log[p->n++] = 1;
        jg_yield();
    }
    return NULL;
}

static void *alternate(void *arg) {
    (void)arg;
    struct pingpong p = {0};
    jg_task *a, *b;
    jg_spawn(&a, yield_a, &p, NULL);
    jg_spawn(&b, yield_b, &p, NULL);
    jg_join(a, NULL);
    jg_join(b, NULL);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(p.log[i], i % 2, "yield did not alternate at %d", i);
    }
    return NULL;
}

Test(yield, alternates_two_tasks_on_one_worker) {
    run_on(alternate, NULL, 1);
}
