/* SPDX-License-Identifier: MIT */
/*
 * pool.c - pools of worker threads or worker processes, and their
 * futures: jg_pool_new / jg_pool_free / jg_pool_submit, jg_future_wait /
 * jg_future_cancel / jg_future_free.
 *
 * A pool is a FIFO of futures under one mutex, and N worker threads that
 * take from it. In a thread pool each worker runs the items itself; in a
 * process pool each worker thread is the manager of one child process: it
 * sends the item to its child over a socket, waits for the reply, and
 * replaces the child if it died (pool_proc.c). Map calls (map.c) are
 * rounds that every worker joins once, ahead of queued items.
 *
 * A future is referenced by the user's handle and, while queued or
 * running, by the pool; the last reference frees it. Its result is
 * published through a latch, so a task that waits is suspended and a
 * thread sleeps on a futex.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "exec/pool.h"
#include "os/os.h"
#include "os/proc.h"

#define MAX_WORKERS 1024
#define MAX_COPY ((size_t)1 << 30)
#define MIN_STACK (16 * 1024) /* As jg_thread_start's. */

struct map_turn {
    struct jg__latch go;
    struct map_turn *next;
};

/* ---- futures ---- */

static void future_unref(struct jg_future *f) {
    /* Acq_rel: the last owner sees every write of the others. */
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        jg__latch_fini(&f->done);
        jg__free(f, f->size);
    }
}

