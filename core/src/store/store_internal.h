/* store_internal.h - kept for the orchestration code that includes it: the
 * backend interface (store/backend.h) and the job queue
 * (store/queue_internal.h).  New code includes those directly. */
#ifndef GBX_STORE_INTERNAL_H
#define GBX_STORE_INTERNAL_H

#include "store/backend.h"
#include "store/queue_internal.h"

#endif
