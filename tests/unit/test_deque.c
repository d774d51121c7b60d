/* SPDX-License-Identifier: MIT */
/*
 * test_deque.c - the Chase-Lev deque: order at each end, capacity, and a
 * race of the owner against thieves where every item must be taken exactly
 * once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/deque.h"
#include "helpers.h"

#define ITEM(i) ((void *)(uintptr_t)((i) + 16))
#define INDEX(p) ((long)(uintptr_t)(p)-16)

Test(deque, owner_pops_newest_thieves_take_oldest) {
    struct jg__deque q;
    cr_assert_eq(jg__deque_init(&q, 8), 0);
    for (long i = 0; i < 5; i++) {
        cr_assert_eq(jg__deque_push(&q, ITEM(i)), 0);
    }
    cr_assert_eq(jg__deque_len(&q), 5);
    cr_assert_eq(INDEX(jg__deque_pop(&q)), 4);
    cr_assert_eq(INDEX(jg__deque_steal(&q)), 0);
    cr_assert_eq(INDEX(jg__deque_steal(&q)), 1);
    cr_assert_eq(INDEX(jg__deque_pop(&q)), 3);
    cr_assert_eq(INDEX(jg__deque_pop(&q)), 2);
    cr_assert_null(jg__deque_pop(&q));
    cr_assert_null(jg__deque_steal(&q));
    jg__deque_fini(&q);
}

Test(deque, full_deque_says_ebusy_and_wraps_around) {
    struct jg__deque q;
    cr_assert_eq(jg__deque_init(&q, 4), 0);
    for (long round = 0; round < 100; round++) {
        for (long i = 0; i < 4; i++) {
            cr_assert_eq(jg__deque_push(&q, ITEM(round * 4 + i)), 0);
        }
        cr_assert_eq(jg__deque_push(&q, ITEM(99)), -EBUSY);
        for (long i = 0; i < 4; i++) {
            cr_assert_eq(INDEX(jg__deque_steal(&q)), round * 4 + i);
        }
    }
    jg__deque_fini(&q);
}

#define THIEVES 3

static struct jg__deque race_q;
static _Atomic long taken_by_thieves;
static _Atomic int owner_done;
static _Atomic unsigned char *seen;

static void mark(void *item) {
    long i = INDEX(item);
    unsigned char was = atomic_fetch_add(&seen[i], 1);
    cr_assert_eq(was, 0, "item %ld taken twice", i);
}

static void *thief(void *arg) {
    (void)arg;
    for (;;) {
        void *it = jg__deque_steal(&race_q);
        if (it == NULL) {
            if (atomic_load(&owner_done)) {
                return NULL;
            }
            continue;
        }
        if (it != JG__DEQUE_ABORT) {
            mark(it);
            atomic_fetch_add(&taken_by_thieves, 1);
        }
    }
}

/* The owner pushes and pops at random while thieves steal: no item is lost
 * or duplicated, with a small capacity to force wrap-around. */
Test(deque, owner_and_thieves_take_each_item_once, .timeout = 120) {
    long n = stress(2000000);
    seen = calloc((size_t)n, 1);
    cr_assert_eq(jg__deque_init(&race_q, 4), 0);
    pthread_t th[THIEVES];
    for (int i = 0; i < THIEVES; i++) {
        pthread_create(&th[i], NULL, thief, NULL);
    }
    uint32_t r = 12345;
    long pushed = 0, popped = 0;
    while (pushed < n) {
        if (jg__deque_push(&race_q, ITEM(pushed)) == 0) {
            pushed++;
        }
        if (rnd(&r) % 3 == 0) {
            void *it = jg__deque_pop(&race_q);
            if (it != NULL) {
                mark(it);
                popped++;
            }
        }
    }
    void *it;
    while ((it = jg__deque_pop(&race_q)) != NULL) {
        mark(it);
        popped++;
    }
    atomic_store(&owner_done, 1);
    for (int i = 0; i < THIEVES; i++) {
        pthread_join(th[i], NULL);
    }
    cr_assert_eq(popped + atomic_load(&taken_by_thieves), n,
                 "popped %ld + stolen %ld != %ld", popped,
                 atomic_load(&taken_by_thieves), n);
    for (long i = 0; i < n; i++) {
        cr_assert_eq(seen[i], 1, "item %ld taken %d times", i, seen[i]);
    }
    jg__deque_fini(&race_q);
    free((void *)seen);
}
