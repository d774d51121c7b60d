/* SPDX-License-Identifier: MIT */
/*
 * exec_check.h - shared by the tests of src/exec: what every test checks
 * after it ran (no child left unreaped, no file descriptor left open), and
 * a gate (a pipe) that lets a test hold a thread or a process still and
 * release it, without sleeping to synchronise.
 */
#ifndef JG_TEST_EXEC_CHECK_H
#define JG_TEST_EXEC_CHECK_H

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* A task function: the stack size of the thread it runs on. */
static inline void *thread_stack_size(void *arg) {
    (void)arg;
    pthread_attr_t a;
    size_t size = 0;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_destroy(&a);
    return (void *)size;
}

/* Open file descriptors of this process. */
static inline int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    cr_assert(d != NULL);
    int n = 0;
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own fd. */
}

/* Assert that no child of this process is left, dead or alive. */
static inline void assert_no_children(void) {
    errno = 0;
    pid_t r = waitpid(-1, NULL, WNOHANG);
    cr_assert(r == -1 && errno == ECHILD,
              "a child is left over (waitpid: %d, errno %d)", (int)r, errno);
}

/* A gate: a pipe that items read one byte from. Open it before a process
 * pool forks, so the children share it. */
struct gate {
    int fd[2];
};

static inline void gate_open(struct gate *g) {
    cr_assert_eq(pipe(g->fd), 0);
}

static inline void gate_pass(struct gate *g) {
    char c;
    cr_assert_eq(read(g->fd[0], &c, 1), 1);
}

static inline void gate_release(struct gate *g, int n) {
    for (int i = 0; i < n; i++) {
        cr_assert_eq(write(g->fd[1], "x", 1), 1);
    }
}

static inline void gate_close(struct gate *g) {
    close(g->fd[0]);
    close(g->fd[1]);
}

/* Waits from tasks: a ticker task keeps counting and yielding, and a
 * releaser opens the gate only after the ticker has run 100 more times.
 * A task waiting for something behind the gate therefore returns only if
 * its wait left the worker free (on one worker, a blocked worker hangs). */
struct ticker {
    _Atomic int ticks;
    _Atomic int stop;
};

static inline void *tick(void *arg) {
    struct ticker *tk = arg;
    while (!atomic_load(&tk->stop)) {
        atomic_fetch_add(&tk->ticks, 1);
        jg_yield();
    }
    return NULL;
}

struct held {
    struct ticker tk;
    struct gate g;
};

static inline void *release_later(void *arg) {
    struct held *h = arg;
    int seen = atomic_load(&h->tk.ticks);
    while (atomic_load(&h->tk.ticks) < seen + 100) {
        jg_yield();
    }
    gate_release(&h->g, 1);
    return NULL;
}

/* Every test body runs between these: same fds, no children, no bytes. */
struct leakcheck {
    int fds;
    int64_t bytes;
};

static inline struct leakcheck leak_begin(void) {
    return (struct leakcheck){count_fds(), jg__alloc_live()};
}

static inline void leak_end(struct leakcheck c) {
    assert_no_children();
    cr_assert_eq(count_fds(), c.fds, "fds: %d before, %d after", c.fds,
                 count_fds());
    cr_assert_eq(jg__alloc_live(), c.bytes, "leaked %lld bytes",
                 (long long)(jg__alloc_live() - c.bytes));
}

#endif /* JG_TEST_EXEC_CHECK_H */
