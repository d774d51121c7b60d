/* SPDX-License-Identifier: MIT */
/*
 * fork.c - jg_par_join inside a task: lazy forks on the worker's deque.
 *
 * Model. A join offers its second half (fb) as a fork record, on the
 * joining task's stack, pushed at the bottom of the worker's deque, and runs
 * its first half (fa) at once. Afterwards it pops the bottom of the deque:
 * if that is still its record, nobody took fb and it runs fb inline. That
 * is the whole fast path: one push and one pop (with no fence at all when
 * the runtime has one worker), no allocation, no stack.
 *
 * Any other taker of the record - a thief, the worker's own scheduler, the
 * global queue after a spill - hands it to jg__fork_adopt(), which decides
 * the record's fate with one CAS on `state`: PENDING -> STOLEN (fb then runs
 * as a task of its own, with its own stack, so it may block like any task)
 * or, if the owner got there first (PENDING -> OWNED, below), discards it.
 *
 * The slow path: when the pop does not give back the record (fa blocked and
 * the task resumed on another worker; fa spawned tasks that sit above the
 * record; the record was spilled or stolen), the owner tries PENDING ->
 * OWNED and runs fb itself on success. Either way the record may still be
 * referenced by whoever holds the deque entry, and it lives on the owner's
 * stack: so the owner waits, suspended, until the record is *released* -
 * by the thief's task once fb is done, or by whoever discards the entry.
 *
 * Release. `ws` holds the owner's wait sequence << 1, and bit 0 = released.
 * The releaser reads everything it needs (the owner) first, then sets bit 0
 * with one exchange, which also tells it the wait to end; after that it
 * never touches the record again, since the owner may return at once.
 *
 * Shared-stack tasks do not offer forks: their stack bytes move while they
 * wait, so a record on that stack could not stay put. They run fa then fb.
 */
#include <errno.h>
#include <stdbool.h>

#include "core/fork.h"
#include "core/sched.h"

enum { PENDING, OWNED, STOLEN };

struct jg__fork {
    jg_par_fn fn;  /* fb and its argument: written before the push. */
    void *arg;
    int rc;        /* fb's result when a thief ran it; read after release. */
    _Atomic int state;       /* PENDING, then OWNED or STOLEN, by CAS. */
    _Atomic uint64_t ws;     /* Owner's wait seq << 1 | released. */
    struct jg_task *owner;   /* Immutable. */
} __attribute__((aligned(8)));

static void fork_release(struct jg__fork *f) {
    struct jg_task *owner = f->owner;
    /* Acq_rel: publishes rc to the owner, whose acquire load sees bit 0.
     * After this exchange f may be gone. */
    uint64_t v = atomic_exchange_explicit(&f->ws, 1, memory_order_acq_rel);
    if ((v >> 1) != 0) {
        jg__wake(owner, v >> 1, JG__WAKE_OK);
    }
}

/* Suspend the owner until its record is released. Not cancellable: the
 * record must outlive every reference to it. A cancel that arrives meanwhile
 * wakes us spuriously and stays pending for the task's next wait. */
static void wait_released(struct jg_task *self, struct jg__fork *f) {
    for (;;) {
        uint64_t v = atomic_load_explicit(&f->ws, memory_order_acquire);
        if (v & 1) {
            return;
        }
        uint64_t seq = jg__park_prepare(self, false);
        if (!atomic_compare_exchange_strong_explicit(
                &f->ws, &v, seq << 1, memory_order_acq_rel,
                memory_order_acquire)) {
            jg__park_abandon(self, seq); /* Released meanwhile. */
            continue;
        }
        jg__park(self, seq, false);
    }
}

static void *fork_entry(void *arg) {
    struct jg__fork *f = arg;
    f->rc = f->fn(f->arg);
    fork_release(f);
    return NULL;
}

struct jg_task *jg__fork_adopt(struct jg__worker *w, void *item) {
    struct jg__fork *f = (struct jg__fork *)((uintptr_t)item & ~JG__FORK_TAG);
    int expect = PENDING;
    if (!atomic_compare_exchange_strong_explicit(&f->state, &expect, STOLEN,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        fork_release(f); /* The owner ran fb itself: drop the entry. */
        return NULL;
    }
    struct jg_task *t;
    jg_spawn_opts o = {.name = "fork", .stack_mode = JG_STACK_PRIVATE};
    if (jg__task_new(w, &t, false, fork_entry, f, &o) < 0) {
        /* No memory for a task: undo the steal, and let the owner (or a
         * later taker, once memory is back) have the record. */
        atomic_store_explicit(&f->state, PENDING, memory_order_release);
        jg__sched_push_global(w->rt, item);
        return NULL;
    }
    return t;
}

static int join_serial(jg_par_fn fa, void *a, jg_par_fn fb, void *b) {
    int ra = fa(a);
    int rb = fb(b);
    return ra < 0 ? ra : rb;
}

int jg__par_join_task(struct jg_task *self, jg_par_fn fa, void *a,
                      jg_par_fn fb, void *b) {
    if (self->mode == JG_STACK_SHARED) {
        return join_serial(fa, a, fb, b);
    }
    struct jg__worker *w = self->worker;
    struct jg__runtime *rt = w->rt;
    struct jg__fork f = {.fn = fb, .arg = b, .owner = self};
    atomic_init(&f.state, PENDING);
    atomic_init(&f.ws, 0);
    void *item = (void *)((uintptr_t)&f | JG__FORK_TAG);
    if (jg__deque_push(&w->deque, item) != 0) {
        return join_serial(fa, a, fb, b); /* Deque full: plenty to steal. */
    }
    bool single = rt->nworkers == 1;
    if (!single) {
        jg__sched_offer(rt);
    }
    int ra = fa(a);
    if (self->worker == w) {
        void *got = single ? jg__deque_pop_unshared(&w->deque)
                           : jg__deque_pop(&w->deque);
        if (got == item) {
            int rb = fb(b); /* Nobody took it: the fast path. */
            return ra < 0 ? ra : rb;
        }
        if (got != NULL) {
            jg__deque_push(&w->deque, got); /* Not ours: put it back. */
        }
    }
    int expect = PENDING;
    int rb = 0;
    if (atomic_compare_exchange_strong_explicit(&f.state, &expect, OWNED,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
        rb = fb(b);
    }
    wait_released(self, &f);
    if (expect == STOLEN) {
        rb = f.rc;
    }
    return ra < 0 ? ra : rb;
}
