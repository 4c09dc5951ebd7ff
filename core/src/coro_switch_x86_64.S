/* The x86-64 (System V) context switch under coro.c.
 *
 * A suspended context is nothing but a stack pointer: everything the ABI makes callee-saved
 * is pushed on that context's own stack before the switch and popped after it, so the
 * switch is an ordinary call for both sides and the compiler keeps the rest. The frame, from
 * the saved stack pointer upwards (coro.c builds the first one by hand and must agree):
 *
 *   +0  MXCSR (4 bytes), x87 control word (2 bytes), padding
 *   +8  r15   +16 r14   +24 r13   +32 r12   +40 rbx   +48 rbp   +56 return address
 */

#if defined(__x86_64__) && !defined(WEFT_CORO_UCONTEXT)

        .text

/* void weft__coro_switch(void **save_sp, void *load_sp)
 * Saves the running context, stores its stack pointer in *save_sp and continues the one
 * whose stack pointer is load_sp. */
        .globl  weft__coro_switch
        .hidden weft__coro_switch
        .type   weft__coro_switch, @function
        .p2align 4
weft__coro_switch:
        .cfi_startproc
        endbr64
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        /* From here on the unwinder would see the other context's frame: describe nothing. */
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   weft__coro_switch, .-weft__coro_switch

/* The first code of every coroutine: weft__coro_switch "returns" here on a fresh stack,
 * with the coroutine in rbx (see the first frame in coro.c) and rsp 16-byte aligned. */
        .globl  weft__coro_trampoline
        .hidden weft__coro_trampoline
        .type   weft__coro_trampoline, @function
        .p2align 4
weft__coro_trampoline:
        .cfi_startproc
        /* There is no caller: tell unwinders (gdb, libunwind, ASan) to stop here. */
        .cfi_undefined rip
        endbr64
        movq    %rbx, %rdi
        call    weft__coro_boot
        ud2                     /* weft__coro_boot never returns */
        .cfi_endproc
        .size   weft__coro_trampoline, .-weft__coro_trampoline

#if defined(__CET__) && (__CET__ & 1)
/* With -fcf-protection the other objects claim IBT; claim it too (every indirect-branch
 * target here starts with endbr64) so the link keeps it. Not shadow stacks: the switch
 * changes stacks without telling the shadow stack, so SHSTK is deliberately left out. */
        .section .note.gnu.property, "a"
        .p2align 3
        .long   4               /* name size */
        .long   16              /* descriptor size */
        .long   5               /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .long   0xc0000002      /* GNU_PROPERTY_X86_FEATURE_1_AND */
        .long   4
        .long   1               /* GNU_PROPERTY_X86_FEATURE_1_IBT */
        .p2align 3
#endif

#endif

        .section .note.GNU-stack, "", @progbits
