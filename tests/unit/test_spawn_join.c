/* SPDX-License-Identifier: MIT */
/*
 * test_spawn_join.c - jg_spawn, jg_join, jg_gather, jg_self and names:
 * results, every error return, many tasks, misuse that aborts.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void *twice(void *arg) {
    return (void *)((intptr_t)arg * 2);
}

static void *join_results(void *arg) {
    (void)arg;
    jg_task *t[10];
    for (intptr_t i = 0; i < 10; i++) {
        cr_assert_eq(jg_spawn(&t[i], twice, (void *)i, NULL), 0);
    }
    for (intptr_t i = 9; i >= 0; i--) {
        void *r = NULL;
        cr_assert_eq(jg_join(t[i], &r), 0);
        cr_assert_eq((intptr_t)r, 2 * i);
    }
    jg_task *u;
    jg_spawn(&u, twice, (void *)1, NULL);
    cr_assert_eq(jg_join(u, NULL), 0); /* A NULL result is allowed. */
    return NULL;
}

Test(join, returns_each_tasks_result) {
    run_on(join_results, NULL, 1);
    run_on(join_results, NULL, 3);
}

static void *errors(void *arg) {
    (void)arg;
    jg_task *t = (jg_task *)0x1;
    cr_assert_eq(jg_spawn(&t, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq((uintptr_t)t, 1, "out written on error");
    jg_spawn_opts bad[] = {
        {.stack_mode = (jg_stack_mode)7},
        {.stack_size = 100},
        {.stack_size = (size_t)4 << 30},
    };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(jg_spawn(&t, twice, NULL, &bad[i]), -EINVAL);
    }
    cr_assert_eq(jg_join(NULL, NULL), -EINVAL);
    cr_assert_eq(jg_join(jg_self(), NULL), -EDEADLK);
    cr_assert_eq(jg_gather(NULL, 1, NULL), -EINVAL);
    cr_assert_eq(jg_gather(NULL, 0, NULL), 0);
    jg_task *self_list[1] = {jg_self()};
    cr_assert_eq(jg_gather(self_list, 1, NULL), -EINVAL);
    jg_task *u;
    jg_spawn(&u, twice, (void *)3, NULL);
    jg_task *with_null[2] = {u, NULL};
    cr_assert_eq(jg_gather(with_null, 2, NULL), -EINVAL);
    cr_assert_eq(jg_join(u, NULL), 0, "a failed gather consumed a handle");
    cr_assert_eq(jg_cancel(NULL), -EINVAL);
    return NULL;
}

Test(spawn, rejects_bad_arguments) {
    run_on(errors, NULL, 1);
}

Test(spawn, outside_the_runtime_is_eperm) {
    jg_task *t;
    cr_assert_eq(jg_spawn(&t, twice, NULL, NULL), -EPERM);
    cr_assert_eq(jg_join((jg_task *)&t, NULL), -EPERM);
    cr_assert_eq(jg_gather(NULL, 0, NULL), -EPERM);
}

static void *gather_results(void *arg) {
    size_t n = (size_t)(uintptr_t)arg;
    jg_task **t = malloc(n * sizeof(*t));
    void **r = malloc(n * sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(jg_spawn(&t[i], twice, (void *)(intptr_t)i, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, n, r), 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq((intptr_t)r[i], 2 * (intptr_t)i);
    }
    free(t);
    free(r);
    return NULL;
}

Test(gather, collects_results_in_order) {
    run_on(gather_results, (void *)(uintptr_t)1000, 1);
    run_on(gather_results, (void *)(uintptr_t)1000, 2);
}

static void *count_one(void *arg) {
    atomic_fetch_add((_Atomic long *)arg, 1);
    return NULL;
}

struct many {
    long n;
    _Atomic long done;
    jg_stack_mode mode;
};

static void *spawn_many(void *arg) {
    struct many *m = arg;
    jg_task **t = malloc((size_t)m->n * sizeof(*t));
    jg_spawn_opts o = {.stack_mode = m->mode};
    for (long i = 0; i < m->n; i++) {
        cr_assert_eq(jg_spawn(&t[i], count_one, (void *)&m->done, &o), 0);
    }
    cr_assert_eq(jg_gather(t, (size_t)m->n, NULL), 0);
    free(t);
    return NULL;
}

Test(spawn, runs_100000_tasks, .timeout = 300) {
    jg_stack_mode modes[] = {JG_STACK_PRIVATE, JG_STACK_SHARED};
    long n = stress(100000);
    for (int i = 0; i < 2; i++) {
        for (int w = 1; w <= 2; w++) {
            struct many m = {.n = n, .mode = modes[i]};
            run_on(spawn_many, &m, w);
            cr_assert_eq(atomic_load(&m.done), n);
        }
    }
}

/* The name lives as long as the handle: copied out before the join. */
static void *name_of_self(void *arg) {
    char *out = arg;
    cr_assert_eq(jg_task_name(NULL), jg_task_name(jg_self()));
    if (out != NULL) {
        snprintf(out, 32, "%s", jg_task_name(NULL));
    }
    return out;
}

static void *names(void *arg) {
    (void)arg;
    cr_assert_str_eq(jg_task_name(NULL), "main");
    jg_task *a, *b, *c;
    jg_spawn_opts named = {.name = "fetcher"};
    char long_name[100];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[99] = '\0';
    jg_spawn_opts longer = {.name = long_name};
    char seen_a[32], seen_b[32];
    jg_spawn(&a, name_of_self, seen_a, &named);
    jg_spawn(&b, name_of_self, seen_b, NULL);
    jg_spawn(&c, name_of_self, NULL, &longer);
    cr_assert_str_eq(jg_task_name(a), "fetcher");
    cr_assert_str_eq(jg_task_name(b), "task-2");
    cr_assert_eq(strlen(jg_task_name(c)), 23);
    void *r;
    jg_join(a, &r);
    cr_assert_str_eq(r, "fetcher");
    /* Asked for before it ran, then from inside: the same default. */
    jg_join(b, NULL);
    cr_assert_str_eq(seen_b, "task-2");
    jg_join(c, NULL);
    return NULL;
}

Test(spawn, names_tasks) {
    run_on(names, NULL, 1);
}

static void *who_am_i(void *arg) {
    *(jg_task **)arg = jg_self();
    return NULL;
}

static void *self_is_the_handle(void *arg) {
    (void)arg;
    jg_task *seen = NULL, *t;
    jg_spawn(&t, who_am_i, &seen, NULL);
    jg_task *expected = t;
    jg_join(t, NULL);
    cr_assert_eq(seen, expected);
    return NULL;
}

Test(self, is_the_spawned_handle) {
    run_on(self_is_the_handle, NULL, 2);
}

static void *join_twice(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn(&t, twice, NULL, NULL);
    jg_join(t, NULL);
    jg_join(t, NULL); /* Contract violation: aborts with a message. */
    return NULL;
}

Test(join, twice_aborts, .signal = SIGABRT) {
    jg_run(join_twice, NULL, &(jg_run_opts){.workers = 1}, NULL);
}

/*
 * Stack donation (sched.c): on one worker, a task that has never run and
 * is picked right after another one returns starts on that task's stack,
 * without a switch. It must still be itself in every way: jg_self, its
 * name, its result, a cancellation sent before it started, its own
 * sleeps and joins; and tasks that cannot take the stack (shared mode, a
 * custom size) start the normal way in between.
 */
struct donated {
    jg_task *self;
    char name[32];
    bool sleeps;
    int sleep_rc;
    uintptr_t frame; /* Where its frame was: equal on a donated stack. */
};

static void *record_self(void *arg) {
    struct donated *d = arg;
    volatile char here = 0;
    d->frame = (uintptr_t)&here;
    d->self = jg_self();
    snprintf(d->name, sizeof(d->name), "%s", jg_task_name(NULL));
    if (d->sleeps) {
        d->sleep_rc = jg_sleep(1000); /* Delivers a pending cancel. */
    }
    return d;
}

static void *donation_chain(void *arg) {
    int workers = (int)(intptr_t)arg;
    enum { N = 64 };
    struct donated d[N];
    jg_task *t[N];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof(name), "chain-%d", i);
        jg_spawn_opts o = {.name = name};
        if (i % 8 == 5) {
            o.stack_mode = JG_STACK_SHARED; /* Cannot take the stack. */
        } else if (i % 8 == 6) {
            o.stack_size = 128 * 1024; /* Nor this one. */
        }
        d[i] = (struct donated){.sleeps = i % 10 == 0};
        cr_assert_eq(jg_spawn(&t[i], record_self, &d[i], &o), 0);
    }
    /* On one worker, cancelled before it ever ran: its first sleep says
     * so. Another worker may have run it already. */
    int cancel_rc = jg_cancel(t[10]);
    cr_assert(cancel_rc == 0 || (workers > 1 && cancel_rc == -EALREADY));
    for (int i = 0; i < N; i++) {
        void *r;
        cr_assert_eq(jg_join(t[i], &r), 0);
        cr_assert_eq(r, &d[i]);
        cr_assert_eq(d[i].self, t[i], "task %d saw another self", i);
        char want[16];
        snprintf(want, sizeof(want), "chain-%d", i);
        cr_assert_str_eq(d[i].name, want);
        if (i == 10 && workers > 1) {
            /* Cancelled at some point of its run, or after it. */
            cr_assert(d[i].sleep_rc == -ECANCELED || d[i].sleep_rc == 0);
            cr_assert(cancel_rc == 0 || d[i].sleep_rc == 0);
            continue;
        }
        cr_assert_eq(d[i].sleep_rc, i == 10 ? -ECANCELED : 0,
                     "task %d: sleep returned %d", i, d[i].sleep_rc);
    }
    if (workers == 1) {
        /* In spawn order on one worker (0, 10, 20, ... sleep, so the
         * next starts elsewhere): 2 started where 1 returned, the
         * cancelled 10 where 9 did, 8 after 7 (7 took a fresh stack after
         * 6's custom one); 5 (shared) and 6 (custom size) did not. */
        cr_assert_eq(d[2].frame, d[1].frame);
        cr_assert_eq(d[10].frame, d[9].frame);
        cr_assert_eq(d[8].frame, d[7].frame);
        cr_assert_neq(d[5].frame, d[4].frame);
        cr_assert_neq(d[6].frame, d[4].frame);
    }
    return NULL;
}

