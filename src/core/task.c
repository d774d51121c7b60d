/* SPDX-License-Identifier: MIT */
/*
 * task.c - the task API of juggle/task.h (spawn, join, gather, sleep, yield,
 * cancel, names) and the pool of task structs behind it.
 *
 * Task handles and their exec parts (sched.h, "two parts") are carved
 * from 2 MiB arenas owned by the runtime, all but the first advised to use
 * transparent huge pages (a million handles cost 32 faults, not 16,000),
 * and recycled through per-worker caches, so spawning costs no malloc.
 * Their memory stays mapped until jg_run() returns; that is what makes a
 * stale (task, seq) pair held by a timer or a waker safe to look at (see
 * JG__WS in sched.h): the seq inside a reused handle never goes back. An
 * arena's head names the runtime (jg__task_rt).
 *
 * Lifetime: a task without a handle is freed by its own completion; one
 * with a handle by the jg_join() (or gather) that takes its result, once
 * complete() has stored JG__JOINER_DONE (its last touch of the struct). A
 * handle never joined keeps its struct until the runtime ends. The exec
 * part goes back to a cache as soon as the task finishes.
 *
 * Names live in a table of the runtime (task -> name), not in the handle:
 * only tasks given a name, or whose default name somebody asked for, have
 * an entry; it goes when the handle is freed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"

/* Bytes of fresh arena memory a worker takes at a time. */
#define CARVE ((size_t)16 << 10)

/* Map a new arena and make the rest of it the runtime's. Called with
 * pool_lock held. Returns 0 or -ENOMEM. */
static int arena_new(struct jg__runtime *rt) {
    void *m;
    /* The first arena is not advised: a runtime with a few tasks should
     * not pay for a 2 MiB page. */
    if (jg__os_map_huge(&m, JG__TASK_ARENA, rt->task_arenas != NULL) < 0) {
        return -ENOMEM;
    }
    struct jg__task_arena *a = m;
    a->next = rt->task_arenas;
    a->rt = rt;
    rt->task_arenas = a;
    /* Cache-line aligned structs after the head. */
    rt->arena_next = (char *)m + JG__CACHELINE;
    rt->arena_end = (char *)m + JG__TASK_ARENA;
    return 0;
}

/* size bytes of fresh (zeroed) arena memory for w, cache-line aligned:
 * from w's carving range, refilled from the runtime's arena. */
static void *carve(struct jg__worker *w, size_t size) {
    size = (size + JG__CACHELINE - 1) & ~(size_t)(JG__CACHELINE - 1);
    if ((size_t)(w->carve_end - w->carve_next) < size) {
        struct jg__runtime *rt = w->rt;
        pthread_mutex_lock(&rt->pool_lock);
        if ((size_t)(rt->arena_end - rt->arena_next) < CARVE &&
            arena_new(rt) < 0) {
            pthread_mutex_unlock(&rt->pool_lock);
            return NULL;
        }
        /* What was left of the old range is dropped: at most a struct. */
        w->carve_next = rt->arena_next;
        w->carve_end = rt->arena_next + CARVE;
        rt->arena_next += CARVE;
        pthread_mutex_unlock(&rt->pool_lock);
    }
    void *p = w->carve_next;
    w->carve_next += size;
    return p;
}

/*
 * The free caches (sched.h, struct jg__free_cache) hold handles and exec
 * parts alike: the two kinds differ only in where their links lie. Whole
 * batches move between a worker and the runtime, so no path walks a list
 * of structs that have gone cold: after a million joins, taking 512
 * structs one by one from the runtime's list cost a dependent cache miss
 * each.
 */
struct free_kind {
    size_t next; /* Offset of the free_next link. */
    size_t batch; /* Offset of the free_batch link. */
};
static const struct free_kind TASKS = {
    offsetof(struct jg_task, free_next), offsetof(struct jg_task, free_batch)};
static const struct free_kind EXECS = {
    offsetof(struct jg__exec, free_next), offsetof(struct jg__exec, free_batch)};

static void **link_of(void *s, size_t off) {
    return (void **)((char *)s + off);
}

/* A struct from cache c, refilled from the runtime's pool p; NULL when
 * both are empty. */
