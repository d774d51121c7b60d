/* Serial baseline for juggle's fork-join benchmarks: the same naive
 * recursion and the same array sum as the parallel peers, as plain C with no
 * runtime at all (gcc -O2). Prints one JSON line.
 *   serial fib N [--cutoff C]     (--workers and --cutoff accepted, ignored)
 *   serial sum [--n N] */
#include "common.h"

static int64_t sum_array(const int64_t *a, long n) {
    int64_t s = 0;
    for (long i = 0; i < n; i++) s += a[i];
    return s;
}

int main(int argc, char **argv) {
    struct fj_args a = fj_parse(argc, argv);
    if (strcmp(a.bench, "fib") == 0) {
        double t0 = fj_now();
        int64_t r = fib_serial((int)a.n);
        double t = fj_now() - t0;
        printf("{\"bench\":\"fib\",\"impl\":\"serial\",\"n\":%ld,\"workers\":1,"
               "\"seconds\":%.6f,\"result\":%lld}\n",
               a.n, t, (long long)r);
    } else {
        int64_t *arr = sum_fill(a.n);
        int64_t r;
        double t = fj_time_sum(sum_array, arr, a.n, &r);
        printf("{\"bench\":\"sum\",\"impl\":\"serial\",\"n\":%ld,\"workers\":1,"
               "\"reps\":%d,\"seconds\":%.6f,\"result\":%lld}\n",
               a.n, SUM_REPS, t, (long long)r);
        free(arr);
    }
    return 0;
}
