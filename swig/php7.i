/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* swig/php7.i - PHP (8.x) typemaps and trampolines for swig/gearbox.i.
 *
 * What lives here (and nowhere else for PHP):
 *   - the exception classes: Gearbox\Error (base, extends \Exception) and
 *     Gearbox\ERR_<NAME> for every code of GBX_ERROR_TABLE, registered when
 *     the extension loads from gbx_err_count()/gbx_err_at()/gbx_err_name(),
 *     each with its code as the default of $code (so `new ERR_NOT_FOUND("x")`
 *     has getCode() 404), and the aliases ERR_<NAME>, ERR_CODE_<n>,
 *     Gearbox\ERR_CODE_<n> and GearboxError;
 *   - gbx_err results -> a thrown ERR_<NAME> (message: the thread's last
 *     error); a code outside the table -> Gearbox\Error with that code;
 *   - json_t <-> PHP data (objects -> string-keyed arrays, arrays -> lists);
 *   - out parameters -> return values; byte strings with lengths;
 *   - the handler trampoline: gbx_worker_run (C) calls
 *     $worker->_gbx_dispatch($job, $resp) on the PHP Worker object; a thrown
 *     ERR_* becomes gbx_error_set(code, message) + GBX_WORKER_ERROR, any other
 *     Throwable a 500 with its message; the exception is cleared there, so it
 *     never unwinds through libgearman's frames.  A PHP fatal error (bailout)
 *     inside a handler stops the worker and is re-raised once gbx_worker_run
 *     has returned.
 * The idiomatic classes (Worker, Job, JobResponse, Status, ...) are in
 * bindings/php/Gearbox.php.
 */

%{
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "zend_exceptions.h"
#include "zend_interfaces.h"

/* ---- exception classes ------------------------------------------------ */

static zend_class_entry *gbx_php__error_ce;           /* Gearbox\Error */
static zend_class_entry *gbx_php__err_ce[1000];       /* by code */

static zend_class_entry *gbx_php__class_for(int code) {
    if (code > 0 && code < 1000 && gbx_php__err_ce[code]) return gbx_php__err_ce[code];
    return gbx_php__error_ce;
}

/* Throws the ERR_<NAME> of `code` with `message`. */
static void gbx_php__throw(int code, const char *message) {
    zend_throw_exception(gbx_php__class_for(code), message ? message : "", code);
}

/* Throws the class of the thread's last error. */
static void gbx_php__throw_last(gbx_err code) {
    const gbx_error *e = gbx_error_last();
    int c = (int)code;
    const char *msg = e->message;
    if (e->code != code || !msg || !*msg) msg = gbx_err_name(c) ? gbx_err_name(c) : "error";
    gbx_php__throw(c, msg);
}

static void gbx_php__alias(const char *name, zend_class_entry *ce) {
    zend_register_class_alias_ex(name, strlen(name), ce, 1);
}

static void gbx_php__register_errors(void) {
    zend_class_entry ce;
    INIT_CLASS_ENTRY(ce, "Gearbox\\Error", NULL);
    gbx_php__error_ce = zend_register_internal_class_ex(&ce, zend_ce_exception);
    gbx_php__alias("GearboxError", gbx_php__error_ce);
    for (size_t i = 0; i < gbx_err_count(); i++) {
        int code = (int)gbx_err_at(i);
        const char *name = gbx_err_name(code);
        char cls[160];
        snprintf(cls, sizeof cls, "Gearbox\\ERR_%s", name);
        zend_class_entry tmp;
        memset(&tmp, 0, sizeof tmp);
        INIT_CLASS_ENTRY_EX(tmp, cls, strlen(cls), NULL);
        zend_class_entry *err = zend_register_internal_class_ex(&tmp, gbx_php__error_ce);
        /* Exception::__construct keeps $code when given none (or 0). */
        zend_declare_property_long(err, "code", sizeof "code" - 1, code, ZEND_ACC_PROTECTED);
        if (code > 0 && code < 1000) gbx_php__err_ce[code] = err;
        snprintf(cls, sizeof cls, "ERR_%s", name);
        gbx_php__alias(cls, err);
        snprintf(cls, sizeof cls, "ERR_CODE_%d", code);
        gbx_php__alias(cls, err);
        snprintf(cls, sizeof cls, "Gearbox\\ERR_CODE_%d", code);
        gbx_php__alias(cls, err);
    }
    /* The other names of a code (ERR_GATEWAY_TIMEOUT for Gearbox's
     * ERR_GATEWAY_TIME_OUT): aliases of the same class. */
    for (size_t i = 0; i < gbx_err_name_count(); i++) {
        const char *alias = gbx_err_name_at(i);
        int code = gbx_err_from_name(alias);
        if (strcmp(alias, gbx_err_name(code)) == 0 || !gbx_php__err_ce[code]) continue;
        char cls[160];
        snprintf(cls, sizeof cls, "Gearbox\\ERR_%s", alias);
        gbx_php__alias(cls, gbx_php__err_ce[code]);
        snprintf(cls, sizeof cls, "ERR_%s", alias);
        gbx_php__alias(cls, gbx_php__err_ce[code]);
    }
}

/* ---- JSON <-> PHP ----------------------------------------------------- */

#define GBX_PHP__MAX_DEPTH 512

static void gbx_php__from_json(zval *out, const json_t *j) {
    switch (j ? json_typeof(j) : JSON_NULL) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        array_init_size(out, (uint32_t)json_object_size(j));
        json_object_foreach((json_t *)j, key, value) {
            zval v;
            gbx_php__from_json(&v, value);
            /* symtable: "12" becomes the integer key 12, as PHP itself does. */
            zend_symtable_str_update(Z_ARRVAL_P(out), key, strlen(key), &v);
        }
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        array_init_size(out, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            zval v;
            gbx_php__from_json(&v, json_array_get(j, i));
            add_next_index_zval(out, &v);
        }
        return;
    }
    case JSON_STRING: ZVAL_STRINGL(out, json_string_value(j), json_string_length(j)); return;
    case JSON_INTEGER: ZVAL_LONG(out, (zend_long)json_integer_value(j)); return;
    case JSON_REAL: ZVAL_DOUBLE(out, json_real_value(j)); return;
    case JSON_TRUE: ZVAL_TRUE(out); return;
    case JSON_FALSE: ZVAL_FALSE(out); return;
    default: ZVAL_NULL(out); return;
    }
}

