/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every file of libjuggle uses: assertions that stay on in
 * release builds, branch hints, the cache-line size and the one internal
 * allocator (replaceable, and counted so tests can fail on leaks).
 */
#ifndef JG_CORE_COMMON_H
#define JG_CORE_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define JG__CACHELINE 64

#define jg__likely(x) __builtin_expect(!!(x), 1)
#define jg__unlikely(x) __builtin_expect(!!(x), 0)

/*
 * A full (seq_cst) fence. ThreadSanitizer does not model atomic_thread_fence
 * (gcc warns it is unsupported), so under TSan the fence becomes a seq_cst
 * read-modify-write of a word owned by the structure the fence guards
 * (`word`), which TSan does understand; both fencing sides name the same
 * word, so the pairing TSan sees is exactly the pairing the code relies on.
 */
#if defined(__SANITIZE_THREAD__)
#define jg__fence(word)                                                        \
    ((void)atomic_fetch_add_explicit((word), 0, memory_order_seq_cst))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define jg__fence(word)                                                        \
    ((void)atomic_fetch_add_explicit((word), 0, memory_order_seq_cst))
#endif
#endif
#ifndef jg__fence
#define jg__fence(word) ((void)(word), atomic_thread_fence(memory_order_seq_cst))
#endif

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
 * Write prefix then the decimal digits of v to out (NUL-terminated; out has
 * room for strlen(prefix) + 21 bytes). Returns the length. No snprintf: it
 * is async-signal-safe, and snprintf would cost more than a whole spawn.
 */
size_t jg__fmt_u64(char *out, const char *prefix, uint64_t v);

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
