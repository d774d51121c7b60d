/* SPDX-License-Identifier: MIT */
/*
 * trace.c - timelines: a fixed array of slices in shared memory, filled by
 * any number of threads and forked children at once, and its export in the
 * Chrome trace event format.
 *
 * Adding. An adder reserves a slot with one fetch-add on `reserved`, fills
 * it, and then publishes it by storing the slot's `ready` word (release).
 * Readers take only published slots (acquire), so a reader never sees a
 * half-written slice; a slot reserved but not yet published is skipped.
 * The memory is MAP_SHARED, so the atomics work across fork() too: a child
 * adds to the same array as its parent (lock-free atomics on shared
 * anonymous memory are address-free on Linux).
 *
 * Export. Chrome's "B"/"E" events must nest on each row. Slices that the
 * runtime records never overlap on one row (a worker runs one task at a
 * time), but slices added by hand might; the writer sorts each row's
 * slices by begin time and clips a slice that would end after the slice it
 * starts inside, so the pairs always nest.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "os/os.h"
#include "os/proc.h"
#include "trace/trace.h"

#define DEFAULT_CAPACITY ((size_t)1 << 20)
#define MAX_CAPACITY ((size_t)1 << 28)

struct slot {
    _Atomic uint32_t ready;
    uint32_t pad;
    jg_trace_slice s;
};

struct jg_trace {
    size_t capacity;
    size_t map_len;
    _Atomic uint64_t reserved;
    _Atomic uint64_t dropped;
    struct slot slots[];
};

int jg_trace_new(jg_trace **out, size_t capacity) {
    if (out == NULL || capacity > MAX_CAPACITY) {
        return -EINVAL;
    }
    if (capacity == 0) {
        capacity = DEFAULT_CAPACITY;
    }
    size_t len = sizeof(struct jg_trace) + capacity * sizeof(struct slot);
    void *mem;
    int rc = jg__os_map_shared(&mem, len, -1);
    if (rc < 0) {
        return rc == -EINVAL ? -ENOMEM : rc;
    }
    jg_trace *tr = mem;
    tr->capacity = capacity;
    tr->map_len = len;
    atomic_init(&tr->reserved, 0);
    atomic_init(&tr->dropped, 0);
    *out = tr;
    return 0;
}

void jg_trace_free(jg_trace *tr) {
    if (tr != NULL) {
        jg__os_unmap(tr, tr->map_len);
    }
}

/* Returns false when the trace is full (the slice is counted as dropped). */
static bool put(jg_trace *tr, const jg_trace_slice *s) {
    uint64_t i = atomic_fetch_add_explicit(&tr->reserved, 1,
                                           memory_order_relaxed);
    if (i >= tr->capacity) {
        atomic_fetch_add_explicit(&tr->dropped, 1, memory_order_relaxed);
        return false;
    }
    struct slot *sl = &tr->slots[i];
    sl->s = *s;
    atomic_store_explicit(&sl->ready, 1, memory_order_release);
    return true;
}

static bool utf8_cont(unsigned char c) {
    return (c & 0xc0) == 0x80;
}