/* A new json_t for PHP data: list arrays (also []) -> JSON arrays, other arrays and
 * objects -> JSON objects, strings (UTF-8 only) -> strings.  NULL with a
 * Gearbox\ERR_BAD_REQUEST thrown for what JSON cannot hold. */
static json_t *gbx_php__to_json(zval *z, int depth) {
    ZVAL_DEREF(z);
    if (depth > GBX_PHP__MAX_DEPTH) {
        gbx_php__throw(GBX_ERR_BAD_REQUEST, "value nested too deeply (or recursive) for JSON");
        return NULL;
    }
    switch (Z_TYPE_P(z)) {
    case IS_NULL: return json_null();
    case IS_TRUE: return json_true();
    case IS_FALSE: return json_false();
    case IS_LONG: return json_integer((json_int_t)Z_LVAL_P(z));
    case IS_DOUBLE: return json_real(Z_DVAL_P(z));
    case IS_STRING: {
        json_t *s = json_stringn(Z_STRVAL_P(z), Z_STRLEN_P(z));
        if (!s) gbx_php__throw(GBX_ERR_BAD_REQUEST, "string is not valid UTF-8, JSON cannot hold it");
        return s;
    }
    case IS_ARRAY:
    case IS_OBJECT: {
        HashTable *ht = Z_TYPE_P(z) == IS_ARRAY ? Z_ARRVAL_P(z) : Z_OBJPROP_P(z);
        bool list = Z_TYPE_P(z) == IS_ARRAY && zend_array_is_list(ht);
        json_t *out = list ? json_array() : json_object();
        zend_string *key;
        zend_ulong idx;
        zval *value;
        if (!out) return NULL;
        ZEND_HASH_FOREACH_KEY_VAL(ht, idx, key, value) {
            json_t *v = gbx_php__to_json(value, depth + 1);
            if (!v) {
                json_decref(out);
                return NULL;
            }
            if (list) {
                json_array_append_new(out, v);
            } else {
                char num[32];
                const char *k = num;
                size_t klen;
                if (key) {
                    k = ZSTR_VAL(key);
                    klen = ZSTR_LEN(key);
                } else {
                    klen = (size_t)snprintf(num, sizeof num, ZEND_ULONG_FMT, idx);
                }
                if (json_object_setn_new(out, k, klen, v) != 0) {
                    json_decref(out);
                    gbx_php__throw(GBX_ERR_BAD_REQUEST, "object key is not valid UTF-8, JSON cannot hold it");
                    return NULL;
                }
            }
        } ZEND_HASH_FOREACH_END();
        return out;
    }
    default:
        gbx_php__throw(GBX_ERR_BAD_REQUEST, "a value of this type cannot be converted to JSON");
        return NULL;
    }
}

