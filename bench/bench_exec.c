/* SPDX-License-Identifier: MIT */
/*
 * bench_exec.c - juggle-bench's subcommands for threads, processes, pools
 * and map (run by bench/exec.sh next to raw pthread/fork in C and Python's
 * concurrent.futures and multiprocessing). Each prints one JSON line.
 *
 *   threads   [--count N] [--batch B]   start+join N threads (100,000),
 *                                       B at a time (100)
 *   processes [--count N] [--batch B]   start+join N processes (10,000),
 *                                       B at a time (100); the child
 *                                       returns at once
 *   map --pool threads|processes --items N [--workers W] [--chunk C]
 *             f(x) = x*2+1 over N int64 items (100,000) on a pool of W
 *             workers (2); the pool is started and warmed up with one map
 *             of the same size first; the median of 5 timed maps is
 *             reported, and the sum of the outputs (N*N) as a check
 *   fib4 --model serial|threads|processes|tasks1|tasks2 [--n N]
 *             4 naive fib(N) (30): one after another, one thread each,
 *             one child process each, or 4 juggle tasks on 1 or 2
 *             workers; the time includes creating and joining them (and,
 *             for tasks, starting and stopping the runtime)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <juggle.h>

#include "bench_exec.h"

static void fail(const char *what, int rc) {
    fprintf(stderr, "juggle-bench: %s: %s\n", what, jg_strerror(rc));
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "usage: juggle-bench threads|processes [--count N] [--batch B]\n"
            "       juggle-bench map --pool threads|processes --items N "
            "[--workers W] [--chunk C]\n"
            "       juggle-bench fib4 --model serial|threads|processes|"
            "tasks1|tasks2 [--n N]\n");
    exit(2);
}

/* Options shared by the subcommands: --name value pairs. */
struct args {
    long count, items;
    int batch, workers, n;
    size_t chunk;
    const char *pool, *model;
};

static struct args parse(int argc, char **argv) {
    struct args a = {
        .count = -1, .items = 100000, .batch = 100, .workers = 2, .n = 30};
    for (int i = 0; i < argc; i += 2) {
        if (i + 1 >= argc) {
            usage();
        }
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--count") == 0) {
            a.count = atol(v);
        } else if (strcmp(k, "--batch") == 0) {
            a.batch = atoi(v);
        } else if (strcmp(k, "--items") == 0) {
            a.items = atol(v);
        } else if (strcmp(k, "--workers") == 0) {
            a.workers = atoi(v);
        } else if (strcmp(k, "--chunk") == 0) {
            a.chunk = (size_t)atol(v);
        } else if (strcmp(k, "--n") == 0) {
            a.n = atoi(v);
        } else if (strcmp(k, "--pool") == 0) {
            a.pool = v;
        } else if (strcmp(k, "--model") == 0) {
            a.model = v;
        } else {
            usage();
        }
    }
    if (a.batch < 1 || a.workers < 1 || a.items < 1 || a.n < 0) {
        usage();
    }
    return a;
}

/* ---- start + join ---- */

static void *empty(void *arg) {
    return arg;
}

int jg__bench_threads(int argc, char **argv) {
    struct args a = parse(argc, argv);
    long count = a.count < 0 ? 100000 : a.count;
    jg_thread **t = malloc((size_t)a.batch * sizeof(*t));
    int64_t t0 = jg_now();
    for (long done = 0; done < count; done += a.batch) {
        int k = count - done < a.batch ? (int)(count - done) : a.batch;
        for (int i = 0; i < k; i++) {
            int rc = jg_thread_start(&t[i], empty, NULL, NULL);
            if (rc < 0) {
                fail("jg_thread_start", rc);
            }
        }
        for (int i = 0; i < k; i++) {
            jg_thread_join(t[i], NULL);
        }
    }
    double ns = (double)(jg_now() - t0);
    printf("{\"bench\":\"threads\",\"impl\":\"juggle\",\"count\":%ld,"
           "\"batch\":%d,\"ns_per_thread\":%.1f}\n",
           count, a.batch, ns / (double)count);
    free(t);
    return 0;
}

