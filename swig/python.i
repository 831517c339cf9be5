/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* swig/python.i - the Python side of swig/gearbox.i (included by it).
 *
 * The module is built with -noproxy: `gearbox._gearbox` holds the flat
 * gbx_* functions, handles are opaque SWIG pointers, and the package
 * `gearbox` (bindings/python/gearbox/__init__.py) builds the worker API of
 * DESIGN §5 on top.  This file holds what Python needs that C headers cannot
 * say:
 *   - gbx_err results raise the exception class of their code (ERR_<NAME>),
 *     registered by the package at import time (gbx_py_set_error_classes);
 *   - json_t values convert to and from dict/list/str/int/float/bool/None;
 *   - out parameters become return values (handles, strings, JSON, bytes);
 *   - handler and hook trampolines: the worker loop calls Python callables
 *     with the GIL taken, and exceptions never cross libgearman's frames.
 */

%begin %{
#define PY_SSIZE_T_CLEAN
%}

%{
#include <stdlib.h>
#include <string.h>
%}

/* ---- what Python does differently -------------------------------------- */

/* Steals its value: the json_t typemap below releases the value itself, so
 * only gbx_status_set_meta (which takes its own reference) is wrapped. */
%ignore gbx_status_set_meta_new;
/* Python reads files itself; the (char **out, size_t *len) pair has no
 * natural mapping next to the getters that return (pointer, length). */
%ignore gbx_read_file;

/* gbx_status_spec / gbx_status_filter are filled by gbx_py_status_create /
 * gbx_py_status_list below; their wrapped string setters are not used. */
#pragma SWIG nowarn=451

/* ---- errors -------------------------------------------------------------- */

%{
/* The package's exception classes: the base class (message, code) and a
 * dict {code: ERR_<NAME>} built from the C table. */
static PyObject *gbx_py_error_base = NULL;
static PyObject *gbx_py_error_classes = NULL;

/* Raises the exception of `code` with the thread's last error message. */
static void gbx_py_raise(int code) {
    const gbx_error *e = gbx_error_last();
    const char *text = (e && e->message && *e->message) ? e->message : "error";
    PyObject *msg = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
    if (!msg) return;
    PyObject *cls = NULL, *exc = NULL;
    if (gbx_py_error_classes) {
        PyObject *key = PyLong_FromLong(code);
        if (key) {
            cls = PyDict_GetItemWithError(gbx_py_error_classes, key); /* borrowed */
            Py_DECREF(key);
        }
        if (PyErr_Occurred()) {
            Py_DECREF(msg);
            return;
        }
    }
    if (cls)
        exc = PyObject_CallFunctionObjArgs(cls, msg, NULL);
    else if (gbx_py_error_base)
        exc = PyObject_CallFunction(gbx_py_error_base, "Oi", msg, code);
    else {
        PyErr_Format(PyExc_RuntimeError, "gearbox error %d: %U", code, msg);
        Py_DECREF(msg);
        return;
    }
    Py_DECREF(msg);
    if (!exc) return; /* the constructor raised: keep that */
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}
%}

%typemap(out) gbx_err {
    if ($1 != GBX_OK) {
        gbx_py_raise((int)$1);
        SWIG_fail;
    }
    $result = SWIG_Py_Void();
}
/* These return a code as data, not a failure. */
%typemap(out) gbx_err gbx_err_at, gbx_err code "$result = PyLong_FromLong((long)$1);"

/* ---- JSON <-> Python ------------------------------------------------------ */

%{
/* A new Python object for `j` (None for NULL). */
static PyObject *gbx_py_from_json(const json_t *j) {
    if (!j) Py_RETURN_NONE;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        PyObject *d = PyDict_New();
        if (!d) return NULL;
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)j, key, value) {
            PyObject *v = gbx_py_from_json(value);
            if (!v || PyDict_SetItemString(d, key, v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(d);
                return NULL;
            }
            Py_DECREF(v);
        }
        return d;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        PyObject *l = PyList_New((Py_ssize_t)n);
        if (!l) return NULL;
        for (size_t i = 0; i < n; i++) {
            PyObject *v = gbx_py_from_json(json_array_get(j, i));
            if (!v) {
                Py_DECREF(l);
                return NULL;
            }
            PyList_SET_ITEM(l, (Py_ssize_t)i, v);
        }
        return l;
    }
    case JSON_STRING:
        return PyUnicode_DecodeUTF8(json_string_value(j), (Py_ssize_t)json_string_length(j),
                                    "surrogateescape");
    case JSON_INTEGER: return PyLong_FromLongLong((long long)json_integer_value(j));
    case JSON_REAL: return PyFloat_FromDouble(json_real_value(j));
    case JSON_TRUE: Py_RETURN_TRUE;
    case JSON_FALSE: Py_RETURN_FALSE;
    case JSON_NULL: Py_RETURN_NONE;
    }
    Py_RETURN_NONE;
}