/* ---- worker bindings and the handler trampoline ---------------------- */

/* One per gbx_worker: the PHP Worker object whose _gbx_dispatch and
 * _gbx_hook methods the trampolines call.  Not a counted reference (the
 * PHP object owns the gbx_worker, not the other way round); the Worker's
 * destructor unbinds before it frees the worker. */
typedef struct gbx_php__binding {
    gbx_worker *worker;
    zend_object *object;
    bool bailed;    /* a PHP fatal error happened inside a handler */
    struct gbx_php__binding *next;
} gbx_php__binding;

static gbx_php__binding *gbx_php__bindings;

static gbx_php__binding *gbx_php__find(gbx_worker *w) {
    for (gbx_php__binding *b = gbx_php__bindings; b; b = b->next)
        if (b->worker == w) return b;
    return NULL;
}

static gbx_php__binding *gbx_php__bind(gbx_worker *w, zval *target) {
    if (Z_TYPE_P(target) != IS_OBJECT) {
        zend_type_error("the handler target must be the PHP Worker object");
        return NULL;
    }
    gbx_php__binding *b = gbx_php__find(w);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) {
            gbx_php__throw(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
            return NULL;
        }
        b->worker = w;
        b->next = gbx_php__bindings;
        gbx_php__bindings = b;
    }
    b->object = Z_OBJ_P(target);
    return b;
}

static void gbx_php__unbind(gbx_worker *w) {
    for (gbx_php__binding **p = &gbx_php__bindings; *p; p = &(*p)->next) {
        if ((*p)->worker == w) {
            gbx_php__binding *b = *p;
            *p = b->next;
            free(b);
            return;
        }
    }
}

/* Turns the pending PHP exception into the thread's last error and clears
 * it: ERR_* -> its code and message, any other Throwable -> 500. */
static void gbx_php__take_exception(const char *where) {
    zend_object *ex = EG(exception);
    zval rv, *zmsg, *zcode;
    zend_class_entry *base = zend_get_exception_base(ex);
    const char *msg;
    int code = GBX_ERR_INTERNAL_SERVER_ERROR;
    zmsg = zend_read_property(base, ex, "message", sizeof "message" - 1, 1, &rv);
    msg = (zmsg && Z_TYPE_P(zmsg) == IS_STRING) ? Z_STRVAL_P(zmsg) : "";
    if (instanceof_function(ex->ce, gbx_php__error_ce)) {
        zval rv2;
        zcode = zend_read_property(base, ex, "code", sizeof "code" - 1, 1, &rv2);
        if (zcode && Z_TYPE_P(zcode) == IS_LONG && Z_LVAL_P(zcode) >= 100 && Z_LVAL_P(zcode) <= 999)
            code = (int)Z_LVAL_P(zcode);
        gbx_error_set((gbx_err)code, "%s", msg);
    } else {
        gbx_log(GBX_LOG_WARN, "%s: uncaught %s: %s", where, ZSTR_VAL(ex->ce->name), msg);
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s", *msg ? msg : ZSTR_VAL(ex->ce->name));
    }
    zend_clear_exception();
}

