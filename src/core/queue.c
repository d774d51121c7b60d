/* SPDX-License-Identifier: MIT */
/*
 * queue.c - where runnable tasks wait and how workers find them: the
 * deques, the pinned lists and inboxes, the global ring, stealing, timers,
 * picking the next task, and idle workers (spinning, parking, waking,
 * shutdown). The model, order and wake-up rules are drawn at the top of
 * sched.c; this file is their implementation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"

/* How often the global queue goes first; 61 is Go's prime, chosen so the
 * check does not fall into step with other periodic work. */
#define GLOBAL_EVERY 61
/* How often a busy worker looks at the poller without blocking. */
#define IO_EVERY 61
/* Rounds of spinning before parking: each polls the queues and pauses 8
 * times, about 20 us in all on the project machines, which is below the
 * cost of waking a parked thread on another CPU. */
#define SPIN_ROUNDS 256

/* ---- queues ---- */

/* Lists of tasks with a home, linked through their exec parts. */
static void list_push(struct jg__task_list *l, struct jg_task *t) {
    t->x->next = NULL;
    if (l->tail != NULL) {
        l->tail->x->next = t;
    } else {
        l->head = t;
    }
    l->tail = t;
}

static struct jg_task *list_pop(struct jg__task_list *l) {
    struct jg_task *t = l->head;
    if (t != NULL) {
        l->head = t->x->next;
        if (l->head == NULL) {
            l->tail = NULL;
        }
    }
    return t;
}

/* Wake one parked worker, if any. Call after publishing stealable work. */
static void notify_one(struct jg__runtime *rt) {
    /* Pairs with the fence in park_worker(): either we see its nidle or it
     * sees our work. */
    jg__fence(&rt->park_fence);
    /* A worker that is spinning for work will find this one, so leave the
     * parked ones asleep (Go's rule for spinning Ms): waking a thread costs
     * tens of microseconds, and a burst of wake-ups would wake and re-park
     * a worker for each. Safe: a spinner that stops after our look
     * announces its park and then looks at the queues again, behind the
     * same fence. */
    if (atomic_load_explicit(&rt->searching, memory_order_relaxed) > 0 ||
        atomic_load_explicit(&rt->nidle, memory_order_relaxed) == 0) {
        return;
    }
    struct jg__worker *w = NULL;
    bool in_poller = false;
    pthread_mutex_lock(&rt->park_lock);
    if (rt->nidle_list > 0) {
        w = &rt->workers[rt->idle[--rt->nidle_list]];
        w->parked = false;
        in_poller = w->in_poller;
        atomic_store_explicit(&rt->nidle, rt->nidle_list,
                              memory_order_relaxed);
        atomic_store_explicit(&w->wake_word, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&rt->park_lock);
    if (in_poller) {
        jg__reactor_wake(rt); /* It sleeps in the poller (park_worker). */
    } else if (w != NULL) {
        jg__os_futex_wake(&w->wake_word, 1);
    }
}

/* Take w off the list of parked workers, if it is there. Called with
 * park_lock held. */
static void idle_remove(struct jg__runtime *rt, struct jg__worker *w) {
    if (!w->parked) {
        return;
    }
    w->parked = false;
    for (int i = 0; i < rt->nidle_list; i++) {
        if (rt->idle[i] == w->index) {
            rt->idle[i] = rt->idle[--rt->nidle_list];
            break;
        }
    }
    atomic_store_explicit(&rt->nidle, rt->nidle_list, memory_order_relaxed);
}

/* Wake worker w in particular (work only it may run). */
static void notify_worker(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    pthread_mutex_lock(&rt->park_lock);
    bool parked = w->parked;
    bool in_poller = w->in_poller;
    idle_remove(rt, w);
    atomic_store_explicit(&w->wake_word, 1, memory_order_relaxed);
    pthread_mutex_unlock(&rt->park_lock);
    /* A worker not yet parked looks at its inbox before it sleeps (the
     * lock orders that look after our push), so only a parked one needs
     * the system call. */
    if (parked && in_poller) {
        jg__reactor_wake(rt);
    } else if (parked) {
        jg__os_futex_wake(&w->wake_word, 1);
    }
}

/*
 * The global queue: a FIFO of segments. The first segments are small
 * (64 KiB, from the heap); once a full one is in the queue, new ones are
 * 2 MiB mappings advised to use a huge page. A million queued tasks then
 * cost 4 page faults, not 2,000 (a spawn burst that overflows the deque
 * paid for those in every round, as the heap gave the emptied segments
 * back to the kernel), and a short queue costs no huge page.
 */
#define GQ_SMALL ((size_t)64 << 10)
#define GQ_BIG ((size_t)2 << 20)
struct jg__gq_seg {
    struct jg__gq_seg *next;
    int cap; /* Items it holds: from its size, GQ_SMALL or GQ_BIG. */
    struct jg_task *items[];
};

static int gq_cap(size_t size) {
    return (int)((size - sizeof(struct jg__gq_seg)) / sizeof(struct jg_task *));
}

static struct jg__gq_seg *gq_seg_new(bool big) {
    void *m = NULL;
    if (big) {
        if (jg__os_map_huge(&m, GQ_BIG, true) < 0) {
            m = NULL;
        }
    } else {
        m = jg__malloc(GQ_SMALL);
    }
    JG_ASSERT(m != NULL, "out of memory growing the global run queue");
    struct jg__gq_seg *s = m;
    s->cap = gq_cap(big ? GQ_BIG : GQ_SMALL);
    return s;
}

static void gq_seg_free(struct jg__gq_seg *s) {
    if (s->cap == gq_cap(GQ_BIG)) {
        jg__os_unmap(s, GQ_BIG);
    } else {
        jg__free(s, GQ_SMALL);
    }
}

/* Append n tasks to the global queue. Called with gq_lock held. */
static void gq_append(struct jg__runtime *rt, struct jg_task **ts,
                      int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (rt->gq_tail == NULL || rt->gq_tail_at == rt->gq_tail->cap) {
            struct jg__gq_seg *s = rt->gq_spare;
            rt->gq_spare = NULL;
            if (s == NULL) {
                /* Big once the queue already holds a full segment. */
                s = gq_seg_new(rt->gq_tail != NULL);
            }
            s->next = NULL;
            if (rt->gq_tail != NULL) {
                rt->gq_tail->next = s;
            } else {
                rt->gq_head = s;
                rt->gq_head_at = 0;
            }
            rt->gq_tail = s;
            rt->gq_tail_at = 0;
        }
        rt->gq_tail->items[rt->gq_tail_at++] = ts[i];
    }
    atomic_store_explicit(
        &rt->gq_len,
        atomic_load_explicit(&rt->gq_len, memory_order_relaxed) + n,
        memory_order_relaxed);
}

