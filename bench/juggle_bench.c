/* SPDX-License-Identifier: MIT */
/*
 * juggle_bench.c - juggle-bench, the runtime's micro-benchmarks. Each
 * subcommand prints one JSON object on one line; bench/core.sh runs them
 * side by side with the same workloads written for Go, Tokio, Python and
 * Boost.Context (bench/peers) and prints the ratios.
 *
 *   juggle-bench switch            two tasks on one worker yielding, 10^7
 *   juggle-bench rawswitch [--main-coroutine]
 *                                  the bare context switch, 10^7: two
 *                                  coroutines switching to each other, or
 *                                  main and one coroutine
 *   juggle-bench spawn             spawn 10^6 empty tasks, then join all
 *                                  (twice: cold memory, then warm)
 *   juggle-bench sleepers N [--stack private|shared] [--workers W]
 *                                  N tasks each sleep 2 s
 *   juggle-bench idle              CPU used while every task sleeps
 *   juggle-bench fib N --workers W [--cutoff C]
 *                                  naive fib, every call jg_par_join's
 *   juggle-bench sum --n N --workers W
 *                                  jg_par_reduce sum of an int64 array
 *   juggle-bench threads | processes | map | fib4 ...
 *                                  threads, processes, pools (bench_exec.c)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <juggle.h>

#include "arch/ctx.h"
#include "bench_exec.h"

#define SWITCHES 10000000L
#define SPAWNS 1000000L

static void die(const char *what, int rc) {
    fprintf(stderr, "juggle-bench: %s: %s\n", what, jg_strerror(rc));
    exit(1);
}

/* ---- switch: two tasks ping-pong through the scheduler ---- */

static void *yielder(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        jg_yield();
    }
    return NULL;
}

static void *switch_main(void *arg) {
    long per_task = SWITCHES / 2;
    jg_task *a, *b;
    int64_t *elapsed = arg;
    int64_t t0 = jg_now();
    if (jg_spawn(&a, yielder, &per_task, NULL) < 0 ||
        jg_spawn(&b, yielder, &per_task, NULL) < 0) {
        die("spawn", -ENOMEM);
    }
    jg_join(a, NULL);
    jg_join(b, NULL);
    *elapsed = jg_now() - t0;
    return NULL;
}

static int bench_switch(void) {
    int64_t elapsed = 0;
    jg_run_opts o = {.workers = 1};
    int rc = jg_run(switch_main, &elapsed, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    printf("{\"bench\":\"switch\",\"impl\":\"juggle\",\"workers\":1,"
           "\"ns_per_switch\":%.2f}\n",
           (double)elapsed / (double)SWITCHES);
    return 0;
}

/* ---- rawswitch: the bare context switch, no scheduler ---- */

static struct jg__ctx raw_main, raw_a, raw_b;
static long raw_left;

/* Two contexts run this same loop and switch to each other, as two tasks
 * that yield to each other do (and as the scheduler switches: always from
 * one place, which keeps the return predictor right; see ctx_x86_64.S). */
static void raw_loop(void *arg) {
    struct jg__ctx *self = arg == (void *)&raw_a ? &raw_a : &raw_b;
    struct jg__ctx *other = self == &raw_a ? &raw_b : &raw_a;
    while (raw_left-- > 0) {
        jg__ctx_switch(self, other, other);
    }
    jg__ctx_switch(self, &raw_main, NULL);
}

/* The other shape: main resumes one coroutine from its loop, the coroutine
 * switches back from its own loop (Boost's peer has this shape). */
static void raw_back(void *arg) {
    (void)arg;
    for (;;) {
        jg__ctx_switch(&raw_b, &raw_main, NULL);
    }
}

static int bench_rawswitch_asym(void) {
    size_t size = 64 << 10;
    char *sb = malloc(size);
    if (sb == NULL) {
        die("malloc", -ENOMEM);
    }
    jg__ctx_make(&raw_b, sb, size, raw_back);
    int64_t t0 = jg_now();
    for (long i = 0; i < SWITCHES / 2; i++) {
        jg__ctx_switch(&raw_main, &raw_b, NULL);
    }
    int64_t elapsed = jg_now() - t0;
    printf("{\"bench\":\"rawswitch\",\"impl\":\"juggle\",\"shape\":"
           "\"main-coroutine\",\"ns_per_switch\":%.2f}\n",
           (double)elapsed / (double)SWITCHES);
    free(sb);
    return 0;
}

static int bench_rawswitch(int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "--main-coroutine") == 0) {
        return bench_rawswitch_asym();
    }
    size_t size = 64 << 10;
    char *sa = malloc(size), *sb = malloc(size);
    if (sa == NULL || sb == NULL) {
        die("malloc", -ENOMEM);
    }
    jg__ctx_make(&raw_a, sa, size, raw_loop);
    jg__ctx_make(&raw_b, sb, size, raw_loop);
    raw_left = SWITCHES;
    int64_t t0 = jg_now();
    /* a's first switch starts b, which then loops like a. */
    jg__ctx_switch(&raw_main, &raw_a, &raw_a);
    int64_t elapsed = jg_now() - t0;
    printf("{\"bench\":\"rawswitch\",\"impl\":\"juggle\",\"backend\":\"%s\","
           "\"shape\":\"symmetric\",\"ns_per_switch\":%.2f}\n",
           jg__ctx_backend(), (double)elapsed / (double)SWITCHES);
    free(sa);
    free(sb);
    return 0;
}

