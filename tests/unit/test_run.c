/* SPDX-License-Identifier: MIT */
/*
 * test_run.c - jg_run(): options, results, nesting, worker counts, the
 * functions that work inside and outside the runtime, and jg_strerror.
 */
#include <errno.h>
#include <string.h>

#include "exec_check.h" /* count_fds() */
#include "helpers.h"

static void *answer(void *arg) {
    (void)arg;
    return (void *)42;
}

Test(run, returns_mains_result) {
    cr_assert_eq((intptr_t)run_on(answer, NULL, 1), 42);
    cr_assert_eq((intptr_t)run_on(answer, NULL, 2), 42);
    cr_assert_eq((intptr_t)run_on(answer, NULL, 0), 42);
}

Test(run, accepts_null_opts_and_null_result) {
    cr_assert_eq(jg_run(answer, NULL, NULL, NULL), 0);
}

Test(run, rejects_bad_arguments) {
    cr_assert_eq(jg_run(NULL, NULL, NULL, NULL), -EINVAL);
    jg_run_opts bad[] = {
        {.workers = -1},
        {.workers = 1025},
        {.stack_mode = (jg_stack_mode)3},
        {.stack_mode = (jg_stack_mode)-1},
        {.stack_size = 1024},
        {.stack_size = (size_t)2 << 30},
        {.shared_stack_size = 100},
        {.guard = (jg_guard_mode)3},
        {.queue_capacity = 3},
        {.queue_capacity = 1},
        {.queue_capacity = -4},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *r = (void *)7;
        cr_assert_eq(jg_run(answer, NULL, &bad[i], &r), -EINVAL,
                     "options #%zu accepted", i);
        cr_assert_eq((intptr_t)r, 7, "result written on error");
    }
}

static void *nested(void *arg) {
    (void)arg;
    return (void *)(intptr_t)jg_run(answer, NULL, NULL, NULL);
}

Test(run, refuses_to_nest_inside_a_task) {
    cr_assert_eq((intptr_t)run_on(nested, NULL, 1), -EBUSY);
}

static void *report_workers(void *arg) {
    int *out = arg;
    out[0] = jg_worker_count();
    out[1] = jg_worker_index();
    return NULL;
}

Test(run, counts_its_workers) {
    for (int w = 1; w <= 4; w++) {
        int out[2] = {-5, -5};
        run_on(report_workers, out, w);
        cr_assert_eq(out[0], w);
        cr_assert(out[1] >= 0 && out[1] < w);
    }
    int out[2];
    run_on(report_workers, out, 0);
    cr_assert(out[0] >= 1);
}

Test(run, outside_a_task_there_is_no_worker_or_self) {
    cr_assert_eq(jg_worker_index(), -1);
    cr_assert_eq(jg_worker_count(), 0);
    cr_assert_null(jg_self());
    cr_assert_str_eq(jg_task_name(NULL), "");
    cr_assert_eq(jg_yield(), 0);
}

Test(run, runs_again_and_again) {
    for (int i = 0; i < 50; i++) {
        cr_assert_eq((intptr_t)run_on(answer, NULL, 1 + i % 3), 42);
    }
}

static void *grandchild(void *arg) {
    _Atomic int *n = arg;
    jg_sleep(JG_MS(20));
    atomic_fetch_add(n, 1);
    return NULL;
}

static void *child(void *arg) {
    for (int i = 0; i < 3; i++) {
        jg_spawn(NULL, grandchild, arg, NULL);
    }
    atomic_fetch_add((_Atomic int *)arg, 1);
    return NULL;
}

static void *spawn_detached_and_leave(void *arg) {
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(jg_spawn(NULL, child, arg, NULL), 0);
    }
    return NULL; /* Nobody waits: jg_run must. */
}

Test(run, waits_for_every_task_not_just_main) {
    _Atomic int n = 0;
    run_on(spawn_detached_and_leave, (void *)&n, 2);
    cr_assert_eq(atomic_load(&n), 5 + 15);
}

static void *spawn_and_forget(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        jg_task *t;
        jg_spawn(&t, answer, NULL, NULL); /* Never joined. */
    }
    return NULL;
}

Test(run, releases_handles_never_joined) {
    run_on(spawn_and_forget, NULL, 2); /* run_on checks for leaks. */
}

struct fd_counts {
    int before, compute, io;
};

static void *compute_then_io(void *arg) {
    struct fd_counts *c = arg;
    c->compute = count_fds();
    jg_runtime_info info;
    cr_assert_eq(jg_runtime_info_get(&info), 0); /* Needs the poller. */
    c->io = count_fds();
    return NULL;
}

/* The poller (an io_uring or epoll fd, plus an eventfd) is opened by the
 * first task that needs it, not by jg_run: a runtime that only computes
 * never sets it up. */
Test(run, opens_the_poller_only_when_a_task_needs_it) {
    for (int workers = 1; workers <= 2; workers++) {
        struct fd_counts c;
        c.before = count_fds();
        jg_run_opts o = {.workers = workers};
        cr_assert_eq(jg_run(compute_then_io, &c, &o, NULL), 0);
        cr_assert_eq(c.compute, c.before, "%d workers: fds before any I/O",
                     workers);
        cr_assert_gt(c.io, c.compute, "%d workers: no poller fd", workers);
        cr_assert_eq(count_fds(), c.before, "%d workers: fds left behind",
                     workers);
    }
}

Test(strerror, names_errors) {
    cr_assert_str_eq(jg_strerror(0), "success");
    cr_assert_str_eq(jg_strerror(5), "success");
    cr_assert_str_eq(jg_strerror(-EINVAL), strerror(EINVAL));
    cr_assert_str_eq(jg_strerror(-ECANCELED), strerror(ECANCELED));
    cr_assert_str_eq(jg_strerror(-ETIMEDOUT), strerror(ETIMEDOUT));
    cr_assert_not_null(jg_strerror(-100000));
    cr_assert_not_null(jg_strerror(-2147483647));
}

Test(now, is_monotonic) {
    int64_t a = jg_now();
    for (int i = 0; i < 1000; i++) {
        int64_t b = jg_now();
        cr_assert(b >= a);
        a = b;
    }
    cr_assert(a > 0);
}
