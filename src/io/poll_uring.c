/* SPDX-License-Identifier: MIT */
/*
 * poll_uring.c - the io_uring backend of the poller contract (poller.h),
 * through liburing.
 *
 * One ring per runtime, used the way the epoll backend uses its epoll fd:
 * arm() posts one multishot POLL_ADD per fd (readable|writable|hang-up),
 * which stays until disarm() posts a POLL_REMOVE, so waiting for data
 * costs no submission at all; regular-file reads and writes are READV /
 * WRITEV requests at the file position (offset -1). Submission queue
 * entries are written under `lock` by any worker; the completion queue is
 * read only by the worker holding the reactor's claim.
 *
 * Batching: with one worker (the single-threaded event loop) nothing is
 * submitted eagerly: arms, removes and requests queue up and go to the
 * kernel with the next wait, in the same io_uring_enter that reaps
 * completions; the ring is then set up SINGLE_ISSUER | DEFER_TASKRUN, so
 * completions are processed only when that worker asks for them (no
 * interrupts while it runs tasks). With several workers each submission
 * is made at once (another worker may be blocked in the ring and would
 * not see it), and the default task-work mode is kept: a poll armed by
 * worker A may complete while B waits in the ring, and only the default
 * mode lets the kernel run A's task work without A entering the ring.
 *
 * Socket requests (JG__POLLER_ASYNC_SOCK, one worker only): RECV / SEND
 * (RECVMSG / SENDMSG for vectors) on the task's own buffers; sends with
 * MSG_DONTWAIT (a full socket is the reactor's to wait for). Batched,
 * they replace a readiness event plus a recv(2), and a send(2), by a
 * share of one io_uring_enter. Only with one worker: eagerly submitted,
 * each would cost a system call of its own. The reactor waits for every
 * request's completion, also after cancelling it (ASYNC_CANCEL, sent at
 * once), so a receive never consumes data that nobody sees: if it won the
 * race with the cancel, its data is returned. wake() writes to an eventfd
 * that has its own multishot poll in the ring.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/san.h"
#include "io/poller.h"
#include "juggle/io.h"
#include "os/os.h"
#include "os/os_io.h"

#include <liburing.h>

#define WAKE_TAG ((uint64_t)0)
/* The completion of a POLL_REMOVE: the removed watch's tag with this bit;
 * of an ASYNC_CANCEL: the request's tag with it. */
#define REMOVE_BIT ((uint64_t)1 << 62)
/* The most one socket request moves (as Linux's read(2) and write(2)). */
#define MAX_XFER ((size_t)0x7ffff000)
#define ENTRIES 1024             /* Submission queue size (a power of 2). */
/* One worker: completion queue size. Socket requests complete in bursts
 * of one per connection per direction (a thousand connections: two
 * thousand at once); an overflowing queue takes the slow path. */
#define CQ_ENTRIES 8192
/* One worker: queued entries that go to the kernel without waiting for
 * the next wait, so that a long run of tasks does not hold back the
 * first ones' sends (latency) for a few more system calls. */
#define FLUSH_AT 64
#define POLL_MASK (POLLIN | POLLOUT | POLLRDHUP | POLLPRI)

struct ur {
    struct io_uring ring;
    pthread_mutex_t lock; /* Submission side. */
    int evfd;
    bool eager;           /* Submit every entry at once (several workers). */
    bool sock;            /* JG__POLLER_ASYNC_SOCK. */
    bool rearm_wake;      /* Claim holder: the eventfd poll ended. */
};

/* An entry to fill; lock held. Flushes the queue when it is full. */
static struct io_uring_sqe *get_sqe(struct ur *u) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    while (sqe == NULL) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* After filling entries; lock held. An entry once written is queued: if
 * io_uring_enter fails now (-EBUSY with a full completion queue, -EAGAIN,
 * -EINTR), it stays in the submission queue and goes with the next enter,
 * which every wait makes. So a failure here is not the request's: the
 * caller must treat the request as submitted (its completion will come
 * and name its op), never free what it names. */
