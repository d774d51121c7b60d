/* SPDX-License-Identifier: MIT */
/*
 * fork.c - jg_par_join inside a task: latent forks, promoted on demand to
 * the worker's deque.
 *
 * Model. A join records its second half (fb) in a fork record on the
 * joining task's own stack and runs its first half (fa) at once. The record
 * starts *latent*: linked into the task's private list of forks, invisible
 * to other workers. When fa returns, a record still latent is unlinked and
 * fb runs inline: a join that nobody could take costs a few plain stores
 * and loads, no atomics, no allocation, no stack.
 *
 * Promotion. Every PROMOTE_EVERY joins, a worker looks whether any worker
 * is idle; if one is, the task's *oldest* latent fork (the biggest piece of
 * work, nearest the root) is pushed on the worker's Chase-Lev deque, where
 * thieves find it. This is heartbeat scheduling driven by demand: forks
 * are exposed only when someone can take them, so a busy machine pays for
 * no synchronisation at all. A task that is about to wait exposes all its
 * latent forks (jg__fork_expose), so its worker can run them meanwhile.
 *
 * Loops fork coarse pieces, which are promoted at once (the eager flag of
 * jg__par_join_ex): a loop's few joins would otherwise never reach the
 * heartbeat.
 *
 * A promoted record follows the deque protocol. The owner, after fa, pops
 * the bottom of its deque: its record, if nobody took it, and fb runs
 * inline. Any other taker - a thief, the worker's own scheduler, the global
 * queue after a spill - hands it to jg__fork_adopt(), which settles its
 * fate with one CAS on `state`: PENDING -> STOLEN (fb then runs as a task
 * of its own, with its own stack, so it may block like any task) or, if the
 * owner got there first (PENDING -> OWNED), drops it. When the pop does not
 * give the record back (fa blocked and the task resumed on another worker,
 * fa spawned tasks above it, it was spilled or stolen), the owner tries
 * PENDING -> OWNED and runs fb itself on success. Either way the record may
 * still be referenced by whoever holds the deque entry, and it lives on the
 * owner's stack: so the owner waits, suspended, until the record is
 * *released*, by the thief's task once fb is done or by whoever drops the
 * entry.
 *
 * Release. `ws` holds the owner's wait sequence << 1, and bit 0 = released.
 * The releaser reads what it needs (the owner) first, then sets bit 0 with
 * one exchange, which also tells it which wait to end; after that it never
 * touches the record, since the owner may return at once.
 *
 * Shared-stack tasks do not fork: their stack bytes move while they wait,
 * so a record on that stack could not stay put. They run fa, then fb.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "core/fork.h"
#include "core/sched.h"

/* Joins between looks for idle workers. Each look reads two counters that
 * idle workers write, and a promotion costs the owner a fenced pop later
 * and often a wait; fib(35) on 2 workers ran best between 64 and 1024
 * (at 256 about 2x its 1-worker time), and 256 joins of fib take about a
 * microsecond, quick enough for a thief that is spinning. */
#define PROMOTE_EVERY 256

enum { PENDING, OWNED, STOLEN };

/* Forks run by a task other than their owner, since the process started:
 * a statistic (tests check the stealing path is taken). Relaxed: nothing
 * is ordered by it. */
_Atomic uint64_t jg__forks_stolen;

struct jg__fork {
    jg_par_fn fn;  /* fb and its argument: written before the fork. */
    void *arg;
    int rc;        /* fb's result when a thief ran it; read after release. */
    bool promoted; /* On a deque (or was). Written by the owner only. */
    _Atomic int state;       /* PENDING, then OWNED or STOLEN, by CAS. */
    _Atomic uint64_t ws;     /* Owner's wait seq << 1 | released. */
    struct jg_task *owner;   /* Immutable. */
    /* The thief's task running fb, written by the thief before it runs;
     * read only by the deadlock report (all workers asleep). */
    _Atomic(struct jg_task *) task;
    struct jg__fork *newer;  /* Latent list, owner only. */
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
 * wakes us spuriously and stays pending for the task's next wait. The wait
 * counts as one for another task's end (deadlock detection): a stolen fb
 * ends it when its task finishes; a record that the owner took back waits
 * only for a worker to drop its deque entry, and while it is queued or
 * being dropped nothing looks like a deadlock. */
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
        jg__join_wait_begin(
            self, (struct jg_task *)((uintptr_t)f | JG__FORK_TAG), seq);
        jg__park(self, seq, false);
        jg__join_wait_end(self);
    }
}

struct jg_task *jg__fork_task(const void *item) {
    const struct jg__fork *f =
        (const struct jg__fork *)((uintptr_t)item & ~JG__FORK_TAG);
    return atomic_load_explicit(&((struct jg__fork *)f)->task,
                                memory_order_acquire);
}

/* f->rc of a stolen record whose task could never start (no stack): the
 * owner runs fb itself once the record is released. */
#define RC_RUN_HERE INT_MIN

static void *fork_entry(void *arg) {
    struct jg__fork *f = arg;
    f->rc = f->fn(f->arg);
    fork_release(f);
    return NULL;
}

