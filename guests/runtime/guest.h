/* The guest kit's public API in one include. A guest defines
 *
 *     int guest_main(void);
 *
 * which runs on the BSP, in ring 0, with interrupts off, after the runtime
 * has set up the serial console, GDT/TSS, IDT and parsed the boot
 * information; its return value becomes the debug-exit code. */
#ifndef GUEST_RUNTIME_GUEST_H
#define GUEST_RUNTIME_GUEST_H

#include "runtime/acpi.h"
#include "runtime/bootinfo.h"
#include "runtime/cmdline.h"
#include "runtime/cpus.h"
#include "runtime/exit.h"
#include "runtime/idt.h"
#include "runtime/io.h"
#include "runtime/lapic.h"
#include "runtime/mptable.h"
#include "runtime/printf.h"
#include "runtime/report.h"
#include "runtime/serial.h"
#include "runtime/smp.h"
#include "runtime/string.h"
#include "runtime/user.h"

int guest_main(void);

#endif
