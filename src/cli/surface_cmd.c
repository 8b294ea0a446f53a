#include "surface_cmd.h"

#include <stdio.h>
#include <string.h>

#include "../vmm/exit_status.h"
#include "run.h"

void options_surface_config(const struct run_options *o, struct surface_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nohype = o->nohype;
	cfg->msr_filter = o->nohype;
	cfg->cpuid_profile = o->nohype ? CPUID_PROFILE_NOHYPE : CPUID_PROFILE_HOST;
	/* Not exiting on HLT means a halted vCPU keeps its host CPU: only
	 * sensible when that CPU is its own. */
	cfg->disable_exits = o->nohype && o->ndedicated;
	cfg->exit_budget = o->exit_budget;
	cfg->ndedicated = o->ndedicated < o->cpus ? o->ndedicated : o->cpus;
	memcpy(cfg->dedicated, o->dedicated, sizeof(cfg->dedicated[0]) * cfg->ndedicated);
}

int surface_main(int argc, char **argv)
{
	struct run_options opts;
	struct run_error err;
	char msg[320] = "";
	int ret = parse_options(argc, argv, &opts, false, msg, sizeof(msg));

	if (ret == 1)
		return KFV_EXIT_OK;
	if (ret) {
		fprintf(stderr, "kfv: %s\n", msg);
		return KFV_EXIT_USAGE;
	}
	ret = run_describe_surface(&opts, stdout, &err);
	if (err.msg[0])
		fprintf(stderr, "kfv: %s\n", err.msg);
	return ret;
}