/* Take the oldest task of a non-empty global queue. Called with gq_lock
 * held; the caller updates gq_len. */
static struct jg_task *gq_take(struct jg__runtime *rt) {
    struct jg__gq_seg *s = rt->gq_head;
    struct jg_task *t = s->items[rt->gq_head_at++];
    if (rt->gq_head_at == s->cap || (s == rt->gq_tail &&
                                     rt->gq_head_at == rt->gq_tail_at)) {
        /* Used up (or emptied): drop it, keep one for reuse, the bigger. */
        rt->gq_head = s->next;
        rt->gq_head_at = 0;
        if (rt->gq_head == NULL) {
            rt->gq_tail = NULL;
        }
        if (rt->gq_spare != NULL && rt->gq_spare->cap < s->cap) {
            gq_seg_free(rt->gq_spare);
            rt->gq_spare = NULL;
        }
        if (rt->gq_spare == NULL) {
            rt->gq_spare = s;
        } else {
            gq_seg_free(s);
        }
    }
    return t;
}

void jg__gq_fini(struct jg__runtime *rt) {
    while (rt->gq_head != NULL) {
        struct jg__gq_seg *s = rt->gq_head;
        rt->gq_head = s->next;
        gq_seg_free(s);
    }
    if (rt->gq_spare != NULL) {
        gq_seg_free(rt->gq_spare);
    }
    rt->gq_tail = rt->gq_spare = NULL;
}

static void global_push(struct jg__runtime *rt, struct jg_task *t) {
    pthread_mutex_lock(&rt->gq_lock);
    gq_append(rt, &t, 1);
    pthread_mutex_unlock(&rt->gq_lock);
}

