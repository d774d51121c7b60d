/* SPDX-License-Identifier: MIT */
/*
 * test_exec_process.c - jg_process_start / jg_process_join and
 * jg_exit_describe: results by value and by bytes, children that exit,
 * crash or are killed, invalid arguments, children started from tasks
 * (while the runtime's workers run) and joined from tasks; after each, no
 * child is left unreaped and no file descriptor is left open.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_check.h"
#include "os/proc.h"

static void *plus_one(void *arg) {
    return (void *)((intptr_t)arg + 1);
}

Test(process, returns_a_pointer_value) {
    struct leakcheck lc = leak_begin();
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, plus_one, (void *)41, NULL), 0);
    void *r = NULL;
    jg_exit how = {.exited = 9};
    cr_assert_eq(jg_process_join(p, &r, &how), 0);
    cr_assert_eq((intptr_t)r, 42);
    cr_assert(how.exited == 1 && how.code == 0 && how.signal == 0);
    leak_end(lc);
}

struct pair {
    int64_t a, b;
    char text[40];
};

static void *make_pair(void *arg) {
    static struct pair out;
    out.a = (intptr_t)arg;
    out.b = -out.a;
    snprintf(out.text, sizeof(out.text), "child %d", (int)getpid());
    return &out;
}

Test(process, returns_bytes) {
    struct leakcheck lc = leak_begin();
    jg_process_opts o = {.result_size = sizeof(struct pair)};
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, make_pair, (void *)5, &o), 0);
    struct pair r;
    cr_assert_eq(jg_process_join(p, &r, NULL), 0);
    cr_assert(r.a == 5 && r.b == -5);
    cr_assert(strncmp(r.text, "child ", 6) == 0);
    cr_assert(atoi(r.text + 6) != getpid(), "ran in the parent");
    leak_end(lc);
}

#define BIG (3 << 20)

static void *big_result(void *arg) {
    unsigned char *b = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) {
        b[i] = (unsigned char)(i * 7 + (uintptr_t)arg);
    }
    return b;
}

Test(process, returns_a_large_result) {
    struct leakcheck lc = leak_begin();
    jg_process_opts o = {.result_size = BIG};
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, big_result, (void *)3, &o), 0);
    unsigned char *r = malloc(BIG);
    cr_assert_eq(jg_process_join(p, r, NULL), 0);
    for (size_t i = 0; i < BIG; i++) {
        cr_assert_eq(r[i], (unsigned char)(i * 7 + 3), "byte %zu", i);
    }
    free(r);
    leak_end(lc);
}

static void *null_result(void *arg) {
    (void)arg;
    return NULL;
}

Test(process, null_result_with_a_size_is_enodata) {
    struct leakcheck lc = leak_begin();
    jg_process_opts o = {.result_size = 8};
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, null_result, NULL, &o), 0);
    int64_t r = 77;
    jg_exit how;
    cr_assert_eq(jg_process_join(p, &r, &how), -ENODATA);
    cr_assert_eq(r, 77, "result written on error");
    cr_assert(how.exited == 1 && how.code == 0);
    leak_end(lc);
}

static void *exit_three(void *arg) {
    (void)arg;
    exit(3);
}

/* An unmapped address, read at run time: a real fault (not NULL, which
 * UBSan would catch first in sanitizer builds). */
static volatile uintptr_t nowhere = 16;

static void *segfault(void *arg) {
    (void)arg;
    signal(SIGSEGV, SIG_DFL);
    *(volatile int *)nowhere = 1;
    return NULL;
}

static void *kill_self(void *arg) {
    (void)arg;
    raise(SIGKILL);
    return NULL;
}

static void expect_end(jg_task_fn fn, int exited, int code, int sig,
                       const char *text) {
    struct leakcheck lc = leak_begin();
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, fn, NULL, NULL), 0);
    void *r = (void *)0x5;
    jg_exit how;
    cr_assert_eq(jg_process_join(p, &r, &how), -ECHILD);
    cr_assert_eq((uintptr_t)r, 5, "result written on error");
    cr_assert_eq(how.exited, exited);
    cr_assert_eq(how.code, code);
    cr_assert_eq(how.signal, sig);
    char buf[64];
    int n = jg_exit_describe(&how, buf, sizeof(buf));
    cr_assert_eq(n, (int)strlen(text));
    cr_assert_str_eq(buf, text);
    leak_end(lc);
}

