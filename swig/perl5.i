/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* swig/perl5.i - Perl typemaps and trampolines of the Gearbox::Core module
 * (included by swig/gearbox.i).  The idiomatic layer (bindings/perl/lib)
 * builds Gearbox::Worker, Gearbox::Job, ... on top of these flat functions.
 *
 * Conventions of the generated functions, seen from Perl:
 *  - a call returning gbx_err returns nothing on success and dies with an
 *    ERR_<NAME> object (Gearbox::Errors) carrying code and message;
 *  - out parameters become return values (json_t ** -> native data, char **
 *    -> string, gbx_X ** -> a pointer object the caller frees);
 *  - json_t * returns (borrowed) become native data: hashrefs, arrayrefs,
 *    strings, numbers, JSON::PP booleans, undef; json_t * arguments are
 *    built from native data for the call only;
 *  - strings coming from C are byte strings holding UTF-8, as Yahoo's
 *    Gearbox returned them; character strings going in are encoded to UTF-8.
 * Handlers are called through gbx_pl_handler (call_sv / call_method with
 * G_EVAL): a Perl die never unwinds through libgearman.
 */

%{
#include <errno.h>
#include <signal.h>
#include <string.h>

/* ---- JSON <-> Perl data ------------------------------------------------ */

#define GBX_PL_MAX_DEPTH 512

/* A new SV (refcount 1) holding `v` as Perl data. */
static SV *gbx_pl_from_json(pTHX_ const json_t *v) {
    if (!v) return newSV(0);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        HV *hv = newHV();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            (void)hv_store(hv, key, (I32)strlen(key), gbx_pl_from_json(aTHX_ item), 0);
        }
        return newRV_noinc((SV *)hv);
    }
    case JSON_ARRAY: {
        AV *av = newAV();
        size_t n = json_array_size(v);
        if (n) av_extend(av, (SSize_t)n - 1);
        for (size_t i = 0; i < n; i++) av_push(av, gbx_pl_from_json(aTHX_ json_array_get(v, i)));
        return newRV_noinc((SV *)av);
    }
    case JSON_STRING:
        return newSVpvn(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return newSViv((IV)json_integer_value(v));
    case JSON_REAL:
        return newSVnv(json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE: {
        SV *b = get_sv(json_is_true(v) ? "JSON::PP::true" : "JSON::PP::false", 0);
        if (b && SvOK(b)) return newSVsv(b);
        return newSViv(json_is_true(v) ? 1 : 0);
    }
    case JSON_NULL:
    default:
        return newSV(0);
    }
}

/* A json string from a Perl scalar: character strings are encoded to UTF-8;
 * byte strings are taken as UTF-8 when they are, else as Latin-1. */
static json_t *gbx_pl_string_to_json(pTHX_ SV *sv) {
    STRLEN len;
    const char *p = SvPV(sv, len);
    json_t *s = json_stringn(p, len);
    if (s || SvUTF8(sv)) return s;
    SV *tmp = sv_2mortal(newSVpvn(p, len));
    sv_utf8_upgrade(tmp);
    p = SvPV(tmp, len);
    return json_stringn(p, len);
}

