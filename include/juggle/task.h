/* SPDX-License-Identifier: MIT */
/*
 * juggle/task.h - lightweight tasks (stackful coroutines) on an M:N
 * work-stealing scheduler: the runtime, spawn, join, gather, sleep, yield and
 * cancel. This is asyncio in C: jg_run() is asyncio.run(), jg_spawn() is
 * create_task(), jg_join()/jg_gather() are await/gather, jg_sleep() is
 * asyncio.sleep() and jg_cancel() is Task.cancel().
 *
 * A task is an ordinary C function with its own stack. Any function it calls,
 * however deep, may call jg_sleep() or jg_join(): the task suspends and the
 * worker thread runs other tasks meanwhile. Tasks are scheduled cooperatively:
 * a task keeps its worker until it blocks, yields or returns.
 *
 * The same task function runs unchanged outside the runtime: there
 * jg_sleep() blocks the calling thread and jg_yield() yields the thread.
 *
 * Thread: a jg_task handle may be passed between tasks and threads of its
 * runtime; the functions below say who may call them. Handles are valid until
 * they are joined, or until jg_run() returns.
 *
 * Per-thread state is the worker's, not the task's: a task may resume on
 * another worker after any call that suspends it, so its thread-locals
 * and its signal mask (pthread_sigmask) are those of whichever thread
 * runs it now. Set a signal mask before jg_run() (the
 * workers inherit it) rather than from a task: a task that changes it
 * changes it for its worker's other tasks, and may lose it when it moves
 * (under the ucontext fallback switch, a build option, the mask travels
 * with the task instead; rely on neither).
 */
#ifndef JUGGLE_TASK_H
#define JUGGLE_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "juggle/base.h"

/* A task: opaque. Created by jg_spawn(), consumed by jg_join(). */
typedef struct jg_task jg_task;

/*
 * The body of a task, a thread or a process: the same signature everywhere.
 * arg is whatever the spawner passed; the return value is the result that
 * jg_join() hands back (NULL if unused).
 */
typedef void *(*jg_task_fn)(void *arg);

/* Where a task's stack lives. */
typedef enum jg_stack_mode {
    /* The runtime's choice: jg_run_opts.stack_mode, itself default private. */
    JG_STACK_DEFAULT = 0,
    /*
     * A stack of its own (stack_size bytes, committed by the kernel page by
     * page as the task touches it), carved from large slabs and recycled.
     */
    JG_STACK_PRIVATE = 1,
    /*
     * Run on its worker's shared stack; while suspended, the task keeps only
     * the bytes of stack it actually uses (often a few hundred), copied out.
     * Costs a copy on each switch between two shared-stack tasks; for huge
     * numbers of mostly-idle tasks. A shared-stack task is pinned to the
     * worker it first ran on, and must not let pointers to its stack
     * variables escape to other tasks (the bytes move while it is
     * suspended).
     */
    JG_STACK_SHARED = 2,
} jg_stack_mode;

/*
 * Guard pages below stacks. A task that runs into the guard page ends the
 * program with a message naming it. As with threads, a single stack frame
 * bigger than the guard (4 KiB) can jump past it; compile such code with
 * gcc's -fstack-clash-protection, which makes big frames touch each page.
 */
typedef enum jg_guard_mode {
    /*
     * Guard every stack. Uses MADV_GUARD_INSTALL where the kernel has it
     * (Linux 6.13+: no extra mappings). Elsewhere each guard page costs two
     * entries of the process's mapping table (vm.max_map_count, usually
     * 65530), so after 16384 guarded stacks new stacks are unguarded.
     */
    JG_GUARD_DEFAULT = 0,
    /* Guard every stack; fail jg_spawn's task with -ENOMEM when impossible. */
    JG_GUARD_ALWAYS = 1,
    /* No guard pages. */
    JG_GUARD_NEVER = 2,
} jg_guard_mode;

