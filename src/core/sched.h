/* SPDX-License-Identifier: MIT */
/*
 * sched.h - the scheduler's internals, shared by the files of src/core and by
 * the layers above (io, sync, exec) that make tasks wait: tasks, workers, the
 * runtime, and the park/wake protocol. The design note is in sched.c.
 */
#ifndef JG_CORE_SCHED_H
#define JG_CORE_SCHED_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/ctx.h"
#include "core/common.h"
#include "core/deque.h"
#include "core/san.h"
#include "core/stack.h"
#include "core/timer.h"
#include "juggle/task.h"

struct jg__runtime;
struct jg__worker;
struct jg__name;
struct jg__gq_seg;

/*
 * A task's wait state, one atomic word: seq << 8 | reason << 4 | state.
 *
 * seq counts the task's waits and never goes back, not even when the
 * task's memory is reused for another task, so a waker that holds a stale
 * (task, seq) pair can never wake a later wait. reason says why the wait
 * ended. Transitions (S = seq):
 *
 *   RUNNING(S) --task: park_prepare--> PARKING(S+1)
 *   PARKING(S) --waker--> NOTIFIED(S, r)    (task still switching out)
 *   PARKING(S) --next context: commit--> WAITING(S)
 *   WAITING(S) --waker--> RUNNABLE(S, r) and queued by the waker
 *   NOTIFIED(S, r) --commit--> RUNNABLE(S, r) and queued by the committer
 *   RUNNABLE(S, r) --the task resumes--> RUNNING(S)
 *
 * Exactly one waker wins a wait (the CAS); the others see another state.
 */
enum {
    JG__RUNNING = 0,
    JG__PARKING = 1,
    JG__WAITING = 2,
    JG__NOTIFIED = 3,
    JG__RUNNABLE = 4,
};
enum {
    JG__WAKE_OK = 0,       /* The awaited event happened. */
    JG__WAKE_CANCELED = 1, /* jg_cancel(). */
    JG__WAKE_TIMEDOUT = 2, /* A timer fired. */
};
#define JG__WS(seq, reason, state)                                             \
    (((uint64_t)(seq) << 8) | ((uint64_t)(reason) << 4) | (uint64_t)(state))
#define JG__WS_SEQ(w) ((w) >> 8)
#define JG__WS_REASON(w) ((int)(((w) >> 4) & 15))
#define JG__WS_STATE(w) ((int)((w)&15))

/* Bits of jg_task.flags. */
enum {
    JG__TF_CANCEL = 1u << 0,  /* A cancellation waits to be delivered. */
    JG__TF_DETACHED = 1u << 1, /* No handle: freed by its own completion. */
    JG__TF_FREE = 1u << 3,    /* In a free list: the handle is dead. */
    /* The runtime's name table (task.c) holds the task's name: the one
     * given at spawn, or "task-<id>" written the first time somebody asks
     * (formatting it on every spawn cost a tenth of an empty spawn).
     * NAMING is taken by the one thread that writes it, NAMED published
     * after (release). */
    JG__TF_NAMED = 1u << 4,
    JG__TF_NAMING = 1u << 5,
    /* Seen once by the jg_gather() validating it (a repeated handle). */
    JG__TF_GATHER_SEEN = 1u << 6,
};

/* jg_task.joiner_seq once complete() has read it: complete() stores it,
 * after its read and before its wake, and never touches the task after.
 * A joiner that must free the task without that wake waits for it (see
 * wait_done() in task.c). */
#define JG__SEQ_TAKEN UINT64_MAX


/* jg_task.joiner once the task is done: nobody can register any more, and
 * result and start_rc are final. Done is this value and nothing else: the
 * exchange that stores it is the completing worker's last touch of a task
 * with a handle and no registered joiner (see complete() in sched.c), so
 * whoever sees it may free the struct; a registered joiner also waits for
 * JG__SEQ_TAKEN. */
#define JG__JOINER_DONE ((struct jg_task *)1)

