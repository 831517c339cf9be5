"""gearbox - Gearbox workers in Python.

The worker API of Gearbox (DESIGN §5) on top of the SWIG module
``gearbox._gearbox``, which wraps the C core's flat ``gbx_*`` functions.
This layer adapts; the work (envelopes, statuses, schemas, the worker loop)
is done in C.

    import gearbox

    class MyWorker(gearbox.Worker):
        def __init__(self, config):
            super().__init__(config)
            self.register_handler("do_get_hello_greeting_v1")

        def do_get_hello_greeting_v1(self, job, resp):
            if not job.arguments():
                raise gearbox.ERR_BAD_REQUEST("say who to greet")
            resp.content('{"hello": "%s"}' % job.arguments()[0])
            return gearbox.WORKER_SUCCESS

    MyWorker("hello.conf").run()

Ownership: objects keep what they were made from alive (a Status fetched
through a StatusManager keeps its store open, ``worker.cfg()`` keeps the
worker).  The ``job`` and ``resp`` a handler receives belong to the worker
runtime and are valid only during the call: afterwards every method raises
ReferenceError (copy a job with ``gearbox.Job(job)`` to keep it).
"""

import json as _json
import os as _os
import weakref as _weakref

from . import _gearbox as _core

_UNSET = object()


def _text(data):
    """bytes from the core -> str (bytes that are not UTF-8 survive as
    surrogate escapes and encode back unchanged)."""
    return None if data is None else data.decode("utf-8", "surrogateescape")


# ---- errors -----------------------------------------------------------------

class GearboxError(Exception):
    """Base of every Gearbox error: an HTTP-style ``code`` and a ``message``.

    ``raise gearbox.ERR_NOT_FOUND('animal "x" not found')`` in a handler
    fails the job with 404; ``GearboxError(message, code)`` takes any code.
    """

    code = 500
    name = "ERROR"

    def __init__(self, message="", code=None):
        if code is not None:
            self.code = int(code)
            self.name = _core.gbx_err_name(self.code) or "ERROR"
        self.message = str(message)
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def format(self):
        """``NAME [code]: message``, as the status and error bodies show it."""
        return _core.gbx_error_format(self.code, self.message)


_ERRORS_BY_CODE = {}
__all__ = ["GearboxError"]


def _make_error_classes():
    # One class per entry of the C table (GBX_ERROR_TABLE), never typed out here.
    for i in range(_core.gbx_err_count()):
        code = _core.gbx_err_at(i)
        name = _core.gbx_err_name(code)
        cls = type("ERR_" + name, (GearboxError,), {
            "code": code,
            "name": name,
            "__module__": __name__,
            "__doc__": "HTTP %d %s." % (code, name.replace("_", " ").title()),
        })
        globals()["ERR_" + name] = cls
        globals()["ERR_CODE_%d" % code] = cls
        __all__.extend(["ERR_" + name, "ERR_CODE_%d" % code])
        _ERRORS_BY_CODE[code] = cls
    _core.gbx_py_set_error_classes(GearboxError, _ERRORS_BY_CODE)


_make_error_classes()


def error_class(code):
    """The ERR_* class of an HTTP code (GearboxError for a code outside the table)."""
    return _ERRORS_BY_CODE.get(int(code), GearboxError)


def _not_implemented(what):
    raise _ERRORS_BY_CODE[501](
        "%s is not implemented yet: it needs the orchestration part of the core "
        "(job manager, events, delays, retries, cancellation)" % what)


# ---- JSON (the core's parser and printer: same rules as the gateway) ----------

def parse_json(text, comments=False):
    """Parses JSON text (str or bytes) as the core does (duplicate keys are an
    error; ``comments`` allows // and /* */); ERR_BAD_REQUEST when malformed."""
    return _core.gbx_json_parse_commented(text) if comments else _core.gbx_json_parse(text)


def dump_json(value):
    """Compact JSON text, keys in insertion order, as the core writes it."""
    return _core.gbx_json_dump(value)


# ---- logging ------------------------------------------------------------------

LOG_DEBUG = _core.GBX_LOG_DEBUG
LOG_INFO = _core.GBX_LOG_INFO
LOG_WARN = _core.GBX_LOG_WARN
LOG_ERROR = _core.GBX_LOG_ERROR


