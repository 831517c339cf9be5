<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* Gearbox.php - the PHP worker API of Gearbox (DESIGN §5) over the gearbox
 * extension (swig/gearbox.i + swig/php7.i), with the class, method and
 * constant names of Yahoo Gearbox's PHP workers:
 *
 *     require_once 'Gearbox.php';
 *     class MyWorker extends Worker {
 *         function __construct($config) {
 *             parent::__construct($config);
 *             $this->register_handler('do_get_my_thing_v1');
 *         }
 *         function do_get_my_thing_v1($job, $resp) {
 *             throw new ERR_NOT_FOUND('no such thing');
 *             return Worker::WORKER_SUCCESS;
 *         }
 *     }
 *
 * Every class lives in namespace Gearbox and has an unprefixed alias
 * (Worker, Job, JobResponse, Status, JobManager, StatusManager, ConfigFile,
 * HttpClient).  The ERR_* exception classes come from the extension,
 * generated from the C core's error table.  This layer only adapts: the
 * work happens in libgearbox.
 */

namespace Gearbox {

if (!extension_loaded('gearbox')) {
    throw new \RuntimeException('Gearbox.php needs the gearbox extension (extension=gearbox.so)');
}

/** @internal Marks the objects a handler call lends out; dead once it returns. */
final class Borrow
{
    public bool $alive = true;
}

/** @internal */
function gone(string $what): ERR_INTERNAL_SERVER_ERROR
{
    return new ERR_INTERNAL_SERVER_ERROR(
        "this $what belongs to a handler call that has returned; copy what you need inside the handler"
    );
}

/** @internal An object (stdClass) for empty maps, so JSON sees {} and not []. */
function as_map($value): object|array
{
    if ($value === null || $value === []) {
        return new \stdClass();
    }
    if (!is_array($value) && !is_object($value)) {
        throw new ERR_BAD_REQUEST('expected an array of names and values');
    }
    return $value;
}

class HttpClient
{
    const METHOD_GET = \GBX_METHOD_GET;
    const METHOD_DELETE = \GBX_METHOD_DELETE;
    const METHOD_POST = \GBX_METHOD_POST;
    const METHOD_PUT = \GBX_METHOD_PUT;
    const METHOD_HEAD = \GBX_METHOD_HEAD;
    const METHOD_UNKNOWN = 5; // Gearbox's value; not a method the core knows
}

/** The component config (JSON with comments, config.d sections). */
class ConfigFile
{
    private $ptr;
    private bool $owned;
    private $parent; // keeps the Worker (owner of a borrowed config) alive

    /** new ConfigFile($path) loads a file; the Worker passes its own. */
    public function __construct($path, $ptr = null, $parent = null)
    {
        if ($ptr !== null) {
            $this->ptr = $ptr;
            $this->owned = false;
            $this->parent = $parent;
        } else {
            $this->ptr = \gbx_config_load((string)$path);
            $this->owned = true;
        }
    }

    public function __destruct()
    {
        if ($this->owned && $this->ptr !== null) {
            \gbx_config_free($this->ptr);
        }
        $this->ptr = null;
    }

    /** @internal */
    public function _ptr() { return $this->ptr; }

    private static function key(string $section, ?string $key): string
    {
        return $key === null ? $section : "$section.$key";
    }

    /** The value at a dotted path ("barn.state_dir"), or null. */
    public function get($path)
    {
        return \gbx_config_get($this->ptr, (string)$path);
    }

    public function get_string($section, $key = null)
    {
        $path = self::key($section, $key);
        $v = $this->get($path);
        if (!is_string($v)) {
            throw new ERR_NOT_FOUND("config: no string at \"$path\"");
        }
        return $v;
    }

    public function get_string_default($section, $key, $dflt = null)
    {
        if (func_num_args() == 2) { // get_string_default(key, dflt)
            return \gbx_config_get_string($this->ptr, (string)$section, $key === null ? null : (string)$key);
        }
        return \gbx_config_get_string($this->ptr, self::key($section, $key), $dflt === null ? null : (string)$dflt);
    }

    public function get_int($section, $key = null)
    {
        $path = self::key($section, $key);
        if ($this->get($path) === null) {
            throw new ERR_NOT_FOUND("config: no value at \"$path\"");
        }
        return \gbx_config_get_int($this->ptr, $path, 0);
    }

    public function get_int_default($section, $key, $dflt = null)
    {
        if (func_num_args() == 2) {
            return \gbx_config_get_int($this->ptr, (string)$section, (int)$key);
        }
        return \gbx_config_get_int($this->ptr, self::key($section, $key), (int)$dflt);
    }

    public function get_real($path, $dflt = 0.0)
    {
        return \gbx_config_get_real($this->ptr, (string)$path, (float)$dflt);
    }

    public function get_bool($path, $dflt = false)
    {
        return \gbx_config_get_bool($this->ptr, (string)$path, (bool)$dflt);
    }

    /** A path value resolved against the config file's directory. */
    public function get_path($path, $dflt = null)
    {
        return \gbx_config_get_path($this->ptr, (string)$path, $dflt === null ? null : (string)$dflt);
    }

    public function get_json($key)
    {
        return $this->get($key);
    }

    public function as_json()
    {
        return \gbx_config_root($this->ptr);
    }

    public function dir()
    {
        return \gbx_config_dir($this->ptr);
    }
}

/** A status object (DESIGN §3): the handler's own, or one fetched or created. */
class Status
{
    const STATE_UNKNOWN = \GBX_STATE_UNKNOWN;
    const STATE_PENDING = \GBX_STATE_PENDING;
    const STATE_RUNNING = \GBX_STATE_RUNNING;
    const STATE_COMPLETED = \GBX_STATE_COMPLETED;
    const STATE_STOPPING = \GBX_STATE_STOPPING;
    const STATE_STOPPED = \GBX_STATE_STOPPED;
    const STATE_CANCELLING = \GBX_STATE_CANCELLING;
    const STATE_CANCELLED = \GBX_STATE_CANCELLED;

    const EVENT_UNKNOWN = \GBX_STATUS_EVENT_UNKNOWN;
    const EVENT_PRECANCEL = \GBX_STATUS_EVENT_PRECANCEL;
    const EVENT_CANCEL = \GBX_STATUS_EVENT_CANCEL;

