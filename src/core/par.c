/* SPDX-License-Identifier: MIT */
/*
 * par.c - the fork-join API of juggle/par.h: jg_par_join, jg_par_for and
 * jg_par_reduce, and the default runtime that serves callers outside any
 * runtime.
 *
 * Loops split their range in halves with jg_par_join. With an explicit
 * grain they split down to it. With grain 0 they split a few levels (enough
 * for two pieces per worker), then run the rest of each piece in serial
 * chunks, and split what is left of a piece again whenever some worker is
 * idle (lazy splitting: work is divided only when someone can take it).
 *
 * The default runtime: the first call from outside a task starts a thread
 * that runs jg_run() with one worker per CPU and a main task that serves a
 * list of requests. A caller appends its request, wakes main, and sleeps on
 * a futex until a task made for the request has run it. After fork() the
 * child has none of those threads, so an atfork handler forgets the
 * runtime and the child starts its own on first use.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/fork.h"
#include "core/sched.h"
#include "os/os.h"

#define MAX_ACC 4096
/* Serial chunks per worker of an automatic loop, and the levels split
 * eagerly before chunking; a piece is then at most 1/64 of the range per
 * worker, small enough to even out, large enough to amortise the checks. */
#define CHUNKS_PER_WORKER 64

/* ---- calls from outside the runtime ---- */

struct request {
    int (*run)(void *ctx); /* Runs inside a task of the default runtime. */
    void *ctx;
    int rc;
    _Atomic uint32_t done; /* Futex word: 1 once rc is set. */
    struct request *next;
};

static struct {
    pthread_mutex_t lock; /* Protects head, tail, started. */
    struct request *head, *tail;
    bool started;
    int start_rc;
    struct jg_task *main; /* The serving task, once it runs. */
    _Atomic uint64_t ws;  /* Main's wait seq << 1 | work-pending bit. */
} dflt = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *serve_one(void *arg) {
    struct request *r = arg;
    r->rc = r->run(r->ctx);
    /* Release pairs with the requester's acquire; r may be gone after. */
    atomic_store_explicit(&r->done, 1, memory_order_release);
    jg__os_futex_wake(&r->done, 1);
    return NULL;
}

static struct request *take_all(void) {
    pthread_mutex_lock(&dflt.lock);
    struct request *list = dflt.head;
    dflt.head = dflt.tail = NULL;
    pthread_mutex_unlock(&dflt.lock);
    return list;
}

static void *default_main(void *arg) {
    (void)arg;
    struct jg_task *self = jg_self();
    dflt.main = self;
    for (;;) {
        atomic_store_explicit(&dflt.ws, 0, memory_order_seq_cst);
        for (struct request *r = take_all(); r != NULL;) {
            struct request *next = r->next;
            if (jg_spawn(NULL, serve_one, r, NULL) < 0) {
                r->rc = -ENOMEM;
                atomic_store_explicit(&r->done, 1, memory_order_release);
                jg__os_futex_wake(&r->done, 1);
            }
            r = next;
        }
        uint64_t seq = jg__park_prepare(self, false);
        uint64_t expect = 0;
        if (!atomic_compare_exchange_strong(&dflt.ws, &expect, seq << 1)) {
            jg__park_abandon(self, seq); /* Work arrived meanwhile. */
            continue;
        }
        jg__park(self, seq, false);
    }
    return NULL;
}

static void *default_thread(void *arg) {
    (void)arg;
    jg_run(default_main, NULL, NULL, NULL); /* Serves until exit. */
    return NULL;
}

static void forget_after_fork(void) {
    pthread_mutex_init(&dflt.lock, NULL);
    dflt.head = dflt.tail = NULL;
    dflt.started = false;
    dflt.main = NULL;
    atomic_store(&dflt.ws, 0);
}