int jg__bench_processes(int argc, char **argv) {
    struct args a = parse(argc, argv);
    long count = a.count < 0 ? 10000 : a.count;
    jg_process **p = malloc((size_t)a.batch * sizeof(*p));
    fflush(stdout);
    int64_t t0 = jg_now();
    for (long done = 0; done < count; done += a.batch) {
        int k = count - done < a.batch ? (int)(count - done) : a.batch;
        for (int i = 0; i < k; i++) {
            int rc = jg_process_start(&p[i], empty, NULL, NULL);
            if (rc < 0) {
                fail("jg_process_start", rc);
            }
        }
        for (int i = 0; i < k; i++) {
            int rc = jg_process_join(p[i], NULL, NULL);
            if (rc < 0) {
                fail("jg_process_join", rc);
            }
        }
    }
    double ns = (double)(jg_now() - t0);
    printf("{\"bench\":\"processes\",\"impl\":\"juggle\",\"count\":%ld,"
           "\"batch\":%d,\"ns_per_process\":%.1f}\n",
           count, a.batch, ns / (double)count);
    free(p);
    return 0;
}

/* ---- map ---- */

static int f(void *ctx, const void *in, void *out) {
    (void)ctx;
    *(int64_t *)out = *(const int64_t *)in * 2 + 1;
    return 0;
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

int jg__bench_map(int argc, char **argv) {
    struct args a = parse(argc, argv);
    if (a.pool == NULL ||
        (strcmp(a.pool, "threads") != 0 && strcmp(a.pool, "processes") != 0)) {
        usage();
    }
    size_t n = (size_t)a.items;
    int64_t *in = malloc(n * sizeof(*in));
    int64_t *out = malloc(n * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        in[i] = (int64_t)i;
    }
    jg_pool_opts po = {.workers = a.workers,
                       .kind = strcmp(a.pool, "threads") == 0
                                   ? JG_POOL_THREADS
                                   : JG_POOL_PROCESSES};
    fflush(stdout);
    jg_pool *p;
    int rc = jg_pool_new(&p, &po);
    if (rc < 0) {
        fail("jg_pool_new", rc);
    }
    jg_map_opts mo = {.chunk = a.chunk};
    enum { RUNS = 5 };
    int64_t ns[RUNS];
    for (int r = -1; r < RUNS; r++) { /* r == -1: the warm-up. */
        int64_t t0 = jg_now();
        rc = jg_map(p, f, NULL, in, sizeof(*in), out, sizeof(*out), n, NULL,
                    &mo);
        if (r >= 0) {
            ns[r] = jg_now() - t0;
        }
        if (rc != 0) {
            fail("jg_map", rc < 0 ? rc : -EIO);
        }
    }
    qsort(ns, RUNS, sizeof(ns[0]), cmp_i64);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += out[i];
    }
    size_t chunk = a.chunk != 0 ? a.chunk : n / ((size_t)a.workers * 8);
    printf("{\"bench\":\"map\",\"impl\":\"juggle\",\"pool\":\"%s\","
           "\"workers\":%d,\"items\":%zu,\"chunksize\":%zu,\"runs\":%d,"
           "\"ns_per_item\":%.2f,\"result\":%lld}\n",
           a.pool, a.workers, n, chunk > 0 ? chunk : 1, RUNS,
           (double)ns[RUNS / 2] / (double)n, (long long)sum);
    jg_pool_free(p);
    free(in);
    free(out);
    return 0;
}

/* ---- fib4 ---- */

enum { TASKS = 4 };
static volatile int fib_arg; /* Read through a volatile: no merged calls. */

static int64_t fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* The task function every model runs. */
static void *fib_task(void *arg) {
    (void)arg;
    return (void *)(intptr_t)fib(fib_arg);
}

static void *fib_main(void *arg) {
    intptr_t *r = arg;
    jg_task *t[TASKS];
    for (int i = 0; i < TASKS; i++) {
        int rc = jg_spawn(&t[i], fib_task, NULL, NULL);
        if (rc < 0) {
            fail("jg_spawn", rc);
        }
    }
    jg_gather(t, TASKS, (void **)r);
    return NULL;
}