static gbx_worker_result gbx_php__trampoline(gbx_job *job, gbx_response *resp, void *user) {
    gbx_php__binding *b = user;
    gbx_worker_result result = GBX_WORKER_ERROR;
    zval zjob, zresp, ret;
    volatile bool bailed = false;
    if (!b->object) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "PHP worker object is gone");
        return GBX_WORKER_ERROR;
    }
    ZVAL_UNDEF(&ret);
    ZVAL_NULL(&zjob); /* SWIG_SetPointerZval reuses a zval that is already an object */
    ZVAL_NULL(&zresp);
    SWIG_SetPointerZval(&zjob, job, SWIGTYPE_p_gbx_job, 0);
    SWIG_SetPointerZval(&zresp, resp, SWIGTYPE_p_gbx_response, 0);
    zend_try {
        zend_call_method(b->object, b->object->ce, NULL, "_gbx_dispatch", sizeof "_gbx_dispatch" - 1,
                         &ret, 2, &zjob, &zresp);
    } zend_catch {
        bailed = true;
    } zend_end_try();
    zval_ptr_dtor(&zjob);
    zval_ptr_dtor(&zresp);
    if (bailed) {
        /* A fatal error: PHP must shut down; stop the loop and re-raise it
         * once gbx_worker_run has returned (gbx_php_worker_run). */
        b->bailed = true;
        gbx_worker_stop(b->worker);
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "PHP fatal error in handler %s", gbx_job_name(job));
        return GBX_WORKER_ERROR;
    }
    if (EG(exception)) {
        gbx_php__take_exception(gbx_job_name(job));
        zval_ptr_dtor(&ret);
        return GBX_WORKER_ERROR;
    }
    if (Z_TYPE(ret) == IS_LONG && Z_LVAL(ret) >= GBX_WORKER_SUCCESS && Z_LVAL(ret) <= GBX_WORKER_RETRY) {
        result = (gbx_worker_result)Z_LVAL(ret);
    } else {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "handler %s: dispatcher returned no result",
                      gbx_job_name(job));
    }
    zval_ptr_dtor(&ret);
    return result;
}

static void gbx_php__hook(gbx_job *job, void *user, const char *phase) {
    gbx_php__binding *b = user;
    zval zjob, zphase, ret;
    volatile bool bailed = false;
    if (!b->object || b->bailed) return;
    ZVAL_UNDEF(&ret);
    ZVAL_NULL(&zjob);
    SWIG_SetPointerZval(&zjob, job, SWIGTYPE_p_gbx_job, 0);
    ZVAL_STRING(&zphase, phase);
    zend_try {
        zend_call_method(b->object, b->object->ce, NULL, "_gbx_hook", sizeof "_gbx_hook" - 1, &ret, 2,
                         &zphase, &zjob);
    } zend_catch {
        bailed = true;
    } zend_end_try();
    zval_ptr_dtor(&zjob);
    zval_ptr_dtor(&zphase);
    zval_ptr_dtor(&ret);
    if (bailed) {
        b->bailed = true;
        gbx_worker_stop(b->worker);
        return;
    }
    if (EG(exception)) {
        /* As in Gearbox, a failing hook does not fail the job: log it. */
        char where[64];
        snprintf(where, sizeof where, "%s_request", phase);
        gbx_php__take_exception(where);
        gbx_log(GBX_LOG_WARN, "%s: %s", where, gbx_error_last()->message);
        gbx_error_clear();
    }
}

static void gbx_php__pre(gbx_job *job, void *user) { gbx_php__hook(job, user, "pre"); }
static void gbx_php__post(gbx_job *job, void *user) { gbx_php__hook(job, user, "post"); }

static gbx_err gbx_php__finish(gbx_worker *w, gbx_err rc) {
    gbx_php__binding *b = gbx_php__find(w);
    if (b && b->bailed) zend_bailout(); /* continue PHP's fatal-error shutdown */
    return rc;
}
%}

/* ---- typemaps ----------------------------------------------------------- */

/* gbx_err: NULL (or the out value) on success, an exception otherwise. */
%typemap(out) gbx_err %{
  if ($1 != GBX_OK) {
    gbx_php__throw_last($1);
    SWIG_fail;
  }
  RETVAL_NULL();
%}

/* gbx_err_at returns a code of the table, not a failure. */
%typemap(out) gbx_err gbx_err_at %{ RETVAL_LONG((zend_long)$1); %}

/* Borrowed json_t results -> PHP data (a copy). */
%typemap(out) json_t * %{ gbx_php__from_json($result, $1); %}

/* json_t parameters <- PHP data; the call takes its own reference. */
%typemap(in) json_t *, const json_t * %{
  $1 = gbx_php__to_json(&$input, 0);
  if (!$1) SWIG_fail;
%}
%typemap(freearg) json_t *, const json_t * %{ json_decref((json_t *)$1); %}
%typemap(typecheck, precedence=SWIG_TYPECHECK_POINTER) json_t *, const json_t * %{ $1 = 1; %}

/* json_t **out: a new reference -> PHP data. */
%typemap(in, numinputs=0) json_t **out (json_t *tmp = NULL), json_t **violations (json_t *tmp = NULL)
  %{ $1 = &tmp; %}
%typemap(argout) json_t **out, json_t **violations %{
  gbx_php__from_json($result, *$1);
  json_decref(*$1);
%}

