<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* compat_worker.php CONFIG - the worker of CompatTest (component
 * "phpcompat"), in Gearbox's style: it throws Gearbox's ERR_* classes by
 * name, and counts and times itself with Scoreboard and StopWatch as
 * Gearbox's workers/test-basic did. */
require_once __DIR__ . '/../Gearbox.php';

class CompatWorker extends Worker
{
    function __construct($config)
    {
        parent::__construct($config);
        $this->register_handler('do_get_phpcompat_error_v1');
        $this->register_handler('do_get_phpcompat_metrics_v1');
    }

    function do_get_phpcompat_error_v1($job, $resp)
    {
        $name = $job->arguments()[0];
        $cls = "ERR_$name";
        throw new $cls("raised $name");
    }

    function do_get_phpcompat_metrics_v1($job, $resp)
    {
        Scoreboard::initialize($job->component());
        $sb = Scoreboard::get_scoreboard();
        $sb->increment_counter('status', 'phpcompat');
        $sw = new StopWatch();
        $sw->start();
        $sw->stop();
        $sb->update_duration_hours('status', 'phpcompat', 'duration_success', $sw);
        $resp->content(json_encode(Scoreboard::snapshot()['components']['phpcompat']));
        return Worker::WORKER_SUCCESS;
    }
}

Worker::log_to(null, 'warn');
$w = new CompatWorker($argv[1]);
$w->run();