static void copy_name(char dst[JG_TRACE_NAME], const char *src) {
    size_t n = src == NULL ? 0 : strnlen(src, JG_TRACE_NAME - 1);
    /* Cut between characters: never inside a UTF-8 sequence. */
    while (n > 0 && src[n] != '\0' && utf8_cont((unsigned char)src[n])) {
        n--;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    memset(dst + n, 0, JG_TRACE_NAME - n);
}

int jg_trace_add(jg_trace *tr, const jg_trace_slice *s) {
    /* jg_now() times are never negative; others would overflow the
     * export's differences. */
    if (tr == NULL || s == NULL || s->begin < 0 || s->end < s->begin) {
        return -EINVAL;
    }
    jg_trace_slice c = *s;
    /* Terminate the names even when the caller filled all 24 bytes. */
    copy_name(c.row, s->row);
    copy_name(c.name, s->name);
    return put(tr, &c) ? 0 : -ENOSPC;
}

void jg__trace_task(jg_trace *tr, int pid, int worker, uint64_t id,
                    const char *name, int64_t begin, int64_t end) {
    jg_trace_slice s;
    s.pid = pid;
    s.tid = worker;
    /* "worker " + up to 4 digits (at most 1024 workers). */
    char row[40];
    jg__fmt_u64(row, "worker ", (uint64_t)worker);
    copy_name(s.row, row);
    copy_name(s.name, name);
    s.id = id;
    s.begin = begin;
    s.end = end;
    (void)put(tr, &s);
}

size_t jg_trace_count(const jg_trace *tr) {
    if (tr == NULL) {
        return 0;
    }
    uint64_t n = atomic_load_explicit(&((jg_trace *)tr)->reserved,
                                      memory_order_relaxed);
    return n < tr->capacity ? (size_t)n : tr->capacity;
}

size_t jg_trace_dropped(const jg_trace *tr) {
    if (tr == NULL) {
        return 0;
    }
    return (size_t)atomic_load_explicit(&((jg_trace *)tr)->dropped,
                                        memory_order_relaxed);
}

int jg_trace_get(const jg_trace *tr, size_t i, jg_trace_slice *out) {
    if (tr == NULL || out == NULL) {
        return -EINVAL;
    }
    if (i >= jg_trace_count(tr)) {
        return -ERANGE;
    }
    struct slot *sl = &((jg_trace *)tr)->slots[i];
    if (!atomic_load_explicit(&sl->ready, memory_order_acquire)) {
        return -EAGAIN;
    }
    *out = sl->s;
    return 0;
}

/* ---- export ---- */

/* A growing output buffer; `err` remembers the first failure. */
struct out {
    char *buf;
    size_t len, cap;
    int err;
};

static void out_reserve(struct out *o, size_t n) {
    if (o->err != 0 || o->len + n <= o->cap) {
        return;
    }
    size_t cap = o->cap ? o->cap : 1 << 16;
    while (cap < o->len + n) {
        cap *= 2;
    }
    char *b = jg__realloc(o->buf, o->cap, cap);
    if (b == NULL) {
        o->err = -ENOMEM;
        return;
    }
    o->buf = b;
    o->cap = cap;
}

static void out_mem(struct out *o, const char *s, size_t n) {
    out_reserve(o, n);
    if (o->err == 0) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    }
}

static void out_str(struct out *o, const char *s) {
    out_mem(o, s, strlen(s));
}

static void out_i64(struct out *o, int64_t v) {
    char d[24];
    out_mem(o, d, jg__fmt_u64(d, v < 0 ? "-" : "",
                              v < 0 ? -(uint64_t)v : (uint64_t)v));
}

/* Nanoseconds as microseconds with three decimals. */
static void out_us(struct out *o, int64_t ns) {
    out_i64(o, ns / 1000);
    char frac[5] = {'.', (char)('0' + ns / 100 % 10), (char)('0' + ns / 10 % 10),
                    (char)('0' + ns % 10), 0};
    out_mem(o, frac, 4);
}

/* Bytes in the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p) {
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* Bounds of the second byte. */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (!utf8_cont(p[i])) {
            return 0;
        }
    }
    return len;
}

/* A JSON string: quotes, escapes, control characters as \u00XX, and
 * bytes that are not UTF-8 as U+FFFD (JSON text is UTF-8). */
static void out_json_str(struct out *o, const char *s) {
    out_mem(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            out_mem(o, e, 2);
        } else if (*p < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            out_mem(o, e, 6);
        } else if (*p < 0x80) {
            out_mem(o, (const char *)p, 1);
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                out_str(o, "\\ufffd");
            } else {
                out_mem(o, (const char *)p, n);
                p += n - 1;
            }
        }
    }
    out_mem(o, "\"", 1);
}

static void out_event(struct out *o, bool *first, const jg_trace_slice *s,
                      char ph, int64_t ts, int64_t t0) {
    out_str(o, *first ? "\n  {\"ph\":\"" : ",\n  {\"ph\":\"");
    *first = false;
    out_mem(o, &ph, 1);
    out_str(o, "\",\"pid\":");
    out_i64(o, s->pid);
    out_str(o, ",\"tid\":");
    out_i64(o, s->tid);
    out_str(o, ",\"ts\":");
    out_us(o, ts - t0);
    if (ph == 'B') {
        out_str(o, ",\"name\":");
        out_json_str(o, s->name);
        out_str(o, ",\"args\":{\"id\":");
        out_i64(o, (int64_t)s->id);
        out_str(o, "}");
    }
    out_str(o, "}");
}

