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
    struct jg__timer *v;
    size_t len, cap;
    size_t compact_at; /* Length that triggers the next compaction. */
    uint64_t order;
};

void jg__timer_heap_init(struct jg__timer_heap *h);
void jg__timer_heap_fini(struct jg__timer_heap *h);

/* Returns 0, or -ENOMEM. */
int jg__timer_add(struct jg__timer_heap *h, int64_t deadline,
                  struct jg_task *task, uint64_t seq);

/* Deadline of the earliest timer, or -1 when there is none. */
static inline int64_t jg__timer_next(const struct jg__timer_heap *h) {
    return h->len > 0 ? h->v[0].deadline : -1;
}

/* Remove the earliest timer if it is due at `now`; false otherwise. */
bool jg__timer_pop_due(struct jg__timer_heap *h, int64_t now,
                       struct jg__timer *out);

/* Drop every timer for which still_waiting(task, seq) is false. */
void jg__timer_compact(struct jg__timer_heap *h,
                       bool (*still_waiting)(struct jg_task *, uint64_t));

#endif /* JG_CORE_TIMER_H */
