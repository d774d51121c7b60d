/* SPDX-License-Identifier: MIT */
/*
 * test_exec_models.c - one function, every model: the same task function
 * (it sleeps with jg_sleep, then computes) runs serially, as juggle tasks
 * on 1 and 2 workers, on OS threads, in child processes, and through a
 * thread pool and a process pool; every model must give the same results.
 */
#include <string.h>

#include "exec_check.h"

enum { N = 8 };

static int64_t fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* The task function: the one piece of code every model runs. */
static void *work(void *arg) {
    intptr_t i = (intptr_t)arg;
    jg_sleep(JG_MS(2 + i % 3)); /* Suspends a task, blocks a thread. */
    return (void *)(intptr_t)(fib(10 + (int)i) * 1000 + i);
}

static void serial(intptr_t *r) {
    for (intptr_t i = 0; i < N; i++) {
        r[i] = (intptr_t)work((void *)i);
    }
}

static void *tasks_main(void *arg) {
    intptr_t *r = arg;
    jg_task *t[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_spawn(&t[i], work, (void *)i, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, N, (void **)r), 0);
    return NULL;
}

static void threads(intptr_t *r) {
    jg_thread *t[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_thread_start(&t[i], work, (void *)i, NULL), 0);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(jg_thread_join(t[i], (void **)&r[i]), 0);
    }
}

static void processes(intptr_t *r) {
    jg_process *p[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_process_start(&p[i], work, (void *)i, NULL), 0);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(jg_process_join(p[i], &r[i], NULL), 0);
    }
}

static void pool(jg_pool_kind kind, intptr_t *r) {
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = 2};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_pool_submit(p, &f[i], work, (void *)i), 0);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r[i]), 0);
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_free(p), 0);
}

/* The same models, started from inside a task (the waits suspend it). */
static void *all_in_a_task(void *arg) {
    intptr_t(*r)[N] = arg;
    threads(r[0]);
    processes(r[1]);
    pool(JG_POOL_THREADS, r[2]);
    pool(JG_POOL_PROCESSES, r[3]);
    return NULL;
}

Test(models, one_function_every_model, .timeout = 120) {
    struct leakcheck lc = leak_begin();
    intptr_t want[N];
    serial(want);
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(want[i], (intptr_t)(fib(10 + (int)i) * 1000 + i));
    }
    intptr_t got[N];
    const char *names[] = {"tasks/1",   "tasks/2",     "threads",
                           "processes", "thread pool", "process pool"};
    for (int m = 0; m < 6; m++) {
        memset(got, 0, sizeof(got));
        switch (m) {
        case 0:
            run_on(tasks_main, got, 1);
            break;
        case 1:
            run_on(tasks_main, got, 2);
            break;
        case 2:
            threads(got);
            break;
        case 3:
            processes(got);
            break;
        case 4:
            pool(JG_POOL_THREADS, got);
            break;
        default:
            pool(JG_POOL_PROCESSES, got);
            break;
        }
        for (int i = 0; i < N; i++) {
            cr_assert_eq(got[i], want[i], "%s, item %d", names[m], i);
        }
    }
    for (int w = 1; w <= 2; w++) {
        intptr_t in_task[4][N];
        memset(in_task, 0, sizeof(in_task));
        run_on(all_in_a_task, in_task, w);
        for (int m = 0; m < 4; m++) {
            for (int i = 0; i < N; i++) {
                cr_assert_eq(in_task[m][i], want[i], "in a task on %d: %s", w,
                             names[m + 2]);
            }
        }
    }
    leak_end(lc);
}
