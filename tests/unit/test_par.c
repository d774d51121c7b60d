/* SPDX-License-Identifier: MIT */
/*
 * test_par.c - fork-join: jg_par_join, jg_par_for, jg_par_reduce. Results
 * equal the serial computation (fib, sums and minimums, nested loops,
 * uneven work), errors and the first-failure rule, forks that block,
 * calls from outside the runtime, shrunken deques.
 */
#include <errno.h>
#include <pthread.h>

#include "core/fork.h"
#include "helpers.h"

/* ---- fib: every call forks ---- */

struct fib {
    int n;
    long r;
};

static long fib_serial(int n) {
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

static int fib(void *arg) {
    struct fib *f = arg;
    if (f->n < 2) {
        f->r = f->n;
        return 0;
    }
    struct fib a = {f->n - 2, 0}, b = {f->n - 1, 0};
    int rc = jg_par_join(fib, &a, fib, &b);
    f->r = a.r + b.r;
    return rc;
}

static void *fib_main(void *arg) {
    struct fib *f = arg;
    cr_assert_eq(fib(f), 0);
    return NULL;
}

Test(par_join, fib_equals_serial_on_any_worker_count, .timeout = 120) {
    int n = stress(1) > 1 ? 18 : 24;
    for (int w = 1; w <= 4; w++) {
        for (int cap = 0; cap <= 4; cap += 4) {
            struct fib f = {n, 0};
            run_opts(fib_main, &f,
                     (jg_run_opts){.workers = w, .queue_capacity = cap});
            cr_assert_eq(f.r, fib_serial(n), "fib(%d) on %d workers: %ld", n,
                         w, f.r);
        }
    }
}

static int ok(void *arg) {
    atomic_fetch_add((_Atomic int *)arg, 1);
    return 0;
}

static int fail_a(void *arg) {
    atomic_fetch_add((_Atomic int *)arg, 1);
    return -EIO;
}

static int fail_b(void *arg) {
    atomic_fetch_add((_Atomic int *)arg, 1);
    return -EPIPE;
}

static void *join_errors(void *arg) {
    (void)arg;
    _Atomic int ran = 0;
    cr_assert_eq(jg_par_join(NULL, NULL, ok, (void *)&ran), -EINVAL);
    cr_assert_eq(jg_par_join(ok, (void *)&ran, NULL, NULL), -EINVAL);
    cr_assert_eq(atomic_load(&ran), 0, "a function ran after -EINVAL");
    cr_assert_eq(jg_par_join(ok, (void *)&ran, ok, (void *)&ran), 0);
    cr_assert_eq(jg_par_join(fail_a, (void *)&ran, fail_b, (void *)&ran),
                 -EIO, "the first failure wins");
    cr_assert_eq(jg_par_join(ok, (void *)&ran, fail_b, (void *)&ran), -EPIPE);
    cr_assert_eq(jg_par_join(fail_a, (void *)&ran, ok, (void *)&ran), -EIO);
    cr_assert_eq(atomic_load(&ran), 8, "both sides always run");
    return NULL;
}

Test(par_join, reports_errors) {
    run_on(join_errors, NULL, 1);
    run_on(join_errors, NULL, 2);
}

/* ---- forks that block ---- */

struct nap {
    int64_t ns;
    _Atomic int *done;
};

static int nap(void *arg) {
    struct nap *n = arg;
    cr_assert_eq(jg_sleep(n->ns), 0);
    atomic_fetch_add(n->done, 1);
    return 0;
}

static int nap_tree(void *arg) {
    struct nap *n = arg;
    struct nap a = *n, b = *n;
    return jg_par_join(nap, &a, nap, &b);
}

static void *blocking_forks(void *arg) {
    _Atomic int *done = arg;
    /* Both sides sleep: the owner blocks in fa (and may resume on another
     * worker), the offered fb may be stolen and sleep as a task. */
    for (int i = 0; i < 20; i++) {
        struct nap a = {JG_US(200 + i * 10), done}, b = {JG_US(150), done};
        cr_assert_eq(jg_par_join(nap_tree, &a, nap_tree, &b), 0);
    }
    return NULL;
}

Test(par_join, sides_may_sleep_and_migrate, .timeout = 60) {
    for (int w = 1; w <= 3; w++) {
        uint64_t stolen = atomic_load(&jg__forks_stolen);
        _Atomic int done = 0;
        run_on(blocking_forks, (void *)&done, w);
        cr_assert_eq(atomic_load(&done), 20 * 4);
        /* A task that sleeps in fa exposes its forks, and its worker (or
         * another) runs them as tasks: the stealing path, for certain. */
        cr_assert(atomic_load(&jg__forks_stolen) > stolen,
                  "no fork ran as a task on %d workers", w);
    }
}

static int spawn_in_fa(void *arg) {
    jg_task *t;
    jg_spawn(&t, (jg_task_fn)arg, NULL, NULL); /* Sits above the fork. */
    jg_join(t, NULL);
    return 0;
}

static void *noop(void *arg) {
    return arg;
}

static int spawn_and_leave(void *arg) {
    (void)arg;
    jg_spawn(NULL, noop, NULL, NULL); /* Detached: stays in the deque. */
    return 0;
}

static void *fa_spawns(void *arg) {
    _Atomic int *ran = arg;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(jg_par_join(spawn_and_leave, NULL, ok, (void *)ran), 0);
        cr_assert_eq(jg_par_join(spawn_in_fa, (void *)noop, ok, (void *)ran),
                     0);
    }
    return NULL;
}