def log_to_file(path=None):
    """Sends the library's log lines to stderr, or appends them to ``path``.
    Until called, the library logs nothing."""
    _core.gbx_py_log_to_file(path)


def set_log_level(level):
    """``"debug"``, ``"info"`` (default), ``"warn"``, ``"error"`` or a LOG_* value."""
    if isinstance(level, str):
        value = _core.gbx_log_level_from_name(level)
        if value < 0:
            raise ValueError("unknown log level %r" % level)
        level = value
    _core.gbx_log_set_level(level)


def log(level, message):
    """One line through the library's log."""
    _core.gbx_py_log(level, str(message))


# ---- handles ------------------------------------------------------------------

class _Handle:
    """A C handle: owned (freed with the object) or borrowed from a parent
    that this object keeps alive."""

    _kind = "object"
    _free = None  # the gbx_*_free of owned handles

    def _init_handle(self, ptr, parent=None, owned=True):
        self._ptr = ptr
        self._parent = parent
        self._owned = owned

    def _p(self):
        ptr = self.__dict__.get("_ptr")
        if ptr is None:
            raise ReferenceError(
                "this %s is no longer valid: a handler's job and response live only "
                "until the handler returns (copy a job with gearbox.Job(job))" % self._kind)
        return ptr

    def _invalidate(self):
        self._ptr = None

    def _release(self):
        ptr = self.__dict__.get("_ptr")
        self._ptr = None
        if ptr is not None and self.__dict__.get("_owned") and type(self)._free is not None:
            type(self)._free(ptr)

    def __del__(self):
        try:
            self._release()
        except Exception:  # interpreter shutdown
            pass


# ---- config -------------------------------------------------------------------

class Config(_Handle):
    """A config file (JSON with comments, ``${VAR:-default}`` expanded,
    ``config.d/*.conf`` merged in as sections); paths are dotted
    (``"gearman.servers"``)."""

    _kind = "config"
    _free = staticmethod(_core.gbx_config_free)

    def __init__(self, path=None, data=None, base_dir=None):
        if (path is None) == (data is None):
            raise TypeError("Config(path) or Config(data=dict, base_dir=...)")
        self.path = None if path is None else _os.path.abspath(_os.fspath(path))
        if path is not None:
            self._init_handle(_core.gbx_config_load(self.path))
        else:
            self._init_handle(_core.gbx_config_from_json(data, base_dir))

    @classmethod
    def _borrow(cls, ptr, parent, path=None):
        self = cls.__new__(cls)
        self.path = path
        self._init_handle(ptr, parent, owned=False)
        return self

    def root(self):
        """The whole merged document (a copy)."""
        return _core.gbx_config_root(self._p())

    def get(self, path=None, default=None):
        """The value at ``path`` (a copy), or ``default``."""
        if path is None:
            return self.root()
        value = _core.gbx_config_get(self._p(), path)
        return default if value is None else value

    def __getitem__(self, path):
        value = _core.gbx_config_get(self._p(), path)
        if value is None:
            raise KeyError(path)
        return value

    def __contains__(self, path):
        return _core.gbx_config_get(self._p(), path) is not None

    def get_string(self, path, default=None):
        return _core.gbx_config_get_string(self._p(), path, default)

    def get_int(self, path, default=0):
        return _core.gbx_config_get_int(self._p(), path, default)

    def get_real(self, path, default=0.0):
        return _core.gbx_config_get_real(self._p(), path, default)

    def get_bool(self, path, default=False):
        return _core.gbx_config_get_bool(self._p(), path, default)

    def get_path(self, path, default=None):
        """A path setting resolved against the config's directory."""
        return _core.gbx_config_get_path(self._p(), path, default)

    def dir(self):
        """The directory relative paths are resolved against."""
        return _core.gbx_config_dir(self._p())

    def gearman_servers(self):
        return _core.gbx_config_gearman_servers(self._p())


ConfigFile = Config  # Gearbox's name


# ---- status -------------------------------------------------------------------

