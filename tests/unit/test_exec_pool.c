/* SPDX-License-Identifier: MIT */
/*
 * test_exec_pool.c - thread and process pools and their futures: results,
 * copied arguments and results, deadlines, cancelling a queued item, a
 * worker process that dies (its item fails, the rest go on), one killed
 * while idle with its socket end held elsewhere (no hang), every error,
 * and waits from inside tasks that suspend only the task.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "exec/pool.h"
#include "exec_check.h"

static void *square(void *arg) {
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

static void pool_results(jg_pool_kind kind, int workers) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = workers};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    enum { N = 100 };
    jg_future *f[N];
    for (intptr_t i = 0; i < N; i++) {
        cr_assert_eq(jg_pool_submit(p, &f[i], square, (void *)i), 0);
    }
    for (intptr_t i = N - 1; i >= 0; i--) {
        void *r = NULL;
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r), 0);
        cr_assert_eq((intptr_t)r, i * i);
        /* Waiting again gives the same answer. */
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r), 0);
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

Test(pool, threads_return_results) {
    pool_results(JG_POOL_THREADS, 1);
    pool_results(JG_POOL_THREADS, 3);
    pool_results(JG_POOL_THREADS, 0);
}

Test(pool, processes_return_results) {
    pool_results(JG_POOL_PROCESSES, 1);
    pool_results(JG_POOL_PROCESSES, 3);
}

struct vec {
    double x, y, z;
    char tag[16];
};

static void *scale(void *arg) {
    static struct vec out; /* In the child: fn's result must outlive it. */
    const struct vec *v = arg;
    out = (struct vec){v->x * 2, v->y * 2, v->z * 2, ""};
    snprintf(out.tag, sizeof(out.tag), "pid-%d", (int)getpid());
    return &out;
}

Test(pool, processes_copy_arguments_and_results) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES,
                      .workers = 2,
                      .arg_size = sizeof(struct vec),
                      .result_size = sizeof(struct vec),
                      .name = "scaler"};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f[20];
    for (int i = 0; i < 20; i++) {
        /* Made after the fork, and reused: only a copy can reach the
         * child. */
        struct vec v = {i, -i, 0.5 * i, ""};
        cr_assert_eq(jg_pool_submit(p, &f[i], scale, &v), 0);
    }
    for (int i = 0; i < 20; i++) {
        struct vec r;
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r), 0);
        cr_assert(r.x == 2.0 * i && r.y == -2.0 * i && r.z == 1.0 * i);
        cr_assert(strncmp(r.tag, "pid-", 4) == 0 &&
                  atoi(r.tag + 4) != getpid());
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_submit(p, &f[0], scale, NULL), -EINVAL);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

static void *null_item(void *arg) {
    (void)arg;
    return NULL;
}

Test(pool, a_null_result_with_a_size_is_enodata) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {
        .kind = JG_POOL_PROCESSES, .workers = 1, .result_size = 8};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f;
    cr_assert_eq(jg_pool_submit(p, &f, null_item, NULL), 0);
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, NULL), -ENODATA);
    jg_future_free(f);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

/* ---- deadlines and cancelling, with an item held at a gate ---- */

/* Opened before a process pool forks: held items say they started on
 * `started`, then wait for a byte on `gate`. */
static struct gate gate, started;

static void *held(void *arg) {
    gate_release(&started, 1);
    gate_pass(&gate);
    return arg;
}

static void gates_open(void) {
    gate_open(&gate);
    gate_open(&started);
}

static void gates_close(void) {
    gate_close(&gate);
    gate_close(&started);
}

