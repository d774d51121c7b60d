/* SPDX-License-Identifier: MIT */
/*
 * ctx_x86_64.S - the context switch for the System V AMD64 psABI.
 *
 * jg__ctx_swap(void **save, void *load, void *arg) saves exactly the
 * callee-saved state on the current stack: rbx, rbp, r12-r15, the MXCSR and
 * the x87 control word (the caller has spilled everything else), stores the
 * stack pointer in *save, adopts load as the stack pointer, pops the state
 * found there and returns arg in rax to whoever suspended that stack.
 *
 * It returns with `ret`, which the return-stack predictor gets right when
 * both sides of a switch called from the same place: that is how the
 * scheduler uses it (every task switches from switch_away() in sched.c).
 * A pop and an indirect jump (as Boost.Context does) suits switches from
 * different places but leaves the return-stack buffer one entry off, so
 * every `ret` above the switch mispredicts: measured, task-to-task yields
 * went from 18 to 30 ns with it.
 *
 * The frame, from the saved sp upward (= struct jg__ctx_frame in ctx.h):
 *
 *      sp+56   return address  (caller of jg__ctx_swap, or the trampoline)
 *      sp+48   rbp
 *      sp+40   rbx
 *      sp+32   r12             (a new context: the entry function)
 *      sp+24   r13
 *      sp+16   r14
 *      sp+8    r15
 *      sp+4    x87 control word (16 bits) + 16 bits of padding
 *      sp+0    MXCSR (32 bits)
 *
 * A new context made by jg__ctx_make() returns into jg__ctx_trampoline with
 * the entry function in r12 and a 16-byte aligned rsp; the trampoline calls
 * entry(arg) and traps if it ever returns.
 */
        .text
        .globl  jg__ctx_swap
        .hidden jg__ctx_swap
        .type   jg__ctx_swap, @function
        .p2align 4
jg__ctx_swap:                   /* rdi = void **save, rsi = load, rdx = arg */
        .cfi_startproc
        /* Unwind info for every instruction, so that a debugger or a
         * profiler stopping in here walks up to the caller: the frame has
         * the same layout on both stacks, so the rules hold across the
         * change of rsp (from it on, the caller is the resumed side's). */
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)    /* Suspend: publish our sp. */
        movq    %rsi, %rsp      /* Resume: adopt theirs. */
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore rbp
        movq    %rdx, %rax      /* The resumed side's return value. */
        ret
        .cfi_endproc
        .size   jg__ctx_swap, .-jg__ctx_swap

        .globl  jg__ctx_trampoline
        .hidden jg__ctx_trampoline
        .type   jg__ctx_trampoline, @function
        .p2align 4
jg__ctx_trampoline:             /* rax = arg, r12 = entry */
        .cfi_startproc
        .cfi_undefined rip      /* Debuggers: the call chain starts here. */
        movq    %rax, %rdi
        callq   *%r12
        ud2                     /* An entry function must never return. */
        .cfi_endproc
        .size   jg__ctx_trampoline, .-jg__ctx_trampoline

        .section .note.GNU-stack,"",@progbits