class Status(_Handle):
    """A status object (DESIGN §3).  Getters read a snapshot; every change
    is written through to the store at once; ``sync()`` re-reads it."""

    _kind = "status"
    _free = staticmethod(_core.gbx_status_free)

    # Numbered in the core, as Gearbox numbered them.
    STATE_UNKNOWN = _core.GBX_STATE_UNKNOWN
    STATE_PENDING = _core.GBX_STATE_PENDING
    STATE_RUNNING = _core.GBX_STATE_RUNNING
    STATE_COMPLETED = _core.GBX_STATE_COMPLETED
    STATE_STOPPING = _core.GBX_STATE_STOPPING
    STATE_STOPPED = _core.GBX_STATE_STOPPED
    STATE_CANCELLING = _core.GBX_STATE_CANCELLING
    STATE_CANCELLED = _core.GBX_STATE_CANCELLED

    EVENT_UNKNOWN = _core.GBX_STATUS_EVENT_UNKNOWN
    EVENT_PRECANCEL = _core.GBX_STATUS_EVENT_PRECANCEL
    EVENT_CANCEL = _core.GBX_STATUS_EVENT_CANCEL

    def __init__(self, other):
        """A new handle on the same status as ``other`` (a Status)."""
        if not isinstance(other, Status):
            raise TypeError("Status(status): fetch statuses with StatusManager.fetch()")
        self._store = other._store
        self._init_handle(_core.gbx_status_fetch(other._store, other.name()), other._parent)

    @classmethod
    def _wrap(cls, ptr, store, parent, owned=True):
        self = cls.__new__(cls)
        self._store = store
        self._init_handle(ptr, parent, owned)
        return self

    # -- names of states and events
    @staticmethod
    def state2str(state):
        return _core.gbx_state_name(state)

    @staticmethod
    def str2state(name):
        return _core.gbx_state_from_name(name)

    @staticmethod
    def event2str(event):
        return _core.gbx_status_event_name(event)

    @staticmethod
    def str2event(name):
        return _core.gbx_status_event_from_name(str(name))

    # -- identity
    def name(self):
        """The id, ``s-…``."""
        return _core.gbx_status_id(self._p())

    id = name

    def uri(self):
        """The status URI (``…/status/s-…``)."""
        return _core.gbx_status_status_uri(self._p())

    def resource_uri(self):
        return _core.gbx_status_uri(self._p())

    def operation(self):
        return _core.gbx_status_operation(self._p())

    def component(self):
        return _core.gbx_status_component(self._p())

    def parent_uri(self):
        return _core.gbx_status_parent_uri(self._p())

    def parent(self):
        """The parent status (a new handle), or None."""
        uri = self.parent_uri()
        if not uri:
            return None
        return Status._wrap(_core.gbx_status_fetch(self._store, uri), self._store, self._parent)

    # -- progress and result
    def state(self, new=_UNSET):
        """The state (a STATE_* value); with an argument, moves to it."""
        if new is _UNSET:
            return _core.gbx_status_state(self._p())
        if isinstance(new, str):
            new = Status.str2state(new)
        _core.gbx_status_set_state(self._p(), new)

    def progress(self, value=_UNSET):
        """Progress 0-100; with an argument, raises it (never lowers it)."""
        if value is _UNSET:
            return _core.gbx_status_progress_value(self._p())
        _core.gbx_status_set_progress(self._p(), int(value))

    def code(self):
        """-1 while running; 0 = success, else the HTTP-style code."""
        return _core.gbx_status_code(self._p())

    def success(self):
        _core.gbx_status_success(self._p())

    def fail(self, code, message=None):
        """Completes the status with ``code`` (and ``message`` added)."""
        _core.gbx_status_fail(self._p(), int(code), None if message is None else str(message))

    def has_completed(self):
        return _core.gbx_status_has_completed(self._p())

    def is_success(self):
        return _core.gbx_status_is_success(self._p())

    def failures(self):
        return _core.gbx_status_failures(self._p())

    def add_failure(self):
        _core.gbx_status_add_failure(self._p())

    def concurrency(self):
        return _core.gbx_status_concurrency(self._p())

    # -- messages, children, meta
    def add_message(self, message):
        _core.gbx_status_add_message(self._p(), str(message))

    def messages(self):
        return _core.gbx_status_messages(self._p())

    def add_child(self, uri):
        _core.gbx_status_add_child(self._p(), str(uri))

    def children(self):
        return _core.gbx_status_children(self._p())

    def meta(self, key=_UNSET, value=_UNSET):
        """meta() -> dict; meta(key) -> value or None; meta(key, value) sets
        it (None removes it); meta(dict) sets every key of dict."""
        if key is _UNSET:
            return _core.gbx_status_meta(self._p())
        if isinstance(key, dict) and value is _UNSET:
            for k, v in key.items():
                _core.gbx_status_set_meta(self._p(), str(k), v)
            return None
        if value is _UNSET:
            return _core.gbx_status_meta(self._p()).get(key)
        _core.gbx_status_set_meta(self._p(), str(key), value)
        return None

    # -- times (unix seconds with sub-second precision)
    def ctime(self):
        return _core.gbx_status_ctime(self._p())

    def mtime(self):
        return _core.gbx_status_mtime(self._p())

    def ytime(self, value=_UNSET):
        """When a delayed job runs (0 = not delayed); setting it needs the scheduler."""
        if value is _UNSET:
            return _core.gbx_status_ytime(self._p())
        _core.gbx_status_set_ytime(self._p(), float(value))

    # -- whole object
    def sync(self):
        """Re-reads the status from the store."""
        _core.gbx_status_refresh(self._p())

    def to_dict(self):
        return _core.gbx_status_to_json(self._p())

    def serialize(self):
        return _json.dumps(self.to_dict())

    def envelope(self):
        """The stored job envelope (a dict), or None."""
        text = _core.gbx_status_envelope(self._p())
        return None if text is None else _json.loads(text)

    # -- orchestration ([C])
    def cancel(self):
        _not_implemented("Status.cancel")

    def checkpoint(self):
        _not_implemented("Status.checkpoint")

    def on(self, event, job=None):
        _not_implemented("Status.on")

    def __repr__(self):
        ptr = self.__dict__.get("_ptr")
        if ptr is None:
            return "<gearbox.Status (invalid)>"
        return "<gearbox.Status %s %s>" % (self.name(), Status.state2str(self.state()))


