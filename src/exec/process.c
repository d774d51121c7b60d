/* SPDX-License-Identifier: MIT */
/*
 * process.c - child processes: jg_process_start / jg_process_join and
 * jg_exit_describe.
 *
 * A child reports its result through shared memory that the parent mapped
 * before fork(): a small slot in a shared slab (results up to SLOT_DATA
 * bytes, the usual case: no system call) or a mapping of its own (larger
 * results). The child writes the result, then a state word, then _exit(0).
 * The parent reaps the child with waitpid() first and reads the slot only
 * after: a child that crashed, was killed or exited without returning has
 * not written RETURNED, and waitpid() returns however the child ended, so
 * the parent never waits for data that will not come.
 *
 * A task that joins does not block its worker: it waits for the child's
 * pidfd in the runtime's poller (jg_wait_fd; the pidfd turns readable when
 * the child ends) and reaps it after, with no thread involved. Without
 * pidfds (Linux < 5.3) the waitpid() runs on the runtime's blocking pool
 * (jg_blocking) while the task is suspended.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common.h"
#include "juggle/io.h"
#include "exec/exec.h"
#include "os/os.h"
#include "os/proc.h"

#define MAX_RESULT ((size_t)1 << 30)
#define SLOT_DATA 48
#define SLAB_SLOTS 1024

enum { ST_NONE = 0, ST_RETURNED = 1, ST_NODATA = 2 };

/* What a child writes for its parent; 64 bytes, one cache line. */
struct slot {
    _Atomic uint32_t state; /* ST_*; stored last by the child. */
    _Atomic uint32_t placed; /* Set by the parent once it placed the child. */
    uint64_t value;       /* fn's pointer when result_size == 0. */
    char data[SLOT_DATA]; /* Or the result bytes (larger: data[] runs
                           * on into the rest of the mapping). */
};
_Static_assert(sizeof(struct slot) == 64, "one cache line per slot");

/*
 * The slab: SLAB_SLOTS slots in one shared mapping, made on first use and
 * kept for the life of the process. One mapping instead of one per child
 * also keeps fork() fast: fork copies every mapping of the parent, so a
 * hundred live children must not mean a hundred extra mappings. A forked
 * child forgets the slab (atfork), so its own children never take slots
 * its parent may hand out too.
 */
static struct {
    pthread_mutex_t lock; /* Protects everything below. */
    struct slot *slots;
    uint16_t free[SLAB_SLOTS];
    int nfree;
    bool tried; /* Creation was attempted (it is not retried). */
} slab = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_slab(void) {
    pthread_mutex_init(&slab.lock, NULL);
    slab.slots = NULL; /* The mapping stays: our own slot is in it. */
    slab.nfree = 0;
    slab.tried = false;
}

static void register_atfork(void) {
    pthread_atfork(NULL, NULL, forget_slab);
}

struct jg_process {
    pid_t pid;
    struct slot *slot;
    int slot_index; /* In the slab, or -1 when slot is its own map. */
    size_t map_len; /* Bytes of that mapping. */
    size_t result_size;
    int status; /* waitpid's; written by whoever reaps. */
    int wait_rc;
};

/* Take a slot for result_size bytes. Returns 0 or -errno. */
static int slot_take(struct jg_process *p) {
    if (p->result_size <= SLOT_DATA) {
        pthread_once(&atfork_once, register_atfork);
        pthread_mutex_lock(&slab.lock);
        if (slab.slots == NULL && !slab.tried) {
            slab.tried = true;
            void *m;
            if (jg__os_map_shared(&m, SLAB_SLOTS * sizeof(struct slot), -1) ==
                0) {
                slab.slots = m;
                for (int i = 0; i < SLAB_SLOTS; i++) {
                    slab.free[i] = (uint16_t)(SLAB_SLOTS - 1 - i);
                }
                slab.nfree = SLAB_SLOTS;
            }
        }
        if (slab.nfree > 0) {
            p->slot_index = slab.free[--slab.nfree];
            p->slot = &slab.slots[p->slot_index];
            pthread_mutex_unlock(&slab.lock);
            atomic_store_explicit(&p->slot->state, ST_NONE,
                                  memory_order_relaxed);
            return 0;
        }
        pthread_mutex_unlock(&slab.lock);
    }
    /* Too big for a slot, or the slab is full: a mapping of its own. */
    size_t page = jg__os_page_size();
    p->map_len =
        (offsetof(struct slot, data) + p->result_size + page - 1) / page * page;
    void *m;
    int rc = jg__os_map_shared(&m, p->map_len, -1);
    if (rc < 0) {
        return rc;
    }
    p->slot = m;
    p->slot_index = -1;
    return 0;
}

static void slot_give(struct jg_process *p) {
    if (p->slot_index < 0) {
        jg__os_unmap(p->slot, p->map_len);
        return;
    }
    pthread_mutex_lock(&slab.lock);
    /* A slab forgotten since (we are a forked child of the taker) stays
     * mapped; the slot is simply not reused. */
    if (slab.slots != NULL && p->slot == &slab.slots[p->slot_index]) {
        slab.free[slab.nfree++] = (uint16_t)p->slot_index;
    }
    pthread_mutex_unlock(&slab.lock);
}

