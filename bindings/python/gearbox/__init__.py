# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
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

    MyWorker(sys.argv).run()          # PROG CONFIG or PROG --config CONFIG

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
    # The other names of a code (GBX_ERROR_ALIASES: ERR_GATEWAY_TIMEOUT is
    # ERR_GATEWAY_TIME_OUT) are the same class.
    for i in range(_core.gbx_err_name_count()):
        name = _core.gbx_err_name_at(i)
        code = _core.gbx_err_from_name(name)
        if name != _core.gbx_err_name(code):
            globals()["ERR_" + name] = _ERRORS_BY_CODE[code]
            __all__.append("ERR_" + name)
    _core.gbx_py_set_error_classes(GearboxError, _ERRORS_BY_CODE)


_make_error_classes()


def error_class(code):
    """The ERR_* class of an HTTP code (GearboxError for a code outside the table)."""
    return _ERRORS_BY_CODE.get(int(code), GearboxError)


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
        self._jm = other._jm
        if other.is_remote() or other._store is None:
            jm = other._job_manager()
            self._init_handle(_core.gbx_jobmanager_status(jm._p(), other.uri()), jm)
        else:
            self._init_handle(_core.gbx_status_fetch(other._store, other.name()), other._parent)

    @classmethod
    def _wrap(cls, ptr, store, parent, owned=True, jm=None):
        """``parent`` keeps what the handle needs alive (the worker, a
        manager, the job it belongs to); ``jm`` is the JobManager its
        orchestration calls go through (else found from the parent)."""
        self = cls.__new__(cls)
        self._store = store
        self._jm = jm
        self._init_handle(ptr, parent, owned)
        return self

    def _job_manager(self):
        """The JobManager for cancel(), parent(), remote statuses."""
        if self._jm is not None:
            return self._jm
        parent = self._parent
        if isinstance(parent, JobManager):
            return parent
        if isinstance(parent, (Worker, StatusManager)):
            return parent.job_manager()
        if isinstance(parent, Job):
            return parent._job_manager()
        raise _ERRORS_BY_CODE[500]("this status has no job manager (fetch it through a "
                                   "StatusManager, a JobManager or a Worker)")

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
        """The parent status (a new handle; a remote one when it lives in
        another service), or None."""
        uri = self.parent_uri()
        if not uri:
            return None
        return self._job_manager().status(uri)

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
        """When a delayed job runs (0 = not delayed).  To move a waiting job, use
        JobManager.reschedule (which also moves its queue row)."""
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

    # -- orchestration
    def cancel(self):
        """Cancels the job of this status (gbx_jobmanager_cancel): stop it,
        cancel its children, run its PRECANCEL / CANCEL jobs.  Returns the
        cancel operation's own Status; ERR_CONFLICT while it is stopping or
        being cancelled already."""
        return self._job_manager().cancel(self.uri() if self.is_remote() else self.name())

    def checkpoint(self):
        """Re-reads the status; raises ERR_GONE when the job is being stopped
        or cancelled.  Let it propagate from a handler: the job then stops
        (410) and the cancellation goes on."""
        _core.gbx_status_checkpoint(self._p())

    def on(self, event, job=None):
        """on(EVENT_PRECANCEL | EVENT_CANCEL, job): ``job`` runs before a
        cancellation (it may veto it by failing) / as its compensation.
        ``job`` None removes it."""
        if isinstance(event, str):
            event = Status.str2event(event)
        env = None if job is None else _core.gbx_job_envelope(job._p())
        _core.gbx_status_on(self._p(), int(event), env)

    def events(self):
        """The event jobs: {"PRECANCEL": {"name", "envelope"}, "CANCEL": {...}}."""
        return _core.gbx_status_events(self._p())

    def is_remote(self):
        """True for a status of another service, read over HTTP (read-only)."""
        return _core.gbx_status_is_remote(self._p())

    def transition(self, from_state, to_state):
        """Moves from ``from_state`` to ``to_state`` only if the status is in
        ``from_state`` (ERR_CONFLICT otherwise)."""
        if isinstance(from_state, str):
            from_state = Status.str2state(from_state)
        if isinstance(to_state, str):
            to_state = Status.str2state(to_state)
        _core.gbx_status_transition(self._p(), int(from_state), int(to_state))

    def counter_add(self, name, delta=1):
        """Adds ``delta`` to the named counter of this status (in the store,
        seen by every process); returns the new value."""
        return _core.gbx_status_counter_add(self._p(), str(name), int(delta))

    def wait(self, timeout=0):
        """Waits until the status has completed (ERR_GATEWAY_TIMEOUT after
        ``timeout`` seconds; 0 = no limit)."""
        self._job_manager().wait(self, timeout)

    def __repr__(self):
        ptr = self.__dict__.get("_ptr")
        if ptr is None:
            return "<gearbox.Status (invalid)>"
        return "<gearbox.Status %s %s>" % (self.name(), Status.state2str(self.state()))


