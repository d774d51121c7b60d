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
 * Placement. Left to itself, Linux may queue a new thread behind its
 * creator for a scheduler tick or more. So the first 2n threads, processes
 * or pool workers of a burst (n = CPUs the creator may use) start on CPUs
 * juggle picks, round-robin from the one after the creator's, and at once
 * widen their affinity back to the creator's whole set; later ones of the
 * same burst are left to the kernel. Their code always runs with the
 * creator's affinity. JG_SPREAD=0 in the environment turns this off.
 *
 * Fork rules (processes and process pools). A child made by fork() starts
 * as a copy of the parent's memory (copy-on-write) and file descriptors,
 * with one thread only: the one that called fork(). That is the kernel's
 * rule, not juggle's: fork() copies the address space but clones only the
 * calling thread. Other threads of the parent (juggle's workers, pool
 * threads, the caller's own threads) do not exist in the child, so any lock
 * one of them held stays held there, and any task that was suspended in
 * the parent is frozen there for good. For that reason the child runs only
 * the function it was given, on a fresh state:
 *   - it is outside every runtime: the parent's runtime (whose workers are
 *     gone) is forgotten, so jg_self() is NULL, jg_sleep() blocks the
 *     thread, and jg_par_* start a new default runtime in the child if it
 *     uses them (ThreadSanitizer builds refuse threads in a child of a
 *     multi-threaded parent unless TSAN_OPTIONS has die_after_fork=0);
 *   - the call stack it starts from is a copy of the caller's (a task's
 *     stack, when started from a task): fn may use the caller's locals;
 *   - it ends with _exit() once its result is sent, without running the
 *     parent's atexit handlers or flushing stdio buffers it inherited
 *     (flush them before starting a child if they hold unwritten output,
 *     or the output appears twice);
 *   - it inherits every file descriptor, signal handler and the signal
 *     mask of the calling thread;
 *   - pointers in arguments stay valid in the child only when they point
 *     to memory that existed at fork time (later writes by the parent are
 *     not seen); process pools are forked once, at jg_pool_new(), so their
 *     items carry copies of their arguments (arg_size) and map inputs are
 *     copied into shared memory;
 *   - function pointers stay valid (the same program is mapped at the same
 *     addresses), except into libraries the parent loaded after the fork.
 * jg_process_start() may be called while a runtime's workers run, from a
 * task or from any thread. The children of process pools are killed when
 * the pool's parent process dies.
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

/*
 * Start an OS thread that runs fn(arg), like threading.Thread.start().
 *
 * out:     receives the handle, to be passed to jg_thread_join() exactly
 *          once; untouched on error.
 * fn:      the thread's function: the same jg_task_fn a task runs. In it,
 *          jg_sleep() blocks the thread.
 * arg:     passed to fn; the caller keeps it alive until fn is done.
 * opts:    optional; read during the call.
 * Returns: 0.
 * Errors:  -EINVAL for a NULL out or fn, or a stack_size below 16 KiB or
 *          refused by the system; -ENOMEM; -EAGAIN when the system cannot
 *          create another thread (its thread limit, or no memory for the
 *          stack). fn does not run on error.
 * Thread:  any thread, inside or outside a task.
 * Blocks:  no.
 */
JG_API int jg_thread_start(jg_thread **out, jg_task_fn fn, void *arg,
                           const jg_thread_opts *opts);

/*
 * Wait for a thread to finish and free its handle, like Thread.join().
 *
 * t:       a handle from jg_thread_start(); invalid after the call (except
 *          on -EINVAL and -EDEADLK).
 * result:  optional; receives fn's return value.
 * Returns: 0.
 * Errors:  -EINVAL for a NULL t; -EDEADLK when t is the calling thread.
 * Thread:  any thread, inside or outside a task; one join per handle.
 * Blocks:  inside a task, suspends the task (not its worker) until fn has
 *          returned; outside, blocks the thread. Not a cancellation point:
 *          jg_cancel() of the waiting task takes effect at its next one.
 */
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

/*
 * Start a child process (fork) that runs fn(arg) and sends back its result,
 * like multiprocessing.Process.start(). See the fork rules at the top.
 *
 * out:     receives the handle, to be passed to jg_process_join() exactly
 *          once (that also reaps the child); untouched on error.
 * fn:      runs in the child; its return value is the result. With
 *          result_size > 0 it must point to result_size readable bytes
 *          (static or heap memory of the child: a local of fn is gone once
 *          it returns).
 * arg:     passed to fn in the child (a pointer into the parent's memory as
 *          it was at the fork).
 * opts:    optional; read during the call.
 * Returns: 0 in the parent. The child never returns from this call: it
 *          runs fn and ends with _exit(0).
 * Errors:  -EINVAL for a NULL out or fn, or result_size over 1 GiB;
 *          -ENOMEM; -EAGAIN when the system cannot create a process (its
 *          process limit). fn does not run on error.
 * Thread:  any thread, inside or outside a task, also while runtimes'
 *          workers are running.
 * Blocks:  no (fork() itself takes time proportional to the memory
 *          mappings of the parent).
 */
