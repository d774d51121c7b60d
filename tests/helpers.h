/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared by the tests: running a function as the main task with
 * the checks every test wants (jg_run succeeds, nothing leaks), and the
 * stress-size divisor.
 */
#ifndef JG_TEST_HELPERS_H
#define JG_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <juggle.h>

#include "core/common.h"

/* Run fn(arg) as the main task with opts; assert that jg_run returns 0 and
 * that every byte the runtime allocated was freed. Returns main's result. */
static inline void *run_opts(jg_task_fn fn, void *arg, jg_run_opts opts) {
    int64_t before = jg__alloc_live();
    void *result = NULL;
    int rc = jg_run(fn, arg, &opts, &result);
    cr_assert_eq(rc, 0, "jg_run: %s", jg_strerror(rc));
    cr_assert_eq(jg__alloc_live(), before, "leaked %lld bytes",
                 (long long)(jg__alloc_live() - before));
    return result;
}

static inline void *run_on(jg_task_fn fn, void *arg, int workers) {
    return run_opts(fn, arg, (jg_run_opts){.workers = workers});
}

/* Scale a stress size down for slow (sanitizer) builds. */
static inline long stress(long n) {
    const char *s = getenv("JUGGLE_STRESS_SCALE");
    long div = s ? atol(s) : 1;
    if (div < 1) {
        div = 1;
    }
    return n / div > 0 ? n / div : 1;
}

/* A tiny xorshift generator for random interleavings, seeded per task. */
static inline uint32_t rnd(uint32_t *state) {
    uint32_t x = *state ? *state : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif /* JG_TEST_HELPERS_H */