Test(par_join, survives_tasks_spawned_inside_it) {
    for (int w = 1; w <= 2; w++) {
        _Atomic int ran = 0;
        run_on(fa_spawns, (void *)&ran, w);
        cr_assert_eq(atomic_load(&ran), 200);
    }
}

static void *fib_in_shared_task(void *arg) {
    jg_task *t;
    jg_spawn_opts o = {.stack_mode = JG_STACK_SHARED};
    jg_spawn(&t, fib_main, arg, &o);
    jg_join(t, NULL);
    return NULL;
}

Test(par_join, works_in_a_shared_stack_task) {
    struct fib f = {20, 0};
    run_on(fib_in_shared_task, &f, 2);
    cr_assert_eq(f.r, fib_serial(20));
}

/* ---- jg_par_for ---- */

struct cover {
    _Atomic unsigned char *hits;
    int64_t base;
};

static int mark(void *arg, int64_t lo, int64_t hi) {
    struct cover *c = arg;
    for (int64_t i = lo; i < hi; i++) {
        atomic_fetch_add(&c->hits[i - c->base], 1);
    }
    return 0;
}

static void check_cover(int64_t lo, int64_t hi, int64_t grain) {
    struct cover c = {calloc((size_t)(hi - lo) + 1, 1), lo};
    cr_assert_eq(jg_par_for(lo, hi, grain, mark, &c), 0);
    for (int64_t i = 0; i < hi - lo; i++) {
        cr_assert_eq(c.hits[i], 1, "index %lld ran %d times (grain %lld)",
                     (long long)(lo + i), c.hits[i], (long long)grain);
    }
    free((void *)c.hits);
}

static void *cover_all(void *arg) {
    (void)arg;
    int64_t grains[] = {0, 1, 7, 1000, 1 << 20};
    for (int g = 0; g < 5; g++) {
        check_cover(0, 100000, grains[g]);
        check_cover(-500, 501, grains[g]);
        check_cover(3, 4, grains[g]);
    }
    return NULL;
}

Test(par_for, covers_every_index_once, .timeout = 120) {
    for (int w = 1; w <= 4; w++) {
        run_opts(cover_all, NULL,
                 (jg_run_opts){.workers = w, .queue_capacity = w == 3 ? 4 : 0});
    }
}

