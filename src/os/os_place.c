/* SPDX-License-Identifier: MIT */
/*
 * os_place.c - where new threads and processes start ("spread start", see
 * os.h): the round-robin pick and the affinity calls around it.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"

/* 1: spread, 0: off (JG_SPREAD=0), -1: not read yet. */
static _Atomic int enabled = -1;
/* The calling thread's current burst of creations: how many it has
 * placed, and when it placed the last one. */
static __thread unsigned burst_len;
static __thread int64_t burst_last;

/* Creations closer together than this make one burst. */
#define BURST_GAP_NS 500000

static bool spread_on(void) {
    int e = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (e < 0) {
        const char *env = getenv("JG_SPREAD");
        e = env != NULL && strcmp(env, "0") == 0 ? 0 : 1;
        atomic_store_explicit(&enabled, e, memory_order_relaxed);
    }
    return e == 1;
}

void jg__os_place_pick(struct jg__place *pl) {
    pl->cpu = -1;
    if (!spread_on() ||
        sched_getaffinity(0, sizeof(pl->allowed), &pl->allowed) != 0) {
        return;
    }
    int n = CPU_COUNT(&pl->allowed);
    if (n < 2) {
        return;
    }
    int me = sched_getcpu();
    if (me < 0 || !CPU_ISSET(me, &pl->allowed)) {
        return;
    }
    /* Within a burst, the k-th creation goes to the k-th allowed CPU after
     * ours, k = 1, 2, ..., n, 1, ..., for the first 2n: a few workers or
     * CPU-bound threads (the usual burst) start one per CPU. The rest are
     * left to the kernel: a flood of short threads would pay for a wake-up
     * of another CPU and a migration each (start+join of threads in
     * batches of 100 cost 1.4x with every one placed), and the kernel
     * keeps them on the creator's CPU, to run when it waits. */
    int64_t now = jg__os_now();
    if (now - burst_last > BURST_GAP_NS) {
        burst_len = 0;
    }
    burst_last = now;
    unsigned k = 1 + burst_len++;
    if (k > 2 * (unsigned)n) {
        return;
    }
    k = 1 + (k - 1) % (unsigned)n;
    int c = me;
    for (unsigned seen = 0; seen < k;) {
        c = (c + 1) % CPU_SETSIZE;
        if (CPU_ISSET(c, &pl->allowed)) {
            seen++;
        }
    }
    pl->cpu = c;
}

void jg__os_place_attr(pthread_attr_t *attr, const struct jg__place *pl) {
    if (pl->cpu < 0) {
        return;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pl->cpu, &one);
    pthread_attr_setaffinity_np(attr, sizeof(one), &one);
}

void jg__os_place_pid(pid_t pid, const struct jg__place *pl) {
    if (pl->cpu < 0) {
        return;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pl->cpu, &one);
    /* Best effort: a refusal leaves the kernel's choice. */
    (void)sched_setaffinity(pid, sizeof(one), &one);
}

void jg__os_place_release(const struct jg__place *pl) {
    if (pl->cpu >= 0) {
        (void)sched_setaffinity(0, sizeof(pl->allowed), &pl->allowed);
    }
}

int jg__os_place_create(pthread_t *out, pthread_attr_t *attr,
                        struct jg__place *pl, void *(*fn)(void *), void *arg) {
    if (pl->cpu >= 0) {
        pthread_attr_t own;
        pthread_attr_t *a = attr;
        if (a == NULL) {
            pthread_attr_init(&own);
            a = &own;
        }
        jg__os_place_attr(a, pl);
        int rc = pthread_create(out, a, fn, arg);
        if (a == &own) {
            pthread_attr_destroy(&own);
        }
        if (rc != EINVAL) {
            return rc;
        }
        /* The CPU went away (or the attr's other settings are refused:
         * then the retry below says so). */
        pl->cpu = -1;
    }
    return pthread_create(out, attr, fn, arg);
}
