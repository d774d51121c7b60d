/* SPDX-License-Identifier: MIT */
/*
 * pool_proc.c - the process side of pools: each worker thread of a process
 * pool manages one child, forked by that thread (so PR_SET_PDEATHSIG ties
 * the child's life to the pool's: the child is killed if its manager
 * thread ends without stopping it, e.g. when the parent dies).
 *
 * Items: the manager sends a request (function, argument pointer or
 * arg_size bytes) over a stream socket and reads the reply (status, the
 * returned pointer or result_size bytes). It never blocks in send or recv:
 * while it waits it also watches the child's pidfd (or, without one, polls
 * the child's state), so a child that died is noticed even if something
 * else still holds its end of the socket. A dead child fails its item with
 * -ECHILD and is replaced at once; one that died while idle is replaced
 * before the next item is sent, which then runs on the replacement.
 *
 * Map: one shared arena per pool (a memfd, created before the children so
 * every child inherits the fd) holds a header, the work units (chunks),
 * ctx, the inputs, the outputs and the per-item error codes. The parent
 * copies the inputs in; every child claims units with a fetch_add on the
 * header and writes outputs in place; only one short message per child
 * per round crosses a socket. Each unit records its progress in the arena
 * (prog = 2k+1 while its k-th item runs, 2k+2 once it is done), so after
 * a round the parent knows, for a child that died, exactly which item it
 * was running (that one fails with -ECHILD) and which items of its unit
 * are left; those form the units of the next round, which the replacement
 * children join.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "exec/pool.h"
#include "os/os.h"
#include "os/proc.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "errors[] is copied as is");

enum { REQ_ITEM = 1, REQ_MAP = 2, REQ_STOP = 3 };

struct req {
    uint32_t kind;
    uint32_t pad;
    uint64_t fn;  /* The function's address (the same in the child). */
    uint64_t arg; /* The pointer, when no bytes follow. */
    uint64_t len; /* Bytes that follow (items), or the arena's size. */
};

struct rep {
    int32_t rc; /* 0, or -ENODATA for a NULL result of result_size. */
    uint32_t pad;
    uint64_t value; /* The returned pointer (result_size 0). */
    uint64_t len;   /* Bytes of result that follow. */
};

/* The arena's header; offsets are from the start of the arena. */
struct arena_hdr {
    _Atomic uint64_t next; /* Next unit to claim: fetch_add by children. */
    uint64_t nunits;
    uint64_t fn, ctx, ctx_size;
    uint64_t unit_off, ctx_off, in_off, out_off, err_off;
    uint64_t in_size, out_size, n;
};

struct unit {
    uint64_t lo, hi;       /* Items [lo, hi). Written by the parent. */
    _Atomic uint64_t prog; /* 2k+1: item lo+k runs; 2k+2: it is done.
                            * Stored (release) by the child running it. */
    uint64_t pad;
};

/* What a child needs of its pool, copied before fork. */
struct child_cfg {
    size_t arg_size, result_size;
    int arena_fd;
    int sock;
    pid_t parent;
    char name[16];
    struct jg__place place; /* Where the child starts (os.h). */
};

/* ---- the child ---- */

static void *grow(char **buf, size_t *cap, size_t need) {
    if (need > *cap) {
        char *b = jg__realloc(*buf, *cap, need);
        if (b == NULL) {
            _exit(70); /* Out of memory in a worker: it is replaced. */
        }
        *buf = b;
        *cap = need;
    }
    return *buf;
}

static void child_item(const struct child_cfg *c, const struct req *r,
                       char **buf, size_t *cap) {
    void *arg = (void *)(uintptr_t)r->arg;
    if (r->len > 0) {
        arg = grow(buf, cap, r->len);
        if (jg__os_recv_all(c->sock, -1, 0, arg, r->len) < 0) {
            _exit(0);
        }
    }
    jg_task_fn fn = (jg_task_fn)(uintptr_t)r->fn;
    void *res = fn(arg);
    struct rep out = {0};
    if (c->result_size == 0) {
        out.value = (uint64_t)(uintptr_t)res;
    } else if (res == NULL) {
        out.rc = -ENODATA;
    } else {
        out.len = c->result_size;
    }
    if (jg__os_send_all(c->sock, -1, 0, &out, sizeof(out)) < 0 ||
        (out.len > 0 && jg__os_send_all(c->sock, -1, 0, res, out.len) < 0)) {
        _exit(0);
    }
}