static void deadline_and_cancel(jg_pool_kind kind) {
    gates_open();
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = 1};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *a, *b, *c;
    cr_assert_eq(jg_pool_submit(p, &a, held, (void *)1), 0);
    cr_assert_eq(jg_pool_submit(p, &b, held, (void *)2), 0);
    cr_assert_eq(jg_pool_submit(p, &c, held, (void *)3), 0);
    void *r = (void *)77;
    /* The deadline passes while a is held; a stays valid. */
    cr_assert_eq(jg_future_wait(a, jg_now() + JG_MS(20), &r), -ETIMEDOUT);
    cr_assert_eq((intptr_t)r, 77, "result written on timeout");
    cr_assert_eq(jg_future_wait(a, 0, &r), -ETIMEDOUT); /* Already past. */
    /* b has not started (one worker, busy with a): cancel it. */
    cr_assert_eq(jg_future_cancel(b), 0);
    cr_assert_eq(jg_future_cancel(b), -EALREADY);
    cr_assert_eq(jg_future_wait(b, JG_FOREVER, &r), -ECANCELED);
    gate_pass(&started); /* a runs now. */
    cr_assert_eq(jg_future_cancel(a), -EBUSY);
    gate_release(&gate, 2);
    cr_assert_eq(jg_future_wait(a, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, 1);
    cr_assert_eq(jg_future_cancel(a), -EALREADY);
    cr_assert_eq(jg_future_wait(c, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, 3);
    jg_future_free(a);
    jg_future_free(b);
    jg_future_free(c);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
    gates_close();
}

Test(pool, threads_deadline_and_cancel, .timeout = 30) {
    deadline_and_cancel(JG_POOL_THREADS);
}

Test(pool, processes_deadline_and_cancel, .timeout = 30) {
    deadline_and_cancel(JG_POOL_PROCESSES);
}

Test(pool, freeing_a_queued_future_cancels_it, .timeout = 30) {
    gates_open();
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.workers = 1};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *a, *b;
    cr_assert_eq(jg_pool_submit(p, &a, held, (void *)1), 0);
    cr_assert_eq(jg_pool_submit(p, &b, held, (void *)2), 0);
    jg_future_free(b); /* Never runs: only one byte goes through. */
    gate_release(&gate, 1);
    cr_assert_eq(jg_future_wait(a, JG_FOREVER, NULL), 0);
    jg_future_free(a);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
    gates_close();
}

Test(pool, free_finishes_queued_items, .timeout = 30) {
    struct leakcheck lc = leak_begin();
    for (int k = 0; k < 2; k++) {
        jg_pool *p;
        jg_pool_opts o = {.kind = (jg_pool_kind)k, .workers = 2};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        jg_future *f[50];
        for (intptr_t i = 0; i < 50; i++) {
            cr_assert_eq(jg_pool_submit(p, &f[i], square, (void *)i), 0);
        }
        cr_assert_eq(jg_pool_free(p), 0);
        for (intptr_t i = 0; i < 50; i++) {
            void *r;
            cr_assert_eq(jg_future_wait(f[i], 0, &r), 0);
            cr_assert_eq((intptr_t)r, i * i);
            jg_future_free(f[i]);
        }
    }
    leak_end(lc);
}

/* ---- a worker process that dies ---- */

/* An unmapped address, read at run time: a real fault (not NULL, which
 * UBSan would catch first in sanitizer builds). */
static volatile uintptr_t nowhere = 16;

static void *crash_on_odd(void *arg) {
    intptr_t x = (intptr_t)arg;
    if (x == 3) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile int *)nowhere = 1;
    }
    if (x == 5) {
        raise(SIGKILL);
    }
    if (x == 7) {
        _exit(3);
    }
    return (void *)(x + 100);
}

