/* SPDX-License-Identifier: MIT */
/*
 * juggle/io.h - task-aware I/O: sockets, pipes and files that suspend the
 * calling task instead of its worker, with deadlines; and jg_blocking(),
 * which runs a blocking function on a separate pool of threads.
 *
 * Inside a task, a call that cannot complete at once (the fd would block)
 * suspends the task; the runtime's poller (io_uring where it works, else
 * epoll) resumes it when the fd is ready. The worker runs other tasks
 * meanwhile. Outside the runtime (any other thread) every call behaves as
 * the blocking system call, the deadline honoured with poll(2), so one
 * function runs unchanged in both places.
 *
 * Deadlines are absolute nanoseconds of jg_now(), or JG_FOREVER. A deadline
 * already past still lets a call that can complete at once succeed.
 *
 * Cancellation: a task blocked in jg_wait_fd, jg_read, jg_write, jg_readv,
 * jg_writev, jg_accept or jg_connect wakes with -ECANCELED when jg_cancel()
 * is called on it (and the cancellation is consumed).
 *
 * File descriptors: fds that tasks use must be closed with jg_close(), in
 * a task of the runtime, which wakes their waiters (-EBADF) and tells the
 * poller. close(2) behind the runtime's back (or jg_close() from a thread
 * outside the runtime, which is close(2)) leaves the runtime's record of
 * the fd stale: a task waiting on it is not woken, under io_uring the
 * watch keeps the file open, and a later file that takes the number
 * (opened by the program, not by juggle) is taken for the old one: a call
 * on it may wait forever, or block its worker if the file is blocking.
 * When juggle itself creates the next fd with that number (jg_accept,
 * jg_socket), it retires the stale record as jg_close() would have: its
 * waiters wake with -EBADF and the old file is released. To stop a task
 * from another thread, jg_cancel() it.
 *
 * Inside a task, an fd that is not a regular file is switched to
 * O_NONBLOCK the first time a call here uses it. At most one
 * task may wait to read and one to write on an fd at a time (-EBUSY for a
 * second one); jg_wait_fd with both events counts as both.
 *
 * Buffers may live on the calling task's stack, whatever its stack mode:
 * a task on a shared stack (JG_STACK_SHARED), whose stack bytes move
 * while it waits, has its regular-file I/O go through a heap copy of its
 * buffers and its socket I/O the readiness way (system calls made while it
 * runs), never through requests that work on its buffers meanwhile.
 *
 * Stream sockets under io_uring with one worker (Linux 6.1+): reads and
 * writes that would wait go through io_uring receive and send requests,
 * submitted together with the runtime's next poll, so a busy
 * single-threaded server makes a fraction of a system call per request
 * instead of two or three. The calls behave the same: a read that times
 * out or is cancelled returns only when its request is over, and returns
 * the data if the request took some (the cancel then stays pending), so
 * no data is ever lost. A call with a deadline already past, or with a
 * cancel pending, is still tried at once. JG_URING_SOCK=0 in the
 * environment turns this off; jg_runtime_info_get() says whether it is on.
 *
 * Regular files never "would block": inside a task they go through
 * io_uring where that poller is active, otherwise through the blocking
 * pool; either way the task suspends and its worker keeps running others.
 * Such an operation, once started, runs to completion: cancellation and
 * the deadline are only checked before it starts.
 *
 * Signals: writes to sockets use MSG_NOSIGNAL, so a closed peer gives
 * -EPIPE, not SIGPIPE. Writes to pipes behave as write(2) (SIGPIPE unless
 * the program ignores it).
 *
 * The poller and the blocking pool are set up when a task of the runtime
 * first needs them; if that fails (out of memory or of fds), the call that
 * needed them returns the error (-ENOMEM, -EMFILE, ...) and a later call
 * tries again.
 *
 * Errors are negative errno values; errno itself is never changed.
 */
#ifndef JUGGLE_IO_H
#define JUGGLE_IO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "juggle/base.h"
#include "juggle/task.h"

