/* SPDX-License-Identifier: MIT */
/*
 * test_spawn_join.c - jg_spawn, jg_join, jg_gather, jg_self and names:
 * results, every error return, many tasks, misuse that aborts.
 */
#include <errno.h>
#include <signal.h>
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

static void *name_of_self(void *arg) {
    (void)arg;
    cr_assert_eq(jg_task_name(NULL), jg_task_name(jg_self()));
    return (void *)jg_task_name(NULL);
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
    jg_spawn(&a, name_of_self, NULL, &named);
    jg_spawn(&b, name_of_self, NULL, NULL);
    jg_spawn(&c, name_of_self, NULL, &longer);
    cr_assert_str_eq(jg_task_name(a), "fetcher");
    cr_assert_str_eq(jg_task_name(b), "task-2");
    cr_assert_eq(strlen(jg_task_name(c)), 23);
    void *r;
    jg_join(a, &r);
    cr_assert_str_eq(r, "fetcher");
    jg_join(b, NULL);
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
