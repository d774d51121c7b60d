/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every file of libjuggle uses: assertions that stay on in
 * release builds, branch hints, the cache-line size and the one internal
 * allocator (replaceable, and counted so tests can fail on leaks).
 */
#ifndef JG_CORE_COMMON_H
#define JG_CORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define JG__CACHELINE 64

#define jg__likely(x) __builtin_expect(!!(x), 1)
#define jg__unlikely(x) __builtin_expect(!!(x), 0)

/* Print "juggle: file:line: message" and abort. */
__attribute__((noreturn, cold)) void jg__fatal(const char *file, int line,
                                               const char *msg);

/* A contract check that stays on in release builds. */
#define JG_ASSERT(cond, msg)                                                   \
    do {                                                                       \
        if (jg__unlikely(!(cond))) {                                           \
            jg__fatal(__FILE__, __LINE__, msg);                                \
        }                                                                      \
    } while (0)

/* A hot-path invariant, checked in debug builds only. */
#ifdef NDEBUG
#define JG_DEBUG_ASSERT(cond, msg) ((void)0)
#else
#define JG_DEBUG_ASSERT(cond, msg) JG_ASSERT(cond, msg)
#endif

/*
 * The internal allocator. Every allocation of libjuggle goes through these
 * (never malloc directly), so jg__alloc_live() counts what is outstanding.
 */
void *jg__malloc(size_t size);
void *jg__calloc(size_t n, size_t size);
void *jg__realloc(void *p, size_t old_size, size_t new_size);
void jg__free(void *p, size_t size);

/* Bytes currently allocated through jg__malloc and friends. */
int64_t jg__alloc_live(void);

#endif /* JG_CORE_COMMON_H */
