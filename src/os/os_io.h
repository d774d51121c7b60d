/* SPDX-License-Identifier: MIT */
/*
 * os_io.h - system-call wrappers for the I/O layer (src/io): fds, sockets,
 * epoll, eventfd and poll. Like os.h, each returns a result >= 0 or -errno
 * and retries EINTR (except where noted), so src/io never reads errno.
 */
#ifndef JG_OS_IO_H
#define JG_OS_IO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct epoll_event;

ssize_t jg__os_read(int fd, void *buf, size_t n);
ssize_t jg__os_write(int fd, const void *buf, size_t n);
ssize_t jg__os_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t jg__os_writev(int fd, const struct iovec *iov, int iovcnt);
/* send(2) / sendmsg(2) with MSG_NOSIGNAL. */
ssize_t jg__os_send(int fd, const void *buf, size_t n);
ssize_t jg__os_sendv(int fd, const struct iovec *iov, int iovcnt);
/* accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC. */
int jg__os_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen);
/* connect(2); EINTR is reported as -EINPROGRESS (the connect goes on). */
int jg__os_connect(int fd, const struct sockaddr *addr, socklen_t len);
/* The pending error of a socket (SO_ERROR), as -errno, or 0. */
int jg__os_sock_error(int fd);
/* SO_TYPE of a socket, or -ENOTSOCK. */
int jg__os_sock_type(int fd);
/* SO_DOMAIN of a socket (AF_INET, AF_UNIX, ...), or -errno. */
int jg__os_sock_domain(int fd);
int jg__os_socket(int domain, int type, int protocol);
/* jg__os_close() is in os/os.h. */
/* What fd is: 'f' regular file, 's' socket, 'p' FIFO, 'o' other; or
 * -errno (-EBADF). */
int jg__os_fd_kind(int fd);
/* Set O_NONBLOCK on fd if it is not set yet. */
int jg__os_set_nonblock(int fd);
/* poll(2) one fd for POLLIN/POLLOUT until deadline (absolute ns, -1 =
 * none). Returns the revents, 0 at the deadline, or -errno. */
int jg__os_poll1(int fd, short events, int64_t deadline);

/* The hard limit on open fds (RLIMIT_NOFILE), at most 1 << 24. */
int jg__os_fd_limit(void);

int jg__os_epoll_create(void);
int jg__os_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* epoll_wait(2) until deadline (0 = do not block, -1 = none). EINTR
 * returns 0 events. */
int jg__os_epoll_wait(int epfd, struct epoll_event *evs, int cap,
                      int64_t deadline);
/* A non-blocking, close-on-exec eventfd. */
int jg__os_eventfd(void);
/* Add 1 to an eventfd. */
void jg__os_eventfd_signal(int fd);

#endif /* JG_OS_IO_H */
