/* SPDX-License-Identifier: MIT */
/*
 * test_exec_stress.c - many futures on thread and process pools, submitted,
 * waited (with and without deadlines), cancelled and freed in random order
 * by tasks on two workers and by plain threads at once; processes started
 * and joined from several threads and tasks at once. Nothing may be lost,
 * run twice, leaked or left unreaped.
 */
#include <string.h>

#include "exec_check.h"

/* jg_run on two workers without run_on's leak check, which counts the
 * whole process and so would see the other threads' allocations. */
static void run2(jg_task_fn fn, void *arg) {
    jg_run_opts o = {.workers = 2};
    cr_assert_eq(jg_run(fn, arg, &o, NULL), 0);
}

static void *triple(void *arg) {
    intptr_t x = (intptr_t)arg;
    if (x % 7 == 0) {
        jg_sleep(JG_US(50)); /* Some items take a little while. */
    }
    return (void *)(x * 3);
}

struct load {
    jg_pool *pool;
    long items;
    uint32_t seed;
    _Atomic long *ran_ok; /* Waits that returned the right result. */
};

/* Submit `items` in batches; cancel, free early or wait at random. */
static void *drive(void *arg) {
    struct load *l = arg;
    uint32_t rng = l->seed;
    enum { B = 64 };
    jg_future *f[B];
    for (long done = 0; done < l->items; done += B) {
        for (intptr_t i = 0; i < B; i++) {
            cr_assert_eq(
                jg_pool_submit(l->pool, &f[i], triple, (void *)(done + i)), 0);
        }
        for (intptr_t i = 0; i < B; i++) {
            uint32_t r = rnd(&rng) % 8;
            void *res = NULL;
            if (r == 0) {
                int rc = jg_future_cancel(f[i]);
                cr_assert(rc == 0 || rc == -EBUSY || rc == -EALREADY);
                rc = jg_future_wait(f[i], JG_FOREVER, &res);
                cr_assert(rc == 0 || rc == -ECANCELED, "rc %d", rc);
                if (rc == 0) {
                    cr_assert_eq((intptr_t)res, 3 * (done + i));
                }
            } else if (r == 1) {
                /* Freed without a wait: it is cancelled or dropped. */
            } else {
                int rc =
                    jg_future_wait(f[i], r == 2 ? jg_now() : JG_FOREVER, &res);
                if (rc == -ETIMEDOUT) {
                    rc = jg_future_wait(f[i], JG_FOREVER, &res);
                }
                cr_assert_eq(rc, 0);
                cr_assert_eq((intptr_t)res, 3 * (done + i));
                atomic_fetch_add(l->ran_ok, 1);
            }
            jg_future_free(f[i]);
        }
    }
    return NULL;
}

static void *tasks_drive(void *arg) {
    struct load *l = arg;
    jg_task *t[4];
    struct load sub[4];
    for (int i = 0; i < 4; i++) {
        sub[i] = *l;
        sub[i].seed = l->seed * 31 + (uint32_t)i + 1;
        cr_assert_eq(jg_spawn(&t[i], drive, &sub[i], NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 4, NULL), 0);
    return NULL;
}

static void *run_tasks(void *arg) {
    run2(tasks_drive, arg);
    return NULL;
}

static void futures(jg_pool_kind kind, long items) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = 3};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    _Atomic long ok = 0;
    struct load l[3];
    jg_thread *th[3];
    for (int i = 0; i < 3; i++) {
        l[i] = (struct load){p, items, (uint32_t)(i * 7919 + 1), &ok};
        /* Thread 0 drives four tasks on a runtime of its own. */
        cr_assert_eq(
            jg_thread_start(&th[i], i == 0 ? run_tasks : drive, &l[i], NULL),
            0);
    }
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(jg_thread_join(th[i], NULL), 0);
    }
    cr_assert(atomic_load(&ok) > 0);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

Test(stress, futures_on_a_thread_pool, .timeout = 600) {
    futures(JG_POOL_THREADS, stress(20000));
}

Test(stress, futures_on_a_process_pool, .timeout = 600) {
    futures(JG_POOL_PROCESSES, stress(5000));
}

static void *plus(void *arg) {
    return (void *)((intptr_t)arg + 1);
}

static void *start_join(void *arg) {
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        jg_process *p;
        jg_thread *t;
        cr_assert_eq(jg_process_start(&p, plus, (void *)(intptr_t)i, NULL), 0);
        cr_assert_eq(jg_thread_start(&t, plus, (void *)(intptr_t)i, NULL), 0);
        void *r, *s;
        cr_assert_eq(jg_thread_join(t, &s), 0);
        cr_assert_eq(jg_process_join(p, &r, NULL), 0);
        cr_assert_eq((intptr_t)r, i + 1);
        cr_assert_eq((intptr_t)s, i + 1);
    }
    return NULL;
}

static void *start_join_tasks(void *arg) {
    jg_task *t[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jg_spawn(&t[i], start_join, arg, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 4, NULL), 0);
    return NULL;
}

static void *run_start_join_tasks(void *arg) {
    run2(start_join_tasks, arg);
    return NULL;
}

Test(stress, processes_and_threads_from_everywhere, .timeout = 600) {
    struct leakcheck lc = leak_begin();
    void *n = (void *)(intptr_t)stress(300);
    jg_thread *th[3];
    cr_assert_eq(jg_thread_start(&th[0], run_start_join_tasks, n, NULL), 0);
    cr_assert_eq(jg_thread_start(&th[1], start_join, n, NULL), 0);
    cr_assert_eq(jg_thread_start(&th[2], start_join, n, NULL), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(jg_thread_join(th[i], NULL), 0);
    }
    leak_end(lc);
}