/* Claim units until none is left; run their items in place. */
static void child_units(char *a) {
    struct arena_hdr *h = (struct arena_hdr *)a;
    struct unit *units = (struct unit *)(a + h->unit_off);
    jg_map_fn fn = (jg_map_fn)(uintptr_t)h->fn;
    void *ctx = h->ctx_size > 0 ? a + h->ctx_off : (void *)(uintptr_t)h->ctx;
    const char *in = a + h->in_off;
    char *out = a + h->out_off;
    int32_t *errs = (int32_t *)(a + h->err_off);
    size_t isz = h->in_size, osz = h->out_size;
    for (;;) {
        /* Relaxed: the round's data was published by the message. */
        uint64_t u =
            atomic_fetch_add_explicit(&h->next, 1, memory_order_relaxed);
        if (u >= h->nunits) {
            return;
        }
        struct unit *un = &units[u];
        for (uint64_t i = un->lo, k = 0; i < un->hi; i++, k += 2) {
            /* Release: the parent reads prog after this child ended, and
             * must see the outputs of every item counted as done. */
            atomic_store_explicit(&un->prog, k + 1, memory_order_release);
            errs[i] = fn(ctx, in + i * isz, out + i * osz);
            atomic_store_explicit(&un->prog, k + 2, memory_order_release);
        }
    }
}

__attribute__((noreturn)) static void child_loop(const struct child_cfg *c) {
    jg__exec_child_enter(c->name);
    if (jg__os_die_with_parent(c->parent) < 0) {
        _exit(0);
    }
    char *buf = NULL, *arena = NULL;
    size_t cap = 0, arena_len = 0;
    bool placed = false;
    for (;;) {
        struct req r;
        if (jg__os_recv_all(c->sock, -1, 0, &r, sizeof(r)) < 0) {
            _exit(0);
        }
        if (!placed) {
            /* The parent placed us before it sent anything: free to
             * move from now on (os.h, spread start). */
            jg__os_place_widen(&c->place);
            placed = true;
        }
        if (r.kind == REQ_ITEM) {
            child_item(c, &r, &buf, &cap);
            continue;
        }
        if (r.kind != REQ_MAP) {
            _exit(0);
        }
        if (r.len > arena_len) {
            if (arena != NULL) {
                jg__os_unmap(arena, arena_len);
            }
            void *m;
            if (jg__os_map_shared(&m, r.len, c->arena_fd) < 0) {
                _exit(71); /* Replaced; its units are run by others. */
            }
            arena = m;
            arena_len = r.len;
        }
        child_units(arena);
        struct rep out = {0};
        if (jg__os_send_all(c->sock, -1, 0, &out, sizeof(out)) < 0) {
            _exit(0);
        }
    }
}

/* ---- the manager (a worker thread of the pool) ---- */

/* Held by a manager from socketpair() to closing the child's end (see
 * jg__pool_proc_spawn). Process-wide: siblings of every pool. */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