    private $ptr;
    private bool $owned = false;
    private ?Borrow $borrow = null;
    private $parent; // what keeps the store alive (a Worker, a StatusManager, a JobManager)
    private $keep = null; // the job whose status handle this is

    /** new Status($status) copies a status handle (re-read). */
    public function __construct($status = null)
    {
        if ($status instanceof Status) {
            if ($status->is_remote()) {
                $this->ptr = \gbx_jobmanager_status($status->_jm()->_ptr(), $status->uri());
            } else {
                $this->ptr = \gbx_status_fetch($status->store(), $status->name());
            }
            $this->owned = true;
            $this->parent = $status->parent;
        } elseif ($status !== null) {
            throw new ERR_BAD_REQUEST('new Status() takes a Status; use StatusManager::fetch() to read one');
        }
    }

    /** @internal $parent: a Worker, StatusManager or JobManager (keeps the
     * store alive, gives the job manager); $keep: the job it belongs to. */
    public static function _wrap($ptr, bool $owned, ?Borrow $borrow, $parent, $keep = null): Status
    {
        $s = new Status();
        $s->ptr = $ptr;
        $s->owned = $owned;
        $s->borrow = $borrow;
        $s->parent = $parent;
        $s->keep = $keep;
        return $s;
    }

    /** @internal The job manager of cancel(), parent(), remote statuses. */
    public function _jm(): JobManager
    {
        return $this->parent->_job_manager();
    }

    public function __destruct()
    {
        if ($this->owned && $this->ptr !== null) {
            \gbx_status_free($this->ptr);
        }
        $this->ptr = null;
    }

    /** @internal */
    public function _ptr()
    {
        if ($this->ptr === null || ($this->borrow !== null && !$this->borrow->alive)) {
            throw gone('Status');
        }
        return $this->ptr;
    }

    /** @internal */
    public function store()
    {
        return $this->parent->_store();
    }

    public function __toString(): string
    {
        return (string)$this->name();
    }

    /** The status id ("s-…"). */
    public function name() { return \gbx_status_id($this->_ptr()); }
    public function operation() { return \gbx_status_operation($this->_ptr()); }
    public function component() { return \gbx_status_component($this->_ptr()); }
    /** The resource the job works on. */
    public function resource_uri() { return \gbx_status_uri($this->_ptr()); }
    /** The status' own URI. */
    public function uri() { return \gbx_status_status_uri($this->_ptr()); }

    public function progress($progress = null)
    {
        if (func_num_args() == 0) {
            return \gbx_status_progress_value($this->_ptr());
        }
        \gbx_status_set_progress($this->_ptr(), (int)$progress);
    }

    public function add_message($message) { \gbx_status_add_message($this->_ptr(), (string)$message); }
    public function messages() { return \gbx_status_messages($this->_ptr()); }
    public function add_child($uri) { \gbx_status_add_child($this->_ptr(), (string)$uri); }
    public function children() { return \gbx_status_children($this->_ptr()); }

    /** meta() -> all; meta(k) -> one value; meta(k, v) sets; meta(array) sets each. */
    public function meta($key = null, $value = null)
    {
        $n = func_num_args();
        if ($n == 0) {
            return \gbx_status_meta($this->_ptr());
        }
        if ($n == 1 && is_array($key)) {
            foreach ($key as $k => $v) {
                \gbx_status_set_meta($this->_ptr(), (string)$k, $v);
            }
            return;
        }
        if ($n == 1) {
            $meta = \gbx_status_meta($this->_ptr());
            return $meta[$key] ?? null;
        }
        \gbx_status_set_meta($this->_ptr(), (string)$key, $value);
    }

    public function success() { \gbx_status_success($this->_ptr()); }

    public function fail($code, $message = null)
    {
        \gbx_status_fail($this->_ptr(), (int)$code, $message === null ? null : (string)$message);
    }

    public function code() { return \gbx_status_code($this->_ptr()); }
    public function failures() { return \gbx_status_failures($this->_ptr()); }
    public function concurrency() { return \gbx_status_concurrency($this->_ptr()); }
    public function ctime() { return (int)\gbx_status_ctime($this->_ptr()); }
    public function mtime() { return (int)\gbx_status_mtime($this->_ptr()); }

    public function ytime($t = null)
    {
        if (func_num_args() == 0) {
            return (int)\gbx_status_ytime($this->_ptr());
        }
        \gbx_status_set_ytime($this->_ptr(), (float)$t);
    }

    public function parent_uri() { return \gbx_status_parent_uri($this->_ptr()); }

    /** The parent status (a remote one when it lives in another service), or null. */
    public function parent()
    {
        $uri = $this->parent_uri();
        if ($uri === null || $uri === '') {
            return null;
        }
        return $this->_jm()->status($uri);
    }

    /** state() -> Status::STATE_*; state(STATE_*) moves the status there. */
    public function state($state = null)
    {
        if (func_num_args() == 0) {
            return \gbx_status_state($this->_ptr());
        }
        \gbx_status_set_state($this->_ptr(), (int)$state);
        return true;
    }

    public static function state2str($state) { return \gbx_state_name((int)$state); }
    public static function str2state($str) { $s = \gbx_state_from_name((string)$str); return $s < 0 ? self::STATE_UNKNOWN : $s; }

    /** Re-reads the status from the store. */
    public function sync() { \gbx_status_refresh($this->_ptr()); }
    public function has_completed() { return \gbx_status_has_completed($this->_ptr()); }
    public function is_success() { return \gbx_status_is_success($this->_ptr()); }

    /** The status object as JSON text. */
    public function serialize() { return \gbx_json_dump(\gbx_status_to_json($this->_ptr())); }
    public function as_array() { return \gbx_status_to_json($this->_ptr()); }

    /** Cancels the job of this status (stop, children, PRECANCEL / CANCEL
     * jobs); returns the cancel operation's own Status.  ERR_CONFLICT while
     * it is stopping or being cancelled already. */
    public function cancel()
    {
        return $this->_jm()->cancel($this->is_remote() ? $this->uri() : $this->name());
    }

    /** Re-reads the status; throws ERR_GONE when the job is being stopped or
     * cancelled (let it leave the handler: the job stops with 410). */
    public function checkpoint() { \gbx_status_checkpoint($this->_ptr()); }