void jg__sched_push_global(struct jg__runtime *rt, void *item) {
    global_push(rt, item);
    notify_one(rt);
}

void jg__sched_offer(struct jg__runtime *rt) {
    if (atomic_load_explicit(&rt->nidle, memory_order_relaxed) > 0) {
        notify_one(rt);
    }
}

int jg__sched_idle_workers(struct jg__runtime *rt) {
    return atomic_load_explicit(&rt->nidle, memory_order_relaxed) +
           atomic_load_explicit(&rt->searching, memory_order_relaxed);
}

/* The deque is full: move its older half to the global queue, in order,
 * taking it from the deque in batches of one CAS each. */
static void spill(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    int64_t want = (w->deque.mask + 1) / 2;
    while (want > 0) {
        struct jg_task *chunk[256];
        int64_t k = jg__deque_steal_batch(&w->deque, (void **)chunk,
                                          want < 256 ? want : 256);
        if (k == 0) {
            return;
        }
        pthread_mutex_lock(&rt->gq_lock);
        gq_append(rt, chunk, k);
        pthread_mutex_unlock(&rt->gq_lock);
        want -= k;
    }
}

static void local_push(struct jg__worker *w, struct jg_task *t) {
    while (jg__deque_push(&w->deque, t) != 0) {
        spill(w);
    }
}

/* Make t runnable. Any thread; see "Wake-ups" above for where t goes. */
void jg__ready(struct jg_task *t) {
    struct jg__runtime *rt = jg__task_rt(t);
    struct jg__worker *w = jg__worker_self();
    if (w != NULL && w->rt != rt) {
        w = NULL;
    }
    struct jg__worker *home = t->x != NULL ? t->x->home : NULL;
    if (home != NULL) {
        if (home == w) {
            list_push(&w->pinned, t);
            return;
        }
        struct jg__worker *h = home;
        pthread_mutex_lock(&h->inbox_lock);
        list_push(&h->inbox, t);
        atomic_fetch_add_explicit(&h->inbox_len, 1, memory_order_relaxed);
        pthread_mutex_unlock(&h->inbox_lock);
        notify_worker(h);
        return;
    }
    if (w != NULL) {
        local_push(w, t);
        if (rt->nworkers > 1) {
            notify_one(rt);
        }
        return;
    }
    global_push(rt, t);
    notify_one(rt);
}

void jg__ready_here(struct jg__worker *w, struct jg_task *t) {
    /* Only shared-stack tasks have a home. */
    struct jg__worker *home =
        t->mode == JG_STACK_SHARED ? t->x->home : NULL;
    if (home == w) {
        list_push(&w->pinned, t);
        return;
    }
    if (home != NULL) {
        jg__ready(t); /* Pinned elsewhere: through its inbox. */
        return;
    }
    local_push(w, t);
    if (w->rt->nworkers > 1) {
        notify_one(w->rt);
    }
}

void jg__sched_ready_new(struct jg__worker *w, struct jg_task *t) {
    local_push(w, t);
    if (w->rt->nworkers > 1) {
        notify_one(w->rt);
    }
}

/* Take a batch from the global queue: one to run, the rest to the deque. */
static struct jg_task *global_take(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    if (atomic_load_explicit(&rt->gq_len, memory_order_relaxed) == 0) {
        return NULL;
    }
    pthread_mutex_lock(&rt->gq_lock);
    int64_t len = atomic_load_explicit(&rt->gq_len, memory_order_relaxed);
    int64_t room = (w->deque.mask + 1) / 2 - jg__deque_len(&w->deque);
    if (room < 0) {
        room = 0; /* Still take one to run. */
    }
    int64_t n = len / rt->nworkers + 1;
    if (n > room + 1) {
        n = room + 1;
    }
    if (n > len) {
        n = len;
    }
    if (n < 1) {
        pthread_mutex_unlock(&rt->gq_lock);
        return NULL; /* Taken by others meanwhile, or no room. */
    }
    struct jg_task *first = gq_take(rt);
    for (int64_t i = 1; i < n; i++) {
        jg__deque_push(&w->deque, gq_take(rt));
    }
    atomic_store_explicit(&rt->gq_len, len - n, memory_order_relaxed);
    pthread_mutex_unlock(&rt->gq_lock);
    return first;
}

