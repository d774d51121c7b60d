/* SPDX-License-Identifier: MIT */
/*
 * test_workers.c - the M:N scheduler spreads work: tasks run on every
 * worker, a blocked worker's queue is stolen from, and a long compute task
 * on one worker does not stop the others.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define MAXW 8

struct spread {
    _Atomic long ran_on[MAXW];
};

static void *busy_then_note(void *arg) {
    struct spread *s = arg;
    volatile long x = 0;
    for (int i = 0; i < 20000; i++) {
        x += i;
    }
    atomic_fetch_add(&s->ran_on[jg_worker_index()], 1);
    return NULL;
}

static void *spread_out(void *arg) {
    struct spread *s = arg;
    int n = 20000;
    jg_task **t = malloc((size_t)n * sizeof(*t));
    for (int i = 0; i < n; i++) {
        jg_spawn(&t[i], busy_then_note, s, NULL);
    }
    jg_gather(t, (size_t)n, NULL);
    free(t);
    return NULL;
}

/* Every worker takes a share. On a loaded machine a worker thread may get
 * no CPU during one batch, so batches repeat (each one counted exactly)
 * until every worker has run something; the timeout bounds the wait. */
Test(workers, tasks_run_on_every_worker, .timeout = 120) {
    for (int w = 2; w <= 4; w++) {
        struct spread s = {0};
        int batches = 0, idle;
        do {
            run_on(spread_out, &s, w);
            batches++;
            idle = 0;
            long total = 0;
            for (int i = 0; i < w; i++) {
                idle += atomic_load(&s.ran_on[i]) == 0;
                total += atomic_load(&s.ran_on[i]);
            }
            cr_assert_eq(total, 20000L * batches);
        } while (idle > 0);
    }
}

struct hog {
    _Atomic int stop;
    _Atomic long others;
};

static void *hog_cpu(void *arg) {
    struct hog *h = arg;
    while (!atomic_load(&h->stop)) {
    }
    return NULL;
}

static void *short_one(void *arg) {
    atomic_fetch_add(&((struct hog *)arg)->others, 1);
    return NULL;
}

static void *hog_and_others(void *arg) {
    struct hog *h = arg;
    jg_task *hog, *t[100];
    jg_spawn(&hog, hog_cpu, h, NULL);
    for (int i = 0; i < 100; i++) {
        jg_spawn(&t[i], short_one, h, NULL);
    }
    jg_gather(t, 100, NULL); /* Runs on the other worker meanwhile. */
    cr_assert_eq(atomic_load(&h->others), 100);
    atomic_store(&h->stop, 1);
    jg_join(hog, NULL);
    return NULL;
}

/* One worker spins in a task that never yields; the other still runs
 * everything else, main included. */
Test(workers, a_busy_worker_does_not_stall_the_others, .timeout = 60) {
    struct hog h = {0};
    run_on(hog_and_others, &h, 2);
}

/* Worker threads 1..n-1 carry the name "juggle-w<i>" (set by the thread
 * itself), visible in /proc and debuggers; worker 0 is the caller's own
 * thread and keeps its name. */
struct names {
    char name[MAXW][32];
    _Atomic int seen[MAXW];
};

static void *note_name(void *arg) {
    struct names *n = arg;
    int w = jg_worker_index();
    FILE *f = fopen("/proc/thread-self/comm", "r");
    cr_assert(f != NULL);
    char buf[32] = "";
    cr_assert(fgets(buf, sizeof(buf), f) != NULL);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    if (atomic_exchange(&n->seen[w], 1) == 0) {
        strcpy(n->name[w], buf);
    }
    return NULL;
}

static void *name_every_worker(void *arg) {
    struct names *n = arg;
    for (;;) {
        jg_task *t[64];
        for (int i = 0; i < 64; i++) {
            cr_assert_eq(jg_spawn(&t[i], note_name, n, NULL), 0);
        }
        cr_assert_eq(jg_gather(t, 64, NULL), 0);
        int all = 1;
        for (int i = 0; i < jg_worker_count(); i++) {
            all &= atomic_load(&n->seen[i]);
        }
        if (all) {
            return NULL;
        }
        jg_sleep(1000000); /* A worker without CPU time: try again. */
    }
}

Test(workers, worker_threads_are_named, .timeout = 120) {
    struct names n = {0};
    char mine[32];
    cr_assert_eq(pthread_getname_np(pthread_self(), mine, sizeof(mine)), 0);
    run_on(name_every_worker, &n, 3);
    cr_assert_str_eq(n.name[0], mine);
    cr_assert_str_eq(n.name[1], "juggle-w1");
    cr_assert_str_eq(n.name[2], "juggle-w2");
}
