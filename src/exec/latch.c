/* SPDX-License-Identifier: MIT */
/*
 * latch.c - the one-shot latch of exec.h, and the small helpers every file
 * of src/exec uses: am I in a task, reset a forked child.
 *
 * Latch protocol. word holds SET | SLEEPERS | TASKS. The setter exchanges
 * word with SET and then acts on the bits it took away: SLEEPERS means a
 * futex wake, TASKS means walking the task list under the lock and waking
 * each (task, seq). A task waiter takes the lock, then sets TASKS with a
 * fetch_or: if SET was already there the setter has passed and nothing is
 * parked; otherwise the setter will see TASKS and must take the lock,
 * which it can only do after the waiter has linked its record. The setter
 * wakes under the lock, and a woken (or timed-out) waiter takes the lock
 * once more before it returns, so no setter still holds a pointer to its
 * record or its task when the waiter frees the record.
 *
 * The record is on the heap, never on the waiting task's stack: the setter
 * reads it on another thread while the task is suspended, and a task on a
 * shared stack (JG_STACK_SHARED) has its bytes overwritten by the next
 * shared-stack task of its worker then. The same rule holds for every
 * record of src/exec that another thread reads while a task waits (map
 * jobs, map turns, the pool's start-up count).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "core/sched.h"
#include "exec/exec.h"
#include "juggle/task.h"
#include "os/os.h"
#include "os/proc.h"

struct jg__latch_waiter {
    struct jg_task *task;
    uint64_t seq;
    struct jg__latch_waiter *next;
};

void jg__latch_init(struct jg__latch *l) {
    atomic_init(&l->word, 0);
    pthread_mutex_init(&l->lock, NULL);
    l->tasks = NULL;
}

void jg__latch_fini(struct jg__latch *l) {
    pthread_mutex_destroy(&l->lock);
}

void jg__latch_set(struct jg__latch *l) {
    /* Acq_rel: release publishes what the setter wrote before; acquire
     * pairs with the waiters' fetch_or / CAS that announced them. */
    uint32_t old =
        atomic_exchange_explicit(&l->word, JG__LATCH_SET, memory_order_acq_rel);
    JG_ASSERT(!(old & JG__LATCH_SET), "latch set twice");
    if (old & JG__LATCH_TASKS) {
        pthread_mutex_lock(&l->lock);
        for (struct jg__latch_waiter *w = l->tasks; w != NULL; w = w->next) {
            jg__wake(w->task, w->seq, JG__WAKE_OK);
        }
        l->tasks = NULL;
        pthread_mutex_unlock(&l->lock);
    }
    if (old & JG__LATCH_SLEEPERS) {
        jg__os_futex_wake(&l->word, INT32_MAX);
    }
}

bool jg__latch_is_set(struct jg__latch *l) {
    /* Acquire pairs with the exchange in jg__latch_set(). */
    return atomic_load_explicit(&l->word, memory_order_acquire) & JG__LATCH_SET;
}

static int wait_thread(struct jg__latch *l, int64_t deadline) {
    for (;;) {
        uint32_t v = atomic_load_explicit(&l->word, memory_order_acquire);
        if (v & JG__LATCH_SET) {
            return 0;
        }
        if (deadline != JG_FOREVER && jg__os_now() >= deadline) {
            return -ETIMEDOUT;
        }
        if (!(v & JG__LATCH_SLEEPERS) &&
            !atomic_compare_exchange_weak_explicit(
                &l->word, &v, v | JG__LATCH_SLEEPERS, memory_order_acquire,
                memory_order_acquire)) {
            continue;
        }
        jg__os_futex_wait(&l->word, v | JG__LATCH_SLEEPERS, deadline);
    }
}

static void unlink_waiter(struct jg__latch *l, struct jg__latch_waiter *me) {
    for (struct jg__latch_waiter **pp = &l->tasks; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == me) {
            *pp = me->next;
            return;
        }
    }
}

/* No memory for a waiter record: poll, sleeping a millisecond between
 * looks, so that the worker stays free and nothing is published. */
