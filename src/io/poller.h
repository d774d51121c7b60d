/* SPDX-License-Identifier: MIT */
/*
 * poller.h - the poller contract: what a backend (poll_epoll.c,
 * poll_uring.c) does for the reactor (reactor.c), its only caller.
 *
 * A poller watches fds for readiness, edge-triggered: arm() once per fd
 * (readable and writable both, until disarm()), and wait() reports each
 * change of readiness at least once after it happens. A backend with
 * JG__POLLER_ASYNC_FILE also runs regular-file reads and writes itself
 * (submit()), and one with JG__POLLER_ASYNC_SOCK socket receives and sends
 * (submit(), cancel()): the reactor then moves stream-socket data through
 * the backend's requests instead of system calls (see io.c).
 *
 * Threads: arm, disarm, submit and cancel run on any worker; the reactor
 * lets one thread at a time call wait (the "claim"); wake is thread-safe
 * and makes a blocked wait return.
 */
#ifndef JG_IO_POLLER_H
#define JG_IO_POLLER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Bits of jg__poller.caps, set by open(). */
enum {
    JG__POLLER_ASYNC_FILE = 1u << 0, /* submit(): regular files, no threads. */
    /* submit() and cancel(): socket receives and sends, batched with the
     * wait (requests go to the kernel with the next wait's system call),
     * so cheaper than the system calls they replace. */
    JG__POLLER_ASYNC_SOCK = 1u << 1,
};

/* Tags name what an event is about: an fd watch (bit 63 set, the fd in
 * bits 0-31 and its record's generation in 32-61) or a request (a struct
 * jg__aop pointer, bit 63 clear). Bit 62 is the backends' own
 * (io_uring marks the removal of a watch with it). */
#define JG__TAG_FD ((uint64_t)1 << 63)
#define JG__TAG_GEN_MASK 0x3fffffffu
#define JG__TAG(fd, gen)                                                       \
    (JG__TAG_FD | ((uint64_t)((gen)&JG__TAG_GEN_MASK) << 32) | (uint32_t)(fd))
#define JG__TAG_FDNUM(tag) ((int)(uint32_t)(tag))
#define JG__TAG_GEN(tag) ((uint32_t)((tag) >> 32) & JG__TAG_GEN_MASK)

/* Bits of jg__pevent.flags. */
enum {
    JG__PEV_ENDED = 1u << 0, /* The watch ended (arm again to keep it). */
    /* A removal that disarm() left pending has taken effect (fd events:
     * the watch and its hold on the file are gone). */
    JG__PEV_REMOVED = 1u << 1,
};

/* In jg__pevent.res of an fd event, besides JG_READABLE|JG_WRITABLE: the
 * peer hung up, the fd has an error, or urgent (TCP out-of-band) data
 * came: conditions that stay without new edges. */
#define JG__POLL_LEVEL 4

/* One event out of wait(). */
struct jg__pevent {
    uint64_t tag;
    int32_t res;    /* fd: JG_READABLE|JG_WRITABLE|JG__POLL_LEVEL; op: result. */
    uint32_t flags; /* JG__PEV_*. */
};

/* What a request does (jg__aop.code). */
enum {
    JG__AOP_READV,  /* Regular file, at the file position. */
    JG__AOP_WRITEV,
    /* Socket: waits for data (polls first: the caller saw it drained). */
    JG__AOP_RECV,
    /* Socket, MSG_NOSIGNAL | MSG_DONTWAIT: never waits for room (-EAGAIN
     * when the socket is full), so it needs no timer. */
    JG__AOP_SEND,
};

/* A request for an async-capable backend (JG__POLLER_ASYNC_*). */
struct jg__aop {
    int fd;
    int code;                 /* JG__AOP_*. */
    const struct iovec *iov;  /* Borrowed until the result comes back. */
    int iovcnt;
    struct msghdr msg;        /* The backend's (vectored socket requests). */
};

struct jg__poller {
    const struct jg__poller_ops *ops;
    void *impl;    /* The backend's state. */
    unsigned caps; /* JG__POLLER_*, set by open(). */
};

struct jg__poller_ops {
    const char *name;
    /* nworkers: threads that may call arm/disarm/submit concurrently. */
    int (*open)(struct jg__poller *p, int nworkers);
    void (*close)(struct jg__poller *p);
    /* Watch fd (tag from JG__TAG) for readable|writable, edge-triggered. */
    int (*arm)(struct jg__poller *p, int fd, uint64_t tag);
    /* Stop watching fd, before it is closed. Returns 0 when the watch is
     * gone, or 1 when its removal completes later: wait() then reports an
     * event with JG__PEV_REMOVED, and until then the caller must keep the
     * poller polled (the watch may hold the file open). */
    int (*disarm)(struct jg__poller *p, int fd, uint64_t tag);
    /* Start op (the codes that caps allow); its result comes out of
     * wait() with tag = (uintptr_t)op: bytes moved or -errno. */
    int (*submit)(struct jg__poller *p, struct jg__aop *op);
    /* Ask a submitted socket op to stop, sent to the kernel before this
     * returns (so before the caller may close op's fd). Its result still
     * comes out of wait(): -ECANCELED, or what it did if it won the race. */
    void (*cancel)(struct jg__poller *p, struct jg__aop *op);
    /* Up to cap events; deadline: 0 = do not block, -1 = none, else an
     * absolute monotonic time. Returns the count (0 on timeout or wake). */
    int (*wait)(struct jg__poller *p, struct jg__pevent *out, int cap,
                int64_t deadline);
    /* Make a blocked wait() return. Thread-safe. */
    void (*wake)(struct jg__poller *p);
};

extern const struct jg__poller_ops jg__poller_epoll;
extern const struct jg__poller_ops jg__poller_uring;

#endif /* JG_IO_POLLER_H */