static void inbox_drain(struct jg__worker *w) {
    if (atomic_load_explicit(&w->inbox_len, memory_order_relaxed) == 0) {
        return;
    }
    pthread_mutex_lock(&w->inbox_lock);
    struct jg_task *t;
    while ((t = list_pop(&w->inbox)) != NULL) {
        list_push(&w->pinned, t);
    }
    atomic_store_explicit(&w->inbox_len, 0, memory_order_relaxed);
    pthread_mutex_unlock(&w->inbox_lock);
}

/*
 * One worker, no thief: start loading what the next tasks will touch
 * first, a few picks ahead. A thousand tasks waiting on sockets resume
 * one after another through memory that left the cache long ago: the
 * handle, the execution part, and the top of the stack where the switch
 * frame and the frames that return through it lie. Each is found through
 * the one before, so the three go in a pipeline, each a pick ahead of the
 * next: the handle of the third task, the execution part of the second
 * (its handle came in a pick ago), the stack of the first (its execution
 * part too). The caller checked that three tasks are queued.
 */
static void prefetch_ahead(struct jg__deque *q) {
    __builtin_prefetch(jg__deque_peek_unshared(q, 2));
    struct jg_task *second = jg__deque_peek_unshared(q, 1);
    if (!jg__item_is_fork(second) && second->x != NULL) {
        __builtin_prefetch(second->x);
    }
#if !defined(JG_CTX_UCONTEXT)
    struct jg_task *first = jg__deque_peek_unshared(q, 0);
    if (!jg__item_is_fork(first) && first->x != NULL &&
        first->x->stack != NULL && first->x->saved == NULL) {
        const char *sp = first->x->ctx.sp;
        for (int i = 0; i < 8; i++) {
            __builtin_prefetch(sp + 64 * i);
        }
    }
#endif
}

static struct jg_task *take_own(struct jg__worker *w) {
    if (w->rt->nworkers == 1) {
        int64_t left;
        struct jg_task *t = jg__deque_take_unshared_left(&w->deque, &left);
        if (left >= 3) {
            prefetch_ahead(&w->deque);
        } else if (left > 0) {
            /* A short queue: the next handle only. */
            __builtin_prefetch(jg__deque_peek_unshared(&w->deque, 0));
        }
        return t;
    }
    for (;;) {
        struct jg_task *t = jg__deque_steal(&w->deque);
        if (t != JG__DEQUE_ABORT) {
            return t;
        }
    }
}

static struct jg_task *steal_other(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    int n = rt->nworkers;
    if (n == 1) {
        return NULL;
    }
    w->rng = w->rng * 1103515245u + 12345u; /* Any cheap LCG will do. */
    int start = (int)((w->rng >> 16) % (uint32_t)n);
    for (int i = 0; i < n; i++) {
        struct jg__worker *v = &rt->workers[(start + i) % n];
        if (v == w) {
            continue;
        }
        for (int tries = 0; tries < 4; tries++) {
            struct jg_task *t = jg__deque_steal(&v->deque);
            if (t == NULL) {
                break;
            }
            if (t != JG__DEQUE_ABORT) {
                return t;
            }
        }
    }
    return NULL;
}

/* ---- timers ---- */

static bool still_waiting(struct jg_task *t, uint64_t seq) {
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_relaxed);
    int st = JG__WS_STATE(s);
    return JG__WS_SEQ(s) == seq && (st == JG__PARKING || st == JG__WAITING);
}

int jg__timer_arm(struct jg_task *self, int64_t deadline, uint64_t seq) {
    struct jg__timer_heap *h = &self->x->worker->timers;
    if (jg__timer_count(h) >= h->compact_at) {
        jg__timer_compact(h, still_waiting);
    }
    return jg__timer_add(h, deadline, self, seq);
}

static void run_timers(struct jg__worker *w) {
    struct jg__timer tm;
    int64_t now = jg__os_now();
    while (jg__timer_pop_due(&w->timers, now, &tm)) {
        jg__wake(tm.task, tm.seq, JG__WAKE_TIMEDOUT);
    }
}

/* ---- picking ---- */

/* The next deque item (task or fork record) or pinned task for w, without
 * waiting; NULL when there is none. */
