/* SPDX-License-Identifier: MIT */
/*
 * thread.c - OS threads: jg_thread_start / jg_thread_join, a thin layer
 * over pthread_create / pthread_join. The only additions are a name (set
 * by the new thread itself: one prctl, not a write to /proc), and a latch
 * that the thread sets when fn returns, so that a task can wait for it
 * without blocking its worker. Outside a task, join is pthread_join.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "core/common.h"
#include "exec/exec.h"
#include "os/os.h"
#include "os/proc.h"

#define MIN_STACK (16 * 1024)

struct jg_thread {
    pthread_t th;
    jg_task_fn fn;
    void *arg;
    void *result;          /* Written by the thread before done is set. */
    struct jg__latch done; /* Set when fn has returned. */
    char name[16];         /* The kernel's TASK_COMM_LEN. */
    struct jg__place place; /* Where it starts (os.h, spread start). */
};

static void *thread_main(void *x) {
    struct jg_thread *t = x;
    jg__os_place_release(&t->place);
    jg__os_set_name(t->name);
    t->result = t->fn(t->arg);
    jg__latch_set(&t->done);
    return NULL;
}

int jg_thread_start(jg_thread **out, jg_task_fn fn, void *arg,
                    const jg_thread_opts *opts) {
    jg_thread_opts o = opts ? *opts : (jg_thread_opts){0};
    if (out == NULL || fn == NULL ||
        (o.stack_size != 0 && o.stack_size < MIN_STACK)) {
        return -EINVAL;
    }
    struct jg_thread *t = jg__malloc(sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    t->fn = fn;
    t->arg = arg;
    t->result = NULL;
    jg__latch_init(&t->done);
    strncpy(t->name, o.name != NULL ? o.name : "jg-thread",
            sizeof(t->name) - 1);
    t->name[sizeof(t->name) - 1] = '\0';
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int rc = 0;
    if (o.stack_size != 0) {
        rc = pthread_attr_setstacksize(&attr, o.stack_size);
    }
    if (rc == 0) {
        jg__os_place_pick(&t->place);
        rc = jg__os_place_create(&t->th, &attr, &t->place, thread_main, t);
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        jg__latch_fini(&t->done);
        jg__free(t, sizeof(*t));
        /* EAGAIN: out of threads or memory for a stack; EINVAL: a stack
         * size the system refuses; EPERM cannot happen without attrs
         * asking for a scheduling policy. */
        return rc == EINVAL ? -EINVAL : -EAGAIN;
    }
    *out = t;
    return 0;
}

int jg_thread_join(jg_thread *t, void **result) {
    if (t == NULL) {
        return -EINVAL;
    }
    if (pthread_equal(t->th, pthread_self())) {
        return -EDEADLK;
    }
    if (jg__exec_in_task()) {
        /* Suspend the task until fn returns; the join below then waits
         * only for the thread to leave thread_main. */
        jg__latch_wait(&t->done, JG_FOREVER);
    }
    pthread_join(t->th, NULL);
    if (result != NULL) {
        *result = t->result;
    }
    jg__latch_fini(&t->done);
    jg__free(t, sizeof(*t));
    return 0;
}
