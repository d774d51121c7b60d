/* SPDX-License-Identifier: MIT */
/*
 * test_stress.c - many tasks, many rounds, random interleavings, shrunken
 * queues: at least 10^6 cross-task wake-ups with none lost, a storm of
 * sleeps, cancels and joins, and deep spawn trees. Sizes shrink with
 * JUGGLE_STRESS_SCALE for the sanitizer builds.
 *
 * The ping-pong uses the scheduler's own park/wake protocol (sched.h)
 * directly, through a one-slot mailbox, so what is tested is the core's
 * wake-up path and nothing layered above it.
 */
#include <errno.h>

#include "core/sched.h"
#include "helpers.h"

/* ---- a one-token mailbox on park/wake ---- */

struct box {
    _Atomic int token;
    _Atomic(struct jg_task *) waiter;
    _Atomic uint64_t seq;
};

static void box_post(struct box *b) {
    atomic_store(&b->token, 1);
    struct jg_task *w = atomic_exchange(&b->waiter, NULL);
    if (w != NULL) {
        jg__wake(w, atomic_load(&b->seq), JG__WAKE_OK);
    }
}

static void box_wait(struct box *b) {
    struct jg_task *self = jg_self();
    for (;;) {
        if (atomic_exchange(&b->token, 0) == 1) {
            return;
        }
        uint64_t seq = jg__park_prepare(self, false);
        atomic_store(&b->seq, seq);
        atomic_store(&b->waiter, self);
        if (atomic_load(&b->token) == 1) {
            struct jg_task *me = self;
            atomic_compare_exchange_strong(&b->waiter, &me, NULL);
            jg__park_abandon(self, seq);
            continue;
        }
        jg__park(self, seq, false);
    }
}

struct pair {
    struct box to_a, to_b;
    long rounds;
    long a_got, b_got;
    _Atomic long *cross;
    int a_on, b_on; /* Pinned placements: the worker each must stay on. */
    _Atomic long *misplaced;
};

static void *ping(void *arg) {
    struct pair *p = arg;
    uint32_t r = (uint32_t)(uintptr_t)p;
    for (long i = 0; i < p->rounds; i++) {
        box_post(&p->to_b);
        int before = jg_worker_index();
        box_wait(&p->to_a);
        if (jg_worker_index() != before) {
            atomic_fetch_add(p->cross, 1);
        }
        if (p->misplaced != NULL && jg_worker_index() != p->a_on) {
            atomic_fetch_add(p->misplaced, 1);
        }
        p->a_got++;
        if (rnd(&r) % 16 == 0) {
            jg_yield();
        }
    }
    return NULL;
}

static void *pong(void *arg) {
    struct pair *p = arg;
    uint32_t r = (uint32_t)(uintptr_t)p * 7;
    for (long i = 0; i < p->rounds; i++) {
        box_wait(&p->to_b);
        if (p->misplaced != NULL && jg_worker_index() != p->b_on) {
            atomic_fetch_add(p->misplaced, 1);
        }
        p->b_got++;
        if (rnd(&r) % 16 == 0) {
            jg_yield();
        }
        box_post(&p->to_a);
    }
    return NULL;
}

#define PAIRS 16

struct pingpong {
    struct pair pairs[PAIRS];
    _Atomic long cross;
};

static void *run_pairs(void *arg) {
    struct pingpong *pp = arg;
    jg_task *t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        jg_spawn_opts o = {.stack_mode =
                               i % 2 ? JG_STACK_SHARED : JG_STACK_PRIVATE};
        jg_spawn(&t[2 * i], ping, &pp->pairs[i], &o);
        jg_spawn(&t[2 * i + 1], pong, &pp->pairs[i], &o);
    }
    cr_assert_eq(jg_gather(t, 2 * PAIRS, NULL), 0);
    return NULL;
}

static void pingpong_on(int workers, int queue) {
    struct pingpong *pp = calloc(1, sizeof(*pp));
    /* 2 wake-ups a round: >= 10^6 in total at full size. */
    long rounds = stress(1000000) / (2 * PAIRS) + 1;
    for (int i = 0; i < PAIRS; i++) {
        pp->pairs[i].rounds = rounds;
        pp->pairs[i].cross = &pp->cross;
    }
    run_opts(run_pairs, pp,
             (jg_run_opts){.workers = workers, .queue_capacity = queue});
    for (int i = 0; i < PAIRS; i++) {
        cr_assert_eq(pp->pairs[i].a_got, rounds);
        cr_assert_eq(pp->pairs[i].b_got, rounds);
    }
    free(pp);
}