/*
 * A task comes in two parts. The handle (struct jg_task, one cache line)
 * lives from spawn to join: what is needed before the task runs and after
 * it is done (function, argument, result, wait state, joiner, id). The
 * execution state (struct jg__exec: context, stack, worker, ...) exists
 * only while the task runs or is suspended: it is attached when the task
 * first runs (at spawn when spawn options need it early) and recycled when
 * it finishes. A million tasks spawned and not yet run or joined then cost
 * a million cache lines, not three million, and each spawn writes one
 * line.
 */
struct jg__exec {
    struct jg__ctx ctx;     /* Saved context while not running. */
    /* The worker running the task, or that ran it last. Written by the task
     * itself after every resume (from the switch's transfer value). */
    struct jg__worker *worker;
    /* Shared-stack tasks: the worker they are pinned to once started; NULL
     * for tasks that may run anywhere. Written once, before the first run
     * ends, by that worker (or at spawn, for jg__spawn_pinned). */
    struct jg__worker *home;
    struct jg__stack *stack; /* Private stack; NULL until the first run. */
    /* Link in the pinned list or an inbox (tasks with a home), or in a
     * free list of exec parts. */
    union {
        struct jg_task *next;
        void *free_next;
    };
    union {
        void *saved;        /* Shared stack: the live bytes, copied out. */
        void *free_batch;   /* Heading a free batch: the next batch. */
    };
    uint32_t saved_len;     /* Shared stack: bytes held in saved. */
    uint32_t saved_cap;
    uint32_t stack_pages;   /* Requested private size in pages; 0 = default. */
    /* The given name (the name table's copy), for the trace and the
     * overflow handler, which must not lock; NULL for default names. */
    const char *name;
    /* Latent forks (fork.c): the oldest and newest fork records of this
     * task that nobody else can see yet. Task-private. */
    struct jg__fork *latent_old, *latent_new;
    /* The task this one waits to finish in jg_join() or jg_gather(), for
     * the deadlock report (queue.c); NULL otherwise. Stored by the task. */
    _Atomic(struct jg_task *) waits_for;
#ifdef JG__SANITIZED
    struct jg__san san;
#endif
};

struct jg_task {
    union {
        jg_task_fn fn;      /* Until the first run. */
        void *result;       /* Written by the task before it is done. */
        void *free_batch;   /* Heading a free batch: the next batch. */
    };
    union {
        void *arg;          /* Until the first run. */
        void *free_next;    /* In a free list. */
    };
    /* The execution state: NULL before the first run (unless attached at
     * spawn) and after the task finished. Written by the worker that runs
     * the task (or the spawner), read by the task and its workers. */
    struct jg__exec *x;
    _Atomic uint64_t wstate; /* See JG__WS. */
    /* Task blocked in jg_join(t), or JG__JOINER_DONE. */
    _Atomic(struct jg_task *) joiner;
    _Atomic uint64_t joiner_seq;      /* Its wait; published by joiner. */
    uint64_t id;            /* Unique in the runtime; 0 for main. */
    _Atomic uint32_t flags; /* JG__TF_*. */
    uint8_t mode;           /* JG_STACK_PRIVATE or JG_STACK_SHARED. */
    uint8_t started;        /* Has run; written by its worker only. */
    int8_t start_rc;        /* -ENOMEM when it could never start. */
};
_Static_assert(sizeof(struct jg_task) == 64, "a task handle is a cache line");

/* Room for a default name: "task-" and 20 digits. */
#define JG__NAME_BUF 32

/* The runtime of t: every task struct lies in a 2 MiB-aligned arena whose
 * head names it (task.c). */
struct jg__task_arena {
    struct jg__task_arena *next; /* The runtime's arenas, for freeing. */
    struct jg__runtime *rt;
};
#define JG__TASK_ARENA ((size_t)2 << 20)
static inline struct jg__runtime *jg__task_rt(const struct jg_task *t) {
    return ((const struct jg__task_arena *)((uintptr_t)t &
                                            ~(uintptr_t)(JG__TASK_ARENA - 1)))
        ->rt;
}

