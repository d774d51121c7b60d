/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - the internal allocator over malloc(3), with a count of live bytes
 * for leak tests; and the two helpers every file may need, jg__fatal() and
 * jg__fmt_u64(). Sizes are passed to free so the count
 * needs no header per block; the hot paths (tasks, stacks) allocate in
 * chunks through their own caches, so these are rarely called.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "os/os.h"

/* Relaxed is enough: a statistic, read when nothing else runs. */
static _Atomic int64_t live_bytes;

void *jg__malloc(size_t size) {
    void *p = malloc(size);
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_bytes, (int64_t)size,
                                  memory_order_relaxed);
    }
    return p;
}

void *jg__calloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_bytes, (int64_t)(n * size),
                                  memory_order_relaxed);
    }
    return p;
}

void *jg__realloc(void *p, size_t old_size, size_t new_size) {
    void *q = realloc(p, new_size);
    if (q != NULL) {
        atomic_fetch_add_explicit(&live_bytes,
                                  (int64_t)new_size - (int64_t)old_size,
                                  memory_order_relaxed);
    }
    return q;
}

void jg__free(void *p, size_t size) {
    if (p == NULL) {
        return;
    }
    atomic_fetch_sub_explicit(&live_bytes, (int64_t)size,
                              memory_order_relaxed);
    free(p);
}

int64_t jg__alloc_live(void) {
    return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

size_t jg__fmt_u64(char *out, const char *prefix, uint64_t v) {
    size_t n = 0;
    while (*prefix != '\0') {
        out[n++] = *prefix++;
    }
    char digits[20];
    int k = 0;
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0) {
        out[n++] = digits[--k];
    }
    out[n] = '\0';
    return n;
}

void jg__fatal(const char *file, int line, const char *msg) {
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "juggle: %s:%d: %s\n", file, line, msg);
    if (n > (int)sizeof(buf) - 1) {
        n = (int)sizeof(buf) - 1;
    }
    jg__os_write_all(2, buf, (size_t)n);
    abort();
}