/* char **out: malloc'ed -> PHP string. */
%typemap(in, numinputs=0) char **out (char *tmp = NULL) %{ $1 = &tmp; %}
%typemap(argout) char **out %{
  if (*$1) {
    ZVAL_STRING($result, *$1);
  } else {
    ZVAL_NULL($result);
  }
  free(*$1);
%}

/* (char **out, size_t *len): bytes -> PHP string. */
%typemap(in, numinputs=0) (char **out, size_t *len) (char *tmp = NULL, size_t tmplen = 0)
  %{ $1 = &tmp; $2 = &tmplen; %}
%typemap(argout) (char **out, size_t *len) %{
  if (*$1) {
    ZVAL_STRINGL($result, *$1, *$2);
  } else {
    ZVAL_NULL($result);
  }
  free(*$1);
%}

/* (char *out, size_t outlen): a buffer the call fills (ids). */
%typemap(in, numinputs=0) (char *out, size_t outlen) (char buf[GBX_ID_MAX]) %{
  $1 = buf;
  $2 = sizeof buf;
  buf[0] = '\0';
%}
%typemap(argout) (char *out, size_t outlen) %{ ZVAL_STRING($result, $1); %}

/* Handles: a PHP object over the pointer; the idiomatic layer frees it. */
%define GBX_PHP_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *tmp = NULL) %{ $1 = &tmp; %}
%typemap(argout) TYPE **out %{ SWIG_SetPointerZval($result, (void *)*$1, $*1_descriptor, 0); %}
%enddef
GBX_PHP_HANDLE_OUT(gbx_worker)
GBX_PHP_HANDLE_OUT(gbx_job)
GBX_PHP_HANDLE_OUT(gbx_response)
GBX_PHP_HANDLE_OUT(gbx_status)
GBX_PHP_HANDLE_OUT(gbx_config)
GBX_PHP_HANDLE_OUT(gbx_store)
GBX_PHP_HANDLE_OUT(gbx_envelope)
GBX_PHP_HANDLE_OUT(gbx_uri)
GBX_PHP_HANDLE_OUT(gbx_schema)
GBX_PHP_HANDLE_OUT(gbx_schema_registry)
GBX_PHP_HANDLE_OUT(gbx_jobmanager)
GBX_PHP_HANDLE_OUT(gbx_job_queue)
GBX_PHP_HANDLE_OUT(gbx_stopwatch)

/* long long *out (gbx_status_counter_add) -> int. */
%typemap(in, numinputs=0) long long *out (long long tmp = 0) %{ $1 = &tmp; %}
%typemap(argout) long long *out %{ ZVAL_LONG($result, (zend_long)*$1); %}

/* gbx_jobmanager_run_due -> [submitted, next_due]. */
%typemap(in, numinputs=0) (size_t *submitted, double *next_due) (size_t tmpn = 0, double tmpdue = 0)
  %{ $1 = &tmpn; $2 = &tmpdue; %}
%typemap(argout) (size_t *submitted, double *next_due) %{
  array_init($result);
  add_next_index_long($result, (zend_long)*$1);
  add_next_index_double($result, *$2);
%}

/* (const char *data, size_t len) <- a PHP (byte) string. */
%typemap(in) (const char *data, size_t len), (const char *text, size_t len), (const char *s, size_t len),
  (const char *workload, size_t len) %{
  if (!try_convert_to_string(&$input)) SWIG_fail;
  $1 = Z_STRVAL($input);
  $2 = Z_STRLEN($input);
%}
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) (const char *data, size_t len),
  (const char *text, size_t len), (const char *s, size_t len), (const char *workload, size_t len) %{ $1 = Z_TYPE($input) == IS_STRING; %}

/* const char *f(..., size_t *len): the whole byte string. */
%typemap(in, numinputs=0) size_t *len (size_t tmplen = 0) %{ $1 = &tmplen; %}
%typemap(argout) size_t *len %{
  zval_ptr_dtor($result);
  if (result) {
    ZVAL_STRINGL($result, result, *$1);
  } else {
    ZVAL_NULL($result);
  }
%}

/* bool *served -> the return value. */
%typemap(in, numinputs=0) bool *served (bool tmp = false) %{ $1 = &tmp; %}
%typemap(argout) bool *served %{ ZVAL_BOOL($result, *$1); %}

