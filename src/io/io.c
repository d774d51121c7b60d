/* SPDX-License-Identifier: MIT */
/*
 * io.c - the public calls of juggle/io.h. Each one first tries the system
 * call (the fast path: no poller work at all when the fd is ready), and
 * only on EAGAIN waits through the reactor (reactor.c); outside a task it
 * behaves as the blocking system call, with poll(2) for the deadline.
 *
 * Skipping the doomed attempt. On an armed stream (TCP, UNIX stream,
 * pipe), a read that returned less than asked drained the fd, and a short
 * write filled it. The record's `ready` bit is cleared before every
 * attempt, and the poller sets it on any readiness edge after that; so if
 * the last attempt in that direction was short and no edge came since,
 * the next attempt would fail with EAGAIN: it waits at once instead. In a
 * request-response loop that saves one read(2) per request. Not where a
 * short read may leave data behind without a new edge (record.level and
 * record.unix_stream): after a hang-up or error (end of file stays
 * readable), after urgent data (a TCP read stops at the urgent mark), and
 * never on UNIX stream sockets (a read stops after a message carrying
 * fds, or at a change of writer when credentials are passed). Any call of
 * jg_wait_fd() also ends the skipping: the edge it consumed is the one
 * the next attempt would have waited for.
 *
 * Socket requests. On a backend with JG__POLLER_ASYNC_SOCK (io_uring with
 * one worker), a stream socket's reads and writes that would wait go
 * through the backend's receive and send requests instead (io_sock, and
 * jg__sock_op in reactor.c): batched into the poller's one system call
 * per loop, they replace the readiness event, the recv(2) and the send(2)
 * of each request. See docs/design/io.md, "Socket requests".
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include "io/reactor.h"
#include "juggle/io.h"
#include "os/os.h"
#include "os/os_io.h"

enum { OP_READ, OP_WRITE, OP_READV, OP_WRITEV };

/* One read or write call, as given by the caller. */
struct req {
    int op;
    int fd;
    struct iovec one; /* OP_READ / OP_WRITE: the buffer. */
    const struct iovec *iov;
    int iovcnt;
};

static bool req_writes(const struct req *q) {
    return q->op == OP_WRITE || q->op == OP_WRITEV;
}

static size_t req_len(const struct req *q) {
    size_t len = 0;
    for (int i = 0; i < q->iovcnt; i++) {
        len += q->iov[i].iov_len;
    }
    return len;
}

/* The system call; sock: use send/sendmsg with MSG_NOSIGNAL. */
static ssize_t sys(const struct req *q, bool sock) {
    switch (q->op) {
    case OP_READ:
        return jg__os_read(q->fd, q->one.iov_base, q->one.iov_len);
    case OP_WRITE:
        return sock ? jg__os_send(q->fd, q->one.iov_base, q->one.iov_len)
                    : jg__os_write(q->fd, q->one.iov_base, q->one.iov_len);
    case OP_READV:
        return jg__os_readv(q->fd, q->iov, q->iovcnt);
    default:
        return sock ? jg__os_sendv(q->fd, q->iov, q->iovcnt)
                    : jg__os_writev(q->fd, q->iov, q->iovcnt);
    }
}

/* sys() on the record's generation gen (see jg__fd_use): -EBADF once
 * jg_close() has begun. */
static ssize_t sys_on(struct jg__fdrec *rec, uint32_t gen,
                      const struct req *q, bool sock) {
    if (!jg__fd_use(rec, gen)) {
        return -EBADF;
    }
    ssize_t n = sys(q, sock);
    jg__fd_done(rec);
    return n;
}

static int check_deadline(int64_t deadline) {
    return deadline < 0 && deadline != JG_FOREVER ? -EINVAL : 0;
}

/* ---- outside the runtime: the blocking calls ---- */

/* Wait with poll(2) until fd has `events` (POLLIN/POLLOUT) or deadline. */
static int poll_until(int fd, short events, int64_t deadline) {
    int rc = jg__os_poll1(fd, events, deadline);
    return rc == 0 ? -ETIMEDOUT : rc;
}