/* Deterministic: ping pinned to worker 0, pong to worker 1, so each of the
 * >= 10^6 wake-ups crosses workers, through the inbox path. */
struct pinned_pairs {
    struct pair pairs[PAIRS];
    _Atomic long cross, misplaced;
};

static void *run_pinned_pairs(void *arg) {
    struct pinned_pairs *pp = arg;
    struct jg__worker *w = jg_self()->x->worker;
    jg_task *t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        cr_assert_eq(jg__spawn_pinned(w, 0, &t[2 * i], ping, &pp->pairs[i]),
                     0);
        cr_assert_eq(jg__spawn_pinned(w, 1, &t[2 * i + 1], pong,
                                      &pp->pairs[i]),
                     0);
    }
    cr_assert_eq(jg_gather(t, 2 * PAIRS, NULL), 0);
    return NULL;
}

Test(stress, million_wakeups_all_across_workers, .timeout = 300) {
    struct pinned_pairs *pp = calloc(1, sizeof(*pp));
    long rounds = stress(1000000) / (2 * PAIRS) + 1;
    for (int i = 0; i < PAIRS; i++) {
        pp->pairs[i] = (struct pair){.rounds = rounds, .cross = &pp->cross,
                                     .a_on = 0, .b_on = 1,
                                     .misplaced = &pp->misplaced};
    }
    run_opts(run_pinned_pairs, pp, (jg_run_opts){.workers = 2});
    for (int i = 0; i < PAIRS; i++) {
        cr_assert_eq(pp->pairs[i].a_got, rounds);
        cr_assert_eq(pp->pairs[i].b_got, rounds);
    }
    cr_assert_eq(atomic_load(&pp->misplaced), 0, "a pinned task moved");
    free(pp);
}

Test(stress, million_wakeups_none_lost_4_workers, .timeout = 300) {
    pingpong_on(4, 0);
}

Test(stress, million_wakeups_none_lost_2_workers_tiny_queues,
     .timeout = 300) {
    pingpong_on(2, 4);
}

Test(stress, wakeups_on_one_worker, .timeout = 300) {
    pingpong_on(1, 2);
}

/* ---- a storm: random sleeps, yields, cancels, joins ---- */

#define VICTIMS 32
#define CANCELLERS 8

struct storm {
    jg_task *victims[VICTIMS];
    _Atomic long requested, delivered, joins;
    _Atomic int stop;
    long rounds;
};

struct member {
    struct storm *s;
    uint32_t seed;
};

static void *leaf(void *arg) {
    if ((uintptr_t)arg % 2) {
        jg_yield();
    }
    return arg;
}

/* A victim sleeps, yields and joins children at random, and counts the
 * cancellations that reach it, until told to stop. */
static void *victim(void *arg) {
    struct member *m = arg;
    struct storm *s = m->s;
    while (!atomic_load(&s->stop)) {
        uint32_t r = rnd(&m->seed);
        int rc = 0;
        if (r % 3 == 0) {
            jg_yield();
        } else if (r % 3 == 1) {
            rc = jg_sleep(JG_US(r % 50));
        } else {
            jg_task *c;
            jg_spawn(&c, leaf, (void *)(uintptr_t)r, NULL);
            /* A cancelled join leaves c running: cancel it and join
             * again, as often as cancellers hit us meanwhile. */
            while ((rc = jg_join(c, NULL)) == -ECANCELED) {
                atomic_fetch_add(&s->delivered, 1);
                jg_cancel(c);
            }
            atomic_fetch_add(&s->joins, 1);
        }
        cr_assert(rc == 0 || rc == -ECANCELED, "rc %d", rc);
        if (rc == -ECANCELED) {
            atomic_fetch_add(&s->delivered, 1);
        }
    }
    return NULL;
}

static void *canceller(void *arg) {
    struct member *m = arg;
    struct storm *s = m->s;
    for (long i = 0; i < s->rounds; i++) {
        uint32_t r = rnd(&m->seed);
        if (r % 4 == 0) {
            jg_yield();
        } else if (jg_cancel(s->victims[(r >> 8) % VICTIMS]) == 0) {
            atomic_fetch_add(&s->requested, 1);
        }
    }
    return NULL;
}

