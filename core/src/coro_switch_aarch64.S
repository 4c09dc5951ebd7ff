/* The aarch64 (AAPCS64) context switch under coro.c.
 *
 * A suspended context is nothing but a stack pointer: the callee-saved registers are
 * stored on that context's own stack before the switch and loaded after it, so the switch
 * is an ordinary call for both sides. The FPCR (rounding mode, flush-to-zero) travels
 * with its context as MXCSR does on x86-64, but is only written when it differs, since
 * writing it can be slow. The frame, from the saved stack pointer upwards (coro.c builds
 * the first one by hand and must agree):
 *
 *   +0 x19 x20  +16 x21 x22  +32 x23 x24  +48 x25 x26  +64 x27 x28  +80 x29(fp) x30(lr)
 *   +96 d8 d9   +112 d10 d11 +128 d12 d13 +144 d14 d15 +160 FPCR, padding   (176 bytes)
 */

#if defined(__aarch64__) && !defined(WEFT_CORO_UCONTEXT)

        .text

/* void weft__coro_switch(void **save_sp, void *load_sp)
 * Saves the running context, stores its stack pointer in *save_sp and continues the one
 * whose stack pointer is load_sp. */
        .globl  weft__coro_switch
        .hidden weft__coro_switch
        .type   weft__coro_switch, %function
        .p2align 4
weft__coro_switch:
        .cfi_startproc
        hint    #34             /* bti c: a NOP unless branch target identification is on */
        sub     sp, sp, #176
        .cfi_adjust_cfa_offset 176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x2, sp
        str     x2, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldr     x10, [sp, #160]
        cmp     x9, x10         /* x9 still holds the FPCR the old context left */
        b.eq    1f
        msr     fpcr, x10
1:      add     sp, sp, #176
        ret
        .cfi_endproc
        .size   weft__coro_switch, .-weft__coro_switch

/* The first code of every coroutine: weft__coro_switch "returns" here on a fresh stack,
 * with the coroutine in x19 (see the first frame in coro.c) and sp 16-byte aligned. */
        .globl  weft__coro_trampoline
        .hidden weft__coro_trampoline
        .type   weft__coro_trampoline, %function
        .p2align 4
weft__coro_trampoline:
        .cfi_startproc
        /* There is no caller: tell unwinders (gdb, libunwind, ASan) to stop here. */
        .cfi_undefined x30
        mov     x0, x19
        bl      weft__coro_boot
        brk     #0              /* weft__coro_boot never returns */
        .cfi_endproc
        .size   weft__coro_trampoline, .-weft__coro_trampoline

#if defined(__ARM_FEATURE_BTI_DEFAULT)
/* With -mbranch-protection=bti the other objects claim BTI; claim it too (the switch is a
 * landing pad, the trampoline is only reached by ret) so the link keeps it. Not PAC: the
 * switch keeps lr unsigned on the stack. */
        .section .note.gnu.property, "a"
        .p2align 3
        .long   4               /* name size */
        .long   16              /* descriptor size */
        .long   5               /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .long   0xc0000000      /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
        .long   4
        .long   1               /* GNU_PROPERTY_AARCH64_FEATURE_1_BTI */
        .p2align 3
#endif

#endif

        .section .note.GNU-stack, "", %progbits