/* The name of t, which runs or is suspended (has its exec part), without
 * a lock or a write: the given name, else "task-<id>" formatted into buf
 * (JG__NAME_BUF bytes). Async-signal-safe. */
static inline const char *jg__task_name_peek(struct jg_task *t, char *buf) {
    if (t->x != NULL && t->x->name != NULL) {
        return t->x->name;
    }
    jg__fmt_u64(buf, "task-", t->id);
    return buf;
}

/* The tools' view of a task's context (NULL in plain builds). */
#ifdef JG__SANITIZED
#define JG__SAN(t) (&(t)->x->san)
#else
#define JG__SAN(t) ((struct jg__san *)NULL)
#endif

/*
 * Free task handles and exec parts (task.c), linked through their
 * free_next. A worker caches a hot list and one full batch of JG__BATCH;
 * the runtime keeps a stack of full batches (linked through the head's
 * free_batch) and a list of single structs freed by threads of no worker.
 */
#define JG__BATCH 512
struct jg__free_cache {
    void *hot;  /* The list allocated from and freed to. */
    void *full; /* A batch of exactly JG__BATCH, or NULL. */
    int nhot;
};
struct jg__free_pool {
    void *batches; /* Full batches. Under pool_lock. */
    void *singles; /* Under pool_lock. */
    /* Whether either is non-empty, for a look without the lock (stored
     * under it). */
    _Atomic bool have;
};

/* The non-blocking FIFO of tasks pinned to a worker (shared stacks). */
struct jg__task_list {
    struct jg_task *head, *tail;
};

struct jg__worker {
    struct jg__runtime *rt;
    int index;
    struct jg__deque deque;    /* Runnable stealable tasks. */
    struct jg__task_list pinned; /* Runnable pinned tasks; owner only. */
    struct jg__ctx sched_ctx;  /* The thread's own stack, running the loop. */
    struct jg__san sched_san;
    struct jg_task *current;   /* Running task; NULL in the loop. */
    struct jg_task *next_up;   /* Picked by a task for the loop to run. */
    /* Handoff: what the context that switched away asked the next context
     * on this worker to finish for it (see sched.c). */
    int ho_kind;
    struct jg_task *ho_task;
    uint64_t tick;             /* Scheduling rounds, for fairness. */
    uint64_t timers_looked;    /* The round an empty pick last ran timers. */
    uint32_t rng;              /* Victim choice. */
    struct jg__timer_heap timers;
    /* The shared stack and the task whose bytes are on it now. */
    struct jg__stack sstack;
    struct jg_task *sstack_owner;
    struct jg__stack_cache stacks;
    /* Caches of free task handles and exec parts (task.c); owner only. */
    struct jg__free_cache free_tasks, free_execs;
    /* Fresh arena memory this worker carves task structs from. */
    char *carve_next, *carve_end;
    /* Task ids: this worker's next one and the end of its block (ids are
     * handed out to workers in blocks, not one shared counter a spawn). */
    uint64_t id_next, id_end;
    /* Remote wake-ups of pinned tasks. */
    pthread_mutex_t inbox_lock;
    struct jg__task_list inbox;
    _Atomic int inbox_len;
    /* Parking: futex word set to 1 to wake; parked under park_lock. */
    _Atomic uint32_t wake_word;
    bool parked;
    /* Parked in the poller (src/io) instead of on wake_word: wake it with
     * jg__reactor_wake(). Written by the owner under park_lock. */
    bool in_poller;
    uint32_t fork_tick;    /* Joins since the last look for idle workers. */
    /* Tasks spawned on / finished on this worker. Each is stored only by
     * the owner (release) and read by any worker checking for quiescence
     * (acquire); see quiescent() in sched.c. */
    _Atomic uint64_t spawned, finished;
    /* Deadlock detection (queue.c, "Deadlock"). Waits for another task's
     * end begun by a task on this worker, and such waits that ended with
     * the task resuming here: owner stores (release), read by a worker
     * checking for a deadlock. The latest task to begin such a wait here
     * and the seq of its wait, for the report. The round in which this
     * worker went to sleep, plus one; 0 while it is awake. */
    _Atomic uint64_t jwaits, jresumes;
    _Atomic(struct jg_task *) jw_last;
    _Atomic uint64_t jw_last_seq;
    _Atomic uint64_t asleep;
    /* What this worker saw at its last look that suspected a deadlock;
     * owner only. */
    bool dl_suspect;
    uint64_t dl_stamp[6];
    /* Timelines: the trace to record into (NULL: off), this process's id,
     * and when the running task last started running here. */
    struct jg_trace *trace;
    int trace_pid;
    int64_t trace_begin;
    pthread_t thread;
    void *altstack;
    stack_t old_altstack;
};