static int never(void *arg, int64_t lo, int64_t hi) {
    (void)arg, (void)lo, (void)hi;
    cr_assert(0, "body ran");
    return 0;
}

static int fail_at(void *arg, int64_t lo, int64_t hi) {
    const int64_t *bad = arg;
    for (int64_t i = lo; i < hi; i++) {
        for (int k = 0; k < 3; k++) {
            if (i == bad[k]) {
                return -(int)(100 + k);
            }
        }
    }
    return 0;
}

static void *for_errors(void *arg) {
    (void)arg;
    cr_assert_eq(jg_par_for(0, 10, 0, NULL, NULL), -EINVAL);
    cr_assert_eq(jg_par_for(5, 4, 0, never, NULL), -EINVAL);
    cr_assert_eq(jg_par_for(0, 10, -1, never, NULL), -EINVAL);
    cr_assert_eq(jg_par_for(7, 7, 0, never, NULL), 0);
    /* Failures at 900, 300, 600: the one in index order first wins. */
    int64_t bad[3] = {900, 300, 600};
    cr_assert_eq(jg_par_for(0, 1000, 1, fail_at, bad), -101);
    cr_assert_eq(jg_par_for(0, 1000, 10, fail_at, bad), -101);
    return NULL;
}

Test(par_for, reports_errors_in_index_order) {
    run_on(for_errors, NULL, 1);
    run_on(for_errors, NULL, 2);
}

/* Nested loops: each row is itself a parallel loop. */
struct grid {
    int64_t cols;
    _Atomic int64_t *cells;
};

struct row {
    struct grid *g;
    int64_t r;
};

static int fill_cols(void *arg, int64_t lo, int64_t hi) {
    struct row *rw = arg;
    for (int64_t c = lo; c < hi; c++) {
        atomic_fetch_add(&rw->g->cells[rw->r * rw->g->cols + c], rw->r + c);
    }
    return 0;
}

