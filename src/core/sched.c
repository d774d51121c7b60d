/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the M:N work-stealing scheduler: switching between tasks, the
 * handoff, and the park/wake protocol; its queues, timers and idle workers
 * are in queue.c. This note describes the whole scheduler.
 *
 * Model. N workers (threads; the caller of jg_run() is worker 0) run tasks.
 * Each worker owns a Chase-Lev deque of runnable tasks that anyone may steal
 * from, a private FIFO of runnable tasks pinned to it (shared-stack tasks,
 * whose bytes live at this worker's stack addresses), an inbox where other
 * threads drop pinned tasks they wake, a timer heap, and its own thread
 * stack (sched_ctx) where the loop of worker_loop() runs when no task does.
 * A global queue takes work from outside and the overflow of full deques.
 *
 * Order. A worker takes its own tasks from the top of its deque, oldest
 * first, as thieves do: tasks run in the order they became runnable, which
 * is fair and what asyncio users expect. Every 61st round it looks at the
 * global queue first (as Go does), so spilled work is not starved.
 *
 * Switching. A task that blocks picks the next task itself and switches
 * straight to it; only when there is none, or when the next one needs its
 * bytes copied onto the shared stack that the blocking task is still
 * standing on, does it switch to the loop on sched_ctx. Whatever the
 * blocking task still needs done after its registers are saved (requeue
 * itself, commit its park, release its stack) it leaves in the worker's
 * handoff slot; the context that runs next on the worker does it first
 * (handoff()). That is the whole trick against the classic race where a
 * waker on another worker resumes a task whose registers are still being
 * saved: nobody can see the task as runnable before it is fully switched
 * out.
 *
 * Wake-ups. park/wake follow the state machine drawn in sched.h. A woken
 * task goes to the waker's own deque when the waker is a worker of the same
 * runtime, to its home worker's inbox when pinned elsewhere, and otherwise
 * to the global queue; then one parked worker is woken if any.
 *
 * Idle workers. A worker with nothing to do spins briefly (waking a parked
 * thread on another CPU costs tens of microseconds), then parks on a futex
 * until its next timer. Parking announces itself under park_lock and then
 * looks for work once more; a producer publishes work, then (seq_cst fence)
 * looks for parked workers. Either the parker sees the work or the producer
 * sees the parker: no lost wake-ups. An idle runtime uses no CPU.
 *
 * Shutdown. Each worker counts the tasks spawned on it and those that
 * finished on it, in counters only it writes (no shared counter bounces
 * between CPUs on every spawn). A worker that runs out of work adds up all
 * the finished counters and then all the spawned ones; if they are equal,
 * every task has finished (quiescent() in queue.c), so it sets `shutdown` and wakes
 * every worker; each one leaves its loop and runtime.c tears down.
 */
#include <errno.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"
#include "trace/trace.h"

enum { HO_NONE, HO_YIELD, HO_PARK, HO_EXIT };

__thread struct jg__worker *jg__tls_worker
    __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) struct jg__worker *jg__worker_self(void) {
    /* The empty asm keeps the compiler from caching the TLS address. */
    __asm__ volatile("" ::: "memory");
    return jg__tls_worker;
}

void jg__worker_bind(struct jg__worker *w) {
    jg__tls_worker = w;
}

/* ---- the shared stack ---- */

static void *sstack_top(struct jg__worker *w) {
    return (char *)w->sstack.lo + w->sstack.size;
}

/* Copy the live bytes of the task whose stack is on w's shared stack out to
 * its own buffer. Returns 0, or -ENOMEM (the bytes stay in place). */