/* A new json_t for `o`; NULL with a Python exception set when `o` (or
 * anything inside it) has no JSON form. */
static json_t *gbx_py_to_json(PyObject *o) {
    json_t *j = NULL;
    if (o == Py_None) return json_null();
    if (PyBool_Check(o)) return json_boolean(o == Py_True);
    if (PyLong_Check(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow) {
            PyErr_SetString(PyExc_OverflowError, "integer too large for JSON (64-bit)");
            return NULL;
        }
        if (v == -1 && PyErr_Occurred()) return NULL;
        return json_integer((json_int_t)v);
    }
    if (PyFloat_Check(o)) {
        j = json_real(PyFloat_AS_DOUBLE(o));
        if (!j) PyErr_SetString(PyExc_ValueError, "NaN and infinity have no JSON form");
        return j;
    }
    if (PyUnicode_Check(o)) {
        Py_ssize_t len = 0;
        const char *s = PyUnicode_AsUTF8AndSize(o, &len);
        if (!s) return NULL;
        j = json_stringn(s, (size_t)len);
        if (!j) PyErr_NoMemory();
        return j;
    }
    if (PyBytes_Check(o)) {
        j = json_stringn(PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o));
        if (!j) PyErr_SetString(PyExc_ValueError, "bytes for a JSON string must be UTF-8");
        return j;
    }
    if (Py_EnterRecursiveCall(" while converting to JSON")) return NULL;
    if (PyDict_Check(o)) {
        j = json_object();
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (j && PyDict_Next(o, &pos, &key, &value)) {
            if (!PyUnicode_Check(key)) {
                PyErr_Format(PyExc_TypeError, "JSON object keys must be str, not %.100s",
                             Py_TYPE(key)->tp_name);
                goto fail;
            }
            Py_ssize_t klen = 0;
            const char *k = PyUnicode_AsUTF8AndSize(key, &klen);
            if (!k) goto fail;
            if ((size_t)klen != strlen(k)) {
                PyErr_SetString(PyExc_ValueError, "JSON object keys may not contain NUL");
                goto fail;
            }
            json_t *v = gbx_py_to_json(value);
            if (!v || json_object_set_new(j, k, v) != 0) {
                if (!PyErr_Occurred()) PyErr_NoMemory();
                goto fail;
            }
        }
    } else if (PyList_Check(o) || PyTuple_Check(o)) {
        j = json_array();
        Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
        PyObject **items = PySequence_Fast_ITEMS(o);
        for (Py_ssize_t i = 0; j && i < n; i++) {
            json_t *v = gbx_py_to_json(items[i]);
            if (!v || json_array_append_new(j, v) != 0) {
                if (!PyErr_Occurred()) PyErr_NoMemory();
                goto fail;
            }
        }
    } else {
        PyErr_Format(PyExc_TypeError, "%.100s has no JSON form", Py_TYPE(o)->tp_name);
    }
    Py_LeaveRecursiveCall();
    if (!j && !PyErr_Occurred()) PyErr_NoMemory();
    return j;
fail:
    Py_LeaveRecursiveCall();
    json_decref(j);
    return NULL;
}
%}

/* Parameters: a new json_t built from the Python value for the call,
 * released after it (the C functions that keep a value take their own
 * reference).  None is NULL, which those functions read as "none / remove";
 * a schema instance None is JSON null. */
%typemap(in) json_t *, const json_t * {
    if ($input == Py_None) {
        $1 = NULL;
    } else {
        $1 = gbx_py_to_json($input);
        if (!$1) SWIG_fail;
    }
}
%typemap(in) json_t *instance {
    $1 = gbx_py_to_json($input);
    if (!$1) SWIG_fail;
}
%typemap(freearg) json_t *, const json_t * "json_decref($1);"
%typecheck(SWIG_TYPECHECK_POINTER) json_t *, const json_t * "$1 = 1;"