    /** on(Status::EVENT_PRECANCEL | EVENT_CANCEL, $job): $job runs before a
     * cancellation (failing vetoes it) / as its compensation; null removes it. */
    public function on($event, $job = null)
    {
        if (is_string($event)) {
            $event = \gbx_status_event_from_name(strtoupper($event));
        }
        \gbx_status_on($this->_ptr(), (int)$event, $job === null ? null : \gbx_job_envelope($job->_ptr()));
    }

    /** The event jobs ['PRECANCEL' => ['name' => ..., 'envelope' => ...], 'CANCEL' => ...]. */
    public function events() { return \gbx_status_events($this->_ptr()); }

    /** True for a status of another service, read over HTTP (read-only). */
    public function is_remote() { return \gbx_status_is_remote($this->_ptr()); }

    /** Moves from $from to $to only if the status is in $from (ERR_CONFLICT otherwise). */
    public function transition($from, $to)
    {
        if (is_string($from)) {
            $from = self::str2state(strtoupper($from));
        }
        if (is_string($to)) {
            $to = self::str2state(strtoupper($to));
        }
        \gbx_status_transition($this->_ptr(), (int)$from, (int)$to);
    }

    /** Adds $delta to a named counter kept in the store; the new value. */
    public function counter_add($name, $delta = 1)
    {
        return \gbx_status_counter_add($this->_ptr(), (string)$name, (int)$delta);
    }

    /** Waits until the status has completed (ERR_GATEWAY_TIMEOUT after $timeout s; 0 = no limit). */
    public function wait($timeout = 0) { $this->_jm()->wait($this, $timeout); }
}

/** A job: the one a handler receives (read-only, valid during the call) or
 * one built in a worker (new Job($job), JobManager::job()). */
class Job
{
    const JOB_UNKNOWN = \GBX_JOB_UNKNOWN;
    const JOB_SYNC = \GBX_JOB_SYNC;
    const JOB_ASYNC = \GBX_JOB_ASYNC;

    const EVENT_UNKNOWN = \GBX_EVENT_UNKNOWN;
    const EVENT_COMPLETED = \GBX_EVENT_COMPLETED;
    const EVENT_FAILED = \GBX_EVENT_FAILED;
    const EVENT_SUCCEEDED = \GBX_EVENT_SUCCEEDED;
    const EVENT_STARTED = \GBX_EVENT_STARTED;
    const EVENT_STOPPED = \GBX_EVENT_STOPPED;
    const EVENT_CANCELLED = \GBX_EVENT_CANCELLED;

    private $ptr = null;       // gbx_job
    private bool $owned = false;
    private ?Borrow $borrow = null; // the job a handler receives (read-only)
    private $worker = null;
    private ?JobManager $jm = null;
    private ?Status $status = null;

    private static bool $bare = false;

    /** new Job($job): a copy of a job (same envelope, status id included:
     * running the copy continues that status); new Job(envelope array or
     * JSON text): a job over that envelope. */
    public function __construct($job = null)
    {
        if (self::$bare) {
            return;
        }
        if ($job instanceof Job) {
            $this->ptr = \gbx_job_copy($job->_ptr());
            $this->jm = $job->jm ?? ($job->worker !== null ? $job->worker->job_manager() : null);
        } elseif (is_array($job) || is_string($job)) {
            $env = \gbx_envelope_parse(is_string($job) ? $job : \gbx_json_dump($job));
            try {
                $this->ptr = \gbx_job_new($env);
            } finally {
                \gbx_envelope_free($env);
            }
        } elseif ($job === null) {
            $env = \gbx_envelope_new();
            try {
                $this->ptr = \gbx_job_new($env);
            } finally {
                \gbx_envelope_free($env);
            }
        } else {
            throw new ERR_BAD_REQUEST('new Job() takes a Job, an envelope array or envelope JSON text');
        }
        $this->owned = true;
    }

    private static function bare(): Job
    {
        self::$bare = true;
        try {
            return new Job();
        } finally {
            self::$bare = false;
        }
    }

    /** @internal The job a handler receives. */
    public static function _borrow($ptr, Borrow $borrow, $worker): Job
    {
        $j = self::bare();
        $j->ptr = $ptr;
        $j->borrow = $borrow;
        $j->worker = $worker;
        return $j;
    }

    /** @internal A job made by a job manager (owned). */
    public static function _made($ptr, JobManager $jm): Job
    {
        $j = self::bare();
        $j->ptr = $ptr;
        $j->jm = $jm;
        $j->owned = true;
        return $j;
    }

    public function __destruct()
    {
        if ($this->owned && $this->ptr !== null) {
            \gbx_job_free($this->ptr);
        }
        $this->ptr = null;
    }

    /** @internal */
    public function _ptr()
    {
        if ($this->ptr === null || ($this->borrow !== null && !$this->borrow->alive)) {
            throw gone('Job');
        }
        return $this->ptr;
    }

    /** @internal The job manager that runs this job. */
    public function _jm(): JobManager
    {
        if ($this->jm !== null) {
            return $this->jm;
        }
        if ($this->worker !== null) {
            return $this->worker->job_manager();
        }
        throw new ERR_INTERNAL_SERVER_ERROR(
            'this job has no job manager: make jobs with JobManager::job() or run them with JobManager::run($job)'
        );
    }

    /** The pointer of a job that may change: not the one a handler receives. */
    private function w()
    {
        $p = $this->_ptr();
        if ($this->borrow !== null) {
            throw new ERR_FORBIDDEN('the job a handler receives is read-only; change a copy: new Job($job)');
        }
        return $p;
    }

    private function field(string $field, array $args)
    {
        if (count($args) == 0) {
            return \gbx_envelope_get(\gbx_job_envelope($this->_ptr()), $field);
        }
        if ($field === 'name') {
            \gbx_job_set_name($this->w(), (string)$args[0]);
        } else {
            \gbx_job_set($this->w(), $field, $args[0] === null ? null : (string)$args[0]);
        }
        return $this;
    }

    private function collection(string $field, array $args, bool $map)
    {
        if (count($args) == 0) {
            return \gbx_envelope_get_json(\gbx_job_envelope($this->_ptr()), $field);
        }
        $v = $args[0];
        \gbx_job_set_json($this->w(), $field, $map ? as_map($v) : array_values((array)$v));
        return $this;
    }

    private function add_to(string $field, string $name, $value)
    {
        $all = \gbx_envelope_get_json(\gbx_job_envelope($this->w()), $field);
        $all[$name] = (string)$value;
        \gbx_job_set_json($this->w(), $field, as_map($all));
        return $this;
    }

