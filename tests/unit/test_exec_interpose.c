/* SPDX-License-Identifier: MIT */
/*
 * test_exec_interpose.c - failures that only the system can cause, made
 * here by interposing pthread_create() and fork(): this binary defines
 * both, and they call the real ones (dlsym(RTLD_NEXT)) unless a test has
 * switched the failures on. A binary of its own, so no other test runs
 * with them.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>

#include "exec_check.h"

/* Switched on by a test: fork() fails with EAGAIN, and the third
 * pthread_create() waits until the first two threads' functions have
 * returned, then fails with EAGAIN. */
static _Atomic int failing;
static _Atomic int creates;  /* pthread_create calls while failing. */
static _Atomic int finished; /* Threads made while failing that ended. */

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                      void *);
typedef pid_t fork_fn(void);

struct tramp {
    void *(*fn)(void *);
    void *arg;
};

static void *trampoline(void *x) {
    struct tramp t = *(struct tramp *)x;
    free(x);
    void *r = t.fn(t.arg);
    atomic_fetch_add(&finished, 1);
    return r;
}

int pthread_create(pthread_t *th, const pthread_attr_t *attr,
                   void *(*fn)(void *), void *arg) {
    create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    if (!atomic_load(&failing)) {
        return real(th, attr, fn, arg);
    }
    if (atomic_fetch_add(&creates, 1) + 1 == 3) {
        while (atomic_load(&finished) < 2) {
            sched_yield();
        }
        return EAGAIN;
    }
    struct tramp *t = malloc(sizeof(*t));
    cr_assert(t != NULL);
    *t = (struct tramp){fn, arg};
    int rc = real(th, attr, trampoline, t);
    if (rc != 0) {
        free(t);
    }
    return rc;
}

pid_t fork(void) {
    fork_fn *real = (fork_fn *)dlsym(RTLD_NEXT, "fork");
    if (atomic_load(&failing)) {
        errno = EAGAIN;
        return -1;
    }
    return real();
}

/* Two workers start and end at once (their forks fail) before the third
 * thread's creation fails: jg_pool_new must see that every started worker
 * is gone, not wait for them forever. */
Test(interpose, pool_new_fails_after_its_workers_ended, .timeout = 30) {
    struct leakcheck lc = leak_begin();
    jg_pool *p = (jg_pool *)0x1;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = 4};
    atomic_store(&failing, 1);
    int rc = jg_pool_new(&p, &o);
    atomic_store(&failing, 0);
    cr_assert_eq(rc, -EAGAIN, "jg_pool_new: %d", rc);
    cr_assert_eq((uintptr_t)p, 1, "out written on error");
    cr_assert_eq(atomic_load(&creates), 3);
    leak_end(lc);
}
