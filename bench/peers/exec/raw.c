/* Raw C peer for juggle's thread/process benchmarks (gcc -O2 -pthread):
 *   raw threads   [--count N] [--batch B]  pthread_create + pthread_join
 *   raw processes [--count N] [--batch B]  fork (child _exit(0)) + waitpid
 *   raw fib4 --model serial|threads|processes [--n 30] [--tasks 4]
 * threads/processes start B at a time and join/reap the batch before the
 * next one. fib4 runs TASKS naive fib(N) computations one after another, on
 * one thread each, or in one forked child each (result sent back on a pipe);
 * its time includes creating and joining the threads or processes.
 * Prints one JSON line. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err) {
    fprintf(stderr, "%s: %s\n", what, strerror(err));
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "usage: raw threads [--count N] [--batch B]\n"
            "       raw processes [--count N] [--batch B]\n"
            "       raw fib4 --model serial|threads|processes [--n N] [--tasks T]\n");
    exit(2);
}

/* ---- start + join ------------------------------------------------------- */

static void *empty(void *arg) { return arg; }

static void bench_threads(long count, int batch) {
    pthread_t *t = malloc((size_t)batch * sizeof *t);
    double t0 = now();
    for (long done = 0; done < count; done += batch) {
        int k = count - done < batch ? (int)(count - done) : batch, e;
        for (int i = 0; i < k; i++)
            if ((e = pthread_create(&t[i], NULL, empty, NULL))) die("pthread_create", e);
        for (int i = 0; i < k; i++)
            if ((e = pthread_join(t[i], NULL))) die("pthread_join", e);
    }
    double s = now() - t0;
    printf("{\"bench\":\"threads\",\"impl\":\"pthread\",\"count\":%ld,\"batch\":%d,"
           "\"ns_per_thread\":%.1f}\n", count, batch, s * 1e9 / (double)count);
    free(t);
}

static void bench_processes(long count, int batch) {
    pid_t *p = malloc((size_t)batch * sizeof *p);
    double t0 = now();
    for (long done = 0; done < count; done += batch) {
        int k = count - done < batch ? (int)(count - done) : batch, st;
        for (int i = 0; i < k; i++) {
            p[i] = fork();
            if (p[i] < 0) die("fork", errno);
            if (p[i] == 0) _exit(0);
        }
        for (int i = 0; i < k; i++) {
            if (waitpid(p[i], &st, 0) < 0) die("waitpid", errno);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("child", ECHILD);
        }
    }
    double s = now() - t0;
    printf("{\"bench\":\"processes\",\"impl\":\"fork\",\"count\":%ld,\"batch\":%d,"
           "\"ns_per_process\":%.1f}\n", count, batch, s * 1e9 / (double)count);
    free(p);
}

/* ---- fib4 ---------------------------------------------------------------- */

static int64_t fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* Read through a volatile so the compiler cannot merge the identical calls. */
static volatile int fib_arg;

struct job { int n; int64_t result; };

static void *fib_thread(void *arg) {
    struct job *j = arg;
    j->result = fib(j->n);
    return NULL;
}