static int sstack_save(struct jg__worker *w) {
    struct jg__exec *o = w->sstack_owner->x;
    char *sp = jg__ctx_sp(&o->ctx);
    size_t len = (size_t)((char *)sstack_top(w) - sp);
    if (len > o->saved_cap) {
        size_t cap = (len + 63) & ~(size_t)63;
        void *p = jg__realloc(o->saved, o->saved_cap, cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        o->saved = p;
        o->saved_cap = (uint32_t)cap;
    }
    /* The bytes may carry ASan's poison for o's frames: copy them clean. */
    jg__san_unpoison(sp, len);
    memcpy(o->saved, sp, len);
    o->saved_len = (uint32_t)len;
    w->sstack_owner = NULL;
    return 0;
}

static void sstack_restore(struct jg__worker *w, struct jg_task *t) {
    struct jg__exec *x = t->x;
    char *dst = (char *)sstack_top(w) - x->saved_len;
    jg__san_unpoison(dst, x->saved_len);
    memcpy(dst, x->saved, x->saved_len);
    w->sstack_owner = t;
}

/* ---- switching ---- */

static void task_entry(void *arg);

/* Give t a context on w: an exec part and a stack on its first run, its
 * bytes back on the shared stack later. Returns 0, or -ENOMEM when t
 * cannot start. */
static int prepare_run(struct jg__worker *w, struct jg_task *t) {
    if (t->started && t->mode != JG_STACK_SHARED) {
        return 0; /* Its context is where it was switched out. */
    }
    if (!t->started && t->x == NULL && (t->x = jg__exec_get(w)) == NULL) {
        return -ENOMEM;
    }
    struct jg__exec *x = t->x;
    if (t->mode == JG_STACK_SHARED) {
        if (w->sstack_owner == t) {
            return 0;
        }
        if (w->sstack_owner != NULL && sstack_save(w) < 0) {
            JG_ASSERT(!t->started,
                      "out of memory saving a shared stack");
            return -ENOMEM;
        }
        if (t->started) {
            JG_ASSERT(x->home == w, "shared-stack task resumed off its home");
            sstack_restore(w, t);
            return 0;
        }
        JG_ASSERT(x->home == NULL || x->home == w, "pinned task off its worker");
        x->home = w;
        w->sstack_owner = t;
        jg__ctx_make(&x->ctx, w->sstack.lo, w->sstack.size, task_entry);
    } else {
        if (t->started) {
            return 0;
        }
        x->stack = jg__stack_get(&w->rt->stacks, &w->stacks,
                                 (size_t)x->stack_pages * jg__os_page_size());
        if (x->stack == NULL) {
            return -ENOMEM;
        }
        jg__ctx_make(&x->ctx, x->stack->lo, x->stack->size, task_entry);
    }
#ifdef JG__SANITIZED
    const struct jg__stack *s = x->stack ? x->stack : &w->sstack;
    x->san.stack_lo = s->lo;
    x->san.stack_size = s->size;
#endif
    jg__san_fiber_create(JG__SAN(t));
    t->started = 1;
    return 0;
}


/*
 * t is over (returned, or could not start): publish, wake the joiner. One
 * atomic exchange: storing JG__JOINER_DONE publishes result and start_rc
 * and hands the struct to the handle's holder, who frees it when it joins.
 * With a joiner registered we then read its joiner_seq and mark that read
 * done (JG__SEQ_TAKEN), our last touch of t: a joiner that a cancel woke
 * and that found DONE when it took its registration back may free t, and
 * reuse it for a new task with a new joiner_seq, right after; it waits for
 * the mark first (task.c, wait_done). A task without a handle is freed
 * here.
 */
static void complete(struct jg__worker *w, struct jg_task *t) {
    if (atomic_load_explicit(&t->flags, memory_order_relaxed) &
        JG__TF_DETACHED) {
        jg__task_free(w, t);
    } else {
        /* Release: the joiner that sees DONE sees result and start_rc.
         * Acquire pairs with the joiner's release CAS: we see its
         * joiner_seq. */
        struct jg_task *j = atomic_exchange_explicit(
            &t->joiner, JG__JOINER_DONE, memory_order_acq_rel);
        if (j != NULL) {
            uint64_t seq =
                atomic_load_explicit(&t->joiner_seq, memory_order_relaxed);
            atomic_store_explicit(&t->joiner_seq, JG__SEQ_TAKEN,
                                  memory_order_release);
            jg__wake(j, seq, JG__WAKE_OK);
        }
    }
    /* Release pairs with the acquire in quiescent(). */
    atomic_store_explicit(
        &w->finished,
        atomic_load_explicit(&w->finished, memory_order_relaxed) + 1,
        memory_order_release);
}

static void fail_start(struct jg__worker *w, struct jg_task *t) {
    jg__fork_start_failed(t); /* A stolen fork: its owner runs it. */
    t->start_rc = -ENOMEM;
    if (t->x != NULL) {
        jg__exec_put(w, t);
    }
    complete(w, t);
}

static void finish(struct jg__worker *w, struct jg_task *t) {
    struct jg__exec *x = t->x;
    if (t->mode == JG_STACK_SHARED) {
        if (w->sstack_owner == t) {
            w->sstack_owner = NULL;
        }
        jg__free(x->saved, x->saved_cap);
        x->saved = NULL;
        x->saved_len = x->saved_cap = 0;
    } else if (x->stack != NULL) {
        /* The frames t was switched out in never returned: their ASan
         * redzones must not greet the stack's next task. */
        jg__san_unpoison(x->stack->lo, x->stack->size);
        jg__stack_put(&w->rt->stacks, &w->stacks, x->stack);
        x->stack = NULL;
    }
    jg__san_fiber_destroy(JG__SAN(t));
    jg__exec_put(w, t);
    complete(w, t);
}

/* A park's second half, run once the task is fully switched out of w. */
static void commit_park(struct jg__worker *w, struct jg_task *t) {
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_relaxed);
    for (;;) {
        uint64_t seq = JG__WS_SEQ(s);
        if (JG__WS_STATE(s) == JG__PARKING) {
            /* Release pairs with the waker's acquire CAS. */
            if (atomic_compare_exchange_weak_explicit(
                    &t->wstate, &s, JG__WS(seq, 0, JG__WAITING),
                    memory_order_acq_rel, memory_order_acquire)) {
                return;
            }
            continue;
        }
        /* NOTIFIED: a waker came while t was switching out. Nobody else
         * touches a NOTIFIED task, so a plain store is enough. */
        JG_DEBUG_ASSERT(JG__WS_STATE(s) == JG__NOTIFIED, "bad park state");
        atomic_store_explicit(&t->wstate,
                              JG__WS(seq, JG__WS_REASON(s), JG__RUNNABLE),
                              memory_order_relaxed);
        jg__ready_here(w, t);
        return;
    }
}

