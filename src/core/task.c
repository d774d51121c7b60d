/* SPDX-License-Identifier: MIT */
/*
 * task.c - the task API of juggle/task.h (spawn, join, gather, sleep, yield,
 * cancel, names) and the pool of task structs behind it.
 *
 * Task structs are carved from arenas owned by the runtime (a 64 KiB one,
 * then 2 MiB ones advised to use transparent huge pages: a million task
 * structs cost 76 faults, not 37,000) and recycled through per-worker
 * caches, so spawning costs no malloc. Their memory stays mapped until
 * jg_run() returns; that is what makes a stale (task, seq) pair held by a
 * timer or a waker safe to look at (see JG__WS in sched.h): the seq inside
 * a reused struct never goes back.
 *
 * Lifetime: a task without a handle is freed by its own completion; one
 * with a handle by the jg_join() (or gather) that takes its result, once
 * complete() has stored JG__JOINER_DONE (its last touch of the struct). A
 * handle never joined keeps its struct until the runtime ends.
 */
#include <errno.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"

#define CACHE_MAX 1024
#define FIRST_ARENA ((size_t)64 << 10)
#define ARENA ((size_t)2 << 20)

/* The head of every arena: the list of them, for jg__task_pool_fini. */
struct arena {
    struct arena *next;
    size_t len;
};

/* Structs of fresh arena memory a worker takes at a time. */
#define CARVE 256

/* Refill w's cache from the runtime's free list, or give it a range of
 * fresh arena memory to carve from. Returns 0 or -ENOMEM. */
static int refill(struct jg__worker *w) {
    struct jg__runtime *rt = w->rt;
    pthread_mutex_lock(&rt->pool_lock);
    for (int i = 0; i < CACHE_MAX / 2 && rt->free_tasks != NULL; i++) {
        struct jg_task *t = rt->free_tasks;
        rt->free_tasks = t->next;
        t->next = w->free_tasks;
        w->free_tasks = t;
        w->nfree_tasks++;
    }
    if (w->free_tasks == NULL) {
        size_t want = CARVE * sizeof(struct jg_task);
        if ((size_t)(rt->arena_end - rt->arena_next) < sizeof(struct jg_task)) {
            size_t len = rt->task_arenas == NULL ? FIRST_ARENA : ARENA;
            void *m;
            int rc = len == ARENA ? jg__os_map_huge(&m, len)
                                  : jg__os_map(&m, len);
            if (rc < 0) {
                pthread_mutex_unlock(&rt->pool_lock);
                return -ENOMEM;
            }
            struct arena *a = m;
            a->next = rt->task_arenas;
            a->len = len;
            rt->task_arenas = a;
            /* Cache-line aligned structs after the header. */
            rt->arena_next = (char *)m + JG__CACHELINE;
            rt->arena_end = (char *)m + len;
        }
        size_t left = (size_t)(rt->arena_end - rt->arena_next);
        size_t take = (left < want ? left : want) / sizeof(struct jg_task) *
                      sizeof(struct jg_task);
        /* Fresh mappings are zero: wstate's seq starts at 0, as it must. */
        w->carve_next = rt->arena_next;
        w->carve_end = rt->arena_next + take;
        rt->arena_next += take;
    }
    pthread_mutex_unlock(&rt->pool_lock);
    return 0;
}

static struct jg_task *task_alloc(struct jg__worker *w) {
    struct jg_task *t = w->free_tasks;
    if (t != NULL) {
        w->free_tasks = t->next;
        w->nfree_tasks--;
        return t;
    }
    if (w->carve_next == w->carve_end) {
        if (refill(w) < 0) {
            return NULL;
        }
        if (w->free_tasks != NULL) {
            return task_alloc(w);
        }
    }
    t = (struct jg_task *)w->carve_next;
    w->carve_next += sizeof(struct jg_task);
    return t;
}

void jg__task_free(struct jg__worker *w, struct jg_task *t) {
    struct jg__runtime *rt = t->rt;
    atomic_store_explicit(&t->flags, JG__TF_FREE, memory_order_relaxed);
    if (w != NULL && w->rt == rt) {
        t->next = w->free_tasks;
        w->free_tasks = t;
        if (++w->nfree_tasks <= CACHE_MAX) {
            return;
        }
        /* Too many: give the cache back to the runtime's list. */
        pthread_mutex_lock(&rt->pool_lock);
        while (w->nfree_tasks > CACHE_MAX / 2) {
            struct jg_task *x = w->free_tasks;
            w->free_tasks = x->next;
            w->nfree_tasks--;
            x->next = rt->free_tasks;
            rt->free_tasks = x;
        }
        pthread_mutex_unlock(&rt->pool_lock);
        return;
    }
    pthread_mutex_lock(&rt->pool_lock);
    t->next = rt->free_tasks;
    rt->free_tasks = t;
    pthread_mutex_unlock(&rt->pool_lock);
}