__attribute__((noreturn)) static void
child_main(struct jg_process *p, jg_task_fn fn, void *arg, const char *name,
           const struct jg__place *place, pid_t parent) {
    jg__exec_child_enter(name != NULL ? name : "jg-process");
    if (place->cpu >= 0) {
        /* Widen our affinity only after the parent pinned us (os.h,
         * spread start), or we would stay pinned. It does so right after
         * fork returns; give up if it died first. */
        while (!atomic_load_explicit(&p->slot->placed,
                                     memory_order_acquire) &&
               getppid() == parent) {
            jg__os_yield();
        }
        jg__os_place_widen(place);
    }
    void *r = fn(arg);
    uint32_t st = ST_RETURNED;
    if (p->result_size == 0) {
        p->slot->value = (uint64_t)(uintptr_t)r;
    } else if (r == NULL) {
        st = ST_NODATA;
    } else {
        memcpy(p->slot->data, r, p->result_size);
    }
    /* Release: the parent reads the state after reaping us (waitpid is
     * the real synchronisation); the order keeps the state last. */
    atomic_store_explicit(&p->slot->state, st, memory_order_release);
    _exit(0);
}

int jg_process_start(jg_process **out, jg_task_fn fn, void *arg,
                     const jg_process_opts *opts) {
    jg_process_opts o = opts ? *opts : (jg_process_opts){0};
    if (out == NULL || fn == NULL || o.result_size > MAX_RESULT) {
        return -EINVAL;
    }
    struct jg_process *p = jg__malloc(sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->result_size = o.result_size;
    p->status = 0;
    p->wait_rc = 0;
    int rc = slot_take(p);
    if (rc < 0) {
        goto undo_alloc;
    }
    struct jg__place place;
    jg__os_place_pick(&place);
    atomic_store_explicit(&p->slot->placed, 0, memory_order_relaxed);
    pid_t self = getpid();
    pid_t pid = jg__os_fork();
    if (pid == 0) {
        child_main(p, fn, arg, o.name, &place, self);
    }
    if (pid < 0) {
        rc = pid == -ENOMEM ? -ENOMEM : -EAGAIN;
        goto undo_slot;
    }
    if (place.cpu >= 0) {
        jg__os_place_pid(pid, &place);
        atomic_store_explicit(&p->slot->placed, 1, memory_order_release);
    }
    p->pid = pid;
    *out = p;
    return 0;

undo_slot:
    slot_give(p);
undo_alloc:
    jg__free(p, sizeof(*p));
    return rc;
}

static void reap(struct jg_process *p) {
    p->wait_rc = jg__os_waitpid(p->pid, &p->status);
}

static void *reap_job(void *x) {
    reap(x);
    return NULL;
}

/* A task joining: wait in the poller until the child has ended, then reap
 * it (waitpid returns at once). Returns false when there is no pidfd, and
 * the caller waits another way. Joins are not cancellation points (the
 * handle must be freed): a cancellation that comes meanwhile is kept for
 * the task's next wait that is one. */
static bool reap_in_poller(struct jg_process *p) {
    int pfd = jg__os_pidfd_open(p->pid);
    if (pfd < 0) {
        return false;
    }
    bool cancelled = false;
    int rc;
    while ((rc = jg_wait_fd(pfd, JG_READABLE, JG_FOREVER)) == -ECANCELED) {
        cancelled = true;
    }
    jg_close(pfd);
    if (cancelled) {
        jg_cancel(jg_self());
    }
    if (rc < 0) {
        return false;
    }
    reap(p);
    return true;
}

int jg_process_join(jg_process *p, void *result, jg_exit *how) {
    if (p == NULL) {
        return -EINVAL;
    }
    if (!jg__exec_in_task()) {
        reap(p);
    } else if (!reap_in_poller(p) && jg_blocking(reap_job, p, NULL) < 0) {
        reap(p); /* No pidfd and no pool thread to be had: block. */
    }
    int rc = 0;
    jg_exit e = {0};
    if (p->wait_rc < 0) {
        rc = -ECHILD; /* Reaped by someone else (waitpid(-1), SIG_IGN). */
    } else if (WIFEXITED(p->status)) {
        e.exited = 1;
        e.code = WEXITSTATUS(p->status);
    } else {
        e.signal = WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
    }
    uint32_t st = atomic_load_explicit(&p->slot->state, memory_order_acquire);
    if (rc == 0 && (!e.exited || e.code != 0 || st == ST_NONE)) {
        rc = -ECHILD;
    } else if (rc == 0 && st == ST_NODATA) {
        rc = -ENODATA;
    } else if (rc == 0 && result != NULL) {
        if (p->result_size == 0) {
            *(void **)result = (void *)(uintptr_t)p->slot->value;
        } else {
            memcpy(result, p->slot->data, p->result_size);
        }
    }
    if (how != NULL) {
        *how = e;
    }
    slot_give(p);
    jg__free(p, sizeof(*p));
    return rc;
}

int jg_exit_describe(const jg_exit *how, char *buf, size_t size) {
    if (how == NULL || (buf == NULL && size > 0)) {
        return -EINVAL;
    }
    if (how->exited) {
        return snprintf(buf, size, "exited with code %d", how->code);
    }
    const char *abbrev = sigabbrev_np(how->signal);
    if (abbrev == NULL) {
        return snprintf(buf, size, "killed by signal %d", how->signal);
    }
    return snprintf(buf, size, "killed by signal %d (SIG%s)", how->signal,
                    abbrev);
}
