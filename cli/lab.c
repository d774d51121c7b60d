/* SPDX-License-Identifier: MIT */
/*
 * lab.c - the work and the models that run it.
 *
 * The project's one idea is that the same task function runs unchanged
 * under every model. Here that function is lab_task(): it sleeps (I/O-bound
 * work), computes a naive Fibonacci number (CPU-bound work), or both, and
 * the models differ only in who calls it:
 *
 *   serial     the calling thread, one task after another;
 *   async      juggle tasks on one worker (concurrency, no parallelism);
 *   threads    OS threads taking tasks from a shared counter;
 *   processes  child processes doing the same (counter in shared memory);
 *   hybrid     juggle tasks on W workers (concurrency and parallelism);
 *   forkjoin   jg_par_for over the tasks on W workers.
 *
 * Each measurement runs in a fresh child of the CLI (lab_measure), so every
 * model starts from the same small process, its CPU time and peak RSS are
 * its own, and a crash or a runtime left behind cannot affect the next.
 *
 * Timelines: the runtime records juggle tasks itself (jg_run_opts.trace);
 * for the models without a runtime (serial, threads, processes) lab_task
 * records its running stretches by hand with jg_trace_add. A stretch ends
 * where the task sleeps and starts again where it wakes; under --gil it is
 * the time the task holds the global lock, as a CPython thread runs only
 * while it holds the GIL.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char *const model_names[MODEL_COUNT] = {
    "serial", "async", "threads", "processes", "hybrid", "forkjoin",
};
static const char *const workload_names[] = {"io", "cpu", "mixed"};

const char *lab_model_name(lab_model m) {
    return (unsigned)m < MODEL_COUNT ? model_names[m] : "?";
}

const char *lab_workload_name(lab_workload w) {
    return (unsigned)w <= WL_MIXED ? workload_names[w] : "?";
}

int lab_model_parse(const char *s, lab_model *out) {
    for (int i = 0; i < MODEL_COUNT; i++) {
        if (strcmp(s, model_names[i]) == 0) {
            *out = (lab_model)i;
            return 0;
        }
    }
    return -1;
}

int lab_workload_parse(const char *s, lab_workload *out) {
    for (int i = 0; i <= WL_MIXED; i++) {
        if (strcmp(s, workload_names[i]) == 0) {
            *out = (lab_workload)i;
            return 0;
        }
    }
    return -1;
}

int lab_tasks_default(void) {
    /* Enough tasks to keep every core busy, at least 4, and few enough
     * that the serial runs of the tour stay short on big machines. */
    int n = cli_ncpu();
    return n < 4 ? 4 : n > 16 ? 16 : n;
}

int lab_workers(const lab_work *w) {
    switch (w->model) {
    case MODEL_SERIAL:
    case MODEL_ASYNC:
        return 1;
    case MODEL_THREADS:
    case MODEL_PROCESSES:
        /* One per task by default, as the article's programs; never more
         * than there are tasks (the rest would only wait). */
        if (w->workers <= 0 || w->workers > w->tasks) {
            return w->tasks;
        }
        return w->workers;
    default:
        return w->workers > 0 ? w->workers : cli_ncpu();
    }
}

const char *lab_label(const lab_work *w, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", lab_model_name(w->model),
             w->model == MODEL_THREADS && w->gil ? " +gil" : "");
    return buf;
}

/* ---- the task ---- */

/* Everything the models share; lives in MAP_SHARED memory so that child
 * processes claim tasks from the same counter and leave their results
 * where the parent reads them. */
struct lab_shared {
    lab_work work;
    jg_trace *trace;        /* NULL = no timeline. */
    pthread_mutex_t gil;    /* Held while running, under --gil. */
    _Atomic int next;       /* Next task to claim (threads, processes). */
    int failed;             /* A runtime call failed: its -errno. */
};

struct lab_job {
    struct lab_shared *sh;
    int index;
    char name[16];          /* "task 3" */
    uint64_t result;        /* fib(n), written by the task. */
    int done;               /* 1 when the task finished. */
    /* Row of hand-recorded slices: the thread or process index, or -1 for
     * a juggle task (the runtime records those). Written by whoever runs
     * the task. */
    int row_tid;
    const char *row_kind;   /* "main", "thread", "process" */
    int64_t begin;          /* Start of the current stretch. */
};

