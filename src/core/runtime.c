/* SPDX-License-Identifier: MIT */
/*
 * runtime.c - jg_run(): resolving options, starting and stopping worker
 * threads, and tearing the runtime down.
 *
 * Start-up order: every worker's queues and stacks first, then threads 1..N-1
 * (they park at once: there is no work yet), then the main task, and last
 * the calling thread enters worker 0's loop. Starting the threads before
 * main exists means a failed thread start can be undone without any task
 * having run.
 *
 * Shutdown: when the last task finishes, sched.c sets `shutdown` and wakes
 * everyone; each worker leaves its loop, hands its stack cache back and
 * unbinds. The caller then joins the threads and frees everything, task
 * structs included, so handles never joined are released here.
 */
#include <errno.h>
#include <string.h>

#include "core/sched.h"
#include "os/os.h"

#ifdef JG__SANITIZED
#define DEFAULT_STACK ((size_t)256 << 10) /* Sanitizers triple frames. */
#else
#define DEFAULT_STACK ((size_t)64 << 10)
#endif
#define DEFAULT_SHARED_STACK ((size_t)256 << 10)
#define DEFAULT_QUEUE 1024
#define MAX_WORKERS 1024
#define MAX_QUEUE (1 << 24)
#define DEFAULT_BLOCKING 16 /* Blocking-pool threads, started lazily. */
#define MAX_BLOCKING 1024
/* The signal stack: the overflow handler runs here (SIGSTKSZ may be too
 * small for a handler that formats a message under a sanitizer). */
#define ALTSTACK_SIZE ((size_t)64 << 10)

static int resolve(jg_run_opts *o) {
    if (o->workers < 0 || o->workers > MAX_WORKERS) {
        return -EINVAL;
    }
    if (o->workers == 0) {
        o->workers = jg__os_ncpus();
        if (o->workers > MAX_WORKERS) {
            o->workers = MAX_WORKERS;
        }
    }
    if (o->stack_mode < JG_STACK_DEFAULT || o->stack_mode > JG_STACK_SHARED) {
        return -EINVAL;
    }
    if (o->stack_mode == JG_STACK_DEFAULT) {
        o->stack_mode = JG_STACK_PRIVATE;
    }
    o->stack_size = o->stack_size ? jg__stack_size_valid(o->stack_size)
                                  : DEFAULT_STACK;
    o->shared_stack_size = o->shared_stack_size
                               ? jg__stack_size_valid(o->shared_stack_size)
                               : DEFAULT_SHARED_STACK;
    if (o->stack_size == 0 || o->shared_stack_size == 0) {
        return -EINVAL;
    }
    if (o->guard < JG_GUARD_DEFAULT || o->guard > JG_GUARD_NEVER) {
        return -EINVAL;
    }
    if (o->blocking_threads < 0 || o->blocking_threads > MAX_BLOCKING) {
        return -EINVAL;
    }
    if (o->blocking_threads == 0) {
        o->blocking_threads = DEFAULT_BLOCKING;
    }
    if (o->queue_capacity == 0) {
        o->queue_capacity = DEFAULT_QUEUE;
    }
    if (o->queue_capacity < 2 || o->queue_capacity > MAX_QUEUE ||
        (o->queue_capacity & (o->queue_capacity - 1)) != 0) {
        return -EINVAL;
    }
    return 0;
}

static int worker_init(struct jg__runtime *rt, int index) {
    struct jg__worker *w = &rt->workers[index];
    w->rt = rt;
    w->index = index;
    w->trace = rt->opts.trace;
    w->trace_pid = jg__os_getpid();
    w->rng = 2654435761u * (uint32_t)(index + 1); /* Knuth's multiplier. */
    jg__timer_heap_init(&w->timers);
    pthread_mutex_init(&w->inbox_lock, NULL);
    int rc = jg__deque_init(&w->deque, rt->opts.queue_capacity);
    if (rc < 0) {
        return rc;
    }
    rc = jg__stack_map_single(&w->sstack, rt->opts.shared_stack_size,
                              rt->opts.guard);
    if (rc < 0) {
        goto undo_deque;
    }
    rc = jg__os_map(&w->altstack, ALTSTACK_SIZE);
    if (rc < 0) {
        goto undo_sstack;
    }
    return 0;

undo_sstack:
    jg__stack_unmap_single(&w->sstack);
    w->sstack.lo = NULL;
undo_deque:
    jg__deque_fini(&w->deque);
    return rc;
}

static void worker_fini(struct jg__worker *w) {
    if (w->altstack != NULL) {
        jg__os_unmap(w->altstack, ALTSTACK_SIZE);
    }
    if (w->sstack.lo != NULL) {
        jg__stack_unmap_single(&w->sstack);
    }
    if (w->deque.slots != NULL) {
        jg__deque_fini(&w->deque);
    }
    jg__timer_heap_fini(&w->timers);
    pthread_mutex_destroy(&w->inbox_lock);
}

