/* Core clock setup for the Nucleo boards, register-level (RM0390 for the F446, RM0433 for the
 * H743). The PLL runs from the internal HSI oscillator, which every board has without solder
 * bridge changes; its 1 % accuracy is well within a UART's tolerance.
 *
 * Every ready-wait is bounded. When a step does not become ready (a broken board, or an
 * emulator that does not model RCC/PWR/FLASH, where these registers read as zero) the
 * firmware switches back to the reset clock and keeps running; SystemCoreClockUpdate() then
 * reads the clock that really runs from RCC, so INFO and the UART divider follow it. */
#include "stm32_device.h"

/* One polling iteration is a load, a test and a branch: at least 4 cycles, so 200,000 of them
 * last >= 12.5 ms at the 64 MHz H743 reset clock (50 ms at 16 MHz on the F446), far longer than
 * any of these waits takes on silicon (PLL lock and regulator ramp: well under 1 ms). */
#define WAIT_LOOPS 200000u

/* 1 when (*reg & mask) == want within WAIT_LOOPS polls */
static int wait_for(const volatile uint32_t *reg, uint32_t mask, uint32_t want) {
    for (uint32_t i = 0; i < WAIT_LOOPS; i++) {
        if ((*reg & mask) == want) return 1;
    }
    return 0;
}

/* Shift of an APB prescaler field (same encoding on F4 and H7): 0xx -> /1, 1pp -> /2^(pp+1). */
static uint32_t apb_shift(uint32_t field) { return (field & 4u) ? (field & 3u) + 1u : 0u; }

#if defined(EBQ_STM32_F4)

/* 180 MHz: HSI 16 MHz / M 8 = 2 MHz (the recommended VCO input), x N 180 = 360 MHz VCO, / P 2.
 * Q = 8 and R = 2 only need to be legal (no USB/SAI/I2S here). AHB 180, APB1 /4 = 45 MHz (its
 * maximum), APB2 /2 = 90 MHz. 180 MHz needs voltage scale 1 with over-drive and 5 flash wait
 * states at 2.7-3.6 V (RM0390 table 5). */
#define PLLM 8u
#define PLLN 180u
#define PLLQ 8u
#define PLLR 2u

static void reset_clock_f4(void) {
    RCC->CFGR &= ~RCC_CFGR_SW; /* HSI */
    if (wait_for(&RCC->CFGR, RCC_CFGR_SWS, RCC_CFGR_SWS_HSI)) {
        RCC->CFGR &= ~(RCC_CFGR_HPRE | RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2);
        FLASH->ACR = (FLASH->ACR & ~FLASH_ACR_LATENCY) | FLASH_ACR_LATENCY_0WS;
    }
    RCC->CR &= ~RCC_CR_PLLON;
    PWR->CR &= ~(PWR_CR_ODSWEN | PWR_CR_ODEN);
}

int ebq_stm32_clock_init(void) {
    RCC->APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC->APB1ENR; /* the clock enable takes effect before PWR is touched */
    PWR->CR |= PWR_CR_VOS; /* scale 1 (applies once the PLL runs) */

    RCC->CR &= ~RCC_CR_PLLON;
    RCC->PLLCFGR = (PLLM << RCC_PLLCFGR_PLLM_Pos) | (PLLN << RCC_PLLCFGR_PLLN_Pos) |
                   (0u << RCC_PLLCFGR_PLLP_Pos) /* P = 2 */ | RCC_PLLCFGR_PLLSRC_HSI |
                   (PLLQ << RCC_PLLCFGR_PLLQ_Pos) | (PLLR << RCC_PLLCFGR_PLLR_Pos);
    RCC->CR |= RCC_CR_PLLON;
    int ok = wait_for(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY);

    /* Over-drive, entered while the system still runs from HSI (RM0390 5.1.4). */
    if (ok) {
        PWR->CR |= PWR_CR_ODEN;
        ok = wait_for(&PWR->CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY);
    }
    if (ok) {
        PWR->CR |= PWR_CR_ODSWEN;
        ok = wait_for(&PWR->CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY);
    }
    /* Wait states before the clock goes up; read back as RM0390 3.4.1 asks. */
    if (ok) {
        FLASH->ACR = FLASH_ACR_LATENCY_5WS | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
        ok = wait_for(&FLASH->ACR, FLASH_ACR_LATENCY, FLASH_ACR_LATENCY_5WS);
    }
    if (ok) {
        RCC->CFGR = (RCC->CFGR & ~(RCC_CFGR_HPRE | RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2)) |
                    RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
        RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW) | RCC_CFGR_SW_PLL;
        ok = wait_for(&RCC->CFGR, RCC_CFGR_SWS, RCC_CFGR_SWS_PLL);
    }
    if (!ok) reset_clock_f4();
    SystemCoreClockUpdate();
    return ok;
}

uint32_t stm32_pclk1_hz(void) {
    /* SystemCoreClock is HCLK on the F4 (the system file applies the AHB prescaler) */
    const uint32_t ppre1 = (RCC->CFGR & RCC_CFGR_PPRE1) >> RCC_CFGR_PPRE1_Pos;
    return SystemCoreClock >> apb_shift(ppre1);
}

#else /* EBQ_STM32_H7 */