void jg__future_complete(struct jg_future *f, int rc) {
    jg_pool *p = f->pool;
    f->rc = rc;
    pthread_mutex_lock(&p->lock);
    atomic_store_explicit(&f->state, F_DONE, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
    jg__latch_set(&f->done); /* Publishes rc and the result. */
    future_unref(f);
}

int jg_pool_submit(jg_pool *p, jg_future **out, jg_task_fn fn, void *arg) {
    if (p == NULL || out == NULL || fn == NULL) {
        return -EINVAL;
    }
    bool procs = p->o.kind == JG_POOL_PROCESSES;
    size_t asz = procs ? p->o.arg_size : 0;
    size_t rsz = procs ? p->o.result_size : 0;
    if (asz > 0 && arg == NULL) {
        return -EINVAL;
    }
    size_t size = sizeof(struct jg_future) + asz + rsz;
    struct jg_future *f = jg__malloc(size);
    if (f == NULL) {
        return -ENOMEM;
    }
    f->pool = p;
    f->fn = fn;
    f->arg = arg;
    char *extra = (char *)(f + 1);
    if (asz > 0) {
        memcpy(extra, arg, asz);
        f->arg = extra;
    }
    f->resbuf = extra + asz;
    f->result_size = rsz;
    f->result = NULL;
    f->rc = 0;
    f->size = size;
    atomic_init(&f->state, F_QUEUED);
    f->next = NULL;
    atomic_init(&f->refs, 2);
    jg__latch_init(&f->done);
    pthread_mutex_lock(&p->lock);
    if (p->stop) {
        pthread_mutex_unlock(&p->lock);
        jg__latch_fini(&f->done);
        jg__free(f, size);
        return -EPIPE;
    }
    if (p->tail != NULL) {
        p->tail->next = f;
    } else {
        p->head = f;
    }
    p->tail = f;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    *out = f;
    return 0;
}

int jg_future_wait(jg_future *f, int64_t deadline, void *result) {
    if (f == NULL || (deadline < 0 && deadline != JG_FOREVER)) {
        return -EINVAL;
    }
    int rc = jg__latch_wait(&f->done, deadline);
    if (rc < 0) {
        return rc;
    }
    if (f->rc < 0) {
        return f->rc;
    }
    if (result != NULL) {
        if (f->result_size > 0) {
            memcpy(result, f->resbuf, f->result_size);
        } else {
            *(void **)result = f->result;
        }
    }
    return 0;
}

/* Take f out of the queue if it is still there. Returns 0, -EBUSY or
 * -EALREADY. */
static int dequeue(struct jg_future *f) {
    /* Relaxed: a final state (DONE, CANCELLED) never changes again, and
     * the pool (maybe freed by now) must not be touched then. */
    int st = atomic_load_explicit(&f->state, memory_order_relaxed);
    if (st == F_DONE || st == F_CANCELLED) {
        return -EALREADY;
    }
    jg_pool *p = f->pool;
    pthread_mutex_lock(&p->lock);
    st = atomic_load_explicit(&f->state, memory_order_relaxed);
    if (st != F_QUEUED) {
        pthread_mutex_unlock(&p->lock);
        return st == F_RUNNING ? -EBUSY : -EALREADY;
    }
    struct jg_future *prev = NULL;
    for (struct jg_future *x = p->head; x != f; x = x->next) {
        prev = x;
    }
    if (prev != NULL) {
        prev->next = f->next;
    } else {
        p->head = f->next;
    }
    if (p->tail == f) {
        p->tail = prev;
    }
    atomic_store_explicit(&f->state, F_CANCELLED, memory_order_relaxed);
    f->rc = -ECANCELED;
    pthread_mutex_unlock(&p->lock);
    jg__latch_set(&f->done);
    future_unref(f); /* The pool's reference. */
    return 0;
}

int jg_future_cancel(jg_future *f) {
    if (f == NULL) {
        return -EINVAL;
    }
    return dequeue(f);
}

void jg_future_free(jg_future *f) {
    if (f == NULL) {
        return;
    }
    dequeue(f); /* An item nobody will wait for need not run. */
    future_unref(f);
}

/* ---- workers ---- */

void jg__pool_run_item(struct jg__pworker *w, struct jg_future *f) {
    (void)w;
    f->result = f->fn(f->arg);
    jg__future_complete(f, 0);
}

static void worker_loop(struct jg__pworker *w) {
    jg_pool *p = w->pool;
    bool procs = p->o.kind == JG_POOL_PROCESSES;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->map != NULL && w->map_gen != p->map_gen) {
            struct jg__map_job *job = p->map;
            w->map_gen = p->map_gen;
            pthread_mutex_unlock(&p->lock);
            if (procs) {
                jg__pool_proc_round(w, job);
            } else {
                jg__map_run_chunks(job);
            }
            /* Acq_rel: the last one sees every worker's writes and
             * publishes them with the latch. */
            if (atomic_fetch_sub_explicit(&job->pending, 1,
                                          memory_order_acq_rel) == 1) {
                jg__latch_set(&job->done);
            }
            pthread_mutex_lock(&p->lock);
            continue;
        }
        struct jg_future *f = p->head;
        if (f != NULL) {
            p->head = f->next;
            if (p->head == NULL) {
                p->tail = NULL;
            }
            atomic_store_explicit(&f->state, F_RUNNING, memory_order_relaxed);
            pthread_mutex_unlock(&p->lock);
            if (procs) {
                jg__pool_proc_item(w, f);
            } else {
                jg__pool_run_item(w, f);
            }
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (p->stop) {
            break;
        }
        pthread_cond_wait(&p->cond, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
}

/* Start-up: each worker reports whether it could start its child. */
struct startup {
    _Atomic int left;
    _Atomic int rc;
    struct jg__latch done;
};

struct worker_arg {
    struct jg__pworker *w;
    struct startup *st;
    struct jg__place place; /* Where it starts (os.h, spread start). */
};

static void *worker_main(void *x) {
    struct jg__pworker *w = ((struct worker_arg *)x)->w;
    struct startup *st = ((struct worker_arg *)x)->st;
    jg__os_place_release(&((struct worker_arg *)x)->place);
    jg_pool *p = w->pool;
    char name[16];
    jg__exec_name(name, p->name, w->index);
    jg__os_set_name(name);
    int rc = 0;
    if (p->o.kind == JG_POOL_PROCESSES) {
        rc = jg__pool_proc_spawn(w);
        if (rc < 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&st->rc, &zero, rc);
        }
    }
    /* st lives until every worker reported (start_workers frees it). */
    if (atomic_fetch_sub_explicit(&st->left, 1, memory_order_acq_rel) == 1) {
        jg__latch_set(&st->done);
    }
    if (rc == 0) {
        worker_loop(w);
    }
    if (p->o.kind == JG_POOL_PROCESSES) {
        jg__pool_proc_stop(w);
    }
    if (atomic_fetch_sub_explicit(&p->live, 1, memory_order_acq_rel) == 1) {
        jg__latch_set(&p->exited);
    }
    return NULL;
}

static int check_opts(jg_pool_opts *o) {
    if (o->kind != JG_POOL_THREADS && o->kind != JG_POOL_PROCESSES) {
        return -EINVAL;
    }
    if (o->workers < 0 || o->workers > MAX_WORKERS || o->arg_size > MAX_COPY ||
        o->result_size > MAX_COPY ||
        (o->stack_size != 0 && o->stack_size < MIN_STACK)) {
        return -EINVAL;
    }
    if (o->workers == 0) {
        o->workers = jg__os_ncpus();
        if (o->workers > MAX_WORKERS) {
            o->workers = MAX_WORKERS;
        }
    }
    if (o->name == NULL) {
        o->name = "jg-pool";
    }
    return 0;
}

/* Stop the workers started so far and wait for them. */
static void stop_workers(jg_pool *p, int started) {
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (started > 0) {
        jg__latch_wait(&p->exited, JG_FOREVER);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(p->w[i].th, NULL);
    }
}

static int start_workers(jg_pool *p) {
    int n = p->o.workers;
    /* On the heap: the workers write it while we may be a suspended
     * task (exec/latch.c, on shared stacks). */
    struct startup *st = jg__malloc(sizeof(*st));
    struct worker_arg *args = jg__calloc((size_t)n, sizeof(*args));
    if (st == NULL || args == NULL) {
        jg__free(st, sizeof(*st));
        jg__free(args, (size_t)n * sizeof(*args));
        return -ENOMEM;
    }
    atomic_init(&st->left, n);
    atomic_init(&st->rc, 0);
    jg__latch_init(&st->done);
    atomic_store(&p->live, n);
    int started = 0, rc = 0;
    for (; started < n; started++) {
        args[started] = (struct worker_arg){.w = &p->w[started], .st = st};
        jg__os_place_pick(&args[started].place);
        /* The default stack (jg_thread_start's): items run on it, in the
         * thread or in the child forked from it, and must not find less
         * room than on a thread of their own. */
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        int e = 0;
        if (p->o.stack_size != 0) {
            e = pthread_attr_setstacksize(&attr, p->o.stack_size);
        }
        if (e == 0) {
            e = jg__os_place_create(&p->w[started].th, &attr,
                                    &args[started].place, worker_main,
                                    &args[started]);
        }
        pthread_attr_destroy(&attr);
        if (e != 0) {
            rc = e == EINVAL ? -EINVAL : -EAGAIN;
            break;
        }
    }
    if (started < n) {
        /* Account for the workers that never started. */
        int missing = n - started;
        /* Acq_rel, as a worker's own exit: whoever takes live to 0 sets
         * exited, and the workers that started may all be gone by now
         * (a failed fork ends them at once). */
        if (atomic_fetch_sub_explicit(&p->live, missing,
                                      memory_order_acq_rel) == missing) {
            jg__latch_set(&p->exited);
        }
        if (atomic_fetch_sub(&st->left, missing) == missing) {
            jg__latch_set(&st->done);
        }
    }
    jg__latch_wait(&st->done, JG_FOREVER);
    if (rc == 0) {
        rc = atomic_load(&st->rc);
    }
    if (rc < 0) {
        stop_workers(p, started);
    }
    jg__latch_fini(&st->done);
    jg__free(st, sizeof(*st));
    jg__free(args, (size_t)n * sizeof(*args));
    return rc;
}

int jg_pool_new(jg_pool **out, const jg_pool_opts *opts) {
    jg_pool_opts o = opts ? *opts : (jg_pool_opts){0};
    if (out == NULL) {
        return -EINVAL;
    }
    int rc = check_opts(&o);
    if (rc < 0) {
        return rc;
    }
    jg_pool *p = jg__calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->o = o;
    snprintf(p->name, sizeof(p->name), "%s", o.name);
    p->o.name = p->name;
    p->arena_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    jg__latch_init(&p->exited);
    p->w = jg__calloc((size_t)o.workers, sizeof(*p->w));
    if (p->w == NULL) {
        rc = -ENOMEM;
        goto undo_pool;
    }
    for (int i = 0; i < o.workers; i++) {
        p->w[i] = (struct jg__pworker){
            .pool = p, .index = i, .pid = -1, .sock = -1, .pidfd = -1};
    }
    if (o.kind == JG_POOL_PROCESSES) {
        rc = jg__pool_proc_init(p);
        if (rc < 0) {
            goto undo_workers;
        }
    }
    rc = start_workers(p);
    if (rc < 0) {
        goto undo_proc;
    }
    *out = p;
    return 0;

undo_proc:
    if (o.kind == JG_POOL_PROCESSES) {
        jg__pool_proc_fini(p);
    }
undo_workers:
    jg__free(p->w, (size_t)o.workers * sizeof(*p->w));
undo_pool:
    jg__latch_fini(&p->exited);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    jg__free(p, sizeof(*p));
    return rc;
}

int jg_pool_free(jg_pool *p) {
    if (p == NULL) {
        return 0;
    }
    pthread_t self = pthread_self();
    for (int i = 0; i < p->o.workers; i++) {
        if (pthread_equal(p->w[i].th, self)) {
            return -EDEADLK;
        }
    }
    stop_workers(p, p->o.workers);
    if (p->o.kind == JG_POOL_PROCESSES) {
        jg__pool_proc_fini(p);
    }
    jg__free(p->w, (size_t)p->o.workers * sizeof(*p->w));
    jg__latch_fini(&p->exited);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    jg__free(p, sizeof(*p));
    return 0;
}

/* ---- map rounds and turns ---- */

int jg__pool_map_round(jg_pool *p, struct jg__map_job *job) {
    atomic_store_explicit(&job->pending, p->o.workers, memory_order_relaxed);
    jg__latch_init(&job->done);
    pthread_mutex_lock(&p->lock);
    p->map = job;
    p->map_gen++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    jg__latch_wait(&job->done, JG_FOREVER);
    pthread_mutex_lock(&p->lock);
    p->map = NULL;
    pthread_mutex_unlock(&p->lock);
    jg__latch_fini(&job->done);
    return 0;
}

int jg__pool_map_lock(jg_pool *p) {
    pthread_mutex_lock(&p->lock);
    if (!p->map_busy) {
        p->map_busy = true;
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    pthread_mutex_unlock(&p->lock);
    /* On the heap: the map before us hands the turn over while we may be
     * a suspended task (exec/latch.c, on shared stacks). */
    struct map_turn *t = jg__malloc(sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    t->next = NULL;
    jg__latch_init(&t->go);
    pthread_mutex_lock(&p->lock);
    if (!p->map_busy) {
        p->map_busy = true; /* Given back meanwhile. */
        pthread_mutex_unlock(&p->lock);
        jg__latch_fini(&t->go);
        jg__free(t, sizeof(*t));
        return 0;
    }
    if (p->turns_tail != NULL) {
        p->turns_tail->next = t;
    } else {
        p->turns = t;
    }
    p->turns_tail = t;
    pthread_mutex_unlock(&p->lock);
    jg__latch_wait(&t->go, JG_FOREVER); /* The turn is handed to us. */
    jg__latch_fini(&t->go);
    jg__free(t, sizeof(*t));
    return 0;
}

void jg__pool_map_unlock(jg_pool *p) {
    pthread_mutex_lock(&p->lock);
    struct map_turn *t = p->turns;
    if (t == NULL) {
        p->map_busy = false;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->turns = t->next;
    if (p->turns == NULL) {
        p->turns_tail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    jg__latch_set(&t->go);
}