static void flush(struct ur *u) {
    if (!u->eager && io_uring_sq_ready(&u->ring) < FLUSH_AT) {
        return; /* The next wait submits it. */
    }
    if (io_uring_submit(&u->ring) < 0 && u->eager) {
        /* A worker may sleep in the ring for good: make it come back and
         * enter again (with one worker, that worker is us). */
        jg__os_eventfd_signal(u->evfd);
    }
}

static void arm_wake(struct ur *u) {
    struct io_uring_sqe *sqe = get_sqe(u);
    io_uring_prep_poll_multishot(sqe, u->evfd, POLLIN);
    io_uring_sqe_set_data64(sqe, WAKE_TAG);
}

/* JG_URING_SOCK=0: sockets use readiness and system calls (to compare). */
static bool sock_off(void) {
    const char *env = getenv("JG_URING_SOCK");
    return env != NULL && strcmp(env, "0") == 0;
}

static int ur_setup(struct ur *u, int nworkers) {
    int rc = -EINVAL;
    bool deferred = false;
    if (nworkers == 1) {
        /* Linux 6.1+; older kernels say EINVAL and get the default. */
        /* TASKRUN_FLAG: the kernel raises IORING_SQ_TASKRUN when
         * completions wait for us to run them, which is what the
         * non-blocking poll of a busy worker looks at (ur_wait); without
         * it a worker that never went idle never saw them. */
        struct io_uring_params pr = {
            .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                     IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE,
            .cq_entries = CQ_ENTRIES};
        rc = io_uring_queue_init_params(ENTRIES, &u->ring, &pr);
        deferred = rc == 0;
    }
    if (rc < 0) {
        rc = io_uring_queue_init(ENTRIES, &u->ring, 0);
    }
    if (rc < 0) {
        return rc;
    }
    /* The probe: timeouts without a timeout entry (5.11), and the
     * operations used here. */
    struct io_uring_probe *probe = io_uring_get_probe_ring(&u->ring);
    bool ok = (u->ring.features & IORING_FEAT_EXT_ARG) && probe != NULL &&
              io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) &&
              io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE) &&
              io_uring_opcode_supported(probe, IORING_OP_READV) &&
              io_uring_opcode_supported(probe, IORING_OP_WRITEV);
    /* Socket requests want the deferred mode (6.1+, so POLL_FIRST is
     * known too): their completions wait for the next batch. */
    u->sock = ok && deferred &&
              io_uring_opcode_supported(probe, IORING_OP_RECV) &&
              io_uring_opcode_supported(probe, IORING_OP_SEND) &&
              io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
              io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
              io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) &&
              !sock_off();
    if (probe != NULL) {
        io_uring_free_probe(probe);
    }
    if (!ok) {
        io_uring_queue_exit(&u->ring);
        return -ENOTSUP;
    }
    return 0;
}

static int ur_open(struct jg__poller *p, int nworkers) {
    struct ur *u = jg__calloc(1, sizeof(*u));
    if (u == NULL) {
        return -ENOMEM;
    }
    int rc = ur_setup(u, nworkers);
    if (rc < 0) {
        goto undo_alloc;
    }
    rc = u->evfd = jg__os_eventfd();
    if (rc < 0) {
        goto undo_ring;
    }
    pthread_mutex_init(&u->lock, NULL);
    u->eager = nworkers > 1;
    /* Multishot poll (5.13) is checked by use: the first submission. */
    arm_wake(u);
    rc = io_uring_submit(&u->ring);
    if (rc < 0) {
        goto undo_evfd;
    }
    p->impl = u;
    p->caps = JG__POLLER_ASYNC_FILE | (u->sock ? JG__POLLER_ASYNC_SOCK : 0);
    return 0;

undo_evfd:
    pthread_mutex_destroy(&u->lock);
    jg__os_close(u->evfd);
undo_ring:
    io_uring_queue_exit(&u->ring);
undo_alloc:
    jg__free(u, sizeof(*u));
    return rc;
}

static void ur_close(struct jg__poller *p) {
    struct ur *u = p->impl;
    io_uring_queue_exit(&u->ring); /* Cancels the polls still armed. */
    jg__os_close(u->evfd);
    pthread_mutex_destroy(&u->lock);
    jg__free(u, sizeof(*u));
}