    public function content($content = null)
    {
        if (func_num_args() == 0) {
            return \gbx_job_content($this->_ptr());
        }
        \gbx_job_set_content($this->w(), (string)$content);
        return $this;
    }

    /** The body parsed as JSON (objects as arrays), validated against the
     * handler's schema, defaults filled in. */
    public function json_content()
    {
        return \gbx_job_json_content($this->_ptr());
    }

    public function arguments(...$a)
    {
        return count($a) ? $this->collection('arguments', $a, false) : \gbx_job_arguments($this->_ptr());
    }

    public function add_argument($arg)
    {
        \gbx_job_add_argument($this->w(), (string)$arg);
        return $this;
    }

    public function matrix_arguments(...$a)
    {
        return count($a) ? $this->collection('matrix_arguments', $a, true) : \gbx_job_matrix_arguments($this->_ptr());
    }
    public function add_matrix_argument($name, $value) { return $this->add_to('matrix_arguments', (string)$name, $value); }

    public function query_params(...$a)
    {
        return count($a) ? $this->collection('query_params', $a, true) : \gbx_job_query_params($this->_ptr());
    }
    public function add_query_param($name, $value) { return $this->add_to('query_params', (string)$name, $value); }

    public function headers(...$a)
    {
        return count($a) ? $this->collection('headers', $a, true) : \gbx_job_headers($this->_ptr());
    }
    public function add_header($name, $value) { return $this->add_to('headers', strtolower((string)$name), $value); }

    public function environ(...$a)
    {
        return count($a) ? $this->collection('environ', $a, true) : \gbx_job_environ($this->_ptr());
    }
    public function add_environ($name, $value) { return $this->add_to('environ', (string)$name, $value); }

    /** The handler (Gearman function) name; name($new) renames a copy. */
    public function name(...$a) { return count($a) ? $this->field('name', $a) : \gbx_job_name($this->_ptr()); }
    public function operation(...$a) { return count($a) ? $this->field('operation', $a) : \gbx_job_operation($this->_ptr()); }
    public function component(...$a) { return count($a) ? $this->field('component', $a) : \gbx_job_component($this->_ptr()); }
    public function resource_type(...$a) { return count($a) ? $this->field('resource.type', $a) : \gbx_job_resource_type($this->_ptr()); }
    public function resource_name(...$a) { return count($a) ? $this->field('resource.name', $a) : \gbx_job_resource_name($this->_ptr()); }
    public function base_uri(...$a) { return count($a) ? $this->field('base_uri', $a) : \gbx_job_base_uri($this->_ptr()); }
    public function parent_uri(...$a) { return $this->field('parent_uri', $a); }
    public function remote_ip(...$a) { return count($a) ? $this->field('remote.ip', $a) : \gbx_job_remote_ip($this->_ptr()); }
    public function remote_user(...$a) { return count($a) ? $this->field('remote.user', $a) : \gbx_job_remote_user($this->_ptr()); }
    public function remote_scopes(...$a) { return count($a) ? $this->field('remote.scopes', $a) : \gbx_job_remote_scopes($this->_ptr()); }
    /** W3C trace context: traceparent and tracestate (settable on copies), the trace-id alone. */
    public function traceparent(...$a) { return count($a) ? $this->field('traceparent', $a) : \gbx_job_traceparent($this->_ptr()); }
    public function tracestate(...$a) { return count($a) ? $this->field('tracestate', $a) : \gbx_job_tracestate($this->_ptr()); }
    public function trace_id() { return \gbx_job_trace_id($this->_ptr()); }
    public function resource_uri() { return \gbx_job_resource_uri($this->_ptr()); }
    public function api_version() { return \gbx_job_api_version($this->_ptr()); }

    /** Job::JOB_SYNC or Job::JOB_ASYNC; type(JOB_*) sets it on a copy. */
    public function type($type = null)
    {
        if (func_num_args() == 0) {
            return \gbx_job_kind_of($this->_ptr());
        }
        if ($type != self::JOB_SYNC && $type != self::JOB_ASYNC) {
            throw new ERR_BAD_REQUEST('job type must be Job::JOB_SYNC or Job::JOB_ASYNC');
        }
        \gbx_job_set_type($this->w(), (int)$type);
        return $this;
    }

    /** The job's Status (null for a sync job, and for a job built here until
     * it has run); prints as its id. */
    public function status()
    {
        if ($this->borrow === null) {
            $p = \gbx_job_status($this->_ptr());
            return $p === null ? null : Status::_wrap($p, false, null, $this->_jm(), $this);
        }
        if ($this->status === null) {
            $p = \gbx_job_status($this->_ptr());
            if ($p === null) {
                return null;
            }
            $this->status = Status::_wrap($p, false, $this->borrow, $this->worker);
        }
        $this->_ptr();
        return $this->status;
    }

    /** The Status (local or remote) of the job whose event started this one, or null. */
    public function event_status()
    {
        $uri = \gbx_job_event_status($this->_ptr());
        return ($uri === null || $uri === '') ? null : $this->_jm()->status($uri);
    }

    /** The envelope as JSON text. */
    public function serialize() { return \gbx_envelope_serialize(\gbx_job_envelope($this->_ptr())); }

    /** REST jobs (JobManager::job(HttpClient::METHOD_*, uri)). */
    public function is_rest() { return \gbx_job_is_rest($this->_ptr()); }
    public function rest_method() { return \gbx_job_rest_method($this->_ptr()); }
    public function rest_uri() { return \gbx_job_rest_uri($this->_ptr()); }

    /** on(Job::EVENT_*, $job): $job runs (event_status set) when this job's
     * status reaches the event; null removes it. */
    public function on($event, $job = null)
    {
        if (is_string($event)) {
            $event = \gbx_job_event_from_name(strtoupper($event));
        }
        \gbx_job_on($this->w(), (int)$event, $job === null ? null : $job->_ptr());
        return $this;
    }

    /** Runs the job: a sync job's answer, an async job's 202 (its status a
     * child of the current job's), a REST job's HTTP answer.  A JobResponse
     * whose status() is the started job's status. */
    public function run() { return $this->_jm()->run($this); }
}

/** What a handler answers, or what a run job answered. */
class JobResponse
{
    private $ptr;
    private ?Borrow $borrow;
    private ?Job $job;
    private ?JobManager $jm = null;
    private ?Status $local = null; // a sync handler's throw-away status

