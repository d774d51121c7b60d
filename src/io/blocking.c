/* SPDX-License-Identifier: MIT */
/*
 * blocking.c - the blocking pool behind jg_blocking() and regular-file I/O
 * without io_uring: plain threads that run jobs which may block them, so
 * that workers never do. Threads start lazily (when a job finds no idle
 * thread, up to jg_run_opts.blocking_threads) and stay until the runtime
 * ends; a job's completion wakes its task through jg__op_complete().
 */
#include <errno.h>

#include "io/reactor.h"
#include "juggle/io.h"
#include "os/os.h"

int jg__bpool_init(struct jg__bpool *p, int max) {
    p->threads = jg__calloc((size_t)max, sizeof(*p->threads));
    if (p->threads == NULL) {
        return -ENOMEM;
    }
    p->max = max;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return 0;
}

/* Called when no task is left, so the queue is empty. */
void jg__bpool_fini(struct jg__bpool *p) {
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    int n = p->nthreads;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++) {
        jg__os_thread_join(p->threads[i]);
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    jg__free(p->threads, (size_t)p->max * sizeof(*p->threads));
}

static void *pool_thread(void *arg) {
    struct jg__bpool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stop) {
            p->nidle++;
            pthread_cond_wait(&p->cond, &p->lock);
            p->nidle--;
        }
        if (p->head == NULL) {
            break; /* Stopping, nothing queued. */
        }
        struct jg__op *op = p->head;
        p->head = op->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        op->result = op->fn(op->arg);
        jg__op_complete(op);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int jg__bpool_submit(struct jg__bpool *p, struct jg__op *op) {
    op->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL) {
        p->tail->next = op;
    } else {
        p->head = op;
    }
    p->tail = op;
    p->queued++;
    /* More jobs than idle threads to take them: start one more. */
    if (p->queued > p->nidle && p->nthreads < p->max) {
        int rc = jg__os_thread_start(&p->threads[p->nthreads], pool_thread,
                                     p, "juggle-blk");
        if (rc == 0) {
            p->nthreads++;
        } else if (p->nthreads == 0) {
            /* Nobody would ever run it: take it back. */
            p->head = p->tail = NULL;
            p->queued = 0;
            pthread_mutex_unlock(&p->lock);
            return -EAGAIN;
        }
    }
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int jg_blocking(jg_task_fn fn, void *arg, void **result) {
    if (fn == NULL) {
        return -EINVAL;
    }
    struct jg_task *self = jg__io_self();
    if (self == NULL) {
        void *res = fn(arg);
        if (result != NULL) {
            *result = res;
        }
        return 0;
    }
    struct jg__reactor *r;
    int rc = jg__reactor_get(jg__task_rt(self), &r);
    if (rc < 0) {
        return rc;
    }
    struct jg__op *op = jg__op_new(self);
    if (op == NULL) {
        return -ENOMEM;
    }
    op->fn = fn;
    op->arg = arg;
    rc = jg__bpool_submit(&r->pool, op);
    if (rc < 0) {
        jg__free(op, sizeof(*op));
        return rc;
    }
    jg__op_wait(self, op);
    if (result != NULL) {
        *result = op->result;
    }
    jg__op_unref(op);
    return 0;
}