/* PLL1 from HSI 64 MHz / M 4 = 16 MHz (input range 8-16 MHz), wide VCO: x N 60 = 960 MHz / P 2
 * = 480 MHz on revision V (voltage scale 0), x N 50 = 800 MHz / 2 = 400 MHz on revision Y (its
 * maximum, scale 1). AXI/AHB = sys / 2 (240 or 200 MHz), every APB / 2 (120 or 100 MHz, the
 * maximum is 120). Flash: 4 wait states, programming delay 2, valid up to 225/240 MHz AXI in
 * scale 1/0 (RM0433 table 17). */
#define DIVM1 4u
#define REV_V 0x2003u /* DBGMCU->IDCODE REV_ID of silicon revision V (480 MHz capable) */

static void reset_clock_h7(void) {
    RCC->CFGR &= ~RCC_CFGR_SW; /* HSI */
    if (wait_for(&RCC->CFGR, RCC_CFGR_SWS, RCC_CFGR_SWS_HSI)) {
        RCC->D1CFGR = 0u;
        RCC->D2CFGR = 0u;
        RCC->D3CFGR = 0u;
    }
    RCC->CR &= ~RCC_CR_PLL1ON;
    /* Supply, voltage scale and the (longer) flash latency stay: valid at any lower clock. */
}

int ebq_stm32_clock_init(void) {
    const int rev_v = (DBGMCU->IDCODE >> DBGMCU_IDCODE_REV_ID_Pos) == REV_V;
    const uint32_t divn1 = rev_v ? 60u : 50u;

    /* The NUCLEO-H743ZI powers the core from the internal LDO (SMPS-less part): lock that
     * supply configuration, then wait for the regulator to report its voltage. */
    PWR->CR3 = (PWR->CR3 & ~(PWR_CR3_SCUEN | PWR_CR3_LDOEN | PWR_CR3_BYPASS)) | PWR_CR3_LDOEN;
    int ok = wait_for(&PWR->CSR1, PWR_CSR1_ACTVOSRDY, PWR_CSR1_ACTVOSRDY);
    if (ok) {
        PWR->D3CR = (PWR->D3CR & ~PWR_D3CR_VOS) | PWR_D3CR_VOS; /* scale 1 */
        ok = wait_for(&PWR->D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY);
    }
    if (ok && rev_v) { /* scale 0 = scale 1 + over-drive through SYSCFG */
        RCC->APB4ENR |= RCC_APB4ENR_SYSCFGEN;
        (void)RCC->APB4ENR;
        SYSCFG->PWRCR |= SYSCFG_PWRCR_ODEN;
        ok = wait_for(&PWR->D3CR, PWR_D3CR_VOSRDY, PWR_D3CR_VOSRDY);
    }
    if (ok) {
        FLASH->ACR = FLASH_ACR_LATENCY_4WS | (2u << FLASH_ACR_WRHIGHFREQ_Pos);
        ok = wait_for(&FLASH->ACR, FLASH_ACR_LATENCY, FLASH_ACR_LATENCY_4WS);
    }
    if (ok) {
        RCC->CR &= ~RCC_CR_PLL1ON;
        ok = wait_for(&RCC->CR, RCC_CR_PLL1RDY, 0u);
    }
    if (ok) {
        RCC->PLLCKSELR = (RCC->PLLCKSELR & ~(RCC_PLLCKSELR_PLLSRC | RCC_PLLCKSELR_DIVM1)) |
                         RCC_PLLCKSELR_PLLSRC_HSI | (DIVM1 << RCC_PLLCKSELR_DIVM1_Pos);
        RCC->PLL1DIVR = ((divn1 - 1u) << RCC_PLL1DIVR_N1_Pos) | ((2u - 1u) << RCC_PLL1DIVR_P1_Pos) |
                        ((4u - 1u) << RCC_PLL1DIVR_Q1_Pos) | ((2u - 1u) << RCC_PLL1DIVR_R1_Pos);
        RCC->PLLCFGR = (RCC->PLLCFGR & ~(RCC_PLLCFGR_PLL1FRACEN | RCC_PLLCFGR_PLL1VCOSEL |
                                         RCC_PLLCFGR_PLL1RGE)) |
                       (3u << RCC_PLLCFGR_PLL1RGE_Pos) | RCC_PLLCFGR_DIVP1EN |
                       RCC_PLLCFGR_DIVQ1EN | RCC_PLLCFGR_DIVR1EN;
        RCC->CR |= RCC_CR_PLL1ON;
        ok = wait_for(&RCC->CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY);
    }
    if (ok) {
        RCC->D1CFGR = RCC_D1CFGR_D1CPRE_DIV1 | RCC_D1CFGR_HPRE_DIV2 | RCC_D1CFGR_D1PPRE_DIV2;
        RCC->D2CFGR = RCC_D2CFGR_D2PPRE1_DIV2 | RCC_D2CFGR_D2PPRE2_DIV2;
        RCC->D3CFGR = RCC_D3CFGR_D3PPRE_DIV2;
        RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW) | RCC_CFGR_SW_PLL1;
        ok = wait_for(&RCC->CFGR, RCC_CFGR_SWS, RCC_CFGR_SWS_PLL1);
    }
    if (!ok) reset_clock_h7();
    SystemCoreClockUpdate();
    return ok;
}

uint32_t stm32_pclk1_hz(void) {
    /* SystemD2Clock is the AHB clock (HCLK) that feeds APB1 */
    const uint32_t ppre1 = (RCC->D2CFGR & RCC_D2CFGR_D2PPRE1) >> RCC_D2CFGR_D2PPRE1_Pos;
    return SystemD2Clock >> apb_shift(ppre1);
}

#endif