/* Results (always borrowed in the C API): converted, never released. */
%typemap(out) json_t *, const json_t * {
    $result = gbx_py_from_json($1);
    if (!$result) SWIG_fail;
}

/* json_t **out: a new reference, converted and released. */
%typemap(in, numinputs=0) json_t **out (json_t *tmp = NULL), json_t **violations (json_t *tmp = NULL) {
    $1 = &tmp;
}
%typemap(argout) json_t **out, json_t **violations {
    PyObject *o = gbx_py_from_json(*$1);
    if (!o) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, o);
}
%typemap(freearg) json_t **out, json_t **violations "if ($1) json_decref(*$1);"

/* ---- strings and bytes ----------------------------------------------------- */

/* char **out: malloc'ed text -> str (None for NULL), then freed. */
%typemap(in, numinputs=0) char **out (char *tmp = NULL) { $1 = &tmp; }
%typemap(argout) char **out {
    PyObject *o;
    if (*$1) {
        o = PyUnicode_DecodeUTF8(*$1, (Py_ssize_t)strlen(*$1), "surrogateescape");
        if (!o) SWIG_fail;
    } else {
        o = Py_None;
        Py_INCREF(o);
    }
    $result = SWIG_Python_AppendOutput($result, o);
}
%typemap(freearg) char **out "if ($1) free(*$1);"

/* (data, len) inputs: bytes, bytearray or str (sent as UTF-8). */
%typemap(in) (const char *data, size_t len), (const char *text, size_t len), (const char *s, size_t len),
             (const char *workload, size_t len) {
    if (PyUnicode_Check($input)) {
        Py_ssize_t n = 0;
        $1 = (char *)PyUnicode_AsUTF8AndSize($input, &n);
        if (!$1) SWIG_fail;
        $2 = (size_t)n;
    } else if (PyBytes_Check($input)) {
        $1 = PyBytes_AS_STRING($input);
        $2 = (size_t)PyBytes_GET_SIZE($input);
    } else if (PyByteArray_Check($input)) {
        $1 = PyByteArray_AS_STRING($input);
        $2 = (size_t)PyByteArray_GET_SIZE($input);
    } else {
        PyErr_Format(PyExc_TypeError, "expected str or bytes, not %.100s", Py_TYPE($input)->tp_name);
        SWIG_fail;
    }
}
%typecheck(SWIG_TYPECHECK_STRING) (const char *data, size_t len), (const char *text, size_t len), (const char *s, size_t len),
                                  (const char *workload, size_t len) {
    $1 = PyUnicode_Check($input) || PyBytes_Check($input) || PyByteArray_Check($input);
}

/* const char *f(..., size_t *len): the pointer and length -> bytes (None
 * for NULL).  Replaces the str the default typemap made of the pointer. */
%typemap(in, numinputs=0) size_t *len (size_t tmp = 0) { $1 = &tmp; }
%typemap(argout) size_t *len {
    Py_XDECREF($result);
    if (result) {
        $result = PyBytes_FromStringAndSize(result, (Py_ssize_t)*$1);
        if (!$result) SWIG_fail;
    } else {
        $result = Py_None;
        Py_INCREF($result);
    }
}

/* gbx_id_generate and friends: a buffer of GBX_ID_MAX -> str. */
%typemap(in, numinputs=0) (char *out, size_t outlen) (char buf[GBX_ID_MAX]) {
    buf[0] = '\0';
    $1 = buf;
    $2 = sizeof buf;
}
%typemap(argout) (char *out, size_t outlen) {
    $result = SWIG_Python_AppendOutput($result, PyUnicode_FromString($1));
}

/* long long *out (gbx_status_counter_add) -> int. */
%typemap(in, numinputs=0) long long *out (long long tmp = 0) { $1 = &tmp; }
%typemap(argout) long long *out { $result = SWIG_Python_AppendOutput($result, PyLong_FromLongLong(*$1)); }

/* gbx_jobmanager_run_due: (submitted, next_due). */
%typemap(in, numinputs=0) (size_t *submitted, double *next_due) (size_t tmp_n = 0, double tmp_due = 0) {
    $1 = &tmp_n;
    $2 = &tmp_due;
}
%typemap(argout) (size_t *submitted, double *next_due) {
    $result = SWIG_Python_AppendOutput($result, PyLong_FromSize_t(*$1));
    $result = SWIG_Python_AppendOutput($result, PyFloat_FromDouble(*$2));
}

