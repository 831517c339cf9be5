<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* fixture_worker.php CONFIG [MAX_REQUESTS] - the worker of the binding tests
 * (component "phptest"), written the way Yahoo Gearbox's PHP workers are. */
require_once __DIR__ . '/../Gearbox.php';

class FixtureWorker extends Worker
{
    public $kept = null;
    public $pre = 0;
    public $post = 0;

    function __construct($config)
    {
        parent::__construct($config);
        $this->register_handler('do_get_phptest_echo_v1');
        $this->register_handler('do_get_phptest_fail_v1');
        $this->register_handler('do_get_phptest_boom_v1', 'boom');
        $this->register_handler('do_get_phptest_keep_v1', function ($job, $resp) {
            $this->kept = [$job, $resp, $job->status()];
            $resp->content('kept');
            return Worker::WORKER_SUCCESS;
        });
        $this->register_handler('do_get_phptest_stale_v1');
        $this->register_handler('do_get_phptest_bad_v1');
        $this->register_handler('do_get_phptest_hooks_v1');
        $this->register_handler('do_get_phptest_trivial_v1');
        $this->register_handler('do_get_phptest_syncstatus_v1');
        $this->register_handler('do_put_phptest_thing_v1');
        $this->register_handler('do_post_phptest_thing_v1');
        $this->register_handler('do_delete_phptest_thing_v1');
        $this->register_handler('do_post_phptest_parent_v1');
        $this->register_handler('do_post_phptest_stop_v1');
        $this->register_handler('do_put_phptest_mark_v1');
    }

    function pre_request($job) { $this->pre++; }
    function post_request($job) { $this->post++; }

    function do_get_phptest_trivial_v1($job, $resp)
    {
        $resp->content('ok');
        return Worker::WORKER_SUCCESS;
    }

    /* A sync handler's status: a throw-away one, as Gearbox's "st-". */
    function do_get_phptest_syncstatus_v1($job, $resp)
    {
        $st = $resp->status();
        $st->add_message('halfway');
        $st->progress(50);
        $st->meta('sheep', 3);
        $resp->content(json_encode(['name' => $st->name(), 'messages' => $st->messages(),
                                    'progress' => $st->progress(), 'meta' => $st->meta(),
                                    'job_status' => $job->status()]));
        return Worker::WORKER_SUCCESS;
    }

    function do_get_phptest_echo_v1($job, $resp)
    {
        $resp->add_header('Content-Type', 'application/json');
        $resp->add_header('X-Api', $job->api_version());
        $resp->content(json_encode([
            'arguments' => $job->arguments(),
            'matrix' => $job->matrix_arguments(),
            'query' => $job->query_params(),
            'header' => $job->headers()['x-test'] ?? null,
            'environ' => $job->environ(),
            'operation' => $job->operation(),
            'component' => $job->component(),
            'resource_type' => $job->resource_type(),
            'resource_name' => $job->resource_name(),
            'resource_uri' => $job->resource_uri(),
            'base_uri' => $job->base_uri(),
            'name' => $job->name(),
            'type' => $job->type(),
            'sync' => $job->type() == Job::JOB_SYNC,
            'status' => $job->status(),
            'remote_ip' => $job->remote_ip(),
            'content' => $job->content(),
            'code_before' => $resp->code(),
        ]));
        $resp->code(203);
        return Worker::WORKER_SUCCESS;
    }

    function do_get_phptest_fail_v1($job, $resp)
    {
        $args = $job->arguments();
        $code = (int)($args[0] ?? 404);
        $cls = "ERR_CODE_$code";
        throw new $cls("failing with $code");
    }

    function boom($job, $resp)
    {
        throw new RuntimeException('kaboom');
    }

    function do_get_phptest_stale_v1($job, $resp)
    {
        // What a previous handler call kept must fail cleanly now.
        $out = [];
        foreach (['job' => fn() => $this->kept[0]->name(), 'resp' => fn() => $this->kept[1]->content('x')] as $k => $f) {
            try {
                $f();
                $out[$k] = 'no error';
            } catch (Gearbox\Error $e) {
                $out[$k] = [get_class($e), $e->getCode()];
            }
        }
        $resp->content(json_encode($out));
        return Worker::WORKER_SUCCESS;
    }

    function do_get_phptest_bad_v1($job, $resp)
    {
        return 'not a result';
    }

    function do_get_phptest_hooks_v1($job, $resp)
    {
        $resp->content(json_encode(['pre' => $this->pre, 'post' => $this->post, 'count' => $this->request_count()]));
        return Worker::WORKER_SUCCESS;
    }

    function do_put_phptest_thing_v1($job, $resp)
    {
        $s = $resp->status();
        $s->progress(10);
        $s->add_message('processing ' . $job->resource_name());
        $s->meta('who', ['php', 8]);
        $in = $job->json_content();
        if (($in['fail'] ?? null) === 'conflict') {
            throw new ERR_CONFLICT('thing is busy');
        }
        if (($in['fail'] ?? null) === 'other') {
            throw new LogicException('plain exception');
        }
        $s->progress(50);
        $s->add_message('done');
        return Worker::WORKER_SUCCESS;
    }

    function do_post_phptest_thing_v1($job, $resp)
    {
        $resp->status()->add_message('continuing');
        if (($job->json_content()['then'] ?? false) === true) {
            $this->afterwards(new Job($job), 'do_put_phptest_thing_v1');
        }
        return Worker::WORKER_CONTINUE;
    }

    function do_delete_phptest_thing_v1($job, $resp)
    {
        $jm = $this->job_manager();
        $later = $jm->delay($jm->job('do_get_phptest_trivial_v1'), 3600);
        $resp->status()->add_message('delay: ' . $later->code());
        $later->status()->cancel();  // not to leave it waiting
        return Worker::WORKER_SUCCESS;
    }

    function do_post_phptest_parent_v1($job, $resp)
    {
        $child = $this->job_manager()->job('do_put_phptest_thing_v1')->resource_name('kid')->content('{}');
        $resp->status()->add_message('started ' . $child->run()->status()->name());
        return Worker::WORKER_SUCCESS;
    }

    // Appends "<resource name> <content>" to marks.txt in the state dir (what
    // the job queue tests see run, in order).
    function do_put_phptest_mark_v1($job, $resp)
    {
        $line = $job->resource_name() . ' ' . $job->content() . "\n";
        file_put_contents(getenv('GEARBOX_STATE_DIR') . '/marks.txt', $line, FILE_APPEND | LOCK_EX);
        return Worker::WORKER_SUCCESS;
    }

    function do_post_phptest_stop_v1($job, $resp)
    {
        $s = $resp->status();
        $resp->status()->add_message('cancel: ' . $s->cancel()->operation());
        $s->checkpoint();  // throws ERR_GONE
        $resp->status()->add_message('not reached');
        return Worker::WORKER_SUCCESS;
    }
}

Worker::log_to(null, 'warn');
$w = new FixtureWorker($argv[1]);
if (isset($argv[2])) {
    $w->max_requests((int)$argv[2]);
}
$w->run();
