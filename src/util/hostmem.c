#include "hostmem.h"

#include <stdio.h>
#include <sys/sysinfo.h>

uint64_t host_available_memory(void)
{
	unsigned long long kib = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
				break;
		fclose(f);
	}
	if (kib)
		return (uint64_t)kib * 1024;
	{
		struct sysinfo si;

		if (sysinfo(&si) == 0)
			return (uint64_t)(si.freeram + si.bufferram) * si.mem_unit;
	}
	return 0;
}