static ssize_t io_outside(const struct req *q, int64_t deadline) {
    short pev = req_writes(q) ? POLLOUT : POLLIN;
    bool sock = req_writes(q);
    for (;;) {
        if (deadline != JG_FOREVER) {
            int rc = poll_until(q->fd, pev, deadline);
            if (rc < 0) {
                return rc;
            }
        }
        ssize_t n = sys(q, sock);
        if (n == -ENOTSOCK && sock) {
            sock = false; /* A pipe or file: plain write(2). */
            n = sys(q, false);
        }
        if (n != -EAGAIN) {
            return n;
        }
        if (deadline == JG_FOREVER) {
            int rc = poll_until(q->fd, pev, JG_FOREVER);
            if (rc < 0) {
                return rc;
            }
        }
    }
}

/* ---- inside a task ---- */

/* The record of fd and its kind, learnt on first use. */
/* The reactor of self's runtime (opened on first use, jg__reactor_get)
 * and the record, generation and kind of fd in it. Returns the kind, or
 * -errno. */
static int lookup(struct jg_task *self, int fd, struct jg__reactor **out,
                  struct jg__fdrec **rec, uint32_t *gen) {
    struct jg__reactor *r;
    int rc = jg__reactor_get(jg__task_rt(self), &r);
    if (rc < 0) {
        return rc;
    }
    *out = r;
    *rec = jg__fd_rec(r, fd);
    if (*rec == NULL) {
        return -ENOMEM;
    }
    *gen = atomic_load_explicit(&(*rec)->gen, memory_order_relaxed);
    int kind = atomic_load_explicit(&(*rec)->kind, memory_order_relaxed);
    if (kind == JG__FD_CLOSING) {
        /* A jg_close() of the number runs, or has just run: fd may
         * already be a new file. Its close(2) and the end of CLOSING
         * happen in one hold of the lock, so look again under it. */
        pthread_mutex_t *lock = jg__fd_lock(r, fd);
        pthread_mutex_lock(lock);
        *gen = atomic_load_explicit(&(*rec)->gen, memory_order_relaxed);
        kind = atomic_load_explicit(&(*rec)->kind, memory_order_relaxed);
        pthread_mutex_unlock(lock);
        if (kind == JG__FD_CLOSING) {
            return -EBADF; /* The number still names the closing file. */
        }
    }
    if (kind == JG__FD_UNKNOWN) {
        kind = jg__fd_kind(r, fd, *rec, *gen);
    }
    return kind;
}

/* A regular-file job on the blocking pool. */
static void *file_job(void *arg) {
    struct jg__op *op = arg;
    const struct jg__aop *f = &op->aop;
    op->res = f->code == JG__AOP_WRITEV
                  ? jg__os_writev(f->fd, f->iov, f->iovcnt)
                  : jg__os_readv(f->fd, f->iov, f->iovcnt);
    return NULL;
}

/* Regular files: io_uring, or the blocking pool. Not interruptible once
 * started, so cancellation and the deadline are checked before. The
 * request holds a use of the record (jg__fd_use) until it is over: it
 * names the file by number, and jg_close() must wait for it. */
static ssize_t io_file(struct jg_task *self, struct jg__reactor *r,
                       struct jg__fdrec *rec, uint32_t gen,
                       const struct req *q, int64_t deadline) {
    if (deadline != JG_FOREVER && deadline <= jg__os_now()) {
        return -ETIMEDOUT;
    }
    uint64_t seq = jg__park_prepare(self, true);
    if (seq == 0) {
        return -ECANCELED;
    }
    jg__park_abandon(self, seq);
    struct jg__op *op = jg__op_new(self);
    if (op == NULL) {
        return -ENOMEM;
    }
    if (!jg__fd_use(rec, gen)) {
        jg__free(op, sizeof(*op));
        return -EBADF;
    }
    op->aop = (struct jg__aop){.fd = q->fd,
                               .code = req_writes(q) ? JG__AOP_WRITEV
                                                     : JG__AOP_READV,
                               .iov = q->iov,
                               .iovcnt = q->iovcnt};
    int rc;
    bool ring = r->poller.caps & JG__POLLER_ASYNC_FILE;
    if (ring) {
        /* The ring's completion is reaped by whoever polls: count it. */
        atomic_fetch_add_explicit(&r->rt->io_waiting, 1,
                                  memory_order_relaxed);
        rc = r->poller.ops->submit(&r->poller, &op->aop);
    } else {
        op->fn = file_job;
        op->arg = op;
        rc = jg__bpool_submit(&r->pool, op);
    }
    if (rc == 0) {
        jg__op_wait(self, op);
        rc = (int)0;
    }
    if (ring) {
        atomic_fetch_sub_explicit(&r->rt->io_waiting, 1,
                                  memory_order_relaxed);
    }
    jg__fd_done(rec);
    if (rc < 0) {
        jg__free(op, sizeof(*op));
        return rc;
    }
    ssize_t n = op->res;
    jg__op_unref(op);
    return n;
}

