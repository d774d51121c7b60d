/* SPDX-License-Identifier: MIT */
/*
 * test_stacks.c - private and shared stacks: sizes, deep frames, the bytes
 * of shared-stack tasks surviving switches, pinning, slab carving (few
 * mappings for many stacks), guard modes, and the overflow message.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/san.h"
#include "helpers.h"

static long recurse(int n) {
    volatile char pad[1024];
    pad[0] = (char)n;
    pad[1023] = 1;
    return n == 0 ? 0 : pad[1023] + recurse(n - 1);
}

static void *deep(void *arg) {
    return (void *)recurse((int)(intptr_t)arg);
}

static void *deep_in_big_stack(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn_opts o = {.stack_size = 2 << 20, .name = "deep"};
    cr_assert_eq(jg_spawn(&t, deep, (void *)(intptr_t)1000, &o), 0);
    void *r;
    cr_assert_eq(jg_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, 1000);
    return NULL;
}

Test(stacks, a_bigger_stack_holds_deeper_frames) {
    run_on(deep_in_big_stack, NULL, 2);
}

struct keeper {
    int id;
    _Atomic long *bad;
};

/* Locals must survive every switch, on any kind of stack. */
static void *keep_locals(void *arg) {
    struct keeper *k = arg;
    volatile unsigned char buf[3000];
    for (int i = 0; i < 3000; i++) {
        buf[i] = (unsigned char)(k->id * 31 + i);
    }
    int home = jg_worker_index();
    jg_task *self = jg_self();
    for (int round = 0; round < 20; round++) {
        if (round % 2) {
            jg_yield();
        } else {
            jg_sleep(JG_US(50 + k->id % 7));
        }
        for (int i = 0; i < 3000; i++) {
            if (buf[i] != (unsigned char)(k->id * 31 + i)) {
                atomic_fetch_add(k->bad, 1);
                break;
            }
        }
        if (jg_self() != self) {
            atomic_fetch_add(k->bad, 1);
        }
        /* A shared-stack task never leaves its first worker. */
        if (jg_worker_index() != home) {
            atomic_fetch_add(k->bad, 1000000);
        }
    }
    return NULL;
}

struct mix {
    int n;
    _Atomic long bad;
    int shared_only;
};

static void *spawn_keepers(void *arg) {
    struct mix *m = arg;
    jg_task **t = malloc((size_t)m->n * sizeof(*t));
    struct keeper *k = malloc((size_t)m->n * sizeof(*k));
    for (int i = 0; i < m->n; i++) {
        k[i] = (struct keeper){i, &m->bad};
        jg_spawn_opts o = {.stack_mode = m->shared_only || i % 2
                                             ? JG_STACK_SHARED
                                             : JG_STACK_PRIVATE};
        cr_assert_eq(jg_spawn(&t[i], keep_locals, &k[i], &o), 0);
    }
    jg_gather(t, (size_t)m->n, NULL);
    free(t);
    free(k);
    return NULL;
}

Test(stacks, shared_stack_tasks_keep_their_bytes_and_their_worker,
     .timeout = 120) {
    for (int w = 1; w <= 3; w++) {
        struct mix m = {.n = 300, .shared_only = 1};
        run_on(spawn_keepers, &m, w);
        cr_assert_eq(atomic_load(&m.bad), 0, "%ld corruptions on %d workers",
                     atomic_load(&m.bad), w);
    }
}

Test(stacks, private_and_shared_tasks_mix, .timeout = 120) {
    for (int w = 1; w <= 3; w++) {
        struct mix m = {.n = 300};
        run_on(spawn_keepers, &m, w);
        cr_assert_eq(atomic_load(&m.bad) % 1000000, 0);
    }
}

Test(stacks, runtime_default_mode_shared) {
    struct mix m = {.n = 200};
    run_opts(spawn_keepers, &m,
             (jg_run_opts){.workers = 2, .stack_mode = JG_STACK_SHARED});
    cr_assert_eq(atomic_load(&m.bad) % 1000000, 0);
}

static long count_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

struct slabs {
    long before, during;
    jg_guard_mode guard;
};

static void *nap_forever(void *arg) {
    (void)arg;
    jg_sleep_until(JG_FOREVER);
    return NULL;
}