/* ---- spawn: 10^6 empty tasks, spawned then joined ---- */

static void *empty(void *arg) {
    return arg;
}

/* Spawn then join SPAWN_TASKS empty tasks, twice in one runtime: the first
 * round pays for fresh memory (page faults), the second reuses it. */
static void *spawn_main(void *arg) {
    int64_t *elapsed = arg; /* [0] cold, [1] warm */
    jg_task **ts = malloc(SPAWNS * sizeof(*ts));
    if (ts == NULL) {
        die("malloc", -ENOMEM);
    }
    for (int round = 0; round < 2; round++) {
        int64_t t0 = jg_now();
        for (long i = 0; i < SPAWNS; i++) {
            int rc = jg_spawn(&ts[i], empty, NULL, NULL);
            if (rc < 0) {
                die("spawn", rc);
            }
        }
        for (long i = 0; i < SPAWNS; i++) {
            jg_join(ts[i], NULL);
        }
        elapsed[round] = jg_now() - t0;
    }
    free(ts);
    return NULL;
}

static int bench_spawn(void) {
    int64_t elapsed[2] = {0, 0};
    jg_run_opts o = {.workers = 1};
    int rc = jg_run(spawn_main, elapsed, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    printf("{\"bench\":\"spawn\",\"impl\":\"juggle\",\"tasks\":%ld,"
           "\"ns_per_task\":%.2f,\"warm_ns_per_task\":%.2f}\n",
           SPAWNS, (double)elapsed[0] / (double)SPAWNS,
           (double)elapsed[1] / (double)SPAWNS);
    return 0;
}

/* ---- sleepers: N tasks each sleep 2 s ---- */

struct sleepers {
    long n;
    jg_stack_mode mode;
    int64_t elapsed;
};

static void *sleeper(void *arg) {
    (void)arg;
    jg_sleep(JG_SEC(2));
    return NULL;
}

static void *sleepers_main(void *arg) {
    struct sleepers *s = arg;
    jg_task **ts = malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof(*ts));
    if (ts == NULL) {
        die("malloc", -ENOMEM);
    }
    jg_spawn_opts so = {.stack_mode = s->mode};
    int64_t t0 = jg_now();
    for (long i = 0; i < s->n; i++) {
        int rc = jg_spawn(&ts[i], sleeper, NULL, &so);
        if (rc < 0) {
            die("spawn", rc);
        }
    }
    int rc = jg_gather(ts, (size_t)s->n, NULL);
    if (rc < 0) {
        die("gather", rc);
    }
    s->elapsed = jg_now() - t0;
    free(ts);
    return NULL;
}

/* VmHWM, the peak RSS of this program image. getrusage's ru_maxrss would
 * do, except that Linux carries it across fork and exec, which spoils the
 * baseline child's figure. */
static long peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = atol(line + 6);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb * 1024L;
}