/* Run worker w's loop on the calling thread. */
static void worker_run(struct jg__worker *w) {
    jg__os_altstack_push(w->altstack, ALTSTACK_SIZE, &w->old_altstack);
    void *lo;
    size_t size;
    jg__os_thread_stack(&lo, &size);
    w->sched_san.stack_lo = lo;
    w->sched_san.stack_size = size;
    jg__san_fiber_thread(&w->sched_san);
    jg__worker_bind(w);
    jg__worker_loop(w);
    jg__worker_bind(NULL);
    jg__stack_cache_drain(&w->rt->stacks, &w->stacks);
    jg__os_altstack_pop(&w->old_altstack);
}

static void *worker_thread(void *arg) {
    worker_run(arg);
    return NULL;
}

static void runtime_free(struct jg__runtime *rt) {
    jg__reactor_close(rt); /* Joins the blocking pool: no task is left. */
    jg__task_pool_fini(rt);
    for (int i = 0; i < rt->nworkers; i++) {
        worker_fini(&rt->workers[i]);
    }
    jg__stack_pool_fini(&rt->stacks);
    jg__gq_fini(rt);
    pthread_mutex_destroy(&rt->gq_lock);
    pthread_mutex_destroy(&rt->park_lock);
    pthread_mutex_destroy(&rt->pool_lock);
    pthread_mutex_destroy(&rt->reactor_lock);
    pthread_mutex_destroy(&rt->names_lock);
    jg__free(rt->idle, (size_t)rt->nworkers * sizeof(*rt->idle));
    jg__free(rt->workers, (size_t)rt->nworkers * sizeof(*rt->workers));
    jg__free(rt, sizeof(*rt));
}

static int runtime_new(struct jg__runtime **out, const jg_run_opts *o) {
    struct jg__runtime *rt = jg__calloc(1, sizeof(*rt));
    if (rt == NULL) {
        return -ENOMEM;
    }
    rt->opts = *o;
    pthread_mutex_init(&rt->gq_lock, NULL);
    pthread_mutex_init(&rt->park_lock, NULL);
    pthread_mutex_init(&rt->pool_lock, NULL);
    pthread_mutex_init(&rt->reactor_lock, NULL);
    pthread_mutex_init(&rt->names_lock, NULL);
    jg__stack_pool_init(&rt->stacks, o->stack_size, o->guard);
    rt->workers = jg__calloc((size_t)o->workers, sizeof(*rt->workers));
    rt->idle = jg__calloc((size_t)o->workers, sizeof(*rt->idle));
    if (rt->workers == NULL || rt->idle == NULL) {
        rt->nworkers = rt->workers ? o->workers : 0;
        runtime_free(rt);
        return -ENOMEM;
    }
    rt->nworkers = o->workers;
    for (int i = 0; i < o->workers; i++) {
        int rc = worker_init(rt, i);
        if (rc < 0) {
            runtime_free(rt);
            return rc;
        }
    }
    *out = rt;
    return 0;
}

/* Start threads for workers 1..n-1. On failure, stop those started. */
static int start_threads(struct jg__runtime *rt) {
    for (int i = 1; i < rt->nworkers; i++) {
        char name[32];
        jg__fmt_u64(name, "juggle-w", (uint64_t)i);
        int rc = jg__os_thread_start(&rt->workers[i].thread, worker_thread,
                                     &rt->workers[i], name);
        if (rc < 0) {
            jg__sched_shutdown(rt);
            for (int j = 1; j < i; j++) {
                jg__os_thread_join(rt->workers[j].thread);
            }
            return rc == -ENOMEM ? -ENOMEM : -EAGAIN;
        }
    }
    return 0;
}

int jg_run(jg_task_fn main, void *arg, const jg_run_opts *opts,
           void **result) {
    if (main == NULL) {
        return -EINVAL;
    }
    if (jg__worker_self() != NULL) {
        return -EBUSY;
    }
    jg_run_opts o = opts ? *opts : (jg_run_opts){0};
    int rc = resolve(&o);
    if (rc < 0) {
        return rc;
    }
    jg__stack_overflow_handler_install();
    struct jg__runtime *rt;
    rc = runtime_new(&rt, &o);
    if (rc < 0) {
        return rc;
    }
    rc = start_threads(rt);
    if (rc < 0) {
        runtime_free(rt);
        return rc;
    }
    struct jg_task *main_task;
    jg_spawn_opts so = {.name = "main"};
    rc = jg__spawn(&rt->workers[0], &main_task, main, arg, &so);
    if (rc < 0) {
        jg__sched_shutdown(rt);
    }
    /* From here on, all counters equal means all tasks are done. */
    atomic_store_explicit(&rt->started, 1, memory_order_release);
    worker_run(&rt->workers[0]);
    for (int i = 1; i < rt->nworkers; i++) {
        jg__os_thread_join(rt->workers[i].thread);
    }
    if (rc == 0) {
        rc = main_task->start_rc;
        if (result != NULL) {
            *result = rc == 0 ? main_task->result : NULL;
        }
    }
    runtime_free(rt);
    return rc;
}