void jg__fork_start_failed(struct jg_task *t) {
    if (t->fn != fork_entry) {
        return;
    }
    /* fb never ran and never will here: hand it back to its owner, who
     * waits for the release (fb must run, as with any join). */
    struct jg__fork *f = t->arg;
    f->rc = RC_RUN_HERE;
    fork_release(f);
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
    atomic_fetch_add_explicit(&jg__forks_stolen, 1, memory_order_relaxed);
    struct jg_task *t;
    jg_spawn_opts o = {.name = "fork", .stack_mode = JG_STACK_PRIVATE};
    if (jg__task_new(w, &t, false, fork_entry, f, &o) < 0) {
        /* No memory for a task: undo the steal, and let the owner (or a
         * later taker, once memory is back) have the record. */
        atomic_store_explicit(&f->state, PENDING, memory_order_release);
        jg__sched_push_global(w->rt, item);
        return NULL;
    }
    atomic_store_explicit(&f->task, t, memory_order_release);
    return t;
}

/* Push self's oldest latent fork on its worker's deque. Returns false when
 * the deque is full (the fork stays latent). */
static bool promote_oldest(struct jg_task *self) {
    struct jg__fork *f = self->x->latent_old;
    /* What the deque protocol needs; latent forks never set it up. */
    f->owner = self;
    atomic_init(&f->state, PENDING);
    atomic_init(&f->ws, 0);
    atomic_init(&f->task, NULL);
    struct jg__worker *w = self->x->worker;
    void *item = (void *)((uintptr_t)f | JG__FORK_TAG);
    if (jg__deque_push(&w->deque, item) != 0) {
        return false;
    }
    f->promoted = true;
    self->x->latent_old = f->newer;
    if (self->x->latent_old == NULL) {
        self->x->latent_new = NULL;
    }
    return true;
}

void jg__fork_expose(struct jg_task *self) {
    bool any = false;
    while (self->x->latent_old != NULL && promote_oldest(self)) {
        any = true;
    }
    if (any && self->x->worker->rt->nworkers > 1) {
        jg__sched_offer(self->x->worker->rt);
    }
}

static int join_serial(jg_par_fn fa, void *a, jg_par_fn fb, void *b) {
    int ra = fa(a);
    int rb = fb(b);
    return ra < 0 ? ra : rb;
}

/* fa is done and f was promoted: get fb run, by us or by whoever took f. */
__attribute__((noinline))
static int reclaim(struct jg_task *self, struct jg__worker *w,
                   struct jg__fork *f) {
    void *item = (void *)((uintptr_t)f | JG__FORK_TAG);
    if (self->x->worker == w) {
        void *got = w->rt->nworkers == 1 ? jg__deque_pop_unshared(&w->deque)
                                         : jg__deque_pop(&w->deque);
        if (got == item) {
            return f->fn(f->arg); /* Nobody took it. */
        }
        if (got != NULL) {
            jg__deque_push(&w->deque, got); /* Not ours: put it back. */
        }
    }
    int expect = PENDING;
    int rb = 0;
    if (atomic_compare_exchange_strong_explicit(&f->state, &expect, OWNED,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
        rb = f->fn(f->arg);
    }
    wait_released(self, f);
    if (expect == STOLEN) {
        rb = f->rc == RC_RUN_HERE ? f->fn(f->arg) : f->rc;
    }
    return rb;
}

int jg_par_join(jg_par_fn fa, void *a, jg_par_fn fb, void *b) {
    return jg__par_join_ex(fa, a, fb, b, false);
}

int jg__par_join_ex(jg_par_fn fa, void *a, jg_par_fn fb, void *b,
                    bool eager) {
    if (jg__unlikely(fa == NULL || fb == NULL)) {
        return -EINVAL;
    }
    /* Read at entry, before anything can switch (see sched.h). */
    struct jg__worker *w = jg__tls_worker;
    if (jg__unlikely(w == NULL || w->current == NULL)) {
        return jg__par_join_outside(fa, a, fb, b);
    }
    struct jg_task *self = w->current;
    if (jg__unlikely(self->mode == JG_STACK_SHARED)) {
        return join_serial(fa, a, fb, b);
    }
    struct jg__exec *x = self->x; /* Fixed while the task runs. */
    struct jg__fork f;
    f.fn = fb;
    f.arg = b;
    f.promoted = false;
    f.newer = NULL;
    /* Link f as the newest latent fork. */
    struct jg__fork *prev = x->latent_new;
    if (prev != NULL) {
        prev->newer = &f;
    } else {
        x->latent_old = &f;
    }
    x->latent_new = &f;
    if (eager) {
        /* A coarse fork (a loop's half): offer it, and anything older,
         * at once; its size pays for the deque. */
        if (w->rt->nworkers > 1) {
            jg__fork_expose(self);
        }
    } else if (jg__unlikely(++w->fork_tick >= PROMOTE_EVERY)) {
        w->fork_tick = 0;
        if (w->rt->nworkers > 1 && jg__sched_idle_workers(w->rt) > 0 &&
            promote_oldest(self)) {
            jg__sched_offer(w->rt);
        }
    }
    int ra = fa(a);
    int rb;
    if (jg__likely(!f.promoted)) {
        /* Still latent, so still the newest: unlink it and run fb. */
        x->latent_new = prev;
        if (prev != NULL && x->latent_old != &f) {
            prev->newer = NULL;
        } else {
            x->latent_old = x->latent_new = NULL;
        }
        rb = fb(b);
    } else {
        rb = reclaim(self, w, &f);
    }
    return ra < 0 ? ra : rb;
}