int jg__pool_proc_spawn(struct jg__pworker *w) {
    jg_pool *p = w->pool;
    struct child_cfg c = {.arg_size = p->o.arg_size,
                          .result_size = p->o.result_size,
                          .arena_fd = p->arena_fd,
                          .parent = getpid()};
    jg__exec_name(c.name, p->name, w->index);
    int sv[2];
    /* Under spawn_lock from the socket pair to closing the child's end,
     * so that no sibling forked meanwhile by another manager inherits
     * this child's end (it would keep the socket open after the child
     * died). Forks of one process are serialised by the kernel anyway
     * (fork holds the parent's mmap lock), so little is lost. Other
     * forks (jg_process_start, the caller's own) are not covered: for
     * them the manager watches the child's pidfd or pid (os/proc.h). */
    pthread_mutex_lock(&spawn_lock);
    int rc = jg__os_socketpair(sv);
    if (rc < 0) {
        pthread_mutex_unlock(&spawn_lock);
        return rc == -ENOMEM ? -ENOMEM : -EAGAIN;
    }
    c.sock = sv[1];
    jg__os_place_pick(&c.place);
    pid_t pid = jg__os_fork();
    if (pid == 0) {
        /* spawn_lock stays locked here: the child never takes it. */
        jg__os_close(sv[0]);
        child_loop(&c);
    }
    jg__os_close(sv[1]);
    pthread_mutex_unlock(&spawn_lock);
    if (pid < 0) {
        jg__os_close(sv[0]);
        return pid == -ENOMEM ? -ENOMEM : -EAGAIN;
    }
    jg__os_place_pid(pid, &c.place);
    w->pid = pid;
    w->sock = sv[0];
    w->pidfd = jg__os_pidfd_open(pid); /* -ENOSYS: EOF alone tells. */
    if (w->pidfd < 0) {
        w->pidfd = -1;
    }
    return 0;
}

/* Reap the child (killing it first if it still runs) and forget it. */
static void reap(struct jg__pworker *w, bool kill_it) {
    if (w->pid > 0) {
        if (kill_it) {
            /* Through the pidfd where there is one: if the child was
             * reaped behind our back (waitpid(-1) elsewhere, SIGCHLD
             * ignored), its pid may belong to another process by now. */
            jg__os_kill_child(w->pidfd, w->pid, SIGKILL);
        }
        int status;
        jg__os_waitpid(w->pid, &status);
    }
    jg__os_close(w->sock);
    jg__os_close(w->pidfd);
    w->pid = -1;
    w->sock = w->pidfd = -1;
}

void jg__pool_proc_stop(struct jg__pworker *w) {
    if (w->sock >= 0) {
        struct req r = {.kind = REQ_STOP};
        bool sent =
            jg__os_send_all(w->sock, w->pidfd, w->pid, &r, sizeof(r)) == 0;
        reap(w, !sent);
    }
    if (w->buf != NULL) {
        jg__free(w->buf, w->buf_cap);
        w->buf = NULL;
        w->buf_cap = 0;
    }
}

/* The child died (or its channel broke): reap it and start another. A
 * failed start leaves the slot empty; the next piece of work retries. */
static void replace(struct jg__pworker *w) {
    reap(w, true);
    jg__pool_proc_spawn(w);
}

/* Make sure w has a child. Returns 0 or -EAGAIN. */
static int ensure_child(struct jg__pworker *w) {
    if (w->sock >= 0) {
        return 0;
    }
    return jg__pool_proc_spawn(w) < 0 ? -EAGAIN : 0;
}

/* A child that died while idle (killed, or out of memory) is noticed
 * only here, before work is sent to it: replace it first, so that the
 * work goes to a live child instead of failing with -ECHILD. One waitid()
 * that does not reap (os/proc.h). */
static void replace_if_gone(struct jg__pworker *w) {
    if (w->pid > 0 && jg__os_child_running(w->pid) == 0) {
        replace(w);
    }
}

/* Send item f's request and its copied argument. Returns 0 or -errno. */
static int send_item(struct jg__pworker *w, struct jg_future *f) {
    size_t asz = w->pool->o.arg_size;
    struct req r = {.kind = REQ_ITEM,
                    .fn = (uint64_t)(uintptr_t)f->fn,
                    .arg = (uint64_t)(uintptr_t)f->arg,
                    .len = asz};
    int rc = jg__os_send_all(w->sock, w->pidfd, w->pid, &r, sizeof(r));
    if (rc == 0 && asz > 0) {
        rc = jg__os_send_all(w->sock, w->pidfd, w->pid, f->arg, asz);
    }
    return rc;
}