# ---- jobs ---------------------------------------------------------------------

class Job(_Handle):
    """A job: the one a handler receives (borrowed, read-only, valid during
    the call) or one built in Python - ``Job(job)`` copies a job,
    ``JobManager.job()`` makes new ones, ``Job(envelope)`` wraps an envelope
    - whose setters change it and whose ``run()`` starts it."""

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
        """Job(job) copies a job (same envelope, status id included: running
        the copy continues that status); Job(envelope) builds one from an
        envelope (a dict or its JSON text)."""
        self._status = None
        self._readonly = False
        if isinstance(source, Job):
            self._jm = source._jm if source._jm is not None else source._worker_job_manager()
            self._init_handle(_core.gbx_job_copy(source._p()), self._jm)
        else:
            text = source if isinstance(source, (str, bytes)) else _json.dumps(source)
            env = _core.gbx_envelope_parse(text)
            try:
                self._jm = None
                self._init_handle(_core.gbx_job_new(env), None)
            finally:
                _core.gbx_envelope_free(env)

    @classmethod
    def _borrow(cls, ptr, worker):
        """The job a handler receives: read-only, valid during the call."""
        self = cls.__new__(cls)
        self._status = None
        self._readonly = True
        self._jm = None
        self._init_handle(ptr, worker, owned=False)
        return self

    @classmethod
    def _made(cls, ptr, jm):
        """A job made by a job manager (owned)."""
        self = cls.__new__(cls)
        self._status = None
        self._readonly = False
        self._jm = jm
        self._init_handle(ptr, jm)
        return self

    def _worker(self):
        parent = self._parent
        return parent if isinstance(parent, Worker) else None

    def _worker_job_manager(self):
        worker = self._worker()
        return worker.job_manager() if worker is not None else None

    def _job_manager(self):
        jm = self._jm if self._jm is not None else self._worker_job_manager()
        if jm is None:
            raise _ERRORS_BY_CODE[500]("this job has no job manager: make jobs with "
                                       "JobManager.job() or run them with JobManager.run(job)")
        return jm

    def _invalidate(self):
        status = self.__dict__.get("_status")
        if status is not None:
            status._invalidate()
        self._ptr = None

    def _writable(self):
        ptr = self._p()
        if self._readonly:
            raise _ERRORS_BY_CODE[409]("the job a handler receives cannot be changed; "
                                       "copy it with gearbox.Job(job)")
        return ptr

    def _set(self, field, value):
        """Sets an envelope field of a job built in Python."""
        ptr = self._writable()
        if field in ("arguments", "matrix_arguments", "query_params", "headers", "environ"):
            _core.gbx_job_set_json(ptr, field, value)
        elif field == "content":
            _core.gbx_job_set_content(ptr, value)
        elif field == "name":
            _core.gbx_job_set_name(ptr, str(value))
        else:
            _core.gbx_job_set(ptr, field, None if value is None else str(value))
        return self

    def _field(name, doc):
        def accessor(self, value=_UNSET):
            if value is _UNSET:
                return getattr(_core, "gbx_job_" + name)(self._p())
            return self._set(name.replace("resource_", "resource.").replace("remote_", "remote."), value)
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
    remote_user = _field("remote_user", "The principal the gateway verified, if any.")
    remote_scopes = _field("remote_scopes", 'Its scopes, e.g. "read,write" (None on open locations).')
    traceparent = _field("traceparent", 'The W3C traceparent the job runs under, "00-<trace-id>-<parent-id>-<flags>".')
    tracestate = _field("tracestate", "The W3C tracestate that goes with it, if any.")
    del _field

    def trace_id(self):
        """The W3C trace-id (32 hex) of the job's traceparent; None without one."""
        return _core.gbx_job_trace_id(self._p())

    def _collection(name):
        def accessor(self, value=_UNSET):
            if value is _UNSET:
                return getattr(_core, "gbx_job_" + name)(self._p())
            return self._set(name, value)
        accessor.__name__ = name
        accessor.__doc__ = "A copy of the job's %s; with an argument, replaces them." % name
        return accessor

    arguments = _collection("arguments")
    matrix_arguments = _collection("matrix_arguments")
    query_params = _collection("query_params")
    headers = _collection("headers")
    environ = _collection("environ")
    del _collection

    def add_argument(self, argument):
        _core.gbx_job_add_argument(self._writable(), str(argument))
        return self

    def parent_uri(self, value=_UNSET):
        if value is _UNSET:
            return _core.gbx_envelope_get(_core.gbx_job_envelope(self._p()), "parent_uri")
        return self._set("parent_uri", value)

    def resource_uri(self):
        return _core.gbx_job_resource_uri(self._p())

    def api_version(self):
        return _core.gbx_job_api_version(self._p())

    def status_id(self):
        return _core.gbx_job_status_id(self._p())

    def type(self, value=_UNSET):
        """JOB_SYNC or JOB_ASYNC; with an argument, changes it."""
        if value is _UNSET:
            return _core.gbx_job_kind_of(self._p())
        if value not in (Job.JOB_SYNC, Job.JOB_ASYNC):
            raise ValueError("job type must be Job.JOB_SYNC or Job.JOB_ASYNC")
        _core.gbx_job_set_type(self._writable(), value)
        return self

    def content(self, value=_UNSET):
        """The request body as str; with an argument (str or bytes), sets it."""
        if value is _UNSET:
            return _text(_core.gbx_job_content(self._p()))
        return self._set("content", value)

    def raw_content(self):
        """The request body as bytes."""
        return _core.gbx_job_content(self._p())

    def json_content(self):
        """The body parsed as JSON (empty = None), validated against the
        handler's schema with defaults filled; ERR_BAD_REQUEST if invalid."""
        return _core.gbx_job_json_content(self._p())

    def status(self):
        """The Status this job reports to (None for a sync job, and for a
        job built in Python until it has run)."""
        ptr = self._p()
        if self._readonly:
            if self._status is None:
                sptr = _core.gbx_job_status(ptr)
                if sptr is None:
                    return None
                worker = self._worker()
                store = _core.gbx_worker_store(worker._p()) if worker is not None else None
                # The job invalidates it with itself; the worker keeps the store.
                self._status = Status._wrap(sptr, store, worker, owned=False)
            return self._status
        sptr = _core.gbx_job_status(ptr)
        if sptr is None:
            return None
        jm = self._job_manager()
        return Status._wrap(sptr, _core.gbx_jobmanager_store(jm._p()), self, owned=False, jm=jm)

    def event_status(self):
        """The Status of the job whose event started this one (local or
        remote), or None."""
        uri = _core.gbx_job_event_status(self._p())
        if not uri:
            return None
        return self._job_manager().status(uri)

    def envelope(self):
        """The whole envelope (a dict)."""
        return _json.loads(self.serialize())

    def serialize(self):
        """The envelope as JSON text."""
        return _core.gbx_envelope_serialize(_core.gbx_job_envelope(self._p()))

    # -- REST jobs (JobManager.job(method, uri))
    def is_rest(self):
        return _core.gbx_job_is_rest(self._p())

    def rest_method(self):
        """HttpClient.METHOD_* of a REST job."""
        return _core.gbx_job_rest_method(self._p())

    def rest_uri(self):
        return _core.gbx_job_rest_uri(self._p())

    # -- orchestration
    def on(self, event, job):
        """on(EVENT_*, job): ``job`` runs (with event_status set) when this
        job's status reaches the event; ``job`` None removes it."""
        if isinstance(event, str):
            event = _core.gbx_job_event_from_name(event)
        _core.gbx_job_on(self._writable(), int(event), None if job is None else job._p())
        return self

    def run(self):
        """Runs the job (JobManager.run): sync jobs answer, async jobs get a
        status (a child of the current job's) and answer 202, REST jobs
        answer what the service answered.  Returns a JobResponse."""
        return self._job_manager().run(self)

    def __repr__(self):
        if self.__dict__.get("_ptr") is None:
            return "<gearbox.Job (invalid)>"
        return "<gearbox.Job %s>" % self.name()