void jg__task_pool_fini(struct jg__runtime *rt) {
    while (rt->task_arenas != NULL) {
        struct arena *a = rt->task_arenas;
        rt->task_arenas = a->next;
        jg__os_unmap(a, a->len);
    }
    rt->arena_next = rt->arena_end = NULL;
    rt->free_tasks = NULL;
    for (int i = 0; i < rt->nworkers; i++) {
        rt->workers[i].free_tasks = NULL;
        rt->workers[i].nfree_tasks = 0;
        rt->workers[i].carve_next = rt->workers[i].carve_end = NULL;
    }
}

/* The next task id of w's runtime: from w's block, a new block when it is
 * used up. */
static uint64_t next_id(struct jg__worker *w) {
    if (w->id_next == w->id_end) {
        const uint64_t block = 1024;
        w->id_next = atomic_fetch_add_explicit(&w->rt->next_id, block,
                                               memory_order_relaxed);
        w->id_end = w->id_next + block;
    }
    return w->id_next++;
}

int jg__task_new(struct jg__worker *w, struct jg_task **out, bool handle,
                 jg_task_fn fn, void *arg, const jg_spawn_opts *opts) {
    struct jg__runtime *rt = w->rt;
    jg_spawn_opts o = opts ? *opts : (jg_spawn_opts){0};
    if (fn == NULL || o.stack_mode < JG_STACK_DEFAULT ||
        o.stack_mode > JG_STACK_SHARED) {
        return -EINVAL;
    }
    size_t size = 0;
    if (o.stack_size != 0) {
        size = jg__stack_size_valid(o.stack_size);
        if (size == 0) {
            return -EINVAL;
        }
    }
    struct jg_task *t = task_alloc(w);
    if (t == NULL) {
        return -ENOMEM;
    }
    t->fn = fn;
    t->arg = arg;
    t->rt = rt;
    t->worker = NULL;
    t->home = NULL;
    t->stack = NULL;
    t->next = NULL;
    /* Keep the wait sequence of the struct's previous life (sched.h). */
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_relaxed);
    atomic_store_explicit(&t->wstate, JG__WS(JG__WS_SEQ(s), 0, JG__RUNNABLE),
                          memory_order_relaxed);
    atomic_store_explicit(&t->flags,
                          (o.name != NULL ? JG__TF_NAMED : 0) |
                              (handle ? 0 : JG__TF_DETACHED),
                          memory_order_relaxed);
    atomic_store_explicit(&t->joiner, NULL, memory_order_relaxed);
    atomic_store_explicit(&t->joiner_seq, 0, memory_order_relaxed);
    t->start_rc = 0;
    t->started = 0;
    t->mode = (uint8_t)(o.stack_mode != JG_STACK_DEFAULT
                            ? o.stack_mode
                            : rt->opts.stack_mode);
    t->stack_pages = size == rt->stacks.default_size
                         ? 0
                         : (uint32_t)(size / jg__os_page_size());
    t->saved = NULL;
    t->saved_len = t->saved_cap = 0;
    t->latent_old = t->latent_new = NULL;
#ifdef JG__SANITIZED
    memset(&t->san, 0, sizeof(t->san));
#endif
    t->id = next_id(w);
    if (o.name != NULL) {
        strncpy(t->name, o.name, sizeof(t->name) - 1);
        t->name[sizeof(t->name) - 1] = '\0';
    } /* else named on demand: see JG__TF_NAMED. */
    /* Counted before it can run, so before it can be counted finished. */
    atomic_store_explicit(
        &w->spawned,
        atomic_load_explicit(&w->spawned, memory_order_relaxed) + 1,
        memory_order_release);
    *out = t;
    return 0;
}

int jg__spawn(struct jg__worker *w, struct jg_task **out, jg_task_fn fn,
              void *arg, const jg_spawn_opts *opts) {
    struct jg_task *t;
    int rc = jg__task_new(w, &t, out != NULL, fn, arg, opts);
    if (rc < 0) {
        return rc;
    }
    if (out != NULL) {
        *out = t;
    }
    jg__sched_ready_new(w, t);
    return 0;
}

