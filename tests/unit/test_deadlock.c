/* SPDX-License-Identifier: MIT */
/*
 * Deadlock detection (queue.c, "Deadlock"): tasks that all wait in
 * jg_join() or jg_gather() for one another end the program with a message
 * that names them (in a child process, stderr captured); waits that
 * something else can end (a timer, I/O, the blocking pool, another
 * thread) are never taken for one, however long they last.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <juggle.h>

#include "core/fork.h"
#include "core/sched.h"
#include "helpers.h"

/* ---- deadlocks, in a child ---- */

/* Run fn on `workers` workers in a child; return its stderr in buf and
 * assert that it ended by SIGABRT. */
static void run_child(jg_task_fn fn, int workers, char *buf, size_t cap) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* A deadlock missed would hang the child and, through the pipe,
         * the test: end it instead (SIGALRM fails the check below). */
        alarm(30);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        jg_run(fn, NULL, &(jg_run_opts){.workers = workers}, NULL);
        _exit(0); /* Not reached: the deadlock ends the process. */
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap &&
           (n = read(fds[0], buf + got, cap - 1 - got)) > 0) {
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fds[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "child status %#x, stderr: %s", status, buf);
}

/* main joins "partner", which joins main. */
static jg_task *main_task;

static void *join_main(void *arg) {
    (void)arg;
    jg_join(main_task, NULL);
    return NULL;
}

static void *two_cycle(void *arg) {
    (void)arg;
    main_task = jg_self();
    jg_task *t;
    jg_spawn(&t, join_main, NULL, &(jg_spawn_opts){.name = "partner"});
    jg_join(t, NULL);
    return NULL;
}

static void expect_two_cycle(int workers) {
    char buf[4096];
    run_child(two_cycle, workers, buf, sizeof(buf));
    cr_assert_not_null(strstr(buf, "juggle: deadlock: all 2 unfinished "
                                   "tasks wait in jg_join(), jg_gather() or "
                                   "jg_par_join()"),
                       "stderr: %s", buf);
    /* Either task may be where the report starts. */
    bool from_main = strstr(buf, "task 'main' waits for task 'partner'\n"
                                 "juggle:   task 'partner' waits for task "
                                 "'main', which closes the cycle") != NULL;
    bool from_partner =
        strstr(buf, "task 'partner' waits for task 'main'\n"
                    "juggle:   task 'main' waits for task 'partner', which "
                    "closes the cycle") != NULL;
    cr_assert(from_main || from_partner, "stderr: %s", buf);
}

Test(deadlock, main_and_a_task_joining_each_other_one_worker,
     .timeout = 60) {
    expect_two_cycle(1);
}

Test(deadlock, main_and_a_task_joining_each_other_two_workers,
     .timeout = 60) {
    expect_two_cycle(2);
}

/* The last worker to go idle may look while the other one is idle but not
 * asleep yet, and that one never looks itself: the last one must look
 * again. Repeated, so that the window is hit now and then (it was, about
 * one run in ten under ThreadSanitizer, and the deadlock went unreported). */
Test(deadlock, is_reported_every_time_on_two_workers, .timeout = 300) {
    for (int i = 0; i < 12; i++) {
        expect_two_cycle(2);
    }
}

/* main joins A; A gathers [B, C]; B finishes; C joins main. Handles are
 * published before any of them looks (with two workers they start at
 * once). */
static jg_task *ring[3];
static atomic_int ring_ready;

static void wait_ring(void) {
    while (!atomic_load(&ring_ready)) {
        jg_yield();
    }
}

static void *ring_a(void *arg) {
    (void)arg;
    wait_ring();
    jg_task *both[2] = {ring[1], ring[2]};
    jg_gather(both, 2, NULL);
    return NULL;
}

static void *ring_b(void *arg) {
    (void)arg;
    wait_ring();
    return NULL;
}

static void *ring_c(void *arg) {
    (void)arg;
    wait_ring();
    jg_join(main_task, NULL);
    return NULL;
}

static void *gather_cycle(void *arg) {
    (void)arg;
    main_task = jg_self();
    jg_spawn(&ring[0], ring_a, NULL, &(jg_spawn_opts){.name = "a"});
    jg_spawn(&ring[1], ring_b, NULL, &(jg_spawn_opts){.name = "b"});
    jg_spawn(&ring[2], ring_c, NULL, &(jg_spawn_opts){.name = "c"});
    atomic_store(&ring_ready, 1);
    jg_join(ring[0], NULL);
    return NULL;
}