static int wait_polling(struct jg__latch *l, int64_t deadline) {
    while (!jg__latch_is_set(l)) {
        int64_t now = jg__os_now();
        if (deadline != JG_FOREVER && now >= deadline) {
            return -ETIMEDOUT;
        }
        int64_t until = now + JG_MS(1);
        if (deadline != JG_FOREVER && deadline < until) {
            until = deadline;
        }
        if (jg_sleep_until(until) < 0) {
            jg_yield(); /* Cancelled or no timer: still let others run. */
        }
    }
    return 0;
}

static int wait_task_once(struct jg__latch *l, struct jg_task *self,
                          struct jg__latch_waiter *me, int64_t deadline);

static int wait_task(struct jg__latch *l, struct jg_task *self,
                     int64_t deadline) {
    /* On the heap, not on our stack: see the top of the file. */
    struct jg__latch_waiter *me = jg__malloc(sizeof(*me));
    if (me == NULL) {
        return wait_polling(l, deadline);
    }
    me->task = self;
    /* Not a cancellation point, yet jg_cancel() ends any park: such a wake
     * (neither the setter nor the timer) waits again, with a new seq. */
    for (;;) {
        int rc = wait_task_once(l, self, me, deadline);
        if (rc != 1) {
            jg__free(me, sizeof(*me));
            return rc;
        }
    }
}

/* One park of wait_task: 0 set, -ETIMEDOUT / -errno, or 1 when woken by
 * something else. me is not linked on return. */
static int wait_task_once(struct jg__latch *l, struct jg_task *self,
                          struct jg__latch_waiter *me, int64_t deadline) {
    if (deadline != JG_FOREVER && deadline <= jg__os_now()) {
        return jg__latch_is_set(l) ? 0 : -ETIMEDOUT;
    }
    pthread_mutex_lock(&l->lock);
    /* Acq_rel: pairs with the setter's exchange (see the top). */
    uint32_t v = atomic_fetch_or_explicit(&l->word, JG__LATCH_TASKS,
                                          memory_order_acq_rel);
    if (v & JG__LATCH_SET) {
        pthread_mutex_unlock(&l->lock);
        return 0;
    }
    me->seq = jg__park_prepare(self, false);
    me->next = l->tasks;
    l->tasks = me;
    pthread_mutex_unlock(&l->lock);
    if (deadline != JG_FOREVER) {
        int rc = jg__timer_arm(self, deadline, me->seq);
        if (rc < 0) {
            /* No timer (no memory): fail the wait rather than wait past
             * the deadline, maybe for ever. Once unlinked no setter can
             * wake us; a wake that came before is absorbed. */
            pthread_mutex_lock(&l->lock);
            unlink_waiter(l, me);
            pthread_mutex_unlock(&l->lock);
            jg__park_abandon(self, me->seq);
            return jg__latch_is_set(l) ? 0 : rc;
        }
    }
    int rc = jg__park(self, me->seq, false);
    pthread_mutex_lock(&l->lock);
    unlink_waiter(l, me); /* Still linked unless the setter woke us. */
    pthread_mutex_unlock(&l->lock);
    if (jg__latch_is_set(l)) {
        return 0;
    }
    return rc == -ETIMEDOUT ? -ETIMEDOUT : 1;
}

int jg__latch_wait(struct jg__latch *l, int64_t deadline) {
    if (jg__latch_is_set(l)) {
        return 0;
    }
    struct jg__worker *w = jg__worker_self();
    if (w != NULL && w->current != NULL) {
        return wait_task(l, w->current, deadline);
    }
    return wait_thread(l, deadline);
}

void jg__exec_name(char out[16], const char *prefix, int index) {
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%.10s-%d", prefix, index);
    memcpy(out, tmp, 15);
    out[15] = '\0';
}

bool jg__exec_in_task(void) {
    struct jg__worker *w = jg__worker_self();
    return w != NULL && w->current != NULL;
}

void jg__exec_child_enter(const char *name) {
    /* The workers of any runtime of the parent do not exist here: run as
     * a plain thread, so jg_sleep blocks and jg_par_* use a fresh default
     * runtime (par.c forgets the parent's in its atfork handler). */
    jg__worker_bind(NULL);
    if (name != NULL) {
        jg__os_set_name(name);
    }
}