Test(spawn, a_task_started_on_a_donated_stack_is_itself) {
    run_on(donation_chain, (void *)1, 1);
    run_on(donation_chain, (void *)2, 2);
}

/* A handle given twice to one jg_gather would be joined, and freed,
 * twice: it is -EINVAL, and nothing is consumed. */
static void *ret_arg(void *arg) {
    return arg;
}

static void *gather_repeated_main(void *arg) {
    (void)arg;
    jg_task *a, *b;
    cr_assert_eq(jg_spawn(&a, ret_arg, (void *)1, NULL), 0);
    cr_assert_eq(jg_spawn(&b, ret_arg, (void *)2, NULL), 0);
    jg_task *twice[3] = {a, b, a};
    cr_assert_eq(jg_gather(twice, 3, NULL), -EINVAL);
    jg_task *adjacent[2] = {b, b};
    cr_assert_eq(jg_gather(adjacent, 2, NULL), -EINVAL);
    jg_yield(); /* Let them finish: the check must hold for done tasks. */
    cr_assert_eq(jg_gather(twice, 3, NULL), -EINVAL);
    jg_task *once[2] = {a, b};
    void *r[2] = {NULL, NULL};
    cr_assert_eq(jg_gather(once, 2, r), 0);
    cr_assert_eq((intptr_t)r[0], 1);
    cr_assert_eq((intptr_t)r[1], 2);
    /* The structs were freed once: two new tasks get two structs. */
    cr_assert_eq(jg_spawn(&a, ret_arg, NULL, NULL), 0);
    cr_assert_eq(jg_spawn(&b, ret_arg, NULL, NULL), 0);
    cr_assert_neq(a, b);
    cr_assert_eq(jg_gather(once, 0, NULL), 0);
    jg_task *last[2] = {a, b};
    cr_assert_eq(jg_gather(last, 2, NULL), 0);
    return NULL;
}

