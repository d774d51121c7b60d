/* SPDX-License-Identifier: MIT */
/*
 * san.h - telling tools about our stacks, so they see through juggle:
 * AddressSanitizer and ThreadSanitizer fiber annotations around every switch,
 * and Valgrind stack registration for every stack. All of it compiles to
 * nothing in a plain build.
 */
#ifndef JG_CORE_SAN_H
#define JG_CORE_SAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define JG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JG_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define JG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JG_TSAN 1
#endif
#endif

#if defined(JG_ASAN) || defined(JG_TSAN)
/* Task structs carry a struct jg__san only in sanitizer builds. */
#define JG__SANITIZED 1
#endif

#ifdef JG_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef JG_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define JG_VALGRIND 1
#endif
#endif

/* What the tools need to know about one context (a task or a worker's own
 * thread stack). Written and read only by the worker running it. */
struct jg__san {
    const void *stack_lo; /* The stack this context runs on. */
    size_t stack_size;
    void *asan_fake;  /* ASan's fake-stack handle while suspended. */
    void *tsan_fiber; /* TSan's fiber, NULL until created. */
};

/* Called just before switching from `from` to `to`; `exiting` when `from`
 * will never be resumed (ASan then frees its fake stack). */
static inline void jg__san_switch_begin(struct jg__san *from,
                                        const struct jg__san *to,
                                        int exiting) {
    (void)from;
    (void)to;
    (void)exiting;
#ifdef JG_ASAN
    __sanitizer_start_switch_fiber(exiting ? NULL : &from->asan_fake,
                                   to->stack_lo, to->stack_size);
#endif
#ifdef JG_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
}

/* Called first thing after a switch lands in `self`. */
static inline void jg__san_switch_end(struct jg__san *self) {
    (void)self;
#ifdef JG_ASAN
    __sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
#endif
}

/* A task context is about to run for the first time. */
static inline void jg__san_fiber_create(struct jg__san *s) {
    (void)s;
#ifdef JG_TSAN
    s->tsan_fiber = __tsan_create_fiber(0);
#endif
}

/* The running code becomes task context s without a stack switch (stack
 * donation in sched.c): only TSan keeps a per-context state to change. */
static inline void jg__san_fiber_enter(const struct jg__san *s) {
    (void)s;
#ifdef JG_TSAN
    __tsan_switch_to_fiber(s->tsan_fiber, 0);
#endif
}

/* A worker's own thread context. */
static inline void jg__san_fiber_thread(struct jg__san *s) {
    (void)s;
#ifdef JG_TSAN
    s->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* A task context is gone (called from another context). */
static inline void jg__san_fiber_destroy(struct jg__san *s) {
    (void)s;
#ifdef JG_TSAN
    if (s->tsan_fiber != NULL) {
        __tsan_destroy_fiber(s->tsan_fiber);
        s->tsan_fiber = NULL;
    }
#endif
}

/* Valgrind: a region is a stack from now on. Returns an id for unregister. */
static inline unsigned jg__san_stack_register(void *lo, size_t size) {
    (void)lo;
    (void)size;
#ifdef JG_VALGRIND
    return VALGRIND_STACK_REGISTER(lo, (char *)lo + size);
#else
    return 0;
#endif
}

static inline void jg__san_stack_unregister(unsigned id) {
    (void)id;
#ifdef JG_VALGRIND
    VALGRIND_STACK_DEREGISTER(id);
#endif
}

/* A hand-over that the tools cannot see (through the kernel: an io_uring
 * submission and its completion): release at the handing side, acquire
 * at the receiving side, on the same address. TSan only. */
static inline void jg__san_release(void *addr) {
    (void)addr;
#ifdef JG_TSAN
    __tsan_release(addr);
#endif
}

static inline void jg__san_acquire(void *addr) {
    (void)addr;
#ifdef JG_TSAN
    __tsan_acquire(addr);
#endif
}

/* Stack memory that another task used (the bytes it left on a shared
 * stack, or a private stack it ended on) must not look poisoned to ASan
 * when the next task runs there. */
static inline void jg__san_unpoison(const void *p, size_t len) {
    (void)p;
    (void)len;
#ifdef JG_ASAN
    __asan_unpoison_memory_region(p, len);
#endif
}

#endif /* JG_CORE_SAN_H */