static long minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Peak RSS of this same program with N = 0: the baseline. */
static long baseline_rss(const char *mode, int workers) {
    int fds[2];
    if (pipe(fds) < 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char w[16];
        snprintf(w, sizeof(w), "%d", workers);
        dup2(fds[1], 1);
        close(fds[0]);
        execl("/proc/self/exe", "juggle-bench", "sleepers", "0", "--stack",
              mode, "--workers", w, "--no-baseline", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[512] = {0};
    ssize_t got = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    const char *k = got > 0 ? strstr(buf, "\"peak_rss_bytes\":") : NULL;
    return k ? atol(k + strlen("\"peak_rss_bytes\":")) : -1;
}

static int bench_sleepers(int argc, char **argv) {
    struct sleepers s = {.n = 1000000, .mode = JG_STACK_PRIVATE};
    const char *mode = "private";
    int workers = 0, baseline = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--stack") == 0 && i + 1 < argc) {
            mode = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--no-baseline") == 0) {
            baseline = 0;
        } else if (argv[i][0] != '-') {
            s.n = atol(argv[i]);
        } else {
            fprintf(stderr, "juggle-bench: sleepers: unknown option %s\n",
                    argv[i]);
            return 2;
        }
    }
    if (strcmp(mode, "shared") == 0) {
        s.mode = JG_STACK_SHARED;
    } else if (strcmp(mode, "private") != 0 || s.n < 0) {
        fprintf(stderr, "juggle-bench: sleepers: bad arguments\n");
        return 2;
    }
    /* The baseline first, while this process is still small. */
    long base = baseline && s.n > 0 ? baseline_rss(mode, workers) : -1;
    jg_run_opts o = {.workers = workers};
    int rc = jg_run(sleepers_main, &s, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    long rss = peak_rss();
    printf("{\"bench\":\"sleepers\",\"impl\":\"juggle\",\"tasks\":%ld,"
           "\"stack\":\"%s\",\"workers\":%d,\"wall_s\":%.3f,"
           "\"peak_rss_bytes\":%ld,\"minflt\":%ld",
           s.n, mode, workers, (double)s.elapsed / 1e9, rss, minflt());
    if (base >= 0) {
        printf(",\"baseline_rss_bytes\":%ld,\"bytes_per_task\":%.1f", base,
               (double)(rss - base) / (double)s.n);
    }
    printf("}\n");
    return 0;
}

/* ---- fib: naive recursive Fibonacci, every call forks ---- */

struct fib {
    int n;
    long result;
};

static int fib_cutoff; /* Below it, plain recursion; 0 = fork always. */

static long fib_serial(int n) {
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

static int fib_par(void *arg) {
    struct fib *f = arg;
    if (f->n < 2) {
        f->result = f->n;
        return 0;
    }
    if (f->n < fib_cutoff) {
        f->result = fib_serial(f->n);
        return 0;
    }
    /* fib(n-1) is offered to other workers; fib(n-2) runs here first. */
    struct fib a = {f->n - 2, 0}, b = {f->n - 1, 0};
    int rc = jg_par_join(fib_par, &a, fib_par, &b);
    f->result = a.result + b.result;
    return rc;
}

struct fib_run {
    struct fib f;
    int64_t elapsed;
};

static void *fib_main(void *arg) {
    struct fib_run *r = arg;
    int64_t t0 = jg_now();
    int rc = fib_par(&r->f);
    r->elapsed = jg_now() - t0;
    if (rc < 0) {
        die("par_join", rc);
    }
    return NULL;
}

static int bench_fib(int argc, char **argv) {
    struct fib_run r = {{35, 0}, 0};
    int workers = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--cutoff") == 0 && i + 1 < argc) {
            fib_cutoff = atoi(argv[++i]);
        } else if (argv[i][0] != '-') {
            r.f.n = atoi(argv[i]);
        } else {
            fprintf(stderr, "juggle-bench: fib: unknown option %s\n",
                    argv[i]);
            return 2;
        }
    }
    if (r.f.n < 0 || r.f.n > 60 || workers < 0) {
        fprintf(stderr, "juggle-bench: fib: bad arguments\n");
        return 2;
    }
    jg_run_opts o = {.workers = workers};
    int rc = jg_run(fib_main, &r, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    int64_t t0 = jg_now();
    long serial = fib_serial(r.f.n);
    int64_t serial_ns = jg_now() - t0;
    if (serial != r.f.result) {
        fprintf(stderr, "juggle-bench: fib: %ld != serial %ld\n",
                r.f.result, serial);
        return 1;
    }
    printf("{\"bench\":\"fib\",\"impl\":\"juggle\",\"n\":%d,"
           "\"workers\":%d,\"cutoff\":%d,\"seconds\":%.4f,\"result\":%ld,"
           "\"serial_seconds\":%.4f}\n",
           r.f.n, workers, fib_cutoff, (double)r.elapsed / 1e9, r.f.result,
           (double)serial_ns / 1e9);
    return 0;
}

/* ---- sum: jg_par_reduce over an int64 array ---- */

struct sum_run {
    const int64_t *v;
    int64_t n;
    int64_t result;
    int64_t elapsed;
};

static int sum_body(void *arg, int64_t lo, int64_t hi, void *acc) {
    const int64_t *v = ((struct sum_run *)arg)->v;
    int64_t s = 0;
    for (int64_t i = lo; i < hi; i++) {
        s += v[i];
    }
    *(int64_t *)acc += s;
    return 0;
}

static void sum_combine(void *arg, void *left, const void *right) {
    (void)arg;
    *(int64_t *)left += *(const int64_t *)right;
}

/* One untimed pass, then SUM_REPS timed ones; the median is reported (as
 * the peers in bench/peers/forkjoin do). */
#define SUM_REPS 5

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void *sum_main(void *arg) {
    struct sum_run *r = arg;
    int64_t zero = 0, times[SUM_REPS];
    for (int rep = -1; rep < SUM_REPS; rep++) {
        int64_t t0 = jg_now();
        int rc = jg_par_reduce(0, r->n, 0, sum_body, sum_combine, r, &zero,
                               sizeof(zero), &r->result);
        if (rc < 0) {
            die("par_reduce", rc);
        }
        if (rep >= 0) {
            times[rep] = jg_now() - t0;
        }
    }
    if (getenv("JUGGLE_BENCH_VERBOSE")) {
        for (int i = 0; i < SUM_REPS; i++) {
            fprintf(stderr, "sum pass %d: %.4f s\n", i, (double)times[i] / 1e9);
        }
    }
    qsort(times, SUM_REPS, sizeof(times[0]), cmp_i64);
    r->elapsed = times[SUM_REPS / 2];
    return NULL;
}

static int bench_sum(int argc, char **argv) {
    struct sum_run r = {.n = 100000000};
    int workers = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
            r.n = atol(argv[++i]);
        } else {
            fprintf(stderr, "juggle-bench: sum: unknown option %s\n",
                    argv[i]);
            return 2;
        }
    }
    if (r.n < 0 || workers < 0) {
        fprintf(stderr, "juggle-bench: sum: bad arguments\n");
        return 2;
    }
    int64_t *v = malloc((size_t)(r.n > 0 ? r.n : 1) * sizeof(*v));
    if (v == NULL) {
        die("malloc", -ENOMEM);
    }
    int64_t expect = 0;
    for (int64_t i = 0; i < r.n; i++) {
        v[i] = i % 1000;
        expect += v[i];
    }
    r.v = v;
    jg_run_opts o = {.workers = workers};
    int rc = jg_run(sum_main, &r, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    if (r.result != expect) {
        fprintf(stderr, "juggle-bench: sum: %lld != %lld\n",
                (long long)r.result, (long long)expect);
        return 1;
    }
    printf("{\"bench\":\"sum\",\"impl\":\"juggle\",\"n\":%lld,"
           "\"workers\":%d,\"seconds\":%.4f,\"result\":%lld}\n",
           (long long)r.n, workers, (double)r.elapsed / 1e9,
           (long long)r.result);
    free(v);
    return 0;
}

