/* SPDX-License-Identifier: MIT */
/*
 * deque.h - the work-stealing deque of each worker (Chase-Lev, with the C11
 * orderings of Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
 * Work-Stealing for Weak Memory Models", PPoPP 2013).
 *
 * The owning worker pushes and pops at `bottom`; any thread may steal at
 * `top`, the owner included: the scheduler takes its own tasks from the top
 * so that tasks run in the order they became runnable (fairness, and the
 * order asyncio users expect), while fork-join code pops its latest fork
 * from the bottom. Invariants:
 *   - top <= bottom + 1 (bottom may dip one below top during a pop), and
 *     bottom - top <= capacity;
 *   - slots[i & mask] holds a live item for every top <= i < bottom;
 *   - only the owner stores to bottom; top only moves by CAS.
 * A full deque is not grown: push returns -EBUSY and the caller spills half
 * of its items to the global queue (sched.c, "spill").
 */
#ifndef JG_CORE_DEQUE_H
#define JG_CORE_DEQUE_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/common.h"

struct jg__deque {
    _Atomic int64_t top; /* Next index to steal. CAS by any thread. */
    _Alignas(JG__CACHELINE) _Atomic int64_t bottom; /* Stored by owner only. */
    int64_t mask;                 /* capacity - 1; capacity a power of two. */
    _Atomic(void *) *slots;       /* Owner writes, stealers read. */
    _Atomic int fence;            /* Only for jg__fence under TSan. */
};

/* A steal that lost a race: the deque may still hold items. */
#define JG__DEQUE_ABORT ((void *)1)

/* capacity: a power of two >= 2. Returns 0 or -ENOMEM. */
int jg__deque_init(struct jg__deque *q, int64_t capacity);
void jg__deque_fini(struct jg__deque *q);

/* Owner only. Returns 0, or -EBUSY if the deque is full. */
static inline int jg__deque_push(struct jg__deque *q, void *item) {
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
    if (b - t > q->mask) {
        return -16; /* -EBUSY, spelled out to keep errno.h out of here. */
    }
    /* Relaxed is enough: the release store below publishes the slot. */
    atomic_store_explicit(&q->slots[b & q->mask], item, memory_order_relaxed);
    /* Pairs with the acquire load of bottom in jg__deque_steal(). */
    atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
    return 0;
}

/* Owner only: take the newest item. Returns it, or NULL when empty. */
void *jg__deque_pop(struct jg__deque *q);

/*
 * Any thread: take the oldest item. Returns it, NULL when empty, or
 * JG__DEQUE_ABORT when another thread won the race for it.
 */
void *jg__deque_steal(struct jg__deque *q);

/* Owner only, with no possible thief: take the oldest item (FIFO), or
 * NULL; the number of items left goes to *left. */
static inline void *jg__deque_take_unshared_left(struct jg__deque *q,
                                                 int64_t *left) {
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    if (t >= b) {
        *left = 0;
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[t & q->mask],
                                      memory_order_relaxed);
    atomic_store_explicit(&q->top, t + 1, memory_order_relaxed);
    *left = b - t - 1;
    return item;
}

/* Owner only, with no possible thief: the k-th oldest item (0: the next
 * to be taken); the deque holds more than k. */
static inline void *jg__deque_peek_unshared(struct jg__deque *q, int64_t k) {
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    return atomic_load_explicit(&q->slots[(t + k) & q->mask],
                                memory_order_relaxed);
}

/* Owner only, with no possible thief: jg__deque_pop without the fence. */
static inline void *jg__deque_pop_unshared(struct jg__deque *q) {
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    if (b < t) {
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[b & q->mask],
                                      memory_order_relaxed);
    atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
    return item;
}

/*
 * Owner only: take up to n of the oldest items into out[], with one CAS for
 * the lot. Returns how many were taken.
 */
int64_t jg__deque_steal_batch(struct jg__deque *q, void **out, int64_t n);

/* Items in the deque; exact for the owner, an estimate for others. */
static inline int64_t jg__deque_len(struct jg__deque *q) {
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}

#endif /* JG_CORE_DEQUE_H */