static struct jg_task *pick_item(struct jg__worker *w) {
    struct jg_task *t;
    w->tick++;
    /* Reading the clock costs ~20 ns: a busy worker looks at its timers
     * every 16th round, an idle one (below) every time. */
    if (jg__timer_count(&w->timers) > 0 && (w->tick & 15) == 0) {
        run_timers(w);
    }
    /* I/O readiness, so it is noticed while every worker is busy (an
     * idle worker blocks in the poller: park_worker). Every 61st round,
     * as Tokio's driver: each look is a system call, and with a thousand
     * connections ready at once a look every 16 rounds made a fifth more
     * system calls than requests served. */
    if (w->tick % IO_EVERY == IO_EVERY / 2 && jg__io_waiting(w->rt)) {
        jg__reactor_poll(w);
    }
    if (w->tick % GLOBAL_EVERY == 0) {
        inbox_drain(w);
        if ((t = global_take(w)) != NULL) {
            return t;
        }
    }
    /* Alternate between pinned and stealable work so neither starves. */
    if (w->pinned.head != NULL && (w->tick & 1)) {
        return list_pop(&w->pinned);
    }
    if ((t = take_own(w)) != NULL) {
        return t;
    }
    if (w->pinned.head == NULL) {
        inbox_drain(w);
    }
    if ((t = list_pop(&w->pinned)) != NULL) {
        return t;
    }
    if ((t = global_take(w)) != NULL) {
        return t;
    }
    /* Nothing queued: fire the timers that are due. Not when the pick
     * just before (the last round) did so and found nothing: a task that
     * parks looks here, and then its worker's loop at once; the clock
     * costs ~30 ns a read on this kind of machine, and a timer due in
     * between is still noticed, by the timed wait the worker blocks in. */
    if (jg__timer_count(&w->timers) > 0 && w->timers_looked != w->tick - 1) {
        w->timers_looked = w->tick;
        run_timers(w);
        if ((t = take_own(w)) != NULL || (t = list_pop(&w->pinned)) != NULL) {
            return t;
        }
    }
    return steal_other(w);
}

/* The next task for w, without waiting; NULL when there is none. A fork
 * record becomes a task here, or nothing when its owner took it back. */
struct jg_task *jg__pick(struct jg__worker *w) {
    for (;;) {
        struct jg_task *t = pick_item(w);
        if (t == NULL || !jg__item_is_fork(t)) {
            return t;
        }
        if ((t = jg__fork_adopt(w, t)) != NULL) {
            return t;
        }
    }
}

/* Anything for w to do? `now` < 0 skips the timers (no clock read). */
static bool has_work(struct jg__worker *w, int64_t now) {
    struct jg__runtime *rt = w->rt;
    if (jg__deque_len(&w->deque) > 0 || w->pinned.head != NULL ||
        atomic_load_explicit(&w->inbox_len, memory_order_relaxed) > 0 ||
        atomic_load_explicit(&rt->gq_len, memory_order_relaxed) > 0) {
        return true;
    }
    int64_t next = jg__timer_next(&w->timers);
    if (now >= 0 && next >= 0 && next <= now) {
        return true;
    }
    for (int i = 0; i < rt->nworkers; i++) {
        if (jg__deque_len(&rt->workers[i].deque) > 0) {
            return true;
        }
    }
    return false;
}

/* ---- deadlock ----
 *
 * Every unfinished task waits in jg_join() or jg_gather() for another one
 * to finish, or in a jg_par_* join for the task running its stolen half:
 * none ever will, and the program would sleep forever. Such
 * waits are counted (task.c, fork.c): begun on a worker, and ended with the task
 * resuming on one; tasks spawned and finished are counted already. A wait
 * for anything else (a timer, I/O, another thread) is not counted, so
 * while a task makes one, the unfinished tasks outnumber the waits and
 * nothing is suspected.
 *
 * A worker about to sleep suspects a deadlock when the counts match, it
 * was the last worker to go idle, nothing is queued anywhere, and every
 * other worker sleeps. When all but the last are true, another worker is
 * on its way to sleep (idle, not yet asleep) and will not look itself (it
 * was not the last): the last one looks again after DEADLOCK_GRACE. A task woken but not yet resumed would still count
 * as waiting, but it is queued (seen) or its worker is awake (seen). The
 * suspect then sleeps at most DEADLOCK_GRACE and looks again; when it sees
 * exactly the same (the counts, each other worker asleep since the same
 * round, no jg_cancel() from outside the runtime's workers) nothing
 * happened in between and nothing can: it names the tasks and ends the
 * program, as Go does. A thread outside the runtime could still cancel one
 * of the tasks later; a program that counts on that is told it deadlocked.
 */
