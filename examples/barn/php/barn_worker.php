<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* barn_worker.php - the barn example service's worker in PHP; behaves
 * exactly like the C barn (examples/barn/c/barn.c) under the component of its
 * config (barnphp):
 *   GET    /php/barn/v1/animal          -> {"animals": [names]}           (sync)
 *   GET    /php/barn/v1/animal/<name>   -> the animal, or 404             (sync)
 *   PUT    /php/barn/v1/animal/<name>   -> create or replace it           (async)
 *   POST   /php/barn/v1/animal          -> create under a generated name  (async)
 *   POST   /php/barn/v1/animal/<name>   -> update some fields, or 404     (async)
 *   DELETE /php/barn/v1/animal/<name>   -> remove it, or 404              (async)
 * Afterwards every created or updated animal goes to work: a pig rolls in
 * the mud, a spider ("species": "Araneus cavaticus") spins a web for a few
 * seconds and reports its progress.
 *
 * Usage: php -d extension=gearbox.so barn_worker.php --config FILE
 *            [--max-requests N] [--log-file F] [--log-level L] [--help]
 */

// In the source tree use the layer beside us, else the installed one.
$gearbox_layer = __DIR__ . '/../../../bindings/php/Gearbox.php';
require_once(file_exists($gearbox_layer) ? $gearbox_layer : 'Gearbox.php');

class Barn extends Worker
{
    const NAME_MAX_LEN = 64;
    const DEFAULT_SPECIES = 'Sus domestica';
    const SPIDER_SPECIES = 'Araneus cavaticus';

    private $animals_dir;   // <state_dir>/animals
    private $web_seconds;   // how long a spider spins
    private $component;

    function __construct($config)
    {
        parent::__construct($config);
        $cfg = $this->cfg();
        $state_dir = $cfg->get_path('barn.state_dir', 'state/barn');
        $this->web_seconds = $cfg->get_real('barn.web_seconds', 4.0);
        $this->animals_dir = "$state_dir/animals";
        if (!is_dir($this->animals_dir) && !@mkdir($this->animals_dir, 0755, true) && !is_dir($this->animals_dir)) {
            throw new ERR_INTERNAL_SERVER_ERROR("cannot create {$this->animals_dir}: " . (error_get_last()['message'] ?? ''));
        }
        $this->component = $cfg->get_string_default('component', 'barn');
        foreach (['get', 'put', 'post', 'delete'] as $method) {
            $name = "do_{$method}_{$this->component}_animal_v1";
            $this->register_handler($name, [$this, "do_{$method}_animal"]);
        }
        Worker::log("barn: animals in {$this->animals_dir}");
    }

    function animals_dir() { return $this->animals_dir; }

    /* ---- storage ------------------------------------------------------- */

    /* Names become file names: [A-Za-z0-9._-], not starting with a dot, at
     * most NAME_MAX_LEN characters; so no name can leave the animals dir. */
    private function check_name($name)
    {
        if ($name === null || $name === '') {
            throw new ERR_BAD_REQUEST('the URL must name the animal: /barn/v1/animal/<name>');
        }
        if (strlen($name) > self::NAME_MAX_LEN) {
            throw new ERR_BAD_REQUEST('invalid animal name: longer than ' . self::NAME_MAX_LEN . ' characters');
        }
        if ($name[0] === '.') {
            throw new ERR_BAD_REQUEST("invalid animal name \"$name\": it may not start with a dot");
        }
        if (!preg_match('/^[A-Za-z0-9._-]+$/D', $name)) {
            throw new ERR_BAD_REQUEST(
                "invalid animal name \"$name\": only letters, digits, '.', '_' and '-' are allowed");
        }
    }

    private function animal_path($name) { return "{$this->animals_dir}/$name.json"; }