void jg__pool_proc_item(struct jg__pworker *w, struct jg_future *f) {
    const jg_pool_opts *o = &w->pool->o;
    /* A send that failed did not deliver the whole request, so the child
     * never ran the item: try once more on a replacement. (Two children
     * in a row dying before they read: give up.) */
    int rc = -EPIPE;
    for (int tries = 0; tries < 2 && rc < 0; tries++) {
        replace_if_gone(w);
        if (ensure_child(w) < 0) {
            jg__future_complete(f, -EAGAIN);
            return;
        }
        rc = send_item(w, f);
        if (rc < 0) {
            replace(w);
        }
    }
    if (rc < 0) {
        jg__future_complete(f, -ECHILD);
        return;
    }
    struct rep rep;
    rc = jg__os_recv_all(w->sock, w->pidfd, w->pid, &rep, sizeof(rep));
    if (rc == 0 && rep.len > 0 && rep.len != o->result_size) {
        rc = -EPROTO;
    } else if (rc == 0 && rep.len > 0) {
        rc = jg__os_recv_all(w->sock, w->pidfd, w->pid, f->resbuf, rep.len);
    }
    if (rc < 0) {
        replace(w);
        jg__future_complete(f, -ECHILD);
        return;
    }
    f->result = (void *)(uintptr_t)rep.value;
    jg__future_complete(f, rep.rc);
}

void jg__pool_proc_round(struct jg__pworker *w, struct jg__map_job *job) {
    (void)job;
    replace_if_gone(w);
    if (ensure_child(w) < 0) {
        return; /* The other children take the units. */
    }
    struct req r = {.kind = REQ_MAP, .len = w->pool->arena_len};
    struct rep rep;
    int rc = jg__os_send_all(w->sock, w->pidfd, w->pid, &r, sizeof(r));
    if (rc == 0) {
        rc = jg__os_recv_all(w->sock, w->pidfd, w->pid, &rep, sizeof(rep));
    }
    if (rc < 0) {
        replace(w);
    }
}

int jg__pool_proc_init(jg_pool *p) {
    int fd = jg__os_memfd("juggle-pool-arena", 0);
    if (fd < 0) {
        return fd == -ENOMEM ? -ENOMEM : -EAGAIN;
    }
    p->arena_fd = fd;
    return 0;
}

void jg__pool_proc_fini(jg_pool *p) {
    if (p->arena != NULL) {
        jg__os_unmap(p->arena, p->arena_len);
        p->arena = NULL;
    }
    jg__os_close(p->arena_fd);
    p->arena_fd = -1;
}

/* ---- map over the arena (the caller's side) ---- */

static size_t align64(size_t x) {
    return (x + 63) & ~(size_t)63;
}

