/* SPDX-License-Identifier: MIT */
/*
 * os_proc.c - the Linux implementation of proc.h: fork and reaping, pidfds,
 * names, socket pairs and shared mappings for src/exec. Like os_linux.c,
 * the only place (with it) where errno is read.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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

int jg__os_kill_child(int pidfd, pid_t pid, int sig) {
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0) {
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0) {
            return 0;
        }
        if (errno != ENOSYS) {
            return -errno;
        }
    }
#else
    (void)pidfd;
#endif
    return kill(pid, sig) == 0 ? 0 : -errno;
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

int jg__os_child_running(pid_t pid) {
    for (;;) {
        siginfo_t si = {0};
        /* WNOWAIT: look without reaping, so the caller's waitpid still
         * gets the status (and the pid cannot be reused meanwhile). */
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
            return si.si_pid == 0 ? 1 : 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

/* How long one poll waits when there is no pidfd to watch: the child's
 * end is then checked with waitid() this often. 100 ms: a dead child is
 * noticed soon enough, and an idle wait costs ten wake-ups a second. */
#define POLL_NO_PIDFD_MS 100

/* Wait until fd has `events` or the peer (pidfd, else pid) has ended.
 * Returns 1 when fd is ready, 0 when the peer is known to have ended, or
 * -errno. With neither pidfd nor pid, waits for fd alone. */
static int wait_ready(int fd, short events, int pidfd, pid_t pid) {
    struct pollfd pf[2] = {{.fd = fd, .events = events},
                           {.fd = pidfd, .events = POLLIN}};
    int timeout = pidfd < 0 && pid > 0 ? POLL_NO_PIDFD_MS : -1;
    for (;;) {
        int n = poll(pf, pidfd >= 0 ? 2 : 1, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (pf[0].revents != 0) {
            return 1;
        }
        if (n > 0) {
            return 0; /* The pidfd: the peer ended. */
        }
        int r = jg__os_child_running(pid);
        if (r <= 0) {
            return r == 0 ? 0 : r;
        }
    }
}

int jg__os_send_all(int fd, int pidfd, pid_t pid, const void *buf, size_t len) {
    const char *p = buf;
    bool watch = pidfd >= 0 || pid > 0;
    while (len > 0) {
        /* Never block in send while watching the peer: if something else
         * holds the peer's end of the socket, a dead peer gives no EPIPE
         * and a full buffer would block for good. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | (watch ? MSG_DONTWAIT : 0));
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        int r = wait_ready(fd, POLLOUT, pidfd, pid);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            return -EPIPE; /* The peer ended: nobody will read the rest. */
        }
    }
    return 0;
}

int jg__os_recv_all(int fd, int pidfd, pid_t pid, void *buf, size_t len) {
    char *p = buf;
    bool watch = pidfd >= 0 || pid > 0;
    while (len > 0) {
        /* Try first: the reply is usually there already or soon, and a
         * blocking recv costs one syscall instead of poll plus recv. */
        ssize_t n = recv(fd, p, len, watch ? MSG_DONTWAIT : 0);
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
        int r = wait_ready(fd, POLLIN, pidfd, pid);
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
