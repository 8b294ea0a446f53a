#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../util/log.h"
#include "../vmm/exit_status.h"
#include "options.h"
#include "run.h"
#include "supervisor.h"
#include "surface_cmd.h"

#define KFV_VERSION "0.1.0"

/* The one place that turns an error into a message and an exit status. */
int main(int argc, char **argv)
{
	struct run_options opts;
	struct run_error err;
	char msg[320] = "";
	sigset_t pwr;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? KFV_EXIT_USAGE : KFV_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kfv %s\n", KFV_VERSION);
		return KFV_EXIT_OK;
	}
	if (!strcmp(argv[1], "surface"))
		return surface_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cpuid"))
		return cpuid_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "run")) {
		fprintf(stderr, "kfv: unknown command %s (see kfv --help)\n", argv[1]);
		return KFV_EXIT_USAGE;
	}

	/* SIGPWR is the graceful-shutdown request: until the supervisor
	 * relays it (and in the VMM, until vm_run() takes it), it waits
	 * blocked instead of ending kfv, its default action. */
	sigemptyset(&pwr);
	sigaddset(&pwr, SIGPWR);
	sigprocmask(SIG_BLOCK, &pwr, NULL);
	ret = parse_run_options(argc - 1, argv + 1, &opts, msg, sizeof(msg));
	if (ret == 1)
		return KFV_EXIT_OK;
	if (ret) {
		fprintf(stderr, "kfv: %s\n", msg);
		return KFV_EXIT_USAGE;
	}
	log_set_level(opts.verbosity >= 2 ? LOG_DEBUG : opts.verbosity == 1 ? LOG_INFO : LOG_WARN);

	ret = supervise_run(&opts, &err);
	if (err.msg[0])
		fprintf(stderr, "kfv: %s\n", err.msg);
	return ret;
}