static void *run_storm(void *arg) {
    struct storm *s = arg;
    struct member vm[VICTIMS], cm[CANCELLERS];
    jg_task *c[CANCELLERS];
    for (int i = 0; i < VICTIMS; i++) {
        vm[i] = (struct member){s, (uint32_t)(i * 2654435761u + 1)};
        jg_spawn_opts o = {.stack_mode =
                               i % 3 ? JG_STACK_PRIVATE : JG_STACK_SHARED};
        jg_spawn(&s->victims[i], victim, &vm[i], &o);
    }
    for (int i = 0; i < CANCELLERS; i++) {
        cm[i] = (struct member){s, (uint32_t)(i * 40503u + 7)};
        jg_spawn(&c[i], canceller, &cm[i], NULL);
    }
    cr_assert_eq(jg_gather(c, CANCELLERS, NULL), 0);
    /* Victim handles stay valid until here, so no cancel hit a freed
     * task. Stop them: the flag, then a cancel for those asleep. */
    atomic_store(&s->stop, 1);
    for (int i = 0; i < VICTIMS; i++) {
        if (jg_cancel(s->victims[i]) == 0) {
            atomic_fetch_add(&s->requested, 1);
        }
    }
    cr_assert_eq(jg_gather(s->victims, VICTIMS, NULL), 0);
    return NULL;
}

Test(stress, storm_of_sleeps_cancels_and_joins, .timeout = 300) {
    for (int w = 1; w <= 4; w *= 2) {
        struct storm *s = calloc(1, sizeof(*s));
        s->rounds = stress(20000);
        run_opts(run_storm, s,
                 (jg_run_opts){.workers = w, .queue_capacity = w == 2 ? 4 : 0});
        /* Each cancel is delivered at most once. */
        cr_assert(atomic_load(&s->delivered) <= atomic_load(&s->requested),
                  "delivered %ld > requested %ld", atomic_load(&s->delivered),
                  atomic_load(&s->requested));
        cr_assert(atomic_load(&s->delivered) > 0);
        free(s);
    }
}

/* ---- a spawn tree ---- */

static void *tree(void *arg) {
    intptr_t depth = (intptr_t)arg;
    if (depth == 0) {
        return (void *)1;
    }
    jg_task *l, *r;
    jg_spawn(&l, tree, (void *)(depth - 1), NULL);
    jg_spawn(&r, tree, (void *)(depth - 1), NULL);
    void *a, *b;
    jg_join(l, &a);
    jg_join(r, &b);
    return (void *)((intptr_t)a + (intptr_t)b);
}

Test(stress, spawn_trees_count_their_leaves, .timeout = 300) {
    intptr_t depth = stress(1) > 1 ? 14 : 16;
    if (getenv("JUGGLE_STRESS_SCALE") && atol(getenv("JUGGLE_STRESS_SCALE")) > 1) {
        depth = 12;
    }
    for (int w = 1; w <= 4; w++) {
        void *leaves = run_opts(tree, (void *)depth,
                                (jg_run_opts){.workers = w,
                                              .queue_capacity = w % 2 ? 4 : 0});
        cr_assert_eq((intptr_t)leaves, (intptr_t)1 << depth);
    }
}

/* ---- fork-join: many joins across workers ---- */

struct fj {
    int n;
    long r;
    uint32_t seed;
};

static int fj_fib(void *arg) {
    struct fj *f = arg;
    if (f->n < 2) {
        f->r = f->n;
        /* Now and then a leaf yields or sleeps: the join around it must
         * survive its owner being suspended and moved. */
        uint32_t r = rnd(&f->seed);
        if (r % 64 == 0) {
            jg_yield();
        } else if (r % 512 == 1) {
            jg_sleep(JG_US(20));
        }
        return 0;
    }
    struct fj a = {f->n - 2, 0, f->seed * 3 + 1}, b = {f->n - 1, 0, f->seed * 7 + 3};
    int rc = jg_par_join(fj_fib, &a, fj_fib, &b);
    f->r = a.r + b.r;
    return rc;
}

static void *fj_rounds(void *arg) {
    long rounds = *(long *)arg;
    for (long i = 0; i < rounds; i++) {
        struct fj f = {18, 0, (uint32_t)i + 1};
        cr_assert_eq(fj_fib(&f), 0);
        cr_assert_eq(f.r, 2584, "round %ld: fib(18) = %ld", i, f.r);
    }
    return NULL;
}

static void *fj_many_tasks(void *arg) {
    jg_task *t[8];
    for (int i = 0; i < 8; i++) {
        jg_spawn(&t[i], fj_rounds, arg, NULL);
    }
    cr_assert_eq(jg_gather(t, 8, NULL), 0);
    return NULL;
}

/* 8 tasks x rounds x ~4,000 joins each: over 10^6 joins at full size. */
Test(stress, fork_join_across_workers, .timeout = 300) {
    long rounds = stress(40);
    for (int w = 2; w <= 4; w += 2) {
        run_opts(fj_many_tasks, &rounds,
                 (jg_run_opts){.workers = w, .queue_capacity = w == 2 ? 4 : 0});
    }
}
