/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* signals.c - gbx_worker_run_until_signal: what every C worker's main()
 * needs to stop cleanly when its supervisor sends SIGTERM. */
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "gearbox/worker.h"

/* The worker a signal stops; lock-free, so the handler may read it. */
static _Atomic(gbx_worker *) signalled_worker;

static void stop_on_signal(int sig) {
    (void)sig;
    gbx_worker *worker = atomic_load(&signalled_worker);
    if (worker) gbx_worker_stop(worker);
}

gbx_err gbx_worker_run_until_signal(gbx_worker *worker) {
    if (!worker) return gbx_error_set(GBX_ERR_BAD_REQUEST, "worker is NULL");
    gbx_worker *none = NULL;
    if (!atomic_compare_exchange_strong(&signalled_worker, &none, worker))
        return gbx_error_set(GBX_ERR_CONFLICT, "another worker of this process already runs until a signal");

    struct sigaction stop = {0}, ignore = {0}, old_term, old_int, old_pipe;
    stop.sa_handler = stop_on_signal;
    sigemptyset(&stop.sa_mask);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGTERM, &stop, &old_term);
    sigaction(SIGINT, &stop, &old_int);
    sigaction(SIGPIPE, &ignore, &old_pipe);

    gbx_err err = gbx_worker_run(worker);

    /* Block the two signals while the handlers go back, so that none arrives
     * half-way; a pending one is then delivered to the old disposition. */
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    atomic_store(&signalled_worker, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return err;
}