/* Runtime options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_run_opts {
    /*
     * Worker threads: 0 = one per CPU the process may run on; 1 = a
     * single-threaded event loop (the asyncio case). The thread that calls
     * jg_run() is worker 0. At most 1024.
     */
    int workers;
    /* Default for tasks spawned with JG_STACK_DEFAULT. */
    jg_stack_mode stack_mode;
    /*
     * Bytes of each private stack; 0 = 64 KiB (256 KiB in sanitizer
     * builds). Rounded up to whole pages; at least 16 KiB, at most 1 GiB.
     */
    size_t stack_size;
    /* Bytes of each worker's shared stack; 0 = 256 KiB. Same bounds. */
    size_t shared_stack_size;
    /* Guard pages under private and shared stacks. */
    jg_guard_mode guard;
    /*
     * Capacity of each worker's run queue, a power of two >= 2; 0 = 1024.
     * Work beyond it spills to the global queue. Small values exist for
     * testing the spill and steal paths.
     */
    int queue_capacity;
    /*
     * Record a timeline into this trace (juggle/trace.h): one slice per
     * stretch a task ran on a worker. NULL = no recording (and no cost).
     * The trace must outlive jg_run().
     */
    struct jg_trace *trace;
    /*
     * Threads of the blocking pool behind jg_blocking() and regular-file
     * I/O without io_uring (juggle/io.h); 0 = 16, at most 1024. Threads
     * start lazily, when a call finds none idle.
     */
    int blocking_threads;
} jg_run_opts;

/* Spawn options. All-zero (or a NULL pointer) means "defaults". */
typedef struct jg_spawn_opts {
    /* A name for messages, traces and debuggers; copied, truncated to 23
     * bytes. NULL = "task-<id>". */
    const char *name;
    /* JG_STACK_DEFAULT = the runtime's default mode. */
    jg_stack_mode stack_mode;
    /* Private stack size in bytes; 0 = the runtime's. Same bounds as
     * jg_run_opts.stack_size. Ignored for shared stacks. */
    size_t stack_size;
} jg_spawn_opts;

/*
 * Start a runtime, run main(arg) as its first task, and return when main and
 * every task spawned (directly or not) have finished. Worker threads are
 * started before main runs and stopped before jg_run() returns. Task handles
 * that were never joined are released here.
 *
 * main:    the first task's function; its return value goes to *result.
 * arg:     passed to main; borrowed.
 * opts:    optional; read during the call.
 * result:  optional; receives main's return value.
 * Returns: 0 when every task has finished.
 * Errors:  -EINVAL for a NULL main or out-of-range options; -EBUSY when
 *          called from inside a task (the worker would block); -ENOMEM;
 *          -EAGAIN when a worker thread cannot be created (the threads
 *          started so far are stopped first).
 * Thread:  any thread not running a task. Several threads may run separate
 *          runtimes at once.
 * Blocks:  the calling thread, which becomes worker 0, until the end.
 */
JG_API int jg_run(jg_task_fn main, void *arg, const jg_run_opts *opts,
                  void **result);

/*
 * Create a task that runs fn(arg). It becomes runnable at once; the caller
 * keeps running. Its stack is taken when it first runs, so spawning never
 * touches new memory pages.
 *
 * out:     receives the handle, which must be passed to jg_join() or
 *          jg_gather() exactly once (or left until jg_run() returns). NULL
 *          makes a detached task: nobody joins it, jg_run() still waits for
 *          it.
 * fn:      the task's function.
 * arg:     passed to fn; the caller keeps it alive until fn is done with it.
 * opts:    optional; read during the call.
 * Returns: 0, with *out set; *out is untouched on error.
 * Errors:  -EINVAL for a NULL fn or bad options; -EPERM when not called from
 *          a task; -ENOMEM.
 * Thread:  a task of the runtime.
 * Blocks:  no.
 */
JG_API int jg_spawn(jg_task **out, jg_task_fn fn, void *arg,
                    const jg_spawn_opts *opts);

/*
 * Wait for a task to finish and take its result. On success the handle is
 * consumed and must not be used again (joining twice is a contract
 * violation, caught by an assertion while the memory has not been reused).
 *
 * t:       a handle from jg_spawn().
 * result:  optional; receives fn's return value.
 * Returns: 0 once t has finished.
 * Errors:  -EINVAL for a NULL t; -EDEADLK when t is the calling task;
 *          -EPERM when not called from a task; -ECANCELED when the caller
 *          was cancelled while waiting (t keeps running and the handle stays
 *          valid: cancel it and join again, as asyncio code does); -ENOMEM
 *          when t could never start because no stack could be had for it
 *          (the handle is consumed).
 * Thread:  a task of t's runtime.
 * Blocks:  suspends the calling task until t finishes. When every
 *          unfinished task of the runtime waits in jg_join() or
 *          jg_gather() for another one, or in a jg_par_* join for the
 *          task running its stolen half (a deadlock: none will ever
 *          finish), the runtime notices within a fraction of a second
 *          and ends the program with a message that names the tasks and
 *          whom each waits for (SIGABRT). Waits for anything else (sleep,
 *          I/O, threads, the blocking pool) never count as such.
 */