/* Naive recursive Fibonacci: the CPU-bound work. noinline and the
 * argument read at run time keep the compiler from folding it. */
__attribute__((noinline)) static uint64_t fib(int n) {
    return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2);
}

static uint64_t fib_fast(int n) {
    uint64_t a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static void stretch_begin(struct lab_job *j) {
    if (j->row_tid < 0) {
        return; /* A juggle task: the runtime records it. */
    }
    if (j->sh->work.gil) {
        pthread_mutex_lock(&j->sh->gil);
    }
    j->begin = jg_now();
}

static void stretch_end(struct lab_job *j) {
    if (j->row_tid < 0) {
        return;
    }
    if (j->sh->trace != NULL) {
        jg_trace_slice s = {.pid = (int32_t)getpid(), .tid = j->row_tid,
                            .id = (uint64_t)j->index + 1,
                            .begin = j->begin, .end = jg_now()};
        snprintf(s.row, sizeof(s.row), "%s %d", j->row_kind, j->row_tid);
        snprintf(s.name, sizeof(s.name), "%s", j->name);
        (void)jg_trace_add(j->sh->trace, &s); /* Full: counted, dropped. */
    }
    if (j->sh->work.gil) {
        pthread_mutex_unlock(&j->sh->gil);
    }
}

/* The one task function: the same under every model. */
static void *lab_task(void *arg) {
    struct lab_job *j = arg;
    const lab_work *w = &j->sh->work;
    stretch_begin(j);
    if (w->workload != WL_CPU) {
        /* Waiting, as for a reply: the thread (or task) is not running. */
        stretch_end(j);
        jg_sleep(w->sleep_ns);
        stretch_begin(j);
    }
    if (w->workload != WL_IO) {
        j->result = fib(w->fib_n);
    }
    j->done = 1;
    stretch_end(j);
    return NULL;
}

/* ---- the models ---- */

struct lab_run {
    struct lab_shared *sh;
    struct lab_job *jobs;
    int workers;
};

static void run_serial(struct lab_run *r) {
    for (int i = 0; i < r->sh->work.tasks; i++) {
        r->jobs[i].row_tid = 0;
        r->jobs[i].row_kind = "main";
        lab_task(&r->jobs[i]);
    }
}

/* The first task of the runtime models: spawn one task per job, then
 * gather them (asyncio.gather). */
static void *spawn_all(void *arg) {
    struct lab_run *r = arg;
    int n = r->sh->work.tasks;
    jg_task **ts = calloc((size_t)n, sizeof(*ts));
    if (ts == NULL) {
        r->sh->failed = -ENOMEM;
        return NULL;
    }
    int spawned = 0;
    for (; spawned < n; spawned++) {
        jg_spawn_opts so = {.name = r->jobs[spawned].name};
        int rc = jg_spawn(&ts[spawned], lab_task, &r->jobs[spawned], &so);
        if (rc < 0) {
            r->sh->failed = rc;
            break;
        }
    }
    int rc = jg_gather(ts, (size_t)spawned, NULL);
    if (rc < 0 && r->sh->failed == 0) {
        r->sh->failed = rc;
    }
    free(ts);
    return NULL;
}

static int forkjoin_body(void *arg, int64_t lo, int64_t hi) {
    struct lab_run *r = arg;
    for (int64_t i = lo; i < hi; i++) {
        lab_task(&r->jobs[i]);
    }
    return 0;
}

static void *forkjoin_main(void *arg) {
    struct lab_run *r = arg;
    /* Grain 1: every task may go to another worker. */
    int rc = jg_par_for(0, r->sh->work.tasks, 1, forkjoin_body, r);
    if (rc < 0) {
        r->sh->failed = rc;
    }
    return NULL;
}

static int run_runtime(struct lab_run *r) {
    jg_run_opts o = {.workers = r->workers, .trace = r->sh->trace};
    jg_task_fn first =
        r->sh->work.model == MODEL_FORKJOIN ? forkjoin_main : spawn_all;
    int rc = jg_run(first, r, &o, NULL);
    return rc < 0 ? rc : r->sh->failed;
}

/* One OS thread or child process: take tasks until none are left. */
struct lab_worker {
    struct lab_run *run;
    int index;
    const char *kind;
};

static void *worker_loop(void *arg) {
    struct lab_worker *wk = arg;
    struct lab_run *r = wk->run;
    for (;;) {
        int i = atomic_fetch_add_explicit(&r->sh->next, 1,
                                          memory_order_relaxed);
        if (i >= r->sh->work.tasks) {
            return NULL;
        }
        r->jobs[i].row_tid = wk->index;
        r->jobs[i].row_kind = wk->kind;
        lab_task(&r->jobs[i]);
    }
}

static int run_threads(struct lab_run *r) {
    int n = r->workers, rc = 0, started = 0;
    jg_thread **ts = calloc((size_t)n, sizeof(*ts));
    struct lab_worker *wk = calloc((size_t)n, sizeof(*wk));
    if (ts == NULL || wk == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (; started < n; started++) {
        wk[started] = (struct lab_worker){r, started, "thread"};
        jg_thread_opts to = {.name = "juggle-lab"};
        rc = jg_thread_start(&ts[started], worker_loop, &wk[started], &to);
        if (rc < 0) {
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        int jrc = jg_thread_join(ts[i], NULL);
        if (jrc < 0 && rc == 0) {
            rc = jrc;
        }
    }
out:
    free(ts);
    free(wk);
    return rc;
}

static int run_processes(struct lab_run *r) {
    int n = r->workers, rc = 0, started = 0;
    jg_process **ps = calloc((size_t)n, sizeof(*ps));
    struct lab_worker *wk = calloc((size_t)n, sizeof(*wk));
    if (ps == NULL || wk == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    fflush(NULL); /* Children must not inherit unwritten output. */
    for (; started < n; started++) {
        wk[started] = (struct lab_worker){r, started, "process"};
        jg_process_opts po = {.name = "juggle-lab"};
        rc = jg_process_start(&ps[started], worker_loop, &wk[started], &po);
        if (rc < 0) {
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        void *res = NULL;
        jg_exit how = {0};
        int jrc = jg_process_join(ps[i], &res, &how);
        if (jrc == 0 && !(how.exited && how.code == 0)) {
            jrc = -ECHILD; /* The tasks it took are reported as missing. */
        }
        if (jrc < 0 && rc == 0) {
            rc = jrc;
        }
    }
out:
    free(ps);
    free(wk);
    return rc;
}

/* ---- measuring ---- */

/* What the measuring child sends back through its pipe. */
struct lab_report {
    int rc;                 /* 0, or the -errno of the failure. */
    char what[64];          /* What failed, when rc < 0. */
    int workers;
    int64_t wall_ns;
    double user_s, sys_s;
    int64_t rss_bytes, child_rss_bytes;
    int completed;
    uint64_t sum;
};

static double tv_s(struct timeval tv) {
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage_now(double *user, double *sys) {
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    *user = tv_s(self.ru_utime) + tv_s(kids.ru_utime);
    *sys = tv_s(self.ru_stime) + tv_s(kids.ru_stime);
}

static int run_model(struct lab_run *r) {
    switch (r->sh->work.model) {
    case MODEL_SERIAL:
        run_serial(r);
        return 0;
    case MODEL_THREADS:
        return run_threads(r);
    case MODEL_PROCESSES:
        return run_processes(r);
    default:
        return run_runtime(r);
    }
}

/* The measuring child: set up, run, measure, report. */
static void measure_child(const lab_work *w, struct lab_report *rep) {
    int n = w->tasks;
    size_t size = sizeof(struct lab_shared) + (size_t)n *
                  sizeof(struct lab_job);
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        rep->rc = -errno;
        snprintf(rep->what, sizeof(rep->what), "mmap");
        return;
    }
    struct lab_shared *sh = mem;
    struct lab_job *jobs = (struct lab_job *)(sh + 1);
    sh->work = *w;
    pthread_mutex_init(&sh->gil, NULL);
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct lab_job){.sh = sh, .index = i, .row_tid = -1};
        snprintf(jobs[i].name, sizeof(jobs[i].name), "task %d", i);
    }
    if (w->trace_path != NULL) {
        int rc = jg_trace_new(&sh->trace, 0);
        if (rc < 0) {
            rep->rc = rc;
            snprintf(rep->what, sizeof(rep->what), "trace");
            return;
        }
    }
    struct lab_run r = {sh, jobs, lab_workers(w)};
    rep->workers = r.workers;

    double u0, s0, u1, s1;
    usage_now(&u0, &s0);
    int64_t t0 = jg_now();
    int rc = run_model(&r);
    rep->wall_ns = jg_now() - t0;
    usage_now(&u1, &s1);
    rep->user_s = u1 - u0;
    rep->sys_s = s1 - s0;

    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    rep->rss_bytes = (int64_t)self.ru_maxrss * 1024;
    rep->child_rss_bytes = (int64_t)kids.ru_maxrss * 1024;
    for (int i = 0; i < n; i++) {
        rep->completed += jobs[i].done;
        rep->sum += jobs[i].result;
    }
    if (rc < 0) {
        rep->rc = rc;
        snprintf(rep->what, sizeof(rep->what), "%s",
                 lab_model_name(w->model));
        return;
    }
    if (sh->trace != NULL) {
        rc = jg_trace_write(sh->trace, w->trace_path);
        if (rc < 0) {
            rep->rc = rc;
            snprintf(rep->what, sizeof(rep->what), "%.63s", w->trace_path);
        }
        jg_trace_free(sh->trace);
    }
}

/* Wait for the child's report, showing progress on a terminal. */
static ssize_t read_report(int fd, const lab_work *w, struct lab_report *rep) {
    int64_t start = jg_now();
    int shown = 0, tty = isatty(STDERR_FILENO);
    char label[32];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 250);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != 0) {
            break;
        }
        double el = (double)(jg_now() - start) / 1e9;
        if (tty && el >= 1.0) {
            fprintf(stderr, "\r  running %s on %s work: %.1f s ",
                    lab_label(w, label, sizeof(label)),
                    lab_workload_name(w->workload), el);
            shown = 1;
        }
    }
    if (shown) {
        fprintf(stderr, "\r\033[K");
    }
    size_t got = 0;
    while (got < sizeof(*rep)) {
        ssize_t k = read(fd, (char *)rep + got, sizeof(*rep) - got);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
    }
    return (ssize_t)got;
}