    /** @internal */
    public function __construct($ptr, ?Borrow $borrow, ?Job $job, ?JobManager $jm = null)
    {
        $this->ptr = $ptr;
        $this->borrow = $borrow;
        $this->job = $job;
        $this->jm = $jm;
    }

    public function __destruct()
    {
        if ($this->jm !== null && $this->ptr !== null) {
            \gbx_response_free($this->ptr);
        }
        $this->ptr = null;
    }

    private function p()
    {
        if ($this->borrow !== null && !$this->borrow->alive) {
            throw gone('JobResponse');
        }
        return $this->ptr;
    }

    public function content($content = null)
    {
        if (func_num_args() == 0) {
            return \gbx_response_content($this->p());
        }
        \gbx_response_set_content($this->p(), (string)$content);
    }

    /** The body parsed as JSON (null when empty). */
    public function json_content()
    {
        $c = $this->content();
        return ($c === null || $c === '') ? null : \gbx_json_parse($c);
    }

    public function add_header($name, $value) { \gbx_response_add_header($this->p(), (string)$name, (string)$value); }

    /** headers() -> all; headers(array) adds each. */
    public function headers($headers = null)
    {
        if (func_num_args() == 0) {
            return \gbx_response_headers($this->p());
        }
        foreach ((array)$headers as $k => $v) {
            $this->add_header($k, $v);
        }
    }

    /** code() -> the code (0 = 200); code(n) sets it. */
    public function code($code = null)
    {
        if (func_num_args() == 0) {
            return \gbx_response_code($this->p());
        }
        \gbx_response_set_code($this->p(), (int)$code);
    }

    /** The status_uri of the async job this answers (202), or null. */
    public function status_uri() { return \gbx_response_status_uri($this->p()); }

    /** A handler's response: its job's status; for a sync job the worker's
     * throw-away status (id "st-...", in memory, never stored), as Gearbox's
     * transient one.  The answer of a run job: the started job's status
     * (local or remote), or null. */
    public function status()
    {
        $p = $this->p();
        if ($this->jm !== null) {
            $uri = $this->status_uri();
            return ($uri === null || $uri === '') ? null : $this->jm->status($uri);
        }
        if ($this->local === null) {
            $local = \gbx_response_status($p);
            if ($local === null) {
                return $this->job->status();
            }
            // Borrowed like the job: it ends with the handler's call.
            $this->local = Status::_wrap($local, false, $this->borrow, null, $this->job);
        }
        return $this->local;
    }
}

/** Makes and runs jobs (the C job manager): jobs for handlers, REST jobs,
 * delays, retries, job queues, statuses local or remote, cancellation.
 * new JobManager($worker) is the worker's own; new JobManager($config_path
 * or ConfigFile) makes one over a config and its status store. */
class JobManager
{
    private $ptr;
    private bool $owned = false;
    private $store = null;     // a store opened here
    private $parent = null;    // the Worker whose job manager this is
    private ?ConfigFile $cfg = null;
    private ?string $parent_uri = null;
    private ?string $base_uri = null;

    public function __construct($source)
    {
        if ($source instanceof Worker) {
            $this->parent = $source;
            $this->cfg = $source->cfg();
            $this->ptr = \gbx_worker_job_manager($source->_ptr());
            return;
        }
        $this->cfg = $source instanceof ConfigFile ? $source : new ConfigFile((string)$source);
        $section = $this->cfg->get('status');
        if ($section !== null) {
            $this->store = \gbx_store_open($section, $this->cfg->dir());
        }
        try {
            $this->ptr = \gbx_jobmanager_new($this->cfg->_ptr(), $this->store);
        } catch (\Throwable $e) {
            if ($this->store !== null) {
                \gbx_store_free($this->store);
                $this->store = null;
            }
            throw $e;
        }
        $this->owned = true;
    }

    public function __destruct()
    {
        if ($this->owned && $this->ptr !== null) {
            \gbx_jobmanager_free($this->ptr);
        }
        if ($this->store !== null) {
            \gbx_store_free($this->store);
        }
        $this->ptr = null;
        $this->store = null;
    }

    /** @internal */
    public function _ptr() { return $this->ptr; }
    /** @internal */
    public function _store() { return \gbx_jobmanager_store($this->ptr); }
    /** @internal */
    public function _job_manager(): JobManager { return $this; }

    public function cfg() { return $this->cfg; }

    /** Jobs made here get this parent_uri (as Gearbox; inside a handler the
     * handler's status is the parent anyway). */
    public function parent_uri($uri) { $this->parent_uri = $uri === null ? null : (string)$uri; }

    /** The base URI of new jobs when no handler is running. */
    public function base_uri($uri)
    {
        $this->base_uri = $uri === null ? null : (string)$uri;
        \gbx_jobmanager_set_base_uri($this->ptr, $this->base_uri);
    }

    /** Whether a handler of this name is in the config's handlers list. */
    public function known_job_name($name)
    {
        return in_array((string)$name, (array)$this->cfg->get('handlers'), true);
    }

    private function made($ptr): Job
    {
        $job = Job::_made($ptr, $this);
        if ($this->parent_uri !== null) {
            $job->parent_uri($this->parent_uri);
        }
        return $job;
    }

    /** job(name): a new async job for handler `name` (known to gearmand or in
     * the config's handlers); job(name, envelope): a copy of an envelope
     * (array, JSON text or Job) renamed; job(HttpClient::METHOD_*, uri): a
     * REST job. */
    public function job($name_or_method, $envelope_or_uri = null)
    {
        if (is_int($name_or_method)) {
            if ($envelope_or_uri === null) {
                throw new ERR_BAD_REQUEST('job(method, uri): the uri is missing');
            }
            return $this->made(\gbx_jobmanager_rest_job($this->ptr, $name_or_method, (string)$envelope_or_uri));
        }
        $name = (string)$name_or_method;
        if ($envelope_or_uri === null) {
            return $this->made(\gbx_jobmanager_job($this->ptr, $name));
        }
        if ($envelope_or_uri instanceof Job) {
            return $this->made(\gbx_jobmanager_job_from_envelope($this->ptr, $name,
                \gbx_job_envelope($envelope_or_uri->_ptr())));
        }
        $env = \gbx_envelope_parse(is_string($envelope_or_uri) ? $envelope_or_uri : \gbx_json_dump($envelope_or_uri));
        try {
            return $this->made(\gbx_jobmanager_job_from_envelope($this->ptr, $name, $env));
        } finally {
            \gbx_envelope_free($env);
        }
    }