/* Grow the parent's arena to at least need bytes. Returns 0 or -errno. */
static int arena_reserve(jg_pool *p, size_t need) {
    if (need <= p->arena_len) {
        return 0;
    }
    size_t len = p->arena_len * 2;
    if (len < need) {
        len = (need + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    }
    int rc = jg__os_ftruncate(p->arena_fd, len);
    if (rc < 0) {
        return rc;
    }
    void *m;
    rc = jg__os_map_shared(&m, len, p->arena_fd);
    if (rc < 0) {
        return rc;
    }
    if (p->arena != NULL) {
        jg__os_unmap(p->arena, p->arena_len);
    }
    p->arena = m;
    p->arena_len = len;
    return 0;
}

/* After a round: flag crashed items, turn what is left into units.
 * Returns the number of units of the next round. */
static uint64_t leftovers(char *a, uint64_t *left_items) {
    struct arena_hdr *h = (struct arena_hdr *)a;
    struct unit *units = (struct unit *)(a + h->unit_off);
    int32_t *errs = (int32_t *)(a + h->err_off);
    uint64_t k = 0, items = 0;
    for (uint64_t u = 0; u < h->nunits; u++) {
        uint64_t lo = units[u].lo, hi = units[u].hi;
        /* Acquire pairs with the child's release stores. */
        uint64_t prog =
            atomic_load_explicit(&units[u].prog, memory_order_acquire);
        uint64_t next = lo + prog / 2;
        if (prog & 1) {
            errs[next] = -ECHILD; /* It was running this one. */
            next++;
        }
        if (next < hi) {
            units[k].lo = next;
            units[k].hi = hi;
            atomic_store_explicit(&units[k].prog, 0, memory_order_relaxed);
            items += hi - next;
            k++;
        }
    }
    *left_items = items;
    return k;
}

static void lay_out(struct arena_hdr *h, size_t nunits, size_t ctx_size,
                    size_t in_size, size_t out_size, size_t n) {
    h->unit_off = align64(sizeof(*h));
    h->ctx_off = align64(h->unit_off + nunits * sizeof(struct unit));
    h->in_off = align64(h->ctx_off + ctx_size);
    h->out_off = align64(h->in_off + n * in_size);
    h->err_off = align64(h->out_off + n * out_size);
}

int jg__pool_proc_map(jg_pool *p, jg_map_fn fn, void *ctx, size_t ctx_size,
                      const char *in, size_t in_size, char *out,
                      size_t out_size, size_t n, int *errors, size_t chunk) {
    size_t nunits = n / chunk + (n % chunk != 0); /* No n + chunk - 1. */
    struct arena_hdr shape;
    lay_out(&shape, nunits, ctx_size, in_size, out_size, n);
    size_t need = shape.err_off + n * sizeof(int32_t);
    /* The round's job is on the heap: the workers read it while the caller
     * may be a suspended task, whose stack may be shared (exec/latch.c). */
    struct jg__map_job *job = jg__malloc(sizeof(*job));
    if (job == NULL) {
        return -ENOMEM;
    }
    int rc = jg__pool_map_lock(p);
    if (rc < 0) {
        jg__free(job, sizeof(*job));
        return rc;
    }
    rc = arena_reserve(p, need);
    if (rc < 0) {
        jg__pool_map_unlock(p);
        jg__free(job, sizeof(*job));
        return rc;
    }
    char *a = p->arena;
    struct arena_hdr *h = (struct arena_hdr *)a;
    lay_out(h, nunits, ctx_size, in_size, out_size, n);
    h->nunits = nunits;
    h->fn = (uint64_t)(uintptr_t)fn;
    h->ctx = (uint64_t)(uintptr_t)ctx;
    h->ctx_size = ctx_size;
    h->in_size = in_size;
    h->out_size = out_size;
    h->n = n;
    struct unit *units = (struct unit *)(a + h->unit_off);
    for (size_t u = 0; u < nunits; u++) {
        units[u].lo = u * chunk;
        units[u].hi = u + 1 < nunits ? (u + 1) * chunk : n;
        atomic_store_explicit(&units[u].prog, 0, memory_order_relaxed);
    }
    if (ctx_size > 0) {
        memcpy(a + h->ctx_off, ctx, ctx_size);
    }
    if (n * in_size > 0) {
        memcpy(a + h->in_off, in, n * in_size);
    }
    uint64_t left = n;
    int stalls = 0;
    while (h->nunits > 0) {
        atomic_store_explicit(&h->next, 0, memory_order_relaxed);
        *job = (struct jg__map_job){.n = n};
        jg__pool_map_round(p, job);
        uint64_t before = left;
        h->nunits = leftovers(a, &left);
        stalls = left < before ? 0 : stalls + 1;
        if (h->nunits > 0 && stalls == 3) {
            /* Three rounds in a row without progress: no child could be
             * started (fork keeps failing). Fail what is left. */
            int32_t *errs = (int32_t *)(a + h->err_off);
            for (uint64_t u = 0; u < h->nunits; u++) {
                for (uint64_t i = units[u].lo; i < units[u].hi; i++) {
                    errs[i] = -EAGAIN;
                }
            }
            break;
        }
    }
    if (n * out_size > 0) {
        memcpy(out, a + h->out_off, n * out_size);
    }
    const int32_t *errs = (const int32_t *)(a + h->err_off);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += errs[i] < 0;
    }
    if (errors != NULL) {
        memcpy(errors, errs, n * sizeof(int));
    }
    jg__pool_map_unlock(p);
    jg__free(job, sizeof(*job));
    return failed > INT32_MAX ? INT32_MAX : (int)failed;
}