# ---- jobs ---------------------------------------------------------------------

class Job(_Handle):
    """A job: the envelope a handler receives (borrowed, read-only, valid
    during the call) or one built in Python (``Job(job)`` copies, the
    JobManager makes new ones), whose setters change it."""

    _kind = "job"
    _free = staticmethod(_core.gbx_job_free)

    # Numbered in the core, as Gearbox numbered them.
    JOB_UNKNOWN = _core.GBX_JOB_UNKNOWN
    JOB_SYNC = _core.GBX_JOB_SYNC
    JOB_ASYNC = _core.GBX_JOB_ASYNC

    EVENT_UNKNOWN = _core.GBX_EVENT_UNKNOWN
    EVENT_COMPLETED = _core.GBX_EVENT_COMPLETED
    EVENT_FAILED = _core.GBX_EVENT_FAILED
    EVENT_SUCCEEDED = _core.GBX_EVENT_SUCCEEDED
    EVENT_STARTED = _core.GBX_EVENT_STARTED
    EVENT_STOPPED = _core.GBX_EVENT_STOPPED
    EVENT_CANCELLED = _core.GBX_EVENT_CANCELLED

    def __init__(self, source):
        """Job(job) copies a job; Job(envelope) builds one from an envelope
        (a dict or its JSON text)."""
        if isinstance(source, Job):
            env = _core.gbx_envelope_copy(_core.gbx_job_envelope(source._p()))
            parent = source._worker()
        else:
            text = source if isinstance(source, (str, bytes)) else _json.dumps(source)
            env = _core.gbx_envelope_parse(text)
            parent = None
        self._env = env
        self._status = None
        self._init_handle(None, parent, owned=True)
        self._rebuild()

    @classmethod
    def _borrow(cls, ptr, worker):
        self = cls.__new__(cls)
        self._env = None
        self._status = None
        self._init_handle(ptr, worker, owned=False)
        return self

    def _worker(self):
        parent = self._parent
        return parent if isinstance(parent, Worker) else None

    def _rebuild(self):
        old = self.__dict__.get("_ptr")
        self._ptr = _core.gbx_job_new(self._env)
        if old is not None:
            _core.gbx_job_free(old)

    def _release(self):
        _Handle._release(self)
        env = self.__dict__.get("_env")
        self._env = None
        if env is not None:
            _core.gbx_envelope_free(env)

    def _invalidate(self):
        status = self.__dict__.get("_status")
        if status is not None:
            status._invalidate()
        self._ptr = None

    def _set(self, field, value):
        """Sets an envelope field of a job built in Python."""
        self._p()
        if self._env is None:
            raise _ERRORS_BY_CODE[409]("the job a handler receives cannot be changed; "
                                       "copy it with gearbox.Job(job)")
        if field in ("arguments", "matrix_arguments", "query_params", "headers", "environ", "on"):
            _core.gbx_envelope_set_json(self._env, field, value)
        elif field == "content":
            _core.gbx_envelope_set_content(self._env, value)
        else:
            _core.gbx_envelope_set(self._env, field, None if value is None else str(value))
        self._rebuild()

    def _field(name, doc):
        def accessor(self, value=_UNSET):
            if value is _UNSET:
                return getattr(_core, "gbx_job_" + name)(self._p())
            self._set(name.replace("resource_", "resource.").replace("remote_", "remote."), value)
        accessor.__name__ = name
        accessor.__doc__ = doc
        return accessor

    name = _field("name", "The handler (Gearman function) name; with an argument, renames a job built in Python.")
    operation = _field("operation", '"get", "create", "update", "delete", ...')
    component = _field("component", "The component, e.g. \"barn\".")
    resource_type = _field("resource_type", 'The resource, e.g. "animal".')
    resource_name = _field("resource_name", "The resource's name (the generated one for POST without a name).")
    base_uri = _field("base_uri", '"http://host:port/barn/v1".')
    remote_ip = _field("remote_ip", "The client's address.")
    remote_user = _field("remote_user", "The authenticated user, if any.")
    event_status = _field("event_status", "The status (JSON text) of the job whose event started this one.")
    del _field

    def _collection(name):
        def accessor(self, value=_UNSET):
            if value is _UNSET:
                return getattr(_core, "gbx_job_" + name)(self._p())
            self._set(name, value)
        accessor.__name__ = name
        accessor.__doc__ = "A copy of the job's %s; with an argument, replaces them." % name
        return accessor

    arguments = _collection("arguments")
    matrix_arguments = _collection("matrix_arguments")
    query_params = _collection("query_params")
    headers = _collection("headers")
    environ = _collection("environ")
    del _collection

    def resource_uri(self):
        return _core.gbx_job_resource_uri(self._p())

    def api_version(self):
        return _core.gbx_job_api_version(self._p())

    def status_id(self):
        return _core.gbx_job_status_id(self._p())

    def type(self, value=_UNSET):
        """JOB_SYNC or JOB_ASYNC; with an argument, changes it."""
        if value is _UNSET:
            t = _core.gbx_job_type(self._p())
            return {"sync": Job.JOB_SYNC, "async": Job.JOB_ASYNC}.get(t, Job.JOB_UNKNOWN)
        names = {Job.JOB_SYNC: "sync", Job.JOB_ASYNC: "async"}
        if value not in names:
            raise ValueError("job type must be Job.JOB_SYNC or Job.JOB_ASYNC")
        self._set("job_type", names[value])

    def content(self, value=_UNSET):
        """The request body as str; with an argument (str or bytes), sets it."""
        if value is _UNSET:
            return _text(_core.gbx_job_content(self._p()))
        self._set("content", value)

    def raw_content(self):
        """The request body as bytes."""
        return _core.gbx_job_content(self._p())

    def json_content(self):
        """The body parsed as JSON (empty = None), validated against the
        handler's schema with defaults filled; ERR_BAD_REQUEST if invalid."""
        return _core.gbx_job_json_content(self._p())

    def status(self):
        """The Status this job reports to (None for a sync job)."""
        ptr = self._p()
        if self._status is None:
            sptr = _core.gbx_job_status(ptr)
            if sptr is None:
                return None
            worker = self._worker()
            store = _core.gbx_worker_store(worker._p()) if worker is not None else None
            # The job invalidates it with itself; the worker keeps the store.
            self._status = Status._wrap(sptr, store, worker, owned=False)
        return self._status

    def envelope(self):
        """The whole envelope (a dict)."""
        return _json.loads(self.serialize())

    def serialize(self):
        """The envelope as JSON text."""
        return _core.gbx_envelope_serialize(_core.gbx_job_envelope(self._p()))

    # -- orchestration ([C])
    def on(self, event, job):
        _not_implemented("Job.on")

    def run(self):
        _not_implemented("Job.run")

    def __repr__(self):
        if self.__dict__.get("_ptr") is None:
            return "<gearbox.Job (invalid)>"
        return "<gearbox.Job %s>" % self.name()