    public static function gen_id($prefix) { return \gbx_jobmanager_gen_id((string)$prefix); }

    /** What $job->run() does. */
    public function run(Job $job)
    {
        return new JobResponse(\gbx_jobmanager_run($this->ptr, $job->_ptr()), null, null, $this);
    }

    /** Runs an async job $seconds later (its status shows ytime); its 202 response. */
    public function delay($job, $seconds)
    {
        return new JobResponse(\gbx_jobmanager_delay($this->ptr, $job->_ptr(), (float)$seconds), null, null, $this);
    }

    /** Runs the job (which has a status) again after a Fibonacci pause
     * capped at $max_delay s, plus up to $max_jitter s when the pause is
     * above it, as Gearbox's retry (null: jobs.retry_max_delay 300,
     * jobs.retry_max_jitter 15); throws the final error once
     * jobs.retry_max_attempts (25; 0 = no limit) are used up. */
    public function retry($job, $max_delay = null, $max_jitter = null)
    {
        \gbx_jobmanager_retry($this->ptr, $job->_ptr(), $max_delay === null ? 0.0 : (float)$max_delay,
                              $max_jitter === null ? -1.0 : (float)$max_jitter);
    }

    /** A status by id or uri: from the store, or read over HTTP (read-only)
     * when it belongs to another service. */
    public function status($id_or_uri)
    {
        return Status::_wrap(\gbx_jobmanager_status($this->ptr, (string)$id_or_uri), true, null, $this);
    }

    /** Waits until $status has completed (ERR_GATEWAY_TIMEOUT after $timeout s; 0 = no limit). */
    public function wait(Status $status, $timeout = 0)
    {
        \gbx_jobmanager_wait($this->ptr, $status->_ptr(), (float)$timeout);
    }

    /** Cancels a status (id, uri or Status); the cancel operation's Status. */
    public function cancel($what)
    {
        if ($what instanceof Status) {
            $what = $what->is_remote() ? $what->uri() : $what->name();
        }
        return Status::_wrap(\gbx_jobmanager_cancel($this->ptr, (string)$what), true, null, $this);
    }

    /** Its waiting job runs at $ytime (unix seconds); the status. */
    public function reschedule($what, $ytime)
    {
        return Status::_wrap(\gbx_jobmanager_reschedule($this->ptr, (string)$what, (float)$ytime), true, null, $this);
    }

    /** One scheduler step: [jobs submitted, next due time or 0]. */
    public function run_due() { return \gbx_jobmanager_run_due($this->ptr); }

    /** Agents levelled by dependency, as in Gearbox: Gearbox's form
     * [handler => ['require' => [handlers], 'type' => 'SYNC', 'method' =>
     * 'PUT', 'uri' => ...]] (a method makes a REST job, to uri or else to
     * the key) or [['name' => handler, 'require' => [...]], ...].  A plain
     * array of levels, each an array of the Jobs that run in parallel.  Change it as you like before
     * job_queue_run (array_push($q[1], $job), add, remove, reorder levels). */
    public function job_queue($agents)
    {
        $q = \gbx_jobmanager_job_queue($this->ptr, $agents);
        try {
            $levels = [];
            for ($k = 0; $k < \gbx_job_queue_levels($q); $k++) {
                $level = [];
                for ($i = 0; $i < \gbx_job_queue_level_size($q, $k); $i++) {
                    $level[] = $this->made(\gbx_job_copy(\gbx_job_queue_job($q, $k, $i)));
                }
                $levels[] = $level;
            }
            return $levels;
        } finally {
            \gbx_job_queue_free($q);
        }
    }

    /** Runs what the levels of $queue (an array of arrays of Jobs, from
     * job_queue or not) hold now, level after level (a level's jobs in
     * parallel, children of the current status; empty levels are skipped);
     * throws the first failure, ERR_GATEWAY_TIMEOUT after $timeout s. */
    public function job_queue_run($queue, $timeout = 0)
    {
        $bad = 'job_queue_run needs a queue: an array of levels, each an array of Jobs';
        if (!is_iterable($queue)) {
            throw new ERR_BAD_REQUEST($bad);
        }
        $q = \gbx_job_queue_new();
        try {
            foreach ($queue as $level) {
                if (!is_iterable($level)) {
                    throw new ERR_BAD_REQUEST($bad);
                }
                $k = \gbx_job_queue_levels($q);
                foreach ($level as $job) {
                    if (!$job instanceof Job) {
                        throw new ERR_BAD_REQUEST($bad . ', not ' . get_debug_type($job));
                    }
                    \gbx_job_queue_add($q, $k, $job->_ptr());
                }
            }
            \gbx_jobmanager_job_queue_run($this->ptr, $q, (float)$timeout);
        } finally {
            \gbx_job_queue_free($q);
        }
    }

    /** Calls $job->$function($data) on every job of a queue (levels of jobs). */
    public function job_queue_apply($queue, $function, $data)
    {
        foreach ($queue as $level) {
            foreach ($level as $job) {
                if (!method_exists($job, $function)) {
                    throw new ERR_INTERNAL_SERVER_ERROR('object of type ' . get_class($job) . " does not have member function $function");
                }
                $job->$function($data);
            }
        }
    }
}

/** Creates and reads statuses in the worker's store. */
class StatusManager
{
    private $worker;
    private ?string $base_uri = null;

    public function __construct($worker)
    {
        $this->worker = $worker;
    }

    /** @internal */
    public function _store() { return $this->worker->_store(); }
    /** @internal */
    public function _job_manager(): JobManager { return $this->worker->job_manager(); }

    public function base_uri($uri) { $this->base_uri = (string)$uri; }

    public function create($name, $operation, $resource_uri = '', $component = 'internal')
    {
        $ptr = \gbx_php_status_create(
            $this->worker->_store(),
            ($name === null || $name === '') ? null : (string)$name,
            (string)$operation,
            (string)$component,
            $resource_uri === '' ? null : (string)$resource_uri,
            $this->base_uri === null ? null : $this->base_uri . '/status',
            null, null, null
        );
        return Status::_wrap($ptr, true, null, $this);
    }