class JobResponse(_Handle):
    """What a handler answers (content, headers, code; 0 = 200), or what a
    run job answered."""

    _kind = "response"
    _free = staticmethod(_core.gbx_response_free)

    def __init__(self):
        self._job = None
        self._jm = None
        self._init_handle(_core.gbx_response_new())

    @classmethod
    def _borrow(cls, ptr, job):
        self = cls.__new__(cls)
        self._job = job
        self._jm = None
        self._init_handle(ptr, job, owned=False)
        return self

    @classmethod
    def _answer(cls, ptr, jm):
        """The answer of a job run by ``jm`` (owned)."""
        self = cls.__new__(cls)
        self._job = None
        self._jm = jm
        self._init_handle(ptr, jm)
        return self

    def content(self, value=_UNSET):
        """The body as str; with an argument (str or bytes), sets it."""
        if value is _UNSET:
            return _text(_core.gbx_response_content(self._p()))
        _core.gbx_response_set_content(self._p(), value)

    def raw_content(self):
        return _core.gbx_response_content(self._p())

    def json_content(self):
        """The body parsed as JSON (None when empty)."""
        raw = self.raw_content()
        return _core.gbx_json_parse(raw) if raw else None

    def add_header(self, name, value):
        _core.gbx_response_add_header(self._p(), str(name), str(value))

    def headers(self):
        return _core.gbx_response_headers(self._p())

    def code(self, value=_UNSET):
        """The HTTP code (0 = 200); with an argument, sets it."""
        if value is _UNSET:
            return _core.gbx_response_code(self._p())
        _core.gbx_response_set_code(self._p(), int(value))

    def status_uri(self):
        """The status_uri of the async job this answers (202), or None."""
        return _core.gbx_response_status_uri(self._p())

    def status(self):
        """A handler's response: its job's Status; for a sync job a
        throw-away one (id "st-...", kept in memory, never stored), as in
        Gearbox.  The answer of a run job: the started job's Status (read
        again, local or remote), None when it has none."""
        ptr = self._p()
        if self._jm is not None:
            uri = self.status_uri()
            return self._jm.status(uri) if uri else None
        local = self.__dict__.get("_local")
        if local is None:
            sptr = _core.gbx_response_status(ptr)
            if sptr is None:
                return self._job.status() if self._job is not None else None
            # The worker frees it after the handler; it dies with this response.
            local = self._local = Status._wrap(sptr, None, self, owned=False)
        return local

    def _invalidate(self):
        local = self.__dict__.get("_local")
        if local is not None:
            local._invalidate()
        _Handle._invalidate(self)

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
        self._cfg = cfg
        self._base_uri = None
        if isinstance(source, Worker):
            self._init_handle(_core.gbx_worker_store(source._p()), source, owned=False)
        else:
            section = cfg.get("status")
            if section is None:
                raise _ERRORS_BY_CODE[500]("config %s has no \"status\" section" % cfg.path)
            self._init_handle(_core.gbx_store_open(section, cfg.dir()), owner)

    def job_manager(self):
        """A JobManager over this store (the worker's, for a worker's)."""
        if isinstance(self._parent, Worker):
            return self._parent.job_manager()
        return JobManager._over(self._cfg, self._p(), self)

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


