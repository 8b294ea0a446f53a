/* `kfv surface` and `kfv cpuid`, and the NoHype settings the run options
 * turn into (docs/nohype.md). */
#ifndef KFV_CLI_SURFACE_CMD_H
#define KFV_CLI_SURFACE_CMD_H

#include "../vmm/surface.h"
#include "options.h"

/* What --nohype, --dedicated-cpus and --exit-budget ask of the VM. */
void options_surface_config(const struct run_options *o, struct surface_config *cfg);

/* kfv surface [run options]: prints the exit surface of that configuration
 * without running a guest. Returns the exit status. */
int surface_main(int argc, char **argv);

/* kfv cpuid [--nohype] [--cpus N]: prints the CPUID table vCPU 0 would
 * see (needs /dev/kvm). Returns the exit status. */
int cpuid_main(int argc, char **argv);

#endif
