/* SPDX-License-Identifier: MIT */
/*
 * test_timer.c - the timer heap: deadline order, ties in insertion order,
 * compaction of stale timers.
 */
#include "core/timer.h"
#include "helpers.h"

#define T(i) ((struct jg_task *)(uintptr_t)((i) + 1))

Test(timer, pops_in_deadline_order_ties_first_in_first_out) {
    struct jg__timer_heap h;
    jg__timer_heap_init(&h);
    uint32_t r = 7;
    for (long i = 0; i < 5000; i++) {
        cr_assert_eq(jg__timer_add(&h, rnd(&r) % 100, T(i), (uint64_t)i), 0);
    }
    cr_assert_eq(jg__timer_next(&h) >= 0, 1);
    struct jg__timer tm, prev = {.deadline = -1};
    long n = 0;
    while (jg__timer_pop_due(&h, 1000, &tm)) {
        cr_assert(tm.deadline >= prev.deadline);
        if (tm.deadline == prev.deadline) {
            cr_assert(tm.seq > prev.seq, "tie out of insertion order");
        }
        prev = tm;
        n++;
    }
    cr_assert_eq(n, 5000);
    cr_assert_eq(jg__timer_next(&h), -1);
    jg__timer_heap_fini(&h);
}

Test(timer, nothing_pops_before_its_deadline) {
    struct jg__timer_heap h;
    jg__timer_heap_init(&h);
    jg__timer_add(&h, 50, T(0), 0);
    struct jg__timer tm;
    cr_assert_eq(jg__timer_pop_due(&h, 49, &tm), false);
    cr_assert_eq(jg__timer_pop_due(&h, 50, &tm), true);
    jg__timer_heap_fini(&h);
}

static bool even_seq(struct jg_task *t, uint64_t seq) {
    (void)t;
    return seq % 2 == 0;
}

Test(timer, compaction_keeps_live_timers_in_order) {
    struct jg__timer_heap h;
    jg__timer_heap_init(&h);
    for (long i = 0; i < 3000; i++) {
        jg__timer_add(&h, 3000 - i, T(i), (uint64_t)i);
    }
    jg__timer_compact(&h, even_seq);
    cr_assert_eq(jg__timer_count(&h), 1500);
    struct jg__timer tm;
    int64_t last = -1;
    while (jg__timer_pop_due(&h, 1 << 20, &tm)) {
        cr_assert_eq(tm.seq % 2, 0);
        cr_assert(tm.deadline > last);
        last = tm.deadline;
    }
    jg__timer_heap_fini(&h);
}

/* Timers added in deadline order take the ring, the others the heap; pops
 * interleave the two in deadline order, ties first-in first-out. */
Test(timer, in_order_and_out_of_order_timers_interleave) {
    struct jg__timer_heap h;
    jg__timer_heap_init(&h);
    long n = 0;
    for (long i = 0; i < 20000; i++) {
        int64_t d = i % 10 == 0 ? 50000 - i : i; /* Mostly rising. */
        cr_assert_eq(jg__timer_add(&h, d, T(i), (uint64_t)i), 0);
    }
    cr_assert(h.qlen > 0 && h.len > 0, "both structures used");
    struct jg__timer tm, prev = {.deadline = -1};
    while (jg__timer_pop_due(&h, 1 << 30, &tm)) {
        cr_assert(tm.deadline > prev.deadline ||
                      (tm.deadline == prev.deadline && tm.seq > prev.seq),
                  "out of order at %ld", n);
        prev = tm;
        n++;
    }
    cr_assert_eq(n, 20000);
    cr_assert_eq(jg__timer_next(&h), -1);
    jg__timer_heap_fini(&h);
}