/* bool *served -> bool. */
%typemap(in, numinputs=0) bool *served (bool tmp = false) { $1 = &tmp; }
%typemap(argout) bool *served { $result = SWIG_Python_AppendOutput($result, PyBool_FromLong(*$1)); }

/* ---- handles ----------------------------------------------------------------- */

/* TYPE **out: a new handle -> a SWIG pointer (not owned by SWIG: the
 * package frees it with gbx_<type>_free). */
%define GBX_PY_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *tmp = NULL) { $1 = &tmp; }
%typemap(argout) TYPE **out {
    $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(SWIG_as_voidptr(*$1), $*1_descriptor, 0));
}
%enddef
GBX_PY_HANDLE_OUT(gbx_config)
GBX_PY_HANDLE_OUT(gbx_uri)
GBX_PY_HANDLE_OUT(gbx_schema_registry)
GBX_PY_HANDLE_OUT(gbx_schema)
GBX_PY_HANDLE_OUT(gbx_envelope)
GBX_PY_HANDLE_OUT(gbx_store)
GBX_PY_HANDLE_OUT(gbx_status)
GBX_PY_HANDLE_OUT(gbx_response)
GBX_PY_HANDLE_OUT(gbx_job)
GBX_PY_HANDLE_OUT(gbx_worker)
GBX_PY_HANDLE_OUT(gbx_jobmanager)
GBX_PY_HANDLE_OUT(gbx_job_queue)
GBX_PY_HANDLE_OUT(gbx_stopwatch)

/* Calls that wait (for gearmand, a reply, an HTTP answer, a status) run
 * without the GIL, so that other Python threads - a worker serving the job
 * being waited for, an HTTP server answering a REST job - keep running.
 * They touch no Python object; their errors are per-thread in C. */
%define GBX_PY_NOGIL(FUNC)
%exception FUNC {
    Py_BEGIN_ALLOW_THREADS
    $action
    Py_END_ALLOW_THREADS
}
%enddef
GBX_PY_NOGIL(gbx_jobmanager_job)
GBX_PY_NOGIL(gbx_jobmanager_run)
GBX_PY_NOGIL(gbx_jobmanager_delay)
GBX_PY_NOGIL(gbx_jobmanager_retry)
GBX_PY_NOGIL(gbx_jobmanager_status)
GBX_PY_NOGIL(gbx_jobmanager_wait)
GBX_PY_NOGIL(gbx_jobmanager_submit)
GBX_PY_NOGIL(gbx_jobmanager_run_due)
GBX_PY_NOGIL(gbx_jobmanager_fire)
GBX_PY_NOGIL(gbx_jobmanager_cancel)
GBX_PY_NOGIL(gbx_jobmanager_reschedule)
GBX_PY_NOGIL(gbx_jobmanager_job_queue)
GBX_PY_NOGIL(gbx_jobmanager_job_queue_run)
GBX_PY_NOGIL(gbx_status_refresh)
GBX_PY_NOGIL(gbx_status_checkpoint)

/* The worker loop waits for gearmand without the GIL; a handler that asked
 * the worker to stop (KeyboardInterrupt, SystemExit) is re-raised after. */
%exception gbx_worker_run {
    Py_BEGIN_ALLOW_THREADS
    $action
    Py_END_ALLOW_THREADS
    if (gbx_py_reraise_stop()) SWIG_fail;
}
%exception gbx_worker_work_once {
    Py_BEGIN_ALLOW_THREADS
    $action
    Py_END_ALLOW_THREADS
    if (gbx_py_reraise_stop()) SWIG_fail;
}

/* ---- trampolines ------------------------------------------------------------- */