JG_API int jg_join(jg_task *t, void **result);

/*
 * Wait for n tasks (asyncio.gather): join each of them. Every handle is
 * consumed, whatever the outcome.
 *
 * tasks:   n handles from jg_spawn(); none NULL, none repeated.
 * results: optional array of n slots; results[i] receives tasks[i]'s
 *          result (NULL for one that could not start).
 * Returns: 0 when all have finished.
 * Errors:  -EINVAL for a NULL array or element, or a handle given twice
 *          (nothing is consumed then);
 *          -EPERM when not called from a task; -ECANCELED when the caller
 *          was cancelled while waiting: every task not yet finished is then
 *          cancelled in turn and waited for, so none outlives the call;
 *          -ENOMEM when a task could never start (the others are still
 *          waited for).
 * Thread:  a task of the tasks' runtime.
 * Blocks:  suspends the calling task until all have finished; a deadlock
 *          ends the program as with jg_join().
 */
JG_API int jg_gather(jg_task *const *tasks, size_t n, void **results);

/*
 * Sleep for ns nanoseconds. In a task it suspends the task only; outside the
 * runtime it blocks the calling thread, so one function runs unchanged in
 * both. ns <= 0 yields (as asyncio.sleep(0) does).
 *
 * Returns: 0 after the time has passed.
 * Errors:  -ECANCELED when the task was cancelled before or during the sleep
 *          (the cancellation is then consumed); -ENOMEM when the timer
 *          cannot be stored (the task did not sleep).
 * Thread:  any thread.
 * Blocks:  suspends the calling task, or blocks a thread outside the runtime.
 */
JG_API int jg_sleep(int64_t ns);

/*
 * Sleep until the monotonic clock reads deadline (see jg_now()); as
 * jg_sleep() otherwise. JG_FOREVER sleeps until cancelled.
 *
 * Errors:  -EINVAL for a negative deadline other than JG_FOREVER, or for
 *          JG_FOREVER outside the runtime (nothing could end it);
 *          -ECANCELED as jg_sleep().
 */
JG_API int jg_sleep_until(int64_t deadline);

/*
 * Let other runnable tasks run, then continue (asyncio.sleep(0)). Outside
 * the runtime, sched_yield(2).
 *
 * Returns: 0.
 * Thread:  any thread.
 * Blocks:  no (the task goes to the back of its worker's queue).
 */
JG_API int jg_yield(void);

/*
 * Ask a task to stop. If it is blocked in jg_sleep(), jg_join() or
 * jg_gather() it wakes there with -ECANCELED; otherwise its next such call
 * returns -ECANCELED at once. Each jg_cancel() is delivered once, as in
 * asyncio; a task that wants to stop returns from its function.
 *
 * t:       a handle that is still valid (not yet joined).
 * Returns: 0 when the request was made.
 * Errors:  -EINVAL for a NULL t; -EALREADY when t has already finished.
 * Thread:  any thread, inside or outside the runtime.
 * Blocks:  no.
 */
JG_API int jg_cancel(jg_task *t);

/*
 * The calling task.
 *
 * Returns: the current task's handle (do not join it), or NULL when the
 *          caller is not a task.
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API jg_task *jg_self(void);

/*
 * A task's name: the one given to jg_spawn(), else "task-<id>" where id is
 * unique in the runtime (main is "main"). Workers number their spawns from
 * blocks of ids, so on one worker they count 1, 2, 3, ... in spawn order,
 * and on several each worker's spawns count up from its own block.
 *
 * t:       a valid handle, or NULL for the calling task.
 * Returns: a string that lives as long as the handle; "" when t is NULL and
 *          the caller is not a task.
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API const char *jg_task_name(const jg_task *t);

/*
 * Which worker thread runs the caller.
 *
 * Returns: 0 .. workers-1 inside a task; -1 outside the runtime.
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API int jg_worker_index(void);

/*
 * How many worker threads the caller's runtime has.
 *
 * Returns: the count inside a task; 0 outside the runtime.
 * Thread:  any thread.
 * Blocks:  no.
 */
JG_API int jg_worker_count(void);

#endif /* JUGGLE_TASK_H */
