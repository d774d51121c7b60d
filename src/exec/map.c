/* SPDX-License-Identifier: MIT */
/*
 * map.c - jg_map: apply a function to every element of an array, in
 * chunks, on a thread pool, a process pool (pool_proc.c) or juggle's own
 * workers (jg_par_for, when no pool is given).
 *
 * On threads the workers read the caller's inputs and write its outputs in
 * place: a worker claims a chunk with one fetch_add and runs its items with
 * no lock and no shared write but the outputs and error codes; failures are
 * added up once per chunk.
 */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "exec/pool.h"
#include "juggle/par.h"
#include "os/os.h"

/* Chunks per worker when the caller leaves the size to us: enough to even
 * out unequal items and a slow worker, few enough that claiming costs
 * nothing next to the items (Python's Pool.map uses 4 per worker). */
#define CHUNKS_PER_WORKER 8
#define MAX_CTX ((size_t)1 << 30)

/* Run items [lo, hi) of job; returns how many failed. */
static size_t run_range(const struct jg__map_job *job, size_t lo, size_t hi) {
    size_t failed = 0;
    const char *in = job->in + lo * job->in_size;
    char *out = job->out + lo * job->out_size;
    for (size_t i = lo; i < hi; i++) {
        int rc = job->fn(job->ctx, in, out);
        if (job->errors != NULL) {
            job->errors[i] = rc;
        }
        failed += rc < 0;
        in += job->in_size;
        out += job->out_size;
    }
    return failed;
}

void jg__map_run_chunks(struct jg__map_job *job) {
    size_t failed = 0;
    for (;;) {
        /* Relaxed: the job was published under the pool's lock, and the
         * results are published by the pending count and the latch. */
        size_t c =
            atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (c >= job->nchunks) {
            break;
        }
        size_t lo = c * job->chunk;
        size_t hi = lo + job->chunk < job->n ? lo + job->chunk : job->n;
        failed += run_range(job, lo, hi);
    }
    if (failed > 0) {
        atomic_fetch_add_explicit(&job->failed, failed, memory_order_relaxed);
    }
}

static int body(void *arg, int64_t lo, int64_t hi) {
    struct jg__map_job *job = arg;
    size_t failed = run_range(job, (size_t)lo, (size_t)hi);
    if (failed > 0) {
        atomic_fetch_add_explicit(&job->failed, failed, memory_order_relaxed);
    }
    return 0;
}

static int clamp(size_t failed) {
    return failed > INT32_MAX ? INT32_MAX : (int)failed;
}

/* Does n * size overflow? */
static bool too_big(size_t n, size_t size) {
    return size != 0 && n > SIZE_MAX / size;
}

int jg_map(jg_pool *p, jg_map_fn fn, void *ctx, const void *in, size_t in_size,
           void *out, size_t out_size, size_t n, int *errors,
           const jg_map_opts *opts) {
    jg_map_opts o = opts ? *opts : (jg_map_opts){0};
    if (fn == NULL || (in == NULL && in_size > 0 && n > 0) ||
        (out == NULL && out_size > 0 && n > 0) || too_big(n, in_size) ||
        too_big(n, out_size) || n > INT64_MAX || o.ctx_size > MAX_CTX ||
        (o.ctx_size > 0 && ctx == NULL)) {
        return -EINVAL;
    }
    if (p != NULL) {
        pthread_t self = pthread_self();
        for (int i = 0; i < p->o.workers; i++) {
            if (pthread_equal(p->w[i].th, self)) {
                return -EDEADLK; /* The round would wait for us. */
            }
        }
    }
    if (n == 0) {
        return 0;
    }
    int workers = p != NULL ? p->o.workers : jg__os_ncpus();
    size_t chunk = o.chunk;
    if (chunk == 0) {
        chunk = n / ((size_t)workers * CHUNKS_PER_WORKER);
        if (chunk == 0) {
            chunk = 1;
        }
    }
    if (chunk > n) {
        chunk = n; /* One chunk; and n + chunk - 1 cannot wrap below. */
    }
    if (p != NULL && p->o.kind == JG_POOL_PROCESSES) {
        return jg__pool_proc_map(p, fn, ctx, o.ctx_size, in, in_size, out,
                                 out_size, n, errors, chunk);
    }
    /* On the heap: the workers read it while the caller may be a
     * suspended task, whose stack may be shared (exec/latch.c). */
    struct jg__map_job *job = jg__calloc(1, sizeof(*job));
    if (job == NULL) {
        return -ENOMEM;
    }
    *job = (struct jg__map_job){.fn = fn,
                                .ctx = ctx,
                                .in = in,
                                .out = out,
                                .in_size = in_size,
                                .out_size = out_size,
                                .n = n,
                                .errors = errors,
                                .chunk = chunk,
                                .nchunks = (n + chunk - 1) / chunk};
    int rc;
    if (p == NULL) {
        /* chunk <= n <= INT64_MAX: the cast is exact. */
        rc = jg_par_for(0, (int64_t)n, o.chunk > 0 ? (int64_t)chunk : 0, body,
                        job);
    } else {
        rc = jg__pool_map_lock(p);
        if (rc == 0) {
            jg__pool_map_round(p, job);
            jg__pool_map_unlock(p);
        }
    }
    if (rc == 0) {
        rc = clamp(atomic_load(&job->failed));
    }
    jg__free(job, sizeof(*job));
    return rc;
}
