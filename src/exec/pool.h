/* SPDX-License-Identifier: MIT */
/*
 * pool.h - the internals of jg_pool shared by pool.c (queue, futures,
 * thread workers), pool_proc.c (process workers) and map.c.
 *
 * Lock order: pool->lock, then a latch's lock (jg__latch_set is called
 * with pool->lock held). Nothing else is taken under pool->lock.
 */
#ifndef JG_EXEC_POOL_H
#define JG_EXEC_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec/exec.h"

enum { F_QUEUED, F_RUNNING, F_DONE, F_CANCELLED };

struct jg_future {
    jg_pool *pool; /* Used only while queued (cancel). */
    jg_task_fn fn;
    void *arg; /* The pointer, or argbuf for copied args. */
    /* F_*; stored under pool->lock, read without it to see that a
     * future is finished (then the pool may already be gone). */
    _Atomic int state;
    int rc;             /* 0, -ECHILD, -ENODATA, -ECANCELED; before done. */
    void *result;       /* fn's pointer (threads, or result_size 0). */
    char *resbuf;       /* result_size bytes (process pools). */
    size_t result_size; /* Bytes in resbuf; 0 = the pointer result. */
    size_t size;        /* Bytes of this allocation. */
    struct jg__latch done;
    _Atomic uint32_t refs;  /* The user's handle + the pool's while queued
                             * or running. */
    struct jg_future *next; /* In the queue; under pool->lock. */
};

/* One worker: a thread (thread pools) or a manager thread and its child
 * process (process pools). */
struct jg__pworker {
    jg_pool *pool;
    int index;
    pthread_t th;
    uint64_t map_gen; /* The last map round this worker took. */
    /* Process pools: the child and its channel. Written by the manager
     * thread only (and by pool_new before it starts). */
    pid_t pid;
    int sock;  /* Parent's end of the socket pair, or -1. */
    int pidfd; /* -1 when the kernel has no pidfds. */
    char *buf; /* Message buffer (args, results). */
    size_t buf_cap;
};

struct jg_pool {
    jg_pool_opts o; /* Resolved: workers > 0, name set. */
    char name[16];
    pthread_mutex_t lock; /* Protects the queue, stop, map, gen. */
    pthread_cond_t cond;  /* Workers wait here for work. */
    struct jg_future *head, *tail;
    bool stop;               /* jg_pool_free() began: drain, then exit. */
    struct jg__map_job *map; /* The current map round, or NULL. */
    uint64_t map_gen;
    /* Map turns: one map at a time per pool, waited for without blocking
     * a worker (a list of latches; under lock). */
    bool map_busy;
    struct map_turn *turns, *turns_tail;
    struct jg__pworker *w;
    _Atomic int live;        /* Workers still running. */
    struct jg__latch exited; /* Set by the last worker to exit. */
    /* Process pools: the shared arena of map calls (pool_proc.c). */
    int arena_fd;
    void *arena; /* Parent's mapping; under the map turn. */
    size_t arena_len;
};

/* How a kind of pool runs work (pool.c: threads; pool_proc.c). */
void jg__pool_run_item(struct jg__pworker *w, struct jg_future *f);
void jg__pool_proc_item(struct jg__pworker *w, struct jg_future *f);
void jg__pool_proc_round(struct jg__pworker *w, struct jg__map_job *job);

/* Finish future f with rc (its result fields already written). */
void jg__future_complete(struct jg_future *f, int rc);

/* Process pools: start worker w's child (manager thread). Returns 0 or
 * -errno. Stop and reap it. */
int jg__pool_proc_spawn(struct jg__pworker *w);
void jg__pool_proc_stop(struct jg__pworker *w);
int jg__pool_proc_init(jg_pool *p);
void jg__pool_proc_fini(jg_pool *p);

/* Process pools: map over the shared arena. Returns failed items or
 * -errno. */
int jg__pool_proc_map(jg_pool *p, jg_map_fn fn, void *ctx, size_t ctx_size,
                      const char *in, size_t in_size, char *out,
                      size_t out_size, size_t n, int *errors, size_t chunk);

/* Take / give back the pool's map turn (suspends a task, blocks a
 * thread). Taking it returns 0, or -ENOMEM (then the turn is not held). */
int jg__pool_map_lock(jg_pool *p);
void jg__pool_map_unlock(jg_pool *p);

#endif /* JG_EXEC_POOL_H */