int jg__spawn_pinned(struct jg__worker *w, int index, struct jg_task **out,
                     jg_task_fn fn, void *arg) {
    if (index < 0 || index >= w->rt->nworkers) {
        return -EINVAL;
    }
    jg_spawn_opts o = {.stack_mode = JG_STACK_SHARED};
    struct jg_task *t;
    int rc = jg__task_new(w, &t, out != NULL, fn, arg, &o);
    if (rc < 0) {
        return rc;
    }
    /* Pinned from the start: ready() sends it to that worker only, which
     * starts it on its shared stack and keeps it. */
    t->home = &w->rt->workers[index];
    if (out != NULL) {
        *out = t;
    }
    jg__ready(t);
    return 0;
}

/* The calling task, or NULL outside the runtime. */
static struct jg_task *current(void) {
    struct jg__worker *w = jg__worker_self();
    return w != NULL ? w->current : NULL;
}

int jg_spawn(jg_task **out, jg_task_fn fn, void *arg,
             const jg_spawn_opts *opts) {
    struct jg_task *self = current();
    if (self == NULL) {
        return -EPERM;
    }
    return jg__spawn(self->worker, out, fn, arg, opts);
}

static void check_handle(const struct jg_task *t, const char *what) {
    uint32_t f = atomic_load_explicit(&((struct jg_task *)t)->flags,
                                      memory_order_relaxed);
    JG_ASSERT(!(f & JG__TF_FREE), what);
}

/* Wait until t is done. Returns 0, or -ECANCELED (cancellable only). */
static int wait_done(struct jg_task *self, struct jg_task *t,
                     bool cancellable) {
    /* Done already: no wait to prepare. Acquire pairs with complete(). */
    if (atomic_load_explicit(&t->joiner, memory_order_acquire) ==
        JG__JOINER_DONE) {
        return 0;
    }
    for (;;) {
        uint64_t seq = jg__park_prepare(self, cancellable);
        if (seq == 0) {
            return -ECANCELED;
        }
        atomic_store_explicit(&t->joiner_seq, seq, memory_order_relaxed);
        struct jg_task *expect = NULL;
        /* Release publishes joiner_seq; pairs with complete()'s exchange.
         * Acquire on failure: seeing JOINER_DONE means seeing the result. */
        if (!atomic_compare_exchange_strong_explicit(
                &t->joiner, &expect, self, memory_order_acq_rel,
                memory_order_acquire)) {
            JG_ASSERT(expect == JG__JOINER_DONE,
                      "two tasks wait to join the same task");
            jg__park_abandon(self, seq);
            return 0;
        }
        int rc = jg__park(self, seq, cancellable);
        if (rc == 0) {
            return 0;
        }
        /* Cancelled: take our registration back, unless t is finishing. */
        expect = self;
        if (!atomic_compare_exchange_strong_explicit(
                &t->joiner, &expect, NULL, memory_order_acq_rel,
                memory_order_acquire)) {
            return cancellable ? -ECANCELED : 0;
        }
        if (cancellable) {
            return -ECANCELED;
        }
    }
}

/* t is done: hand over its result and free it (the handle dies). */
static int take_result(struct jg_task *self, struct jg_task *t,
                       void **result) {
    /* Acquire pairs with the exchange in complete(). */
    JG_ASSERT(atomic_load_explicit(&t->joiner, memory_order_acquire) ==
                  JG__JOINER_DONE,
              "join returned before the task finished");
    int rc = t->start_rc;
    if (result != NULL) {
        *result = rc == 0 ? t->result : NULL;
    }
    jg__task_free(self->worker, t);
    return rc;
}

int jg_join(jg_task *t, void **result) {
    struct jg_task *self = current();
    if (self == NULL) {
        return -EPERM;
    }
    if (t == NULL || t->rt != self->rt) {
        return -EINVAL;
    }
    if (t == self) {
        return -EDEADLK;
    }
    check_handle(t, "jg_join: the task was already joined (invalid handle)");
    int rc = wait_done(self, t, true);
    if (rc < 0) {
        return rc;
    }
    return take_result(self, t, result);
}

int jg_gather(jg_task *const *tasks, size_t n, void **results) {
    struct jg_task *self = current();
    if (self == NULL) {
        return -EPERM;
    }
    if (tasks == NULL && n > 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (tasks[i] == NULL || tasks[i] == self || tasks[i]->rt != self->rt) {
            return -EINVAL;
        }
        check_handle(tasks[i], "jg_gather: a task was already joined");
    }
    int rc = 0;
    size_t i = 0;
    for (; i < n; i++) {
        if (wait_done(self, tasks[i], true) < 0) {
            break;
        }
        int r = take_result(self, tasks[i], results ? &results[i] : NULL);
        if (r < 0 && rc == 0) {
            rc = r;
        }
    }
    if (i == n) {
        return rc;
    }
    /* Cancelled: cancel the rest and wait for them, so none outlives us. */
    for (size_t j = i; j < n; j++) {
        jg_cancel(tasks[j]);
    }
    for (size_t j = i; j < n; j++) {
        wait_done(self, tasks[j], false);
        take_result(self, tasks[j], results ? &results[j] : NULL);
    }
    return -ECANCELED;
}

