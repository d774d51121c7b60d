/* SPDX-License-Identifier: MIT */
/*
 * test_exec_stacks.c - waits of src/exec from tasks on a shared stack
 * (JG_STACK_SHARED). While such a task is suspended, the next shared-stack
 * task of its worker runs on the same stack bytes, so nothing that another
 * thread touches during the wait may live on the waiter's stack. Each case
 * parks one or two shared-stack waiters on a one-worker runtime behind a
 * gate, lets a shared-stack scribbler fill a large local buffer, and only
 * then opens the gate: the results must be right and nothing may crash.
 * Also: pool workers have the stack of a thread of jg_thread_start().
 */
#include <pthread.h>
#include <string.h>

#include "exec_check.h"

/* Opened before any process pool forks, so the children share it. */
static struct gate gate;
/* Make the forks of the test hold at the gate (see hold_fork). */
static _Atomic int hold_forks;

static void hold_fork(void) {
    if (atomic_load(&hold_forks)) {
        gate_pass(&gate);
    }
}

static void *gated(void *arg) {
    gate_pass(&gate);
    return arg;
}

static int gated_double(void *ctx, const void *in, void *out) {
    (void)ctx;
    gate_pass(&gate);
    *(int *)out = *(const int *)in * 2;
    return 0;
}

/* A case: n_waiters shared-stack tasks run `wait`; the scribbler then
 * releases `tokens` bytes at the gate. */
struct scene {
    void *(*wait)(void *arg);
    int n_waiters;
    int tokens;
    jg_pool *pool;
    _Atomic int started;
};

/* Fill a buffer bigger than any waiter's frames with a pattern, so that
 * whatever a waiter left on the shared stack is overwritten, then open the
 * gate and stay suspended a while (the ordering is made by the gate; the
 * nap only keeps the scribbler's bytes on the stack longer). */
static void *scribble(void *arg) {
    struct scene *s = arg;
    volatile unsigned char buf[64 * 1024];
    memset((unsigned char *)buf, 0xa5, sizeof(buf));
    gate_release(&gate, s->tokens);
    jg_sleep(JG_MS(10));
    return (void *)(uintptr_t)buf[sizeof(buf) / 2];
}

static void *play(void *arg) {
    struct scene *s = arg;
    jg_spawn_opts so = {.stack_mode = JG_STACK_SHARED};
    jg_task *w[2], *b;
    for (int i = 0; i < s->n_waiters; i++) {
        int before = atomic_load(&s->started);
        cr_assert_eq(jg_spawn(&w[i], s->wait, s, &so), 0);
        /* One worker: a waiter that said it started runs on, without a
         * switch, until it is suspended in its wait (held by the gate). */
        while (atomic_load(&s->started) == before) {
            jg_yield();
        }
    }
    cr_assert_eq(jg_spawn(&b, scribble, s, &so), 0);
    for (int i = 0; i < s->n_waiters; i++) {
        cr_assert_eq(jg_join(w[i], NULL), 0);
    }
    cr_assert_eq(jg_join(b, NULL), 0);
    return NULL;
}

static void play_scene(struct scene *s) {
    run_on(play, s, 1);
}

/* ---- the waits ---- */

static void *wait_future(void *arg) {
    struct scene *s = arg;
    jg_future *f;
    cr_assert_eq(jg_pool_submit(s->pool, &f, gated, (void *)42), 0);
    atomic_fetch_add(&s->started, 1);
    void *r = NULL;
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, 42);
    jg_future_free(f);
    return NULL;
}

static void *wait_thread(void *arg) {
    struct scene *s = arg;
    jg_thread *t;
    cr_assert_eq(jg_thread_start(&t, gated, (void *)7, NULL), 0);
    atomic_fetch_add(&s->started, 1);
    void *r = NULL;
    cr_assert_eq(jg_thread_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, 7);
    return NULL;
}

enum { MAP_N = 3 };

/* The second mapper waits for its turn while the first one's map runs.
 * The arrays are not on the stack: thread pools write the outputs in
 * place, and a shared-stack task must not let its stack escape. */
static void *wait_map(void *arg) {
    struct scene *s = arg;
    int *in = malloc(MAP_N * sizeof(int));
    int *out = malloc(MAP_N * sizeof(int));
    int *err = malloc(MAP_N * sizeof(int));
    cr_assert(in != NULL && out != NULL && err != NULL);
    for (int i = 0; i < MAP_N; i++) {
        in[i] = i + 1;
        out[i] = -1;
    }
    atomic_fetch_add(&s->started, 1);
    int rc = jg_map(s->pool, gated_double, NULL, in, sizeof(int), out,
                    sizeof(int), MAP_N, err, NULL);
    cr_assert_eq(rc, 0, "jg_map: %d", rc);
    for (int i = 0; i < MAP_N; i++) {
        cr_assert_eq(out[i], 2 * (i + 1), "item %d: %d", i, out[i]);
        cr_assert_eq(err[i], 0);
    }
    free(in);
    free(out);
    free(err);
    return NULL;
}

