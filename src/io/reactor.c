/* SPDX-License-Identifier: MIT */
/*
 * reactor.c - the I/O layer's core: choosing the poller, the table of fd
 * records, the wait on an fd, dispatching the poller's events to waiting
 * tasks, the claim that lets one worker at a time poll, and the hooks the
 * scheduler calls (sched.h, "The reactor"). See docs/design/io.md.
 *
 * Waiting on an fd (jg__fd_wait). The caller tried the system call and
 * got EAGAIN. It prepares a cancellable park, then under the record's
 * lock: arms the fd with the poller if this generation never was, takes
 * readiness that came meanwhile (record.ready) and returns at once, or
 * stores (task, seq) as the waiter of that direction. Dispatch, under the
 * same lock, either wakes the waiter of a direction that became ready or,
 * with none (or when the wake lost to a timer or a cancel), records the
 * readiness in `ready`. Both sides hold the lock, so readiness is never
 * lost between the EAGAIN and the park.
 *
 * Lock order: a record lock, then the poller's own lock (io_uring arm),
 * then the scheduler's leaves (park_lock, gq_lock, inbox_lock, through
 * jg__wake). Nothing takes a record lock while holding one of those.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/reactor.h"
#include "juggle/io.h"
#include "os/os.h"
#include "os/os_io.h"

#define GEN_MASK JG__TAG_GEN_MASK

/* ---- choosing and opening the poller ---- */

static int open_poller(struct jg__reactor *r, int nworkers) {
    const char *env = getenv("JG_POLLER");
    if (env == NULL || strcmp(env, "epoll") != 0) {
        r->poller.ops = &jg__poller_uring;
        if (jg__poller_uring.open(&r->poller, nworkers) == 0) {
            return 0;
        }
        /* No io_uring here (kernel, seccomp, limits): epoll, silently;
         * jg_runtime_info_get() says which one runs. */
    }
    r->poller.ops = &jg__poller_epoll;
    return jg__poller_epoll.open(&r->poller, nworkers);
}