/* sleep(0): deliver a pending cancellation, else go to the back. */
static int yield_checked(struct jg_task *self) {
    uint64_t seq = jg__park_prepare(self, true);
    if (seq == 0) {
        return -ECANCELED;
    }
    jg__park_abandon(self, seq);
    jg__sched_yield(self);
    return 0;
}

int jg_sleep_until(int64_t deadline) {
    if (deadline < 0 && deadline != JG_FOREVER) {
        return -EINVAL;
    }
    struct jg_task *self = current();
    if (self == NULL) {
        if (deadline == JG_FOREVER) {
            return -EINVAL;
        }
        jg__os_sleep_until(deadline);
        return 0;
    }
    if (deadline != JG_FOREVER && deadline <= jg__os_now()) {
        return yield_checked(self);
    }
    uint64_t seq = jg__park_prepare(self, true);
    if (seq == 0) {
        return -ECANCELED;
    }
    if (deadline != JG_FOREVER) {
        int rc = jg__timer_arm(self, deadline, seq);
        if (rc < 0) {
            jg__park_abandon(self, seq);
            return rc;
        }
    }
    int rc = jg__park(self, seq, true);
    return rc == -ETIMEDOUT ? 0 : rc;
}

int jg_sleep(int64_t ns) {
    if (ns <= 0) {
        struct jg_task *self = current();
        if (self == NULL) {
            jg__os_yield();
            return 0;
        }
        return yield_checked(self);
    }
    int64_t now = jg__os_now();
    /* Saturate: a sleep past the end of int64_t time is a very long one. */
    return jg_sleep_until(ns > INT64_MAX - now ? INT64_MAX : now + ns);
}

int jg_yield(void) {
    struct jg_task *self = current();
    if (self == NULL) {
        jg__os_yield();
        return 0;
    }
    jg__sched_yield(self);
    return 0;
}

int jg_cancel(jg_task *t) {
    if (t == NULL) {
        return -EINVAL;
    }
    /* Seq_cst against jg__park_prepare(): see there. */
    uint32_t f = atomic_fetch_or_explicit(&t->flags, JG__TF_CANCEL,
                                          memory_order_seq_cst);
    JG_ASSERT(!(f & JG__TF_FREE), "jg_cancel: invalid task handle");
    if (atomic_load_explicit(&t->joiner, memory_order_seq_cst) ==
        JG__JOINER_DONE) {
        return -EALREADY;
    }
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_seq_cst);
    int st = JG__WS_STATE(s);
    if (st == JG__PARKING || st == JG__WAITING) {
        jg__wake(t, JG__WS_SEQ(s), JG__WAKE_CANCELED);
    }
    return 0;
}

jg_task *jg_self(void) {
    return current();
}

const char *jg_task_name(const jg_task *t) {
    if (t == NULL) {
        t = current();
        if (t == NULL) {
            return "";
        }
    }
    check_handle(t, "jg_task_name: invalid task handle");
    struct jg_task *m = (struct jg_task *)t;
    uint32_t f = atomic_load_explicit(&m->flags, memory_order_acquire);
    if (!(f & JG__TF_NAMED)) {
        f = atomic_fetch_or_explicit(&m->flags, JG__TF_NAMING,
                                     memory_order_acquire);
        if (!(f & JG__TF_NAMING)) {
            jg__fmt_u64(m->name, "task-", m->id);
            atomic_fetch_or_explicit(&m->flags, JG__TF_NAMED,
                                     memory_order_release);
        } else {
            /* Another thread is writing it: a few stores away. */
            while (!(atomic_load_explicit(&m->flags, memory_order_acquire) &
                     JG__TF_NAMED)) {
                jg__cpu_relax();
            }
        }
    }
    return m->name;
}

int jg_worker_index(void) {
    struct jg__worker *w = jg__worker_self();
    return w != NULL ? w->index : -1;
}

int jg_worker_count(void) {
    struct jg__worker *w = jg__worker_self();
    return w != NULL ? w->rt->nworkers : 0;
}

int64_t jg_now(void) {
    return jg__os_now();
}

const char *jg_strerror(int rc) {
    if (rc >= 0) {
        return "success";
    }
    const char *s = strerrordesc_np(-rc);
    return s != NULL ? s : "unknown error";
}
