/* SPDX-License-Identifier: MIT */
/*
 * test_cancel.c - jg_cancel: a task blocked in sleep, join or gather wakes
 * with -ECANCELED; a cancel is delivered exactly once; cancelling before
 * start, after the end, and from a thread outside the runtime.
 *
 * On one worker, "spawn, then yield" runs the new task until it blocks, so
 * the tests know the target is blocked without sleeping to synchronise.
 */
#include <errno.h>
#include <pthread.h>

#include "helpers.h"

static void *sleep_forever(void *arg) {
    (void)arg;
    return (void *)(intptr_t)jg_sleep_until(JG_FOREVER);
}

static void *sleep_long(void *arg) {
    (void)arg;
    return (void *)(intptr_t)jg_sleep(JG_SEC(3600));
}

static void *sleep_max(void *arg) {
    (void)arg;
    return (void *)(intptr_t)jg_sleep(INT64_MAX); /* Saturates, no wrap. */
}

static void *cancel_sleeper(void *arg) {
    jg_task *t;
    jg_spawn(&t, (jg_task_fn)arg, NULL, NULL);
    jg_yield(); /* t now sleeps. */
    cr_assert_eq(jg_cancel(t), 0);
    void *r;
    cr_assert_eq(jg_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, -ECANCELED);
    return NULL;
}

Test(cancel, wakes_a_sleeping_task) {
    run_on(cancel_sleeper, (void *)sleep_forever, 1);
    run_on(cancel_sleeper, (void *)sleep_long, 1);
    run_on(cancel_sleeper, (void *)sleep_long, 2);
    run_on(cancel_sleeper, (void *)sleep_max, 1);
}

struct joiner {
    jg_task *child;
    int rc;
};

static void *join_child(void *arg) {
    struct joiner *j = arg;
    j->rc = jg_join(j->child, NULL);
    return NULL;
}

static void *cancel_joiner(void *arg) {
    (void)arg;
    struct joiner j = {0};
    jg_task *jt;
    jg_spawn(&j.child, sleep_forever, NULL, NULL);
    jg_spawn(&jt, join_child, &j, NULL);
    jg_yield(); /* The child sleeps, the joiner waits in jg_join. */
    cr_assert_eq(jg_cancel(jt), 0);
    cr_assert_eq(jg_join(jt, NULL), 0);
    cr_assert_eq(j.rc, -ECANCELED);
    /* The child runs on and its handle is still valid. */
    cr_assert_eq(jg_cancel(j.child), 0);
    void *r;
    cr_assert_eq(jg_join(j.child, &r), 0);
    cr_assert_eq((intptr_t)r, -ECANCELED);
    return NULL;
}

Test(cancel, wakes_a_task_blocked_in_join_and_keeps_the_handle) {
    run_on(cancel_joiner, NULL, 1);
}

static void *sleep_twice(void *arg) {
    (void)arg;
    /* Long enough that the cancel lands before this ends, even when
     * another worker started the task first. */
    int first = jg_sleep(JG_SEC(3600));
    int second = jg_sleep(JG_MS(1));
    return (void *)(intptr_t)(first * 1000 + second);
}

static void *cancel_before_start(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn(&t, sleep_twice, NULL, NULL);
    cr_assert_eq(jg_cancel(t), 0); /* On one worker it has not run yet. */
    void *r;
    jg_join(t, &r);
    /* Delivered once: the first sleep is cancelled, the second is not. */
    cr_assert_eq((intptr_t)r, -ECANCELED * 1000 + 0);
    return NULL;
}

Test(cancel, before_start_is_delivered_once_at_the_first_wait) {
    run_on(cancel_before_start, NULL, 1);
    run_on(cancel_before_start, NULL, 2);
}

static void *quick(void *arg) {
    return arg;
}

static void *cancel_after_end(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn(&t, quick, (void *)5, NULL);
    jg_yield(); /* t runs to its end. */
    cr_assert_eq(jg_cancel(t), -EALREADY);
    void *r;
    cr_assert_eq(jg_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, 5);
    return NULL;
}

Test(cancel, after_the_end_is_ealready) {
    run_on(cancel_after_end, NULL, 1);
}