/* A new json_t from Perl data; NULL with *why set when it cannot be. */
static json_t *gbx_pl_to_json(pTHX_ SV *sv, int depth, const char **why) {
    if (depth > GBX_PL_MAX_DEPTH) {
        *why = "data nested too deeply";
        return NULL;
    }
    SvGETMAGIC(sv);
    if (!SvOK(sv)) return json_null();
#ifdef SvIsBOOL
    if (SvIsBOOL(sv)) return json_boolean(SvTRUE(sv));
#endif
    if (SvROK(sv)) {
        SV *rv = SvRV(sv);
        if (sv_isobject(sv) &&
            (sv_derived_from(sv, "JSON::PP::Boolean") || sv_derived_from(sv, "Types::Serialiser::Boolean") ||
             sv_derived_from(sv, "JSON::XS::Boolean") || sv_derived_from(sv, "boolean")))
            return json_boolean(SvTRUE(rv));
        switch (SvTYPE(rv)) {
        case SVt_PVHV: {
            HV *hv = (HV *)rv;
            json_t *obj = json_object();
            HE *he;
            if (!obj) break;
            hv_iterinit(hv);
            while ((he = hv_iternext(hv))) {
                SV *keysv = hv_iterkeysv(he);
                json_t *key = gbx_pl_string_to_json(aTHX_ keysv);
                json_t *val = key ? gbx_pl_to_json(aTHX_ hv_iterval(hv, he), depth + 1, why) : NULL;
                if (!key && !*why) *why = "a hash key is not valid text";
                if (!key || !val || json_object_setn_new(obj, json_string_value(key), json_string_length(key), val) != 0) {
                    json_decref(key);
                    json_decref(obj);
                    if (!*why) *why = "out of memory";
                    return NULL;
                }
                json_decref(key);
            }
            return obj;
        }
        case SVt_PVAV: {
            AV *av = (AV *)rv;
            json_t *arr = json_array();
            SSize_t top = av_len(av);
            if (!arr) break;
            for (SSize_t i = 0; i <= top; i++) {
                SV **item = av_fetch(av, i, 0);
                json_t *val = item ? gbx_pl_to_json(aTHX_ *item, depth + 1, why) : json_null();
                if (!val || json_array_append_new(arr, val) != 0) {
                    json_decref(arr);
                    if (!*why) *why = "out of memory";
                    return NULL;
                }
            }
            return arr;
        }
        default:
            /* \1 and \0 are booleans, as in JSON::PP */
            if (!SvROK(rv) && SvTYPE(rv) < SVt_PVAV && SvOK(rv)) {
                STRLEN len;
                const char *p = SvPV(rv, len);
                if (len == 1 && (p[0] == '0' || p[0] == '1')) return json_boolean(p[0] == '1');
            }
            *why = "only hashes, arrays, scalars and booleans can become JSON";
            return NULL;
        }
        *why = "out of memory";
        return NULL;
    }
    /* Numbers stay numbers unless they have been used as strings (the
     * rule JSON::PP follows). */
    if ((SvIOKp(sv) || SvNOKp(sv)) && !SvPOKp(sv)) {
        if (SvIOKp(sv) && !SvNOKp(sv)) return json_integer((json_int_t)SvIV_nomg(sv));
        NV nv = SvNV_nomg(sv);
        if (nv != nv || nv - nv != 0) {
            *why = "NaN and infinity cannot become JSON";
            return NULL;
        }
        return json_real(nv);
    }
    json_t *s = gbx_pl_string_to_json(aTHX_ sv);
    if (!s) *why = "a string is not valid text";
    return s;
}

/* ---- errors ------------------------------------------------------------ */

/* Sets $@ to the exception object of `code` (ERR_<NAME>, or Gearbox::Error
 * for a code outside the table), built by Gearbox::Error::_from_code. */
static void gbx_pl_set_error(pTHX_ int code, const char *message) {
    SV *err = NULL;
    if (get_cv("Gearbox::Error::_from_code", 0)) {
        dSP;
        ENTER;
        SAVETMPS;
        PUSHMARK(SP);
        EXTEND(SP, 2);
        PUSHs(sv_2mortal(newSViv(code)));
        PUSHs(sv_2mortal(newSVpv(message ? message : "", 0)));
        PUTBACK;
        int n = call_pv("Gearbox::Error::_from_code", G_SCALAR);
        SPAGAIN;
        if (n == 1) err = newSVsv(POPs);
        PUTBACK;
        FREETMPS;
        LEAVE;
    }
    if (!err) {
        char *text = gbx_error_format(code, message ? message : "");
        err = newSVpvf("%s\n", text ? text : "out of memory");
        free(text);
    }
    sv_setsv(get_sv("@", GV_ADD), sv_2mortal(err));
}

/* Records a Perl exception ($@) as the thread's last error: an object
 * derived from Gearbox::Error keeps its code and message, anything else is
 * a 500 with its text. */
static void gbx_pl_record_error(pTHX_ SV *err) {
    if (sv_isobject(err) && sv_derived_from(err, "Gearbox::Error") && SvTYPE(SvRV(err)) == SVt_PVHV) {
        HV *hv = (HV *)SvRV(err);
        SV **code = hv_fetchs(hv, "code", 0);
        SV **msg = hv_fetchs(hv, "msg", 0);
        int c = code && SvOK(*code) ? (int)SvIV(*code) : GBX_ERR_INTERNAL_SERVER_ERROR;
        gbx_error_set((gbx_err)c, "%s", msg && SvOK(*msg) ? SvPV_nolen(*msg) : "");
        return;
    }
    STRLEN len;
    const char *text = SvPV(err, len);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%.*s", (int)len, text);
}