#define DEADLOCK_GRACE JG_MS(100)

enum { DL_SPAWNED, DL_FINISHED, DL_WAITS, DL_RESUMES, DL_ASLEEP, DL_CANCELS };

static uint64_t load_acq(_Atomic uint64_t *p) {
    return atomic_load_explicit(p, memory_order_acquire);
}

/* What the last worker to go idle makes of the counts. */
enum { DL_NO, DL_LATER, DL_YES };

/* Does it look like a deadlock to w, which has nothing to do and is the
 * last worker to go idle? DL_YES, DL_NO, or DL_LATER when it would but
 * another worker is not asleep yet. Fills stamp with what it saw. */
static int deadlock_suspect(struct jg__worker *w, uint64_t stamp[6]) {
    struct jg__runtime *rt = w->rt;
    memset(stamp, 0, 6 * sizeof(stamp[0]));
    stamp[DL_CANCELS] = load_acq(&rt->outside_cancels);
    /* Ends before beginnings, as in quiescent(). */
    for (int i = 0; i < rt->nworkers; i++) {
        stamp[DL_FINISHED] += load_acq(&rt->workers[i].finished);
        stamp[DL_RESUMES] += load_acq(&rt->workers[i].jresumes);
    }
    for (int i = 0; i < rt->nworkers; i++) {
        stamp[DL_SPAWNED] += load_acq(&rt->workers[i].spawned);
        stamp[DL_WAITS] += load_acq(&rt->workers[i].jwaits);
    }
    uint64_t live = stamp[DL_SPAWNED] - stamp[DL_FINISHED];
    if (live == 0 || live != stamp[DL_WAITS] - stamp[DL_RESUMES]) {
        return DL_NO;
    }
    if (atomic_load_explicit(&rt->gq_len, memory_order_acquire) > 0) {
        return DL_NO;
    }
    bool all_asleep = true;
    for (int i = 0; i < rt->nworkers; i++) {
        struct jg__worker *v = &rt->workers[i];
        if (jg__deque_len(&v->deque) > 0 ||
            atomic_load_explicit(&v->inbox_len, memory_order_acquire) > 0) {
            return DL_NO;
        }
        if (v != w) {
            /* Rounds only grow: equal sums of non-zero values at two
             * looks mean that no worker ran a round in between. */
            uint64_t a = load_acq(&v->asleep);
            all_asleep &= a != 0;
            stamp[DL_ASLEEP] += a;
        }
    }
    return all_asleep ? DL_YES : DL_LATER;
}

/* Is t still in the wait for another task's end with this seq? */
static bool join_waiting(struct jg_task *t, uint64_t seq) {
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_acquire);
    return JG__WS_SEQ(s) == seq && JG__WS_STATE(s) == JG__WAITING &&
           t->x != NULL &&
           atomic_load_explicit(&t->x->waits_for, memory_order_relaxed) !=
               NULL;
}

static const char *name_of(struct jg_task *t, char *buf) {
    if (t->x != NULL) {
        return jg__task_name_peek(t, buf);
    }
    jg__fmt_u64(buf, "task-", t->id);
    return buf;
}

/* The deadlock report, built in a fixed buffer (cut when too long). */
struct msg {
    char s[2048];
    size_t n;
};

__attribute__((format(printf, 2, 3))) static void put(struct msg *m,
                                                     const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(m->s + m->n, sizeof(m->s) - m->n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        size_t room = sizeof(m->s) - m->n - 1;
        m->n += (size_t)k < room ? (size_t)k : room;
    }
}

