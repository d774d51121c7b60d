/* SPDX-License-Identifier: MIT */
/*
 * ctx.h - the context switch. A suspended context is a saved stack pointer
 * (assembly backends) or a ucontext_t (the portable fallback, chosen at build
 * time with -DJUGGLE_CONTEXT=ucontext).
 *
 * jg__ctx_switch(from, to, arg) saves the caller's callee-saved state in
 * *from, resumes *to, and makes the jg__ctx_switch() call that suspended *to
 * return arg. This value passing is how a task learns which worker thread
 * resumed it: after a switch a task may be on another thread, so it never
 * trusts a thread-local it read before the switch.
 */
#ifndef JG_ARCH_CTX_H
#define JG_ARCH_CTX_H

#include <stddef.h>
#include <stdint.h>

/* Entry of a new context: receives the arg of the switch that started it.
 * It must never return (it switches away for the last time instead). */
typedef void (*jg__ctx_entry)(void *arg);

#if defined(JG_CTX_UCONTEXT)
#include <ucontext.h>

struct jg__ctx {
    ucontext_t uc;
    jg__ctx_entry entry; /* Set by jg__ctx_make, read by the trampoline. */
};

void *jg__ctx_switch(struct jg__ctx *from, struct jg__ctx *to, void *arg);

#elif defined(__x86_64__)

struct jg__ctx {
    void *sp; /* Saved stack pointer: the frame below lies there. */
};

/*
 * Mirror of the frame that ctx_x86_64.S pushes, lowest address first. Used
 * by jg__ctx_make() to fake a suspended context on a fresh stack.
 */
struct jg__ctx_frame {
    uint32_t mxcsr; /* MXCSR; psABI: its control bits are callee-saved. */
    uint16_t fpucw; /* x87 control word, callee-saved too. */
    uint16_t pad;
    void *r15, *r14, *r13, *r12, *rbx, *rbp;
    void *ret; /* Where `ret` lands: the caller or the trampoline. */
};
_Static_assert(sizeof(struct jg__ctx_frame) == 64, "see ctx_x86_64.S");
_Static_assert(offsetof(struct jg__ctx_frame, r15) == 8, "see ctx_x86_64.S");
_Static_assert(offsetof(struct jg__ctx_frame, r12) == 32, "see ctx_x86_64.S");
_Static_assert(offsetof(struct jg__ctx_frame, rbp) == 48, "see ctx_x86_64.S");
_Static_assert(offsetof(struct jg__ctx_frame, ret) == 56, "see ctx_x86_64.S");

/* In ctx_x86_64.S. */
void *jg__ctx_swap(void **save, void *load, void *arg);

static inline void *jg__ctx_switch(struct jg__ctx *from, struct jg__ctx *to,
                                   void *arg) {
    return jg__ctx_swap(&from->sp, to->sp, arg);
}

#else
#error "no context switch for this CPU: configure with -DJUGGLE_CONTEXT=ucontext"
#endif

/*
 * Prepare c so that the first switch to it calls entry(arg) on the stack
 * [lo, lo + size). The stack's top 16 bytes are left unused.
 */
void jg__ctx_make(struct jg__ctx *c, void *lo, size_t size,
                  jg__ctx_entry entry);

/* The stack pointer of a suspended context: its live stack is [sp, top). */
void *jg__ctx_sp(const struct jg__ctx *c);

/* Tell the CPU we are spinning. */
static inline void jg__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* The name of the compiled-in backend: "x86_64" or "ucontext". */
const char *jg__ctx_backend(void);

#endif /* JG_ARCH_CTX_H */
