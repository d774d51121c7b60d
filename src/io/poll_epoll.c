/* SPDX-License-Identifier: MIT */
/*
 * poll_epoll.c - the epoll(7) backend of the poller contract (poller.h).
 *
 * One epoll instance per runtime. Each fd is added once, edge-triggered,
 * for EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLPRI, with its tag as the event data, and
 * stays until disarm(): the hot path (a task waiting for data) makes no
 * epoll_ctl at all. wake() writes to an eventfd that is also registered
 * edge-triggered: every write is a new edge, so the eventfd never needs
 * to be read back (its counter cannot overflow in practice: 2^64 - 2).
 * Everything here is static except the ops table at the bottom.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "core/common.h"
#include "io/poller.h"
#include "juggle/io.h"
#include "os/os.h"
#include "os/os_io.h"

#define WAKE_TAG ((uint64_t)0)
#define BATCH 256 /* Events per epoll_wait; more wait for the next call. */

struct ep {
    int epfd;
    int evfd;
    struct epoll_event evs[BATCH]; /* Used by the claim holder only. */
};

static int ep_open(struct jg__poller *p, int nworkers) {
    (void)nworkers;
    struct ep *e = jg__calloc(1, sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    int rc = e->epfd = jg__os_epoll_create();
    if (rc < 0) {
        goto undo_alloc;
    }
    rc = e->evfd = jg__os_eventfd();
    if (rc < 0) {
        goto undo_epoll;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET,
                             .data.u64 = WAKE_TAG};
    rc = jg__os_epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev);
    if (rc < 0) {
        goto undo_eventfd;
    }
    p->impl = e;
    p->caps = 0;
    return 0;

undo_eventfd:
    jg__os_close(e->evfd);
undo_epoll:
    jg__os_close(e->epfd);
undo_alloc:
    jg__free(e, sizeof(*e));
    return rc;
}

static void ep_close(struct jg__poller *p) {
    struct ep *e = p->impl;
    jg__os_close(e->evfd);
    jg__os_close(e->epfd);
    jg__free(e, sizeof(*e));
}

static int ep_arm(struct jg__poller *p, int fd, uint64_t tag) {
    struct ep *e = p->impl;
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.u64 = tag};
    int rc = jg__os_epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
    if (rc == -EEXIST) {
        /* Still registered under an old generation (the fd was closed
         * with close(2) while a dup kept the file open): take it over. */
        rc = jg__os_epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    return rc;
}

static int ep_disarm(struct jg__poller *p, int fd, uint64_t tag) {
    (void)tag;
    struct ep *e = p->impl;
    /* Closing the fd would remove it too, but not while another process
     * (a forked child) or a dup keeps the file open. */
    jg__os_epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
    return 0;
}

/* caps is 0: the reactor never calls these. */
static int ep_submit(struct jg__poller *p, struct jg__aop *op) {
    (void)p;
    (void)op;
    return -ENOTSUP;
}

static void ep_cancel(struct jg__poller *p, struct jg__aop *op) {
    (void)p;
    (void)op;
}

static int ep_wait(struct jg__poller *p, struct jg__pevent *out, int cap,
                   int64_t deadline) {
    struct ep *e = p->impl;
    int n = jg__os_epoll_wait(e->epfd, e->evs, cap < BATCH ? cap : BATCH,
                              deadline);
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint64_t tag = e->evs[i].data.u64;
        if (tag == WAKE_TAG) {
            continue;
        }
        uint32_t m = e->evs[i].events;
        int32_t res = 0;
        /* An error or hang-up makes both directions "ready": the next
         * call reports what happened. Urgent data is a reason to read. */
        if (m & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) {
            res |= JG_READABLE;
        }
        if (m & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
            res |= JG_WRITABLE;
        }
        if (m & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) {
            res |= JG__POLL_LEVEL;
        }
        out[k++] = (struct jg__pevent){.tag = tag, .res = res, .flags = 0};
    }
    return k;
}

static void ep_wake(struct jg__poller *p) {
    struct ep *e = p->impl;
    jg__os_eventfd_signal(e->evfd);
}

const struct jg__poller_ops jg__poller_epoll = {
    .name = "epoll",
    .open = ep_open,
    .close = ep_close,
    .arm = ep_arm,
    .disarm = ep_disarm,
    .submit = ep_submit,
    .cancel = ep_cancel,
    .wait = ep_wait,
    .wake = ep_wake,
};