static void out_meta(struct out *o, bool *first, const char *what, int pid,
                     int tid, const char *name) {
    out_str(o, *first ? "\n  {\"ph\":\"M\",\"name\":\"" : ",\n  {\"ph\":\"M\",\"name\":\"");
    *first = false;
    out_str(o, what);
    out_str(o, "\",\"pid\":");
    out_i64(o, pid);
    out_str(o, ",\"tid\":");
    out_i64(o, tid);
    out_str(o, ",\"args\":{\"name\":");
    out_json_str(o, name);
    out_str(o, "}}");
}

/* Rows first (pid, tid), then begin time, longer slices first on ties so
 * that a slice containing another opens before it. */
static int by_row_begin(const void *a, const void *b) {
    const jg_trace_slice *x = a, *y = b;
    if (x->pid != y->pid) {
        return x->pid < y->pid ? -1 : 1;
    }
    if (x->tid != y->tid) {
        return x->tid < y->tid ? -1 : 1;
    }
    if (x->begin != y->begin) {
        return x->begin < y->begin ? -1 : 1;
    }
    if (x->end != y->end) {
        return x->end > y->end ? -1 : 1;
    }
    return 0;
}

/* Emit one row (slices sorted by begin) as nested B/E pairs. */
static void out_row(struct out *o, bool *first, jg_trace_slice *s, size_t n,
                    int64_t t0) {
    /* Open slices, innermost last; their ends never grow going up. */
    enum { MAX_DEPTH = 64 };
    jg_trace_slice *open[MAX_DEPTH];
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        while (depth > 0 && open[depth - 1]->end <= s[i].begin) {
            depth--;
            out_event(o, first, open[depth], 'E', open[depth]->end, t0);
        }
        if (depth > 0 && s[i].end > open[depth - 1]->end) {
            s[i].end = open[depth - 1]->end; /* Clip to nest. */
        }
        if (depth == MAX_DEPTH) {
            continue; /* Absurdly deep manual nesting: drop. */
        }
        out_event(o, first, &s[i], 'B', s[i].begin, t0);
        open[depth++] = &s[i];
    }
    while (depth > 0) {
        depth--;
        out_event(o, first, open[depth], 'E', open[depth]->end, t0);
    }
}

int jg_trace_write(const jg_trace *tr, const char *path) {
    if (tr == NULL || path == NULL) {
        return -EINVAL;
    }
    size_t n = jg_trace_count(tr), m = 0;
    jg_trace_slice *all = NULL;
    if (n > 0 && (all = jg__malloc(n * sizeof *all)) == NULL) {
        return -ENOMEM;
    }
    int64_t t0 = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (jg_trace_get(tr, i, &all[m]) == 0) {
            if (all[m].begin < t0) {
                t0 = all[m].begin;
            }
            m++;
        }
    }
    qsort(all, m, sizeof *all, by_row_begin);

    struct out o = {0};
    bool first = true;
    out_str(&o, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && all[j].pid == all[i].pid && all[j].tid == all[i].tid) {
            j++;
        }
        if (i == 0 || all[i - 1].pid != all[i].pid) {
            char name[40];
            jg__fmt_u64(name, "process ", (uint64_t)(uint32_t)all[i].pid);
            out_meta(&o, &first, "process_name", all[i].pid, 0, name);
        }
        out_meta(&o, &first, "thread_name", all[i].pid, all[i].tid,
                 all[i].row);
        out_row(&o, &first, all + i, j - i, t0);
        i = j;
    }
    out_str(&o, "\n]}\n");
    jg__free(all, n * sizeof *all);

    int rc = o.err;
    if (rc == 0) {
        int fd = jg__os_file_create(path);
        if (fd < 0) {
            rc = fd;
        } else {
            rc = jg__os_write_full(fd, o.buf, o.len);
            jg__os_close(fd);
        }
    }
    jg__free(o.buf, o.cap);
    return rc;
}