%{
/* One entry per registered handler and one (name NULL) for a worker's
 * hooks; the callables are the package's dispatchers, which hold the
 * Python worker only weakly, so no reference cycle passes through C. */
typedef struct gbx_py_binding {
    struct gbx_py_binding *next;
    gbx_worker *worker;
    char *name;
    PyObject *fn;   /* handler(job_ptr, resp_ptr), or the pre hook(job_ptr) */
    PyObject *post; /* hooks only: post hook(job_ptr) */
} gbx_py_binding;

static gbx_py_binding *gbx_py_bindings = NULL;

/* An exception that must stop the worker (anything that is not an
 * Exception: KeyboardInterrupt, SystemExit), raised again once the loop has
 * returned to Python. */
static PyObject *gbx_py_stop_type = NULL, *gbx_py_stop_value = NULL, *gbx_py_stop_tb = NULL;

static int gbx_py_reraise_stop(void) {
    if (!gbx_py_stop_type) return 0;
    PyErr_Restore(gbx_py_stop_type, gbx_py_stop_value, gbx_py_stop_tb);
    gbx_py_stop_type = gbx_py_stop_value = gbx_py_stop_tb = NULL;
    return 1;
}

/* The traceback of the fetched exception as text (new str or NULL). */
static PyObject *gbx_py_format_exception(PyObject *type, PyObject *value, PyObject *tb) {
    PyObject *mod = PyImport_ImportModule("traceback");
    PyObject *lines = mod ? PyObject_CallMethod(mod, "format_exception", "OOO", type,
                                                value ? value : Py_None, tb ? tb : Py_None) : NULL;
    PyObject *empty = lines ? PyUnicode_FromString("") : NULL;
    PyObject *text = empty ? PyUnicode_Join(empty, lines) : NULL;
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_XDECREF(mod);
    if (!text) PyErr_Clear();
    return text;
}

/* str(o) as UTF-8 into buf ("" when it has none). */
static void gbx_py_str(char *buf, size_t size, PyObject *o) {
    buf[0] = '\0';
    PyObject *s = o ? PyObject_Str(o) : NULL;
    const char *u = s ? PyUnicode_AsUTF8(s) : NULL;
    if (u) snprintf(buf, size, "%s", u);
    else PyErr_Clear();
    Py_XDECREF(s);
}

/* Turns the pending Python exception into the thread's last error (what
 * the worker runtime reports) and clears it.  `what` names the callee for
 * the log. */
static void gbx_py_record_exception(gbx_worker *worker, const char *what) {
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    PyErr_Fetch(&type, &value, &tb);
    if (!type) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s failed without an exception", what);
        return;
    }
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value) PyException_SetTraceback(value, tb);
    char message[2048];

    if (gbx_py_error_base && value && PyObject_IsInstance(value, gbx_py_error_base) == 1) {
        PyObject *code_obj = PyObject_GetAttrString(value, "code");
        PyObject *msg_obj = PyObject_GetAttrString(value, "message");
        long code = code_obj ? PyLong_AsLong(code_obj) : -1;
        if (code == -1 && PyErr_Occurred()) PyErr_Clear();
        if (!msg_obj) PyErr_Clear();
        gbx_py_str(message, sizeof message, msg_obj ? msg_obj : value);
        Py_XDECREF(code_obj);
        Py_XDECREF(msg_obj);
        gbx_error_set((gbx_err)(code > 0 ? code : GBX_ERR_INTERNAL_SERVER_ERROR), "%s", message);
        gbx_log(GBX_LOG_DEBUG, "%s raised %s [%ld]: %s", what, Py_TYPE(value)->tp_name, code, message);
    } else if (!PyErr_GivenExceptionMatches(type, PyExc_Exception)) {
        /* KeyboardInterrupt, SystemExit: the job fails, the worker stops. */
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "worker interrupted by %s",
                      ((PyTypeObject *)type)->tp_name);
        gbx_log(GBX_LOG_WARN, "%s: %s, stopping the worker", what, ((PyTypeObject *)type)->tp_name);
        if (worker) gbx_worker_stop(worker);
        if (!gbx_py_stop_type) {
            gbx_py_stop_type = type;
            gbx_py_stop_value = value;
            gbx_py_stop_tb = tb;
            return;
        }
    } else {
        gbx_py_str(message, sizeof message, value);
        if (!message[0]) snprintf(message, sizeof message, "%s", ((PyTypeObject *)type)->tp_name);
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s", message);
        PyObject *trace = gbx_py_format_exception(type, value, tb);
        const char *t = trace ? PyUnicode_AsUTF8(trace) : NULL;
        if (!t) PyErr_Clear();
        gbx_log(GBX_LOG_ERROR, "%s raised %s", what, t ? t : message);
        Py_XDECREF(trace);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

static gbx_worker_result gbx_py_trampoline(gbx_job *job, gbx_response *resp, void *user) {
    gbx_py_binding *b = user;
    PyGILState_STATE gil = PyGILState_Ensure();
    gbx_worker_result result = GBX_WORKER_ERROR;
    PyObject *pjob = SWIG_NewPointerObj(SWIG_as_voidptr(job), SWIGTYPE_p_gbx_job, 0);
    PyObject *presp = SWIG_NewPointerObj(SWIG_as_voidptr(resp), SWIGTYPE_p_gbx_response, 0);
    PyObject *ret = (pjob && presp) ? PyObject_CallFunctionObjArgs(b->fn, pjob, presp, NULL) : NULL;
    if (!ret) {
        gbx_py_record_exception(b->worker, b->name);
    } else {
        long r = PyLong_Check(ret) && !PyBool_Check(ret) ? PyLong_AsLong(ret) : -1;
        if (r >= GBX_WORKER_SUCCESS && r <= GBX_WORKER_RETRY) {
            result = (gbx_worker_result)r;
        } else {
            PyErr_Clear();
            char got[256];
            gbx_py_str(got, sizeof got, ret);
            gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                          "handler %s returned %s instead of WORKER_SUCCESS, WORKER_ERROR, "
                          "WORKER_CONTINUE or WORKER_RETRY", b->name, got);
        }
        Py_DECREF(ret);
    }
    Py_XDECREF(pjob);
    Py_XDECREF(presp);
    PyGILState_Release(gil);
    return result;
}