class JobManager(_Handle):
    """Makes and runs jobs (the C job manager, gbx_jobmanager_*): jobs for
    handlers, REST jobs, delays, retries, job queues of agents, statuses
    local or remote, cancellation.  ``JobManager(worker)`` is the worker's
    own (``worker.job_manager()``); ``JobManager(config)`` makes one over a
    config and its status store."""

    _kind = "job manager"
    _METHODS = {"GET": _core.GBX_METHOD_GET, "DELETE": _core.GBX_METHOD_DELETE,
                "POST": _core.GBX_METHOD_POST, "PUT": _core.GBX_METHOD_PUT,
                "HEAD": _core.GBX_METHOD_HEAD}

    def __init__(self, source):
        self._base_uri = None
        self._store_ptr = None
        if isinstance(source, Worker):
            self._cfg = source.cfg()
            self._init_handle(_core.gbx_worker_job_manager(source._p()), source, owned=False)
            return
        cfg, owner = _config_of(source)
        self._cfg = cfg
        section = cfg.get("status")
        store = _core.gbx_store_open(section, cfg.dir()) if section is not None else None
        try:
            ptr = _core.gbx_jobmanager_new(cfg._p(), store)
        except BaseException:
            if store is not None:
                _core.gbx_store_free(store)
            raise
        self._store_ptr = store
        self._init_handle(ptr, owner)

    @classmethod
    def _over(cls, cfg, store_ptr, parent):
        """A job manager over a store someone else (``parent``) owns."""
        self = cls.__new__(cls)
        self._base_uri = None
        self._store_ptr = None
        self._cfg = cfg
        self._init_handle(_core.gbx_jobmanager_new(cfg._p(), store_ptr), parent)
        return self

    def _p(self):
        parent = self.__dict__.get("_parent")
        if isinstance(parent, Worker) and parent.__dict__.get("_ptr") is None:
            raise ReferenceError("the worker of this job manager has been closed")
        return _Handle._p(self)

    def _release(self):
        ptr = self.__dict__.get("_ptr")
        self._ptr = None
        if ptr is not None and self.__dict__.get("_owned"):
            _core.gbx_jobmanager_free(ptr)
        store = self.__dict__.get("_store_ptr")
        self._store_ptr = None
        if store is not None:
            _core.gbx_store_free(store)

    def cfg(self):
        return self._cfg

    def base_uri(self, uri=_UNSET):
        """The base URI of new jobs when no handler is running."""
        if uri is _UNSET:
            return self._base_uri
        self._base_uri = None if uri is None else str(uri).rstrip("/")
        _core.gbx_jobmanager_set_base_uri(self._p(), self._base_uri)

    def job(self, name, envelope=None):
        """job(name): a new async job for handler ``name`` (known to gearmand
        or listed in the config's "handlers"); job(name, envelope): a copy of
        an envelope (dict, JSON text or a Job) renamed; job(method, uri): a
        REST job (method: HttpClient.METHOD_* or "GET", ...)."""
        jm = self._p()
        if isinstance(name, int) or (isinstance(name, str) and name.upper() in self._METHODS):
            method = self._METHODS[name.upper()] if isinstance(name, str) else name
            if envelope is None:
                raise TypeError("job(method, uri): the URI is missing")
            return Job._made(_core.gbx_jobmanager_rest_job(jm, method, str(envelope)), self)
        if envelope is None:
            return Job._made(_core.gbx_jobmanager_job(jm, str(name)), self)
        if isinstance(envelope, Job):
            return Job._made(_core.gbx_jobmanager_job_from_envelope(
                jm, str(name), _core.gbx_job_envelope(envelope._p())), self)
        text = envelope if isinstance(envelope, (str, bytes)) else _json.dumps(envelope)
        env = _core.gbx_envelope_parse(text)
        try:
            return Job._made(_core.gbx_jobmanager_job_from_envelope(jm, str(name), env), self)
        finally:
            _core.gbx_envelope_free(env)

    @staticmethod
    def gen_id(prefix):
        """A random id ``<prefix>-<26 chars>``."""
        return _core.gbx_jobmanager_gen_id(str(prefix))

    def run(self, job):
        """Runs ``job``; its JobResponse (see Job.run)."""
        return JobResponse._answer(_core.gbx_jobmanager_run(self._p(), job._p()), self)

    def delay(self, job, seconds):
        """Runs an async job in ``seconds`` (its status shows ytime until
        then); its JobResponse (202)."""
        return JobResponse._answer(_core.gbx_jobmanager_delay(self._p(), job._p(), float(seconds)), self)

    def retry(self, job, max_delay=None, max_jitter=None):
        """Runs the job (which has a status) again after a Fibonacci pause
        capped at ``max_delay`` s, plus up to ``max_jitter`` s when the
        pause is above it (Gearbox's retry(job, max_delay=300,
        max_jitter=15); None takes jobs.retry_max_delay / retry_max_jitter,
        300 and 15 by default); raises the final error once
        jobs.retry_max_attempts (25; 0 = no limit) are used up."""
        _core.gbx_jobmanager_retry(self._p(), job._p(),
                                   0.0 if max_delay is None else float(max_delay),
                                   -1.0 if max_jitter is None else float(max_jitter))

    def status(self, id_or_uri):
        """A status by id or URI: from the store, or (an http URI of another
        service) read over HTTP as a read-only remote status."""
        ptr = _core.gbx_jobmanager_status(self._p(), str(id_or_uri))
        return Status._wrap(ptr, _core.gbx_jobmanager_store(self._p()), self, jm=self)

    def wait(self, status, timeout=0):
        """Waits until ``status`` has completed (ERR_GATEWAY_TIMEOUT after
        ``timeout`` seconds; 0 = no limit)."""
        _core.gbx_jobmanager_wait(self._p(), status._p(), float(timeout))

    def cancel(self, id_or_uri):
        """Cancels a status by id or URI; the cancel operation's Status."""
        if isinstance(id_or_uri, Status):
            id_or_uri = id_or_uri.uri() if id_or_uri.is_remote() else id_or_uri.name()
        ptr = _core.gbx_jobmanager_cancel(self._p(), str(id_or_uri))
        return Status._wrap(ptr, _core.gbx_jobmanager_store(self._p()), self, jm=self)

    def reschedule(self, id_or_uri, ytime):
        """The waiting job of a status runs at ``ytime`` (unix seconds); the
        status, re-read."""
        ptr = _core.gbx_jobmanager_reschedule(self._p(), str(id_or_uri), float(ytime))
        return Status._wrap(ptr, _core.gbx_jobmanager_store(self._p()), self, jm=self)

    def run_due(self):
        """One scheduler step (the gateway runs it): submits the due queued
        jobs; (number submitted, next due time or 0)."""
        return tuple(_core.gbx_jobmanager_run_due(self._p()))

    def job_queue(self, agents):
        """Agents levelled by dependency, as in Gearbox: Gearbox's
        {handler: {"require": [handlers], "type": "SYNC", "method": "PUT",
        "uri": ...}} (a method makes a REST job to uri, else to the key) or
        [{"name": handler, "require": [names]}, ...].  A plain list of
        levels, each a list of the Jobs that run in parallel.  Change it as you like (append a
        job to a level, add, remove or reorder levels) before
        job_queue_run."""
        q = _core.gbx_jobmanager_job_queue(self._p(), agents)
        try:
            return [[Job._made(_core.gbx_job_copy(_core.gbx_job_queue_job(q, k, i)), self)
                     for i in range(_core.gbx_job_queue_level_size(q, k))]
                    for k in range(_core.gbx_job_queue_levels(q))]
        finally:
            _core.gbx_job_queue_free(q)

    def job_queue_run(self, queue, timeout=0):
        """Runs the levels of ``queue`` (a list of lists of Jobs, from
        job_queue or not) as they are now, level after level: the jobs of
        a level in parallel, as children of the current status; empty
        levels are skipped.  Raises the first failure, or
        ERR_GATEWAY_TIMEOUT after ``timeout`` s (0 = no limit)."""
        q = _core.gbx_job_queue_new()
        try:
            for level in queue:
                k = _core.gbx_job_queue_levels(q)
                for job in level:
                    if not isinstance(job, Job):
                        raise _ERRORS_BY_CODE[400](
                            "job_queue_run: a queue is a list of levels, each a list of Jobs; got %r" % (job,))
                    _core.gbx_job_queue_add(q, k, job._p())
            _core.gbx_jobmanager_job_queue_run(self._p(), q, float(timeout))
        finally:
            _core.gbx_job_queue_free(q)

    @staticmethod
    def job_queue_apply(queue, function, data):
        """Calls ``job.<function>(data)`` on every job of a queue."""
        for level in queue:
            for job in level:
                getattr(job, function)(data)


