/* SPDX-License-Identifier: MIT */
/*
 * test_exec_thread.c - jg_thread_start / jg_thread_join: results, names,
 * stack sizes, every error, creation failure, and joins from inside tasks
 * that suspend the task while the other tasks keep running.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "exec_check.h"

static void *twice(void *arg) {
    return (void *)((intptr_t)arg * 2);
}

Test(thread, returns_the_result) {
    struct leakcheck lc = leak_begin();
    jg_thread *t[16];
    for (intptr_t i = 0; i < 16; i++) {
        cr_assert_eq(jg_thread_start(&t[i], twice, (void *)i, NULL), 0);
    }
    for (intptr_t i = 0; i < 16; i++) {
        void *r = NULL;
        cr_assert_eq(jg_thread_join(t[i], &r), 0);
        cr_assert_eq((intptr_t)r, 2 * i);
    }
    cr_assert_eq(jg_thread_start(&t[0], twice, NULL, NULL), 0);
    cr_assert_eq(jg_thread_join(t[0], NULL), 0); /* NULL result is fine. */
    leak_end(lc);
}

static void *read_name(void *arg) {
    char *buf = arg;
    FILE *f = fopen("/proc/thread-self/comm", "r");
    cr_assert(f != NULL);
    cr_assert(fgets(buf, 32, f) != NULL);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return NULL;
}

Test(thread, has_its_name) {
    char name[32];
    jg_thread *t;
    jg_thread_opts o = {.name = "worker-seven"};
    cr_assert_eq(jg_thread_start(&t, read_name, name, &o), 0);
    cr_assert_eq(jg_thread_join(t, NULL), 0);
    cr_assert_str_eq(name, "worker-seven");
    cr_assert_eq(jg_thread_start(&t, read_name, name, NULL), 0);
    cr_assert_eq(jg_thread_join(t, NULL), 0);
    cr_assert_str_eq(name, "jg-thread");
    o.name = "a-name-longer-than-fifteen";
    cr_assert_eq(jg_thread_start(&t, read_name, name, &o), 0);
    cr_assert_eq(jg_thread_join(t, NULL), 0);
    cr_assert_str_eq(name, "a-name-longer-t");
}

Test(thread, takes_a_stack_size) {
    jg_thread *t;
    jg_thread_opts o = {.stack_size = 1 << 20};
    cr_assert_eq(jg_thread_start(&t, thread_stack_size, NULL, &o), 0);
    void *r;
    cr_assert_eq(jg_thread_join(t, &r), 0);
    cr_assert((size_t)r >= (size_t)1 << 20, "stack of %zu", (size_t)r);
}

Test(thread, rejects_bad_arguments) {
    struct leakcheck lc = leak_begin();
    jg_thread *t = (jg_thread *)0x1;
    cr_assert_eq(jg_thread_start(NULL, twice, NULL, NULL), -EINVAL);
    cr_assert_eq(jg_thread_start(&t, NULL, NULL, NULL), -EINVAL);
    jg_thread_opts small = {.stack_size = 4096};
    cr_assert_eq(jg_thread_start(&t, twice, NULL, &small), -EINVAL);
    cr_assert_eq((uintptr_t)t, 1, "out written on error");
    cr_assert_eq(jg_thread_join(NULL, NULL), -EINVAL);
    leak_end(lc);
}

Test(thread, creation_failure_is_eagain) {
    struct leakcheck lc = leak_begin();
    jg_thread *t = (jg_thread *)0x1;
    /* No system can map a 2^50-byte stack: pthread_create fails. */
    jg_thread_opts huge = {.stack_size = (size_t)1 << 50};
    cr_assert_eq(jg_thread_start(&t, twice, NULL, &huge), -EAGAIN);
    cr_assert_eq((uintptr_t)t, 1, "out written on error");
    leak_end(lc);
}

static void *join_self(void *arg) {
    jg_thread **me = arg;
    /* Wait until the starter stored our handle. */
    while (__atomic_load_n(me, __ATOMIC_ACQUIRE) == NULL) {
        sched_yield();
    }
    return (void *)(intptr_t)jg_thread_join(*me, NULL);
}