/* Do what the context that switched away from w left to do. */
static void handoff(struct jg__worker *w) {
    struct jg_task *t = w->ho_task;
    int kind = w->ho_kind;
    w->ho_kind = HO_NONE;
    w->ho_task = NULL;
    switch (kind) {
    case HO_YIELD:
        jg__ready_here(w, t);
        break;
    case HO_PARK:
        commit_park(w, t);
        break;
    case HO_EXIT:
        finish(w, t);
        break;
    default:
        break;
    }
}

/* First thing a task does after a switch lands in it. */
static void resumed(struct jg__worker *w, struct jg_task *self) {
    jg__san_switch_end(JG__SAN(self));
    self->x->worker = w;
    handoff(w);
    if (__builtin_expect(w->trace != NULL, 0)) {
        w->trace_begin = jg__os_now();
    }
}

/* The running task self stops running on w: record its slice. Not
 * inlined: its name buffer must not live in switch_away()'s frame, which
 * stays on the stack while the task is switched out. */
__attribute__((noinline)) static void trace_stop(struct jg__worker *w, struct jg_task *self) {
    char buf[JG__NAME_BUF];
    jg__trace_task(w->trace, w->trace_pid, w->index, self->id,
                   jg__task_name_peek(self, buf), w->trace_begin, jg__os_now());
}

/*
 * Leave the running task self for next (picked already; NULL: none): record
 * the handoff and switch to next directly, or to the loop on the worker's
 * own stack. Returns (in self, later) the worker that resumed it.
 */
/* Inlined into each caller, so that every switch is made from the caller's
 * own site (a separate function cost 2 ns a yield). */