/*
 * A task on a shared stack (JG_STACK_SHARED): its stack bytes are copied
 * out while it is suspended, and the next shared-stack task of its worker
 * runs at the same addresses. A request that another thread or the
 * kernel carries out while the task waits (a regular-file request, a
 * socket request) must then not name its stack: buffers there would be
 * written into another task's frames, and the iovec array read from them.
 */
static bool on_shared_stack(struct jg_task *self, const void *p, size_t len) {
    const struct jg__stack *s = &self->x->worker->sstack;
    const char *lo = s->lo, *hi = lo + s->size, *b = p;
    return len > 0 && b < hi && b + len > lo;
}

static bool req_on_shared_stack(struct jg_task *self, const struct req *q) {
    if (self->mode != JG_STACK_SHARED) {
        return false;
    }
    if (on_shared_stack(self, q->iov, (size_t)q->iovcnt * sizeof(*q->iov))) {
        return true;
    }
    for (int i = 0; i < q->iovcnt; i++) {
        if (on_shared_stack(self, q->iov[i].iov_base, q->iov[i].iov_len)) {
            return true;
        }
    }
    return false;
}

/* io_file() through a heap copy of the request's buffers (and of its one
 * iovec): for a shared-stack task whose request names its stack. */
static ssize_t io_file_bounced(struct jg_task *self, struct jg__reactor *r,
                               struct jg__fdrec *rec, uint32_t gen,
                               const struct req *q, int64_t deadline) {
    size_t len = req_len(q);
    size_t size = sizeof(struct iovec) + len;
    struct iovec *iov = jg__malloc(size);
    if (iov == NULL) {
        return -ENOMEM;
    }
    char *buf = (char *)(iov + 1);
    *iov = (struct iovec){buf, len};
    bool writes = req_writes(q);
    if (writes) {
        size_t at = 0;
        for (int i = 0; i < q->iovcnt; i++) {
            memcpy(buf + at, q->iov[i].iov_base, q->iov[i].iov_len);
            at += q->iov[i].iov_len;
        }
    }
    struct req b = {.op = writes ? OP_WRITEV : OP_READV, .fd = q->fd,
                    .iov = iov, .iovcnt = 1};
    ssize_t n = io_file(self, r, rec, gen, &b, deadline);
    if (!writes && n > 0) {
        size_t left = (size_t)n, at = 0;
        for (int i = 0; i < q->iovcnt && left > 0; i++) {
            size_t k = q->iov[i].iov_len < left ? q->iov[i].iov_len : left;
            memcpy(q->iov[i].iov_base, buf + at, k);
            at += k;
            left -= k;
        }
    }
    jg__free(iov, size);
    return n;
}

/* A stream socket on a JG__POLLER_ASYNC_SOCK backend: the data moves
 * through the backend's requests, batched, instead of a system call each
 * (see the file comment). */
