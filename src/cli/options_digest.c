#include "options_digest.h"

#include <string.h>

#include <sodium.h>

static void add(crypto_generichash_state *st, const char *tag, const void *data, size_t len)
{
	uint64_t n = len;

	/* tag and length first: no two configurations hash the same bytes */
	crypto_generichash_update(st, (const unsigned char *)tag, strlen(tag) + 1);
	crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
	crypto_generichash_update(st, data, len);
}

static void add_str(crypto_generichash_state *st, const char *tag, const char *s)
{
	add(st, tag, s ? s : "", s ? strlen(s) : 0);
}

void options_digest(const struct run_options *o, uint8_t out[OPTIONS_DIGEST_BYTES])
{
	crypto_generichash_state st;
	uint8_t flags[4] = { o->nohype, o->hugepages, o->no_sandbox, o->debug_exit };

	crypto_generichash_init(&st, NULL, 0, OPTIONS_DIGEST_BYTES);
	add_str(&st, "kernel", o->kernel);
	add_str(&st, "initrd", o->initrd);
	add_str(&st, "cmdline", o->cmdline);
	add(&st, "memory", &o->memory, sizeof(o->memory));
	add(&st, "cpus", &o->cpus, sizeof(o->cpus));
	add(&st, "flags", flags, sizeof(flags));
	add(&st, "dedicated", o->dedicated, sizeof(o->dedicated[0]) * o->ndedicated);
	add(&st, "exit_budget", &o->exit_budget, sizeof(o->exit_budget));
	add(&st, "rng", &o->rng, sizeof(o->rng));
	add(&st, "rng_rate", o->rng_rate, sizeof(o->rng_rate));
	for (unsigned i = 0; i < o->nr_disks; i++)
		add(&st, "disk", &o->disks[i], sizeof(o->disks[i]));
	for (unsigned i = 0; i < o->nr_nets; i++)
		add(&st, "net", &o->nets[i], sizeof(o->nets[i]));
	crypto_generichash_final(&st, out, OPTIONS_DIGEST_BYTES);
}