/* ---- borrowed objects for handlers -------------------------------------- */

/* A hashref {ptr => <pointer>, borrowed => 1} blessed into `cls`; `ptr`
 * (a mortal pointer object) is copied. */
static SV *gbx_pl_borrow(pTHX_ const char *cls, SV *ptr) {
    HV *hv = newHV();
    (void)hv_stores(hv, "ptr", newSVsv(ptr)); /* SWIG_NewPointerObj gives a mortal */
    (void)hv_stores(hv, "borrowed", newSViv(1));
    SV *ref = newRV_noinc((SV *)hv);
    sv_bless(ref, gv_stashpv(cls, GV_ADD));
    return ref;
}

/* Ends the loan: the pointer is gone, so any later use dies cleanly
 * (Gearbox::Job etc. check for it); the cached status object goes too. */
static void gbx_pl_release(pTHX_ SV *ref) {
    if (!ref || !SvROK(ref) || SvTYPE(SvRV(ref)) != SVt_PVHV) return;
    HV *hv = (HV *)SvRV(ref);
    SV **status = hv_fetchs(hv, "_status", 0);
    if (status && SvROK(*status) && SvTYPE(SvRV(*status)) == SVt_PVHV) {
        HV *shv = (HV *)SvRV(*status);
        SV **owned = hv_fetchs(shv, "owned", 0);
        if (!(owned && SvTRUE(*owned))) (void)hv_deletes(shv, "ptr", G_DISCARD);
    }
    /* an in-memory status refers back to its job: break the cycle */
    (void)hv_deletes(hv, "_status", G_DISCARD);
    (void)hv_deletes(hv, "ptr", G_DISCARD);
    (void)hv_deletes(hv, "worker", G_DISCARD);
    (void)hv_deletes(hv, "job", G_DISCARD);
}

/* ---- trampolines -------------------------------------------------------- */

/* A handler entry is the Perl array [worker (weak ref), code ref or method
 * name, handler name], kept alive by the worker object. */
static gbx_worker_result gbx_pl_handler(gbx_job *job, gbx_response *resp, void *user) {
    dTHX;
    AV *entry = (AV *)user;
    SV **self = av_fetch(entry, 0, 0);
    SV **call = av_fetch(entry, 1, 0);
    SV **name = av_fetch(entry, 2, 0);
    const char *hname = name && SvOK(*name) ? SvPV_nolen(*name) : "handler";
    if (!self || !SvROK(*self) || !call || !SvOK(*call)) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s: the Perl worker object is gone", hname);
        return GBX_WORKER_ERROR;
    }
    gbx_worker_result result = GBX_WORKER_SUCCESS;
    dSP;
    ENTER;
    SAVETMPS;
    SV *selfsv = sv_2mortal(newSVsv(*self));
    SV *jobsv = sv_2mortal(gbx_pl_borrow(aTHX_ "Gearbox::Job", SWIG_NewPointerObj(job, SWIGTYPE_p_gbx_job, 0)));
    SV *respsv = sv_2mortal(gbx_pl_borrow(aTHX_ "Gearbox::JobResponse",
                                          SWIG_NewPointerObj(resp, SWIGTYPE_p_gbx_response, 0)));
    (void)hv_stores((HV *)SvRV(jobsv), "worker", newSVsv(selfsv));
    (void)hv_stores((HV *)SvRV(respsv), "job", newSVsv(jobsv));

    PUSHMARK(SP);
    EXTEND(SP, 3);
    PUSHs(selfsv);
    PUSHs(jobsv);
    PUSHs(respsv);
    PUTBACK;
    int n;
    if (SvROK(*call) && SvTYPE(SvRV(*call)) == SVt_PVCV)
        n = call_sv(*call, G_SCALAR | G_EVAL);
    else
        n = call_method(SvPV_nolen(*call), G_SCALAR | G_EVAL);
    SPAGAIN;
    SV *ret = n > 0 ? POPs : &PL_sv_undef;
    PUTBACK;

    SV *err = ERRSV;
    if (SvTRUE(err)) {
        gbx_pl_record_error(aTHX_ err);
        result = GBX_WORKER_ERROR;
    } else if (!SvOK(ret)) {
        result = GBX_WORKER_SUCCESS; /* Gearbox took a handler returning nothing as success */
    } else if (looks_like_number(ret) && SvIV(ret) >= GBX_WORKER_SUCCESS && SvIV(ret) <= GBX_WORKER_RETRY &&
               SvNV(ret) == (NV)SvIV(ret)) {
        result = (gbx_worker_result)SvIV(ret);
    } else {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                      "%s returned \"%s\" instead of $WORKER_SUCCESS, $WORKER_ERROR, $WORKER_CONTINUE or $WORKER_RETRY",
                      hname, SvPV_nolen(ret));
        result = GBX_WORKER_ERROR;
    }
    sv_setpvs(ERRSV, "");
    gbx_pl_release(aTHX_ respsv);
    gbx_pl_release(aTHX_ jobsv);
    FREETMPS;
    LEAVE;
    return result;
}