static int fill_rows(void *arg, int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
        struct row rw = {arg, r};
        int rc = jg_par_for(0, ((struct grid *)arg)->cols, 0, fill_cols, &rw);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static void *nested(void *arg) {
    (void)arg;
    struct grid g = {300, calloc(200 * 300, sizeof(int64_t))};
    cr_assert_eq(jg_par_for(0, 200, 0, fill_rows, &g), 0);
    for (int64_t r = 0; r < 200; r++) {
        for (int64_t c = 0; c < 300; c++) {
            cr_assert_eq(g.cells[r * 300 + c], r + c);
        }
    }
    free((void *)g.cells);
    return NULL;
}

Test(par_for, nests, .timeout = 60) {
    for (int w = 1; w <= 3; w++) {
        run_on(nested, NULL, w);
    }
}

/* ---- jg_par_reduce ---- */

struct vec {
    const int64_t *v;
};

static int sum(void *arg, int64_t lo, int64_t hi, void *acc) {
    const int64_t *v = ((struct vec *)arg)->v;
    int64_t s = 0;
    for (int64_t i = lo; i < hi; i++) {
        s += v[i];
    }
    *(int64_t *)acc += s;
    return 0;
}

static void add(void *arg, void *l, const void *r) {
    (void)arg;
    *(int64_t *)l += *(const int64_t *)r;
}

static int vmin(void *arg, int64_t lo, int64_t hi, void *acc) {
    const int64_t *v = ((struct vec *)arg)->v;
    int64_t m = *(int64_t *)acc;
    for (int64_t i = lo; i < hi; i++) {
        m = v[i] < m ? v[i] : m;
    }
    *(int64_t *)acc = m;
    return 0;
}

static void take_min(void *arg, void *l, const void *r) {
    (void)arg;
    if (*(const int64_t *)r < *(int64_t *)l) {
        *(int64_t *)l = *(const int64_t *)r;
    }
}

static void *sum_and_min(void *arg) {
    int64_t n = *(int64_t *)arg;
    int64_t *v = malloc((size_t)n * sizeof(*v));
    int64_t expect_sum = 0, expect_min = INT64_MAX;
    uint32_t r = 99;
    for (int64_t i = 0; i < n; i++) {
        v[i] = (int64_t)(rnd(&r) % 2000001) - 1000000;
        expect_sum += v[i];
        expect_min = v[i] < expect_min ? v[i] : expect_min;
    }
    struct vec vv = {v};
    int64_t zero = 0, top = INT64_MAX, s = 1, m = 1;
    cr_assert_eq(jg_par_reduce(0, n, 0, sum, add, &vv, &zero, 8, &s), 0);
    cr_assert_eq(s, expect_sum);
    cr_assert_eq(jg_par_reduce(0, n, 4096, vmin, take_min, &vv, &top, 8, &m),
                 0);
    cr_assert_eq(m, expect_min);
    free(v);
    return NULL;
}

/* 10^8 elements at full size (800 MB), fewer in sanitizer builds. */
Test(par_reduce, sum_and_min_equal_serial, .timeout = 300) {
    int64_t n = stress(100000000);
    run_on(sum_and_min, &n, 2);
}

/* Combine order: a non-commutative fold of ranges must come out contiguous
 * and in order. */
struct span {
    int64_t lo, hi;
    int64_t pieces;
};

static int spans(void *arg, int64_t lo, int64_t hi, void *acc) {
    (void)arg;
    struct span *s = acc;
    if (s->pieces == 0) {
        s->lo = lo;
    } else {
        cr_assert_eq(s->hi, lo, "chunks folded out of order");
    }
    s->hi = hi;
    s->pieces++;
    return 0;
}

static void join_spans(void *arg, void *l, const void *r) {
    (void)arg;
    struct span *a = l;
    const struct span *b = r;
    if (b->pieces == 0) {
        return;
    }
    if (a->pieces == 0) {
        *a = *b;
        return;
    }
    cr_assert_eq(a->hi, b->lo, "combined out of order");
    a->hi = b->hi;
    a->pieces += b->pieces;
}

static void *ordered(void *arg) {
    (void)arg;
    struct span id = {0, 0, 0}, out;
    int64_t grains[] = {0, 1, 100};
    for (int g = 0; g < 3; g++) {
        cr_assert_eq(jg_par_reduce(10, 100010, grains[g], spans, join_spans,
                                   NULL, &id, sizeof(id), &out),
                     0);
        cr_assert_eq(out.lo, 10);
        cr_assert_eq(out.hi, 100010);
    }
    int64_t z = 0, res = 5;
    cr_assert_eq(jg_par_reduce(3, 3, 0, sum, add, NULL, &z, 8, &res), 0);
    cr_assert_eq(res, 0, "an empty range gives the identity");
    cr_assert_eq(jg_par_reduce(0, 1, 0, sum, add, NULL, &z, 0, &res), -EINVAL);
    cr_assert_eq(jg_par_reduce(0, 1, 0, sum, add, NULL, &z, 5000, &res),
                 -EINVAL);
    cr_assert_eq(jg_par_reduce(0, 1, 0, NULL, add, NULL, &z, 8, &res), -EINVAL);
    cr_assert_eq(jg_par_reduce(2, 1, 0, sum, add, NULL, &z, 8, &res), -EINVAL);
    cr_assert_eq(jg_par_reduce(0, 1, 0, sum, add, NULL, NULL, 8, &res),
                 -EINVAL);
    return NULL;
}

Test(par_reduce, combines_in_order, .timeout = 60) {
    for (int w = 1; w <= 4; w++) {
        run_on(ordered, NULL, w);
    }
}

/* Uneven work: a few indices cost far more than the rest. */
static int uneven(void *arg, int64_t lo, int64_t hi, void *acc) {
    (void)arg;
    for (int64_t i = lo; i < hi; i++) {
        int64_t x = i;
        int reps = i % 97 == 0 ? 20000 : 1;
        for (int k = 0; k < reps; k++) {
            x = (x * 1103515245 + 12345) & 0xffff;
        }
        *(int64_t *)acc += x + i;
    }
    return 0;
}

static void *uneven_main(void *arg) {
    int64_t *out = arg;
    int64_t z = 0;
    cr_assert_eq(jg_par_reduce(0, 20000, 0, uneven, add, NULL, &z, 8, out),
                 0);
    return NULL;
}

Test(par_reduce, uneven_work_equals_serial, .timeout = 120) {
    int64_t serial = 0;
    uneven(NULL, 0, 20000, &serial);
    for (int w = 1; w <= 3; w++) {
        int64_t got = 0;
        run_on(uneven_main, &got, w);
        cr_assert_eq(got, serial);
    }
}

/* ---- from outside any runtime: the default runtime ---- */

static void *outside_thread(void *arg) {
    (void)arg;
    struct fib f = {20, 0};
    cr_assert_eq(fib(&f), 0);
    cr_assert_eq(f.r, fib_serial(20));
    check_cover(0, 50000, 0);
    return NULL;
}

Test(par, works_outside_the_runtime_from_many_threads, .timeout = 60) {
    /* No jg_run: plain threads, served by the default runtime. */
    cr_assert_eq(jg_worker_index(), -1);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, outside_thread, NULL);
    }
    outside_thread(NULL);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    int64_t z = 0, res = 0;
    int64_t v[3] = {1, 2, 3};
    struct vec vv = {v};
    cr_assert_eq(jg_par_reduce(0, 3, 0, sum, add, &vv, &z, 8, &res), 0);
    cr_assert_eq(res, 6);
    cr_assert_eq(jg_par_join(NULL, NULL, NULL, NULL), -EINVAL);
}