static int run_outside(int (*run)(void *), void *ctx) {
    struct request r = {.run = run, .ctx = ctx};
    pthread_mutex_lock(&dflt.lock);
    if (!dflt.started) {
        static bool atfork_set; /* Under dflt.lock; survives fork. */
        if (!atfork_set) {
            pthread_atfork(NULL, NULL, forget_after_fork);
            atfork_set = true;
        }
        pthread_t th;
        dflt.start_rc = jg__os_thread_start(&th, default_thread, NULL,
                                            "juggle-default");
        if (dflt.start_rc == 0) {
            pthread_detach(th);
            dflt.started = true;
        }
    }
    if (!dflt.started) {
        int rc = dflt.start_rc;
        pthread_mutex_unlock(&dflt.lock);
        return rc == -ENOMEM ? -ENOMEM : -EAGAIN;
    }
    if (dflt.tail != NULL) {
        dflt.tail->next = &r;
    } else {
        dflt.head = &r;
    }
    dflt.tail = &r;
    pthread_mutex_unlock(&dflt.lock);
    /* Seq_cst, against main's clear-then-drain: main sees our request, or
     * we see its wait and end it. */
    uint64_t v = atomic_exchange_explicit(&dflt.ws, 1, memory_order_seq_cst);
    if ((v >> 1) != 0) {
        jg__wake(dflt.main, v >> 1, JG__WAKE_OK);
    }
    while (atomic_load_explicit(&r.done, memory_order_acquire) == 0) {
        jg__os_futex_wait(&r.done, 0, -1);
    }
    return r.rc;
}

/* ---- jg_par_join ---- */

struct join_args {
    jg_par_fn fa, fb;
    void *a, *b;
};

static int join_thunk(void *ctx) {
    struct join_args *j = ctx;
    return jg_par_join(j->fa, j->a, j->fb, j->b);
}

int jg__par_join_outside(jg_par_fn fa, void *a, jg_par_fn fb, void *b) {
    struct join_args j = {fa, fb, a, b};
    return run_outside(join_thunk, &j);
}

/* ---- jg_par_for ---- */

struct loop {
    jg_par_for_fn body;
    jg_par_reduce_fn rbody;     /* Reductions: body with an accumulator. */
    jg_par_combine_fn combine;
    void *arg;
    const void *identity;
    size_t acc_size;
    int64_t grain;              /* Explicit grain, or 0. */
    int64_t chunk;              /* Automatic: serial chunk length. */
    struct jg__runtime *rt;
};

/* One piece of a loop: a range, the levels it may still split eagerly, and
 * (reductions) the accumulator it folds into. */
struct piece {
    const struct loop *l;
    int64_t lo, hi;
    int depth;
    void *acc;
};

static int piece_run(void *x);

static int run_body(const struct loop *l, int64_t lo, int64_t hi, void *acc) {
    return l->rbody != NULL ? l->rbody(l->arg, lo, hi, acc)
                            : l->body(l->arg, lo, hi);
}

/* hi - lo for lo <= hi, without overflow: a range may span more than
 * INT64_MAX. */
static uint64_t span(int64_t lo, int64_t hi) {
    return (uint64_t)hi - (uint64_t)lo;
}

/* Accumulators are aligned to ACC_ALIGN, enough for any vector type. */
#define ACC_ALIGN 64

/* Split [lo, hi) in two pieces run by a join; a reduction folds the right
 * half into a fresh accumulator and combines it into acc after. */
static int split(const struct loop *l, int64_t lo, int64_t hi, int depth,
                 void *acc) {
    int64_t mid = lo + (int64_t)(span(lo, hi) / 2);
    char small[64] __attribute__((aligned(ACC_ALIGN)));
    void *racc = NULL, *block = NULL;
    size_t block_size = l->acc_size + ACC_ALIGN - 1;
    if (l->rbody != NULL) {
        if (l->acc_size <= sizeof(small)) {
            racc = small;
        } else {
            block = jg__malloc(block_size);
            if (block == NULL) {
                return -ENOMEM;
            }
            racc = (void *)(((uintptr_t)block + ACC_ALIGN - 1) &
                            ~(uintptr_t)(ACC_ALIGN - 1));
        }
        memcpy(racc, l->identity, l->acc_size);
    }
    struct piece left = {l, lo, mid, depth, acc};
    struct piece right = {l, mid, hi, depth, racc};
    int rc = jg__par_join_ex(piece_run, &left, piece_run, &right, true);
    if (racc != NULL) {
        if (rc == 0) {
            l->combine(l->arg, acc, racc);
        }
        if (block != NULL) {
            jg__free(block, block_size);
        }
    }
    return rc;
}