Test(deadlock, a_cycle_through_gather_names_every_task, .timeout = 60) {
    for (int workers = 1; workers <= 2; workers++) {
        char buf[4096];
        run_child(gather_cycle, workers, buf, sizeof(buf));
        cr_assert_not_null(strstr(buf, "all 3 unfinished tasks"),
                           "stderr: %s", buf);
        /* b finished; the cycle is main -> a -> c -> main. */
        cr_assert_not_null(strstr(buf, "task 'main' waits for task 'a'"),
                           "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "task 'a' waits for task 'c'"),
                           "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "task 'c' waits for task 'main'"),
                           "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "closes the cycle"), "stderr: %s",
                           buf);
        cr_assert_null(strstr(buf, "'b'"), "stderr: %s", buf);
    }
}

/* main runs jg_par_join(fa, fb): fa sleeps (a park, which lets another
 * task take fb) until fb has started; fb joins "partner", which joins
 * main. main then waits in jg_par_join() for the task running fb. */
static jg_task *fork_partner;
static atomic_int fb_started;

static int fork_fa(void *arg) {
    (void)arg;
    while (!atomic_load(&fb_started)) {
        jg_sleep(JG_MS(1));
    }
    return 0;
}

static int fork_fb(void *arg) {
    (void)arg;
    atomic_store(&fb_started, 1);
    jg_join(fork_partner, NULL);
    return 0;
}

static void *fork_cycle(void *arg) {
    (void)arg;
    main_task = jg_self();
    jg_spawn(&fork_partner, join_main, NULL,
             &(jg_spawn_opts){.name = "partner"});
    jg_par_join(fork_fa, NULL, fork_fb, NULL);
    return NULL;
}

Test(deadlock, a_cycle_through_a_stolen_fork_names_every_task,
     .timeout = 60) {
    for (int workers = 1; workers <= 2; workers++) {
        char buf[4096];
        run_child(fork_cycle, workers, buf, sizeof(buf));
        cr_assert_not_null(strstr(buf, "all 3 unfinished tasks"),
                           "stderr: %s", buf);
        cr_assert_not_null(
            strstr(buf, "task 'main' waits in jg_par_join() for task 'fork'"),
            "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "task 'fork' waits for task 'partner'"),
                           "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "task 'partner' waits for task 'main'"),
                           "stderr: %s", buf);
        cr_assert_not_null(strstr(buf, "closes the cycle"), "stderr: %s",
                           buf);
    }
}

/* ---- waits that something else ends: never a deadlock ---- */

/* Longer than the detection's grace, so a false suspicion would have time
 * to be confirmed. */
#define LONG JG_MS(300)

static void *sleeper(void *arg) {
    jg_sleep(LONG);
    return arg;
}

static void *join_sleeper(void *arg) {
    jg_task *t;
    jg_spawn(&t, sleeper, arg, NULL);
    void *r = NULL;
    cr_assert_eq(jg_join(t, &r), 0);
    return r;
}

/* main -> joiner -> sleeper: every task but one waits for another. */
static void *chain_to_a_sleeper(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn(&t, join_sleeper, (void *)7, NULL);
    void *r = NULL;
    cr_assert_eq(jg_join(t, &r), 0);
    return r;
}

Test(deadlock, a_chain_ending_in_a_sleep_is_not_one, .timeout = 60) {
    for (int workers = 1; workers <= 2; workers++) {
        cr_assert_eq(run_on(chain_to_a_sleeper, NULL, workers), (void *)7);
    }
}

/* The end of the chain waits on a pipe that a plain thread writes late. */
static int pipe_fds[2];

static void *late_writer(void *arg) {
    (void)arg;
    jg_sleep(LONG); /* Outside the runtime: blocks this thread. */
    char c = 'x';
    cr_assert_eq(write(pipe_fds[1], &c, 1), 1);
    return NULL;
}

static void *pipe_reader(void *arg) {
    (void)arg;
    char c = 0;
    cr_assert_eq(jg_read(pipe_fds[0], &c, 1, JG_FOREVER), 1);
    return (void *)(intptr_t)c;
}

static void *join_pipe_reader(void *arg) {
    (void)arg;
    jg_task *t;
    jg_spawn(&t, pipe_reader, NULL, NULL);
    void *r = NULL;
    jg_join(t, &r);
    return r;
}

Test(deadlock, a_chain_ending_in_io_from_another_thread_is_not_one,
     .timeout = 60) {
    for (int workers = 1; workers <= 2; workers++) {
        cr_assert_eq(pipe(pipe_fds), 0);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, late_writer, NULL), 0);
        cr_assert_eq(run_on(join_pipe_reader, NULL, workers),
                     (void *)(intptr_t)'x');
        pthread_join(th, NULL);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
    }
}

/* The end of the chain is in the blocking pool. */
static void *block_long(void *arg) {
    usleep(LONG / 1000);
    return arg;
}

static void *blocking_then_return(void *arg) {
    void *r = NULL;
    cr_assert_eq(jg_blocking(block_long, arg, &r), 0);
    return r;
}

static void *join_blocking(void *arg) {
    jg_task *t;
    jg_spawn(&t, blocking_then_return, arg, NULL);
    void *r = NULL;
    jg_join(t, &r);
    return r;
}