class JobResponse(_Handle):
    """What a handler answers: content, headers and code (0 = 200)."""

    _kind = "response"
    _free = staticmethod(_core.gbx_response_free)

    def __init__(self):
        self._job = None
        self._init_handle(_core.gbx_response_new())

    @classmethod
    def _borrow(cls, ptr, job):
        self = cls.__new__(cls)
        self._job = job
        self._init_handle(ptr, job, owned=False)
        return self

    def content(self, value=_UNSET):
        """The body as str; with an argument (str or bytes), sets it."""
        if value is _UNSET:
            return _text(_core.gbx_response_content(self._p()))
        _core.gbx_response_set_content(self._p(), value)

    def raw_content(self):
        return _core.gbx_response_content(self._p())

    def add_header(self, name, value):
        _core.gbx_response_add_header(self._p(), str(name), str(value))

    def headers(self):
        return _core.gbx_response_headers(self._p())

    def code(self, value=_UNSET):
        """The HTTP code (0 = 200); with an argument, sets it."""
        if value is _UNSET:
            return _core.gbx_response_code(self._p())
        _core.gbx_response_set_code(self._p(), int(value))

    def status(self):
        """The Status of the job this response answers (None for sync jobs)."""
        self._p()
        return self._job.status() if self._job is not None else None

    def serialize(self):
        return _core.gbx_response_serialize(self._p())