/* ---- idle: CPU used by a runtime whose tasks all sleep ---- */

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void *idle_main(void *arg) {
    double *cpu = arg;
    jg_task *t[100];
    for (int i = 0; i < 100; i++) {
        jg_spawn(&t[i], sleeper, NULL, NULL);
    }
    jg_sleep(JG_MS(100)); /* Let the sleepers settle. */
    double c0 = cpu_seconds();
    jg_gather(t, 100, NULL); /* ~1.9 s of nothing to do. */
    *cpu = cpu_seconds() - c0;
    return NULL;
}

static int bench_idle(void) {
    double cpu = 0;
    int64_t t0 = jg_now();
    jg_run_opts o = {.workers = 0};
    int rc = jg_run(idle_main, &cpu, &o, NULL);
    if (rc < 0) {
        die("run", rc);
    }
    printf("{\"bench\":\"idle\",\"impl\":\"juggle\",\"workers\":%d,"
           "\"wall_s\":%.3f,\"idle_cpu_s\":%.4f}\n",
           o.workers, (double)(jg_now() - t0) / 1e9, cpu);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "fib") == 0) {
        return bench_fib(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "sum") == 0) {
        return bench_sum(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "idle") == 0) {
        return bench_idle();
    }
    if (argc >= 2 && strcmp(argv[1], "switch") == 0) {
        return bench_switch();
    }
    if (argc >= 2 && strcmp(argv[1], "rawswitch") == 0) {
        return bench_rawswitch(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "spawn") == 0) {
        return bench_spawn();
    }
    if (argc >= 2 && strcmp(argv[1], "sleepers") == 0) {
        return bench_sleepers(argc - 2, argv + 2);
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } exec_cmds[] = {{"threads", jg__bench_threads},
                     {"processes", jg__bench_processes},
                     {"map", jg__bench_map},
                     {"fib4", jg__bench_fib4}};
    for (size_t i = 0; argc >= 2 && i < 4; i++) {
        if (strcmp(argv[1], exec_cmds[i].name) == 0) {
            return exec_cmds[i].fn(argc - 2, argv + 2);
        }
    }
    fprintf(stderr, "usage: juggle-bench switch | rawswitch [--main-coroutine] | spawn | "
                    "sleepers N [--stack private|shared] [--workers W] | idle | "
                    "fib N --workers W [--cutoff C] | sum --n N --workers W\n");
    return 2;
}