static ssize_t io_sock(struct jg_task *self, struct jg__reactor *r,
                       struct jg__fdrec *rec, uint32_t gen,
                       const struct req *q, int64_t deadline) {
    int dir = req_writes(q) ? 1 : 0;
    size_t len = req_len(q);
    /* The system call first, without a round trip through the ring, when
     * the call must not wait (a cancel is pending, or a receive's
     * deadline passed: as everywhere, a call that is ready succeeds), and
     * for a receive when the last one filled its buffer (or none came
     * yet: more data may be waiting). A send never waits in the ring, so
     * its deadline needs no look at the clock here. */
    bool past = dir == 0 && deadline != JG_FOREVER &&
                deadline <= jg__os_now();
    if (past ||
        (atomic_load_explicit(&self->flags, memory_order_relaxed) &
         JG__TF_CANCEL) ||
        (dir == 0 &&
         !atomic_load_explicit(&rec->short_io[0], memory_order_relaxed))) {
        ssize_t n = sys_on(rec, gen, q, dir == 1);
        if (n != -EAGAIN) {
            if (dir == 0) {
                atomic_store_explicit(&rec->short_io[0],
                                      n >= 0 && (size_t)n < len,
                                      memory_order_relaxed);
            }
            return n;
        }
        if (past) {
            return -ETIMEDOUT;
        }
    }
    struct jg__op *op = jg__sock_op_new(r, self);
    if (op == NULL) {
        return -ENOMEM;
    }
    op->aop.fd = q->fd;
    op->aop.code = dir ? JG__AOP_SEND : JG__AOP_RECV;
    op->aop.iov = q->iov;
    op->aop.iovcnt = q->iovcnt;
    /* A send never waits in the kernel (-EAGAIN: the socket is full, and
     * the caller waits for room the readiness way), so only a receive
     * needs the deadline's timer. */
    ssize_t n = jg__sock_op(self, r, q->fd, rec, gen, dir, op,
                            dir ? JG_FOREVER : deadline);
    if (dir == 0) {
        atomic_store_explicit(&rec->short_io[0], n >= 0 && (size_t)n < len,
                              memory_order_relaxed);
    }
    return n;
}

static ssize_t io_inside(struct jg_task *self, const struct req *q,
                         int64_t deadline) {
    struct jg__reactor *r;
    struct jg__fdrec *rec;
    uint32_t gen;
    int kind = lookup(self, q->fd, &r, &rec, &gen);
    if (kind < 0) {
        return kind;
    }
    bool on_stack = req_on_shared_stack(self, q);
    if (kind == JG__FD_FILE) {
        return on_stack ? io_file_bounced(self, r, rec, gen, q, deadline)
                        : io_file(self, r, rec, gen, q, deadline);
    }
    bool may_skip = kind == JG__FD_STREAM || kind == JG__FD_PIPE;
    /* A socket request naming a shared stack: the readiness way instead
     * (its system call runs when the task runs). */
    if (kind == JG__FD_STREAM && (r->poller.caps & JG__POLLER_ASYNC_SOCK) &&
        req_len(q) > 0 && !on_stack) {
        ssize_t n = io_sock(self, r, rec, gen, q, deadline);
        if (n != -EAGAIN) {
            return n;
        }
        /* A full socket, or another task's send in flight: the readiness
         * way below. */
        may_skip = false;
    }
    bool sock = kind == JG__FD_STREAM || kind == JG__FD_SOCK;
    bool stream = kind == JG__FD_STREAM || kind == JG__FD_PIPE;
    int dir = req_writes(q) ? 1 : 0;
    uint8_t ev = req_writes(q) ? JG_WRITABLE : JG_READABLE;
    for (;;) {
        bool armed = atomic_load_explicit(&rec->armed, memory_order_relaxed);
        uint8_t ready = atomic_load_explicit(&rec->ready,
                                             memory_order_relaxed);
        if (!(may_skip && armed && !(ready & ev) &&
              atomic_load_explicit(&rec->short_io[dir],
                                   memory_order_relaxed) &&
              !atomic_load_explicit(&rec->level, memory_order_relaxed) &&
              !atomic_load_explicit(&rec->unix_stream,
                                    memory_order_relaxed))) {
            if (ready & ev) {
                /* Before the attempt: an edge after it sets it again. */
                atomic_fetch_and_explicit(&rec->ready, (uint8_t)~ev,
                                          memory_order_relaxed);
            }
            ssize_t n = sys_on(rec, gen, q, sock && req_writes(q));
            if (n != -EAGAIN) {
                if (stream) {
                    atomic_store_explicit(
                        &rec->short_io[dir],
                        armed && n > 0 && (size_t)n < req_len(q),
                        memory_order_relaxed);
                }
                return n;
            }
        }
        may_skip = false;
        int rc = jg__fd_wait(self, r, q->fd, rec, gen, ev, deadline);
        if (rc < 0) {
            return rc;
        }
    }
}