# ---- managers -----------------------------------------------------------------

def _config_of(source):
    """(Config, owner) for a Worker, a Config or a config path."""
    if isinstance(source, Worker):
        return source.cfg(), source
    if isinstance(source, Config):
        return source, source
    cfg = Config(source)
    return cfg, cfg


class StatusManager(_Handle):
    """Creates, fetches and lists statuses in the store of a config (or a
    worker's store)."""

    _kind = "status manager"
    _free = staticmethod(_core.gbx_store_free)

    def __init__(self, source):
        cfg, owner = _config_of(source)
        self._base_uri = None
        if isinstance(source, Worker):
            self._init_handle(_core.gbx_worker_store(source._p()), source, owned=False)
        else:
            section = cfg.get("status")
            if section is None:
                raise _ERRORS_BY_CODE[500]("config %s has no \"status\" section" % cfg.path)
            self._init_handle(_core.gbx_store_open(section, cfg.dir()), owner)

    def base_uri(self, uri=_UNSET):
        """The base URI new statuses get their status_uri under
        (``<base>/status/<id>``)."""
        if uri is _UNSET:
            return self._base_uri
        self._base_uri = str(uri).rstrip("/")

    def create(self, id=None, operation=None, uri=None, component=None, status_base=None,
               parent_uri=None, envelope=None, scope=None):
        """A new PENDING status (``id`` None generates ``s-…``)."""
        if status_base is None and self._base_uri:
            status_base = self._base_uri + "/status"
        if envelope is not None and not isinstance(envelope, str):
            envelope = _json.dumps(envelope)
        ptr = _core.gbx_py_status_create(self._p(), id, operation, component, uri, status_base,
                                         parent_uri, envelope, scope)
        return Status._wrap(ptr, self._ptr, self)

    def fetch(self, name):
        """A status by id or URI; ERR_NOT_FOUND if unknown."""
        return Status._wrap(_core.gbx_status_fetch(self._p(), str(name)), self._ptr, self)

    def list(self, uri=None, state=None, operation=None, component=None, scope=None, code=-1,
             progress=-1, count=0):
        """Ids of matching statuses, newest first."""
        return _core.gbx_py_status_list(self._p(), uri, state, operation, component, scope,
                                        int(code), int(progress), int(count))

    def statuses(self, **filters):
        """The matching statuses themselves."""
        return [self.fetch(i) for i in self.list(**filters)]