/* Name the tasks that wait for each other and end the program. */
__attribute__((noreturn, cold)) static void deadlock_report(
    struct jg__worker *w, uint64_t live) {
    struct jg__runtime *rt = w->rt;
    /* Every other worker sleeps; their last announcements under this lock
     * come after everything their tasks wrote. */
    pthread_mutex_lock(&rt->park_lock);
    struct msg m = {.n = 0};
    put(&m,
        "juggle: deadlock: all %llu unfinished task%s wait%s in jg_join(), "
        "jg_gather() or jg_par_join() for another task to finish, and "
        "nothing else can wake them:\n",
        (unsigned long long)live, live == 1 ? "" : "s", live == 1 ? "s" : "");
    struct jg_task *t = NULL;
    for (int i = 0; i < rt->nworkers && t == NULL; i++) {
        struct jg_task *c = atomic_load_explicit(&rt->workers[i].jw_last,
                                                 memory_order_acquire);
        uint64_t seq = atomic_load_explicit(&rt->workers[i].jw_last_seq,
                                            memory_order_acquire);
        if (c != NULL && join_waiting(c, seq)) {
            t = c;
        }
    }
    struct jg_task *seen[16];
    int nseen = 0;
    while (t != NULL && t->x != NULL) {
        struct jg_task *u =
            atomic_load_explicit(&t->x->waits_for, memory_order_relaxed);
        if (u == NULL) {
            break;
        }
        char a[JG__NAME_BUF], b[JG__NAME_BUF];
        if (jg__item_is_fork(u)) {
            /* A jg_par_* join whose second half another worker took. */
            u = jg__fork_task(u);
            if (u == NULL) {
                break;
            }
            put(&m, "juggle:   task '%s' waits in jg_par_join() for task "
                "'%s'", name_of(t, a), name_of(u, b));
        } else {
            put(&m, "juggle:   task '%s' waits for task '%s'", name_of(t, a),
                name_of(u, b));
        }
        seen[nseen++] = t;
        bool cycle = false;
        for (int i = 0; i < nseen; i++) {
            cycle |= seen[i] == u;
        }
        if (cycle) {
            put(&m, ", which closes the cycle\n");
            break;
        }
        put(&m, "\n");
        if (nseen == (int)(sizeof(seen) / sizeof(seen[0]))) {
            put(&m, "juggle:   ...\n");
            break;
        }
        t = u;
    }
    jg__os_write_all(2, m.s, m.n);
    abort();
}

static void unpark_self(struct jg__worker *w) {
    pthread_mutex_lock(&w->rt->park_lock);
    idle_remove(w->rt, w);
    w->in_poller = false;
    pthread_mutex_unlock(&w->rt->park_lock);
}

/*
 * Sleep until woken or the next timer. While tasks wait for I/O, one idle
 * worker (the one holding the reactor's claim) sleeps in the poller
 * instead of on its futex, so that readiness wakes it; it announces that
 * with in_poller, under the same lock as `parked`, and the notifiers wake
 * it through the poller (jg__reactor_wake) instead of the futex. The
 * protocol is otherwise the futex one: a wake-up that comes before the
 * poller wait makes that wait return at once (the poller remembers it).
 */
static void park_worker(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    bool in_poller = jg__io_waiting(rt) && jg__reactor_claim(w);
    pthread_mutex_lock(&rt->park_lock);
    w->parked = true;
    w->in_poller = in_poller;
    rt->idle[rt->nidle_list++] = w->index;
    atomic_store_explicit(&rt->nidle, rt->nidle_list, memory_order_relaxed);
    atomic_store_explicit(&w->wake_word, 0, memory_order_relaxed);
    bool last = rt->nidle_list == rt->nworkers;
    pthread_mutex_unlock(&rt->park_lock);
    /* Pairs with the fence in notify_one(). */
    jg__fence(&rt->park_fence);
    /* Timers due are not looked at here (no clock read): the waits below
     * end at the next timer's deadline, at once if it is past. */
    if (!has_work(w, -1) && !atomic_load(&rt->shutdown)) {
        int64_t until = jg__timer_next(&w->timers);
        uint64_t stamp[6];
        int dl = last ? deadlock_suspect(w, stamp) : DL_NO;
        if (dl == DL_YES && w->dl_suspect &&
            memcmp(stamp, w->dl_stamp, sizeof(stamp)) == 0) {
            deadlock_report(w, stamp[DL_SPAWNED] - stamp[DL_FINISHED]);
        }
        w->dl_suspect = dl == DL_YES;
        if (dl == DL_YES) {
            memcpy(w->dl_stamp, stamp, sizeof(stamp));
        }
        if (dl != DL_NO) {
            /* Confirm, or look again once the others sleep. */
            int64_t look = jg__os_now() + DEADLOCK_GRACE;
            if (until < 0 || until > look) {
                until = look;
            }
        }
        atomic_store_explicit(&w->asleep, w->tick + 1, memory_order_release);
        if (in_poller) {
            jg__reactor_block(w, until);
        } else {
            jg__os_futex_wait(&w->wake_word, 0, until);
        }
        atomic_store_explicit(&w->asleep, 0, memory_order_release);
    }
    unpark_self(w);
    if (in_poller) {
        /* Off the idle list first, so the tasks woken here do not make
         * notify_one() wake this very worker. */
        jg__reactor_release(w);
    }
}

