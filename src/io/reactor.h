/* SPDX-License-Identifier: MIT */
/*
 * reactor.h - the I/O layer's internals, shared by reactor.c (fd records,
 * the poller claim, dispatch, the scheduler hooks), blocking.c (the
 * blocking pool) and io.c (the public calls). Design: docs/design/io.md.
 */
#ifndef JG_IO_REACTOR_H
#define JG_IO_REACTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/sched.h"
#include "io/poller.h"

/* What an fd is, learnt once per fd (jg__fdrec.kind). */
enum {
    JG__FD_UNKNOWN = 0,
    JG__FD_FILE,   /* Regular file: never "would block". */
    JG__FD_STREAM, /* SOCK_STREAM socket. */
    JG__FD_SOCK,   /* Another socket (datagram, seqpacket). */
    JG__FD_PIPE,   /* FIFO: a stream, but not a socket. */
    JG__FD_OTHER,  /* Anything else pollable (eventfd, tty, ...). */
    /* jg_close() runs: the number still names the file until close(2),
     * but no new call may start on it (they get -EBADF). */
    JG__FD_CLOSING,
};
/* Or'ed into a kind given to jg__fd_fresh() or learnt for an fd: a UNIX
 * stream socket (record.unix_stream). */
#define JG__FD_F_UNIX 0x80

/* A task waiting on one direction of an fd. */
struct jg__fdwaiter {
    struct jg_task *task; /* NULL: nobody. */
    uint64_t seq;
};

/*
 * The record of one fd number, in a table indexed by fd. Fields marked
 * "lock" are protected by the record's striped lock (jg__fd_lock); the
 * atomics are also read without it, as their comments say.
 */
struct jg__fdrec {
    /* Bumped (lock) by jg_close() and when a new fd takes the number; an
     * operation that started under another generation gets -EBADF, and
     * poller events tagged with another one are ignored. 31 bits. */
    _Atomic uint32_t gen;
    _Atomic uint8_t kind;  /* JG__FD_*; set once per generation (lock). */
    _Atomic uint8_t armed; /* Watched by the poller (set under lock). */
    /* Readiness seen with nobody waiting (JG_READABLE|JG_WRITABLE): set
     * by dispatch (lock), cleared by an operation before its system call
     * (any time) or when a waiter takes it (lock). */
    _Atomic uint8_t ready;
    /* Per direction, the last read / write was short on an armed stream:
     * the fd is drained / full, so the next attempt waits without trying
     * the system call first unless `ready` says otherwise. Written only
     * by the task operating in that direction. */
    _Atomic uint8_t short_io[2];
    /* Skipping the attempt after a short one is off for the generation
     * (io.c): the poller saw a hang-up or an error (end of file is a
     * level, not an edge), or urgent data (a TCP read stops short at the
     * urgent mark with data behind it); set under lock. unix_stream: a
     * UNIX stream socket, where a read stops short after a message that
     * carries fds or another writer's credentials, with data behind it;
     * set with the kind. */
    _Atomic uint8_t level;
    _Atomic uint8_t unix_stream;
    /* System calls on the fd number in flight (jg__fd_use): jg_close()
     * waits for them before close(2), so none of them can reach a file
     * that took the number after it. */
    _Atomic uint32_t busy;
    struct jg__fdwaiter waiter[2]; /* [0] reader, [1] writer (lock). */
    /* The socket request in flight per direction (JG__POLLER_ASYNC_SOCK),
     * NULL if none (lock); it belongs to generation op[d]->gen. */
    struct jg__op *op[2];
};

/* A request that completes elsewhere (blocking pool thread, io_uring)
 * and wakes its task: jg_blocking(), regular-file I/O and, with a
 * JG__POLLER_ASYNC_SOCK backend, stream-socket I/O. Heap-allocated,
 * with one reference for the task and one for the completer, because a
 * non-cancellable wait can still be woken early by jg_cancel() and must
 * then publish a new seq (see jg__op_wait). */
struct jg__op {
    struct jg__aop aop;     /* First: its address is the io_uring tag. */
    uint32_t gen;           /* Socket ops: the fd's generation. */
    _Atomic uint32_t refs;
    _Atomic uint32_t done;
    _Atomic uint64_t seq;   /* The task's current wait. */
    struct jg_task *task;
    jg_task_fn fn;          /* Pool: what to run (file ops: see io.c). */
    void *arg;
    void *result;           /* Pool: fn's return value. */
    ssize_t res;            /* File ops: the system call's result. */
    struct jg__op *next;    /* Pool queue link. */
};

struct jg__bpool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct jg__op *head, *tail; /* Queued jobs (lock). */
    int queued, nidle, nthreads, max; /* (lock) */
    bool stop;                  /* (lock) */
    pthread_t *threads;         /* max slots; nthreads used (lock). */
};

#define JG__FD_CHUNK 1024 /* Records per lazily allocated chunk. */
#define JG__FD_LOCKS 64   /* Striped record locks. */
#define JG__EVENTS 256    /* Events gathered per poll. */

