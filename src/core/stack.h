/* SPDX-License-Identifier: MIT */
/*
 * stack.h - task stacks. Private stacks are carved from large slabs (one
 * mapping holds many stacks: vm.max_map_count, 65530 by default, would stop
 * one-mapping-per-stack long before a million tasks), committed page by page
 * by the kernel, optionally guarded, and recycled through free lists: a
 * per-worker cache for the runtime's default size, and one locked list per
 * size in the pool. Memory goes back to the system when the runtime ends.
 *
 * Shared stacks: one per worker, with the copy-out/copy-in of a task's live
 * bytes done by sched.c (jg__sstack_save/restore below).
 */
#ifndef JG_CORE_STACK_H
#define JG_CORE_STACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "juggle/task.h"

struct jg__slab;

/* One private stack. Owned by the pool while free, by a task while used. */
struct jg__stack {
    void *lo;                /* Lowest usable byte (the guard lies below). */
    size_t size;             /* Usable bytes. */
    struct jg__stack *next;  /* Free-list link. */
    size_t guard;            /* Bytes of guard below lo; 0 if unguarded. */
    int mprotected;          /* The guard splits the mapping (budgeted). */
    /* Not guarded yet: guards go in when a stack is first handed out, not
     * for a whole slab at once (a runtime that runs a few tasks would pay
     * for 120 madvise calls). */
    int unguarded;
    unsigned vg_id;          /* Valgrind's id for the registration. */
};

/* Free stacks of one size. Protected by the pool's lock. */
struct jg__stack_class {
    size_t size;
    struct jg__stack *free;
    struct jg__stack_class *next;
};

struct jg__stack_pool {
    pthread_mutex_t lock;          /* Protects everything below. */
    struct jg__slab *slabs;        /* Every slab, freed at the end. */
    struct jg__stack_class *classes;
    size_t default_size;           /* Bytes of the runtime's default stack. */
    jg_guard_mode guard;
};

/* A worker's cache of free default-size stacks; owner worker only. */
struct jg__stack_cache {
    struct jg__stack *free;
    int len;
};

int jg__stack_pool_init(struct jg__stack_pool *p, size_t default_size,
                        jg_guard_mode guard);
void jg__stack_pool_fini(struct jg__stack_pool *p);

/* Round a requested size to whole pages; 0 = the pool's default. Returns
 * the size, or 0 when it is out of bounds. */
size_t jg__stack_size_valid(size_t size);

/* Take a stack of `size` bytes (0 = default). Returns NULL when out of
 * memory or of guard budget under JG_GUARD_ALWAYS. */
struct jg__stack *jg__stack_get(struct jg__stack_pool *p,
                                struct jg__stack_cache *c, size_t size);

/* Give a stack back. */
void jg__stack_put(struct jg__stack_pool *p, struct jg__stack_cache *c,
                   struct jg__stack *s);

/* Return a cache's stacks to the pool (worker exit). */
void jg__stack_cache_drain(struct jg__stack_pool *p,
                           struct jg__stack_cache *c);

/*
 * One separately mapped stack with a guard page below it (for the shared
 * stacks). Returns 0, or -errno.
 */
int jg__stack_map_single(struct jg__stack *s, size_t size, jg_guard_mode g);
void jg__stack_unmap_single(struct jg__stack *s);

/*
 * Install the process-wide SIGSEGV handler that turns a fault in the guard
 * page under the running task's stack into a message naming the task.
 * Idempotent.
 */
void jg__stack_overflow_handler_install(void);

#endif /* JG_CORE_STACK_H */
