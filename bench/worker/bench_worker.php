<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* bench_worker.php - the trivial "bench" component in PHP, for comparing the
 * PHP binding's end-to-end jobs/s with the C bench worker (bench_worker.c).
 * Written the way Yahoo Gearbox's PHP workers are.
 *
 *   php -n -d extension=<build>/bindings/php/gearbox.so \
 *       -d include_path=.:bindings/php:/usr/share/php \
 *       bench/worker/bench_worker.php --config bench/conf/bench.conf
 *
 * Handlers (the same answers as the C bench worker):
 *   do_get_bench_echo_v1   sync: {"echo": "<resource name>", "ok": true}
 *   do_put_bench_echo_v1   async: does nothing and succeeds
 * One process serves one job at a time; run() returns on SIGTERM / SIGINT.
 */
require_once 'Gearbox.php';

class BenchWorker extends Worker
{
    function __construct($config)
    {
        parent::__construct($config);
        $this->register_handler('do_get_bench_echo_v1');
        $this->register_handler('do_put_bench_echo_v1');
    }

    function do_get_bench_echo_v1($job, $resp)
    {
        $resp->add_header('Content-Type', 'application/json');
        $resp->content(json_encode(['echo' => (string)$job->resource_name(), 'ok' => true]));
        return Worker::WORKER_SUCCESS;
    }

    function do_put_bench_echo_v1($job, $resp)
    {
        return Worker::WORKER_SUCCESS;
    }
}

$options = getopt('', ['config:']);
if (!isset($options['config'])) {
    fwrite(STDERR, "usage: bench_worker.php --config FILE\n");
    exit(2);
}
$worker = new BenchWorker($options['config']);
$worker->run();