/* pre_request / post_request: methods of the worker object; a die there is
 * logged (the hooks cannot fail a job). */
static void gbx_pl_hook(gbx_job *job, void *user, const char *method) {
    dTHX;
    AV *entry = (AV *)user;
    SV **self = av_fetch(entry, 0, 0);
    if (!self || !SvROK(*self)) return;
    dSP;
    ENTER;
    SAVETMPS;
    SV *jobsv = sv_2mortal(gbx_pl_borrow(aTHX_ "Gearbox::Job", SWIG_NewPointerObj(job, SWIGTYPE_p_gbx_job, 0)));
    (void)hv_stores((HV *)SvRV(jobsv), "worker", newSVsv(*self));
    PUSHMARK(SP);
    EXTEND(SP, 2);
    PUSHs(sv_2mortal(newSVsv(*self)));
    PUSHs(jobsv);
    PUTBACK;
    call_method(method, G_DISCARD | G_EVAL);
    SV *err = ERRSV;
    if (SvTRUE(err)) gbx_log(GBX_LOG_WARN, "%s of %s died: %s", method, gbx_job_name(job), SvPV_nolen(err));
    sv_setpvs(ERRSV, "");
    gbx_pl_release(aTHX_ jobsv);
    FREETMPS;
    LEAVE;
}
static void gbx_pl_pre(gbx_job *job, void *user) { gbx_pl_hook(job, user, "pre_request"); }
static void gbx_pl_post(gbx_job *job, void *user) { gbx_pl_hook(job, user, "post_request"); }

/* SIGTERM / SIGINT while run() waits in C: Perl's own (deferred) signal
 * handlers would only run once run() returns, so run() stops the worker
 * from a C handler, as the C barn does. */
static gbx_worker *volatile gbx_pl_stop_target;
static void gbx_pl_on_signal(int sig) {
    (void)sig;
    gbx_worker *w = gbx_pl_stop_target;
    if (w) gbx_worker_stop(w);
}

static FILE *gbx_pl_log_file;
%}

/* ---- typemaps ------------------------------------------------------------ */

/* gbx_err: nothing on success; dies with ERR_<NAME> otherwise. */
%typemap(out) gbx_err {
    if ($1 != GBX_OK) {
        gbx_pl_set_error(aTHX_ (int)$1, gbx_error_last()->message);
        SWIG_fail;
    }
}

/* Borrowed json_t * results -> Perl data. */
%typemap(out) json_t *, const json_t * {
    $result = sv_2mortal(gbx_pl_from_json(aTHX_ $1));
    argvi++;
}

/* json_t * arguments <- Perl data, for the call only (undef -> NULL). */
%typemap(in) json_t * (json_t *tmpjson = NULL), const json_t * (json_t *tmpjson = NULL) {
    if (SvOK($input)) {
        const char *why = NULL;
        tmpjson = gbx_pl_to_json(aTHX_ $input, 0, &why);
        if (!tmpjson) {
            gbx_pl_set_error(aTHX_ GBX_ERR_BAD_REQUEST, why ? why : "cannot convert to JSON");
            SWIG_fail;
        }
    }
    $1 = tmpjson;
}
%typemap(freearg) json_t *, const json_t * { json_decref(tmpjson$argnum); }
%typemap(typecheck) json_t *, const json_t * "$1 = 1;";

