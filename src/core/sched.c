/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the M:N work-stealing scheduler: run queues, picking the next
 * task, switching, the park/wake protocol, timers and idle workers.
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
 * every task has finished (quiescent()), so it sets `shutdown` and wakes
 * every worker; each one leaves its loop and runtime.c tears down.
 */
#include <errno.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"

/* How often the global queue goes first; 61 is Go's prime, chosen so the
 * check does not fall into step with other periodic work. */
#define GLOBAL_EVERY 61
/* Rounds of spinning before parking: each polls the queues and pauses 8
 * times, about 20 us in all on the project machines, which is below the
 * cost of waking a parked thread on another CPU. */
#define SPIN_ROUNDS 256

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

/* ---- queues ---- */

static void list_push(struct jg__task_list *l, struct jg_task *t) {
    t->next = NULL;
    if (l->tail != NULL) {
        l->tail->next = t;
    } else {
        l->head = t;
    }
    l->tail = t;
}

static struct jg_task *list_pop(struct jg__task_list *l) {
    struct jg_task *t = l->head;
    if (t != NULL) {
        l->head = t->next;
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
    if (atomic_load_explicit(&rt->nidle, memory_order_relaxed) == 0) {
        return;
    }
    struct jg__worker *w = NULL;
    pthread_mutex_lock(&rt->park_lock);
    if (rt->nidle_list > 0) {
        w = &rt->workers[rt->idle[--rt->nidle_list]];
        w->parked = false;
        atomic_store_explicit(&rt->nidle, rt->nidle_list,
                              memory_order_relaxed);
        atomic_store_explicit(&w->wake_word, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&rt->park_lock);
    if (w != NULL) {
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
    idle_remove(rt, w);
    atomic_store_explicit(&w->wake_word, 1, memory_order_relaxed);
    pthread_mutex_unlock(&rt->park_lock);
    /* A worker not yet parked looks at its inbox before it sleeps (the
     * lock orders that look after our push), so only a parked one needs
     * the system call. */
    if (parked) {
        jg__os_futex_wake(&w->wake_word, 1);
    }
}

/* Make room for n more tasks in the global ring. Called with gq_lock held.
 * Running out of memory here would lose runnable tasks, so it is fatal. */
static void gq_reserve(struct jg__runtime *rt, int64_t n) {
    int64_t len = atomic_load_explicit(&rt->gq_len, memory_order_relaxed);
    if (len + n <= rt->gq_cap) {
        return;
    }
    int64_t cap = rt->gq_cap ? rt->gq_cap : 1024;
    while (cap < len + n) {
        cap *= 2;
    }
    struct jg_task **ring = jg__malloc((size_t)cap * sizeof(*ring));
    JG_ASSERT(ring != NULL, "out of memory growing the global run queue");
    for (int64_t i = 0; i < len; i++) {
        ring[i] = rt->gq[(rt->gq_head + i) % rt->gq_cap];
    }
    jg__free(rt->gq, (size_t)rt->gq_cap * sizeof(*ring));
    rt->gq = ring;
    rt->gq_head = 0;
    rt->gq_cap = cap;
}

/* Append n tasks to the global ring. Called with gq_lock held. */
static void gq_append(struct jg__runtime *rt, struct jg_task **ts,
                      int64_t n) {
    gq_reserve(rt, n);
    int64_t len = atomic_load_explicit(&rt->gq_len, memory_order_relaxed);
    for (int64_t i = 0; i < n; i++) {
        rt->gq[(rt->gq_head + len + i) % rt->gq_cap] = ts[i];
    }
    atomic_store_explicit(&rt->gq_len, len + n, memory_order_relaxed);
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
static void ready(struct jg_task *t) {
    struct jg__runtime *rt = t->rt;
    struct jg__worker *w = jg__worker_self();
    if (w != NULL && w->rt != rt) {
        w = NULL;
    }
    if (t->home != NULL) {
        if (t->home == w) {
            list_push(&w->pinned, t);
            return;
        }
        struct jg__worker *h = t->home;
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

void jg__sched_ready(struct jg_task *t) {
    ready(t);
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
    struct jg_task *first = rt->gq[rt->gq_head];
    for (int64_t i = 1; i < n; i++) {
        jg__deque_push(&w->deque, rt->gq[(rt->gq_head + i) % rt->gq_cap]);
    }
    rt->gq_head = (rt->gq_head + n) % rt->gq_cap;
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

static struct jg_task *take_own(struct jg__worker *w) {
    if (w->rt->nworkers == 1) {
        return jg__deque_take_unshared(&w->deque); /* Nobody steals. */
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
    struct jg__timer_heap *h = &self->worker->timers;
    if (h->len >= h->compact_at) {
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
    if (w->timers.len > 0 && (w->tick & 15) == 0) {
        run_timers(w);
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
    if (w->timers.len > 0) {
        run_timers(w);
        if ((t = take_own(w)) != NULL || (t = list_pop(&w->pinned)) != NULL) {
            return t;
        }
    }
    return steal_other(w);
}

/* The next task for w, without waiting; NULL when there is none. A fork
 * record becomes a task here, or nothing when its owner took it back. */
static struct jg_task *pick(struct jg__worker *w) {
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

static void unpark_self(struct jg__worker *w) {
    pthread_mutex_lock(&w->rt->park_lock);
    idle_remove(w->rt, w);
    pthread_mutex_unlock(&w->rt->park_lock);
}

static void park_worker(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    pthread_mutex_lock(&rt->park_lock);
    w->parked = true;
    rt->idle[rt->nidle_list++] = w->index;
    atomic_store_explicit(&rt->nidle, rt->nidle_list, memory_order_relaxed);
    atomic_store_explicit(&w->wake_word, 0, memory_order_relaxed);
    pthread_mutex_unlock(&rt->park_lock);
    /* Pairs with the fence in notify_one(). */
    jg__fence(&rt->park_fence);
    if (!has_work(w, jg__os_now()) && !atomic_load(&rt->shutdown)) {
        jg__os_futex_wait(&w->wake_word, 0, jg__timer_next(&w->timers));
    }
    unpark_self(w);
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
static struct jg_task *find_work(struct jg__worker *w) {
    for (;;) {
        struct jg_task *t = pick(w);
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
            atomic_fetch_sub_explicit(&w->rt->searching, 1,
                                      memory_order_relaxed);
            if (has_work(w, jg__os_now())) {
                continue;
            }
        }
        park_worker(w);
    }
}

/* ---- the shared stack ---- */

static void *sstack_top(struct jg__worker *w) {
    return (char *)w->sstack.lo + w->sstack.size;
}

/* Copy the live bytes of the task whose stack is on w's shared stack out to
 * its own buffer. Returns 0, or -ENOMEM (the bytes stay in place). */
static int sstack_save(struct jg__worker *w) {
    struct jg_task *o = w->sstack_owner;
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
    char *dst = (char *)sstack_top(w) - t->saved_len;
    jg__san_unpoison(dst, t->saved_len);
    memcpy(dst, t->saved, t->saved_len);
    w->sstack_owner = t;
}

/* ---- switching ---- */

static void task_entry(void *arg);

/* Give t a context on w: a stack on its first run, its bytes back on the
 * shared stack later. Returns 0, or -ENOMEM when t cannot start. */
static int prepare_run(struct jg__worker *w, struct jg_task *t) {
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
            JG_ASSERT(t->home == w, "shared-stack task resumed off its home");
            sstack_restore(w, t);
            return 0;
        }
        JG_ASSERT(t->home == NULL || t->home == w, "pinned task off its worker");
        t->home = w;
        w->sstack_owner = t;
        jg__ctx_make(&t->ctx, w->sstack.lo, w->sstack.size, task_entry);
    } else {
        if (t->started) {
            return 0;
        }
        t->stack = jg__stack_get(&w->rt->stacks, &w->stacks,
                                 (size_t)t->stack_pages * jg__os_page_size());
        if (t->stack == NULL) {
            return -ENOMEM;
        }
        jg__ctx_make(&t->ctx, t->stack->lo, t->stack->size, task_entry);
    }
#ifdef JG__SANITIZED
    const struct jg__stack *s = t->stack ? t->stack : &w->sstack;
    t->san.stack_lo = s->lo;
    t->san.stack_size = s->size;
#endif
    jg__san_fiber_create(JG__SAN(t));
    t->started = 1;
    return 0;
}

void jg__sched_shutdown(struct jg__runtime *rt) {
    atomic_store_explicit(&rt->shutdown, 1, memory_order_release);
    pthread_mutex_lock(&rt->park_lock);
    for (int i = 0; i < rt->nworkers; i++) {
        rt->workers[i].parked = false;
        atomic_store_explicit(&rt->workers[i].wake_word, 1,
                              memory_order_relaxed);
    }
    rt->nidle_list = 0;
    atomic_store_explicit(&rt->nidle, 0, memory_order_relaxed);
    pthread_mutex_unlock(&rt->park_lock);
    for (int i = 0; i < rt->nworkers; i++) {
        jg__os_futex_wake(&rt->workers[i].wake_word, 1);
    }
}

/* t is over (returned, or could not start): publish, wake the joiner. */
static void complete(struct jg__worker *w, struct jg_task *t) {
    /* Release: the joiner that sees DONE sees result and start_rc. */
    atomic_fetch_or_explicit(&t->flags, JG__TF_DONE, memory_order_release);
    /* Acquire pairs with the joiner's release CAS: we see joiner_seq. */
    struct jg_task *j = atomic_exchange_explicit(&t->joiner, JG__JOINER_DONE,
                                                 memory_order_acq_rel);
    if (j != NULL) {
        jg__wake(j,
                 atomic_load_explicit(&t->joiner_seq, memory_order_relaxed),
                 JG__WAKE_OK);
    }
    jg__task_unref(w, t);
    /* Release pairs with the acquire in quiescent(). */
    atomic_store_explicit(
        &w->finished,
        atomic_load_explicit(&w->finished, memory_order_relaxed) + 1,
        memory_order_release);
}

static void fail_start(struct jg__worker *w, struct jg_task *t) {
    t->start_rc = -ENOMEM;
    complete(w, t);
}

static void finish(struct jg__worker *w, struct jg_task *t) {
    if (t->mode == JG_STACK_SHARED) {
        if (w->sstack_owner == t) {
            w->sstack_owner = NULL;
        }
        jg__free(t->saved, t->saved_cap);
        t->saved = NULL;
        t->saved_len = t->saved_cap = 0;
    } else if (t->stack != NULL) {
        jg__stack_put(&w->rt->stacks, &w->stacks, t->stack);
        t->stack = NULL;
    }
    jg__san_fiber_destroy(JG__SAN(t));
    complete(w, t);
}

/* A park's second half, run once the task is fully switched out. */
static void commit_park(struct jg_task *t) {
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
        ready(t);
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
        ready(t);
        break;
    case HO_PARK:
        commit_park(t);
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
    self->worker = w;
    handoff(w);
}

/*
 * Leave the running task self: record the handoff, pick the next task and
 * switch to it directly, or to the loop on the worker's own stack. Returns
 * (in self, later) the worker that resumed it.
 */
static struct jg__worker *switch_away(struct jg__worker *w,
                                      struct jg_task *self, int kind) {
    int exiting = kind == HO_EXIT;
    if (kind == HO_PARK && self->latent_old != NULL) {
        jg__fork_expose(self); /* Let others run what we would have. */
    }
    w->ho_kind = kind;
    w->ho_task = self;
    struct jg_task *next = pick(w);
    /* Copying onto the shared stack cannot happen while standing on it. */
    if (next != NULL &&
        !(next->mode == JG_STACK_SHARED && self->mode == JG_STACK_SHARED &&
          w->sstack_owner != next)) {
        if (prepare_run(w, next) == 0) {
            w->current = next;
            jg__san_switch_begin(JG__SAN(self), JG__SAN(next), exiting);
            return jg__ctx_switch(&self->ctx, &next->ctx, w);
        }
        fail_start(w, next);
        next = NULL;
    }
    w->next_up = next;
    w->current = NULL;
    jg__san_switch_begin(JG__SAN(self), &w->sched_san, exiting);
    return jg__ctx_switch(&self->ctx, &w->sched_ctx, w);
}

static void task_entry(void *arg) {
    struct jg__worker *w = arg;
    struct jg_task *self = w->current;
    resumed(w, self);
    self->result = self->fn(self->arg);
    jg__sched_exit(self);
}

void jg__sched_yield(struct jg_task *self) {
    struct jg__worker *w = switch_away(self->worker, self, HO_YIELD);
    resumed(w, self);
}

void jg__sched_exit(struct jg_task *self) {
    switch_away(self->worker, self, HO_EXIT);
    jg__fatal(__FILE__, __LINE__, "a finished task was resumed");
}

void jg__worker_loop(struct jg__worker *w) {
    for (;;) {
        struct jg_task *t = w->next_up;
        w->next_up = NULL;
        if (t == NULL && (t = find_work(w)) == NULL) {
            return;
        }
        if (prepare_run(w, t) < 0) {
            fail_start(w, t);
            continue;
        }
        w->current = t;
        jg__san_switch_begin(&w->sched_san, JG__SAN(t), 0);
        jg__ctx_switch(&w->sched_ctx, &t->ctx, w);
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
    struct jg__worker *w = switch_away(self->worker, self, HO_PARK);
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
                ready(t);
            }
            return true;
        }
    }
}

bool jg__sched_current_stack(const char **name, void **lo, size_t *size,
                             size_t *guard) {
    struct jg__worker *w = jg__tls_worker;
    if (w == NULL || w->current == NULL) {
        return false;
    }
    struct jg_task *t = w->current;
    const struct jg__stack *s = t->mode == JG_STACK_SHARED ? &w->sstack
                                                           : t->stack;
    if (s == NULL) {
        return false;
    }
    *name = t->name;
    *lo = s->lo;
    *size = s->size;
    *guard = s->guard;
    return true;
}
