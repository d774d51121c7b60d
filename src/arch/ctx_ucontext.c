/* SPDX-License-Identifier: MIT */
/*
 * ctx_ucontext.c - the portable fallback switch on getcontext/makecontext/
 * swapcontext. Much slower (swapcontext saves the signal mask with a system
 * call) but needs no assembly; the test suite runs against it too.
 *
 * swapcontext cannot pass a value, so the switch leaves arg in a
 * thread-local of the switching thread and the resumed side reads it from
 * its (possibly new) thread through a function the compiler cannot inline,
 * so no address of a thread-local is cached across the switch.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/ctx.h"

static __thread void *transfer;
static __thread jg__ctx_entry pending_entry;

__attribute__((noinline)) static void *take_transfer(void) {
    __asm__ volatile("" ::: "memory");
    return transfer;
}

__attribute__((noinline)) static jg__ctx_entry take_entry(void) {
    __asm__ volatile("" ::: "memory");
    return pending_entry;
}

static void trampoline(void) {
    jg__ctx_entry entry = take_entry();
    entry(take_transfer());
    abort(); /* An entry function must never return. */
}

void *jg__ctx_switch(struct jg__ctx *from, struct jg__ctx *to, void *arg) {
    transfer = arg;
    pending_entry = to->entry;
    swapcontext(&from->uc, &to->uc);
    return take_transfer();
}

void jg__ctx_make(struct jg__ctx *c, void *lo, size_t size,
                  jg__ctx_entry entry) {
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = (size - 16) & ~(size_t)15;
    c->uc.uc_link = NULL;
    c->entry = entry;
    makecontext(&c->uc, trampoline, 0);
}

void *jg__ctx_sp(const struct jg__ctx *c) {
#if defined(__x86_64__)
    return (void *)c->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (void *)c->uc.uc_mcontext.sp;
#else
#error "jg__ctx_sp: unknown CPU"
#endif
}

const char *jg__ctx_backend(void) {
    return "ucontext";
}
