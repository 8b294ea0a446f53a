#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/cpuid.h"
#include "../vmm/cpuid_profile.h"
#include "../vmm/exit_status.h"
#include "../vmm/kvm.h"
#include "surface_cmd.h"

int cpuid_main(int argc, char **argv)
{
	struct run_options opts;
	struct kvm_cpuid2 *table;
	const char *missing;
	char msg[320] = "";
	int fd, ret = parse_options(argc, argv, &opts, false, msg, sizeof(msg));

	if (ret == 1)
		return KFV_EXIT_OK;
	if (ret) {
		fprintf(stderr, "kfv: %s\n", msg);
		return KFV_EXIT_USAGE;
	}
	fd = kvm_open("/dev/kvm", &missing);
	if (fd < 0) {
		fprintf(stderr, "kfv: /dev/kvm: %s\n", fd == -ENOTSUP ? missing : strerror(-fd));
		return KFV_EXIT_UNAVAILABLE;
	}
	ret = kvm_supported_cpuid(fd, &table);
	close(fd);
	if (ret) {
		fprintf(stderr, "kfv: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(-ret));
		return KFV_EXIT_UNAVAILABLE;
	}
	/* Exactly what vm_create() installs for vCPU 0. */
	cpuid_profile_apply(table, opts.nohype ? CPUID_PROFILE_NOHYPE : CPUID_PROFILE_HOST);
	cpuid_for_vcpu(table, 0, opts.cpus);
	printf("cpuid profile %s, vcpu 0 of %u, %u entries\n",
	       cpuid_profile_name(opts.nohype ? CPUID_PROFILE_NOHYPE : CPUID_PROFILE_HOST), opts.cpus, table->nent);
	cpuid_print_table(stdout, table);
	free(table);
	return KFV_EXIT_OK;
}
