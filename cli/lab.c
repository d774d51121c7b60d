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
 * Rounds (--rounds R): a task waits and computes in R rounds, each with
 * 1/R of the wait and a part of fib(N) chosen so that the parts add up to
 * exactly fib(N) (see "the plan" below). With R > 1 the timelines show
 * tasks taking turns: while one waits, another computes.
 *
 * The GIL (--gil, threads only) behaves as CPython's (Python/ceval_gil.c):
 * a thread computes only while it holds the lock; it lets go while it
 * waits, and while computing it hands the lock over every switch interval
 * (5 ms) when another thread asks for it, in the order they asked (a
 * ticket lock). The check hides in fib_gil, the GIL path's way into the
 * same fib, so the other models' fib does not pay for it.
 *
 * Timelines: the runtime records juggle tasks itself (jg_run_opts.trace);
 * for the models without a runtime (serial, threads, processes) lab_task
 * records its running stretches by hand with jg_trace_add. A stretch ends
 * where the task sleeps and starts again where it wakes; under --gil it is
 * a time the task holds the global lock, as a CPython thread runs only
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

/* ---- the task ---- */

/*
 * The plan: how a task splits fib(N) over its rounds. The parts come from
 * fib's call tree itself: fib(n) = fib(n-1) + fib(n-2), so replacing a
 * node by its two children keeps the sum. plan_make expands the largest
 * node until there are about 8 parts per round (or only fib(1) and fib(0)
 * are left), then deals the parts out, largest first, to the round with
 * the least work so far (the calls of fib(k) grow as fib(k+1)). A round
 * computes the sum of fib(k) over its parts, so the task's result, the sum
 * of its rounds, is exactly fib(N), from the same calls as fib(N) less the
 * few expanded nodes. One round is one part: fib(N) itself, as before.
 * Made before the model runs and only read after, so child processes
 * (forked later) read their copy of the same plan.
 */
struct lab_plan {
    int rounds;
    int *k;     /* The parts' arguments, round by round. */
    int *start; /* Round r computes fib(k[i]) for start[r] <= i <
                 * start[r + 1]; rounds + 1 entries. */
};

/* The GIL: a ticket lock. A thread takes the next ticket and waits until
 * `serving` reaches it; letting go moves `serving` on. The counters are
 * written under mu; they are atomic only so that the holder may peek at
 * them without it (gil_contended). */
struct lab_gil {
    pthread_mutex_t mu;
    pthread_cond_t turn;      /* Broadcast when `serving` moves on. */
    _Atomic uint64_t next;    /* The next ticket to hand out. */
    _Atomic uint64_t serving; /* The ticket of the holder. */
};

/* Everything the models share; lives in MAP_SHARED memory so that child
 * processes claim tasks from the same counter and leave their results
 * where the parent reads them. */
struct lab_shared {
    lab_work work;
    struct lab_plan plan;   /* Read-only while the model runs. */
    jg_trace *trace;        /* NULL = no timeline. */
    struct lab_gil gil;     /* Held while running, under --gil. */
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

static void plan_free(struct lab_plan *p) {
    free(p->k);
    free(p->start);
}

/* Make the plan for fib(n) in `rounds` rounds (see struct lab_plan).
 * Returns 0 or -ENOMEM. */
static int plan_make(struct lab_plan *p, int n, int rounds) {
    /* About 8 parts a round keep the rounds within a few percent of each
     * other; one round is fib(n) itself. */
    int want = rounds == 1 ? 1 : 8 * rounds, rc = -ENOMEM;
    int *count = calloc((size_t)n + 1, sizeof(int)); /* Parts by k. */
    int *part_k = calloc((size_t)want, sizeof(int)); /* Largest first. */
    int *round_of = calloc((size_t)want, sizeof(int));
    int *fill = calloc((size_t)rounds, sizeof(int));
    double *load = calloc((size_t)rounds, sizeof(double));
    *p = (struct lab_plan){.rounds = rounds,
                           .k = calloc((size_t)want, sizeof(int)),
                           .start = calloc((size_t)rounds + 1, sizeof(int))};
    if (count == NULL || part_k == NULL || round_of == NULL ||
        fill == NULL || load == NULL || p->k == NULL || p->start == NULL) {
        plan_free(p);
        goto out;
    }
    /* Split the largest part until there are enough. */
    int parts = 1, top = n;
    count[n] = 1;
    while (parts < want) {
        while (count[top] == 0) {
            top--;
        }
        if (top < 2) {
            break;
        }
        count[top]--;
        count[top - 1]++;
        count[top - 2]++;
        parts++;
    }
    /* Deal them out, largest first, to the least loaded round. */
    for (int k = n, i = 0; k >= 0; k--) {
        for (int c = 0; c < count[k]; c++, i++) {
            int best = 0;
            for (int r = 1; r < rounds; r++) {
                best = load[r] < load[best] ? r : best;
            }
            load[best] += (double)fib_fast(k + 1);
            part_k[i] = k;
            round_of[i] = best;
            p->start[best + 1]++;
        }
    }
    /* Group them by round (a counting sort, largest first in each). */
    for (int r = 0; r < rounds; r++) {
        p->start[r + 1] += p->start[r];
    }
    for (int i = 0; i < parts; i++) {
        int r = round_of[i];
        p->k[p->start[r] + fill[r]++] = part_k[i];
    }
    rc = 0;
out:
    free(count);
    free(part_k);
    free(round_of);
    free(fill);
    free(load);
    return rc;
}

static void gil_init(struct lab_gil *g) {
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->turn, NULL);
    atomic_init(&g->next, 0);
    atomic_init(&g->serving, 0);
}