struct jg__runtime {
    jg_run_opts opts;   /* Resolved: no zero left. */
    int nworkers;
    struct jg__worker *workers;
    /* Global queue: work from outside and spills from full deques. A ring
     * of pointers (not a list through the tasks: walking cold task structs
     * under the lock cost a cache miss per task), in segments: a queue
     * that grows to a million never copies itself. Protected by gq_lock;
     * gq_len mirrors its length for lock-free peeks. */
    pthread_mutex_t gq_lock;
    struct jg__gq_seg *gq_head, *gq_tail; /* Take at head, append at tail. */
    int gq_head_at, gq_tail_at;           /* Next slot in each. */
    struct jg__gq_seg *gq_spare;          /* One emptied segment, kept. */
    _Atomic int64_t gq_len;
    /* Parked workers (indices), protected by park_lock. */
    pthread_mutex_t park_lock;
    int *idle;
    int nidle_list;
    _Atomic int nidle; /* Mirrors nidle_list for lock-free checks. */
    _Atomic int park_fence; /* Only for jg__fence under TSan. */
    _Atomic int searching;  /* Workers spinning for work (a hint). */
    _Atomic int started;       /* Main is spawned: quiescence means done. */
    _Atomic int shutdown;      /* Set once every task has finished. */
    _Atomic uint64_t next_id;
    /* jg_cancel() calls from threads that are not this runtime's workers
     * (deadlock detection: such a call may end any wait). */
    _Atomic uint64_t outside_cancels;
    struct jg__stack_pool stacks;
    /* The I/O layer's state (src/io/reactor.c), opened by the first task
     * that needs it (jg__reactor_get): a runtime that does no I/O never
     * pays for an io_uring. Set once (release) under reactor_lock. */
    _Atomic(struct jg__reactor *) reactor;
    pthread_mutex_t reactor_lock;
    /* Tasks waiting for the poller (fd readiness, io_uring file ops):
     * only then do workers poll it. Changed by those tasks; a relaxed
     * count, because a waiting task's own worker always sees its own
     * increment, and that worker polls before it would sleep. */
    _Atomic int io_waiting;
    /* Task handles and exec parts: carved from arenas (task.c), freed when
     * the runtime ends. Protected by pool_lock. */
    pthread_mutex_t pool_lock;
    struct jg__task_arena *task_arenas;
    char *arena_next, *arena_end; /* The unused rest of the newest arena. */
    struct jg__free_pool free_tasks, free_execs;
    /* Task names (task.c): task -> name, for the tasks flagged NAMED. */
    pthread_mutex_t names_lock;
    struct jg__name **names; /* names_cap buckets of chains. */
    size_t names_cap, names_len;
};

/* The worker of the calling thread, or NULL. Never inlined: a task may move
 * between threads, so the thread-local is re-read on every call. */
struct jg__worker *jg__worker_self(void);

/* The thread-local behind it. Read it directly only at the entry of a
 * function, before anything that may switch: after a switch the compiler
 * may still hold the address of the old thread's copy. */
