/* Reset and exception handling for the QEMU mps2 boards (linked with mps2.ld, -nostartfiles):
 * vector table, .data copy and .bss zeroing, FPU enable, then main(). Faults stop at a bkpt,
 * which makes QEMU exit with an error instead of hanging. */
#include <stdint.h>
#include <string.h>

#include "mps2.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void TIMER0_Handler(void);

__attribute__((noreturn)) static void halt(void) {
    for (;;) __asm volatile("bkpt #0");
}

void Fault_Handler(void) { halt(); }

void Reset_Handler(void) {
    /* Both FPU coprocessors (CP10, CP11) full access, before any float code runs. */
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    main();
    SCB_AIRCR = AIRCR_SYSRESETREQ; /* with -no-reboot, QEMU exits */
    halt();
}

typedef void (*vector)(void);

/* 16 system exceptions + 32 IRQs; only TIMER0 (IRQ 8) is enabled. */
__attribute__((section(".isr_vector"), used)) static const vector vectors[16 + 32] = {
    [0] = (vector)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = Fault_Handler, /* NMI */
    [3] = Fault_Handler, /* HardFault */
    [4] = Fault_Handler, /* MemManage */
    [5] = Fault_Handler, /* BusFault */
    [6] = Fault_Handler, /* UsageFault */
    [11] = Fault_Handler, /* SVCall */
    [14] = Fault_Handler, /* PendSV */
    [15] = Fault_Handler, /* SysTick */
    [16 + TIMER0_IRQN] = TIMER0_Handler,
};
