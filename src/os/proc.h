/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the operating-system layer for processes: fork, reaping, pidfds,
 * process names, socket pairs and shared memory. Every function returns a
 * result >= 0 or -errno and retries EINTR, like the rest of src/os.
 */
#ifndef JG_OS_PROC_H
#define JG_OS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fork(2): 0 in the child, the child's pid in the parent, or -errno. */
pid_t jg__os_fork(void);

/* Wait for child pid to end and reap it; its wait status goes to *status.
 * Returns the pid or -errno. */
int jg__os_waitpid(pid_t pid, int *status);

/* A pidfd for pid (readable once it has ended), or -errno (-ENOSYS on
 * kernels before 5.3). Close-on-exec. */
int jg__os_pidfd_open(pid_t pid);

/* Send signal sig to child process pid: through pidfd when >= 0 (it
 * cannot reach another process that reused the pid), else with kill(2).
 * Returns 0 or -errno (-ESRCH once the child has been reaped). */
int jg__os_kill_child(int pidfd, pid_t pid, int sig);

/* Set the calling thread's name (the process's /proc comm when called by
 * a single-threaded child); truncated to 15 bytes. */
void jg__os_set_name(const char *name);

/* Make the calling process receive SIGKILL when the thread that forked it
 * ends. Returns 0, or -ESRCH when the parent is already gone. */
int jg__os_die_with_parent(pid_t parent);

/* A connected pair of stream sockets (close-on-exec). Returns 0 or -errno. */
int jg__os_socketpair(int fds[2]);

/* Is child pid still running? Looks without reaping it (waitid with
 * WNOWAIT). Returns 1 while it runs, 0 once it has ended, or -errno. */
int jg__os_child_running(pid_t pid);

/*
 * Write all len bytes to socket fd (no SIGPIPE). The peer process is
 * watched while the socket is full: through pidfd when >= 0, else by
 * checking child pid every 100 ms when pid > 0; with neither, the send
 * just blocks. Returns 0, -EPIPE when the peer is gone (even if another
 * process still holds its end of the socket), or -errno.
 */
int jg__os_send_all(int fd, int pidfd, pid_t pid, const void *buf,
                    size_t len);

/*
 * Read exactly len bytes from socket fd, watching the peer process as
 * jg__os_send_all() does: once it has ended and nothing more can be read,
 * give up. Returns 0, -EPIPE on end of file or a dead peer, or -errno.
 */
int jg__os_recv_all(int fd, int pidfd, pid_t pid, void *buf, size_t len);

/* jg__os_close() is in os/os.h. */

/* An anonymous memory file (memfd_create, close-on-exec) of size bytes.
 * Returns the fd or -errno. */
int jg__os_memfd(const char *name, size_t size);

/* Resize a file. Returns 0 or -errno. */
int jg__os_ftruncate(int fd, size_t size);

/* Map len bytes shared: of fd from offset 0, or anonymous when fd < 0.
 * Returns 0 and *out, or -errno. */
int jg__os_map_shared(void **out, size_t len, int fd);

#endif /* JG_OS_PROC_H */