    /** fetch(id | status uri | Job | Status) */
    public function fetch($what)
    {
        if ($what instanceof Job) {
            $s = $what->status();
            if ($s === null) {
                throw new ERR_NOT_FOUND('a sync job has no status');
            }
            $what = $s->name();
        } elseif ($what instanceof Status) {
            $what = $what->name();
        } elseif (is_array($what)) {
            $what = $what['status_uri'] ?? ($what['name'] ?? '');
        }
        return Status::_wrap(\gbx_status_fetch($this->worker->_store(), (string)$what), true, null, $this);
    }

    /** Statuses matching a filter (uri, state, operation, component, code,
     * progress, _count), newest first. */
    public function collection(array $filter = [])
    {
        $ids = \gbx_php_status_list(
            $this->worker->_store(),
            isset($filter['uri']) ? (string)$filter['uri'] : null,
            isset($filter['state']) ? (string)$filter['state'] : null,
            isset($filter['operation']) ? (string)$filter['operation'] : null,
            isset($filter['component']) ? (string)$filter['component'] : null,
            null,
            isset($filter['code']) ? (int)$filter['code'] : -1,
            isset($filter['progress']) ? (int)$filter['progress'] : -1,
            (int)($filter['_count'] ?? $filter['count'] ?? 0)
        );
        $out = [];
        foreach ($ids as $id) {
            $out[] = $this->fetch($id);
        }
        return $out;
    }
}

/** A worker: register handlers, then run(). */
class Worker
{
    const WORKER_SUCCESS = \GBX_WORKER_SUCCESS;
    const WORKER_ERROR = \GBX_WORKER_ERROR;
    const WORKER_CONTINUE = \GBX_WORKER_CONTINUE;
    const WORKER_RETRY = \GBX_WORKER_RETRY;

    private $ptr;
    private array $handlers = [];
    private ?Job $current = null;

    /** new Worker($path), or new Worker($argv): the core picks the config out
     * of the program's arguments as every worker takes it (PROG CONFIG,
     * PROG --config CONFIG, PROG --config=CONFIG). */
    public function __construct($config)
    {
        \gbx_php_log_default();
        $args = is_array($config) ? array_values($config) : (string)$config;
        $this->ptr = \gbx_worker_new(\gbx_config_path_from_args($args));
        \gbx_php_worker_hooks($this->ptr, $this);
    }

    public function __destruct()
    {
        if ($this->ptr !== null) {
            \gbx_php_worker_free($this->ptr);
            $this->ptr = null;
        }
    }

    /** @internal */
    public function _store() { return \gbx_worker_store($this->ptr); }
    /** @internal */
    public function _ptr() { return $this->ptr; }
    /** @internal */
    public function _job_manager(): JobManager { return $this->job_manager(); }

    /** register_handler(name): the method of that name handles it;
     * register_handler(name, callable|method name). */
    public function register_handler($name, $function = null)
    {
        $name = (string)$name;
        $function = $function ?? $name;
        if (is_string($function) && !is_callable($function) && !method_exists($this, $function)) {
            throw new ERR_INTERNAL_SERVER_ERROR("handler $function does not exist in class " . get_class($this));
        }
        if (!is_string($function) && !is_callable($function)) {
            throw new ERR_BAD_REQUEST("handler for $name is not callable");
        }
        $this->handlers[$name] = $function;
        \gbx_php_worker_register($this->ptr, $name, $this);
    }

    /** Serves jobs until stop(), SIGTERM/SIGINT or max_requests. */
    public function run() { \gbx_php_worker_run($this->ptr); }

    /** Serves at most one job; true if one came. */
    public function work_once($timeout_ms = 1000) { return \gbx_php_worker_work_once($this->ptr, (int)$timeout_ms); }

    /** Sends the library's log to a file (appended; null = stderr) and sets
     * its level ("debug", "info", "warn", "error"). */
    public static function log_to($file = null, $level = null)
    {
        if ($level !== null) {
            $l = \gbx_log_level_from_name((string)$level);
            if ($l < 0) {
                throw new ERR_BAD_REQUEST("unknown log level \"$level\"");
            }
            \gbx_log_set_level($l);
        }
        \gbx_php_log_to_file($file === null ? null : (string)$file);
    }

    /** A line in the library's log, at GBX_LOG_INFO unless told. */
    public static function log($message, $level = \GBX_LOG_INFO) { \gbx_php_log((int)$level, (string)$message); }

    public function stop() { \gbx_worker_stop($this->ptr); }

    public function max_requests($n) { \gbx_worker_set_max_requests($this->ptr, (int)$n); }

    /** Whether the job of handler $name runs again when its worker dies in
     * the middle of it (true, the default: at least once) or fails with 500
     * "worker died" (false: for handlers that must never run twice). */
    public function set_retryable($name, $retryable = true)
    {
        \gbx_worker_set_retryable($this->ptr, (string)$name, (bool)$retryable);
    }
    public function request_count() { return \gbx_worker_request_count($this->ptr); }

    public function cfg() { return new ConfigFile(null, \gbx_worker_config($this->ptr), $this); }
    public function job_manager() { return new JobManager($this); }
    public function status_manager() { return new StatusManager($this); }

    /** Called before / after every handler; override them. */
    public function pre_request($job) {}
    public function post_request($job) {}

    /** afterwards($job[, $name][, $delay]): once the current handler has
     * returned (not if it failed), a copy of $job - renamed to $name if given
     * - runs, $delay seconds later if > 0.  A copy of the current job shares
     * its status: return WORKER_CONTINUE to leave it open.
     * afterwards($job, 5) is a delay without a name. */
    public function afterwards($job, $name_or_delay = null, $delay = null)
    {
        $name = $name_or_delay;
        if ($delay === null && (is_int($name_or_delay) || is_float($name_or_delay))) {
            $name = null;
            $delay = $name_or_delay;
        }
        \gbx_worker_afterwards($this->ptr, $job->_ptr(), $name === null ? null : (string)$name, (float)($delay ?? 0));
    }

    /** Forgets what afterwards() queued during the current handler. */
    public function clear_afterwards() { \gbx_worker_clear_afterwards($this->ptr); }

