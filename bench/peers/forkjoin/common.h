/* Shared helpers for the C/C++ fork-join peers: argument parsing, the serial
 * Fibonacci used below a cutoff, the input array of the sum benchmark, a
 * monotonic clock, and the sum benchmark's timing loop. Header-only so each
 * peer is a single compile command. */
#ifndef FORKJOIN_COMMON_H
#define FORKJOIN_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUM_DEFAULT_N 100000000L
#define SUM_REPS 5 /* timed passes after one untimed warm-up pass */

struct fj_args {
    const char *bench; /* "fib" or "sum" */
    long n;            /* fib: argument; sum: elements */
    int workers;
    int cutoff; /* fib: below this, plain serial recursion (0: none) */
};

static inline void fj_usage(const char *prog) {
    fprintf(stderr,
            "usage: %s fib N [--workers W] [--cutoff C]\n"
            "       %s sum [--n N] [--workers W]\n",
            prog, prog);
    exit(2);
}

static inline struct fj_args fj_parse(int argc, char **argv) {
    struct fj_args a = {NULL, 0, 1, 0};
    if (argc < 2) fj_usage(argv[0]);
    a.bench = argv[1];
    int i = 2;
    if (strcmp(a.bench, "fib") == 0) {
        if (argc < 3) fj_usage(argv[0]);
        a.n = strtol(argv[2], NULL, 10);
        i = 3;
    } else if (strcmp(a.bench, "sum") == 0) {
        a.n = SUM_DEFAULT_N;
    } else {
        fj_usage(argv[0]);
    }
    for (; i < argc; i++) {
        if (i + 1 >= argc) fj_usage(argv[0]);
        if (strcmp(argv[i], "--workers") == 0) a.workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cutoff") == 0) a.cutoff = atoi(argv[++i]);
        else if (strcmp(argv[i], "--n") == 0) a.n = strtol(argv[++i], NULL, 10);
        else fj_usage(argv[0]);
    }
    if (a.workers < 1 || a.n < 0) fj_usage(argv[0]);
    return a;
}

static inline double fj_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int64_t fib_serial(int n) {
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

/* Element i of the sum benchmark's array: i % 1000, as juggle-bench's. The
 * array is filled before it is summed (and the fill is not timed), so the
 * compiler cannot fold the sum into a closed form. */
static inline int64_t sum_elem(int64_t i) { return i % 1000; }

static inline int64_t *sum_fill(long n) {
    int64_t *a = (int64_t *)malloc((size_t)n * sizeof *a);
    if (!a) { perror("malloc"); exit(1); }
    for (long i = 0; i < n; i++) a[i] = sum_elem(i);
    return a;
}

static int fj_cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static inline double fj_median(double *xs, int k) {
    qsort(xs, (size_t)k, sizeof *xs, fj_cmp_double);
    return k % 2 ? xs[k / 2] : 0.5 * (xs[k / 2 - 1] + xs[k / 2]);
}

/* The sum benchmark's timing: one untimed pass of sum over a[0..n) (its
 * result to *result), then SUM_REPS timed passes; returns their median.
 * Exits 1 ("sum changed") when a timed pass disagrees with the first. */
static inline double fj_time_sum(int64_t (*sum)(const int64_t *, long),
                                 const int64_t *a, long n, int64_t *result) {
    int64_t r = sum(a, n); /* warm-up pass, untimed */
    double ts[SUM_REPS];
    for (int k = 0; k < SUM_REPS; k++) {
        double t0 = fj_now();
        int64_t s = sum(a, n);
        ts[k] = fj_now() - t0;
        if (s != r) { fprintf(stderr, "sum changed\n"); exit(1); }
    }
    *result = r;
    return fj_median(ts, SUM_REPS);
}

#endif