Test(process, exit_3_is_echild_with_the_code) {
    expect_end(exit_three, 1, 3, 0, "exited with code 3");
}

Test(process, a_segfault_is_echild_with_the_signal) {
    expect_end(segfault, 0, 0, SIGSEGV, "killed by signal 11 (SIGSEGV)");
}

Test(process, sigkill_is_echild_with_the_signal) {
    expect_end(kill_self, 0, 0, SIGKILL, "killed by signal 9 (SIGKILL)");
}

static void *wait_forever(void *arg) {
    struct gate *g = arg;
    gate_pass(g); /* Never opened: killed from outside. */
    return NULL;
}

Test(process, killed_from_outside_while_running) {
    struct leakcheck lc = leak_begin();
    struct gate g;
    gate_open(&g);
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, wait_forever, &g, NULL), 0);
    /* The handle is opaque; find the child as our only one. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(),
             getpid());
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL);
    int pid = 0;
    cr_assert_eq(fscanf(f, "%d", &pid), 1);
    fclose(f);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    jg_exit how;
    cr_assert_eq(jg_process_join(p, NULL, &how), -ECHILD);
    cr_assert(!how.exited && how.signal == SIGTERM);
    gate_close(&g);
    leak_end(lc);
}

Test(process, describe_truncates_and_checks) {
    jg_exit how = {.exited = 1, .code = 3};
    char buf[8];
    cr_assert_eq(jg_exit_describe(&how, buf, sizeof(buf)), 18);
    cr_assert_str_eq(buf, "exited ");
    cr_assert_eq(jg_exit_describe(&how, NULL, 0), 18);
    cr_assert_eq(jg_exit_describe(NULL, buf, sizeof(buf)), -EINVAL);
    cr_assert_eq(jg_exit_describe(&how, NULL, 4), -EINVAL);
    how = (jg_exit){.signal = 200};
    char big[64];
    jg_exit_describe(&how, big, sizeof(big));
    cr_assert_str_eq(big, "killed by signal 200");
}

Test(process, rejects_bad_arguments) {
    struct leakcheck lc = leak_begin();
    jg_process *p = (jg_process *)0x1;
    cr_assert_eq(jg_process_start(NULL, plus_one, NULL, NULL), -EINVAL);
    cr_assert_eq(jg_process_start(&p, NULL, NULL, NULL), -EINVAL);
    jg_process_opts o = {.result_size = ((size_t)1 << 30) + 1};
    cr_assert_eq(jg_process_start(&p, plus_one, NULL, &o), -EINVAL);
    cr_assert_eq((uintptr_t)p, 1, "out written on error");
    cr_assert_eq(jg_process_join(NULL, NULL, NULL), -EINVAL);
    leak_end(lc);
}

static void *read_comm(void *arg) {
    (void)arg;
    static char name[32];
    FILE *f = fopen("/proc/self/comm", "r");
    if (f == NULL || fgets(name, sizeof(name), f) == NULL) {
        return NULL;
    }
    fclose(f);
    name[strcspn(name, "\n")] = '\0';
    return name;
}

Test(process, has_its_name) {
    jg_process_opts o = {.result_size = 32, .name = "cruncher"};
    jg_process *p;
    char name[32];
    cr_assert_eq(jg_process_start(&p, read_comm, NULL, &o), 0);
    cr_assert_eq(jg_process_join(p, name, NULL), 0);
    cr_assert_str_eq(name, "cruncher");
    o.name = NULL;
    cr_assert_eq(jg_process_start(&p, read_comm, NULL, &o), 0);
    cr_assert_eq(jg_process_join(p, name, NULL), 0);
    cr_assert_str_eq(name, "jg-process");
}

Test(process, reaped_elsewhere_is_echild) {
    struct leakcheck lc = leak_begin();
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, plus_one, NULL, NULL), 0);
    cr_assert(waitpid(-1, NULL, 0) > 0);
    jg_exit how = {.exited = 7};
    cr_assert_eq(jg_process_join(p, NULL, &how), -ECHILD);
    cr_assert(how.exited == 0 && how.signal == 0);
    leak_end(lc);
}

/* ---- from tasks ---- */

/* In the child: outside any runtime; jg_sleep blocks; a local of the
 * starting task is readable (its stack was copied). */
static void *child_checks(void *arg) {
    int64_t *local = arg;
    if (jg_self() != NULL || jg_worker_index() != -1) {
        return (void *)1;
    }
    if (jg_sleep(JG_MS(5)) != 0) {
        return (void *)2;
    }
    return (void *)(intptr_t)(*local * 10);
}