static void gil_fini(struct lab_gil *g) {
    pthread_cond_destroy(&g->turn);
    pthread_mutex_destroy(&g->mu);
}

/* Take a ticket and wait for it to be served: first come, first served. */
static void gil_acquire(struct lab_gil *g) {
    pthread_mutex_lock(&g->mu);
    /* Relaxed: mu orders the counters; see struct lab_gil. */
    uint64_t ticket =
        atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed);
    while (atomic_load_explicit(&g->serving, memory_order_relaxed) !=
           ticket) {
        pthread_cond_wait(&g->turn, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
}

static void gil_release(struct lab_gil *g) {
    pthread_mutex_lock(&g->mu);
    atomic_fetch_add_explicit(&g->serving, 1, memory_order_relaxed);
    pthread_cond_broadcast(&g->turn);
    pthread_mutex_unlock(&g->mu);
}

/* Whether another thread holds a ticket, for the holder only. Relaxed and
 * without mu: a hint; a waiter missed now is seen at the next check. */
static int gil_contended(struct lab_gil *g) {
    return atomic_load_explicit(&g->next, memory_order_relaxed) -
               atomic_load_explicit(&g->serving, memory_order_relaxed) > 1;
}

static void stretch_begin(struct lab_job *j) {
    if (j->row_tid < 0) {
        return; /* A juggle task: the runtime records it. */
    }
    if (j->sh->work.gil) {
        gil_acquire(&j->sh->gil);
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
        gil_release(&j->sh->gil);
    }
}

/* Where fib_gil hands over to plain fib: at subtrees of fib(20) or
 * smaller, 13,529 to 21,891 calls, some 10-25 us (a call takes about
 * 1 ns). A countdown decremented on every call made the GIL path twice as
 * slow (a load and a store in the recursion's chain of dependencies); this
 * way the calls are fib's own, the check (one clock read) costs about
 * 0.1%, and the hand-over comes within some 25 us of the switch
 * interval. */
#define GIL_CHECK_BELOW 20

/* The holder's check, after every subtree: after a switch interval, if
 * another thread waits, let go and queue again behind it (CPython's eval
 * breaker and drop request, in one place). */
static void gil_check(struct lab_job *j) {
    if (jg_now() - j->begin >= LAB_GIL_SWITCH_NS &&
        gil_contended(&j->sh->gil)) {
        stretch_end(j);   /* Records the slice, lets go. */
        stretch_begin(j); /* Waits for its turn. */
    }
}

/* fib for threads under the GIL: the same calls, and the check between
 * subtrees of fib(GIL_CHECK_BELOW) or smaller. */
static uint64_t fib_gil(int n, struct lab_job *j) {
    if (n <= GIL_CHECK_BELOW) {
        uint64_t v = fib(n);
        gil_check(j);
        return v;
    }
    return fib_gil(n - 1, j) + fib_gil(n - 2, j);
}

/* Round r's part of the computing (see struct lab_plan). */
static uint64_t compute_round(struct lab_job *j, int r) {
    const struct lab_plan *p = &j->sh->plan;
    uint64_t sum = 0;
    for (int i = p->start[r]; i < p->start[r + 1]; i++) {
        sum += j->sh->work.gil ? fib_gil(p->k[i], j) : fib(p->k[i]);
    }
    return sum;
}

/* The one task function: the same under every model. */
static void *lab_task(void *arg) {
    struct lab_job *j = arg;
    const lab_work *w = &j->sh->work;
    int rounds = j->sh->plan.rounds;
    uint64_t result = 0;
    stretch_begin(j);
    for (int r = 0; r < rounds; r++) {
        if (w->workload != WL_CPU) {
            /* Waiting, as for a reply: the thread (or task) is not
             * running. The rounds' waits add up to exactly sleep_ns. */
            int64_t wait = w->sleep_ns * (r + 1) / rounds -
                           w->sleep_ns * r / rounds;
            stretch_end(j);
            jg_sleep(wait);
            stretch_begin(j);
        }
        if (w->workload != WL_IO) {
            result += compute_round(j, r);
        }
    }
    j->result = result;
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
    int wrong;              /* Tasks done with a result other than fib(N). */
    uint64_t sum;
    uint64_t trace_slices;  /* Slices the trace kept, and those it had no */
    uint64_t trace_dropped; /* room for (--trace only). */
};

/*
 * The trace's capacity, from the run: each task runs once before its first
 * wait and once after each (rounds + 1 stretches), times 4 for the
 * stretches the runtime or the GIL's hand-overs split further. At least
 * the library's default (2^20: the mapping is only touched where slices
 * are written, so room costs address space, not memory), at most 2^23
 * slices (some 700 MiB). A run that needs more still runs; its dropped
 * slices are reported.
 *
 * JUGGLE_TEST_TRACE_CAPACITY, a test seam: when set, the capacity itself,
 * so a test can fill the trace with a small run.
 */
#define TRACE_CAP_MIN ((size_t)1 << 20)
#define TRACE_CAP_MAX ((size_t)1 << 23)

static int trace_new(jg_trace **out, const lab_work *w) {
    const char *test = getenv("JUGGLE_TEST_TRACE_CAPACITY");
    long forced;
    if (test != NULL && cli_parse_int(test, 1, 1L << 28, &forced) == 0) {
        return jg_trace_new(out, (size_t)forced);
    }
    size_t rounds = (size_t)(w->rounds > 0 ? w->rounds : 1);
    size_t cap = (size_t)w->tasks * (rounds + 1) * 4;
    cap = cap < TRACE_CAP_MIN ? TRACE_CAP_MIN : cap;
    cap = cap > TRACE_CAP_MAX ? TRACE_CAP_MAX : cap;
    /* Where the system will not map that much, try smaller. */
    int rc;
    while ((rc = jg_trace_new(out, cap)) == -ENOMEM && cap > TRACE_CAP_MIN) {
        cap /= 2;
    }
    return rc;
}

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
    gil_init(&sh->gil);
    int rc = plan_make(&sh->plan, w->fib_n, w->rounds > 0 ? w->rounds : 1);
    if (rc < 0) {
        rep->rc = rc;
        snprintf(rep->what, sizeof(rep->what), "plan");
        return;
    }
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct lab_job){.sh = sh, .index = i, .row_tid = -1};
        snprintf(jobs[i].name, sizeof(jobs[i].name), "task %d", i);
    }
    if (w->trace_path != NULL) {
        rc = trace_new(&sh->trace, w);
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
    rc = run_model(&r);
    rep->wall_ns = jg_now() - t0;
    usage_now(&u1, &s1);
    rep->user_s = u1 - u0;
    rep->sys_s = s1 - s0;

    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    rep->rss_bytes = (int64_t)self.ru_maxrss * 1024;
    rep->child_rss_bytes = (int64_t)kids.ru_maxrss * 1024;
    /* Every task must have computed exactly fib(N) (nothing for io). */
    uint64_t each = w->workload == WL_IO ? 0 : fib_fast(w->fib_n);
    for (int i = 0; i < n; i++) {
        rep->completed += jobs[i].done;
        rep->wrong += jobs[i].done && jobs[i].result != each;
        rep->sum += jobs[i].result;
    }
    plan_free(&sh->plan);
    gil_fini(&sh->gil);
    if (rc < 0) {
        rep->rc = rc;
        snprintf(rep->what, sizeof(rep->what), "%s",
                 lab_model_name(w->model));
        return;
    }
    if (sh->trace != NULL) {
        rep->trace_slices = jg_trace_count(sh->trace);
        rep->trace_dropped = jg_trace_dropped(sh->trace);
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
    out->wrong = rep.wrong;
    out->sum = rep.sum;
    out->expect_sum =
        w->workload == WL_IO ? 0 : fib_fast(w->fib_n) * (uint64_t)w->tasks;
    out->trace_slices = rep.trace_slices;
    out->trace_dropped = rep.trace_dropped;
    if (rep.trace_dropped > 0) {
        cli_error(w->trace_path, "warning: the trace was full: %llu of "
                  "%llu slices dropped, the timeline is incomplete",
                  (unsigned long long)rep.trace_dropped,
                  (unsigned long long)(rep.trace_slices + rep.trace_dropped));
    }
    out->ok = rep.completed == w->tasks && rep.wrong == 0 &&
              rep.sum == out->expect_sum;
    return 0;
}