/* json_t **out: a new reference -> Perl data. */
%typemap(in, numinputs=0) json_t ** (json_t *tmpout = NULL) "$1 = &tmpout;";
%typemap(argout) json_t ** { %append_output(sv_2mortal(gbx_pl_from_json(aTHX_ tmpout$argnum))); }
%typemap(freearg) json_t ** { json_decref(tmpout$argnum); }

/* char **out: a malloc'ed string -> Perl string. */
%typemap(in, numinputs=0) char **out (char *tmpstr = NULL) "$1 = &tmpstr;";
%typemap(argout) char **out {
    %append_output(tmpstr$argnum ? sv_2mortal(newSVpv(tmpstr$argnum, 0)) : &PL_sv_undef);
}
%typemap(freearg) char **out { free(tmpstr$argnum); }

/* (char **out, size_t *len): malloc'ed bytes -> Perl byte string. */
%typemap(in, numinputs=0) (char **out, size_t *len) (char *tmpbuf = NULL, size_t tmplen = 0) {
    $1 = &tmpbuf;
    $2 = &tmplen;
}
%typemap(argout) (char **out, size_t *len) {
    %append_output(tmpbuf$argnum ? sv_2mortal(newSVpvn(tmpbuf$argnum, tmplen$argnum)) : &PL_sv_undef);
}
%typemap(freearg) (char **out, size_t *len) { free(tmpbuf$argnum); }

/* const char *f(..., size_t *len): the returned bytes, NULs included. */
%typemap(in, numinputs=0) size_t *len (size_t tmpn = 0) "$1 = &tmpn;";
%typemap(argout) size_t *len {
    if (result) ST(argvi - 1) = sv_2mortal(newSVpvn((const char *)result, tmpn$argnum));
}

/* Handles: gbx_X **out -> a pointer object; the idiomatic layer frees it. */
%typemap(in, numinputs=0) SWIGTYPE **out ($*1_ltype tmph = NULL) "$1 = &tmph;";
%typemap(argout) SWIGTYPE **out {
    %append_output(SWIG_NewPointerObj(tmph$argnum, $*1_descriptor, 0));
}

/* bool *served (gbx_worker_work_once) -> 1 / 0. */
%typemap(in, numinputs=0) bool *served (bool tmpserved = false) "$1 = &tmpserved;";
%typemap(argout) bool *served { %append_output(sv_2mortal(newSViv(tmpserved$argnum ? 1 : 0))); }

/* Byte strings in: (data, len), (text, len), (s, len), (workload, len). */
%typemap(in) (const char *data, size_t len), (const char *text, size_t len), (const char *s, size_t len),
             (const char *workload, size_t len) {
    STRLEN n = 0;
    $1 = SvOK($input) ? SvPV($input, n) : (char *)"";
    $2 = (size_t)n;
}
%typemap(typecheck) (const char *data, size_t len), (const char *text, size_t len), (const char *s, size_t len),
                    (const char *workload, size_t len) "$1 = 1;";

/* long long *out (gbx_status_counter_add) -> a number. */
%typemap(in, numinputs=0) long long *out (long long tmpll = 0) "$1 = &tmpll;";
%typemap(argout) long long *out { %append_output(sv_2mortal(newSViv((IV)tmpll$argnum))); }

/* gbx_jobmanager_run_due: ($submitted, $next_due). */
%typemap(in, numinputs=0) (size_t *submitted, double *next_due) (size_t tmpsub = 0, double tmpdue = 0) {
    $1 = &tmpsub;
    $2 = &tmpdue;
}
%typemap(argout) (size_t *submitted, double *next_due) {
    %append_output(sv_2mortal(newSVuv((UV)tmpsub$argnum)));
    %append_output(sv_2mortal(newSVnv(tmpdue$argnum)));
}

/* (char *out, size_t outlen): an id buffer -> Perl string. */
%typemap(in, numinputs=0) (char *out, size_t outlen) (char tmpid[GBX_ID_MAX]) {
    tmpid[0] = '\0';
    $1 = tmpid;
    $2 = sizeof tmpid;
}
%typemap(argout) (char *out, size_t outlen) { %append_output(sv_2mortal(newSVpv(tmpid$argnum, 0))); }

%newobject gbx_error_format;
%typemap(newfree) char * "free($1);";

/* Not wrapped for Perl: a code, not an error (gbx_pl_err_at below); a
 * function that steals its json_t (the typemap frees its own copy). */