static ssize_t do_io(struct req *q, int64_t deadline) {
    if (q->fd < 0) {
        return -EBADF;
    }
    int rc = check_deadline(deadline);
    if (rc < 0) {
        return rc;
    }
    if (q->op == OP_READ || q->op == OP_WRITE) {
        if (q->one.iov_base == NULL && q->one.iov_len > 0) {
            return -EINVAL;
        }
        q->iov = &q->one;
        q->iovcnt = 1;
    } else if (q->iov == NULL || q->iovcnt <= 0 || q->iovcnt > IOV_MAX) {
        return -EINVAL;
    }
    struct jg_task *self = jg__io_self();
    return self != NULL ? io_inside(self, q, deadline)
                        : io_outside(q, deadline);
}

ssize_t jg_read(int fd, void *buf, size_t n, int64_t deadline) {
    struct req q = {.op = OP_READ, .fd = fd, .one = {buf, n}};
    return do_io(&q, deadline);
}

ssize_t jg_write(int fd, const void *buf, size_t n, int64_t deadline) {
    struct req q = {.op = OP_WRITE, .fd = fd, .one = {(void *)buf, n}};
    return do_io(&q, deadline);
}

ssize_t jg_readv(int fd, const struct iovec *iov, int iovcnt,
                 int64_t deadline) {
    struct req q = {.op = OP_READV, .fd = fd, .iov = iov, .iovcnt = iovcnt};
    return do_io(&q, deadline);
}

ssize_t jg_writev(int fd, const struct iovec *iov, int iovcnt,
                  int64_t deadline) {
    struct req q = {.op = OP_WRITEV, .fd = fd, .iov = iov, .iovcnt = iovcnt};
    return do_io(&q, deadline);
}

/* ---- waiting, accepting, connecting ---- */

int jg_wait_fd(int fd, int events, int64_t deadline) {
    if (fd < 0 || events <= 0 || (events & ~(JG_READABLE | JG_WRITABLE)) ||
        check_deadline(deadline) < 0) {
        return -EINVAL;
    }
    short pev = (short)((events & JG_READABLE ? POLLIN : 0) |
                        (events & JG_WRITABLE ? POLLOUT : 0));
    struct jg_task *self = jg__io_self();
    if (self == NULL) {
        int rc = poll_until(fd, pev, deadline);
        if (rc < 0) {
            return rc;
        }
        int got = 0;
        /* Errors and hang-ups count as both, as in the poller. */
        if (rc & (POLLIN | POLLHUP | POLLERR)) {
            got |= JG_READABLE;
        }
        if (rc & (POLLOUT | POLLHUP | POLLERR)) {
            got |= JG_WRITABLE;
        }
        return (got & events) ? (got & events) : events;
    }
    struct jg__reactor *r;
    struct jg__fdrec *rec;
    uint32_t gen;
    int kind = lookup(self, fd, &r, &rec, &gen);
    if (kind < 0) {
        return kind;
    }
    if (kind == JG__FD_FILE) {
        return events; /* Regular files are always ready, as in poll(2). */
    }
    /* The record keeps edges, not levels: look at the level first, after
     * clearing the bits (an edge after the look sets them again). The
     * edges this call takes are the ones a read or write after a short
     * one would wait for: it must try its system call again. */
    atomic_fetch_and_explicit(&rec->ready, (uint8_t)~events,
                              memory_order_relaxed);
    for (int d = 0; d < 2; d++) {
        if (events & (d == 0 ? JG_READABLE : JG_WRITABLE)) {
            atomic_store_explicit(&rec->short_io[d], 0, memory_order_relaxed);
        }
    }
    if (!jg__fd_use(rec, gen)) {
        return -EBADF;
    }
    int rc = jg__os_poll1(fd, pev, 0);
    jg__fd_done(rec);
    if (rc < 0) {
        return rc;
    }
    int got = ((rc & (POLLIN | POLLHUP | POLLERR)) ? JG_READABLE : 0) |
              ((rc & (POLLOUT | POLLHUP | POLLERR)) ? JG_WRITABLE : 0);
    if (got & events) {
        return got & events;
    }
    return jg__fd_wait(self, r, fd, rec, gen, events, deadline);
}