extern __thread struct jg__worker *jg__tls_worker
    __attribute__((tls_model("initial-exec")));

/* Start waiting: returns the new wait's seq, or 0 when cancellable and a
 * pending cancellation was consumed instead (the caller returns
 * -ECANCELED). The task must publish (self, seq) to a waker, then call
 * jg__park() or jg__park_abandon(). */
uint64_t jg__park_prepare(struct jg_task *self, bool cancellable);

/* Suspend until a waker ends wait seq. Returns 0, -ECANCELED or -ETIMEDOUT
 * (a CANCELED reason is consumed only when cancellable). */
int jg__park(struct jg_task *self, uint64_t seq, bool cancellable);

/* Give up a prepared wait without suspending (the condition already
 * holds). Any wake that raced in is absorbed. */
void jg__park_abandon(struct jg_task *self, uint64_t seq);

/* End wait seq of t with reason JG__WAKE_*. Returns false if that wait was
 * already over (another waker won, or t moved on). Any thread. */
bool jg__wake(struct jg_task *t, uint64_t seq, int reason);

/* Arm a timer on the calling task's worker that ends wait seq. */
int jg__timer_arm(struct jg_task *self, int64_t deadline, uint64_t seq);

/* Switch away and requeue self (jg_yield). */
void jg__sched_yield(struct jg_task *self);

/* Create a task on the calling worker without queueing it; handle says
 * whether a handle will be held (else it is detached). */
int jg__task_new(struct jg__worker *w, struct jg_task **out, bool handle,
                 jg_task_fn fn, void *arg, const jg_spawn_opts *opts);

/* Spawn on the calling worker (jg_spawn minus the caller checks). */
int jg__spawn(struct jg__worker *w, struct jg_task **out, jg_task_fn fn,
              void *arg, const jg_spawn_opts *opts);

/* Spawn a shared-stack task that runs only on worker `index` of w's
 * runtime (tests use it to make every wake-up cross workers). Returns 0,
 * -EINVAL or -ENOMEM. */
int jg__spawn_pinned(struct jg__worker *w, int index, struct jg_task **out,
                     jg_task_fn fn, void *arg);

/* Make t runnable (any thread; queue.c). */
void jg__ready(struct jg_task *t);

/* jg__ready() for a task that has just been switched out of worker w, by
 * w's thread: no lookup of the runtime or the calling worker. */
void jg__ready_here(struct jg__worker *w, struct jg_task *t);

/* The next task for w without waiting, or NULL (queue.c). */
struct jg_task *jg__pick(struct jg__worker *w);

/* The next task for w's loop, waiting for one; NULL at shutdown. */
struct jg_task *jg__find_work(struct jg__worker *w);

/* Free a finished task's struct (to w's cache, or the runtime's list when
 * w is NULL or of another runtime). */
void jg__task_free(struct jg__worker *w, struct jg_task *t);

/* An exec part for a task about to run on w (zeroed but for the fields
 * that survive reuse), or NULL when out of memory. Owner worker only. */
struct jg__exec *jg__exec_get(struct jg__worker *w);

/* Recycle t's exec part (t has finished): to w's cache. Owner only. */
void jg__exec_put(struct jg__worker *w, struct jg_task *t);

/* Bind the calling thread to worker w (NULL to unbind). */
void jg__worker_bind(struct jg__worker *w);

/* Run w's scheduling loop on the calling thread until shutdown. */
void jg__worker_loop(struct jg__worker *w);

/* Queue a task that has just been spawned on w. */
void jg__sched_ready_new(struct jg__worker *w, struct jg_task *t);

/* Set shutdown and wake every worker. */
void jg__sched_shutdown(struct jg__runtime *rt);

/* Free every task struct of the runtime (after the last worker stopped). */
void jg__task_pool_fini(struct jg__runtime *rt);