JG_API int jg_process_start(jg_process **out, jg_task_fn fn, void *arg,
                            const jg_process_opts *opts);

/*
 * Wait for a child process to end, reap it, take its result and free the
 * handle, like Process.join() and Process.exitcode together.
 *
 * p:       a handle from jg_process_start(); invalid after the call
 *          (except on -EINVAL).
 * result:  optional; receives the result: result_size bytes, or (when
 *          result_size was 0) the void * fn returned. Written only when
 *          the call returns 0.
 * how:     optional; receives how the child ended (exited with code 0 when
 *          fn returned). Zeroed when the child could not be reaped.
 * Returns: 0 when fn returned in the child.
 * Errors:  -EINVAL for a NULL p; -ECHILD when the child ended without
 *          returning from fn: it called exit() (any code), crashed or was
 *          killed (see *how), or it had already been reaped by someone
 *          else (waitpid(-1) elsewhere, or SIGCHLD set to SIG_IGN);
 *          -ENODATA when fn returned NULL although result_size > 0.
 * Thread:  any thread, inside or outside a task; one join per handle.
 * Blocks:  until the child has ended (never longer: a dead child is
 *          noticed at once). Inside a task, suspends the task while a
 *          helper thread waits (blocks the worker only if no thread can be
 *          started); outside, blocks the thread. Not a cancellation point.
 */
JG_API int jg_process_join(jg_process *p, void *result, jg_exit *how);

/*
 * Describe how a child ended, for messages: "exited with code 3",
 * "killed by signal 9 (SIGKILL)".
 *
 * how:     as filled by jg_process_join().
 * buf:     receives the text, NUL-terminated and truncated to size bytes;
 *          may be NULL when size is 0 (to measure).
 * Returns: the length of the whole text (not counting the NUL), as
 *          snprintf does; a result >= size means it was truncated.
 * Errors:  -EINVAL for a NULL how, or a NULL buf with size > 0.
 * Thread:  any thread.
 * Blocks:  no.
 */
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
    /* Stack size in bytes of each worker thread, and so of each worker
     * process (forked by its thread); 0 = the system default, as for
     * jg_thread_start() (the stack rlimit, often 8 MiB, committed page by
     * page). At least 16 KiB. */
    size_t stack_size;
} jg_pool_opts;

/*
 * Create a pool of worker threads or worker processes, like
 * concurrent.futures' ThreadPoolExecutor / ProcessPoolExecutor. A process
 * pool forks its children now, once (see the fork rules at the top); each
 * child is managed by a thread of the pool, and replaced if it dies.
 *
 * out:     receives the pool; untouched on error.
 * opts:    optional; read during the call.
 * Returns: 0 once every worker (and child) has started.
 * Errors:  -EINVAL for a NULL out, an unknown kind, workers outside
 *          0..1024, arg_size / result_size over 1 GiB, or a stack_size
 *          below 16 KiB or refused by the system; -ENOMEM;
 *          -EAGAIN when a thread or a process cannot be created (those
 *          started so far are stopped first).
 * Thread:  any thread, inside or outside a task.
 * Blocks:  briefly, until the workers have started.
 */
JG_API int jg_pool_new(jg_pool **out, const jg_pool_opts *opts);

/*
 * Finish every item already submitted, stop the workers (and reap the
 * children) and free the pool, like Executor.shutdown(wait=True). Futures
 * stay valid (all of them done) and must still be freed by their owners.
 * No other call on the pool, nor a cancel or free of one of its futures,
 * may run during this one; none on the pool after it.
 *
 * p:       the pool; NULL is ignored.
 * Returns: 0.
 * Errors:  -EDEADLK when called by one of the pool's own worker threads
 *          (the pool is left as it was).
 * Thread:  any thread, inside or outside a task.
 * Blocks:  until the queued items are done: inside a task, suspends the
 *          task; outside, blocks the thread.
 */
JG_API int jg_pool_free(jg_pool *p);

/*
 * Queue fn(arg) to run on one of the pool's workers, like
 * Executor.submit(). Items start in the order they were submitted.
 *
 * p:       the pool.
 * out:     receives the future: wait for it with jg_future_wait() and
 *          release it with jg_future_free(); untouched on error.
 * fn:      the item's function (the same jg_task_fn a task runs). In a
 *          process pool it runs in a child: its result is copied back
 *          (result_size bytes, or the pointer value when 0).
 * arg:     thread pools and process pools with arg_size 0: passed as is
 *          (in a child, a pointer into the parent's memory as it was when
 *          the pool was created). arg_size > 0: arg_size bytes are copied
 *          now, and fn gets a pointer to the copy.
 * Returns: 0.
 * Errors:  -EINVAL for a NULL p, out or fn, or a NULL arg with
 *          arg_size > 0; -ENOMEM; -EPIPE when jg_pool_free() has begun.
 * Thread:  any thread, inside or outside a task.
 * Blocks:  no.
 */
JG_API int jg_pool_submit(jg_pool *p, jg_future **out, jg_task_fn fn,
                          void *arg);

