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

/* Pin thread or process id (0: the caller) to pl's CPU; best effort: a
 * refusal leaves the kernel's choice. */
static void pin(pid_t id, const struct jg__place *pl) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pl->cpu, &one);
    (void)sched_setaffinity(id, sizeof(one), &one);
}

void jg__os_place_pid(pid_t pid, struct jg__place *pl) {
    if (pl->cpu >= 0) {
        pin(pid, pl);
    }
}

void jg__os_place_widen(const struct jg__place *pl) {
    if (pl->cpu >= 0) {
        (void)sched_setaffinity(0, sizeof(pl->allowed), &pl->allowed);
    }
}

void jg__os_place_release(struct jg__place *pl) {
    if (pl->cpu < 0) {
        return;
    }
    /* The creator pins us right after the creation returns; widening
     * before that would leave us pinned for good. Acquire pairs with the
     * release in jg__os_place_create(). */
    while (!atomic_load_explicit(&pl->placed, memory_order_acquire)) {
        jg__os_yield();
    }
    jg__os_place_widen(pl);
}

int jg__os_place_create(pthread_t *out, pthread_attr_t *attr,
                        struct jg__place *pl, void *(*fn)(void *), void *arg) {
    /* Read before the thread exists: unplaced, it may free pl at once. */
    int cpu = pl->cpu;
    atomic_store_explicit(&pl->placed, 0, memory_order_relaxed);
    int rc = pthread_create(out, attr, fn, arg);
    if (rc != 0 || cpu < 0) {
        return rc;
    }
    /* Pinned after the creation, not through the attr: glibc then starts
     * the thread stopped and waits while the kernel moves it, 40 µs more
     * for each placed thread when the other CPU was idle. Not yet running
     * (it waits for `placed`), the new thread is moved between run
     * queues, which costs the creator one system call. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)pthread_setaffinity_np(*out, sizeof(one), &one);
    atomic_store_explicit(&pl->placed, 1, memory_order_release);
    return 0;
}
