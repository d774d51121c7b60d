/* SPDX-License-Identifier: MIT */
/*
 * stack.c - the stack pool: slabs of private stacks, their free lists and
 * guard pages, and the overflow handler.
 *
 * A slab is one anonymous MAP_NORESERVE mapping cut into n regions of
 * guard + stack bytes, guard lowest (stacks grow down, so an overflow runs
 * into the guard of its own region). The kernel commits a page when it is
 * first touched, so a task that uses 1 KiB of a 64 KiB stack costs one page.
 *
 * Guard pages come from madvise(MADV_GUARD_INSTALL) where the kernel has it
 * (Linux 6.13+): it leaves the mapping whole. A stack gets its guard when
 * it is first handed out (first_use), not when its slab is made. Elsewhere mprotect(PROT_NONE)
 * splits the mapping in three per stack, so guards are rationed to a quarter
 * of vm.max_map_count per process (guard_budget); past it JG_GUARD_DEFAULT
 * hands out unguarded stacks and JG_GUARD_ALWAYS fails.
 *
 * Lock order: the pool lock is a leaf; nothing is called while holding it
 * except mmap, madvise and the allocator.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "core/san.h"
#include "core/sched.h"
#include "core/stack.h"
#include "os/os.h"

#define MIN_STACK ((size_t)16 << 10)
#define MAX_STACK ((size_t)1 << 30)
/* A slab spans at least this much, so its mapping is amortised over many
 * stacks; 8 MiB = 120 stacks of 64 KiB + guard. */
#define SLAB_BYTES ((size_t)8 << 20)
/* Stacks a worker keeps for itself before handing half back to the pool. */
#define CACHE_MAX 64

struct jg__slab {
    struct jg__slab *next;
    void *base;
    size_t len;
    struct jg__stack *stacks; /* n descriptors, one per region. */
    int n;
};

/* Guards made with mprotect, process-wide: each costs two mappings. */
static _Atomic long guard_budget = -1;

size_t jg__stack_size_valid(size_t size) {
    size_t page = jg__os_page_size();
    if (size < MIN_STACK || size > MAX_STACK) {
        return 0;
    }
    return (size + page - 1) & ~(page - 1);
}

int jg__stack_pool_init(struct jg__stack_pool *p, size_t default_size,
                        jg_guard_mode guard) {
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->default_size = default_size;
    p->guard = guard;
    long expected = -1;
    atomic_compare_exchange_strong(&guard_budget, &expected,
                                   jg__os_max_map_count() / 4);
    return 0;
}

void jg__stack_pool_fini(struct jg__stack_pool *p) {
    while (p->slabs != NULL) {
        struct jg__slab *s = p->slabs;
        p->slabs = s->next;
        long mprotected = 0;
        for (int i = 0; i < s->n; i++) {
            jg__san_stack_unregister(s->stacks[i].vg_id);
            mprotected += s->stacks[i].mprotected;
        }
        jg__os_unmap(s->base, s->len);
        atomic_fetch_add(&guard_budget, mprotected);
        jg__free(s->stacks, (size_t)s->n * sizeof(*s->stacks));
        jg__free(s, sizeof(*s));
    }
    while (p->classes != NULL) {
        struct jg__stack_class *c = p->classes;
        p->classes = c->next;
        jg__free(c, sizeof(*c));
    }
    pthread_mutex_destroy(&p->lock);
}

/* Guard one region. Returns 0 (guarded or deliberately not), or -ENOMEM. */
static int guard_region(struct jg__stack_pool *p, struct jg__stack *st,
                        void *region, size_t guard) {
    st->guard = 0;
    st->mprotected = 0;
    if (p->guard == JG_GUARD_NEVER) {
        return 0;
    }
    int rc = jg__os_guard(region, guard, 0);
    if (rc == 1) {
        st->guard = guard;
        return 0;
    }
    /* No MADV_GUARD_INSTALL: ration mprotect guards (see the top). */
    if (atomic_fetch_sub(&guard_budget, 1) > 0 &&
        jg__os_guard(region, guard, 1) == 2) {
        st->guard = guard;
        st->mprotected = 1;
        return 0;
    }
    atomic_fetch_add(&guard_budget, 1);
    return p->guard == JG_GUARD_ALWAYS ? -ENOMEM : 0;
}