Test(gather, a_repeated_handle_is_einval_and_consumes_nothing) {
    run_on(gather_repeated_main, NULL, 1);
    run_on(gather_repeated_main, NULL, 2);
}

/*
 * Handles and exec parts are recycled through per-worker caches that hand
 * whole batches to the runtime and back (task.c). Many rounds of tasks
 * kept alive at once, spawned on one worker and joined on others, named
 * (an exec part at spawn), yielding (an exec part kept while queued) or
 * detached (freed by their own end): a struct handed out twice while in
 * use would show as a wrong result, a wrong name or an abort.
 */
struct recycle {
    long n;
    int round;
    jg_task **t;
    atomic_long detached_done;
};

static void *recycled(void *arg) {
    intptr_t v = (intptr_t)arg;
    if (v % 3 == 0) {
        jg_yield();
    }
    if (v % 5 == 0) {
        char want[32];
        snprintf(want, sizeof(want), "r%ld", (long)v);
        cr_assert_str_eq(jg_task_name(NULL), want);
    }
    return (void *)(v * 2 + 1);
}

static void *recycled_detached(void *arg) {
    struct recycle *r = arg;
    jg_yield();
    atomic_fetch_add(&r->detached_done, 1);
    return NULL;
}

/* Join every other handle of the round, starting at `first`. */
struct recycle_half {
    struct recycle *r;
    long first;
};