/* zval *target: the PHP object itself. */
%typemap(in) zval *target %{ $1 = &$input; %}

/* Not callable from PHP: steals a reference (use gbx_status_set_meta), or
 * replaced by the PHP entry points below. */
%ignore gbx_status_set_meta_new;
%ignore gbx_error_last;

%minit %{
  gbx_php__register_errors();
%}

%inline %{
/* Registers handler `name` of the PHP Worker object `target`: jobs call
 * $target->_gbx_dispatch($job, $resp). */
gbx_err gbx_php_worker_register(gbx_worker *worker, const char *name, zval *target) {
    gbx_php__binding *b = gbx_php__bind(worker, target);
    if (!b) return gbx_error_set(GBX_ERR_BAD_REQUEST, "bad handler target");
    return gbx_worker_register(worker, name, gbx_php__trampoline, b);
}

/* Routes pre/post request hooks to $target->_gbx_hook("pre"|"post", $job). */
gbx_err gbx_php_worker_hooks(gbx_worker *worker, zval *target) {
    gbx_php__binding *b = gbx_php__bind(worker, target);
    if (!b) return gbx_error_set(GBX_ERR_BAD_REQUEST, "bad hook target");
    gbx_worker_set_hooks(worker, gbx_php__pre, gbx_php__post, b);
    return GBX_OK;
}

/* gbx_worker_run with SIGTERM/SIGINT stopping it after the current job
 * (gbx_worker_run_until_signal), and a fatal error in a handler re-raised.
 * The signals are taken from PHP for the length of run(), whatever PHP (its
 * zend signal handlers, which would end the process) or a pcntl handler had
 * there: run() waits in C, where no PHP-level handler could run, and the
 * previous handlers are back when it returns. */
gbx_err gbx_php_worker_run(gbx_worker *worker) {
    return gbx_php__finish(worker, gbx_worker_run_until_signal(worker));
}

/* gbx_worker_work_once, with a fatal error in a handler re-raised. */
gbx_err gbx_php_worker_work_once(gbx_worker *worker, int timeout_ms, bool *served) {
    return gbx_php__finish(worker, gbx_worker_work_once(worker, timeout_ms, served));
}

/* Forgets the PHP object of a worker and frees the worker. */
void gbx_php_worker_free(gbx_worker *worker) {
    gbx_php__unbind(worker);
    gbx_worker_free(worker);
}

/* gbx_status_create with the spec's fields as arguments (NULL = unset). */
gbx_err gbx_php_status_create(gbx_status **out, gbx_store *store, const char *id, const char *operation,
                              const char *component, const char *uri, const char *status_base,
                              const char *parent_uri, const char *envelope, const char *scope) {
    gbx_status_spec spec = {id, operation, component, uri, status_base, parent_uri, envelope, scope};
    return gbx_status_create(out, store, &spec);
}

/* gbx_status_list with the filter's fields as arguments (NULL / -1 = any,
 * count 0 = the default). */
gbx_err gbx_php_status_list(json_t **out, gbx_store *store, const char *uri, const char *state,
                            const char *operation, const char *component, const char *scope, int code,
                            int progress, int count) {
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

/* Sends the library's log to `path` (appended; NULL = stderr) in the format
 * of gbx_log_to_file.  The file stays open for the life of the process. */
static FILE *gbx_php__log_file;
static bool gbx_php__log_set;

gbx_err gbx_php_log_to_file(const char *path) {
    FILE *f = stderr;
    if (path && *path && !(f = fopen(path, "a")))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot open log file %s: %s", path, strerror(errno));
    if (f != stderr) setvbuf(f, NULL, _IOLBF, 0);
    gbx_log_set_callback(gbx_log_to_file, f);
    if (gbx_php__log_file && gbx_php__log_file != stderr) fclose(gbx_php__log_file);
    gbx_php__log_file = f;
    gbx_php__log_set = true;
    return GBX_OK;
}

/* Logs to stderr unless gbx_php_log_to_file was called already. */
void gbx_php_log_default(void) {
    if (!gbx_php__log_set) gbx_php_log_to_file(NULL);
}

/* One line into the library's log. */
void gbx_php_log(gbx_log_level level, const char *message) { gbx_log(level, "%s", message ? message : ""); }

/* The code and message of the thread's last error. */
int gbx_php_error_last_code(void) { return (int)gbx_error_last()->code; }
const char *gbx_php_error_last_message(void) { return gbx_error_last()->message; }
%}