/* One run of the model; returns its seconds. */
static double fib4_once(const char *model, int tasks, struct job *jobs,
                        pthread_t *t, pid_t *p, int (*fds)[2]) {
    double t0 = now();
    if (strcmp(model, "serial") == 0) {
        for (int i = 0; i < tasks; i++) jobs[i].result = fib(fib_arg);
    } else if (strcmp(model, "threads") == 0) {
        int e;
        for (int i = 0; i < tasks; i++) {
            jobs[i].n = fib_arg;
            if ((e = pthread_create(&t[i], NULL, fib_thread, &jobs[i]))) die("pthread_create", e);
        }
        for (int i = 0; i < tasks; i++)
            if ((e = pthread_join(t[i], NULL))) die("pthread_join", e);
    } else if (strcmp(model, "processes") == 0) {
        for (int i = 0; i < tasks; i++) {
            if (pipe(fds[i]) < 0) die("pipe", errno);
            p[i] = fork();
            if (p[i] < 0) die("fork", errno);
            if (p[i] == 0) {
                int64_t r = fib(fib_arg);
                _exit(write(fds[i][1], &r, sizeof r) == sizeof r ? 0 : 1);
            }
            close(fds[i][1]);
        }
        for (int i = 0; i < tasks; i++) {
            int st;
            if (read(fds[i][0], &jobs[i].result, sizeof jobs[i].result) != sizeof jobs[i].result)
                die("read", EIO);
            close(fds[i][0]);
            if (waitpid(p[i], &st, 0) < 0) die("waitpid", errno);
        }
    } else {
        usage();
    }
    double s = now() - t0;
    for (int i = 1; i < tasks; i++)
        if (jobs[i].result != jobs[0].result) die("fib4", EINVAL);
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One untimed run (the second vCPU of an idle VM may take a while to come
 * back), then FIB4_REPS timed ones; the median is reported. A parallel
 * model's reps are paired with serial runs in the same process (serial
 * first): the speed-up is the median of the per-pair ratios, as in
 * juggle-bench. */
#define FIB4_REPS 7

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

static void bench_fib4(const char *model, int n, int tasks) {
    struct job *jobs = calloc((size_t)tasks, sizeof *jobs);
    struct job *sjobs = calloc((size_t)tasks, sizeof *sjobs);
    pthread_t *t = calloc((size_t)tasks, sizeof *t);
    pid_t *p = calloc((size_t)tasks, sizeof *p);
    int (*fds)[2] = calloc((size_t)tasks, sizeof *fds);
    const char *impl = strcmp(model, "threads") == 0     ? "pthread"
                       : strcmp(model, "processes") == 0 ? "fork"
                                                         : "serial";
    int paired = strcmp(model, "serial") != 0;
    fib_arg = n;
    double times[FIB4_REPS], serial[FIB4_REPS], ratios[FIB4_REPS];
    if (paired) fib4_once("serial", tasks, sjobs, t, p, fds);
    fib4_once(model, tasks, jobs, t, p, fds);
    for (int k = 0; k < FIB4_REPS; k++) {
        serial[k] = paired ? fib4_once("serial", tasks, sjobs, t, p, fds) : 0;
        times[k] = fib4_once(model, tasks, jobs, t, p, fds);
        ratios[k] = paired ? serial[k] / times[k] : 0;
    }
    if (paired && sjobs[0].result != jobs[0].result) die("fib4", EINVAL);
    double s = median(times, FIB4_REPS);
    if (paired)
        printf("{\"bench\":\"fib4\",\"impl\":\"%s\",\"model\":\"%s\",\"n\":%d,\"tasks\":%d,"
               "\"seconds\":%.6f,\"serial_seconds\":%.6f,\"speedup\":%.3f,\"result\":%lld}\n",
               impl, model, n, tasks, s, median(serial, FIB4_REPS), median(ratios, FIB4_REPS),
               (long long)jobs[0].result);
    else
        printf("{\"bench\":\"fib4\",\"impl\":\"%s\",\"model\":\"%s\",\"n\":%d,\"tasks\":%d,"
               "\"seconds\":%.6f,\"result\":%lld}\n",
               impl, model, n, tasks, s, (long long)jobs[0].result);
    free(jobs), free(sjobs), free(t), free(p), free(fds);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *bench = argv[1], *model = NULL;
    long count = -1;
    int batch = 100, n = 30, tasks = 4;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--count") == 0) count = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0) batch = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--model") == 0) model = argv[i + 1];
        else if (strcmp(argv[i], "--n") == 0) n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--tasks") == 0) tasks = atoi(argv[i + 1]);
        else usage();
    }
    if (batch < 1 || tasks < 1) usage();
    if (strcmp(bench, "threads") == 0) bench_threads(count < 0 ? 100000 : count, batch);
    else if (strcmp(bench, "processes") == 0) bench_processes(count < 0 ? 10000 : count, batch);
    else if (strcmp(bench, "fib4") == 0 && model) bench_fib4(model, n, tasks);
    else usage();
    return 0;
}
