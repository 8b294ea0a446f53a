/* The configuration digest: a BLAKE2b hash of everything a run was asked
 * to be. The VMM folds it into each answer to the guard's challenges
 * (docs/guard.md), so a VMM whose idea of its configuration changed
 * answers wrong. */
#ifndef KFV_CLI_OPTIONS_DIGEST_H
#define KFV_CLI_OPTIONS_DIGEST_H

#include <stdint.h>

#include "options.h"

#define OPTIONS_DIGEST_BYTES 32

void options_digest(const struct run_options *o, uint8_t out[OPTIONS_DIGEST_BYTES]);

#endif