/* Events for jg_wait_fd(); its result is a mask of them. */
enum { JG_READABLE = 1, JG_WRITABLE = 2 };

/*
 * Wait until fd is readable and/or writable (or has an error or hang-up,
 * which counts as both: the next call reports it).
 *
 * fd:       any pollable fd (socket, pipe, eventfd, ...).
 * events:   JG_READABLE, JG_WRITABLE or both.
 * deadline: absolute jg_now() time, or JG_FOREVER.
 * Returns:  > 0, the mask of events that are ready.
 * Errors:   -EINVAL for a negative fd, an empty or unknown events mask or
 *           a negative deadline other than JG_FOREVER; -ETIMEDOUT at the
 *           deadline; -ECANCELED; -EBADF when fd is not open, or was
 *           closed with jg_close() while waiting; -EBUSY when another task
 *           already waits on fd for the same event; -ENOMEM.
 * Thread:   any thread.
 * Blocks:   suspends the calling task, or blocks a thread outside a task.
 */
JG_API int jg_wait_fd(int fd, int events, int64_t deadline);

/*
 * Read up to n bytes, as read(2): a partial count is success, 0 is end of
 * file; waits only while nothing at all can be read.
 *
 * buf:      n bytes of room; written only during the call.
 * deadline: as jg_wait_fd() (ignored once a regular-file read started).
 * Returns:  bytes read (0 at end of file).
 * Errors:   -EINVAL (also for a NULL buf with n > 0); -ETIMEDOUT;
 *           -ECANCELED; -EBADF (also when closed by jg_close() meanwhile);
 *           -EBUSY as jg_wait_fd(); any error of read(2), e.g.
 *           -ECONNRESET.
 * Thread:   any thread.
 * Blocks:   suspends the calling task, or blocks a thread outside a task.
 */
JG_API ssize_t jg_read(int fd, void *buf, size_t n, int64_t deadline);

/*
 * Write up to n bytes, as write(2): may write fewer (a partial count is
 * success; call again for the rest); waits only while nothing at all can
 * be written.
 *
 * Returns:  bytes written.
 * Errors:   as jg_read(), plus -EPIPE (peer closed; no SIGPIPE on
 *           sockets) and any error of write(2).
 * Thread:   any thread.
 * Blocks:   suspends the calling task, or blocks a thread outside a task.
 */
JG_API ssize_t jg_write(int fd, const void *buf, size_t n, int64_t deadline);

/*
 * Scatter read, as readv(2); otherwise as jg_read().
 *
 * iov:      iovcnt buffers (1 .. IOV_MAX), borrowed for the call.
 * Errors:   as jg_read(); -EINVAL for a bad iovcnt.
 */
JG_API ssize_t jg_readv(int fd, const struct iovec *iov, int iovcnt,
                        int64_t deadline);

/*
 * Gather write, as writev(2); otherwise as jg_write().
 *
 * Errors:   as jg_write(); -EINVAL for a bad iovcnt.
 */
JG_API ssize_t jg_writev(int fd, const struct iovec *iov, int iovcnt,
                         int64_t deadline);

/*
 * Accept a connection on a listening socket.
 *
 * lfd:      a listening socket.
 * addr, addrlen: optional, as accept(2).
 * Returns:  the new fd, non-blocking and close-on-exec.
 * Errors:   as jg_wait_fd(); -EMFILE / -ENFILE when out of descriptors
 *           (the connection stays queued: back off before trying again);
 *           any error of accept4(2).
 * Thread:   any thread.
 * Blocks:   suspends the calling task, or blocks a thread outside a task.
 */
JG_API int jg_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen,
                     int64_t deadline);

/*
 * Connect a socket (best made by jg_socket()) and wait until the
 * connection is established or has failed.
 *
 * Returns:  0 when connected.
 * Errors:   as jg_wait_fd(); -ECONNREFUSED, -ENETUNREACH, ... (any error of
 *           connect(2) or of the asynchronous connect). After -ETIMEDOUT or
 *           -ECANCELED the socket's state is unspecified: close it.
 * Thread:   any thread.
 * Blocks:   suspends the calling task, or blocks a thread outside a task.
 */
