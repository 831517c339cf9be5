/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/gearbox.h - the whole public API of libgearbox. */
#ifndef GEARBOX_GEARBOX_H
#define GEARBOX_GEARBOX_H

#include "gearbox/error.h"
#include "gearbox/log.h"
#include "gearbox/json.h"
#include "gearbox/id.h"
#include "gearbox/config.h"
#include "gearbox/servers.h"
#include "gearbox/uri.h"
#include "gearbox/schema.h"
#include "gearbox/envelope.h"
#include "gearbox/trace.h"
#include "gearbox/store.h"
#include "gearbox/state.h"
#include "gearbox/status.h"
#include "gearbox/response.h"
#include "gearbox/job.h"
#include "gearbox/jobmanager.h"
#include "gearbox/worker.h"
#include "gearbox/agents.h"
#include "gearbox/stopwatch.h"
#include "gearbox/scoreboard.h"
#include "gearbox/metrics.h"

#endif