struct jg__reactor {
    struct jg__poller poller;
    struct jg__runtime *rt;
    _Atomic(struct jg__fdrec *) *chunks; /* nchunks, set once each (CAS). */
    int nchunks;
    pthread_mutex_t locks[JG__FD_LOCKS];
    /* 1 while a worker polls or blocks in the poller; the events below
     * belong to it. */
    _Atomic int claim;
    int nev;
    struct jg__pevent evs[JG__EVENTS];
    struct jg__bpool pool;
    /* Socket ops for reuse (JG__POLLER_ASYNC_SOCK: one worker, the only
     * thread that takes and returns them), linked by next. */
    struct jg__op *op_cache;
    int op_cached;
};

/* The record of fd (allocating its chunk), or NULL when fd is beyond the
 * table (-EMFILE territory). fd >= 0. */
struct jg__fdrec *jg__fd_rec(struct jg__reactor *r, int fd);

static inline pthread_mutex_t *jg__fd_lock(struct jg__reactor *r, int fd) {
    return &r->locks[(unsigned)fd % JG__FD_LOCKS];
}

/* A new fd of kind `kind` took number fd: reset its record, retiring what
 * it knew of an older file that close(2) ended behind the runtime's back
 * (its waiters wake with -EBADF, its watch and requests are removed). */
void jg__fd_fresh(struct jg__reactor *r, int fd, int kind);

/* Learn the kind of fd (and make it non-blocking unless a regular file);
 * returns JG__FD_* or -errno. */
int jg__fd_kind(struct jg__reactor *r, int fd, struct jg__fdrec *rec,
                uint32_t gen);

/* Wait until fd is ready for `events`; > 0: ready events, else -errno. */
int jg__fd_wait(struct jg_task *self, struct jg__reactor *r, int fd,
                struct jg__fdrec *rec, uint32_t gen, int events,
                int64_t deadline);

/*
 * A system call on fd's number outside the record's lock goes between
 * jg__fd_use() and jg__fd_done(). jg__fd_use() returns false, and the
 * caller -EBADF, when jg_close() has begun since the caller read gen.
 * Seq_cst pairs with jg__fd_close (store gen, load busy): either the call
 * sees the new generation, or the close sees the call and waits for it.
 * Never hold a use across a park that jg_close() would have to end.
 */
static inline void jg__fd_done(struct jg__fdrec *rec) {
    atomic_fetch_sub_explicit(&rec->busy, 1, memory_order_release);
}

static inline bool jg__fd_use(struct jg__fdrec *rec, uint32_t gen) {
    atomic_fetch_add_explicit(&rec->busy, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&rec->gen, memory_order_seq_cst) == gen &&
        atomic_load_explicit(&rec->kind, memory_order_relaxed) !=
            JG__FD_CLOSING) {
        return true;
    }
    jg__fd_done(rec);
    return false;
}

/* jg_close() inside the runtime (self: the calling task): end the
 * generation, stop its requests, disarm, wait for the system calls in
 * flight on the number, close(2), then wake the waiters (-EBADF). A
 * second jg_close() of the same fd meanwhile gets -EBADF. */
int jg__fd_close(struct jg_task *self, struct jg__reactor *r, int fd);

/* A socket op: as jg__op_new, from r's cache when it has one; only refs,
 * done, task and next are set: the caller fills in aop (the backend
 * fills in aop.msg itself), jg__sock_op gen and seq. */
struct jg__op *jg__sock_op_new(struct jg__reactor *r, struct jg_task *self);

/* Run a socket op (op->aop filled in, from jg__sock_op_new) through the
 * poller as the request in direction dir (0 receive, 1 send) of fd's
 * record, generation gen; wait for it until deadline (not yet past: the
 * caller checked), cancellably. A
 * timeout or cancel that loses the race with the request returns what
 * the request did (a cancel then stays pending). Consumes op. Returns the
 * bytes moved, or -errno: -ETIMEDOUT, -ECANCELED, -EBADF (closed), -EBUSY
 * (another task's request in that direction), the request's error. */
ssize_t jg__sock_op(struct jg_task *self, struct jg__reactor *r, int fd,
                    struct jg__fdrec *rec, uint32_t gen, int dir,
                    struct jg__op *op, int64_t deadline);

/* Ops: allocate (refs 2, task = self), wait for completion (not
 * cancellable), complete (completer side), drop a reference. */
struct jg__op *jg__op_new(struct jg_task *self);
void jg__op_wait(struct jg_task *self, struct jg__op *op);
void jg__op_complete(struct jg__op *op);
void jg__op_unref(struct jg__op *op);

/* Blocking pool (blocking.c). */
int jg__bpool_init(struct jg__bpool *p, int max);
void jg__bpool_fini(struct jg__bpool *p);
/* Queue op (op->fn set); returns 0, or -EAGAIN when no thread exists and
 * none can start. */
int jg__bpool_submit(struct jg__bpool *p, struct jg__op *op);

/* rt's reactor if it is open, else NULL (see jg__reactor_get). */
static inline struct jg__reactor *jg__reactor_peek(struct jg__runtime *rt) {
    return atomic_load_explicit(&rt->reactor, memory_order_acquire);
}

/* The calling task, or NULL outside a task. */
static inline struct jg_task *jg__io_self(void) {
    struct jg__worker *w = jg__worker_self();
    return w != NULL ? w->current : NULL;
}

#endif /* JG_IO_REACTOR_H */
