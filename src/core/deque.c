/* SPDX-License-Identifier: MIT */
/*
 * deque.c - pop and steal of the Chase-Lev deque (see deque.h for the model
 * and its invariants).
 */
#include <errno.h>

#include "core/deque.h"

_Static_assert(-16 == -EBUSY, "jg__deque_push spells out -EBUSY");

int jg__deque_init(struct jg__deque *q, int64_t capacity) {
    JG_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0,
              "deque capacity must be a power of two");
    q->slots = jg__calloc((size_t)capacity, sizeof(*q->slots));
    if (q->slots == NULL) {
        return -ENOMEM;
    }
    atomic_init(&q->top, 0);
    atomic_init(&q->bottom, 0);
    q->mask = capacity - 1;
    return 0;
}

void jg__deque_fini(struct jg__deque *q) {
    jg__free(q->slots, (size_t)(q->mask + 1) * sizeof(*q->slots));
    q->slots = NULL;
}

void *jg__deque_pop(struct jg__deque *q) {
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
    atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
    /* Orders the store of bottom before the load of top; pairs with the
     * fence in jg__deque_steal(), so a thief and the owner cannot both miss
     * each other when one item is left. */
    jg__fence(&q->fence);
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    if (t > b) {
        /* Empty: restore bottom. */
        atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[b & q->mask],
                                      memory_order_relaxed);
    if (t == b) {
        /* The last item: race the thieves for it with a CAS on top. */
        if (!atomic_compare_exchange_strong_explicit(
                &q->top, &t, t + 1, memory_order_seq_cst,
                memory_order_relaxed)) {
            item = NULL;
        }
        atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

void *jg__deque_steal(struct jg__deque *q) {
    int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
    /* Pairs with the fence in jg__deque_pop(). */
    jg__fence(&q->fence);
    /* Acquire pairs with the release store of bottom in jg__deque_push():
     * the slot and the item it points to are visible once we see bottom. */
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
    if (t >= b) {
        return NULL;
    }
    void *item = atomic_load_explicit(&q->slots[t & q->mask],
                                      memory_order_relaxed);
    /* Seq_cst CAS: the item is ours only if nobody moved top meanwhile. */
    if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed)) {
        return JG__DEQUE_ABORT;
    }
    return item;
}

int64_t jg__deque_steal_batch(struct jg__deque *q, void **out, int64_t n) {
    for (;;) {
        int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
        int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
        int64_t k = b - t < n ? b - t : n;
        if (k <= 0) {
            return 0;
        }
        for (int64_t i = 0; i < k; i++) {
            out[i] = atomic_load_explicit(&q->slots[(t + i) & q->mask],
                                          memory_order_relaxed);
        }
        /* The owner never moves top backwards, so winning this CAS means
         * no thief took any of the k (they would have moved top). */
        if (atomic_compare_exchange_strong_explicit(&q->top, &t, t + k,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed)) {
            return k;
        }
    }
}