static int ur_arm(struct jg__poller *p, int fd, uint64_t tag) {
    struct ur *u = p->impl;
    pthread_mutex_lock(&u->lock);
    struct io_uring_sqe *sqe = get_sqe(u);
    io_uring_prep_poll_multishot(sqe, fd, POLL_MASK);
    io_uring_sqe_set_data64(sqe, tag);
    flush(u);
    pthread_mutex_unlock(&u->lock);
    return 0;
}

/* Post the removal of watch `tag`; lock held. */
static void remove_watch(struct ur *u, uint64_t tag) {
    struct io_uring_sqe *sqe = get_sqe(u);
    io_uring_prep_poll_remove(sqe, tag);
    io_uring_sqe_set_data64(sqe, tag | REMOVE_BIT);
}

static int ur_disarm(struct jg__poller *p, int fd, uint64_t tag) {
    (void)fd;
    struct ur *u = p->impl;
    pthread_mutex_lock(&u->lock);
    /* The poll holds a reference to the file: until the removal has
     * taken effect, close(2) does not release the socket (a listener
     * would go on taking connections). */
    remove_watch(u, tag);
    flush(u);
    pthread_mutex_unlock(&u->lock);
    return 1;
}

static unsigned clamp(size_t n) {
    return (unsigned)(n < MAX_XFER ? n : MAX_XFER);
}

