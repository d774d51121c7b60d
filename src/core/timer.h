/* SPDX-License-Identifier: MIT */
/*
 * timer.h - a worker's timers: a binary min-heap of (deadline, task, wait
 * sequence), owned by one worker and touched only by it, so it needs no lock.
 *
 * A timer is never removed early. When the task it would wake is woken by
 * something else first (cancelled), its wait sequence moves on and the timer
 * becomes stale: firing it is a no-op. Stale timers are dropped when the heap
 * doubles (jg__timer_compact), so memory stays bounded by twice the live
 * timers. Equal deadlines fire in the order they were added.
 *
 * Most timers arrive in deadline order (a worker's tasks sleeping for the
 * same time), and a heap of a million of them costs a cache miss per level
 * on every pop. So timers not earlier than the last one queued go to a
 * FIFO ring instead (O(1) in and out, memory in order), and only the
 * others to the heap; the next timer is the earlier of the two heads.
 */
#ifndef JG_CORE_TIMER_H
#define JG_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jg_task;

struct jg__timer {
    int64_t deadline;     /* Monotonic ns. */
    uint64_t order;       /* Insertion count: ties fire first-in first-out. */
    struct jg_task *task; /* The task to wake. */
    uint64_t seq;         /* The wait of that task that this timer ends. */
};

struct jg__timer_heap {
    struct jg__timer *v; /* The heap: timers that came out of order. */
    size_t len, cap;
    struct jg__timer *q; /* The ring: timers in deadline order. */
    size_t qhead, qlen, qcap;
    size_t compact_at; /* Count that triggers the next compaction. */
    uint64_t order;
};

void jg__timer_heap_init(struct jg__timer_heap *h);
void jg__timer_heap_fini(struct jg__timer_heap *h);

/* Returns 0, or -ENOMEM. */
int jg__timer_add(struct jg__timer_heap *h, int64_t deadline,
                  struct jg_task *task, uint64_t seq);

/* Timers held (live or stale). */
static inline size_t jg__timer_count(const struct jg__timer_heap *h) {
    return h->len + h->qlen;
}

/* Deadline of the earliest timer, or -1 when there is none. */
static inline int64_t jg__timer_next(const struct jg__timer_heap *h) {
    int64_t a = h->len > 0 ? h->v[0].deadline : -1;
    int64_t b = h->qlen > 0 ? h->q[h->qhead].deadline : -1;
    if (a < 0) {
        return b;
    }
    return b >= 0 && b < a ? b : a;
}

/* Remove the earliest timer if it is due at `now`; false otherwise. */
bool jg__timer_pop_due(struct jg__timer_heap *h, int64_t now,
                       struct jg__timer *out);

/* Drop every timer for which still_waiting(task, seq) is false. */
void jg__timer_compact(struct jg__timer_heap *h,
                       bool (*still_waiting)(struct jg_task *, uint64_t));

#endif /* JG_CORE_TIMER_H */