/*
 * A stolen fork whose task cannot get a stack (memory exhausted) must be
 * handed back: its owner runs it, as if nobody had taken it. Before, the
 * owner waited for the thief's task for ever. In a child whose address
 * space is capped so that a second slab of 256 MiB stacks cannot be
 * mapped: three sleepers and main hold the first slab's four stacks.
 */
#if !defined(JG_ASAN) && !defined(JG_TSAN)
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

static _Atomic int oom_ran;

static int oom_body(void *arg, int64_t lo, int64_t hi) {
    (void)arg;
    for (int64_t i = lo; i < hi; i++) {
        jg_sleep(JG_MS(30)); /* The owner parks: its fork is taken. */
        atomic_fetch_add(&oom_ran, 1);
    }
    return 0;
}

static void *hold_stack(void *arg) {
    jg_sleep(JG_MS(400));
    return arg;
}

static void *oom_fork_main(void *arg) {
    int *rc = arg;
    jg_task *h[3];
    for (int i = 0; i < 3; i++) {
        jg_spawn(&h[i], hold_stack, NULL, NULL);
    }
    jg_sleep(JG_MS(20)); /* They run, each on a stack of its own. */
    *rc = jg_par_for(0, 2, 1, oom_body, NULL);
    jg_gather(h, 3, NULL);
    return NULL;
}

static long vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb * 1024;
}

Test(par_for, a_stolen_fork_without_a_stack_runs_on_its_owner,
     .timeout = 60) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* Never outlive a timed-out test. */
        long vm = vm_size();
        struct rlimit rl = {.rlim_cur = (rlim_t)vm + ((rlim_t)3 << 29),
                            .rlim_max = (rlim_t)vm + ((rlim_t)3 << 29)};
        if (vm < 0 || setrlimit(RLIMIT_AS, &rl) != 0) {
            _exit(3);
        }
        int rc = -1;
        jg_run_opts o = {.workers = 2, .stack_size = (size_t)256 << 20};
        if (jg_run(oom_fork_main, &rc, &o, NULL) != 0) {
            _exit(4);
        }
        _exit(rc == 0 && atomic_load(&oom_ran) == 2 ? 0 : 5);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child status %#x", status);
}
#endif