JG_API int jg_connect(int fd, const struct sockaddr *addr, socklen_t len,
                      int64_t deadline);

/*
 * Create a socket, as socket(2), that is non-blocking and close-on-exec.
 *
 * Returns:  the new fd.
 * Errors:   any error of socket(2).
 * Thread:   any thread.
 * Blocks:   no.
 */
JG_API int jg_socket(int domain, int type, int protocol);

/*
 * Close fd. A task waiting on it (in any call above) wakes with -EBADF;
 * the poller forgets it. Then close(2). Call it from a task of the runtime
 * that uses fd: elsewhere (a plain thread, another runtime) it is only
 * close(2), with the consequences drawn at the top of this header.
 *
 * Safe against other tasks using fd at the same moment (inside the
 * runtime): a call that starts after jg_close() began returns -EBADF, and
 * jg_close() waits for a call already in its system call on another
 * worker, or in a regular-file request, before close(2). So no call of
 * this header ever reaches a file that takes the number afterwards.
 *
 * Returns:  0.
 * Errors:   -EBADF when fd is not open, or another task's jg_close() of
 *           it is under way; any error of close(2) (the fd is closed
 *           anyway, as with close(2)).
 * Thread:   any thread; a task of the runtime that uses fd for the above.
 * Blocks:   no, except that inside a task it may suspend until a call in
 *           flight on fd is over (a system call on another worker: a
 *           moment; a regular-file request: until it completes).
 */
JG_API int jg_close(int fd);

/*
 * Run fn(arg) on the runtime's blocking pool (asyncio.to_thread): for code
 * that blocks its thread (DNS lookups, libraries without async support).
 * Only the calling task waits; its worker runs other tasks meanwhile.
 * Outside a task, fn runs directly on the calling thread.
 *
 * fn:       the function; runs exactly once when the call succeeds, never
 *           when it fails.
 * arg:      passed to fn; borrowed until fn returns. A task on a shared
 *           stack (JG_STACK_SHARED) must not pass a pointer into its
 *           stack: fn runs on another thread while the task is suspended
 *           and its stack bytes are elsewhere (use the heap).
 * result:   optional; receives fn's return value.
 * Returns:  0 once fn has returned.
 * Errors:   -EINVAL for a NULL fn; -EAGAIN when no pool thread exists and
 *           none can be started; -ENOMEM. Not cancellable: fn runs to the
 *           end, and a jg_cancel() meanwhile is delivered by the task's
 *           next cancellable call.
 * Thread:   any thread.
 * Blocks:   suspends the calling task until fn returns (or runs fn on the
 *           calling thread outside a task).
 */
JG_API int jg_blocking(jg_task_fn fn, void *arg, void **result);

/* What a runtime is made of; filled by jg_runtime_info_get(). */
typedef struct jg_runtime_info {
    const char *poller;   /* "epoll" or "uring"; a static string. */
    int workers;          /* Worker threads. */
    int blocking_threads; /* Most threads the blocking pool may start. */
    /* 1 when stream-socket reads and writes go through io_uring requests
     * (see the top of this file), else 0. */
    int socket_requests;
} jg_runtime_info;

/*
 * Describe the calling task's runtime: which poller it chose (JG_POLLER=
 * epoll|uring in the environment forces one; without it, io_uring where it
 * is available and works, else epoll), and its sizes. A runtime opens its
 * poller and blocking pool when a task first needs them (its first I/O
 * call, jg_blocking or this call), so a runtime that does no I/O never
 * sets them up.
 *
 * out:      filled on success.
 * Returns:  0.
 * Errors:   -EINVAL for a NULL out; -ESRCH when not called from a task;
 *           -ENOMEM (or the poller's -errno, e.g. -EMFILE) when the
 *           poller cannot be opened.
 * Thread:   a task.
 * Blocks:   no.
 */
JG_API int jg_runtime_info_get(jg_runtime_info *out);

#endif /* JUGGLE_IO_H */
