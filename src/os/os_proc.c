/* SPDX-License-Identifier: MIT */
/*
 * os_proc.c - the Linux implementation of proc.h: fork and reaping, pidfds,
 * names, socket pairs and shared mappings for src/exec. Like os_linux.c,
 * the only place (with it) where errno is read.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/proc.h"

pid_t jg__os_fork(void) {
    pid_t pid = fork();
    return pid < 0 ? -errno : pid;
}

int jg__os_waitpid(pid_t pid, int *status) {
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r >= 0) {
            return r;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

int jg__os_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

void jg__os_set_name(const char *name) {
    /* The kernel copies at most TASK_COMM_LEN (16) bytes, NUL included,
     * and truncates the rest: no copy here (a freshly forked child should
     * touch as little memory as it can: every page it writes is copied).
     * The raw system call: in a child forked from a multi-threaded parent,
     * ASan's prctl interceptor takes a lock of its own that another thread
     * may have held at the fork (and it would stay held for good). */
    syscall(SYS_prctl, PR_SET_NAME, name, 0, 0, 0);
}

int jg__os_die_with_parent(pid_t parent) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* The parent may have ended before the prctl: then we were adopted. */
    return getppid() == parent ? 0 : -ESRCH;
}

int jg__os_socketpair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno
                                                                       : 0;
}

int jg__os_send_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Wait until fd is readable or pidfd says the peer ended. Returns 1 when
 * fd is readable, 0 when only the peer's end is known, or -errno. */
static int wait_readable(int fd, int pidfd) {
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
                           {.fd = pidfd, .events = POLLIN}};
    for (;;) {
        int n = poll(pf, pidfd >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (pf[0].revents != 0) {
            return 1;
        }
        return 0;
    }
}

int jg__os_recv_all(int fd, int pidfd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        /* Try first: the reply is usually there already or soon, and a
         * blocking recv costs one syscall instead of poll plus recv. */
        ssize_t n = recv(fd, p, len, pidfd >= 0 ? MSG_DONTWAIT : 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0) {
            return -EPIPE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        int r = wait_readable(fd, pidfd);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            /* The peer ended; take what it wrote before it did. */
            n = recv(fd, p, len, MSG_DONTWAIT);
            if (n <= 0) {
                return -EPIPE;
            }
            p += n;
            len -= (size_t)n;
        }
    }
    return 0;
}

int jg__os_memfd(const char *name, size_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (size > 0 && ftruncate(fd, (off_t)size) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int jg__os_ftruncate(int fd, size_t size) {
    for (;;) {
        if (ftruncate(fd, (off_t)size) == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

int jg__os_map_shared(void **out, size_t len, int fd) {
    int flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    *out = p;
    return 0;
}
