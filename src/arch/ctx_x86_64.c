/* SPDX-License-Identifier: MIT */
/*
 * ctx_x86_64.c - the C half of the x86-64 switch: building the first frame
 * of a new context (the layout is drawn in ctx_x86_64.S).
 */
#include <string.h>

#include "arch/ctx.h"

void jg__ctx_trampoline(void); /* In ctx_x86_64.S; never called from C. */

void jg__ctx_make(struct jg__ctx *c, void *lo, size_t size,
                  jg__ctx_entry entry) {
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    /* After `ret` pops the trampoline address rsp = frame + 64 must be
     * 16-byte aligned so that the trampoline's call sees a psABI stack. */
    struct jg__ctx_frame *f = (struct jg__ctx_frame *)(top - 16 - 64);
    memset(f, 0, sizeof(*f));
    __asm__ volatile("stmxcsr %0" : "=m"(f->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(f->fpucw));
    f->r12 = (void *)entry;
    f->ret = (void *)jg__ctx_trampoline;
    c->sp = f;
}

void *jg__ctx_sp(const struct jg__ctx *c) {
    return c->sp;
}

const char *jg__ctx_backend(void) {
    return "x86_64";
}