static void fib_threads(intptr_t *r) {
    jg_thread *t[TASKS];
    for (int i = 0; i < TASKS; i++) {
        int rc = jg_thread_start(&t[i], fib_task, NULL, NULL);
        if (rc < 0) {
            fail("jg_thread_start", rc);
        }
    }
    for (int i = 0; i < TASKS; i++) {
        jg_thread_join(t[i], (void **)&r[i]);
    }
}

static void fib_processes(intptr_t *r) {
    jg_process *p[TASKS];
    fflush(stdout);
    for (int i = 0; i < TASKS; i++) {
        int rc = jg_process_start(&p[i], fib_task, NULL, NULL);
        if (rc < 0) {
            fail("jg_process_start", rc);
        }
    }
    for (int i = 0; i < TASKS; i++) {
        int rc = jg_process_join(p[i], &r[i], NULL);
        if (rc < 0) {
            fail("jg_process_join", rc);
        }
    }
}

/* One run of the model; returns its seconds, results in r. */
static double fib4_once(const char *model, intptr_t *r) {
    int64_t t0 = jg_now();
    if (strcmp(model, "serial") == 0) {
        for (int i = 0; i < TASKS; i++) {
            r[i] = (intptr_t)fib_task(NULL);
        }
    } else if (strcmp(model, "threads") == 0) {
        fib_threads(r);
    } else if (strcmp(model, "processes") == 0) {
        fib_processes(r);
    } else if (strcmp(model, "tasks1") == 0 ||
               strcmp(model, "tasks2") == 0) {
        jg_run_opts o = {.workers = model[5] - '0'};
        int rc = jg_run(fib_main, r, &o, NULL);
        if (rc < 0) {
            fail("jg_run", rc);
        }
    } else {
        usage();
    }
    double s = (double)(jg_now() - t0) / 1e9;
    for (int i = 1; i < TASKS; i++) {
        if (r[i] != r[0]) {
            fail("fib4: results differ", -EIO);
        }
    }
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One untimed run (the second vCPU of an idle VM may take a while to come
 * back), then FIB4_REPS timed ones: the median is reported, as the C peer
 * in bench/peers/exec does. A parallel model's reps are paired with serial
 * runs in the same process, each serial run right before the model's:
 * these machines change speed from one second to the next, so the
 * speed-up reported is the median of the per-pair ratios. */
#define FIB4_REPS 7

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

int jg__bench_fib4(int argc, char **argv) {
    struct args a = parse(argc, argv);
    if (a.model == NULL) {
        usage();
    }
    fib_arg = a.n;
    bool paired = strcmp(a.model, "serial") != 0;
    intptr_t r[TASKS] = {0}, rs[TASKS] = {0};
    double times[FIB4_REPS], serial[FIB4_REPS], ratios[FIB4_REPS];
    if (paired) {
        fib4_once("serial", rs);
    }
    fib4_once(a.model, r);
    for (int k = 0; k < FIB4_REPS; k++) {
        serial[k] = paired ? fib4_once("serial", rs) : 0;
        times[k] = fib4_once(a.model, r);
        ratios[k] = paired ? serial[k] / times[k] : 0;
    }
    if (paired && rs[0] != r[0]) {
        fail("fib4: serial and parallel results differ", -EIO);
    }
    double s = median(times, FIB4_REPS);
    if (paired) {
        printf("{\"bench\":\"fib4\",\"impl\":\"juggle\",\"model\":\"%s\","
               "\"n\":%d,\"tasks\":%d,\"seconds\":%.6f,"
               "\"serial_seconds\":%.6f,\"speedup\":%.3f,\"result\":%lld}\n",
               a.model, a.n, TASKS, s, median(serial, FIB4_REPS),
               median(ratios, FIB4_REPS), (long long)r[0]);
        return 0;
    }
    printf("{\"bench\":\"fib4\",\"impl\":\"juggle\",\"model\":\"%s\","
           "\"n\":%d,\"tasks\":%d,\"seconds\":%.6f,\"result\":%lld}\n",
           a.model, a.n, TASKS, s, (long long)r[0]);
    return 0;
}