static void *many_stacks(void *arg) {
    struct slabs *s = arg;
    long n = stress(50000);
    jg_task **t = malloc((size_t)n * sizeof(*t));
    for (long i = 0; i < n; i++) {
        cr_assert_eq(jg_spawn(&t[i], nap_forever, NULL, NULL), 0);
    }
    jg_yield(); /* On one worker: every task now sleeps on its stack. */
    s->during = count_mappings();
    for (long i = 0; i < n; i++) {
        jg_cancel(t[i]);
    }
    jg_gather(t, (size_t)n, NULL);
    free(t);
    return NULL;
}

/* 50,000 live private stacks take a few hundred mappings, not 50,000:
 * stacks are carved from slabs (vm.max_map_count is 65530). TSan maps
 * shadow memory of its own as the stacks are touched, so there the count
 * says nothing about juggle. */
#ifndef JG_TSAN
Test(stacks, are_carved_from_slabs, .timeout = 120) {
    jg_guard_mode modes[] = {JG_GUARD_DEFAULT, JG_GUARD_NEVER};
    for (int i = 0; i < 2; i++) {
        struct slabs s = {.before = count_mappings(), .guard = modes[i]};
        run_opts(many_stacks, &s,
                 (jg_run_opts){.workers = 1, .guard = modes[i]});
        long added = s.during - s.before;
        cr_assert(added < 2000, "%ld mappings for 50,000 stacks", added);
    }
}
#endif

Test(stacks, guard_always_runs_tasks) {
    struct mix m = {.n = 100};
    run_opts(spawn_keepers, &m,
             (jg_run_opts){.workers = 2, .guard = JG_GUARD_ALWAYS});
    cr_assert_eq(atomic_load(&m.bad) % 1000000, 0);
}

/* ---- overflow: in a child process, with stderr captured ---- */

static volatile long bottomless = -1; /* Never reached: recurse on. */

/* Frames well under the guard page, so the overflow lands in it rather than
 * jumping past it (as with threads, a frame bigger than the guard can skip
 * it; gcc's -fstack-clash-protection makes such frames probe each page). */
static long unbounded(long n) {
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == bottomless) {
        return 0;
    }
    return pad[0] + unbounded(n + 1) + pad[100];
}

static void *overflow(void *arg) {
    (void)arg;
    return (void *)unbounded(0);
}

static void *spawn_overflow(void *arg) {
    jg_spawn_opts o = {.name = "runaway",
                       .stack_mode = (jg_stack_mode)(intptr_t)arg};
    jg_task *t;
    jg_spawn(&t, overflow, NULL, &o);
    jg_join(t, NULL);
    return NULL;
}

/* On one worker "runaway" starts on the stack that "first" has just
 * returned on (stack donation, sched.c): the message must still name it. */
static void *spawn_overflow_donated(void *arg) {
    (void)arg;
    jg_spawn_opts f = {.name = "first"};
    jg_spawn_opts o = {.name = "runaway"};
    jg_task *a, *t;
    jg_spawn(&a, deep, (void *)(intptr_t)1, &f);
    jg_spawn(&t, overflow, NULL, &o);
    jg_join(t, NULL);
    return NULL;
}

static void expect_overflow_message_of(jg_task_fn fn, void *arg,
                                       int workers) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        jg_run(fn, arg, &(jg_run_opts){.workers = workers}, NULL);
        _exit(0); /* Not reached: the overflow ends the process. */
    }
    close(fds[1]);
    char buf[4096] = {0};
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
#if defined(JG_ASAN) || defined(JG_TSAN)
    /* The sanitizers catch the overflow themselves and report it. */
    cr_assert(status != 0, "the overflowing child exited cleanly");
    cr_assert(strstr(buf, "overflowed its stack") != NULL ||
                  strstr(buf, "stack-overflow") != NULL,
              "stderr: %s", buf);
#else
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "child status %#x, stderr: %s", status, buf);
    cr_assert_not_null(strstr(buf, "juggle: task 'runaway' overflowed its "
                                   "stack"),
                       "stderr: %s", buf);
#endif
}

static void expect_overflow_message(jg_stack_mode mode) {
    expect_overflow_message_of(spawn_overflow, (void *)(intptr_t)mode, 2);
}

Test(stacks, overflow_names_the_task_on_a_donated_stack, .timeout = 60) {
    expect_overflow_message_of(spawn_overflow_donated, NULL, 1);
}

Test(stacks, overflow_names_the_task_private, .timeout = 60) {
    expect_overflow_message(JG_STACK_PRIVATE);
}

Test(stacks, overflow_names_the_task_shared, .timeout = 60) {
    expect_overflow_message(JG_STACK_SHARED);
}