class HttpClient:
    """Gearbox's HTTP method constants; REST calls are jobs:
    ``job_manager.job(HttpClient.METHOD_GET, uri).run()``."""

    METHOD_GET = _core.GBX_METHOD_GET
    METHOD_DELETE = _core.GBX_METHOD_DELETE
    METHOD_POST = _core.GBX_METHOD_POST
    METHOD_PUT = _core.GBX_METHOD_PUT
    METHOD_HEAD = _core.GBX_METHOD_HEAD


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
        """``config``: the component config's path (or a Config loaded from a
        file), or the program's arguments, ``sys.argv``, from which the core
        picks the config as every worker takes it: ``PROG CONFIG``, ``PROG
        --config CONFIG`` or ``PROG --config=CONFIG``."""
        if isinstance(config, Config):
            if config.path is None:
                raise TypeError("Worker(config): a Config loaded from a file, not from data")
            path = config.path
        else:
            args = list(config) if isinstance(config, (list, tuple)) else _os.fsdecode(config)
            path = _core.gbx_config_path_from_args(args)
        self._config_path = _os.path.abspath(path)
        self._handlers = {}
        self._builtin = set()
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
        return sorted(set(self._handlers) | self._builtin)

    def set_retryable(self, name, retryable=True):
        """Whether the job of handler ``name`` runs again when its worker
        dies in the middle of it (True, the default: at least once) or fails
        with 500 "worker died" (False: for handlers that must never run twice)."""
        _core.gbx_worker_set_retryable(self._p(), name, bool(retryable))

    def pre_request(self, job):
        """Called before every handler; override it."""

    def post_request(self, job):
        """Called after every handler, once its result is recorded; override it."""

    def run(self):
        """Serves jobs until stop(), max_requests or an interrupt (which is
        raised here after the current job is answered)."""
        ptr = self._p()
        if not self._handlers and not self._builtin:
            raise _ERRORS_BY_CODE[500]("no handlers registered")
        log(LOG_INFO, "python worker %s serving %d handler(s)" % (
            self.cfg().get_string("component", "-"), len(self.handlers())))
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
        """The worker's JobManager (its C job manager: jobs started in a
        handler become children of the handler's status)."""
        return JobManager(self)

    def status_manager(self):
        return StatusManager(self)

    def afterwards(self, job, name=None, delay=0):
        """afterwards(job[, name][, delay]): once the current handler has
        returned (not if it failed), a copy of ``job`` - renamed to ``name``
        if given - runs, ``delay`` seconds later if > 0.  A copy of the
        current job shares its status: return WORKER_CONTINUE to leave that
        open for it.  ``afterwards(job, 5)`` is a delay without a name."""
        if delay == 0 and isinstance(name, (int, float)) and not isinstance(name, bool):
            name, delay = None, name
        _core.gbx_worker_afterwards(self._p(), job._p(), None if name is None else str(name),
                                    float(delay))

    def clear_afterwards(self):
        """Forgets the jobs afterwards() queued during the current handler."""
        _core.gbx_worker_clear_afterwards(self._p())

    def register_agents(self, name="do_run_global_agents_v1"):
        """Serves ``name`` with the built-in agents runner (content
        {"agents": [...], "content": ...}: the agents run level after level
        as children of its status)."""
        _core.gbx_worker_register_agents(self._p(), str(name))
        self._builtin.add(name)

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