/* Map a new slab of `size`-byte stacks and put them on c's free list.
 * Called with the pool lock held. */
static int slab_new(struct jg__stack_pool *p, struct jg__stack_class *c) {
    size_t guard = jg__os_page_size();
    size_t region = c->size + guard;
    int n = (int)(SLAB_BYTES / region);
    if (n < 4) {
        n = 4;
    }
    struct jg__slab *s = jg__calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->stacks = jg__calloc((size_t)n, sizeof(*s->stacks));
    if (s->stacks == NULL) {
        goto undo_slab;
    }
    s->len = region * (size_t)n;
    if (jg__os_map(&s->base, s->len) < 0) {
        goto undo_stacks;
    }
    s->n = n;
    for (int i = n - 1; i >= 0; i--) {
        struct jg__stack *st = &s->stacks[i];
        char *r = (char *)s->base + region * (size_t)i;
        st->unguarded = p->guard != JG_GUARD_NEVER; /* See first_use(). */
        st->lo = r + guard;
        st->size = c->size;
        st->vg_id = jg__san_stack_register(st->lo, st->size);
        st->next = c->free;
        c->free = st;
    }
    s->next = p->slabs;
    p->slabs = s;
    return 0;

undo_stacks:
    jg__free(s->stacks, (size_t)n * sizeof(*s->stacks));
undo_slab:
    jg__free(s, sizeof(*s));
    return -ENOMEM;
}

static struct jg__stack_class *class_of(struct jg__stack_pool *p,
                                        size_t size) {
    for (struct jg__stack_class *c = p->classes; c != NULL; c = c->next) {
        if (c->size == size) {
            return c;
        }
    }
    struct jg__stack_class *c = jg__calloc(1, sizeof(*c));
    if (c != NULL) {
        c->size = size;
        c->next = p->classes;
        p->classes = c;
    }
    return c;
}