static int ur_submit(struct jg__poller *p, struct jg__aop *op) {
    struct ur *u = p->impl;
    pthread_mutex_lock(&u->lock);
    struct io_uring_sqe *sqe = get_sqe(u);
    const struct iovec *iov = op->iov;
    switch (op->code) {
    case JG__AOP_READV:
        io_uring_prep_readv(sqe, op->fd, iov, (unsigned)op->iovcnt,
                            (uint64_t)-1);
        break;
    case JG__AOP_WRITEV:
        io_uring_prep_writev(sqe, op->fd, iov, (unsigned)op->iovcnt,
                             (uint64_t)-1);
        break;
    case JG__AOP_RECV:
    case JG__AOP_SEND:
        if (op->iovcnt == 1) {
            if (op->code == JG__AOP_RECV) {
                io_uring_prep_recv(sqe, op->fd, iov->iov_base,
                                   clamp(iov->iov_len), 0);
                /* The reactor tried recv(2) already, or knows the
                 * socket drained: wait for data before the first try. */
                sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
            } else {
                io_uring_prep_send(sqe, op->fd, iov->iov_base,
                                   clamp(iov->iov_len),
                                   MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            break;
        }
        op->msg = (struct msghdr){.msg_iov = (struct iovec *)iov,
                                  .msg_iovlen = (size_t)op->iovcnt};
        if (op->code == JG__AOP_RECV) {
            io_uring_prep_recvmsg(sqe, op->fd, &op->msg, 0);
            sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        } else {
            io_uring_prep_sendmsg(sqe, op->fd, &op->msg,
                                  MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    /* op travels through the kernel to whoever reaps its completion. */
    jg__san_release(op);
    flush(u);
    pthread_mutex_unlock(&u->lock);
    return 0;
}

static void ur_cancel(struct jg__poller *p, struct jg__aop *op) {
    struct ur *u = p->impl;
    pthread_mutex_lock(&u->lock);
    struct io_uring_sqe *sqe = get_sqe(u);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | REMOVE_BIT);
    /* At once, whatever the mode: the request itself, if still queued,
     * goes first, while its fd still names its file (the caller may be
     * about to close it). */
    io_uring_submit(&u->ring);
    pthread_mutex_unlock(&u->lock);
}

/* Turn one completion into an event; false if it is not one. */
static bool convert(struct ur *u, const struct io_uring_cqe *cqe,
                    struct jg__pevent *e) {
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (tag == WAKE_TAG) {
        u->rearm_wake |= !more;
        return false;
    }
    if ((tag & JG__TAG_FD) && (tag & REMOVE_BIT)) {
        /* -EALREADY: the poll was busy posting an event (its task work
         * held it) and is still armed, still holding the file: remove it
         * again. 0 and -ENOENT: it is gone; say so (disarm() returned 1). */
        if (cqe->res == -EALREADY) {
            pthread_mutex_lock(&u->lock);
            remove_watch(u, tag & ~REMOVE_BIT);
            flush(u);
            pthread_mutex_unlock(&u->lock);
            return false;
        }
        *e = (struct jg__pevent){.tag = tag & ~REMOVE_BIT,
                                 .flags = JG__PEV_REMOVED};
        return true;
    }
    if (tag & REMOVE_BIT) {
        return false; /* An ASYNC_CANCEL: the request reports itself. */
    }
    if (!(tag & JG__TAG_FD)) {
        jg__san_acquire((void *)(uintptr_t)tag); /* See ur_submit(). */
        *e = (struct jg__pevent){.tag = tag, .res = cqe->res};
        return true;
    }
    int32_t res = 0;
    if (cqe->res > 0) {
        unsigned m = (unsigned)cqe->res;
        if (m & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLPRI)) {
            res |= JG_READABLE;
        }
        if (m & (POLLOUT | POLLHUP | POLLERR)) {
            res |= JG_WRITABLE;
        }
        if (m & (POLLRDHUP | POLLHUP | POLLERR | POLLPRI)) {
            res |= JG__POLL_LEVEL;
        }
    }
    *e = (struct jg__pevent){.tag = tag, .res = res,
                             .flags = more ? 0 : JG__PEV_ENDED};
    return true;
}

/* Submit what is queued and wait for one completion until deadline. */
static void enter(struct ur *u, int64_t deadline) {
    struct __kernel_timespec ts, *tsp = NULL;
    if (deadline > 0) {
        int64_t left = deadline - jg__os_now();
        if (left < 0) {
            left = 0;
        }
        ts.tv_sec = left / 1000000000;
        ts.tv_nsec = left % 1000000000;
        tsp = &ts;
    }
    struct io_uring_cqe *cqe;
    if (!u->eager) {
        /* One worker: nobody else submits, so one system call does it
         * all (the lock is uncontended). */
        pthread_mutex_lock(&u->lock);
        io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, tsp, NULL);
        pthread_mutex_unlock(&u->lock);
        return;
    }
    pthread_mutex_lock(&u->lock);
    if (io_uring_sq_ready(&u->ring) > 0) {
        io_uring_submit(&u->ring);
    }
    pthread_mutex_unlock(&u->lock);
    /* With IORING_FEAT_EXT_ARG this only waits: no submission entry. */
    io_uring_wait_cqes(&u->ring, &cqe, 1, tsp, NULL);
}

static int ur_wait(struct jg__poller *p, struct jg__pevent *out, int cap,
                   int64_t deadline) {
    struct ur *u = p->impl;
    if (deadline != 0) {
        if (io_uring_cq_ready(&u->ring) == 0) {
            enter(u, deadline);
        }
    } else {
        pthread_mutex_lock(&u->lock);
        bool pending = io_uring_sq_ready(&u->ring) > 0;
        if (pending) {
            io_uring_submit(&u->ring);
        }
        pthread_mutex_unlock(&u->lock);
        /* Deferred task work, and completions that overflowed the
         * queue, come only when we ask. */
        if (!pending && (IO_URING_READ_ONCE(*u->ring.sq.kflags) &
                         (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
            io_uring_get_events(&u->ring);
        }
    }
    int k = 0;
    unsigned seen = 0;
    struct io_uring_cqe *cqe;
    unsigned head;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        if (k == cap) {
            break;
        }
        seen++;
        if (convert(u, cqe, &out[k])) {
            k++;
        }
    }
    io_uring_cq_advance(&u->ring, seen);
    if (u->rearm_wake) {
        u->rearm_wake = false;
        pthread_mutex_lock(&u->lock);
        arm_wake(u);
        io_uring_submit(&u->ring);
        pthread_mutex_unlock(&u->lock);
    }
    return k;
}

static void ur_wake(struct jg__poller *p) {
    struct ur *u = p->impl;
    jg__os_eventfd_signal(u->evfd);
}

const struct jg__poller_ops jg__poller_uring = {
    .name = "uring",
    .open = ur_open,
    .close = ur_close,
    .arm = ur_arm,
    .disarm = ur_disarm,
    .submit = ur_submit,
    .cancel = ur_cancel,
    .wait = ur_wait,
    .wake = ur_wake,
};