Test(thread, joining_itself_is_edeadlk) {
    jg_thread *me = NULL, *t;
    cr_assert_eq(jg_thread_start(&t, join_self, &me, NULL), 0);
    __atomic_store_n(&me, t, __ATOMIC_RELEASE);
    void *r;
    cr_assert_eq(jg_thread_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, -EDEADLK);
}

/* ---- joins from tasks ---- */

static void *gated(void *arg) {
    struct held *w = arg;
    gate_pass(&w->g);
    return (void *)7;
}

static void *join_suspends(void *arg) {
    (void)arg;
    struct held w = {0};
    gate_open(&w.g);
    jg_task *ticker, *rel;
    cr_assert_eq(jg_spawn(&ticker, tick, &w.tk, NULL), 0);
    jg_thread *t;
    cr_assert_eq(jg_thread_start(&t, gated, &w, NULL), 0);
    cr_assert_eq(jg_spawn(&rel, release_later, &w, NULL), 0);
    /* On one worker the gate opens only if this join lets the ticker and
     * the releaser run: a join that blocked the worker would hang. */
    void *r;
    cr_assert_eq(jg_thread_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, 7);
    cr_assert(atomic_load(&w.tk.ticks) >= 100);
    atomic_store(&w.tk.stop, 1);
    jg_join(rel, NULL);
    jg_join(ticker, NULL);
    gate_close(&w.g);
    return NULL;
}

Test(thread, join_in_a_task_suspends_only_the_task, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    run_on(join_suspends, NULL, 1);
    run_on(join_suspends, NULL, 2);
    leak_end(lc);
}

static void *many_joins(void *arg) {
    (void)arg;
    enum { N = 32 };
    jg_thread *t[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_thread_start(&t[i], twice, (void *)i, NULL), 0);
    }
    for (intptr_t i = N - 1; i >= 0; i--) {
        void *r;
        cr_assert_eq(jg_thread_join(t[i], &r), 0);
        cr_assert_eq((intptr_t)r, 2 * i);
    }
    return NULL;
}

static void *joiners(void *arg) {
    (void)arg;
    jg_task *t[8];
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(jg_spawn(&t[i], many_joins, NULL, NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 8, NULL), 0);
    return NULL;
}

Test(thread, many_tasks_join_many_threads, .timeout = 120) {
    for (long r = 0; r < stress(20); r++) {
        run_on(joiners, NULL, 2);
    }
}

/*
 * jg_thread_join is not a cancellation point, yet jg_cancel() ends any
 * park of its task: the join must wait again (suspended), not fall back
 * to blocking its worker in pthread_join. On one worker the thread can
 * only finish after main runs again (it posts the semaphore), so a
 * blocked worker would never let it: the test would time out.
 */
#include <semaphore.h>

static sem_t cancel_gate;

static void *gated_42(void *arg) {
    (void)arg;
    sem_wait(&cancel_gate);
    return (void *)42;
}

static void *cancelled_joiner(void *arg) {
    jg_thread *th = arg;
    void *r = NULL;
    cr_assert_eq(jg_thread_join(th, &r), 0);
    cr_assert_eq((intptr_t)r, 42);
    /* The cancel waits for the next cancellation point. */
    cr_assert_eq(jg_sleep(JG_MS(1)), -ECANCELED);
    return NULL;
}

static void *cancel_join_main(void *arg) {
    (void)arg;
    jg_thread *th;
    cr_assert_eq(jg_thread_start(&th, gated_42, NULL, NULL), 0);
    jg_task *j;
    cr_assert_eq(jg_spawn(&j, cancelled_joiner, th, NULL), 0);
    jg_sleep(JG_MS(20)); /* j waits in the join now. */
    cr_assert_eq(jg_cancel(j), 0);
    jg_sleep(JG_MS(20)); /* j is woken by the cancel and must wait on. */
    sem_post(&cancel_gate);
    cr_assert_eq(jg_join(j, NULL), 0);
    return NULL;
}

Test(thread, a_cancelled_join_keeps_waiting_without_blocking_the_worker,
     .timeout = 30) {
    cr_assert_eq(sem_init(&cancel_gate, 0, 0), 0);
    run_on(cancel_join_main, NULL, 1);
    sem_destroy(&cancel_gate);
}
