/* SPDX-License-Identifier: MIT */
/*
 * io_helpers.h - shared by the I/O tests: the poller check (each I/O test
 * executable runs once per backend, JG_POLLER=epoll / uring, and asserts
 * that the runtime uses the forced one), loopback listeners and socket
 * pairs.
 */
#ifndef JG_TEST_IO_HELPERS_H
#define JG_TEST_IO_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

/* Inside a task: the runtime runs the poller that JG_POLLER forces. */
static inline void check_poller(void) {
    jg_runtime_info info;
    cr_assert_eq(jg_runtime_info_get(&info), 0);
    const char *want = getenv("JG_POLLER");
    if (want != NULL) {
        cr_assert_str_eq(info.poller, want, "poller %s, forced %s",
                         info.poller, want);
    }
}

/* A listening TCP socket on 127.0.0.1 (port chosen by the kernel); its
 * address goes to *addr. */
static inline int listen_loopback(struct sockaddr_in *addr, int backlog) {
    int fd = jg_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", jg_strerror(fd));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, backlog), 0);
    socklen_t len = sizeof(*addr);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

static inline void stream_pair(int sv[2]) {
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                         SOCK_CLOEXEC, 0, sv), 0);
}

/* Write all of buf (a loop over partial writes). */
static inline ssize_t write_all(int fd, const void *buf, size_t n,
                                int64_t deadline) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = jg_write(fd, (const char *)buf + done, n - done,
                             deadline);
        if (k < 0) {
            return k;
        }
        done += (size_t)k;
    }
    return (ssize_t)done;
}

/* Read exactly n bytes unless EOF or an error comes first. */
static inline ssize_t read_all(int fd, void *buf, size_t n,
                               int64_t deadline) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = jg_read(fd, (char *)buf + done, n - done, deadline);
        if (k <= 0) {
            return k < 0 ? k : (ssize_t)done;
        }
        done += (size_t)k;
    }
    return (ssize_t)done;
}

#endif /* JG_TEST_IO_HELPERS_H */
