/* The local APIC in xAPIC mode (MMIO at the address the firmware tables
 * give, normally 0xfee00000): register access, IPIs, and its timer used
 * as a clock for bounded waits.
 *
 * The clock assumes the 1 GHz APIC bus KVM and QEMU both emulate; it is
 * only used for timeouts and start-up delays, where being off by a
 * factor is harmless. Every wait also has an iteration cap, so a timer
 * that does not count cannot hang the guest. */
#ifndef GUEST_RUNTIME_LAPIC_H
#define GUEST_RUNTIME_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_ID        0x020
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0

#define ICR_DM_INIT     0x00000500
#define ICR_DM_STARTUP  0x00000600
#define ICR_BUSY        0x00001000
#define ICR_ASSERT      0x00004000
#define ICR_LEVEL       0x00008000

/* Sets the MMIO base, software-enables the APIC (spurious vector 0xff),
 * and starts the clock. */
void lapic_init(uint64_t base);

/* 32-bit register access at the base lapic_init() set (LAPIC_* offsets). */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);

/* Signals end of interrupt; handlers of LAPIC-delivered vectors call it. */
void lapic_eoi(void);

/* Sends an IPI (icr_lo: mode | vector) to one APIC id and waits for the
 * APIC to accept it. Returns false if it stayed busy. */
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo);

/* Nanoseconds since lapic_init(); saturates after about 68 s. */
uint64_t lapic_clock_ns(void);

/* Busy-waits about us microseconds. */
void lapic_delay_us(uint64_t us);

#endif