static inline __attribute__((always_inline)) struct jg__worker *
switch_to(struct jg__worker *w, struct jg_task *self, int kind,
          struct jg_task *next) {
    int exiting = kind == HO_EXIT;
    if (__builtin_expect(w->trace != NULL, 0)) {
        trace_stop(w, self);
    }
    w->ho_kind = kind;
    w->ho_task = self;
    /* Copying onto the shared stack cannot happen while standing on it. */
    if (next != NULL &&
        !(next->mode == JG_STACK_SHARED && self->mode == JG_STACK_SHARED &&
          w->sstack_owner != next)) {
        if (prepare_run(w, next) == 0) {
            w->current = next;
            jg__san_switch_begin(JG__SAN(self), JG__SAN(next), exiting);
            return jg__ctx_switch(&self->x->ctx, &next->x->ctx, w);
        }
        fail_start(w, next);
        next = NULL;
    }
    w->next_up = next;
    w->current = NULL;
    jg__san_switch_begin(JG__SAN(self), &w->sched_san, exiting);
    return jg__ctx_switch(&self->x->ctx, &w->sched_ctx, w);
}

/* Leave the running task self (yield or park): pick the next task. */
static struct jg__worker *switch_away(struct jg__worker *w,
                                      struct jg_task *self, int kind) {
    if (kind == HO_PARK && self->x->latent_old != NULL) {
        jg__fork_expose(self); /* Let others run what we would have. */
    }
    return switch_to(w, self, kind, jg__pick(w));
}

/*
 * Stack donation. A task whose function has returned stands on a stack it
 * no longer needs; when the next task to run has never run and wants a
 * stack like it (private, default size), that task starts right here, on
 * the same stack, from the same frame of task_entry(): no context to make,
 * no switch, no stack taken and given back. A run of short tasks (spawn
 * then join a million empty ones) then costs a call each. Only the tools
 * are told of the change of task (a TSan fiber switch without a stack
 * switch); ASan sees the same stack.
 */
static bool can_donate(const struct jg_task *self, const struct jg_task *next) {
    return !next->started && next->mode == JG_STACK_PRIVATE &&
           (next->x == NULL || next->x->stack_pages == 0) &&
           self->mode == JG_STACK_PRIVATE && self->x->stack_pages == 0;
}

/* self has returned; make next (picked, can_donate) the task running on
 * self's stack, and finish self. Returns next, or NULL (nothing done) when
 * next gets no exec part. */
static struct jg_task *donate(struct jg__worker *w, struct jg_task *self,
                              struct jg_task *next) {
    if (next->x == NULL && (next->x = jg__exec_get(w)) == NULL) {
        return NULL;
    }
    if (__builtin_expect(w->trace != NULL, 0)) {
        trace_stop(w, self);
    }
    next->x->stack = self->x->stack;
    self->x->stack = NULL;
#ifdef JG__SANITIZED
    next->x->san.stack_lo = self->x->san.stack_lo;
    next->x->san.stack_size = self->x->san.stack_size;
#endif
    jg__san_fiber_create(JG__SAN(next));
    jg__san_fiber_enter(JG__SAN(next));
    jg__san_fiber_destroy(JG__SAN(self));
    next->started = 1;
    next->x->worker = w;
    w->current = next;
    jg__exec_put(w, self);
    complete(w, self);
    if (__builtin_expect(w->trace != NULL, 0)) {
        w->trace_begin = jg__os_now();
    }
    return next;
}

static void task_entry(void *arg) {
    struct jg__worker *w = arg;
    struct jg_task *self = w->current;
    resumed(w, self);
    for (;;) {
        self->result = self->fn(self->arg);
        /* The task may have moved: its worker is the one it runs on. */
        w = self->x->worker;
        struct jg_task *next = jg__pick(w);
        struct jg_task *here = NULL;
        if (next != NULL && can_donate(self, next)) {
            here = donate(w, self, next);
        }
        if (here == NULL) {
            switch_to(w, self, HO_EXIT, next);
            jg__fatal(__FILE__, __LINE__, "a finished task was resumed");
        }
        self = here;
    }
}

void jg__sched_yield(struct jg_task *self) {
    /* The thread's worker, read at entry (see sched.h): the one self runs
     * on, without going through self's exec part. */
    struct jg__worker *w = switch_away(jg__tls_worker, self, HO_YIELD);
    resumed(w, self);
}