%ignore gbx_err_at;
%ignore gbx_status_set_meta_new;
/* Structs with const char * members (SWIG setters would leak copies):
 * Perl passes their fields as arguments to gbx_pl_status_create and
 * gbx_pl_status_list instead; handler names are parsed in C (the job
 * manager). */
%ignore gbx_status_spec;
%ignore gbx_status_filter;
%ignore gbx_status_create;
%ignore gbx_status_list;
%ignore gbx_status_filter_init;
%ignore gbx_handler_parts;
%ignore gbx_handler_parse;

%perlcode %{
require JSON::PP;          # booleans: $JSON::PP::true / $JSON::PP::false
require Gearbox::Errors;   # the ERR_<NAME> classes every failing call dies with
%}

/* ---- Perl-only entry points ------------------------------------------------ */

%inline %{
/* The i-th code of the error table (gbx_err_at without the error typemap). */
int gbx_pl_err_at(size_t i) { return (int)gbx_err_at(i); }

/* Registers a Perl handler; `entry` is the array ref [worker (weak),
 * code ref or method name, handler name], which the worker object keeps. */
gbx_err gbx_pl_worker_register(gbx_worker *worker, const char *name, SV *entry) {
    if (!SvROK(entry) || SvTYPE(SvRV(entry)) != SVt_PVAV)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "handler entry of %s is not an array", name);
    return gbx_worker_register(worker, name, gbx_pl_handler, SvRV(entry));
}

/* Calls the worker object's pre_request / post_request methods; `entry` is
 * [worker (weak)], kept by the worker object.  undef removes the hooks. */
void gbx_pl_worker_set_hooks(gbx_worker *worker, SV *entry) {
    if (SvROK(entry) && SvTYPE(SvRV(entry)) == SVt_PVAV)
        gbx_worker_set_hooks(worker, gbx_pl_pre, gbx_pl_post, SvRV(entry));
    else
        gbx_worker_set_hooks(worker, NULL, NULL, NULL);
}

/* gbx_worker_run with SIGTERM / SIGINT stopping the worker after the
 * current job (only for the signals asked for: those without a Perl
 * handler); the previous dispositions are restored afterwards. */
gbx_err gbx_pl_worker_run(gbx_worker *worker, int on_term, int on_int) {
    struct sigaction sa, old_term, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gbx_pl_on_signal;
    sigemptyset(&sa.sa_mask);
    gbx_pl_stop_target = worker;
    if (on_term) sigaction(SIGTERM, &sa, &old_term);
    if (on_int) sigaction(SIGINT, &sa, &old_int);
    gbx_err err = gbx_worker_run(worker);
    if (on_term) sigaction(SIGTERM, &old_term, NULL);
    if (on_int) sigaction(SIGINT, &old_int, NULL);
    gbx_pl_stop_target = NULL;
    return err;
}

/* One log line at `level` (the message is not a format). */
void gbx_pl_log(int level, const char *message) { gbx_log((gbx_log_level)level, "%s", message); }

/* Sends the library's log to `path` (appended), or to stderr when path is
 * NULL or "": gbx_log_to_file for Perl programs. */
gbx_err gbx_pl_log_to_file(const char *path) {
    FILE *f = stderr;
    if (path && *path && !(f = fopen(path, "a")))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot open log file %s: %s", path, strerror(errno));
    if (f != stderr) setvbuf(f, NULL, _IOLBF, 0);
    gbx_log_set_callback(gbx_log_to_file, f);
    if (gbx_pl_log_file) fclose(gbx_pl_log_file);
    gbx_pl_log_file = f == stderr ? NULL : f;
    return GBX_OK;
}

/* gbx_status_create with the spec's fields as arguments (undef = unset). */
gbx_err gbx_pl_status_create(gbx_status **out, gbx_store *store, const char *id, const char *operation,
                             const char *component, const char *uri, const char *status_base,
                             const char *parent_uri, const char *envelope, const char *scope) {
    gbx_status_spec spec = {id, operation, component, uri, status_base, parent_uri, envelope, scope};
    return gbx_status_create(out, store, &spec);
}

/* gbx_status_list with the filter's fields as arguments (undef / -1 = any). */
gbx_err gbx_pl_status_list(json_t **out, gbx_store *store, const char *uri, const char *state,
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
%}
