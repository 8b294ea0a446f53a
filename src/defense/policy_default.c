/* The policy kfv uses without --policy: policy/default.json, turned into a
 * C string at build time (the Makefile's $(BUILD)/gen/default_policy.c). */
#include "policy.h"

extern const char policy_default_json[];

int policy_load_default(struct policy **out, char *err, size_t errlen)
{
	return policy_load_string(policy_default_json, "built-in policy/default.json", out, err, errlen);
}
