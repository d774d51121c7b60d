/* SPDX-License-Identifier: MIT */
/*
 * exec.h - what the files of src/exec share: the latch (a one-shot event
 * that a task or a thread can wait on), the child-side reset after fork,
 * and the pool's internals used by map.c. The design note is
 * docs/design/exec.md.
 */
#ifndef JG_EXEC_EXEC_H
#define JG_EXEC_EXEC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "juggle/exec.h"

/*
 * A latch: set once, by any thread; waited on by any number of tasks and
 * threads, each with a deadline. Threads sleep on a futex (word bit
 * SLEEPERS), tasks park in a list under `lock` (word bit TASKS). Setting
 * it is one atomic exchange when nobody waits, so a thread that finishes
 * with no waiter pays almost nothing.
 */
struct jg__latch_waiter;
struct jg__latch {
    _Atomic uint32_t word;          /* JG__LATCH_* bits; also the futex word. */
    pthread_mutex_t lock;           /* Protects tasks. */
    struct jg__latch_waiter *tasks; /* Parked tasks (records on the heap,
                                     * never on a task's stack). */
};
#define JG__LATCH_SET 1u
#define JG__LATCH_SLEEPERS 2u
#define JG__LATCH_TASKS 4u

void jg__latch_init(struct jg__latch *l);
void jg__latch_fini(struct jg__latch *l);
/* Set the latch and wake every waiter. Any thread, once. */
void jg__latch_set(struct jg__latch *l);
/* Has it been set? (Acquire: what the setter wrote before is visible.) */
bool jg__latch_is_set(struct jg__latch *l);
/* Wait until set or deadline (absolute ns, or JG_FOREVER). Inside a task
 * the task is suspended, elsewhere the thread blocks. Returns 0,
 * -ETIMEDOUT, or (a task with a deadline whose timer cannot be armed)
 * -ENOMEM. Not a cancellation point. */
int jg__latch_wait(struct jg__latch *l, int64_t deadline);

/* In a child just forked by src/exec: forget the parent's runtime (the
 * worker threads do not exist here) and name the process. */
void jg__exec_child_enter(const char *name);

/* "<prefix>-<index>", truncated to the kernel's 15 bytes of a name. */
void jg__exec_name(char out[16], const char *prefix, int index);

/* Are we inside a juggle task? */
bool jg__exec_in_task(void);

/* ---- pools (pool.c, pool_proc.c, map.c) ---- */

/* One map call, as seen by the workers. */
struct jg__map_job {
    jg_map_fn fn;
    void *ctx;
    const char *in;
    char *out;
    size_t in_size, out_size, n, chunk, nchunks;
    int *errors;
    _Atomic size_t next;   /* Next chunk to claim. */
    _Atomic size_t failed; /* Items whose fn returned < 0. */
    _Atomic int pending;   /* Workers that have not finished it. */
    struct jg__latch done; /* Set by the last worker. */
};

/* Run the chunks of a thread-pool map job until none is left. */
void jg__map_run_chunks(struct jg__map_job *job);

/* Deliver a map job to every worker of a pool and wait until each has
 * finished it (thread pools: they run it; process pools: pool_proc.c
 * hands the worker processes the round in the shared arena). */
int jg__pool_map_round(jg_pool *p, struct jg__map_job *job);

#endif /* JG_EXEC_EXEC_H */
