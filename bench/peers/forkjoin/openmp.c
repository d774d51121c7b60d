/* OpenMP peer for juggle's fork-join benchmarks (gcc -O2 -fopenmp).
 *   openmp fib N [--workers W] [--cutoff C]   omp task / taskwait
 *   openmp sum [--n N] [--workers W]          parallel for reduction(+)
 * Prints one JSON line. */
#include <omp.h>

#include "common.h"

static int cutoff;

static int64_t fib(int n) {
    if (n < 2) return n;
    if (n < cutoff) return fib_serial(n);
    int64_t x, y;
#pragma omp task shared(x)
    x = fib(n - 1);
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

static int64_t sum_array(const int64_t *a, long n) {
    int64_t s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (long i = 0; i < n; i++) s += a[i];
    return s;
}

int main(int argc, char **argv) {
    struct fj_args a = fj_parse(argc, argv);
    omp_set_dynamic(0);
    omp_set_num_threads(a.workers);
    if (strcmp(a.bench, "fib") == 0) {
        cutoff = a.cutoff;
        int64_t r = 0;
        double t0 = fj_now();
#pragma omp parallel
#pragma omp single
        r = fib((int)a.n);
        double t = fj_now() - t0;
        printf("{\"bench\":\"fib\",\"impl\":\"openmp\",\"n\":%ld,\"workers\":%d,"
               "\"cutoff\":%d,\"seconds\":%.6f,\"result\":%lld}\n",
               a.n, a.workers, a.cutoff, t, (long long)r);
    } else {
        int64_t *arr = sum_fill(a.n);
        int64_t r;
        double t = fj_time_sum(sum_array, arr, a.n, &r); /* the warm-up pass starts the threads */
        printf("{\"bench\":\"sum\",\"impl\":\"openmp\",\"n\":%ld,\"workers\":%d,"
               "\"reps\":%d,\"seconds\":%.6f,\"result\":%lld}\n",
               a.n, a.workers, SUM_REPS, t, (long long)r);
        free(arr);
    }
    return 0;
}