static int reactor_open(struct jg__runtime *rt) {
    struct jg__reactor *r = jg__calloc(1, sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->rt = rt;
    int limit = jg__os_fd_limit();
    r->nchunks = (limit + JG__FD_CHUNK - 1) / JG__FD_CHUNK;
    r->chunks = jg__calloc((size_t)r->nchunks, sizeof(*r->chunks));
    int rc = -ENOMEM;
    if (r->chunks == NULL) {
        goto undo_alloc;
    }
    rc = jg__bpool_init(&r->pool, rt->opts.blocking_threads);
    if (rc < 0) {
        goto undo_chunks;
    }
    rc = open_poller(r, rt->nworkers);
    if (rc < 0) {
        goto undo_pool;
    }
    for (int i = 0; i < JG__FD_LOCKS; i++) {
        pthread_mutex_init(&r->locks[i], NULL);
    }
    /* Release pairs with the acquire loads: whoever sees r sees it
     * complete. */
    atomic_store_explicit(&rt->reactor, r, memory_order_release);
    return 0;

undo_pool:
    jg__bpool_fini(&r->pool);
undo_chunks:
    jg__free(r->chunks, (size_t)r->nchunks * sizeof(*r->chunks));
undo_alloc:
    jg__free(r, sizeof(*r));
    return rc;
}

int jg__reactor_get(struct jg__runtime *rt, struct jg__reactor **out) {
    struct jg__reactor *r =
        atomic_load_explicit(&rt->reactor, memory_order_acquire);
    if (r == NULL) {
        /* The first use: open it, once. A worker may block here for the
         * time of an io_uring setup, once per runtime. */
        pthread_mutex_lock(&rt->reactor_lock);
        int rc = 0;
        if (atomic_load_explicit(&rt->reactor, memory_order_relaxed) ==
            NULL) {
            rc = reactor_open(rt);
        }
        pthread_mutex_unlock(&rt->reactor_lock);
        if (rc < 0) {
            return rc;
        }
        r = atomic_load_explicit(&rt->reactor, memory_order_acquire);
    }
    *out = r;
    return 0;
}


void jg__reactor_close(struct jg__runtime *rt) {
    struct jg__reactor *r = jg__reactor_peek(rt);
    if (r == NULL) {
        return;
    }
    jg__bpool_fini(&r->pool);
    r->poller.ops->close(&r->poller);
    while (r->op_cache != NULL) {
        struct jg__op *op = r->op_cache;
        r->op_cache = op->next;
        jg__free(op, sizeof(*op));
    }
    for (int i = 0; i < r->nchunks; i++) {
        struct jg__fdrec *c = atomic_load_explicit(&r->chunks[i],
                                                   memory_order_relaxed);
        jg__free(c, JG__FD_CHUNK * sizeof(*c));
    }
    for (int i = 0; i < JG__FD_LOCKS; i++) {
        pthread_mutex_destroy(&r->locks[i]);
    }
    jg__free(r->chunks, (size_t)r->nchunks * sizeof(*r->chunks));
    jg__free(r, sizeof(*r));
    atomic_store_explicit(&rt->reactor, NULL, memory_order_relaxed);
}

/* ---- fd records ---- */

struct jg__fdrec *jg__fd_rec(struct jg__reactor *r, int fd) {
    int ci = fd / JG__FD_CHUNK;
    if (ci >= r->nchunks) {
        return NULL;
    }
    /* Acquire pairs with the release CAS below: the zeroed records. */
    struct jg__fdrec *c = atomic_load_explicit(&r->chunks[ci],
                                               memory_order_acquire);
    if (c == NULL) {
        struct jg__fdrec *fresh = jg__calloc(JG__FD_CHUNK, sizeof(*fresh));
        if (fresh == NULL) {
            return NULL;
        }
        if (atomic_compare_exchange_strong_explicit(
                &r->chunks[ci], &c, fresh, memory_order_acq_rel,
                memory_order_acquire)) {
            c = fresh;
        } else {
            jg__free(fresh, JG__FD_CHUNK * sizeof(*fresh));
        }
    }
    return &c[fd % JG__FD_CHUNK];
}

/* Forget everything about the generation that ends. Lock held. */
static void rec_reset(struct jg__fdrec *rec, int kind) {
    uint32_t g = atomic_load_explicit(&rec->gen, memory_order_relaxed);
    /* Seq_cst: see jg__fd_use(). */
    atomic_store_explicit(&rec->gen, (g + 1) & GEN_MASK,
                          memory_order_seq_cst);
    atomic_store_explicit(&rec->kind, (uint8_t)(kind & ~JG__FD_F_UNIX),
                          memory_order_relaxed);
    atomic_store_explicit(&rec->unix_stream, (kind & JG__FD_F_UNIX) != 0,
                          memory_order_relaxed);
    atomic_store_explicit(&rec->armed, 0, memory_order_relaxed);
    atomic_store_explicit(&rec->ready, 0, memory_order_relaxed);
    atomic_store_explicit(&rec->short_io[0], 0, memory_order_relaxed);
    atomic_store_explicit(&rec->short_io[1], 0, memory_order_relaxed);
    atomic_store_explicit(&rec->level, 0, memory_order_relaxed);
}

/*
 * End what rec knows of its file (lock held), before the generation
 * changes: take its waiters into woken[] (the caller wakes them after the
 * lock: they see the new generation and return -EBADF), cancel its socket
 * requests (their tasks clear the slots), and remove its watch. For
 * jg_close(), before close(2); for jg__fd_fresh(), after a close(2) that
 * bypassed the runtime.
 */
static void retire_locked(struct jg__reactor *r, int fd,
                          struct jg__fdrec *rec, struct jg__fdwaiter woken[2]) {
    uint32_t gen = atomic_load_explicit(&rec->gen, memory_order_relaxed);
    for (int d = 0; d < 2; d++) {
        woken[d] = rec->waiter[d];
        rec->waiter[d].task = NULL;
        struct jg__op *op = rec->op[d];
        if (op != NULL && op->gen == gen) {
            r->poller.ops->cancel(&r->poller, &op->aop);
        }
    }
    if (atomic_load_explicit(&rec->armed, memory_order_relaxed) &&
        r->poller.ops->disarm(&r->poller, fd, JG__TAG(fd, gen)) > 0) {
        /* The removal completes later (io_uring): until then the watch
         * holds the file open, so the poller must be polled as if a task
         * waited (a listener would otherwise go on taking connections).
         * The REMOVED event takes this back (dispatch_fd). */
        atomic_fetch_add_explicit(&r->rt->io_waiting, 1,
                                  memory_order_relaxed);
        /* A worker parked on its futex went to sleep not knowing: wake
         * one, so that it parks again in the poller. */
        jg__sched_offer(r->rt);
    }
}

static void wake_retired(struct jg__fdwaiter woken[2]) {
    for (int d = 0; d < 2; d++) {
        if (woken[d].task != NULL) {
            jg__wake(woken[d].task, woken[d].seq, JG__WAKE_OK);
        }
    }
}

void jg__fd_fresh(struct jg__reactor *r, int fd, int kind) {
    struct jg__fdrec *rec = jg__fd_rec(r, fd);
    if (rec == NULL) {
        return;
    }
    /* The number was free: whatever the record knew belonged to a file
     * that close(2), not jg_close(), ended. Retire it as jg_close() would
     * have: its waiters wake (-EBADF: the generation changes), and a
     * watch that io_uring still holds (it keeps that file open) goes. */
    struct jg__fdwaiter woken[2] = {{0}, {0}};
    pthread_mutex_lock(jg__fd_lock(r, fd));
    if (atomic_load_explicit(&rec->kind, memory_order_relaxed) !=
        JG__FD_UNKNOWN) {
        retire_locked(r, fd, rec, woken);
    }
    rec_reset(rec, kind);
    pthread_mutex_unlock(jg__fd_lock(r, fd));
    wake_retired(woken);
}

/* What fd is (JG__FD_*), made non-blocking unless a regular file; or
 * -errno. */
static int learn_kind(int fd) {
    int k = jg__os_fd_kind(fd);
    if (k < 0) {
        return k;
    }
    int kind = JG__FD_OTHER;
    if (k == 'f') {
        kind = JG__FD_FILE;
    } else if (k == 'p') {
        kind = JG__FD_PIPE;
    } else if (k == 's') {
        kind = jg__os_sock_type(fd) == SOCK_STREAM ? JG__FD_STREAM
                                                   : JG__FD_SOCK;
        if (kind == JG__FD_STREAM && jg__os_sock_domain(fd) == AF_UNIX) {
            kind |= JG__FD_F_UNIX;
        }
    }
    if (kind != JG__FD_FILE) {
        int rc = jg__os_set_nonblock(fd);
        if (rc < 0) {
            return rc;
        }
    }
    return kind;
}

int jg__fd_kind(struct jg__reactor *r, int fd, struct jg__fdrec *rec,
                uint32_t gen) {
    if (!jg__fd_use(rec, gen)) {
        return -EBADF;
    }
    int kind = learn_kind(fd);
    jg__fd_done(rec);
    if (kind < 0) {
        return kind;
    }
    pthread_mutex_lock(jg__fd_lock(r, fd));
    if (atomic_load_explicit(&rec->gen, memory_order_relaxed) == gen &&
        atomic_load_explicit(&rec->kind, memory_order_relaxed) ==
            JG__FD_UNKNOWN) {
        atomic_store_explicit(&rec->unix_stream, (kind & JG__FD_F_UNIX) != 0,
                              memory_order_relaxed);
        atomic_store_explicit(&rec->kind, (uint8_t)(kind & ~JG__FD_F_UNIX),
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(jg__fd_lock(r, fd));
    return kind & ~JG__FD_F_UNIX;
}

/* ---- waiting on an fd ---- */

static int dir_index(int ev) {
    return ev == JG_READABLE ? 0 : 1;
}

/* After the park: take our waiter entries back. Returns the directions
 * dispatch fired for us (their entries are gone). Lock held. */
static int unregister(struct jg__fdrec *rec, struct jg_task *self,
                      uint64_t seq, int events) {
    int fired = 0;
    for (int ev = JG_READABLE; ev <= JG_WRITABLE; ev <<= 1) {
        if (!(events & ev)) {
            continue;
        }
        struct jg__fdwaiter *wt = &rec->waiter[dir_index(ev)];
        if (wt->task == self && wt->seq == seq) {
            wt->task = NULL;
        } else {
            fired |= ev;
        }
    }
    return fired;
}

/* Under the lock, before parking: arm, take readiness, or register.
 * Returns 0 when registered, > 0 ready events, or -errno. */
static int try_register(struct jg__reactor *r, int fd, struct jg__fdrec *rec,
                        uint32_t gen, struct jg_task *self, uint64_t seq,
                        int events) {
    if (atomic_load_explicit(&rec->gen, memory_order_relaxed) != gen ||
        atomic_load_explicit(&rec->kind, memory_order_relaxed) ==
            JG__FD_CLOSING) {
        return -EBADF;
    }
    if (!atomic_load_explicit(&rec->armed, memory_order_relaxed)) {
        /* First wait of this generation: watch the fd for good. Any
         * readiness that predates the arm is reported by the poller. */
        int rc = r->poller.ops->arm(&r->poller, fd, JG__TAG(fd, gen));
        if (rc < 0) {
            return rc;
        }
        atomic_store_explicit(&rec->armed, 1, memory_order_relaxed);
    }
    int got = atomic_load_explicit(&rec->ready, memory_order_relaxed) &
              events;
    if (got) {
        atomic_fetch_and_explicit(&rec->ready, (uint8_t)~got,
                                  memory_order_relaxed);
        return got;
    }
    for (int ev = JG_READABLE; ev <= JG_WRITABLE; ev <<= 1) {
        int d = dir_index(ev);
        if ((events & ev) &&
            (rec->waiter[d].task != NULL ||
             (rec->op[d] != NULL && rec->op[d]->gen == gen))) {
            return -EBUSY;
        }
    }
    for (int ev = JG_READABLE; ev <= JG_WRITABLE; ev <<= 1) {
        if (events & ev) {
            rec->waiter[dir_index(ev)] = (struct jg__fdwaiter){self, seq};
        }
    }
    return 0;
}

/* A wait that jg_close() ended (-EBADF) may have been ended by a
 * jg_cancel() first (rc -ECANCELED, which took the task's cancel flag):
 * the cancel is not lost, it waits for the task's next cancellable call. */
static void keep_cancel(struct jg_task *self, int rc) {
    if (rc == -ECANCELED) {
        atomic_fetch_or_explicit(&self->flags, JG__TF_CANCEL,
                                 memory_order_seq_cst);
    }
}

/* Park on the prepared wait seq until a waker ends it or the deadline
 * (a timer) passes. Returns 0, -ETIMEDOUT, -ECANCELED, or the timer's
 * error (the wait then abandoned). */
static int park_until(struct jg_task *self, uint64_t seq, int64_t deadline) {
    int rc = 0;
    if (deadline != JG_FOREVER) {
        rc = jg__timer_arm(self, deadline, seq);
    }
    if (rc == 0) {
        return jg__park(self, seq, true);
    }
    jg__park_abandon(self, seq); /* Absorbs a wake that raced in. */
    return rc;
}

int jg__fd_wait(struct jg_task *self, struct jg__reactor *r, int fd,
                struct jg__fdrec *rec, uint32_t gen, int events,
                int64_t deadline) {
    if (deadline != JG_FOREVER && deadline <= jg__os_now()) {
        return -ETIMEDOUT;
    }
    uint64_t seq = jg__park_prepare(self, true);
    if (seq == 0) {
        return -ECANCELED;
    }
    pthread_mutex_t *lock = jg__fd_lock(r, fd);
    pthread_mutex_lock(lock);
    int rc = try_register(r, fd, rec, gen, self, seq, events);
    pthread_mutex_unlock(lock);
    if (rc != 0) {
        jg__park_abandon(self, seq);
        return rc;
    }
    atomic_fetch_add_explicit(&r->rt->io_waiting, 1, memory_order_relaxed);
    rc = park_until(self, seq, deadline);
    atomic_fetch_sub_explicit(&r->rt->io_waiting, 1, memory_order_relaxed);
    pthread_mutex_lock(lock);
    int fired = unregister(rec, self, seq, events);
    bool closed = atomic_load_explicit(&rec->gen, memory_order_relaxed) != gen;
    if (rc < 0 && !closed && fired) {
        /* Readiness came, but the timer, a cancel or the failed timer arm
         * won: keep it for the next call. */
        atomic_fetch_or_explicit(&rec->ready, (uint8_t)fired,
                                 memory_order_relaxed);
    }
    pthread_mutex_unlock(lock);
    if (closed) {
        keep_cancel(self, rc);
        return -EBADF;
    }
    if (rc < 0) {
        return rc;
    }
    return fired ? fired : events;
}

/* Let time pass, not cancellably: jg_close() waiting for calls in
 * flight. A jg_cancel() may end it early; the caller looks again. */
static void nap(struct jg_task *self, int64_t ns) {
    uint64_t seq = jg__park_prepare(self, false);
    if (jg__timer_arm(self, jg__os_now() + ns, seq) < 0) {
        jg__park_abandon(self, seq);
        jg__sched_yield(self);
        return;
    }
    jg__park(self, seq, false);
}

int jg__fd_close(struct jg_task *self, struct jg__reactor *r, int fd) {
    struct jg__fdrec *rec = jg__fd_rec(r, fd);
    if (rec == NULL) {
        return jg__os_close(fd);
    }
    struct jg__fdwaiter woken[2];
    pthread_mutex_t *lock = jg__fd_lock(r, fd);
    pthread_mutex_lock(lock);
    if (atomic_load_explicit(&rec->kind, memory_order_relaxed) ==
        JG__FD_CLOSING) {
        pthread_mutex_unlock(lock);
        return -EBADF; /* Another task is closing it. */
    }
    /* Before close(2): the requests and the watch must still name the
     * file. */
    retire_locked(r, fd, rec, woken);
    rec_reset(rec, JG__FD_CLOSING);
    uint32_t closing = atomic_load_explicit(&rec->gen, memory_order_relaxed);
    pthread_mutex_unlock(lock);
    /* A call that started before the new generation may still be in its
     * system call (on another worker) or its file request (any worker):
     * the number must name this file until it is over. The acquire pairs
     * with jg__fd_done(). On one worker only a file request can be in
     * flight here. */
    for (int i = 0;
         atomic_load_explicit(&rec->busy, memory_order_seq_cst) != 0; i++) {
        if (i < 8) {
            jg__sched_yield(self);
        } else {
            nap(self, JG_US(10) << (i < 15 ? i - 8 : 7));
        }
    }
    /* close(2) and the end of CLOSING under the lock, in one step: the
     * next file to take the number (any thread may open one the moment
     * close(2) returns) must never be seen as closing. A call that reads
     * CLOSING without the lock looks again under it (io.c, lookup). The
     * next file's kind is learnt anew. */
    pthread_mutex_lock(lock);
    int rc = jg__os_close(fd);
    if (atomic_load_explicit(&rec->gen, memory_order_relaxed) == closing) {
        atomic_store_explicit(&rec->kind, JG__FD_UNKNOWN,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(lock);
    wake_retired(woken);
    return rc;
}

/* ---- dispatch ---- */

static void dispatch_fd(struct jg__reactor *r, const struct jg__pevent *e) {
    if (e->flags & JG__PEV_REMOVED) {
        atomic_fetch_sub_explicit(&r->rt->io_waiting, 1, memory_order_relaxed);
        return;
    }
    int fd = JG__TAG_FDNUM(e->tag);
    struct jg__fdrec *rec = jg__fd_rec(r, fd);
    if (rec == NULL) {
        return;
    }
    pthread_mutex_t *lock = jg__fd_lock(r, fd);
    pthread_mutex_lock(lock);
    if (atomic_load_explicit(&rec->gen, memory_order_relaxed) !=
        JG__TAG_GEN(e->tag)) {
        pthread_mutex_unlock(lock); /* An fd closed since. */
        return;
    }
    int res = e->res;
    if (res & JG__POLL_LEVEL) {
        atomic_store_explicit(&rec->level, 1, memory_order_relaxed);
    }
    if (e->flags & JG__PEV_ENDED) {
        /* The watch is gone: the next wait arms again, and the waiters
         * retry their calls now rather than trust a dead watch. */
        atomic_store_explicit(&rec->armed, 0, memory_order_relaxed);
        res = JG_READABLE | JG_WRITABLE;
    }
    for (int ev = JG_READABLE; ev <= JG_WRITABLE; ev <<= 1) {
        if (!(res & ev)) {
            continue;
        }
        struct jg__fdwaiter *wt = &rec->waiter[dir_index(ev)];
        struct jg_task *t = wt->task;
        wt->task = NULL;
        if (t == NULL || !jg__wake(t, wt->seq, JG__WAKE_OK)) {
            atomic_fetch_or_explicit(&rec->ready, (uint8_t)ev,
                                     memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(lock);
}

static void dispatch(struct jg__reactor *r) {
    for (int i = 0; i < r->nev; i++) {
        const struct jg__pevent *e = &r->evs[i];
        if (e->tag & JG__TAG_FD) {
            dispatch_fd(r, e);
        } else {
            struct jg__op *op = (struct jg__op *)(uintptr_t)e->tag;
            op->res = e->res;
            jg__op_complete(op);
        }
    }
    r->nev = 0;
}

/* ---- the scheduler's hooks ---- */

bool jg__reactor_claim(struct jg__worker *w) {
    struct jg__reactor *r = jg__reactor_peek(w->rt);
    if (r == NULL) {
        return false; /* Not open: nobody can wait for it yet. */
    }
    int free_ = 0;
    /* Acquire pairs with the release in jg__reactor_release(): the last
     * holder's use of evs[] is over. */
    return atomic_load_explicit(&r->claim, memory_order_relaxed) == 0 &&
           atomic_compare_exchange_strong_explicit(
               &r->claim, &free_, 1, memory_order_acquire,
               memory_order_relaxed);
}

void jg__reactor_block(struct jg__worker *w, int64_t deadline) {
    struct jg__reactor *r = jg__reactor_peek(w->rt); /* Open: we hold the claim. */
    int n = r->poller.ops->wait(&r->poller, r->evs, JG__EVENTS,
                                deadline < 0 ? -1 : deadline);
    r->nev = n > 0 ? n : 0;
}

void jg__reactor_release(struct jg__worker *w) {
    struct jg__reactor *r = jg__reactor_peek(w->rt); /* Open: we hold the claim. */
    dispatch(r);
    atomic_store_explicit(&r->claim, 0, memory_order_release);
}

void jg__reactor_poll(struct jg__worker *w) {
    if (jg__reactor_claim(w)) {
        jg__reactor_block(w, 0);
        jg__reactor_release(w);
    }
}

void jg__reactor_wake(struct jg__runtime *rt) {
    struct jg__reactor *r = jg__reactor_peek(rt);
    if (r != NULL) {
        r->poller.ops->wake(&r->poller);
    }
}

/* ---- ops completed elsewhere ---- */

struct jg__op *jg__op_new(struct jg_task *self) {
    struct jg__op *op = jg__calloc(1, sizeof(*op));
    if (op != NULL) {
        atomic_init(&op->refs, 2);
        op->task = self;
    }
    return op;
}

void jg__op_unref(struct jg__op *op) {
    if (atomic_fetch_sub_explicit(&op->refs, 1, memory_order_acq_rel) == 1) {
        jg__free(op, sizeof(*op));
    }
}

/*
 * Wait until op is done, whatever wakes the task meanwhile: a jg_cancel()
 * ends the current wait (it stays pending for the task's next cancellable
 * call), so the task publishes each new seq in op->seq and looks at
 * op->done after. Seq_cst on both sides (here: store seq, load done;
 * jg__op_complete: store done, load seq): either we see done or the
 * completer sees our latest seq, so the last wake is never lost.
 */
void jg__op_wait(struct jg_task *self, struct jg__op *op) {
    for (;;) {
        uint64_t seq = jg__park_prepare(self, false);
        atomic_store_explicit(&op->seq, seq, memory_order_seq_cst);
        if (atomic_load_explicit(&op->done, memory_order_seq_cst)) {
            jg__park_abandon(self, seq);
            return;
        }
        jg__park(self, seq, false);
        if (atomic_load_explicit(&op->done, memory_order_acquire)) {
            return;
        }
    }
}

void jg__op_complete(struct jg__op *op) {
    struct jg_task *t = op->task;
    atomic_store_explicit(&op->done, 1, memory_order_seq_cst);
    uint64_t seq = atomic_load_explicit(&op->seq, memory_order_seq_cst);
    jg__wake(t, seq, JG__WAKE_OK);
    jg__op_unref(op);
}

/* ---- socket requests (JG__POLLER_ASYNC_SOCK) ---- */

#define OP_CACHE 64

struct jg__op *jg__sock_op_new(struct jg__reactor *r, struct jg_task *self) {
    struct jg__op *op = r->op_cache;
    if (op == NULL) {
        return jg__op_new(self);
    }
    r->op_cache = op->next;
    r->op_cached--;
    /* Not cleared as a whole (three cache lines on every request): the
     * caller fills aop, jg__sock_op gen and seq, the completion res. */
    atomic_init(&op->refs, 2);
    atomic_init(&op->done, 0);
    op->task = self;
    op->next = NULL;
    return op;
}

/* Drop the task's reference to a socket op; keep it if it was the last. */
static void sock_op_unref(struct jg__reactor *r, struct jg__op *op) {
    if (atomic_fetch_sub_explicit(&op->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (r->op_cached < OP_CACHE) {
        op->next = r->op_cache;
        r->op_cache = op;
        r->op_cached++;
    } else {
        jg__free(op, sizeof(*op));
    }
}

/* Publish op as the request of direction dir, and submit it. Lock held. */
static int sock_register(struct jg__reactor *r, struct jg__fdrec *rec,
                         uint32_t gen, int dir, struct jg__op *op) {
    if (atomic_load_explicit(&rec->gen, memory_order_relaxed) != gen ||
        atomic_load_explicit(&rec->kind, memory_order_relaxed) ==
            JG__FD_CLOSING) {
        return -EBADF;
    }
    struct jg__op *other = rec->op[dir];
    /* A request of an older generation is some task's leftover after a
     * close(2) that bypassed jg_close(): it no longer owns the slot. */
    if ((other != NULL && other->gen == gen) ||
        rec->waiter[dir].task != NULL) {
        return -EBUSY;
    }
    int rc = r->poller.ops->submit(&r->poller, &op->aop);
    if (rc == 0) {
        rec->op[dir] = op;
    }
    return rc;
}

ssize_t jg__sock_op(struct jg_task *self, struct jg__reactor *r, int fd,
                    struct jg__fdrec *rec, uint32_t gen, int dir,
                    struct jg__op *op, int64_t deadline) {
    op->gen = gen;
    int rc = 0;
    uint64_t seq = jg__park_prepare(self, true);
    if (seq == 0) {
        rc = -ECANCELED;
    }
    if (rc == 0) {
        /* Before the submission: the completer wakes this wait. */
        atomic_store_explicit(&op->seq, seq, memory_order_seq_cst);
        pthread_mutex_t *lock = jg__fd_lock(r, fd);
        pthread_mutex_lock(lock);
        rc = sock_register(r, rec, gen, dir, op);
        pthread_mutex_unlock(lock);
        if (rc == -EBUSY && dir == 1) {
            /* Another task's send is in flight, not waiting for room:
             * the caller sends the readiness way (as under epoll, only a
             * second task waiting for room gets -EBUSY). */
            rc = -EAGAIN;
        }
        if (rc < 0) {
            jg__park_abandon(self, seq);
        }
    }
    if (rc < 0) {
        atomic_store_explicit(&op->refs, 1, memory_order_relaxed);
        sock_op_unref(r, op); /* Never submitted: ours alone. */
        return rc;
    }
    /* The completion is reaped by whoever polls: count it. */
    atomic_fetch_add_explicit(&r->rt->io_waiting, 1, memory_order_relaxed);
    rc = park_until(self, seq, deadline);
    if (rc < 0 && !atomic_load_explicit(&op->done, memory_order_acquire)) {
        /* Timed out or cancelled: stop the request, and wait for its
         * result whatever it is, so no data it moved is lost. */
        r->poller.ops->cancel(&r->poller, &op->aop);
        jg__op_wait(self, op);
    }
    atomic_fetch_sub_explicit(&r->rt->io_waiting, 1, memory_order_relaxed);
    pthread_mutex_t *lock = jg__fd_lock(r, fd);
    pthread_mutex_lock(lock);
    if (rec->op[dir] == op) {
        rec->op[dir] = NULL;
    }
    bool closed = atomic_load_explicit(&rec->gen, memory_order_relaxed) != gen;
    pthread_mutex_unlock(lock);
    ssize_t n = op->res;
    sock_op_unref(r, op);
    if (closed) {
        keep_cancel(self, rc);
        return -EBADF;
    }
    if (rc < 0 && n == -ECANCELED) {
        return rc; /* Our cancel stopped it: nothing moved. */
    }
    if (rc == -ECANCELED) {
        /* The request won: its result stands, and the cancel waits for
         * the task's next cancellable call. */
        atomic_fetch_or_explicit(&self->flags, JG__TF_CANCEL,
                                 memory_order_seq_cst);
    }
    return n;
}

/* ---- jg_runtime_info_get ---- */

int jg_runtime_info_get(jg_runtime_info *out) {
    if (out == NULL) {
        return -EINVAL;
    }
    struct jg__worker *w = jg__worker_self();
    if (w == NULL || w->current == NULL) {
        return -ESRCH;
    }
    struct jg__runtime *rt = w->rt;
    struct jg__reactor *r;
    int rc = jg__reactor_get(rt, &r);
    if (rc < 0) {
        return rc;
    }
    out->poller = r->poller.ops->name;
    out->workers = rt->nworkers;
    out->blocking_threads = rt->opts.blocking_threads;
    out->socket_requests = (r->poller.caps & JG__POLLER_ASYNC_SOCK) != 0;
    return 0;
}