Test(pool, a_dead_worker_fails_its_item_and_is_replaced, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = 2};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f[12];
    for (intptr_t i = 0; i < 12; i++) {
        cr_assert_eq(jg_pool_submit(p, &f[i], crash_on_odd, (void *)i), 0);
    }
    for (intptr_t i = 0; i < 12; i++) {
        void *r = NULL;
        int rc = jg_future_wait(f[i], JG_FOREVER, &r);
        if (i == 3 || i == 5 || i == 7) {
            cr_assert_eq(rc, -ECHILD, "item %d: %d", (int)i, rc);
        } else {
            cr_assert_eq(rc, 0, "item %d: %d", (int)i, rc);
            cr_assert_eq((intptr_t)r, i + 100);
        }
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

/* ---- a worker process that died while idle ---- */

/* More than a socket's buffer holds, so that sending it to a child that
 * does not read blocks (the kernel's default buffer is about 200 KiB). */
#define BIG_ARG ((size_t)8 << 20)

static void *first_byte(void *arg) {
    return (void *)(uintptr_t)((const unsigned char *)arg)[0];
}

/* Take copies of every socket that process pid holds (pidfd_getfd, Linux
 * 5.6): its end of the pool's socket pair then stays open after it dies,
 * as when a sibling forked at the wrong time inherited it. Returns how
 * many were taken (0 where the kernel cannot). */
static int hold_sockets(pid_t pid, int *held, int cap) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        return 0;
    }
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    cr_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        char path[384], link[64];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t len = readlink(path, link, sizeof(link) - 1);
        if (len <= 0) {
            continue;
        }
        link[len] = '\0';
        if (strncmp(link, "socket:", 7) == 0) {
            int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
            if (fd >= 0) {
                held[n++] = fd;
            }
        }
    }
    closedir(d);
    close(pidfd);
    return n;
}

/* The pool's only child is killed while idle, with its socket end held
 * elsewhere; the next items, each more than the socket can buffer, must
 * not hang, and must not fail either: they run on a replacement. With
 * no_pidfd, the manager has no pidfd for the child (as on kernels before
 * 5.3) and must notice the death by itself. */
static void idle_child_killed(bool no_pidfd) {
    struct leakcheck lc = leak_begin();
    jg_pool *p;
    jg_pool_opts o = {
        .kind = JG_POOL_PROCESSES, .workers = 1, .arg_size = BIG_ARG};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    unsigned char *arg = calloc(1, BIG_ARG);
    cr_assert(arg != NULL);
    arg[0] = 7;
    jg_future *f;
    void *r = NULL;
    cr_assert_eq(jg_pool_submit(p, &f, first_byte, arg), 0);
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((uintptr_t)r, 7);
    jg_future_free(f);
    /* The manager is idle now (waiting for work under the pool's lock). */
    pthread_mutex_lock(&p->lock);
    pid_t pid = p->w[0].pid;
    if (no_pidfd) {
        close(p->w[0].pidfd);
        p->w[0].pidfd = -1;
    }
    pthread_mutex_unlock(&p->lock);
    int held[16];
    int nheld = hold_sockets(pid, held, 16);
    kill(pid, SIGKILL);
    siginfo_t si;
    /* Wait until it has died, leaving it for the manager to reap. */
    cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(jg_pool_submit(p, &f, first_byte, arg), 0);
        r = NULL;
        /* The dead child never took it: it runs on the replacement. */
        int rc = jg_future_wait(f, JG_FOREVER, &r);
        cr_assert_eq(rc, 0, "item %d: %d", i, rc);
        cr_assert_eq((uintptr_t)r, 7);
        jg_future_free(f);
    }
    for (int i = 0; i < nheld; i++) {
        close(held[i]);
    }
    free(arg);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

Test(pool, an_idle_child_killed_does_not_hang_a_large_send, .timeout = 60) {
    idle_child_killed(false);
}

Test(pool, an_idle_child_killed_is_noticed_without_a_pidfd, .timeout = 60) {
    idle_child_killed(true);
}

/* ---- errors ---- */

static void *free_own_pool(void *arg) {
    return (void *)(intptr_t)jg_pool_free(arg);
}

