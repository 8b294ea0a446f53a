#ifndef KFV_UTIL_HOSTMEM_H
#define KFV_UTIL_HOSTMEM_H

#include <stdint.h>

/* Memory the host can give right now (MemAvailable), in bytes; 0 if unknown. */
uint64_t host_available_memory(void);

#endif
