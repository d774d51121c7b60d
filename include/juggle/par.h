/* SPDX-License-Identifier: MIT */
/*
 * juggle/par.h - fork-join parallelism on the same workers as the tasks:
 * jg_par_join, jg_par_for and jg_par_reduce (Cilk, rayon, TBB style).
 *
 * Forks are lazy. jg_par_join(fa, a, fb, b) offers fb to other workers and
 * runs fa at once; if nobody took fb meanwhile, it runs fb too, inline: no
 * allocation, no stack, a few instructions. Only an fb that another worker
 * took (stole) runs elsewhere, as a task of its own, so it may sleep or wait
 * like any task. Meanwhile the task that forked it waits without holding
 * its worker, which runs other work.
 *
 * Functions report failure through their int result (0 or a negative errno
 * value); a join returns the first failure (fa's if both fail). A failure
 * does not stop the other side.
 *
 * Outside the runtime (a plain main or any thread that is not running a
 * task), these functions run on juggle's default runtime: one worker per
 * CPU, started by the first such call and kept until the process exits.
 * The calling thread blocks until the work is done. So a program can use
 * parallel loops without writing jg_run() first; inside a task, the task's
 * own runtime and workers are used.
 *
 * Thread: any thread. Blocks: suspends the calling task (or blocks a thread
 * outside the runtime) only while a stolen part is still running.
 */
#ifndef JUGGLE_PAR_H
#define JUGGLE_PAR_H

#include <stddef.h>
#include <stdint.h>

#include "juggle/base.h"

/* A fork: returns 0, or a negative errno value to report failure. */
typedef int (*jg_par_fn)(void *arg);

/* A loop body over the half-open range [lo, hi) of indices. */
typedef int (*jg_par_for_fn)(void *arg, int64_t lo, int64_t hi);

/* A reduction body: fold [lo, hi) into *acc (acc_size bytes, starting from
 * a copy of the identity). */
typedef int (*jg_par_reduce_fn)(void *arg, int64_t lo, int64_t hi, void *acc);

/* Combine: fold *right into *left. Called for neighbouring ranges, left
 * before right, so the combine need be associative but not commutative. */
typedef void (*jg_par_combine_fn)(void *arg, void *left, const void *right);

/*
 * Run fa(a) and fb(b), possibly in parallel; return when both are done.
 *
 * fa, fb:  the two functions; a, b their arguments (borrowed until the
 *          call returns).
 * Returns: 0 when both returned 0.
 * Errors:  -EINVAL for a NULL function (neither runs); otherwise the first
 *          negative result of fa, then fb; -ENOMEM when the default runtime
 *          cannot start (outside the runtime only).
 * Thread:  any thread.
 * Blocks:  see the top of this header.
 */
JG_API int jg_par_join(jg_par_fn fa, void *a, jg_par_fn fb, void *b);

/*
 * Run body(arg, l, h) over sub-ranges [l, h) that together cover [lo, hi)
 * exactly once, in parallel.
 *
 * grain:   the largest range run without splitting further; 0 = automatic:
 *          split while other workers are idle, run serial chunks otherwise.
 * Returns: 0 when every call returned 0 (also for an empty range).
 * Errors:  -EINVAL for a NULL body, lo > hi or grain < 0; else the first
 *          failure of a body call, in index order of the failing ranges;
 *          -ENOMEM as jg_par_join.
 * Thread, Blocks: as jg_par_join.
 */
JG_API int jg_par_for(int64_t lo, int64_t hi, int64_t grain,
                      jg_par_for_fn body, void *arg);

/*
 * A parallel fold of [lo, hi): each sub-range is folded by body into an
 * accumulator that starts as a copy of identity, and neighbouring results
 * are combined, left with right, into *result.
 *
 * acc_size: bytes of one accumulator (identity and result point to that
 *           many bytes); 1 .. 4096. The accumulators the call makes are
 *           aligned to 64 bytes (any vector type); result has the
 *           caller's alignment.
 * result:   receives the fold; for an empty range, a copy of identity.
 *           May overlap identity (even be the same buffer).
 * Returns:  0 when every body call returned 0.
 * Errors:   -EINVAL for a NULL pointer, lo > hi, grain < 0 or a bad
 *           acc_size (result is untouched); -ENOMEM; else the first
 *           failure, as jg_par_for (result is then unspecified).
 * Thread, Blocks: as jg_par_join.
 */
JG_API int jg_par_reduce(int64_t lo, int64_t hi, int64_t grain,
                         jg_par_reduce_fn body, jg_par_combine_fn combine,
                         void *arg, const void *identity, size_t acc_size,
                         void *result);

#endif /* JUGGLE_PAR_H */