Test(pool, rejects_bad_arguments) {
    struct leakcheck lc = leak_begin();
    jg_pool *p = (jg_pool *)0x1;
    jg_pool_opts bad[] = {
        {.kind = (jg_pool_kind)5},
        {.workers = -1},
        {.workers = 1025},
        {.kind = JG_POOL_PROCESSES, .arg_size = ((size_t)1 << 30) + 1},
        {.kind = JG_POOL_PROCESSES, .result_size = ((size_t)1 << 30) + 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(jg_pool_new(&p, &bad[i]), -EINVAL, "case %zu", i);
    }
    cr_assert_eq((uintptr_t)p, 1, "out written on error");
    cr_assert_eq(jg_pool_new(NULL, NULL), -EINVAL);
    cr_assert_eq(jg_pool_free(NULL), 0);
    cr_assert_eq(jg_pool_new(&p, NULL), 0);
    jg_future *f = (jg_future *)0x1;
    cr_assert_eq(jg_pool_submit(NULL, &f, square, NULL), -EINVAL);
    cr_assert_eq(jg_pool_submit(p, NULL, square, NULL), -EINVAL);
    cr_assert_eq(jg_pool_submit(p, &f, NULL, NULL), -EINVAL);
    cr_assert_eq((uintptr_t)f, 1, "out written on error");
    cr_assert_eq(jg_future_wait(NULL, JG_FOREVER, NULL), -EINVAL);
    cr_assert_eq(jg_future_cancel(NULL), -EINVAL);
    jg_future_free(NULL);
    cr_assert_eq(jg_pool_submit(p, &f, free_own_pool, p), 0);
    void *r;
    cr_assert_eq(jg_future_wait(f, -5, &r), -EINVAL);
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, -EDEADLK);
    jg_future_free(f);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}

/* ---- waits from tasks ---- */

static void *wait_in_task(void *arg) {
    jg_pool *p = arg;
    /* The gate the pool's children inherited (opened before the fork). */
    struct held h = {.g = gate};
    jg_task *ticker, *rel;
    cr_assert_eq(jg_spawn(&ticker, tick, &h.tk, NULL), 0);
    jg_future *f, *g;
    cr_assert_eq(jg_pool_submit(p, &f, held, (void *)5), 0);
    /* A deadline inside a task: the timer wakes us. */
    cr_assert_eq(jg_future_wait(f, jg_now() + JG_MS(10), NULL), -ETIMEDOUT);
    cr_assert_eq(jg_spawn(&rel, release_later, &h, NULL), 0);
    void *r;
    /* The gate opens only if this wait lets the ticker and the releaser
     * run (on one worker a blocked worker would hang). */
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, 5);
    cr_assert_eq(jg_pool_submit(p, &g, square, (void *)9), 0);
    cr_assert_eq(jg_future_wait(g, jg_now() + JG_SEC(600), &r), 0);
    cr_assert_eq((intptr_t)r, 81);
    jg_future_free(f);
    jg_future_free(g);
    atomic_store(&h.tk.stop, 1);
    jg_join(rel, NULL);
    jg_join(ticker, NULL);
    return NULL;
}

Test(pool, waits_in_a_task_suspend_only_the_task, .timeout = 60) {
    gates_open();
    struct leakcheck lc = leak_begin();
    for (int k = 0; k < 2; k++) {
        jg_pool *p;
        jg_pool_opts o = {.kind = (jg_pool_kind)k, .workers = 2};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        run_on(wait_in_task, p, 1);
        run_on(wait_in_task, p, 2);
        cr_assert_eq(jg_pool_free(p), 0);
    }
    leak_end(lc);
    gates_close();
}

static void *pool_in_task(void *arg) {
    jg_pool_kind kind = (jg_pool_kind)(intptr_t)arg;
    jg_pool *p;
    jg_pool_opts o = {.kind = kind, .workers = 2};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f[10];
    for (intptr_t i = 0; i < 10; i++) {
        cr_assert_eq(jg_pool_submit(p, &f[i], square, (void *)i), 0);
    }
    for (intptr_t i = 0; i < 10; i++) {
        void *r;
        cr_assert_eq(jg_future_wait(f[i], JG_FOREVER, &r), 0);
        cr_assert_eq((intptr_t)r, i * i);
        jg_future_free(f[i]);
    }
    cr_assert_eq(jg_pool_free(p), 0);
    return NULL;
}

Test(pool, made_and_freed_inside_a_task, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    run_on(pool_in_task, (void *)JG_POOL_THREADS, 1);
    run_on(pool_in_task, (void *)JG_POOL_PROCESSES, 2);
    leak_end(lc);
}