void jg__worker_loop(struct jg__worker *w) {
    for (;;) {
        struct jg_task *t = w->next_up;
        w->next_up = NULL;
        if (t == NULL && (t = jg__find_work(w)) == NULL) {
            return;
        }
        if (prepare_run(w, t) < 0) {
            fail_start(w, t);
            continue;
        }
        w->current = t;
        jg__san_switch_begin(&w->sched_san, JG__SAN(t), 0);
        jg__ctx_switch(&w->sched_ctx, &t->x->ctx, w);
        jg__san_switch_end(&w->sched_san);
        handoff(w);
    }
}

/* ---- park and wake ---- */

uint64_t jg__park_prepare(struct jg_task *self, bool cancellable) {
    uint64_t s = atomic_load_explicit(&self->wstate, memory_order_relaxed);
    uint64_t seq = JG__WS_SEQ(s) + 1;
    /* Seq_cst store then seq_cst load of flags, against jg_cancel()'s
     * seq_cst fetch_or of flags then load of wstate: at least one of us
     * sees the other, so a cancel is never missed. */
    atomic_store_explicit(&self->wstate, JG__WS(seq, 0, JG__PARKING),
                          memory_order_seq_cst);
    if (cancellable &&
        (atomic_load_explicit(&self->flags, memory_order_seq_cst) &
         JG__TF_CANCEL)) {
        atomic_fetch_and_explicit(&self->flags, ~(uint32_t)JG__TF_CANCEL,
                                  memory_order_relaxed);
        /* A canceller may have notified this wait meanwhile; it does not
         * queue a NOTIFIED task, so overwriting absorbs it. */
        atomic_store_explicit(&self->wstate, JG__WS(seq, 0, JG__RUNNING),
                              memory_order_relaxed);
        return 0;
    }
    return seq;
}

void jg__park_abandon(struct jg_task *self, uint64_t seq) {
    atomic_store_explicit(&self->wstate, JG__WS(seq, 0, JG__RUNNING),
                          memory_order_relaxed);
}

int jg__park(struct jg_task *self, uint64_t seq, bool cancellable) {
    struct jg__worker *w = switch_away(self->x->worker, self, HO_PARK);
    resumed(w, self);
    /* Acquire pairs with the waker's CAS: what it wrote before is ours. */
    uint64_t s = atomic_load_explicit(&self->wstate, memory_order_acquire);
    JG_DEBUG_ASSERT(JG__WS_STATE(s) == JG__RUNNABLE && JG__WS_SEQ(s) == seq,
                    "resumed while not runnable");
    atomic_store_explicit(&self->wstate, JG__WS(seq, 0, JG__RUNNING),
                          memory_order_relaxed);
    switch (JG__WS_REASON(s)) {
    case JG__WAKE_CANCELED:
        if (cancellable) {
            atomic_fetch_and_explicit(&self->flags, ~(uint32_t)JG__TF_CANCEL,
                                      memory_order_relaxed);
        }
        return -ECANCELED;
    case JG__WAKE_TIMEDOUT:
        return -ETIMEDOUT;
    default:
        return 0;
    }
}

bool jg__wake(struct jg_task *t, uint64_t seq, int reason) {
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_acquire);
    for (;;) {
        if (JG__WS_SEQ(s) != seq) {
            return false;
        }
        int st = JG__WS_STATE(s);
        int next;
        if (st == JG__PARKING) {
            next = JG__NOTIFIED;
        } else if (st == JG__WAITING) {
            next = JG__RUNNABLE;
        } else {
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(
                &t->wstate, &s, JG__WS(seq, reason, next),
                memory_order_acq_rel, memory_order_acquire)) {
            if (next == JG__RUNNABLE) {
                jg__ready(t);
            }
            return true;
        }
    }
}

bool jg__sched_current_stack(const char **name, char *name_buf, void **lo,
                             size_t *size, size_t *guard) {
    struct jg__worker *w = jg__tls_worker;
    if (w == NULL || w->current == NULL) {
        return false;
    }
    struct jg_task *t = w->current;
    const struct jg__stack *s = t->mode == JG_STACK_SHARED ? &w->sstack
                                                           : t->x->stack;
    if (s == NULL) {
        return false;
    }
    *name = jg__task_name_peek(t, name_buf);
    *lo = s->lo;
    *size = s->size;
    *guard = s->guard;
    return true;
}
