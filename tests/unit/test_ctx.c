/* SPDX-License-Identifier: MIT */
/*
 * test_ctx.c - the bare context switch (src/arch), whichever backend the
 * build chose: values passed both ways, callee-saved state kept per
 * context (including the floating-point rounding mode), deep frames, and
 * unwind info that walks out of the assembly switch from any instruction.
 */
#include <fenv.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unwind.h>

#include "arch/ctx.h"
#include "helpers.h"

#define STACK (256 << 10)

static struct jg__ctx main_ctx, co_ctx;
static long counter;

static void counting_entry(void *arg) {
    long v = (long)(intptr_t)arg;
    for (;;) {
        counter += v;
        v = (long)(intptr_t)jg__ctx_switch(&co_ctx, &main_ctx,
                                           (void *)(intptr_t)(v * 2));
    }
}

Test(ctx, passes_values_both_ways) {
    char *stack = malloc(STACK);
    jg__ctx_make(&co_ctx, stack, STACK, counting_entry);
    counter = 0;
    for (long i = 1; i <= 1000; i++) {
        void *back = jg__ctx_switch(&main_ctx, &co_ctx, (void *)(intptr_t)i);
        cr_assert_eq((long)(intptr_t)back, i * 2);
    }
    cr_assert_eq(counter, 1000L * 1001 / 2);
    free(stack);
}

/* Callee-saved registers survive: values live across a switch in many
 * locals force the compiler to keep some in rbx, rbp, r12-r15. */
static void busy_entry(void *arg) {
    (void)arg;
    volatile long sink = 0;
    for (;;) {
        long a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7;
        jg__ctx_switch(&co_ctx, &main_ctx, NULL);
        sink += a * 3 + b * 5 + c * 7 + d * 11 + e * 13 + f * 17 + g * 19;
        cr_assert_eq(a + b + c + d + e + f + g, 28);
    }
}

Test(ctx, keeps_callee_saved_registers) {
    char *stack = malloc(STACK);
    jg__ctx_make(&co_ctx, stack, STACK, busy_entry);
    long x1 = 11, x2 = 22, x3 = 33, x4 = 44, x5 = 55, x6 = 66;
    for (int i = 0; i < 100; i++) {
        jg__ctx_switch(&main_ctx, &co_ctx, NULL);
        x1++, x2++, x3++, x4++, x5++, x6++;
    }
    cr_assert_eq(x1 + x2 + x3 + x4 + x5 + x6, 231 + 600);
    free(stack);
}

/* Each context keeps its own rounding mode (MXCSR / x87 control word). */
static void rounding_entry(void *arg) {
    (void)arg;
    fesetround(FE_UPWARD);
    for (;;) {
        jg__ctx_switch(&co_ctx, &main_ctx, NULL);
        cr_assert_eq(fegetround(), FE_UPWARD, "coroutine lost its rounding");
    }
}

Test(ctx, keeps_rounding_mode_per_context) {
    char *stack = malloc(STACK);
    int saved = fegetround();
    fesetround(FE_TONEAREST);
    jg__ctx_make(&co_ctx, stack, STACK, rounding_entry);
    for (int i = 0; i < 10; i++) {
        jg__ctx_switch(&main_ctx, &co_ctx, NULL);
        cr_assert_eq(fegetround(), FE_TONEAREST, "main lost its rounding");
    }
    fesetround(saved);
    free(stack);
}

static long depth_sum(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    return n == 0 ? pad[0] : n + depth_sum(n - 1);
}

static void deep_entry(void *arg) {
    long n = (long)(intptr_t)arg;
    jg__ctx_switch(&co_ctx, &main_ctx, (void *)(intptr_t)depth_sum((int)n));
    abort();
}

Test(ctx, runs_deep_recursion_on_its_stack) {
    char *stack = malloc(1 << 20);
    jg__ctx_make(&co_ctx, stack, 1 << 20, deep_entry);
    void *r = jg__ctx_switch(&main_ctx, &co_ctx, (void *)(intptr_t)1000);
    cr_assert_eq((long)(intptr_t)r, 1000L * 1001 / 2);
    free(stack);
}

Test(ctx, names_its_backend) {
    const char *b = jg__ctx_backend();
#ifdef JG_CTX_UCONTEXT
    cr_assert_str_eq(b, "ucontext");
#else
    cr_assert_str_eq(b, "x86_64");
#endif
}

#if !defined(JG_CTX_UCONTEXT) && !defined(__SANITIZE_THREAD__)
/*
 * A debugger or profiler that stops inside jg__ctx_swap must find its
 * caller: the switch's unwind info covers every push, pop and the change
 * of stack. Two contexts switch back and forth while a fast timer
 * interrupts them; each interrupt that lands inside jg__ctx_swap walks the
 * stack from the signal handler, which must reach the function that called
 * the switch on the side that is current at that instruction. (Not under
 * ThreadSanitizer, which delays signals to points of its own choosing.)
 */
static struct jg__ctx ping_ctx, pong_ctx;
static volatile sig_atomic_t swap_hits, swap_walked;

__attribute__((noinline)) static void ping_loop(void) {
    while (swap_hits < 200) {
        jg__ctx_switch(&ping_ctx, &pong_ctx, NULL);
    }
}

static void pong_entry(void *arg) {
    (void)arg;
    for (;;) {
        jg__ctx_switch(&pong_ctx, &ping_ctx, NULL);
    }
}

struct walk {
    int found;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *c, void *arg) {
    struct walk *w = arg;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(c, &before);
    void *fn = _Unwind_FindEnclosingFunction((void *)(ip - (before ? 0 : 1)));
    if (fn == (void *)ping_loop || fn == (void *)pong_entry) {
        w->found = 1;
        return _URC_END_OF_STACK;
    }
    return _URC_NO_REASON;
}

static void on_tick(int sig, siginfo_t *si, void *uc_) {
    (void)sig;
    (void)si;
    ucontext_t *uc = uc_;
    void *ip = (void *)uc->uc_mcontext.gregs[REG_RIP];
    if (_Unwind_FindEnclosingFunction(ip) != (void *)jg__ctx_swap) {
        return;
    }
    struct walk w = {0};
    _Unwind_Backtrace(walk_frame, &w);
    swap_walked += w.found;
    swap_hits++;
}

Test(ctx, unwinds_from_inside_the_switch, .timeout = 120) {
    /* Started before the timer: a first switch returns into the
     * trampoline, where the unwinding rightly stops. */
    char *stack = malloc(STACK);
    jg__ctx_make(&pong_ctx, stack, STACK, pong_entry);
    jg__ctx_switch(&ping_ctx, &pong_ctx, NULL);
    struct sigaction sa = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGRTMIN, &sa, NULL), 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL,
                          .sigev_signo = SIGRTMIN};
    timer_t timer;
    cr_assert_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
    struct itimerspec every = {{0, 31000}, {0, 31000}};
    cr_assert_eq(timer_settime(timer, 0, &every, NULL), 0);
    ping_loop();
    timer_delete(timer);
    cr_assert_eq(swap_walked, swap_hits,
                 "%d of %d stops inside the switch unwound to its caller",
                 (int)swap_walked, (int)swap_hits);
    free(stack);
}
#endif