static void gbx_py_call_hook(gbx_py_binding *b, PyObject *fn, gbx_job *job, const char *what) {
    if (!fn) return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *pjob = SWIG_NewPointerObj(SWIG_as_voidptr(job), SWIGTYPE_p_gbx_job, 0);
    PyObject *ret = pjob ? PyObject_CallFunctionObjArgs(fn, pjob, NULL) : NULL;
    if (!ret) {
        /* A hook cannot fail the job: its error is logged. */
        gbx_py_record_exception(b->worker, what);
        gbx_log(GBX_LOG_ERROR, "%s failed: %s", what, gbx_error_last()->message);
        gbx_error_clear();
    }
    Py_XDECREF(ret);
    Py_XDECREF(pjob);
    PyGILState_Release(gil);
}

static void gbx_py_pre_hook(gbx_job *job, void *user) {
    gbx_py_binding *b = user;
    gbx_py_call_hook(b, b->fn, job, "pre_request");
}

static void gbx_py_post_hook(gbx_job *job, void *user) {
    gbx_py_binding *b = user;
    gbx_py_call_hook(b, b->post, job, "post_request");
}

static gbx_py_binding *gbx_py_binding_find(gbx_worker *w, const char *name) {
    for (gbx_py_binding *b = gbx_py_bindings; b; b = b->next)
        if (b->worker == w && ((!name && !b->name) || (name && b->name && strcmp(name, b->name) == 0)))
            return b;
    return NULL;
}

static gbx_py_binding *gbx_py_binding_get(gbx_worker *w, const char *name) {
    gbx_py_binding *b = gbx_py_binding_find(w, name);
    if (b) return b;
    if (!(b = calloc(1, sizeof *b)) || (name && !(b->name = strdup(name)))) {
        free(b);
        return NULL;
    }
    b->worker = w;
    b->next = gbx_py_bindings;
    gbx_py_bindings = b;
    return b;
}
%}

%inline %{
/* Registers a Python callable(job_ptr, resp_ptr) -> int for handler `name`
 * (again: replaces it). */
gbx_err gbx_py_worker_register(gbx_worker *worker, const char *name, PyObject *handler) {
    if (!worker || !name || !PyCallable_Check(handler))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "register: a worker, a name and a callable are required");
    gbx_py_binding *b = gbx_py_binding_get(worker, name);
    if (!b) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err err = gbx_worker_register(worker, name, gbx_py_trampoline, b);
    if (err != GBX_OK) return err;
    Py_INCREF(handler);
    Py_XSETREF(b->fn, handler);
    return GBX_OK;
}

/* Installs callable(job_ptr) hooks before / after each handler (None: no
 * hook). */
