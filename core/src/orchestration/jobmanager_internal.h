/* jobmanager_internal.h - the job manager's private parts in one include
 * (private to libgearbox; agents.c and tests use it).
 *
 * The files of the job manager, from the bottom up: jm_thread.c (state,
 * per-thread clients, the current job), submit.c (gearmand) and rest.c
 * (libcurl) on it, jobmanager.c on all three.
 */
#ifndef GBX_JOBMANAGER_INTERNAL_H
#define GBX_JOBMANAGER_INTERNAL_H

#include "orchestration/jm_thread.h"
#include "orchestration/rest_internal.h"
#include "orchestration/submit_internal.h"

/* The pause before retry number `failures` (1 = first retry), as Gearbox
 * computed it: Fibonacci (1, 1, 2, 3, 5, ...) capped at `max_delay`; when
 * that is above `max_jitter`, plus jitter * max_jitter (jitter in 0..1;
 * 0 = none). */
double gbx__jm_retry_delay(int failures, double max_delay, double max_jitter, double jitter);

#endif