/*
 * Wait for a future's item to finish and take its result, like
 * Future.result(timeout). May be called again after a timeout, and by
 * several waiters at once.
 *
 * f:        the future.
 * deadline: absolute time of jg_now() to give up at, or JG_FOREVER.
 * result:   optional; receives the result: for thread pools and process
 *           pools with result_size 0 a void * (fn's return value); for
 *           process pools with result_size > 0, result_size bytes.
 *           Written only when the call returns 0.
 * Returns:  0 when the item ran and returned.
 * Errors:   -EINVAL for a NULL f or a negative deadline other than
 *           JG_FOREVER; -ETIMEDOUT when the deadline passed first (the
 *           future is still valid); -ENOMEM when, inside a task, the
 *           deadline's timer could not be armed (the future is still
 *           valid); -ECANCELED when it was cancelled; -ECHILD when the
 *           worker process running it died (one that died before it took
 *           the item is replaced, and the item runs on the replacement);
 *           -ENODATA when fn returned NULL although result_size > 0;
 *           -EAGAIN when no worker process could be started to run it.
 * Thread:   any thread, inside or outside a task.
 * Blocks:   until done or the deadline: inside a task, suspends the task
 *           (not its worker); outside, blocks the thread. Not a
 *           cancellation point.
 */
JG_API int jg_future_wait(jg_future *f, int64_t deadline, void *result);

/*
 * Cancel a future's item if it has not started yet, like Future.cancel().
 * Its waiters then get -ECANCELED.
 *
 * f:       the future.
 * Returns: 0 when the item was taken out of the queue and will never run.
 * Errors:  -EINVAL for a NULL f; -EBUSY when the item is running;
 *          -EALREADY when it has finished or was cancelled before.
 * Thread:  any thread, inside or outside a task.
 * Blocks:  no.
 */
JG_API int jg_future_cancel(jg_future *f);

/*
 * Release a future. An item that has not started is cancelled; one that
 * is running finishes and its result is dropped. NULL is ignored.
 *
 * Thread:  any thread, once per future, after its last wait returned.
 * Blocks:  no.
 */
JG_API void jg_future_free(jg_future *f);

/* ---- map ---- */

/* A map body: read one input element, write one output element. Returns 0
 * or a negative errno value, which becomes that item's error. */
typedef int (*jg_map_fn)(void *ctx, const void *in, void *out);

/* Map options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_map_opts {
    /* Items per chunk handed to a worker; 0 = automatic (a few chunks per
     * worker). Any value over n means one chunk of all n items. */
    size_t chunk;
    /* Process pools: bytes of ctx copied to the children for this call
     * (fn gets a pointer to the copy); 0 = the ctx pointer is passed as
     * is, valid in a child only for memory that existed, with the wanted
     * contents, when the pool was created. Ignored elsewhere. */
    size_t ctx_size;
} jg_map_opts;

/*
 * Apply fn to each of n input elements, writing n output elements, like
 * Pool.map(): out[i] = fn(ctx, &in[i]), in chunks spread over the workers.
 * Items may run in any order and in parallel; each runs exactly once,
 * except that in a process pool an item whose child died while running it
 * gets -ECHILD (its output is left unspecified) and the rest of its chunk
 * is run by the other children and the replacement.
 *
 * p:        a pool, or NULL to run the map as juggle tasks (jg_par_for:
 *           inside a task on the current runtime, outside it on the
 *           default runtime). Thread pools and p == NULL read the inputs
 *           and write the outputs in place; process pools copy the inputs
 *           into memory shared with the children and the outputs back (no
 *           per-item messages). One map runs at a time per pool; a map
 *           starts on each worker once it has finished its current item.
 * fn:       the body; its return value (0 or a negative errno value) is
 *           the item's error code.
 * ctx:      passed to every call (see jg_map_opts.ctx_size for processes).
 * in:       n elements of in_size bytes (in_size may be 0); borrowed.
 * out:      room for n elements of out_size bytes (out_size may be 0).
 * n:        elements; 0 does nothing.
 * errors:   optional; receives each item's error code (n ints).
 * opts:     optional; read during the call.
 * Returns:  the number of items that failed (0 when all succeeded).
 * Errors:   -EINVAL for a NULL fn, a NULL in or out with a size > 0 and
 *           n > 0, sizes that overflow, or ctx_size > 0 with a NULL ctx
 *           or over 1 GiB; -ENOMEM (process pools: also when the shared
 *           memory cannot grow); -EAGAIN when the default runtime cannot
 *           start; -EDEADLK when called by a worker thread of p itself.
 *           Nothing ran, or nothing was written back, on error.
 * Thread:   any thread, inside or outside a task.
 * Blocks:   until every item is done: inside a task, suspends the task
 *           (with p == NULL, the task helps run the items); outside,
 *           blocks the thread. A task on a shared stack (JG_STACK_SHARED)
 *           must not pass in, out, errors or ctx on its stack to a thread
 *           pool or p == NULL: the workers use them in place while it is
 *           suspended.
 */
JG_API int jg_map(jg_pool *p, jg_map_fn fn, void *ctx, const void *in,
                  size_t in_size, void *out, size_t out_size, size_t n,
                  int *errors, const jg_map_opts *opts);

#endif /* JUGGLE_EXEC_H */