int jg_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen,
              int64_t deadline) {
    if (lfd < 0) {
        return -EBADF;
    }
    int rc = check_deadline(deadline);
    if (rc < 0) {
        return rc;
    }
    struct jg_task *self = jg__io_self();
    if (self == NULL) {
        for (;;) {
            if (deadline != JG_FOREVER &&
                (rc = poll_until(lfd, POLLIN, deadline)) < 0) {
                return rc;
            }
            int fd = jg__os_accept(lfd, addr, addrlen);
            if (fd != -EAGAIN) {
                return fd;
            }
            if (deadline == JG_FOREVER &&
                (rc = poll_until(lfd, POLLIN, JG_FOREVER)) < 0) {
                return rc;
            }
        }
    }
    struct jg__reactor *r;
    struct jg__fdrec *rec;
    uint32_t gen;
    int kind = lookup(self, lfd, &r, &rec, &gen);
    if (kind < 0) {
        return kind;
    }
    for (;;) {
        atomic_fetch_and_explicit(&rec->ready, (uint8_t)~JG_READABLE,
                                  memory_order_relaxed);
        if (!jg__fd_use(rec, gen)) {
            return -EBADF;
        }
        int fd = jg__os_accept(lfd, addr, addrlen);
        jg__fd_done(rec);
        if (fd >= 0) {
            int k = JG__FD_SOCK;
            if (kind == JG__FD_STREAM) {
                /* Of the listener's domain. */
                k = JG__FD_STREAM |
                    (atomic_load_explicit(&rec->unix_stream,
                                          memory_order_relaxed)
                         ? JG__FD_F_UNIX
                         : 0);
            }
            jg__fd_fresh(r, fd, k);
            return fd;
        }
        if (fd != -EAGAIN) {
            return fd;
        }
        rc = jg__fd_wait(self, r, lfd, rec, gen, JG_READABLE, deadline);
        if (rc < 0) {
            return rc;
        }
    }
}

int jg_connect(int fd, const struct sockaddr *addr, socklen_t len,
               int64_t deadline) {
    if (fd < 0) {
        return -EBADF;
    }
    if (addr == NULL) {
        return -EINVAL;
    }
    int rc = check_deadline(deadline);
    if (rc < 0) {
        return rc;
    }
    struct jg_task *self = jg__io_self();
    struct jg__reactor *r = NULL;
    struct jg__fdrec *rec = NULL;
    uint32_t gen = 0;
    if (self != NULL) {
        int kind = lookup(self, fd, &r, &rec, &gen);
        if (kind < 0) {
            return kind;
        }
        atomic_fetch_and_explicit(&rec->ready, (uint8_t)~JG_WRITABLE,
                                  memory_order_relaxed);
    }
    if (rec != NULL && !jg__fd_use(rec, gen)) {
        return -EBADF;
    }
    rc = jg__os_connect(fd, addr, len);
    if (rec != NULL) {
        jg__fd_done(rec);
    }
    if (rc != -EINPROGRESS) {
        return rc;
    }
    rc = self != NULL
             ? jg__fd_wait(self, r, fd, rec, gen, JG_WRITABLE, deadline)
             : poll_until(fd, POLLOUT, deadline);
    if (rc < 0) {
        return rc;
    }
    if (rec != NULL && !jg__fd_use(rec, gen)) {
        return -EBADF;
    }
    rc = jg__os_sock_error(fd);
    if (rec != NULL) {
        jg__fd_done(rec);
    }
    return rc;
}

int jg_socket(int domain, int type, int protocol) {
    int fd = jg__os_socket(domain, type, protocol);
    struct jg_task *self = jg__io_self();
    if (fd >= 0 && self != NULL) {
        int t = type & 0xf; /* Without SOCK_NONBLOCK / SOCK_CLOEXEC. */
        /* Not open yet: it has no records, so nothing to reset. */
        struct jg__reactor *r = jg__reactor_peek(jg__task_rt(self));
        if (r != NULL) {
            jg__fd_fresh(r, fd,
                         t == SOCK_STREAM
                             ? JG__FD_STREAM |
                                   (domain == AF_UNIX ? JG__FD_F_UNIX : 0)
                             : JG__FD_SOCK);
        }
    }
    return fd;
}

int jg_close(int fd) {
    if (fd < 0) {
        return -EBADF;
    }
    struct jg_task *self = jg__io_self();
    /* A reactor that is not open has no waiter to wake. */
    struct jg__reactor *r = self != NULL ? jg__reactor_peek(jg__task_rt(self)) : NULL;
    return r != NULL ? jg__fd_close(self, r, fd) : jg__os_close(fd);
}