/*
 * Fork-join (fork.c). A deque item is a task, or a fork record tagged with
 * bit 0 (records are 8-aligned). The scheduler hands every record it takes
 * to jg__fork_adopt(), which returns a task to run for it, or NULL when the
 * fork's owner ran it itself (the record is then released).
 */
#define JG__FORK_TAG ((uintptr_t)1)
struct jg__fork;
static inline bool jg__item_is_fork(const void *item) {
    return ((uintptr_t)item & JG__FORK_TAG) != 0;
}
struct jg_task *jg__fork_adopt(struct jg__worker *w, void *item);
/* t could never start (fail_start in sched.c): if it is a stolen fork,
 * hand the fork back to its owner, which then runs it (fork.c). */
void jg__fork_start_failed(struct jg_task *t);

/* Make every latent fork of self stealable (self is about to wait). */
void jg__fork_expose(struct jg_task *self);

/* A wait of self for another task's end begins (its park's seq) and ends:
 * what deadlock detection counts (queue.c, "Deadlock"). t is the task
 * waited for, or a fork record tagged with JG__FORK_TAG (fork.c) whose
 * thief's task is found at report time. Called by self, on the worker it
 * runs on. */
void jg__join_wait_begin(struct jg_task *self, struct jg_task *t,
                         uint64_t seq);
void jg__join_wait_end(struct jg_task *self);
/* The task a fork record waited for runs in (its thief's), or NULL while
 * nobody took it: for the deadlock report. */
struct jg_task *jg__fork_task(const void *item);

/* Free the global queue's segments (the runtime is over). */
void jg__gq_fini(struct jg__runtime *rt);

/* Queue a deque item on the global queue (any thread). */
void jg__sched_push_global(struct jg__runtime *rt, void *item);

/* New stealable work was pushed: wake a parked worker if there is one.
 * Cheap: no fence, so a race may leave it to the spinning workers. */
void jg__sched_offer(struct jg__runtime *rt);

/* Workers with nothing to do right now (parked or looking for work). */
int jg__sched_idle_workers(struct jg__runtime *rt);

/* For the overflow handler: the running task's name (formatted into
 * name_buf, JG__NAME_BUF bytes, when it has none yet) and stack
 * (async-signal-safe). Returns false outside a task. */
bool jg__sched_current_stack(const char **name, char *name_buf, void **lo,
                             size_t *size, size_t *guard);

/*
 * The reactor: what the scheduler needs from the I/O layer (src/io). The
 * layer below calls up here only through these hooks, and only while
 * jg__io_waiting() says that some task waits for the poller.
 */
struct jg__reactor;

/* The runtime's reactor (poller, fd records, blocking pool), opened on the
 * first call. Returns 0 and *out, or -errno when it cannot be opened. Any
 * thread of the runtime. */
int jg__reactor_get(struct jg__runtime *rt, struct jg__reactor **out);

/* Close the reactor, if it was opened, after the last worker stopped. */
void jg__reactor_close(struct jg__runtime *rt);

/* Does any task wait for the poller? */
static inline bool jg__io_waiting(struct jg__runtime *rt) {
    return atomic_load_explicit(&rt->io_waiting, memory_order_relaxed) > 0;
}

/* Poll without blocking and wake the tasks whose I/O is ready; does
 * nothing when another worker holds the poller. */
void jg__reactor_poll(struct jg__worker *w);

/* Take the right to block in the poller (one worker at a time). */
bool jg__reactor_claim(struct jg__worker *w);

/* With the claim: block in the poller until an event, a wake-up or the
 * deadline (-1: none). The events wait for jg__reactor_release(). */
void jg__reactor_block(struct jg__worker *w, int64_t deadline);

/* With the claim: wake the tasks of the events gathered, then give the
 * claim back. */
void jg__reactor_release(struct jg__worker *w);

/* Make a worker blocked in the poller return. Any thread. */
void jg__reactor_wake(struct jg__runtime *rt);

#endif /* JG_CORE_SCHED_H */