int lab_measure(const lab_work *w, lab_result *out) {
    int fds[2];
    if (pipe(fds) < 0) {
        cli_error("pipe", "%s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("fork", "%s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct lab_report rep = {0};
        measure_child(w, &rep);
        ssize_t k = write(fds[1], &rep, sizeof(rep));
        _exit(k == (ssize_t)sizeof(rep) ? 0 : 1);
    }
    close(fds[1]);
    struct lab_report rep = {0};
    ssize_t got = read_report(fds[0], w, &rep);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char label[32];
    lab_label(w, label, sizeof(label));
    if (got != (ssize_t)sizeof(rep)) {
        if (WIFSIGNALED(status)) {
            cli_error(label, "the measuring process died of signal %d (%s)",
                      WTERMSIG(status), strsignal(WTERMSIG(status)));
        } else {
            cli_error(label, "the measuring process exited with status %d",
                      WEXITSTATUS(status));
        }
        return -1;
    }
    if (rep.rc < 0) {
        cli_error(rep.what, "%s", jg_strerror(rep.rc));
        return -1;
    }
    *out = (lab_result){.work = *w, .workers = rep.workers};
    out->wall_s = (double)rep.wall_ns / 1e9;
    out->user_s = rep.user_s;
    out->sys_s = rep.sys_s;
    out->rss_bytes = rep.rss_bytes;
    out->child_rss_bytes = rep.child_rss_bytes;
    out->completed = rep.completed;
    out->sum = rep.sum;
    out->expect_sum =
        w->workload == WL_IO ? 0 : fib_fast(w->fib_n) * (uint64_t)w->tasks;
    out->ok = rep.completed == w->tasks && rep.sum == out->expect_sum;
    return 0;
}