    private function read_animal_text($name)
    {
        $path = $this->animal_path($name);
        if (!file_exists($path)) {
            throw new ERR_NOT_FOUND("animal \"$name\" not found");
        }
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new ERR_INTERNAL_SERVER_ERROR("$path: " . (error_get_last()['message'] ?? 'cannot read'));
        }
        return $text;
    }

    private function read_animal($name)
    {
        $text = $this->read_animal_text($name);
        try {
            return gbx_json_parse($text);
        } catch (Gearbox\Error $e) {
            throw new ERR_INTERNAL_SERVER_ERROR("stored animal \"$name\" is damaged: " . $e->getMessage());
        }
    }

    /* Writes the animal atomically: a temporary file in the same directory,
     * flushed, then renamed over the old one. */
    private function write_animal($name, $animal)
    {
        $path = $this->animal_path($name);
        $text = gbx_json_dump($animal ?: new stdClass());
        $tmp = "{$this->animals_dir}/.$name.json." . bin2hex(random_bytes(4));
        $f = @fopen($tmp, 'x');
        if (!$f) {
            throw new ERR_INTERNAL_SERVER_ERROR("cannot create $tmp: " . (error_get_last()['message'] ?? ''));
        }
        $ok = fwrite($f, $text) === strlen($text) && chmod($tmp, 0644) && fflush($f) && fsync($f);
        $ok = fclose($f) && $ok;
        if (!$ok || !rename($tmp, $path)) {
            $why = error_get_last()['message'] ?? 'write failed';
            @unlink($tmp);
            throw new ERR_INTERNAL_SERVER_ERROR("cannot write $path: $why");
        }
    }

    /* {"animals": [names, sorted]}. */
    private function list_animals()
    {
        $entries = @scandir($this->animals_dir, SCANDIR_SORT_NONE);
        if ($entries === false) {
            throw new ERR_INTERNAL_SERVER_ERROR("cannot read {$this->animals_dir}: " . (error_get_last()['message'] ?? ''));
        }
        $names = [];
        foreach ($entries as $f) {
            if ($f[0] === '.' || strlen($f) <= 5 || substr($f, -5) !== '.json') {
                continue;
            }
            $names[] = substr($f, 0, -5);
        }
        sort($names, SORT_STRING);
        return ['animals' => $names];
    }

    /* ---- helpers for handlers ------------------------------------------ */

    /* The animal a request is about: the resource name (the gateway sets the
     * generated one for POST without a name), else the first argument. */
    private function animal_name($job)
    {
        $name = $job->resource_name();
        if ($name !== null && $name !== '') {
            return $name;
        }
        $args = $job->arguments();
        return $args[0] ?? null;
    }

    private function has_arguments($job) { return count($job->arguments()) > 0; }

    /* The validated body as an object (null -> empty object). */
    private function body_object($job)
    {
        $body = $job->json_content();
        if ($body === null) {
            return [];
        }
        if (!is_array($body) || ltrim($job->content(), " \t\r\n")[0] !== '{') {
            throw new ERR_BAD_REQUEST('the body must be a JSON object describing the animal');
        }
        return $body;
    }

    /* Adds a message to the job's status (async jobs only). */
    private function note($job, $msg)
    {
        $status = $job->status();
        if ($status === null) {
            return;
        }
        try {
            $status->add_message($msg);
        } catch (Gearbox\Error $e) {
            Worker::log("cannot add message \"$msg\": " . $e->getMessage(), GBX_LOG_WARN);
        }
    }

    private function progress($job, $percent)
    {
        $status = $job->status();
        if ($status === null) {
            return;
        }
        try {
            $status->progress($percent);
        } catch (Gearbox\Error $e) {
            Worker::log("cannot set progress $percent: " . $e->getMessage(), GBX_LOG_WARN);
        }
    }

    /* What an animal does once created or updated. */
    private function put_to_work($job, $animal, $id)
    {
        $name = (isset($animal['name']) && is_string($animal['name'])) ? $animal['name'] : $id;
        $species = $animal['species'] ?? null;
        if ($species !== self::SPIDER_SPECIES) {
            $this->note($job, "$name is happily rolling around in the mud!");
            return;
        }
        $words = ['SOME PIG', 'TERRIFIC', 'RADIANT', 'HUMBLE'];
        $this->progress($job, 10);
        $this->note($job, "$name is beginning to spin a web.");
        usleep((int)($this->web_seconds / 2 * 1e6));
        $this->progress($job, 50);
        $this->note($job, "$name is still spinning...");
        usleep((int)($this->web_seconds / 2 * 1e6));
        $this->note($job, "$name's web is complete! It says: '" . $words[time() % count($words)] . "'");
    }

    private function answer_json($resp, $text)
    {
        $resp->content($text);
        $resp->add_header('Content-Type', 'application/json');
        return Worker::WORKER_SUCCESS;
    }

    /* ---- handlers ------------------------------------------------------ */

    function do_get_animal($job, $resp)
    {
        if (!$this->has_arguments($job)) {
            return $this->answer_json($resp, gbx_json_dump($this->list_animals()));
        }
        $name = $this->animal_name($job);
        $this->check_name($name);
        return $this->answer_json($resp, $this->read_animal_text($name));
    }

    /* PUT: create the animal, or replace it whole. */
    function do_put_animal($job, $resp)
    {
        $name = $this->has_arguments($job) ? $this->animal_name($job) : null;
        $this->check_name($name);
        $animal = $this->body_object($job);
        $existed = file_exists($this->animal_path($name));
        $this->write_animal($name, $animal);
        $this->note($job, "animal \"$name\" " . ($existed ? 'replaced' : 'created'));
        $this->put_to_work($job, $animal, $name);
        return $this->answer_json($resp, gbx_json_dump($animal ?: new stdClass()));
    }

    /* POST without a name: create under the generated name (a pig unless
     * told otherwise).  POST with a name: update the given fields of an
     * existing animal (its name cannot change). */
    function do_post_animal($job, $resp)
    {
        $name = $this->animal_name($job);
        $this->check_name($name);
        $body = $this->body_object($job);
        $operation = $job->operation();
        $create = $operation !== null ? $operation === 'create' : !$this->has_arguments($job);
        if ($create) {
            $animal = $body;
            if (!array_key_exists('species', $animal)) {
                $animal['species'] = self::DEFAULT_SPECIES;
            }
        } else {
            $animal = $this->read_animal($name);
            if (!is_array($animal)) {
                $animal = [];
            }
            $old_name = $animal['name'] ?? null;
            $new_name = $body['name'] ?? null;
            if (is_string($new_name) && is_string($old_name) && $old_name !== $new_name) {
                throw new ERR_BAD_REQUEST("the name of animal \"$name\" cannot change");
            }
            foreach ($body as $k => $v) {
                $animal[$k] = $v;
            }
        }
        $this->write_animal($name, $animal);
        $this->note($job, "animal \"$name\" " . ($create ? 'created' : 'updated'));
        $this->put_to_work($job, $animal, $name);
        return $this->answer_json($resp, gbx_json_dump($animal ?: new stdClass()));
    }

    function do_delete_animal($job, $resp)
    {
        $name = $this->has_arguments($job) ? $this->animal_name($job) : null;
        $this->check_name($name);
        $path = $this->animal_path($name);
        if (!@unlink($path)) {
            if (!file_exists($path)) {
                throw new ERR_NOT_FOUND("animal \"$name\" not found");
            }
            throw new ERR_INTERNAL_SERVER_ERROR("cannot delete $path: " . (error_get_last()['message'] ?? ''));
        }
        $this->note($job, "animal \"$name\" deleted");
        return Worker::WORKER_SUCCESS;
    }
}