static void *cache_get(struct jg__runtime *rt, struct jg__free_cache *c,
                       struct jg__free_pool *p, const struct free_kind *k) {
    if (c->hot == NULL) {
        if (c->full != NULL) {
            c->hot = c->full;
            c->full = NULL;
            c->nhot = JG__BATCH;
        } else if (atomic_load_explicit(&p->have, memory_order_relaxed)) {
            pthread_mutex_lock(&rt->pool_lock);
            if (p->batches != NULL) {
                c->hot = p->batches;
                p->batches = *link_of(c->hot, k->batch);
                c->nhot = JG__BATCH;
            } else {
                while (p->singles != NULL && c->nhot < JG__BATCH) {
                    void *s = p->singles;
                    p->singles = *link_of(s, k->next);
                    *link_of(s, k->next) = c->hot;
                    c->hot = s;
                    c->nhot++;
                }
            }
            atomic_store_explicit(&p->have,
                                  p->batches != NULL || p->singles != NULL,
                                  memory_order_relaxed);
            pthread_mutex_unlock(&rt->pool_lock);
        }
        if (c->hot == NULL) {
            return NULL;
        }
    }
    void *s = c->hot;
    c->hot = *link_of(s, k->next);
    c->nhot--;
    return s;
}

/* Put s into cache c; a second full batch goes to the runtime's pool p. */
static void cache_put(struct jg__runtime *rt, struct jg__free_cache *c,
                      struct jg__free_pool *p, const struct free_kind *k,
                      void *s) {
    *link_of(s, k->next) = c->hot;
    c->hot = s;
    if (++c->nhot < JG__BATCH) {
        return;
    }
    void *batch = c->hot;
    c->hot = NULL;
    c->nhot = 0;
    if (c->full != NULL) {
        pthread_mutex_lock(&rt->pool_lock);
        *link_of(c->full, k->batch) = p->batches;
        p->batches = c->full;
        atomic_store_explicit(&p->have, true, memory_order_relaxed);
        pthread_mutex_unlock(&rt->pool_lock);
    }
    c->full = batch;
}

static struct jg_task *task_alloc(struct jg__worker *w) {
    struct jg_task *t = cache_get(w->rt, &w->free_tasks, &w->rt->free_tasks,
                                  &TASKS);
    /* Fresh memory is zero: wstate's seq starts at 0, as it must. */
    return t != NULL ? t : carve(w, sizeof(struct jg_task));
}

static void name_drop(struct jg__runtime *rt, struct jg_task *t);

void jg__task_free(struct jg__worker *w, struct jg_task *t) {
    struct jg__runtime *rt = jg__task_rt(t);
    uint32_t f = atomic_load_explicit(&t->flags, memory_order_relaxed);
    if (f & JG__TF_NAMED) {
        name_drop(rt, t);
    }
    atomic_store_explicit(&t->flags, JG__TF_FREE, memory_order_relaxed);
    if (w != NULL && w->rt == rt) {
        cache_put(rt, &w->free_tasks, &rt->free_tasks, &TASKS, t);
        return;
    }
    pthread_mutex_lock(&rt->pool_lock);
    t->free_next = rt->free_tasks.singles;
    rt->free_tasks.singles = t;
    atomic_store_explicit(&rt->free_tasks.have, true, memory_order_relaxed);
    pthread_mutex_unlock(&rt->pool_lock);
}

struct jg__exec *jg__exec_get(struct jg__worker *w) {
    struct jg__exec *x =
        cache_get(w->rt, &w->free_execs, &w->rt->free_execs, &EXECS);
    if (x == NULL) {
        return carve(w, sizeof(struct jg__exec)); /* Zeroed. */
    }
    /* What a fresh one would hold; the rest is set before use. */
    x->home = NULL;
    x->stack = NULL;
    x->next = NULL;
    x->saved = NULL;
    x->saved_len = x->saved_cap = 0;
    x->stack_pages = 0;
    x->name = NULL;
    x->latent_old = x->latent_new = NULL;
#ifdef JG__SANITIZED
    memset(&x->san, 0, sizeof(x->san));
#endif
    return x;
}

void jg__exec_put(struct jg__worker *w, struct jg_task *t) {
    struct jg__exec *x = t->x;
    t->x = NULL;
    cache_put(w->rt, &w->free_execs, &w->rt->free_execs, &EXECS, x);
}

/* ---- names ---- */