/* Take up to `want` stacks of `size` bytes from the pool, as a list. */
static struct jg__stack *pool_take(struct jg__stack_pool *p, size_t size,
                                   int want, int *got) {
    struct jg__stack *list = NULL;
    *got = 0;
    pthread_mutex_lock(&p->lock);
    struct jg__stack_class *c = class_of(p, size);
    if (c != NULL && (c->free != NULL || slab_new(p, c) == 0)) {
        while (*got < want && c->free != NULL) {
            struct jg__stack *st = c->free;
            c->free = st->next;
            st->next = list;
            list = st;
            (*got)++;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return list;
}

static void pool_give(struct jg__stack_pool *p, struct jg__stack *list) {
    pthread_mutex_lock(&p->lock);
    while (list != NULL) {
        struct jg__stack *st = list;
        list = st->next;
        struct jg__stack_class *c = class_of(p, st->size);
        /* class_of cannot fail here: the class exists since st came from
         * it. */
        st->next = c->free;
        c->free = st;
    }
    pthread_mutex_unlock(&p->lock);
}

/* A stack taken from a free list: guard it if it never was. Returns st,
 * or NULL (st given back) when JG_GUARD_ALWAYS cannot have its guard. */
static struct jg__stack *first_use(struct jg__stack_pool *p,
                                   struct jg__stack *st) {
    if (st == NULL || !st->unguarded) {
        return st;
    }
    /* The region's guard lies right below the usable bytes. The stack is
     * ours alone, so no lock is needed; the budget is atomic. */
    size_t guard = jg__os_page_size();
    if (guard_region(p, st, (char *)st->lo - guard, guard) < 0) {
        st->next = NULL;
        pool_give(p, st);
        return NULL;
    }
    st->unguarded = 0;
    return st;
}

struct jg__stack *jg__stack_get(struct jg__stack_pool *p,
                                struct jg__stack_cache *c, size_t size) {
    int got;
    if (size == 0 || size == p->default_size) {
        if (c->free == NULL) {
            c->free = pool_take(p, p->default_size, CACHE_MAX / 2, &got);
            c->len = got;
        }
        struct jg__stack *st = c->free;
        if (st != NULL) {
            c->free = st->next;
            c->len--;
        }
        return first_use(p, st);
    }
    return first_use(p, pool_take(p, size, 1, &got));
}

void jg__stack_put(struct jg__stack_pool *p, struct jg__stack_cache *c,
                   struct jg__stack *s) {
    if (s->size != p->default_size) {
        s->next = NULL;
        pool_give(p, s);
        return;
    }
    s->next = c->free;
    c->free = s;
    if (++c->len > CACHE_MAX) {
        /* Hand the older half back so other workers can use it. */
        struct jg__stack *keep = c->free;
        for (int i = 1; i < CACHE_MAX / 2; i++) {
            keep = keep->next;
        }
        struct jg__stack *rest = keep->next;
        keep->next = NULL;
        c->len = CACHE_MAX / 2;
        pool_give(p, rest);
    }
}

void jg__stack_cache_drain(struct jg__stack_pool *p,
                           struct jg__stack_cache *c) {
    pool_give(p, c->free);
    c->free = NULL;
    c->len = 0;
}

int jg__stack_map_single(struct jg__stack *s, size_t size, jg_guard_mode g) {
    size_t guard = jg__os_page_size();
    void *base;
    int rc = jg__os_map(&base, size + guard);
    if (rc < 0) {
        return rc;
    }
    s->guard = 0;
    if (g != JG_GUARD_NEVER) {
        /* One mapping per worker: an mprotect split is affordable here. */
        rc = jg__os_guard(base, guard, 1);
        if (rc < 0 && g == JG_GUARD_ALWAYS) {
            jg__os_unmap(base, size + guard);
            return rc;
        }
        s->guard = rc > 0 ? guard : 0;
    }
    s->lo = (char *)base + guard;
    s->size = size;
    s->next = NULL;
    s->vg_id = jg__san_stack_register(s->lo, size);
    return 0;
}

void jg__stack_unmap_single(struct jg__stack *s) {
    size_t guard = jg__os_page_size();
    jg__san_stack_unregister(s->vg_id);
    jg__os_unmap((char *)s->lo - guard, s->size + guard);
}

/* ---- overflow detection ---- */

static struct sigaction old_segv;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

/* Append a string to buf at *n (async-signal-safe). */
static void put(char *buf, size_t cap, size_t *n, const char *s) {
    while (*s != '\0' && *n + 1 < cap) {
        buf[(*n)++] = *s++;
    }
}


static void on_segv(int sig, siginfo_t *info, void *uctx) {
    const char *name;
    char name_buf[JG__NAME_BUF];
    void *lo;
    size_t size, guard;
    char *addr = info->si_addr;
    if (jg__sched_current_stack(&name, name_buf, &lo, &size, &guard) &&
        guard > 0 &&
        addr >= (char *)lo - guard && addr < (char *)lo) {
        char msg[256];
        size_t n = 0;
        put(msg, sizeof(msg), &n, "juggle: task '");
        put(msg, sizeof(msg), &n, name);
        char num[64]; /* The prefix and up to 20 digits. */
        jg__fmt_u64(num, "' overflowed its stack of ", size);
        put(msg, sizeof(msg), &n, num);
        put(msg, sizeof(msg), &n,
            " bytes (hit the guard page); spawn it with a larger "
            "stack_size\n");
        jg__os_write_all(2, msg, n);
        signal(SIGSEGV, SIG_DFL);
        return; /* The access faults again and the default action ends us. */
    }
    /* Not ours: hand over to whatever was installed before. */
    if (old_segv.sa_flags & SA_SIGINFO) {
        old_segv.sa_sigaction(sig, info, uctx);
    } else if (old_segv.sa_handler != SIG_IGN &&
               old_segv.sa_handler != SIG_DFL) {
        old_segv.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL);
    }
}

static void install_once(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
}

void jg__stack_overflow_handler_install(void) {
    pthread_once(&handler_once, install_once);
}