static int piece_run(void *x) {
    struct piece *p = x;
    const struct loop *l = p->l;
    uint64_t len = span(p->lo, p->hi);
    if (l->grain > 0) {
        return len <= (uint64_t)l->grain
                   ? run_body(l, p->lo, p->hi, p->acc)
                   : split(l, p->lo, p->hi, 0, p->acc);
    }
    if (len > (uint64_t)l->chunk && p->depth > 0) {
        return split(l, p->lo, p->hi, p->depth - 1, p->acc);
    }
    /* Serial chunks; hand out the rest as soon as a worker is idle. */
    for (int64_t x0 = p->lo; x0 < p->hi;) {
        int64_t x1 = span(x0, p->hi) > (uint64_t)l->chunk ? x0 + l->chunk
                                                          : p->hi;
        int rc = run_body(l, x0, x1, p->acc);
        if (rc < 0) {
            return rc;
        }
        x0 = x1;
        if (span(x0, p->hi) > (uint64_t)l->chunk && l->rt != NULL &&
            jg__sched_idle_workers(l->rt) > 0) {
            return split(l, x0, p->hi, 1, p->acc);
        }
    }
    return 0;
}

static int loop_run(void *ctx) {
    const struct piece *top = ctx;
    struct jg__worker *w = jg__worker_self();
    struct loop l = *top->l;
    l.rt = w->rt;
    int workers = w->rt->nworkers;
    uint64_t len = span(top->lo, top->hi);
    l.chunk = (int64_t)(len / ((uint64_t)workers * CHUNKS_PER_WORKER));
    if (l.chunk < 1) {
        l.chunk = 1;
    }
    int depth = 1; /* Two pieces per worker to start with. */
    while ((1 << depth) < 2 * workers && depth < 16) {
        depth++;
    }
    struct piece p = {&l, top->lo, top->hi, workers > 1 ? depth : 0,
                      top->acc};
    return piece_run(&p);
}

static int loop_start(struct piece *top) {
    struct jg__worker *w = jg__worker_self();
    if (w == NULL || w->current == NULL) {
        return run_outside(loop_run, top);
    }
    return loop_run(top);
}

int jg_par_for(int64_t lo, int64_t hi, int64_t grain, jg_par_for_fn body,
               void *arg) {
    if (body == NULL || lo > hi || grain < 0) {
        return -EINVAL;
    }
    if (lo == hi) {
        return 0;
    }
    struct loop l = {.body = body, .arg = arg, .grain = grain};
    struct piece top = {&l, lo, hi, 0, NULL};
    return loop_start(&top);
}

int jg_par_reduce(int64_t lo, int64_t hi, int64_t grain,
                  jg_par_reduce_fn body, jg_par_combine_fn combine, void *arg,
                  const void *identity, size_t acc_size, void *result) {
    if (body == NULL || combine == NULL || identity == NULL ||
        result == NULL || lo > hi || grain < 0 || acc_size == 0 ||
        acc_size > MAX_ACC) {
        return -EINVAL;
    }
    /* The pieces copy the identity into their accumulators while result
     * is folded into: when the two overlap, keep a copy of the identity. */
    const char *r = result, *id = identity;
    void *copy = NULL;
    if (r < id + acc_size && id < r + acc_size) {
        if ((copy = jg__malloc(acc_size)) == NULL) {
            return -ENOMEM;
        }
        memcpy(copy, identity, acc_size);
        identity = copy;
    }
    memmove(result, identity, acc_size);
    int rc = 0;
    if (lo != hi) {
        struct loop l = {.rbody = body, .combine = combine, .arg = arg,
                         .identity = identity, .acc_size = acc_size,
                         .grain = grain};
        struct piece top = {&l, lo, hi, 0, result};
        rc = loop_start(&top);
    }
    if (copy != NULL) {
        jg__free(copy, acc_size);
    }
    return rc;
}