class JobManager:
    """Makes jobs.  Running them, delays, retries and job queues come with
    the orchestration part of the core and raise ERR_NOT_IMPLEMENTED until then."""

    _METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")

    def __init__(self, source):
        self._cfg, self._owner = _config_of(source)
        self._base_uri = None

    def cfg(self):
        return self._cfg

    def base_uri(self, uri=_UNSET):
        if uri is _UNSET:
            return self._base_uri
        self._base_uri = str(uri).rstrip("/")

    def job(self, name, envelope=None):
        """job(name), job(name, envelope dict/JSON): a new async job;
        job(method, uri): a REST job (not yet)."""
        if isinstance(name, int) or (isinstance(name, str) and name.upper() in self._METHODS):
            _not_implemented("JobManager.job(method, uri)")
        if envelope is None:
            method, component, resource, version = _core.gbx_py_handler_parse(name)
            ops = {"get": "get", "put": "create", "post": "create", "delete": "delete"}
            env = {"version": 1, "name": name, "job_type": "async",
                   "operation": ops.get(method, method), "component": component,
                   "resource": {"type": resource}}
            if self._base_uri:
                env["base_uri"] = self._base_uri
        else:
            env = _json.loads(envelope) if isinstance(envelope, (str, bytes)) else dict(envelope)
            env["name"] = name
        job = Job(env)
        job._parent = self._owner
        return job

    def gen_id(self, prefix):
        """A random id ``<prefix>-<26 chars>``."""
        return _core.gbx_id_generate(prefix)

    def delay(self, job, seconds):
        _not_implemented("JobManager.delay")

    def retry(self, job):
        _not_implemented("JobManager.retry")

    def job_queue(self, agents):
        _not_implemented("JobManager.job_queue")

    def job_queue_run(self, queue):
        _not_implemented("JobManager.job_queue_run")


class HttpClient:
    """Gearbox's HTTP client: its method constants (REST jobs use them)."""

    METHOD_GET = _core.GBX_METHOD_GET
    METHOD_DELETE = _core.GBX_METHOD_DELETE
    METHOD_POST = _core.GBX_METHOD_POST
    METHOD_PUT = _core.GBX_METHOD_PUT
    METHOD_HEAD = _core.GBX_METHOD_HEAD

    def __init__(self, *args, **kwargs):
        _not_implemented("HttpClient")


# ---- the worker ---------------------------------------------------------------

WORKER_SUCCESS = _core.GBX_WORKER_SUCCESS
WORKER_ERROR = _core.GBX_WORKER_ERROR
WORKER_CONTINUE = _core.GBX_WORKER_CONTINUE
WORKER_RETRY = _core.GBX_WORKER_RETRY


def _dispatcher(wself, name):
    """What the C trampoline calls for handler ``name``: wraps the borrowed
    job and response, calls the handler, and invalidates them after.  Holds
    the worker only weakly (C holds this function)."""

    def dispatch(job_ptr, resp_ptr):
        worker = wself()
        if worker is None:
            raise _ERRORS_BY_CODE[503]("the worker of %s is gone" % name)
        job = Job._borrow(job_ptr, worker)
        resp = JobResponse._borrow(resp_ptr, job)
        try:
            return worker._handlers[name](job, resp)
        finally:
            job._invalidate()
            resp._invalidate()

    return dispatch


def _hook(wself, method):
    def hook(job_ptr):
        worker = wself()
        if worker is None:
            return
        job = Job._borrow(job_ptr, worker)
        try:
            getattr(worker, method)(job)
        finally:
            job._invalidate()

    return hook


