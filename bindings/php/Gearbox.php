<?php
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
    private $parent; // what keeps the store alive (a Worker or a StatusManager)

    /** new Status($status) copies a status handle (re-read from the store). */
    public function __construct($status = null)
    {
        if ($status instanceof Status) {
            $this->ptr = \gbx_status_fetch($status->store(), $status->name());
            $this->owned = true;
            $this->parent = $status->parent;
        } elseif ($status !== null) {
            throw new ERR_BAD_REQUEST('new Status() takes a Status; use StatusManager::fetch() to read one');
        }
    }

    /** @internal */
    public static function _wrap($ptr, bool $owned, ?Borrow $borrow, $parent): Status
    {
        $s = new Status();
        $s->ptr = $ptr;
        $s->owned = $owned;
        $s->borrow = $borrow;
        $s->parent = $parent;
        return $s;
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

    /** The parent status, or null. */
    public function parent()
    {
        $uri = $this->parent_uri();
        if ($uri === null || $uri === '') {
            return null;
        }
        return Status::_wrap(\gbx_status_fetch($this->store(), $uri), true, null, $this->parent);
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

    public function cancel()
    {
        throw new ERR_NOT_IMPLEMENTED('Status::cancel() needs the orchestration work ([C]); not available yet');
    }

    public function checkpoint()
    {
        throw new ERR_NOT_IMPLEMENTED('Status::checkpoint() needs the orchestration work ([C]); not available yet');
    }

    public function on($event, $job)
    {
        throw new ERR_NOT_IMPLEMENTED('Status::on() needs the orchestration work ([C]); not available yet');
    }
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

    private $ptr;          // gbx_job
    private $env = null;   // gbx_envelope of a job built here (owned)
    private ?Borrow $borrow = null;
    private $worker = null;
    private ?Status $status = null;

    /** new Job($job): a copy of a job, to change and run. */
    private static bool $borrowing = false;

    public function __construct($job = null)
    {
        if (self::$borrowing) {
            return;
        }
        if ($job instanceof Job) {
            $this->env = \gbx_envelope_copy(\gbx_job_envelope($job->_ptr()));
            $this->worker = $job->worker;
        } elseif (is_array($job) || is_string($job)) {
            $text = is_string($job) ? $job : \gbx_json_dump($job);
            $this->env = \gbx_envelope_parse($text);
        } elseif ($job === null) {
            $this->env = \gbx_envelope_new();
        } else {
            throw new ERR_BAD_REQUEST('new Job() takes a Job, an envelope array or envelope JSON text');
        }
    }

    /** @internal The job a handler receives. */
    public static function _borrow($ptr, Borrow $borrow, $worker): Job
    {
        self::$borrowing = true;
        try {
            $j = new Job();
        } finally {
            self::$borrowing = false;
        }
        $j->ptr = $ptr;
        $j->borrow = $borrow;
        $j->worker = $worker;
        return $j;
    }

    public function __destruct()
    {
        if ($this->env !== null) {
            if ($this->ptr !== null) {
                \gbx_job_free($this->ptr);
            }
            \gbx_envelope_free($this->env);
        }
        $this->ptr = null;
        $this->env = null;
    }

    /** @internal */
    public function _ptr()
    {
        if ($this->borrow !== null && !$this->borrow->alive) {
            throw gone('Job');
        }
        if ($this->ptr === null) {
            if ($this->env === null) {
                throw gone('Job');
            }
            $this->ptr = \gbx_job_new($this->env);
        }
        return $this->ptr;
    }

    /** A setter: only for jobs built in the worker. */
    private function env()
    {
        if ($this->env === null) {
            if ($this->borrow !== null && !$this->borrow->alive) {
                throw gone('Job');
            }
            throw new ERR_FORBIDDEN('the job a handler receives is read-only; change a copy: new Job($job)');
        }
        if ($this->ptr !== null) { // rebuilt from the changed envelope on next read
            \gbx_job_free($this->ptr);
            $this->ptr = null;
        }
        return $this->env;
    }

    private function field(string $field, array $args)
    {
        if (count($args) == 0) {
            return \gbx_envelope_get(\gbx_job_envelope($this->_ptr()), $field);
        }
        \gbx_envelope_set($this->env(), $field, $args[0] === null ? null : (string)$args[0]);
        return $this;
    }

    private function collection(string $field, array $args, bool $map)
    {
        if (count($args) == 0) {
            return \gbx_envelope_get_json(\gbx_job_envelope($this->_ptr()), $field);
        }
        $v = $args[0];
        \gbx_envelope_set_json($this->env(), $field, $map ? as_map($v) : array_values((array)$v));
        return $this;
    }

    private function add_to(string $field, string $name, $value)
    {
        $all = \gbx_envelope_get_json($this->env(), $field);
        $all[$name] = (string)$value;
        \gbx_envelope_set_json($this->env, $field, as_map($all));
        return $this;
    }

    public function content($content = null)
    {
        if (func_num_args() == 0) {
            return \gbx_job_content($this->_ptr());
        }
        \gbx_envelope_set_content($this->env(), (string)$content);
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
        $all = \gbx_envelope_get_json($this->env(), 'arguments');
        $all[] = (string)$arg;
        \gbx_envelope_set_json($this->env, 'arguments', $all);
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
    public function remote_ip(...$a) { return count($a) ? $this->field('remote.ip', $a) : \gbx_job_remote_ip($this->_ptr()); }
    public function remote_user(...$a) { return count($a) ? $this->field('remote.user', $a) : \gbx_job_remote_user($this->_ptr()); }
    public function resource_uri() { return \gbx_job_resource_uri($this->_ptr()); }
    public function api_version() { return \gbx_job_api_version($this->_ptr()); }

    /** Job::JOB_SYNC or Job::JOB_ASYNC; type(JOB_*) sets it on a copy. */
    public function type($type = null)
    {
        if (func_num_args() == 0) {
            $t = \gbx_job_type($this->_ptr());
            return $t === 'sync' ? self::JOB_SYNC : ($t === 'async' ? self::JOB_ASYNC : self::JOB_UNKNOWN);
        }
        if ($type != self::JOB_SYNC && $type != self::JOB_ASYNC) {
            throw new ERR_BAD_REQUEST('job type must be Job::JOB_SYNC or Job::JOB_ASYNC');
        }
        \gbx_envelope_set($this->env(), 'job_type', $type == self::JOB_SYNC ? 'sync' : 'async');
        return $this;
    }

    /** The job's Status (null for a sync job); prints as its id. */
    public function status()
    {
        if ($this->status === null) {
            $p = \gbx_job_status($this->_ptr());
            if ($p === null) {
                return null;
            }
            $this->status = Status::_wrap($p, false, $this->borrow ?? new Borrow(), $this->worker);
        }
        $this->_ptr();
        return $this->status;
    }

    /** The status of the job whose event started this one (an array), or null. */
    public function event_status()
    {
        $text = \gbx_job_event_status($this->_ptr());
        return $text === null ? null : \gbx_json_parse($text);
    }

    /** The envelope as JSON text. */
    public function serialize() { return \gbx_envelope_serialize(\gbx_job_envelope($this->_ptr())); }

    public function on($event, $job)
    {
        throw new ERR_NOT_IMPLEMENTED('Job::on() needs the orchestration work ([C]); not available yet');
    }

    public function run()
    {
        throw new ERR_NOT_IMPLEMENTED('Job::run() needs the job manager ([C]); not available yet');
    }
}

/** What a handler answers. */
class JobResponse
{
    private $ptr;
    private ?Borrow $borrow;
    private Job $job;

    /** @internal */
    public function __construct($ptr, Borrow $borrow, Job $job)
    {
        $this->ptr = $ptr;
        $this->borrow = $borrow;
        $this->job = $job;
    }

    private function p()
    {
        if (!$this->borrow->alive) {
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

    /** The job's status (null for a sync job). */
    public function status()
    {
        $this->p();
        return $this->job->status();
    }
}

/** Starts further jobs (children, REST calls, delayed jobs): [C]. */
class JobManager
{
    private $worker;
    private ?string $parent_uri = null;
    private ?string $base_uri = null;

    public function __construct($worker)
    {
        $this->worker = $worker;
    }

    public function parent_uri($uri) { $this->parent_uri = (string)$uri; }
    public function base_uri($uri) { $this->base_uri = (string)$uri; }

    /** Whether a handler of this name is in the config's handlers list. */
    public function known_job_name($name)
    {
        return in_array((string)$name, (array)$this->worker->cfg()->get('handlers'), true);
    }

    /** job(name): a new job for handler `name`; job(name, envelope): from an
     * envelope; job(HttpClient::METHOD_*, uri): a REST call ([C]). */
    public function job($name_or_method, $envelope_or_uri = null)
    {
        if (is_int($name_or_method)) {
            throw new ERR_NOT_IMPLEMENTED('REST jobs (JobManager::job(method, uri)) need the job manager ([C])');
        }
        $name = (string)$name_or_method;
        $parts = explode('_', $name);
        if (count($parts) < 5 || $parts[0] !== 'do') {
            throw new ERR_BAD_REQUEST("bad handler name \"$name\": expected do_<operation>_<component>_<resource>_<version>");
        }
        $job = new Job($envelope_or_uri === null ? null : $envelope_or_uri);
        $job->name($name);
        if ($envelope_or_uri === null) {
            $job->operation($parts[1])->component($parts[2])->resource_type($parts[3]);
            if ($this->base_uri !== null) {
                $job->base_uri($this->base_uri);
            }
        }
        return $job;
    }

    public static function gen_id($prefix) { return \gbx_id_generate((string)$prefix); }

    public function delay($job, $seconds)
    {
        throw new ERR_NOT_IMPLEMENTED('JobManager::delay() needs the scheduler ([C]); not available yet');
    }

    public function retry($job, $max_delay = 300, $max_jitter = 15)
    {
        throw new ERR_NOT_IMPLEMENTED('JobManager::retry() needs the scheduler ([C]); not available yet');
    }

    public function job_queue($agents)
    {
        throw new ERR_NOT_IMPLEMENTED('JobManager::job_queue() needs the orchestration work ([C]); not available yet');
    }

    public function job_queue_run($queue)
    {
        throw new ERR_NOT_IMPLEMENTED('JobManager::job_queue_run() needs the orchestration work ([C]); not available yet');
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

    public function __construct($config)
    {
        \gbx_php_log_default();
        $this->ptr = \gbx_worker_new((string)$config);
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
    public function request_count() { return \gbx_worker_request_count($this->ptr); }

    public function cfg() { return new ConfigFile(null, \gbx_worker_config($this->ptr), $this); }
    public function job_manager() { return new JobManager($this); }
    public function status_manager() { return new StatusManager($this); }

    /** Called before / after every handler; override them. */
    public function pre_request($job) {}
    public function post_request($job) {}

    public function afterwards($job, $name_or_delay = null, $delay = null)
    {
        throw new ERR_NOT_IMPLEMENTED('Worker::afterwards() needs the orchestration work ([C]); not available yet');
    }

    public function clear_afterwards()
    {
        throw new ERR_NOT_IMPLEMENTED('Worker::clear_afterwards() needs the orchestration work ([C]); not available yet');
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
    foreach (['Worker', 'Job', 'JobResponse', 'Status', 'JobManager', 'StatusManager', 'ConfigFile',
              'HttpClient'] as $gearbox_class) {
        if (!class_exists($gearbox_class, false)) {
            class_alias("Gearbox\\$gearbox_class", $gearbox_class);
        }
    }
    unset($gearbox_class);
}