static void *gated_child(void *arg) {
    struct held *h = arg;
    gate_pass(&h->g);
    return (void *)99;
}

static void *in_tasks(void *arg) {
    (void)arg;
    int64_t local = 6;
    jg_process *p;
    cr_assert_eq(jg_process_start(&p, child_checks, &local, NULL), 0);
    void *r;
    cr_assert_eq(jg_process_join(p, &r, NULL), 0);
    cr_assert_eq((intptr_t)r, 60);

    /* The join suspends only this task: the gate opens only after the
     * ticker has run while we wait (on one worker, a blocked worker
     * would hang here). */
    struct held h = {0};
    gate_open(&h.g);
    jg_task *ticker, *rel;
    cr_assert_eq(jg_spawn(&ticker, tick, &h.tk, NULL), 0);
    cr_assert_eq(jg_process_start(&p, gated_child, &h, NULL), 0);
    cr_assert_eq(jg_spawn(&rel, release_later, &h, NULL), 0);
    cr_assert_eq(jg_process_join(p, &r, NULL), 0);
    cr_assert_eq((intptr_t)r, 99);
    atomic_store(&h.tk.stop, 1);
    jg_join(rel, NULL);
    jg_join(ticker, NULL);
    gate_close(&h.g);

    jg_exit how;
    cr_assert_eq(jg_process_start(&p, segfault, NULL, NULL), 0);
    cr_assert_eq(jg_process_join(p, NULL, &how), -ECHILD);
    cr_assert_eq(how.signal, SIGSEGV);
    return NULL;
}

Test(process, start_and_join_from_tasks, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    run_on(in_tasks, NULL, 1);
    run_on(in_tasks, NULL, 2);
    leak_end(lc);
}

static void *spawn_many(void *arg) {
    intptr_t base = (intptr_t)arg;
    enum { N = 8 };
    jg_process *p[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(
            jg_process_start(&p[i], plus_one, (void *)(base + i), NULL), 0);
    }
    for (intptr_t i = 0; i < N; i++) {
        void *r;
        cr_assert_eq(jg_process_join(p[i], &r, NULL), 0);
        cr_assert_eq((intptr_t)r, base + i + 1);
    }
    return NULL;
}

static void *many_tasks(void *arg) {
    (void)arg;
    jg_task *t[6];
    for (intptr_t i = 0; i < 6; i++) {
        cr_assert_eq(jg_spawn(&t[i], spawn_many, (void *)(i * 100), NULL), 0);
    }
    cr_assert_eq(jg_gather(t, 6, NULL), 0);
    return NULL;
}

Test(process, many_tasks_start_and_join_children, .timeout = 120) {
    struct leakcheck lc = leak_begin();
    for (long r = 0; r < stress(10); r++) {
        run_on(many_tasks, NULL, 2);
    }
    leak_end(lc);
}

/* A child of a child: the slab of result slots is not shared with the
 * grandparent's (each process forgets its parent's after fork). */
static void *grandchild_parent(void *arg) {
    (void)arg;
    jg_process *p[4];
    for (intptr_t i = 0; i < 4; i++) {
        if (jg_process_start(&p[i], plus_one, (void *)(i * 1000), NULL) < 0) {
            return NULL;
        }
    }
    intptr_t sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        if (jg_process_join(p[i], &r, NULL) < 0) {
            return NULL;
        }
        sum += (intptr_t)r;
    }
    return (void *)sum;
}

Test(process, children_start_their_own_children) {
    struct leakcheck lc = leak_begin();
    jg_process *p[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jg_process_start(&p[i], grandchild_parent, NULL, NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        cr_assert_eq(jg_process_join(p[i], &r, NULL), 0);
        cr_assert_eq((intptr_t)r, 6004);
    }
    leak_end(lc);
}

/* The pool's managers kill a child through its pidfd (os/proc.h): that
 * reaches the child while it lives, and nothing once it is reaped, even
 * if its pid were reused. */
Test(process, kill_child_goes_through_the_pidfd) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    int pidfd = jg__os_pidfd_open(pid);
    cr_assert(pidfd >= 0, "pidfd_open: %d", pidfd);
    cr_assert_eq(jg__os_kill_child(pidfd, pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    cr_assert_eq(jg__os_kill_child(pidfd, pid, SIGKILL), -ESRCH);
    close(pidfd);
}