Test(deadlock, a_chain_ending_in_the_blocking_pool_is_not_one,
     .timeout = 60) {
    for (int workers = 1; workers <= 2; workers++) {
        cr_assert_eq(run_on(join_blocking, (void *)9, workers), (void *)9);
    }
}

/*
 * Stress: trees of tasks that join and gather their children, with random
 * yields and sleeps of 0 to 2 ms at the leaves, so workers go idle and
 * wake all the time while most tasks wait for others. No false alarm.
 */
struct tree_arg {
    int depth;
    uint32_t seed;
};

/* A leaf's pause, drawn from seed: a sleep of 0 to 2 ms one time in
 * `ways`, a yield one time in `ways`, else nothing. */
static void leaf_pause(uint32_t *seed, uint32_t ways) {
    uint32_t r = rnd(seed);
    if (r % ways == 0) {
        jg_sleep(JG_US(r % 2000));
    } else if (r % ways == 1) {
        jg_yield();
    }
}

static void *tree(void *arg) {
    struct tree_arg *a = arg;
    uint32_t seed = a->seed;
    if (a->depth == 0) {
        leaf_pause(&seed, 4);
        return (void *)1;
    }
    enum { KIDS = 3 };
    struct tree_arg kid[KIDS];
    jg_task *t[KIDS];
    for (int i = 0; i < KIDS; i++) {
        kid[i] = (struct tree_arg){a->depth - 1, rnd(&seed)};
        cr_assert_eq(jg_spawn(&t[i], tree, &kid[i], NULL), 0);
    }
    intptr_t sum = 0;
    if (rnd(&seed) & 1) {
        void *r[KIDS];
        cr_assert_eq(jg_gather(t, KIDS, r), 0);
        for (int i = 0; i < KIDS; i++) {
            sum += (intptr_t)r[i];
        }
    } else {
        for (int i = KIDS - 1; i >= 0; i--) {
            void *r = NULL;
            cr_assert_eq(jg_join(t[i], &r), 0);
            sum += (intptr_t)r;
        }
    }
    return (void *)sum;
}

/* Called by main when only it runs: some waits were counted, and every
 * one of them has ended, on some worker. */
static void assert_every_wait_ended(void) {
    struct jg__runtime *rt = jg__task_rt(jg_self());
    uint64_t waits = 0, resumes = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        waits += atomic_load(&rt->workers[i].jwaits);
        resumes += atomic_load(&rt->workers[i].jresumes);
    }
    cr_assert_gt(waits, 0);
    cr_assert_eq(waits, resumes);
}

static void *forest(void *arg) {
    (void)arg;
    long rounds = stress(200);
    for (long i = 0; i < rounds; i++) {
        struct tree_arg a = {4, (uint32_t)(i * 2654435761u + 1)};
        cr_assert_eq((intptr_t)tree(&a), 81); /* 3^4 leaves. */
    }
    assert_every_wait_ended();
    return NULL;
}

Test(deadlock, join_trees_with_idle_workers_raise_no_false_alarm,
     .timeout = 300) {
    run_on(forest, NULL, 1);
    run_on(forest, NULL, 2);
}

/* The same with jg_par_join trees: leaves that sleep park their task, which
 * offers the pending halves to the other worker; owners then wait for
 * stolen halves, a counted wait. No false alarm, and every wait ends. */
struct par_arg {
    int depth;
    uint32_t seed;
    intptr_t sum;
};

static int par_tree(void *arg) {
    struct par_arg *a = arg;
    uint32_t seed = a->seed;
    if (a->depth == 0) {
        leaf_pause(&seed, 3);
        a->sum = 1;
        return 0;
    }
    struct par_arg l = {a->depth - 1, rnd(&seed), 0};
    struct par_arg r = {a->depth - 1, rnd(&seed), 0};
    cr_assert_eq(jg_par_join(par_tree, &l, par_tree, &r), 0);
    a->sum = l.sum + r.sum;
    return 0;
}

static void *par_forest(void *arg) {
    (void)arg;
    long rounds = stress(100);
    uint64_t stolen = atomic_load(&jg__forks_stolen);
    for (long i = 0; i < rounds; i++) {
        struct par_arg a = {6, (uint32_t)(i * 2654435761u + 7), 0};
        cr_assert_eq(par_tree(&a), 0);
        cr_assert_eq(a.sum, 64);
    }
    assert_every_wait_ended();
    if (jg__task_rt(jg_self())->nworkers > 1) {
        cr_assert_gt(atomic_load(&jg__forks_stolen), stolen,
                     "no half was ever stolen");
    }
    return NULL;
}

Test(deadlock, fork_join_trees_raise_no_false_alarm, .timeout = 300) {
    run_on(par_forest, NULL, 1);
    run_on(par_forest, NULL, 2);
}