/* ---- reductions: aliasing, alignment; loops spanning > INT64_MAX ---- */

static int count_body(void *arg, int64_t lo, int64_t hi, void *acc) {
    (void)arg;
    *(int64_t *)acc += hi - lo;
    return 0;
}

static void add_i64(void *arg, void *left, const void *right) {
    (void)arg;
    *(int64_t *)left += *(const int64_t *)right;
}

struct wide {
    _Alignas(64) double v[16]; /* 128 bytes: the heap path. */
};

static _Atomic int misaligned;

static int wide_body(void *arg, int64_t lo, int64_t hi, void *acc) {
    (void)arg;
    if ((uintptr_t)acc % 64 != 0) {
        atomic_fetch_add(&misaligned, 1);
    }
    ((struct wide *)acc)->v[0] += (double)(hi - lo);
    return 0;
}

static void add_wide(void *arg, void *left, const void *right) {
    (void)arg;
    ((struct wide *)left)->v[0] += ((const struct wide *)right)->v[0];
}

static int small_body(void *arg, int64_t lo, int64_t hi, void *acc) {
    (void)arg;
    if ((uintptr_t)acc % 64 != 0) {
        atomic_fetch_add(&misaligned, 1);
    }
    *(int64_t *)acc += hi - lo;
    return 0;
}

static _Atomic uint64_t covered;

static int cover_body(void *arg, int64_t lo, int64_t hi) {
    (void)arg;
    atomic_fetch_add(&covered, (uint64_t)hi - (uint64_t)lo);
    return 0;
}

static void *reduce_edges_main(void *arg) {
    (void)arg;
    /* result and identity the same buffer. */
    int64_t same = 0;
    cr_assert_eq(jg_par_reduce(0, 1000, 1, count_body, add_i64, NULL, &same,
                               sizeof(same), &same),
                 0);
    cr_assert_eq(same, 1000);
    /* Overlapping, not equal. */
    int64_t two[2] = {0, 0};
    cr_assert_eq(jg_par_reduce(0, 1000, 3, count_body, add_i64, NULL,
                               (char *)two + 4, sizeof(int64_t), two),
                 0);
    cr_assert_eq(two[0], 1000);
    /* 64-byte alignment of the accumulators the call makes. */
    atomic_store(&misaligned, 0);
    struct wide zero = {{0}}, w = {{0}};
    cr_assert_eq(jg_par_reduce(0, 4096, 1, wide_body, add_wide, NULL, &zero,
                               sizeof(zero), &w),
                 0);
    cr_assert_eq(w.v[0], 4096.0);
    _Alignas(64) int64_t z = 0, s = 0;
    cr_assert_eq(jg_par_reduce(0, 4096, 1, small_body, add_i64, NULL, &z,
                               sizeof(z), &s),
                 0);
    cr_assert_eq(s, 4096);
    cr_assert_eq(atomic_load(&misaligned), 0);
    /* A range of 2^64 - 1 indices, covered once (the body only counts). */
    atomic_store(&covered, 0);
    cr_assert_eq(jg_par_for(INT64_MIN, INT64_MAX, 0, cover_body, NULL), 0);
    cr_assert_eq(atomic_load(&covered), UINT64_MAX);
    atomic_store(&covered, 0);
    cr_assert_eq(jg_par_for(INT64_MIN, INT64_MAX, INT64_MAX / 4, cover_body,
                            NULL),
                 0);
    cr_assert_eq(atomic_load(&covered), UINT64_MAX);
    return NULL;
}

Test(par_reduce, aliased_identity_alignment_and_huge_ranges) {
    run_on(reduce_edges_main, NULL, 1);
    run_on(reduce_edges_main, NULL, 2);
}