# ---- StopWatch and Scoreboard (worker metrics; core/include/gearbox/scoreboard.h) --

class StopWatch:
    """Gearbox's StopWatch on the monotonic clock: ``start()``, ``stop()``
    (returns the seconds between them), ``elapsed()`` (so far, while it runs)."""

    def __init__(self):
        self._sw = _core.gbx_stopwatch_new()

    def __del__(self):
        sw, self._sw = getattr(self, "_sw", None), None
        if sw is not None:
            _core.gbx_stopwatch_free(sw)

    def start(self):
        """Starts timing from zero (a running stopwatch restarts)."""
        _core.gbx_stopwatch_start(self._sw)

    def stop(self):
        """Stops timing; the seconds between start and stop."""
        return _core.gbx_stopwatch_stop(self._sw)

    def elapsed(self):
        """Seconds between start and stop, or until now while it runs."""
        return _core.gbx_stopwatch_elapsed(self._sw)

    def running(self):
        return bool(_core.gbx_stopwatch_running(self._sw))


class Scoreboard:
    """Gearbox's Scoreboard: per-component worker metrics (counters and
    durations) kept in memory by the core, one scoreboard per component,
    thread-safe.  ``Scoreboard.initialize(component)`` makes one current,
    ``Scoreboard.get_scoreboard()`` (or ``gearbox.get_scoreboard()``) returns
    it; ``Scoreboard.snapshot()`` gives every scoreboard of the process as
    data (the document a metrics endpoint exports; docs/worker.md)."""

    def __init__(self, component):
        self._component = str(component)

    @staticmethod
    def initialize(component):
        """Makes `component`'s scoreboard the current one; returns it."""
        _core.gbx_scoreboard_initialize(str(component))
        return Scoreboard(component)

    @staticmethod
    def get_scoreboard():
        """The current scoreboard (ERR_PRECONDITION_FAILED before initialize)."""
        return Scoreboard(_core.gbx_scoreboard_component())

    @staticmethod
    def snapshot():
        """Every scoreboard of the process: {"components": {name: {"counters":
        ..., "durations": ...}}}."""
        return parse_json(_core.gbx_scoreboard_snapshot())

    def component(self):
        return self._component

    def increment_counter(self, group, name):
        """Adds 1 to counter `name` of `group`."""
        _core.gbx_scoreboard_increment_counter(self._component, str(group), str(name))

    def add_counter(self, group, name, n):
        """Adds `n` (may be negative); returns the new value."""
        return _core.gbx_scoreboard_add_counter(self._component, str(group), str(name), int(n))

    def counter(self, group, name):
        """The value of counter `name` of `group` (0 if never counted)."""
        return _core.gbx_scoreboard_counter(self._component, str(group), str(name))

    def update_duration_hours(self, group, name, metric, stopwatch):
        """Records the stopwatch's reading as one sample of duration `metric`
        of (group, name): count, total, min, max, and per UTC hour."""
        _core.gbx_scoreboard_update_duration_hours(self._component, str(group), str(name), str(metric),
                                                   stopwatch._sw)

    def update_duration(self, group, name, metric, seconds):
        """The same with a number of seconds."""
        _core.gbx_scoreboard_update_duration(self._component, str(group), str(name), str(metric),
                                             float(seconds))


def get_scoreboard():
    """The current scoreboard (Scoreboard.get_scoreboard())."""
    return Scoreboard.get_scoreboard()


__all__.extend(["StopWatch", "Scoreboard", "get_scoreboard"])
