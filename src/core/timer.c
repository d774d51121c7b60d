/* SPDX-License-Identifier: MIT */
/*
 * timer.c - the binary min-heap behind each worker's timers (timer.h).
 */
#include <errno.h>

#include "core/common.h"
#include "core/timer.h"

#define COMPACT_MIN 1024

void jg__timer_heap_init(struct jg__timer_heap *h) {
    h->v = NULL;
    h->len = h->cap = 0;
    h->q = NULL;
    h->qhead = h->qlen = h->qcap = 0;
    h->compact_at = COMPACT_MIN;
    h->order = 0;
}

void jg__timer_heap_fini(struct jg__timer_heap *h) {
    jg__free(h->v, h->cap * sizeof(*h->v));
    jg__free(h->q, h->qcap * sizeof(*h->q));
    jg__timer_heap_init(h);
}

static bool before(const struct jg__timer *a, const struct jg__timer *b) {
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->order < b->order);
}

static void sift_up(struct jg__timer_heap *h, size_t i) {
    struct jg__timer x = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&x, &h->v[parent])) {
            break;
        }
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = x;
}

static void sift_down(struct jg__timer_heap *h, size_t i) {
    struct jg__timer x = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len) {
            break;
        }
        if (child + 1 < h->len && before(&h->v[child + 1], &h->v[child])) {
            child++;
        }
        if (!before(&h->v[child], &x)) {
            break;
        }
        h->v[i] = h->v[child];
        i = child;
    }
    h->v[i] = x;
}

static struct jg__timer *ring_at(const struct jg__timer_heap *h, size_t i) {
    return &h->q[(h->qhead + i) % h->qcap];
}

/* Append to the ring, growing it (in order) when full. */
static int ring_push(struct jg__timer_heap *h, struct jg__timer t) {
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 64;
        struct jg__timer *q = jg__malloc(cap * sizeof(*q));
        if (q == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < h->qlen; i++) {
            q[i] = *ring_at(h, i);
        }
        jg__free(h->q, h->qcap * sizeof(*q));
        h->q = q;
        h->qhead = 0;
        h->qcap = cap;
    }
    h->q[(h->qhead + h->qlen) % h->qcap] = t;
    h->qlen++;
    return 0;
}

int jg__timer_add(struct jg__timer_heap *h, int64_t deadline,
                  struct jg_task *task, uint64_t seq) {
    struct jg__timer t = {deadline, h->order++, task, seq};
    if (h->qlen == 0 || deadline >= ring_at(h, h->qlen - 1)->deadline) {
        return ring_push(h, t);
    }
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct jg__timer *v =
            jg__realloc(h->v, h->cap * sizeof(*v), cap * sizeof(*v));
        if (v == NULL) {
            return -ENOMEM;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->len] = t;
    sift_up(h, h->len++);
    return 0;
}

bool jg__timer_pop_due(struct jg__timer_heap *h, int64_t now,
                       struct jg__timer *out) {
    bool from_ring = h->qlen > 0 && (h->len == 0 || before(&h->q[h->qhead],
                                                           &h->v[0]));
    if (from_ring) {
        if (h->q[h->qhead].deadline > now) {
            return false;
        }
        *out = h->q[h->qhead];
        h->qhead = (h->qhead + 1) % h->qcap;
        h->qlen--;
        return true;
    }
    if (h->len == 0 || h->v[0].deadline > now) {
        return false;
    }
    *out = h->v[0];
    h->v[0] = h->v[--h->len];
    if (h->len > 0) {
        sift_down(h, 0);
    }
    return true;
}

void jg__timer_compact(struct jg__timer_heap *h,
                       bool (*still_waiting)(struct jg_task *, uint64_t)) {
    size_t kept = 0;
    for (size_t i = 0; i < h->len; i++) {
        if (still_waiting(h->v[i].task, h->v[i].seq)) {
            h->v[kept++] = h->v[i];
        }
    }
    h->len = kept;
    /* Floyd's heap construction: sift down every inner node, bottom up. */
    for (size_t i = kept / 2; i-- > 0;) {
        sift_down(h, i);
    }
    /* The ring keeps its order: slide the live ones to the front. */
    size_t qkept = 0;
    for (size_t i = 0; i < h->qlen; i++) {
        struct jg__timer t = *ring_at(h, i);
        if (still_waiting(t.task, t.seq)) {
            *ring_at(h, qkept++) = t;
        }
    }
    h->qlen = qkept;
    size_t live = kept + qkept;
    h->compact_at = live * 2 > COMPACT_MIN ? live * 2 : COMPACT_MIN;
}
