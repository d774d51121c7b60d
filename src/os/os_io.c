/* SPDX-License-Identifier: MIT */
/*
 * os_io.c - the Linux system calls of the I/O layer (os_io.h): thin
 * wrappers that return -errno and retry EINTR.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os/os.h"
#include "os/os_io.h"

#define RETRY(expr)                                                            \
    for (;;) {                                                                 \
        ssize_t r_ = (expr);                                                   \
        if (r_ >= 0) {                                                         \
            return r_;                                                         \
        }                                                                      \
        if (errno != EINTR) {                                                  \
            return -errno;                                                     \
        }                                                                      \
    }

ssize_t jg__os_read(int fd, void *buf, size_t n) {
    RETRY(read(fd, buf, n));
}

ssize_t jg__os_write(int fd, const void *buf, size_t n) {
    RETRY(write(fd, buf, n));
}

ssize_t jg__os_readv(int fd, const struct iovec *iov, int iovcnt) {
    RETRY(readv(fd, iov, iovcnt));
}

ssize_t jg__os_writev(int fd, const struct iovec *iov, int iovcnt) {
    RETRY(writev(fd, iov, iovcnt));
}

ssize_t jg__os_send(int fd, const void *buf, size_t n) {
    RETRY(send(fd, buf, n, MSG_NOSIGNAL));
}

ssize_t jg__os_sendv(int fd, const struct iovec *iov, int iovcnt) {
    struct msghdr m = {.msg_iov = (struct iovec *)iov,
                       .msg_iovlen = (size_t)iovcnt};
    RETRY(sendmsg(fd, &m, MSG_NOSIGNAL));
}

int jg__os_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen) {
    RETRY(accept4(lfd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

int jg__os_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    if (connect(fd, addr, len) == 0) {
        return 0;
    }
    /* An interrupted connect goes on asynchronously, as EINPROGRESS. */
    return errno == EINTR ? -EINPROGRESS : -errno;
}

int jg__os_sock_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return -errno;
    }
    return -err;
}

int jg__os_sock_type(int fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        return -errno;
    }
    return type;
}

int jg__os_sock_domain(int fd) {
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
        return -errno;
    }
    return domain;
}

int jg__os_socket(int domain, int type, int protocol) {
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    return fd >= 0 ? fd : -errno;
}

int jg__os_fd_kind(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISREG(st.st_mode)) {
        return 'f';
    }
    if (S_ISSOCK(st.st_mode)) {
        return 's';
    }
    return S_ISFIFO(st.st_mode) ? 'p' : 'o';
}

int jg__os_set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        return -errno;
    }
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -errno;
    }
    return 0;
}

/* Milliseconds from now until deadline, rounded up; -1 for none. */
static int timeout_ms(int64_t deadline) {
    if (deadline < 0) {
        return -1;
    }
    int64_t left = deadline - jg__os_now();
    if (left <= 0) {
        return 0;
    }
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int jg__os_poll1(int fd, short events, int64_t deadline) {
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout_ms(deadline));
        if (n > 0) {
            return p.revents & POLLNVAL ? -EBADF : p.revents;
        }
        if (n == 0) {
            if (deadline >= 0 && jg__os_now() < deadline) {
                continue; /* Woke a little early (rounding). */
            }
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

int jg__os_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > (1u << 24)) {
        return 1 << 24;
    }
    return (int)rl.rlim_max;
}

int jg__os_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int jg__os_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
    return epoll_ctl(epfd, op, fd, ev) == 0 ? 0 : -errno;
}

int jg__os_epoll_wait(int epfd, struct epoll_event *evs, int cap,
                      int64_t deadline) {
    static _Atomic int no_pwait2; /* Kernels before 5.11: ENOSYS once. */
    int n = 0;
    bool waited = false;
    if (deadline > 0 &&
        !atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        /* Nanosecond timeouts, so timers are not rounded to 1 ms. */
        int64_t left = deadline - jg__os_now();
        if (left < 0) {
            left = 0;
        }
        struct timespec ts = {.tv_sec = left / 1000000000,
                              .tv_nsec = left % 1000000000};
        n = epoll_pwait2(epfd, evs, cap, &ts, NULL);
        waited = n >= 0 || errno != ENOSYS;
        if (!waited) {
            atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
        }
    }
    if (!waited) {
        /* No deadline (-1), a poll (0, without a look at the clock), or
         * no epoll_pwait2: milliseconds, rounded up, and never "for ever"
         * when there is a deadline. */
        n = epoll_wait(epfd, evs, cap,
                       deadline == 0 ? 0 : timeout_ms(deadline));
    }
    if (n >= 0) {
        return n;
    }
    return errno == EINTR ? 0 : -errno;
}

int jg__os_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

void jg__os_eventfd_signal(int fd) {
    uint64_t one = 1;
    /* Only EINTR is possible (the counter cannot reach its limit). */
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}