static void *square(void *arg) {
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

/* jg_pool_new waits for its workers to start their children; the forks
 * hold at the gate (hold_fork). */
static void *wait_pool_new(void *arg) {
    struct scene *s = arg;
    atomic_store(&hold_forks, 1);
    atomic_fetch_add(&s->started, 1);
    jg_pool *p;
    jg_pool_opts o = {.kind = JG_POOL_PROCESSES, .workers = 2};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    atomic_store(&hold_forks, 0);
    jg_future *f;
    cr_assert_eq(jg_pool_submit(p, &f, square, (void *)6), 0);
    void *r = NULL;
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert_eq((intptr_t)r, 36);
    jg_future_free(f);
    cr_assert_eq(jg_pool_free(p), 0);
    return NULL;
}

/* jg_pool_free waits for a queued item held at the gate. */
static void *wait_pool_free(void *arg) {
    struct scene *s = arg;
    jg_pool *p;
    jg_pool_opts o = {.workers = 1};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f;
    cr_assert_eq(jg_pool_submit(p, &f, gated, (void *)5), 0);
    atomic_fetch_add(&s->started, 1);
    cr_assert_eq(jg_pool_free(p), 0);
    void *r = NULL;
    cr_assert_eq(jg_future_wait(f, 0, &r), 0);
    cr_assert_eq((intptr_t)r, 5);
    jg_future_free(f);
    return NULL;
}

/* ---- the cases ---- */

static void with_pool(jg_pool_kind kind, struct scene *s) {
    struct leakcheck lc = leak_begin();
    jg_pool_opts o = {.kind = kind, .workers = 1};
    cr_assert_eq(jg_pool_new(&s->pool, &o), 0);
    play_scene(s);
    cr_assert_eq(jg_pool_free(s->pool), 0);
    leak_end(lc);
}

Test(stacks, shared_stack_waits_for_a_future, .timeout = 60) {
    gate_open(&gate);
    for (int k = 0; k < 2; k++) {
        struct scene s = {.wait = wait_future, .n_waiters = 1, .tokens = 1};
        with_pool((jg_pool_kind)k, &s);
    }
    gate_close(&gate);
}

Test(stacks, shared_stack_joins_a_thread, .timeout = 60) {
    gate_open(&gate);
    struct leakcheck lc = leak_begin();
    struct scene s = {.wait = wait_thread, .n_waiters = 1, .tokens = 1};
    play_scene(&s);
    leak_end(lc);
    gate_close(&gate);
}

Test(stacks, shared_stack_maps_and_waits_for_its_turn, .timeout = 60) {
    gate_open(&gate);
    for (int k = 0; k < 2; k++) {
        struct scene s = {
            .wait = wait_map, .n_waiters = 2, .tokens = 2 * MAP_N};
        with_pool((jg_pool_kind)k, &s);
    }
    gate_close(&gate);
}

Test(stacks, shared_stack_makes_a_pool, .timeout = 60) {
    gate_open(&gate);
    cr_assert_eq(pthread_atfork(hold_fork, NULL, NULL), 0);
    struct leakcheck lc = leak_begin();
    struct scene s = {.wait = wait_pool_new, .n_waiters = 1, .tokens = 2};
    play_scene(&s);
    leak_end(lc);
    gate_close(&gate);
}

Test(stacks, shared_stack_frees_a_pool, .timeout = 60) {
    gate_open(&gate);
    struct leakcheck lc = leak_begin();
    struct scene s = {.wait = wait_pool_free, .n_waiters = 1, .tokens = 1};
    play_scene(&s);
    leak_end(lc);
    gate_close(&gate);
}

/* ---- the stacks of pool workers ---- */

/* An item with 1 MiB of locals, every page touched: fine on a thread of
 * jg_thread_start's default stack, so fine in a pool. */
static void *deep(void *arg) {
    volatile unsigned char big[1 << 20];
    for (size_t i = 0; i < sizeof(big); i += 1024) {
        big[i] = (unsigned char)(i >> 10);
    }
    return (void *)((uintptr_t)big[5 * 1024] + (uintptr_t)arg);
}

Test(stacks, pool_items_get_a_threads_default_stack, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    for (int k = 0; k < 2; k++) {
        jg_pool *p;
        jg_pool_opts o = {.kind = (jg_pool_kind)k, .workers = 2};
        cr_assert_eq(jg_pool_new(&p, &o), 0);
        jg_future *f[4];
        for (intptr_t i = 0; i < 4; i++) {
            cr_assert_eq(jg_pool_submit(p, &f[i], deep, (void *)i), 0);
        }
        for (intptr_t i = 0; i < 4; i++) {
            void *r = NULL;
            int rc = jg_future_wait(f[i], JG_FOREVER, &r);
            cr_assert_eq(rc, 0, "kind %d item %d: %d", k, (int)i, rc);
            cr_assert_eq((intptr_t)r, 5 + i);
            jg_future_free(f[i]);
        }
        cr_assert_eq(jg_pool_free(p), 0);
    }
    leak_end(lc);
}

Test(stacks, pools_take_a_stack_size, .timeout = 60) {
    struct leakcheck lc = leak_begin();
    jg_pool *p = (jg_pool *)0x1;
    jg_pool_opts bad = {.stack_size = 1000};
    cr_assert_eq(jg_pool_new(&p, &bad), -EINVAL);
    cr_assert_eq((uintptr_t)p, 1, "out written on error");
    jg_pool_opts o = {.workers = 1, .stack_size = (size_t)3 << 20};
    cr_assert_eq(jg_pool_new(&p, &o), 0);
    jg_future *f;
    cr_assert_eq(jg_pool_submit(p, &f, thread_stack_size, NULL), 0);
    void *r = NULL;
    cr_assert_eq(jg_future_wait(f, JG_FOREVER, &r), 0);
    cr_assert((size_t)r >= (size_t)3 << 20, "stack of %zu", (size_t)r);
    jg_future_free(f);
    cr_assert_eq(jg_pool_free(p), 0);
    leak_end(lc);
}