gbx_err gbx_py_worker_set_hooks(gbx_worker *worker, PyObject *pre, PyObject *post) {
    if (!worker) return gbx_error_set(GBX_ERR_BAD_REQUEST, "set_hooks: no worker");
    gbx_py_binding *b = gbx_py_binding_get(worker, NULL);
    if (!b) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    Py_XINCREF(pre == Py_None ? NULL : pre);
    Py_XINCREF(post == Py_None ? NULL : post);
    Py_XSETREF(b->fn, pre == Py_None ? NULL : pre);
    Py_XSETREF(b->post, post == Py_None ? NULL : post);
    if (b->fn || b->post)
        gbx_worker_set_hooks(worker, b->fn ? gbx_py_pre_hook : NULL, b->post ? gbx_py_post_hook : NULL, b);
    else
        gbx_worker_set_hooks(worker, NULL, NULL, NULL);
    return GBX_OK;
}

/* Frees the worker and the Python references its handlers and hooks hold. */
void gbx_py_worker_free(gbx_worker *worker) {
    if (!worker) return;
    gbx_worker_free(worker);
    gbx_py_binding **link = &gbx_py_bindings;
    while (*link) {
        gbx_py_binding *b = *link;
        if (b->worker != worker) {
            link = &b->next;
            continue;
        }
        *link = b->next;
        Py_XDECREF(b->fn);
        Py_XDECREF(b->post);
        free(b->name);
        free(b);
    }
}

/* Serves at most one job, waiting up to timeout_ms without the GIL.
 * Returns True if a job was served.  Raises what must stop the worker (an
 * interrupt inside a handler, a signal handler's exception); an unreachable
 * gearmand is not an error here (the runtime logs it and backs off). */
PyObject *gbx_py_worker_serve(gbx_worker *worker, int timeout_ms) {
    if (!worker) {
        PyErr_SetString(PyExc_ValueError, "no worker");
        return NULL;
    }
    bool served = false;
    gbx_err err;
    Py_BEGIN_ALLOW_THREADS
    err = gbx_worker_work_once(worker, timeout_ms, &served);
    Py_END_ALLOW_THREADS
    if (gbx_py_reraise_stop()) return NULL;
    if (PyErr_CheckSignals() < 0) return NULL;
    if (err != GBX_OK && err != GBX_ERR_SERVICE_UNAVAILABLE) {
        gbx_py_raise((int)err);
        return NULL;
    }
    return PyBool_FromLong(served);
}

/* The package's exception classes (see gbx_py_raise). */
void gbx_py_set_error_classes(PyObject *base, PyObject *by_code) {
    if (!PyDict_Check(by_code)) {
        PyErr_SetString(PyExc_TypeError, "by_code must be a dict");
        return;
    }
    Py_INCREF(base);
    Py_INCREF(by_code);
    Py_XSETREF(gbx_py_error_base, base);
    Py_XSETREF(gbx_py_error_classes, by_code);
}

/* Sets the thread's last error (gbx_error_set is printf-style). */
int gbx_py_error_set(int code, const char *message) {
    return (int)gbx_error_set((gbx_err)code, "%s", message ? message : "");
}

/* One log line through the library's callback. */
void gbx_py_log(int level, const char *message) {
    gbx_log((gbx_log_level)level, "%s", message ? message : "");
}

/* Sends the library's log to stderr, or appended to `path`. */
gbx_err gbx_py_log_to_file(const char *path) {
    FILE *f = stderr;
    if (path && *path && !(f = fopen(path, "a")))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot open log file %s", path);
    if (f != stderr) setvbuf(f, NULL, _IOLBF, 0);
    gbx_log_set_callback(gbx_log_to_file, f);
    return GBX_OK;
}

/* gbx_status_create with the spec's fields as arguments (None = unset). */
gbx_err gbx_py_status_create(gbx_status **out, gbx_store *store, const char *id,
                             const char *operation, const char *component, const char *uri,
                             const char *status_base, const char *parent_uri,
                             const char *envelope, const char *scope) {
    gbx_status_spec spec = {id, operation, component, uri, status_base, parent_uri, envelope, scope};
    return gbx_status_create(out, store, &spec);
}

/* gbx_status_list with the filter's fields as arguments (None / -1 /
 * 0 = any, see gbx_status_filter). */
gbx_err gbx_py_status_list(json_t **out, gbx_store *store, const char *uri, const char *state,
                           const char *operation, const char *component, const char *scope,
                           int code, int progress, int count) {
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    f.uri = uri;
    f.state = state;
    f.operation = operation;
    f.component = component;
    f.scope = scope;
    f.code = code;
    f.progress = progress;
    f.count = count;
    return gbx_status_list(out, store, &f);
}
%}