    /** Serves $name with the built-in agents runner: content {"agents": [...],
     * "content": ...}; the agents run level after level as children of its status. */
    public function register_agents($name = 'do_run_global_agents_v1')
    {
        \gbx_worker_register_agents($this->ptr, (string)$name);
        $this->handlers[(string)$name] = null;
    }

    /** @internal Called by the C trampoline for every job. */
    public function _gbx_dispatch($rawjob, $rawresp)
    {
        $borrow = new Borrow();
        try {
            $job = Job::_borrow($rawjob, $borrow, $this);
            $resp = new JobResponse($rawresp, $borrow, $job);
            $name = $job->name();
            $h = $this->handlers[$name] ?? null;
            if ($h === null) {
                throw new ERR_NOT_FOUND("no handler registered for $name");
            }
            $r = (is_string($h) && method_exists($this, $h)) ? $this->$h($job, $resp) : $h($job, $resp);
            if ($r === null) {
                return self::WORKER_SUCCESS;
            }
            if (is_int($r) && $r >= self::WORKER_SUCCESS && $r <= self::WORKER_RETRY) {
                return $r;
            }
            throw new ERR_INTERNAL_SERVER_ERROR(
                "handler $name returned " . var_export($r, true) . ', not a Worker::WORKER_* value'
            );
        } finally {
            $borrow->alive = false;
        }
    }

    /** @internal Called by the C trampoline around every handler. */
    public function _gbx_hook($phase, $rawjob)
    {
        $borrow = new Borrow();
        try {
            $job = Job::_borrow($rawjob, $borrow, $this);
            if ($phase === 'pre') {
                $this->pre_request($job);
            } else {
                $this->post_request($job);
            }
        } finally {
            $borrow->alive = false;
        }
    }
}

} // namespace Gearbox

namespace {
    foreach (['Worker', 'Job', 'JobResponse', 'Status', 'JobManager', 'StatusManager', 'ConfigFile', 'HttpClient']
             as $gearbox_class) {
        if (!class_exists($gearbox_class, false)) {
            class_alias("Gearbox\\$gearbox_class", $gearbox_class);
        }
    }
    unset($gearbox_class);
}

// ---- StopWatch and Scoreboard (worker metrics; core/include/gearbox/scoreboard.h) ----

namespace Gearbox {

/** Gearbox's StopWatch on the core's monotonic clock: start(), stop()
 *  (returns the seconds between them), elapsed() (so far, while it runs). */
class StopWatch
{
    /** @internal the C handle */
    public $sw;

    public function __construct()
    {
        $this->sw = \gbx_stopwatch_new();
    }

    public function __destruct()
    {
        if ($this->sw !== null) {
            \gbx_stopwatch_free($this->sw);
            $this->sw = null;
        }
    }

    /** Starts timing from zero (a running stopwatch restarts). */
    public function start(): void
    {
        \gbx_stopwatch_start($this->sw);
    }

    /** Stops timing; the seconds between start and stop. */
    public function stop(): float
    {
        return \gbx_stopwatch_stop($this->sw);
    }

    /** Seconds between start and stop, or until now while it runs. */
    public function elapsed(): float
    {
        return \gbx_stopwatch_elapsed($this->sw);
    }

    public function running(): bool
    {
        return (bool)\gbx_stopwatch_running($this->sw);
    }
}

/** Gearbox's Scoreboard: per-component worker metrics (counters and
 *  durations) kept in memory by the core, one scoreboard per component,
 *  thread-safe.  Scoreboard::initialize($component) makes one current,
 *  Scoreboard::get_scoreboard() (or get_scoreboard()) returns it, and
 *  Scoreboard::snapshot() gives every scoreboard of the process (the
 *  document a metrics endpoint exports; docs/worker.md). */
class Scoreboard
{
    private string $component;

    public function __construct(string $component)
    {
        $this->component = $component;
    }

    /** Makes $component's scoreboard the current one; returns it. */
    public static function initialize($component): Scoreboard
    {
        \gbx_scoreboard_initialize((string)$component);
        return new Scoreboard((string)$component);
    }

    /** The current scoreboard (ERR_PRECONDITION_FAILED before initialize). */
    public static function get_scoreboard(): Scoreboard
    {
        return new Scoreboard(\gbx_scoreboard_component());
    }

    /** Every scoreboard of the process: ['components' => [name => ['counters' => ..., 'durations' => ...]]]. */
    public static function snapshot(): array
    {
        return json_decode(\gbx_scoreboard_snapshot(), true);
    }

    public function component(): string
    {
        return $this->component;
    }

    /** Adds 1 to counter $name of $group. */
    public function increment_counter($group, $name): void
    {
        \gbx_scoreboard_increment_counter($this->component, (string)$group, (string)$name);
    }

    /** Adds $n (may be negative); returns the new value. */
    public function add_counter($group, $name, int $n): int
    {
        return \gbx_scoreboard_add_counter($this->component, (string)$group, (string)$name, $n);
    }

    /** The value of counter $name of $group (0 if never counted). */
    public function counter($group, $name): int
    {
        return \gbx_scoreboard_counter($this->component, (string)$group, (string)$name);
    }

    /** Records the stopwatch's reading as one sample of duration $metric of
     *  ($group, $name): count, total, min, max, and per UTC hour. */
    public function update_duration_hours($group, $name, $metric, StopWatch $sw): void
    {
        \gbx_scoreboard_update_duration_hours($this->component, (string)$group, (string)$name,
                                              (string)$metric, $sw->sw);
    }

    /** The same with a number of seconds. */
    public function update_duration($group, $name, $metric, float $seconds): void
    {
        \gbx_scoreboard_update_duration($this->component, (string)$group, (string)$name,
                                        (string)$metric, $seconds);
    }
}

/** The current scoreboard (Scoreboard::get_scoreboard()). */
function get_scoreboard(): Scoreboard
{
    return Scoreboard::get_scoreboard();
}

} // namespace Gearbox

namespace {
    foreach (['StopWatch', 'Scoreboard'] as $gearbox_class) {
        if (!class_exists($gearbox_class, false)) {
            class_alias("Gearbox\\$gearbox_class", $gearbox_class);
        }
    }
    unset($gearbox_class);
    if (!function_exists('get_scoreboard')) {
        /** The current scoreboard, as Gearbox's PHP workers call it. */
        function get_scoreboard(): \Gearbox\Scoreboard
        {
            return \Gearbox\Scoreboard::get_scoreboard();
        }
    }
}
