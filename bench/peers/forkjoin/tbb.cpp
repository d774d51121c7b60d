// oneTBB peer for juggle's fork-join benchmark (g++ -O2, -ltbb):
//   tbb fib N [--workers W] [--cutoff C]
// Each call with n >= 2 runs fib(n-1) in a task_group and computes fib(n-2)
// itself. W threads via global_control plus a task_arena of W slots.
// Prints one JSON line.
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <cstring>

#include "common.h"

static int cutoff;

static int64_t fib(int n) {
    if (n < 2) return n;
    if (n < cutoff) return fib_serial(n);
    int64_t x, y;
    tbb::task_group g;
    g.run([&] { x = fib(n - 1); });
    y = fib(n - 2);
    g.wait();
    return x + y;
}

int main(int argc, char **argv) {
    fj_args a = fj_parse(argc, argv);
    if (std::strcmp(a.bench, "fib") != 0) fj_usage(argv[0]);
    cutoff = a.cutoff;
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, a.workers);
    tbb::task_arena arena(a.workers);
    arena.initialize();
    int64_t r = 0;
    double t0 = fj_now();
    arena.execute([&] { r = fib((int)a.n); });
    double t = fj_now() - t0;
    std::printf("{\"bench\":\"fib\",\"impl\":\"tbb\",\"n\":%ld,\"workers\":%d,"
                "\"cutoff\":%d,\"seconds\":%.6f,\"result\":%lld}\n",
                a.n, a.workers, a.cutoff, t, (long long)r);
    return 0;
}