class Worker(_Handle):
    """A worker process: subclass it, register handlers, run().

    Handlers are called as ``handler(job, resp)`` (methods: ``(self, job,
    resp)``) and return WORKER_SUCCESS, WORKER_ERROR, WORKER_CONTINUE or
    WORKER_RETRY.  Raising an ERR_* fails the job with its code; any other
    exception fails it with 500 and the exception's text.
    """

    _kind = "worker"
    _free = staticmethod(_core.gbx_py_worker_free)

    WORKER_SUCCESS = WORKER_SUCCESS
    WORKER_ERROR = WORKER_ERROR
    WORKER_CONTINUE = WORKER_CONTINUE
    WORKER_RETRY = WORKER_RETRY

    def __init__(self, config):
        """``config``: the component config file (or a Config loaded from one)."""
        path = config.path if isinstance(config, Config) else _os.fspath(config)
        if path is None:
            raise TypeError("Worker(config): a config file path or a Config loaded from a file")
        self._config_path = _os.path.abspath(path)
        self._handlers = {}
        self._max_requests = 0
        self._stopping = False
        self._init_handle(_core.gbx_worker_new(self._config_path))
        cls = type(self)
        pre = cls.pre_request is not Worker.pre_request
        post = cls.post_request is not Worker.post_request
        if pre or post:
            wself = _weakref.ref(self)
            _core.gbx_py_worker_set_hooks(self._p(), _hook(wself, "pre_request") if pre else None,
                                          _hook(wself, "post_request") if post else None)

    def register_handler(self, name, handler=None):
        """Serves Gearman function ``name`` with ``handler(job, resp)``;
        without one, with the method called ``name``."""
        if handler is None:
            handler = getattr(self, name, None)
            if handler is None:
                raise AttributeError("%s has no method %s to handle %s" % (type(self).__name__, name, name))
        if not callable(handler):
            raise TypeError("the handler of %s is not callable" % name)
        self._handlers[name] = handler
        _core.gbx_py_worker_register(self._p(), name, _dispatcher(_weakref.ref(self), name))

    def handlers(self):
        return sorted(self._handlers)

    def pre_request(self, job):
        """Called before every handler; override it."""

    def post_request(self, job):
        """Called after every handler, once its result is recorded; override it."""

    def run(self):
        """Serves jobs until stop(), max_requests or an interrupt (which is
        raised here after the current job is answered)."""
        ptr = self._p()
        if not self._handlers:
            raise _ERRORS_BY_CODE[500]("no handlers registered")
        log(LOG_INFO, "python worker %s serving %d handler(s)" % (
            self.cfg().get_string("component", "-"), len(self._handlers)))
        while not self._stopping:
            if self._max_requests and _core.gbx_worker_request_count(ptr) >= self._max_requests:
                log(LOG_INFO, "worker: %d requests served, max_requests reached" % self._max_requests)
                break
            _core.gbx_py_worker_serve(ptr, 1000)
        log(LOG_INFO, "worker stopped after %d request(s)" % self.request_count())

    def work_once(self, timeout_ms=1000):
        """Serves at most one job, waiting up to timeout_ms; True if one came."""
        return _core.gbx_py_worker_serve(self._p(), int(timeout_ms))

    def stop(self):
        """Makes run() return after the current job (safe in signal handlers)."""
        self._stopping = True
        ptr = self.__dict__.get("_ptr")
        if ptr is not None:
            _core.gbx_worker_stop(ptr)

    def max_requests(self, n=_UNSET):
        """run() returns once request_count() reaches n (0 = never)."""
        if n is _UNSET:
            return self._max_requests
        self._max_requests = int(n)
        _core.gbx_worker_set_max_requests(self._p(), self._max_requests)

    def request_count(self):
        return _core.gbx_worker_request_count(self._p())

    def cfg(self):
        """The worker's Config (keeps the worker alive)."""
        return Config._borrow(_core.gbx_worker_config(self._p()), self, self._config_path)

    def job_manager(self):
        return JobManager(self)

    def status_manager(self):
        return StatusManager(self)

    def afterwards(self, job, name=None, delay=0):
        _not_implemented("Worker.afterwards")

    def clear_afterwards(self):
        _not_implemented("Worker.clear_afterwards")

    def close(self):
        """Frees the C worker now (also done when the object goes away)."""
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Constants on the module too, as Gearbox's Python binding had them.
JOB_UNKNOWN = Job.JOB_UNKNOWN
JOB_SYNC = Job.JOB_SYNC
JOB_ASYNC = Job.JOB_ASYNC
for _n in ("EVENT_COMPLETED", "EVENT_FAILED", "EVENT_SUCCEEDED", "EVENT_STARTED",
           "EVENT_STOPPED", "EVENT_CANCELLED"):
    globals()[_n] = getattr(Job, _n)
for _n in ("STATE_UNKNOWN", "STATE_PENDING", "STATE_RUNNING", "STATE_COMPLETED", "STATE_STOPPING",
           "STATE_STOPPED", "STATE_CANCELLING", "STATE_CANCELLED", "EVENT_PRECANCEL",
           "EVENT_CANCEL"):
    globals()[_n] = getattr(Status, _n)
for _n in ("METHOD_GET", "METHOD_DELETE", "METHOD_POST", "METHOD_PUT", "METHOD_HEAD"):
    globals()[_n] = getattr(HttpClient, _n)
del _n