/*
 * True when every task spawned has finished. The finished counters are
 * summed before the spawned ones: a task's spawn happens before its finish,
 * so a finish we count comes with its spawn in the later sum, and a sum of
 * finishes (read first) equal to a sum of spawns (read later) means that at
 * the first read nothing was running, and so nothing could spawn since.
 */
static bool quiescent(struct jg__runtime *rt) {
    if (!atomic_load_explicit(&rt->started, memory_order_acquire)) {
        return false;
    }
    uint64_t finished = 0, spawned = 0;
    for (int i = 0; i < rt->nworkers; i++) {
        finished += atomic_load_explicit(&rt->workers[i].finished,
                                         memory_order_acquire);
    }
    for (int i = 0; i < rt->nworkers; i++) {
        spawned += atomic_load_explicit(&rt->workers[i].spawned,
                                        memory_order_acquire);
    }
    return finished == spawned;
}

/* The next task for the loop: waits (spin, then park) until there is one.
 * Returns NULL when the runtime shuts down. */
struct jg_task *jg__find_work(struct jg__worker *w) {
    for (;;) {
        struct jg_task *t = jg__pick(w);
        if (t != NULL) {
            return t;
        }
        if (atomic_load_explicit(&w->rt->shutdown, memory_order_acquire)) {
            return NULL;
        }
        if (quiescent(w->rt)) {
            jg__sched_shutdown(w->rt);
            return NULL;
        }
        if (w->rt->nworkers > 1) {
            /* Spin on the queues only: timers are looked at after. */
            atomic_fetch_add_explicit(&w->rt->searching, 1,
                                      memory_order_relaxed);
            for (int i = 0; i < SPIN_ROUNDS && !has_work(w, -1) &&
                            !atomic_load_explicit(&w->rt->shutdown,
                                                  memory_order_relaxed);
                 i++) {
                for (int k = 0; k < 8; k++) {
                    jg__cpu_relax();
                }
            }
            /* Seq_cst: ordered before park_worker()'s fence and look. */
            atomic_fetch_sub_explicit(&w->rt->searching, 1,
                                      memory_order_seq_cst);
            if (has_work(w, jg__os_now())) {
                /* We stop spinning: if work was left to us instead of
                 * waking a parked worker, wake one now, lest it wait
                 * behind whatever we run next (Go does the same). */
                notify_one(w->rt);
                continue;
            }
        }
        park_worker(w);
    }
}

void jg__sched_shutdown(struct jg__runtime *rt) {
    atomic_store_explicit(&rt->shutdown, 1, memory_order_release);
    bool in_poller = false;
    pthread_mutex_lock(&rt->park_lock);
    for (int i = 0; i < rt->nworkers; i++) {
        rt->workers[i].parked = false;
        in_poller |= rt->workers[i].in_poller;
        atomic_store_explicit(&rt->workers[i].wake_word, 1,
                              memory_order_relaxed);
    }
    rt->nidle_list = 0;
    atomic_store_explicit(&rt->nidle, 0, memory_order_relaxed);
    pthread_mutex_unlock(&rt->park_lock);
    if (in_poller) {
        jg__reactor_wake(rt);
    }
    for (int i = 0; i < rt->nworkers; i++) {
        jg__os_futex_wake(&rt->workers[i].wake_word, 1);
    }
}
