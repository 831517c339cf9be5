<?php
/*
 * The hello service in PHP (docs/first-service.md), component hellophp:
 *
 *   PUT /php/hello/v1/greeting/<name> {"text": "Hello"}  async: 202 and a status to poll
 *   GET /php/hello/v1/greeting/<name>                    sync: 200 {"name", "greeting"}, or 404
 *
 * Usage: php -d extension=gearbox.so hello_worker.php CONFIG   (SIGTERM or SIGINT stops it)
 */
require_once 'Gearbox.php';

class HelloWorker extends Worker
{
    private $greetings;

    function __construct($config)
    {
        parent::__construct($config);
        $this->greetings = $this->cfg()->get_path('hello.dir', 'state/hellophp');
        if (!is_dir($this->greetings)) {
            mkdir($this->greetings);
        }
        $this->register_handler('do_put_hellophp_greeting_v1');    // the methods below
        $this->register_handler('do_get_hellophp_greeting_v1');
    }

    // <dir>/<name>.json of the name in the URL: letters and digits only, so
    // that no name leaves the directory.
    function greeting_file($job)
    {
        if (!preg_match('/\A[A-Za-z0-9]{1,64}\z/', $job->resource_name())) {
            throw new ERR_BAD_REQUEST("a greeting's name is letters and digits");
        }
        return $this->greetings . '/' . $job->resource_name() . '.json';
    }

    // PUT: async, so the client gets 202 and polls the status.
    function do_put_hellophp_greeting_v1($job, $resp)
    {
        $path = $this->greeting_file($job);
        $name = $job->resource_name();
        $body = $job->json_content();   // checked against schemas/create-hellophp-greeting-v1.js
        $status = $resp->status();
        $status->add_message("writing the greeting for $name");
        $status->progress(50);
        if (file_put_contents($path, json_encode(['name' => $name, 'greeting' => "{$body['text']}, $name!"])) === false) {
            throw new ERR_INTERNAL_SERVER_ERROR("cannot write $path");
        }
        $status->add_message("greeting for $name saved");
        return Worker::WORKER_SUCCESS;  // COMPLETED, progress 100, code 0
    }

    // GET: sync, the answer is the HTTP response.
    function do_get_hellophp_greeting_v1($job, $resp)
    {
        $path = $this->greeting_file($job);
        if (!is_file($path)) {
            throw new ERR_NOT_FOUND('no greeting for ' . $job->resource_name());    // HTTP 404
        }
        $resp->content(file_get_contents($path));
        $resp->add_header('Content-Type', 'application/json');
        return Worker::WORKER_SUCCESS;  // HTTP 200
    }
}

if ($argc != 2) {
    fwrite(STDERR, "usage: hello_worker.php CONFIG\n");
    exit(2);
}
$worker = new HelloWorker($argv[1]);
$worker->run();                         // until SIGTERM or SIGINT
