/* SPDX-License-Identifier: MIT */
/*
 * juggle/exec.h - OS threads, processes, pools and map: Python's threading,
 * multiprocessing and concurrent.futures in C.
 *
 * The same task function (jg_task_fn: void *fn(void *arg)) runs unchanged
 * as a juggle task, on an OS thread, in a child process and in a pool.
 * Calls such as jg_sleep() do the right thing in each: inside a task they
 * suspend the task; on a plain thread or in a child process they block it.
 *
 * Waiting (jg_thread_join, jg_process_join, jg_future_wait, jg_map) from
 * inside a juggle task suspends the task, not its worker; from any other
 * thread it blocks the thread.
 *
 * Fork rules (processes and process pools). A child made by fork() starts
 * as a copy of the parent's memory (copy-on-write) and file descriptors,
 * with one thread only: the one that called fork(). Other threads of the
 * parent (juggle's workers, pool threads, the caller's own threads) do not
 * exist in the child, so any lock one of them held stays held there. For
 * that reason the child runs only the function it was given: juggle
 * starts the child on a fresh state (no runtime of the parent is running
 * in it; jg_sleep blocks the thread; jg_par_* start a new default runtime
 * in the child if used), and the child ends with _exit() after its result
 * is sent, without running the parent's atexit handlers or flushing stdio
 * buffers it inherited (flush them before starting a child if they hold
 * unwritten output). Pointers in arguments stay valid in the child only
 * when they point to memory that existed at fork time; process pools are
 * forked once, so their items carry copies (arg_size) instead.
 * jg_process_start() may be called while a runtime's workers run, from a
 * task or from any thread.
 */
#ifndef JUGGLE_EXEC_H
#define JUGGLE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "juggle/base.h"
#include "juggle/task.h"

/* ---- threads ---- */

/* An OS thread started by jg_thread_start(); freed by jg_thread_join(). */
typedef struct jg_thread jg_thread;

/* Thread options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_thread_opts {
    /* Name shown in /proc/<pid>/task/<tid>/comm and debuggers; truncated
     * to 15 bytes. NULL = "jg-thread". */
    const char *name;
    /* Stack size in bytes; 0 = the system default. At least 16 KiB. */
    size_t stack_size;
} jg_thread_opts;

JG_API int jg_thread_start(jg_thread **out, jg_task_fn fn, void *arg,
                           const jg_thread_opts *opts);
JG_API int jg_thread_join(jg_thread *t, void **result);

/* ---- processes ---- */

/* A child process started by jg_process_start(); freed by
 * jg_process_join(). */
typedef struct jg_process jg_process;

/* Process options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_process_opts {
    /* Bytes of result: the child copies result_size bytes from the pointer
     * fn returned and the parent receives them in jg_process_join(). 0 =
     * the pointer value itself comes back (for integers cast to void *). At
     * most 1 GiB. */
    size_t result_size;
    /* Name for messages and the child's /proc comm; NULL = "jg-process". */
    const char *name;
} jg_process_opts;

/* How a child process ended. */
typedef struct jg_exit {
    /* 1 when the child exited (code is valid), 0 when a signal ended it. */
    int exited;
    /* Exit status when exited; 0 when fn returned normally. */
    int code;
    /* The signal that ended it when !exited (e.g. SIGSEGV, SIGKILL). */
    int signal;
} jg_exit;

JG_API int jg_process_start(jg_process **out, jg_task_fn fn, void *arg,
                            const jg_process_opts *opts);
JG_API int jg_process_join(jg_process *p, void *result, jg_exit *how);
JG_API int jg_exit_describe(const jg_exit *how, char *buf, size_t size);

/* ---- pools and futures ---- */

/* A pool of worker threads or worker processes. */
typedef struct jg_pool jg_pool;
/* The pending result of one jg_pool_submit(). */
typedef struct jg_future jg_future;

typedef enum jg_pool_kind {
    JG_POOL_THREADS = 0,   /* Threads: arguments and results are pointers. */
    JG_POOL_PROCESSES = 1, /* Processes: both are copied (sizes below). */
} jg_pool_kind;

/* Pool options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_pool_opts {
    jg_pool_kind kind;
    /* Workers: 0 = one per CPU the process may run on. At most 1024. */
    int workers;
    /* Process pools: bytes copied from each submitted arg to the child (0 =
     * the pointer value itself is passed) and bytes of each result copied
     * back (0 = the returned pointer value itself). Ignored by thread
     * pools, which pass pointers. */
    size_t arg_size;
    size_t result_size;
    /* Name prefix of the workers' threads or processes; NULL = "jg-pool". */
    const char *name;
} jg_pool_opts;

JG_API int jg_pool_new(jg_pool **out, const jg_pool_opts *opts);
JG_API int jg_pool_free(jg_pool *p);
JG_API int jg_pool_submit(jg_pool *p, jg_future **out, jg_task_fn fn,
                          void *arg);
JG_API int jg_future_wait(jg_future *f, int64_t deadline, void *result);
JG_API int jg_future_cancel(jg_future *f);
JG_API void jg_future_free(jg_future *f);

/* ---- map ---- */

/* A map body: read one input element, write one output element. Returns 0
 * or a negative errno value, which becomes that item's error. */
typedef int (*jg_map_fn)(void *ctx, const void *in, void *out);

/* Map options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_map_opts {
    /* Items per chunk handed to a worker; 0 = automatic (a few chunks per
     * worker). */
    size_t chunk;
} jg_map_opts;

JG_API int jg_map(jg_pool *p, jg_map_fn fn, void *ctx, const void *in,
                  size_t in_size, void *out, size_t out_size, size_t n,
                  int *errors, const jg_map_opts *opts);

#endif /* JUGGLE_EXEC_H */