/* ---- program ------------------------------------------------------------ */

function usage($f)
{
    fwrite($f,
        "usage: barn_worker.php --config FILE [--max-requests N] [--log-file F]\n" .
        "                       [--log-level debug|info|warn|error] [--help]\n" .
        "Serves the barn example service in PHP (do_{get,put,post,delete}_<component>_animal_v1).\n" .
        "  --config FILE       the component config (e.g. examples/barn/conf/barnphp.conf)\n" .
        "  --max-requests N    exit after N jobs (default: never)\n" .
        "  --log-file F        append the log to F (default: stderr)\n" .
        "  --log-level L       debug, info (default), warn or error\n" .
        "SIGTERM or SIGINT stops the worker after the current job.\n");
}

function main($argv)
{
    $rest = null;
    $opts = getopt('hc:m:l:L:', ['help', 'config:', 'max-requests:', 'log-file:', 'log-level:'], $rest);
    if ($opts === false) {
        usage(STDERR);
        return 2;
    }
    if (isset($opts['h']) || isset($opts['help'])) {
        usage(STDOUT);
        return 0;
    }
    $config = $opts['config'] ?? $opts['c'] ?? null;
    $max = $opts['max-requests'] ?? $opts['m'] ?? '0';
    $log_file = $opts['log-file'] ?? $opts['l'] ?? null;
    $log_level = $opts['log-level'] ?? $opts['L'] ?? null;
    foreach ([$config, $max, $log_file, $log_level] as $v) {
        if (is_array($v)) {
            fwrite(STDERR, "barn_worker.php: an option was given twice\n");
            return 2;
        }
    }
    if ($rest < count($argv) || $config === null) {
        if ($rest < count($argv)) {
            fwrite(STDERR, "barn_worker.php: unexpected argument \"{$argv[$rest]}\"\n");
        } else {
            fwrite(STDERR, "barn_worker.php: --config FILE is required\n");
        }
        usage(STDERR);
        return 2;
    }
    if (!preg_match('/^[0-9]+$/D', $max)) {
        fwrite(STDERR, "barn_worker.php: --max-requests needs a number, not \"$max\"\n");
        return 2;
    }
    if ($log_level !== null && gbx_log_level_from_name($log_level) < 0) {
        fwrite(STDERR, "barn_worker.php: unknown log level \"$log_level\"\n");
        return 2;
    }
    try {
        Worker::log_to($log_file, $log_level);
    } catch (Gearbox\Error $e) {
        fwrite(STDERR, "barn_worker.php: " . $e->getMessage() . "\n");
        return 1;
    }
    try {
        $barn = new Barn($config);
        $barn->max_requests((int)$max);
        $barn->run();
    } catch (Gearbox\Error $e) {
        Worker::log('barn: ' . $e->getMessage(), GBX_LOG_ERROR);
        return 1;
    }
    return 0;
}

exit(main($argv));