struct jg__name {
    struct jg__name *next; /* Chain of one bucket. */
    const struct jg_task *task;
    char name[JG__NAME_BUF];
};

static size_t bucket(const struct jg__runtime *rt, const struct jg_task *t) {
    /* Handles are 64-byte aligned: drop the zero bits, then mix. */
    uint64_t h = ((uintptr_t)t >> 6) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (rt->names_cap - 1);
}

/* Add t's name (copied, truncated to 23 bytes as before). Returns the
 * stored copy, or NULL when out of memory. */
static const char *name_add(struct jg__runtime *rt, const struct jg_task *t,
                            const char *name, size_t max) {
    struct jg__name *e = jg__malloc(sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->task = t;
    size_t n = strnlen(name, max);
    memcpy(e->name, name, n);
    e->name[n] = '\0';
    pthread_mutex_lock(&rt->names_lock);
    if (rt->names_len >= rt->names_cap) {
        /* Grow (and rehash) at load 1. */
        size_t cap = rt->names_cap ? rt->names_cap * 2 : 64;
        struct jg__name **b = jg__calloc(cap, sizeof(*b));
        if (b == NULL && rt->names_cap == 0) {
            pthread_mutex_unlock(&rt->names_lock);
            jg__free(e, sizeof(*e));
            return NULL;
        }
        if (b != NULL) { /* Else keep the old table, chains grow. */
            struct jg__name **old = rt->names;
            size_t old_cap = rt->names_cap;
            rt->names = b;
            rt->names_cap = cap;
            for (size_t i = 0; i < old_cap; i++) {
                while (old[i] != NULL) {
                    struct jg__name *x = old[i];
                    old[i] = x->next;
                    size_t k = bucket(rt, x->task);
                    x->next = b[k];
                    b[k] = x;
                }
            }
            jg__free(old, old_cap * sizeof(*old));
        }
    }
    size_t k = bucket(rt, t);
    e->next = rt->names[k];
    rt->names[k] = e;
    rt->names_len++;
    pthread_mutex_unlock(&rt->names_lock);
    return e->name;
}

/* t's stored name (t is NAMED). */
static const char *name_find(struct jg__runtime *rt, const struct jg_task *t) {
    pthread_mutex_lock(&rt->names_lock);
    struct jg__name *e = rt->names[bucket(rt, t)];
    while (e != NULL && e->task != t) {
        e = e->next;
    }
    pthread_mutex_unlock(&rt->names_lock);
    JG_ASSERT(e != NULL, "a named task has no name entry");
    return e->name;
}

static void name_drop(struct jg__runtime *rt, struct jg_task *t) {
    pthread_mutex_lock(&rt->names_lock);
    struct jg__name **pp = &rt->names[bucket(rt, t)];
    while (*pp != NULL && (*pp)->task != t) {
        pp = &(*pp)->next;
    }
    struct jg__name *e = *pp;
    if (e != NULL) {
        *pp = e->next;
        rt->names_len--;
    }
    pthread_mutex_unlock(&rt->names_lock);
    if (e != NULL) {
        jg__free(e, sizeof(*e));
    }
}

static void names_fini(struct jg__runtime *rt) {
    for (size_t i = 0; i < rt->names_cap; i++) {
        while (rt->names[i] != NULL) {
            struct jg__name *e = rt->names[i];
            rt->names[i] = e->next;
            jg__free(e, sizeof(*e));
        }
    }
    jg__free(rt->names, rt->names_cap * sizeof(*rt->names));
    rt->names = NULL;
    rt->names_cap = rt->names_len = 0;
}

void jg__task_pool_fini(struct jg__runtime *rt) {
    names_fini(rt);
    while (rt->task_arenas != NULL) {
        struct jg__task_arena *a = rt->task_arenas;
        rt->task_arenas = a->next;
        jg__os_unmap(a, JG__TASK_ARENA);
    }
    rt->arena_next = rt->arena_end = NULL;
    rt->free_tasks = rt->free_execs = (struct jg__free_pool){0};
    for (int i = 0; i < rt->nworkers; i++) {
        struct jg__worker *w = &rt->workers[i];
        w->free_tasks = w->free_execs = (struct jg__free_cache){0};
        w->carve_next = w->carve_end = NULL;
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

/* Given names are kept to this many bytes. */
#define NAME_MAX_LEN 23

int jg__task_new(struct jg__worker *w, struct jg_task **out, bool handle,
                 jg_task_fn fn, void *arg, const jg_spawn_opts *opts) {
    struct jg__runtime *rt = w->rt;
    jg_spawn_opts o = opts ? *opts : (jg_spawn_opts){0};
    if (fn == NULL || o.stack_mode < JG_STACK_DEFAULT ||
        o.stack_mode > JG_STACK_SHARED) {
        return -EINVAL;
    }
    uint32_t stack_pages = 0;
    if (o.stack_size != 0) {
        size_t size = jg__stack_size_valid(o.stack_size);
        if (size == 0) {
            return -EINVAL;
        }
        if (size != rt->stacks.default_size) {
            stack_pages = (uint32_t)(size / jg__os_page_size());
        }
    }
    struct jg_task *t = task_alloc(w);
    if (t == NULL) {
        return -ENOMEM;
    }
    /* Options that the first run needs, and a given name, live in an exec
     * part attached now; a plain spawn writes the handle's line only. */
    const char *name = NULL;
    struct jg__exec *x = NULL;
    if (o.name != NULL || stack_pages != 0) {
        x = jg__exec_get(w);
        if (x == NULL) {
            goto undo_task;
        }
        x->stack_pages = stack_pages;
        if (o.name != NULL &&
            (name = name_add(rt, t, o.name, NAME_MAX_LEN)) == NULL) {
            goto undo_exec;
        }
        x->name = name;
    }
    t->fn = fn;
    t->arg = arg;
    t->x = x;
    /* Keep the wait sequence of the struct's previous life (sched.h). */
    uint64_t s = atomic_load_explicit(&t->wstate, memory_order_relaxed);
    atomic_store_explicit(&t->wstate, JG__WS(JG__WS_SEQ(s), 0, JG__RUNNABLE),
                          memory_order_relaxed);
    atomic_store_explicit(&t->joiner, NULL, memory_order_relaxed);
    atomic_store_explicit(&t->joiner_seq, 0, memory_order_relaxed);
    t->id = next_id(w);
    atomic_store_explicit(&t->flags,
                          (name != NULL ? JG__TF_NAMED : 0) |
                              (handle ? 0 : JG__TF_DETACHED),
                          memory_order_relaxed);
    t->mode = (uint8_t)(o.stack_mode != JG_STACK_DEFAULT
                            ? o.stack_mode
                            : rt->opts.stack_mode);
    t->started = 0;
    t->start_rc = 0;
    /* Counted before it can run, so before it can be counted finished. */
    atomic_store_explicit(
        &w->spawned,
        atomic_load_explicit(&w->spawned, memory_order_relaxed) + 1,
        memory_order_release);
    *out = t;
    return 0;

undo_exec:
    t->x = x;
    jg__exec_put(w, t);
undo_task:
    atomic_store_explicit(&t->flags, 0, memory_order_relaxed);
    jg__task_free(w, t);
    return -ENOMEM;
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
    if (t->x == NULL && (t->x = jg__exec_get(w)) == NULL) {
        jg__task_free(w, t); /* Never counted as runnable: uncount it. */
        atomic_store_explicit(
            &w->spawned,
            atomic_load_explicit(&w->spawned, memory_order_relaxed) - 1,
            memory_order_release);
        return -ENOMEM;
    }
    t->x->home = &w->rt->workers[index];
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
    return jg__spawn(self->x->worker, out, fn, arg, opts);
}

static void check_handle(const struct jg_task *t, const char *what) {
    uint32_t f = atomic_load_explicit(&((struct jg_task *)t)->flags,
                                      memory_order_relaxed);
    JG_ASSERT(!(f & JG__TF_FREE), what);
}

void jg__join_wait_begin(struct jg_task *self, struct jg_task *t,
                         uint64_t seq) {
    struct jg__worker *w = self->x->worker;
    atomic_store_explicit(&self->x->waits_for, t, memory_order_relaxed);
    atomic_store_explicit(&w->jw_last, self, memory_order_relaxed);
    atomic_store_explicit(&w->jw_last_seq, seq, memory_order_relaxed);
    atomic_store_explicit(
        &w->jwaits, atomic_load_explicit(&w->jwaits, memory_order_relaxed) + 1,
        memory_order_release);
}

void jg__join_wait_end(struct jg_task *self) {
    struct jg__worker *w = self->x->worker; /* Where it resumed. */
    atomic_store_explicit(&self->x->waits_for, NULL, memory_order_relaxed);
    atomic_store_explicit(
        &w->jresumes,
        atomic_load_explicit(&w->jresumes, memory_order_relaxed) + 1,
        memory_order_release);
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
        jg__join_wait_begin(self, t, seq);
        int rc = jg__park(self, seq, cancellable);
        jg__join_wait_end(self);
        if (rc == 0) {
            return 0;
        }
        /* Cancelled: take our registration back, unless t is finishing. */
        expect = self;
        if (!atomic_compare_exchange_strong_explicit(
                &t->joiner, &expect, NULL, memory_order_acq_rel,
                memory_order_acquire)) {
            /* complete() took our registration and may not have read
             * joiner_seq yet: our caller may free t at once, so wait for
             * its last touch (sched.c, complete). A moment: it is between
             * two instructions on another worker (never on ours). */
            for (int i = 0; atomic_load_explicit(&t->joiner_seq,
                                                 memory_order_acquire) !=
                            JG__SEQ_TAKEN;
                 i++) {
                if (i < 64) {
                    jg__cpu_relax();
                } else {
                    jg__os_yield(); /* Its thread may be preempted. */
                }
            }
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
    jg__task_free(self->x->worker, t);
    return rc;
}

int jg_join(jg_task *t, void **result) {
    struct jg_task *self = current();
    if (self == NULL) {
        return -EPERM;
    }
    if (t == NULL || jg__task_rt(t) != jg__task_rt(self)) {
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

/* Clear the marks jg_gather() set on tasks[0 .. n-1]; a repeated handle's
 * first mark goes with its first occurrence. */
static void unmark_gathered(jg_task *const *tasks, size_t n) {
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_and_explicit(&tasks[i]->flags,
                                  ~(uint32_t)JG__TF_GATHER_SEEN,
                                  memory_order_relaxed);
    }
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
        if (tasks[i] == NULL || tasks[i] == self ||
            jg__task_rt(tasks[i]) != jg__task_rt(self)) {
            unmark_gathered(tasks, i);
            return -EINVAL;
        }
        check_handle(tasks[i], "jg_gather: a task was already joined");
        /* A repeated handle would be joined, and freed, twice. */
        uint32_t f = atomic_fetch_or_explicit(
            &tasks[i]->flags, JG__TF_GATHER_SEEN, memory_order_relaxed);
        if (f & JG__TF_GATHER_SEEN) {
            unmark_gathered(tasks, i);
            return -EINVAL;
        }
    }
    unmark_gathered(tasks, n);
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
    struct jg__runtime *rt = jg__task_rt(t);
    struct jg__worker *cw = jg__worker_self();
    if (cw == NULL || cw->rt != rt) {
        /* Before the wake: a deadlock check that sees no change in this
         * count saw no wake from outside either (queue.c). */
        atomic_fetch_add_explicit(&rt->outside_cancels, 1,
                                  memory_order_seq_cst);
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
    struct jg__runtime *rt = jg__task_rt(m);
    for (;;) {
        uint32_t f = atomic_load_explicit(&m->flags, memory_order_acquire);
        if (f & JG__TF_NAMED) {
            return name_find(rt, m);
        }
        if (f & JG__TF_NAMING) {
            /* Another thread is adding it: a few stores away. */
            jg__cpu_relax();
            continue;
        }
        f = atomic_fetch_or_explicit(&m->flags, JG__TF_NAMING,
                                     memory_order_acquire);
        if (f & (JG__TF_NAMING | JG__TF_NAMED)) {
            continue; /* Somebody was first. */
        }
        char buf[JG__NAME_BUF];
        jg__fmt_u64(buf, "task-", m->id);
        const char *name = name_add(rt, m, buf, sizeof(buf) - 1);
        if (name == NULL) {
            /* Out of memory for the name: let a later call try again. */
            atomic_fetch_and_explicit(&m->flags, ~(uint32_t)JG__TF_NAMING,
                                      memory_order_release);
            return "task-?";
        }
        atomic_fetch_or_explicit(&m->flags, JG__TF_NAMED,
                                 memory_order_release);
        return name;
    }
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
