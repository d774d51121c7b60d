/* SPDX-License-Identifier: MIT */
/*
 * poller.h - the poller contract: what a backend (poll_epoll.c,
 * poll_uring.c) does for the reactor (reactor.c), its only caller.
 *
 * A poller watches fds for readiness, edge-triggered: arm() once per fd
 * (readable and writable both, until disarm()), and wait() reports each
 * change of readiness at least once after it happens. A backend with
 * JG__POLLER_ASYNC_FILE also runs regular-file reads and writes itself.
 *
 * Threads: arm, disarm and file run on any worker; the reactor lets one
 * thread at a time call wait (the "claim"); wake is thread-safe and makes
 * a blocked wait return.
 */
#ifndef JG_IO_POLLER_H
#define JG_IO_POLLER_H

#include <stdint.h>
#include <sys/uio.h>

enum {
    JG__POLLER_ASYNC_FILE = 1u << 0, /* file(): regular files, no threads. */
};

/* Tags name what an event is about: an fd watch (bit 63 set, the fd in
 * bits 0-31 and its record's generation in 32-61) or a file operation (a
 * struct jg__fileop pointer, bit 63 clear). Bit 62 is the backends' own
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
 * peer hung up or the fd has an error (sticky until the fd is closed). */
#define JG__POLL_HUP 4

/* One event out of wait(). */
struct jg__pevent {
    uint64_t tag;
    int32_t res;    /* fd: JG_READABLE|JG_WRITABLE|JG__POLL_HUP; op: result. */
    uint32_t flags; /* JG__PEV_*. */
};

/* A regular-file operation for a JG__POLLER_ASYNC_FILE backend. */
struct jg__fileop {
    int fd;
    int write;                /* 0 = read(v), 1 = write(v). */
    const struct iovec *iov;  /* Borrowed until the result comes back. */
    int iovcnt;
};

struct jg__poller {
    const struct jg__poller_ops *ops;
    void *impl; /* The backend's state. */
};

struct jg__poller_ops {
    const char *name;
    unsigned caps; /* JG__POLLER_* */
    /* nworkers: threads that may call arm/disarm/file concurrently. */
    int (*open)(struct jg__poller *p, int nworkers);
    void (*close)(struct jg__poller *p);
    /* Watch fd (tag from JG__TAG) for readable|writable, edge-triggered. */
    int (*arm)(struct jg__poller *p, int fd, uint64_t tag);
    /* Stop watching fd, before it is closed. Returns 0 when the watch is
     * gone, or 1 when its removal completes later: wait() then reports an
     * event with JG__PEV_REMOVED, and until then the caller must keep the
     * poller polled (the watch may hold the file open). */
    int (*disarm)(struct jg__poller *p, int fd, uint64_t tag);
    /* Start op; its result comes out of wait() with tag = (uintptr_t)op. */
    int (*file)(struct jg__poller *p, struct jg__fileop *op);
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