static void *join_half(void *arg) {
    struct recycle_half *h = arg;
    for (long i = h->first; i < h->r->n; i += 2) {
        void *res = NULL;
        cr_assert_eq(jg_join(h->r->t[i], &res), 0);
        intptr_t v = (intptr_t)h->r->round * h->r->n + i;
        cr_assert_eq((intptr_t)res, v * 2 + 1, "task %ld of round %d", i,
                     h->r->round);
    }
    return NULL;
}

static void *recycle_rounds(void *arg) {
    struct recycle *r = arg;
    for (r->round = 0; r->round < 6; r->round++) {
        for (long i = 0; i < r->n; i++) {
            intptr_t v = (intptr_t)r->round * r->n + i;
            char name[32];
            snprintf(name, sizeof(name), "r%ld", (long)v);
            jg_spawn_opts named = {.name = name};
            cr_assert_eq(jg_spawn(&r->t[i], recycled, (void *)v,
                                  v % 5 == 0 ? &named : NULL),
                         0);
            if (i % 7 == 0) {
                cr_assert_eq(jg_spawn(NULL, recycled_detached, r, NULL), 0);
            }
        }
        struct recycle_half halves[2] = {{r, 0}, {r, 1}};
        jg_task *joiners[2];
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(jg_spawn(&joiners[k], join_half, &halves[k], NULL),
                         0);
        }
        cr_assert_eq(jg_gather(joiners, 2, NULL), 0);
    }
    return NULL;
}

Test(spawn, recycles_handles_in_batches_across_workers, .timeout = 300) {
    for (int w = 1; w <= 2; w++) {
        struct recycle r = {.n = stress(20000)};
        r.t = malloc((size_t)r.n * sizeof(*r.t));
        cr_assert_not_null(r.t);
        run_on(recycle_rounds, &r, w);
        cr_assert_eq(atomic_load(&r.detached_done), 6 * ((r.n + 6) / 7));
        free(r.t);
    }
}

/*
 * A burst bigger than the deque spills to the global queue, whose
 * segments grow from 64 KiB to 2 MiB ones (queue.c). 600,000 tasks queued
 * on one worker cross small and big segments and a big one into the next:
 * each task must run exactly once.
 */
struct burst {
    long n;
    _Atomic unsigned char *ran;
};

struct burst_item {
    struct burst *b;
    long i;
};

static void *burst_one(void *arg) {
    struct burst_item *it = arg;
    atomic_fetch_add(&it->b->ran[it->i], 1);
    return NULL;
}

static void *burst_main(void *arg) {
    struct burst *b = arg;
    struct burst_item *items = malloc((size_t)b->n * sizeof(*items));
    cr_assert_not_null(items);
    for (long i = 0; i < b->n; i++) {
        items[i] = (struct burst_item){b, i};
        cr_assert_eq(jg_spawn(NULL, burst_one, &items[i], NULL), 0);
    }
    /* Main finishing first is fine: jg_run waits for every task. */
    jg_yield();
    return items;
}

Test(spawn, a_burst_through_the_global_queue_runs_each_task_once,
     .timeout = 300) {
    struct burst b = {.n = stress(600000)};
    b.ran = calloc((size_t)b.n, 1);
    cr_assert_not_null(b.ran);
    free(run_on(burst_main, &b, 1));
    for (long i = 0; i < b.n; i++) {
        cr_assert_eq(b.ran[i], 1, "task %ld ran %d times", i, b.ran[i]);
    }
    free((void *)b.ran);
}