static void *cancel_self(void *arg) {
    (void)arg;
    cr_assert_eq(jg_cancel(jg_self()), 0);
    cr_assert_eq(jg_sleep(0), -ECANCELED);
    cr_assert_eq(jg_sleep(JG_MS(1)), 0);
    cr_assert_eq(jg_cancel(jg_self()), 0);
    jg_task *t;
    jg_spawn(&t, quick, NULL, NULL);
    cr_assert_eq(jg_join(t, NULL), -ECANCELED);
    cr_assert_eq(jg_join(t, NULL), 0);
    return NULL;
}

Test(cancel, of_self_hits_the_next_wait) {
    run_on(cancel_self, NULL, 1);
}

struct gatherer {
    _Atomic int cancelled;
    int rc;
};

static void *child_counts_cancel(void *arg) {
    struct gatherer *g = arg;
    if (jg_sleep_until(JG_FOREVER) == -ECANCELED) {
        atomic_fetch_add(&g->cancelled, 1);
    }
    return NULL;
}

static void *gather_children(void *arg) {
    struct gatherer *g = arg;
    jg_task *t[10];
    for (int i = 0; i < 10; i++) {
        jg_spawn(&t[i], child_counts_cancel, g, NULL);
    }
    g->rc = jg_gather(t, 10, NULL);
    return NULL;
}

static void *cancel_gatherer(void *arg) {
    struct gatherer *g = arg;
    jg_task *t;
    jg_spawn(&t, gather_children, g, NULL);
    jg_yield(); /* The gatherer waits; its children sleep. */
    jg_cancel(t);
    jg_join(t, NULL);
    return NULL;
}

Test(cancel, of_gather_cancels_and_waits_for_every_child) {
    struct gatherer g = {0};
    run_on(cancel_gatherer, &g, 1);
    cr_assert_eq(g.rc, -ECANCELED);
    cr_assert_eq(atomic_load(&g.cancelled), 10);
}

struct foreign {
    jg_task *target;
    _Atomic int ready;
};

static void *foreign_thread(void *arg) {
    struct foreign *f = arg;
    while (!atomic_load(&f->ready)) {
        sched_yield();
    }
    cr_assert_eq(jg_cancel(f->target), 0);
    return NULL;
}

static void *cancel_from_thread(void *arg) {
    struct foreign *f = arg;
    jg_spawn(&f->target, sleep_forever, NULL, NULL);
    pthread_t th;
    pthread_create(&th, NULL, foreign_thread, f);
    atomic_store(&f->ready, 1);
    void *r;
    jg_join(f->target, &r);
    pthread_join(th, NULL);
    cr_assert_eq((intptr_t)r, -ECANCELED);
    return NULL;
}

Test(cancel, works_from_a_thread_outside_the_runtime) {
    struct foreign f = {0};
    run_on(cancel_from_thread, &f, 1);
    struct foreign g = {0};
    run_on(cancel_from_thread, &g, 2);
}

struct storm {
    jg_task **t;
    long n;
};

static void *cancel_all(void *arg) {
    struct storm *s = arg;
    for (long i = s->n - 1; i >= 0; i--) {
        jg_cancel(s->t[i]);
        if (i % 7 == 0) {
            jg_yield();
        }
    }
    return NULL;
}

static void *cancel_storm(void *arg) {
    struct storm *s = arg;
    s->t = malloc((size_t)s->n * sizeof(*s->t));
    for (long i = 0; i < s->n; i++) {
        jg_spawn(&s->t[i], i % 2 ? sleep_forever : sleep_long, NULL, NULL);
    }
    jg_task *c;
    jg_spawn(&c, cancel_all, s, NULL);
    jg_join(c, NULL);
    for (long i = 0; i < s->n; i++) {
        void *r;
        jg_join(s->t[i], &r);
        cr_assert_eq((intptr_t)r, -ECANCELED, "task %ld: %ld", i,
                     (long)(intptr_t)r);
    }
    free(s->t);
    return NULL;
}

/* Cancels race with tasks going to sleep, on several workers: every task
 * must end with -ECANCELED, none may hang. */
Test(cancel, storm_across_workers_loses_none, .timeout = 120) {
    for (int w = 1; w <= 4; w++) {
        struct storm s = {.n = stress(10000)};
        run_on(cancel_storm, &s, w);
    }
}
