/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* status.c - status objects: the state machine, argument checks and the JSON
 * shape of DESIGN §3.  Rows live in a backend (store/backend.h); every
 * mutator is one atomic backend change that also returns the fresh row.
 * A remote status (status_internal.h) has no store: its row is read from a
 * status object of another service, and its mutators are refused.  A local
 * status (a sync job's) has no store either: its row lives in memory and
 * its mutators change only that (gbx__change_apply). */
#include "gearbox/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/id.h"
#include "store/status_internal.h"
#include "store/backend.h"
#include "store/optime.h"

/* Longest id a caller may choose (generated ones are 28 characters). */
#define STATUS_ID_MAX 128

struct gbx_status {
    gbx_store *store;           /* NULL for a remote or local status */
    gbx__status_row row;
    bool remote;
    bool local;
    gbx__status_fetch_fn fetch; /* remote: how refresh reads it again */
    void *fetch_user;
};

/* GBX_ERR_METHOD_NOT_ALLOWED for a change to a remote status. */
static gbx_err remote_refused(const gbx_status *status) {
    const char *uri = status->row.status_uri;
    return gbx_error_set(GBX_ERR_METHOD_NOT_ALLOWED, "status %s belongs to another service",
                         uri ? uri : "");
}

/* ---- states ------------------------------------------------------------ */

/* A state a status can be in (UNKNOWN is not). */
static bool state_valid(int s) { return s >= GBX_STATE_PENDING && s <= GBX_STATE_COMPLETED; }

const char *gbx_status_event_name(gbx_status_event event) {
    switch (event) {
    case GBX_STATUS_EVENT_PRECANCEL: return "PRECANCEL";
    case GBX_STATUS_EVENT_CANCEL: return "CANCEL";
    default: return "UNKNOWN";
    }
}

gbx_status_event gbx_status_event_from_name(const char *name) {
    if (name && strcasecmp(name, "PRECANCEL") == 0) return GBX_STATUS_EVENT_PRECANCEL;
    if (name && strcasecmp(name, "CANCEL") == 0) return GBX_STATUS_EVENT_CANCEL;
    return GBX_STATUS_EVENT_UNKNOWN;
}

/* The states from which `to` may be reached. */
static unsigned states_leading_to(gbx_state to) {
    unsigned mask = 0;
    for (int s = GBX_STATE_PENDING; s <= GBX_STATE_COMPLETED; s++)
        if (gbx_state_can_transition((gbx_state)s, to)) mask |= GBX__STATE_BIT(s);
    return mask;
}

/* ---- creating and reading ---------------------------------------------- */

/* Text that ends up in JSON must be UTF-8 (jansson refuses anything else). */
static bool valid_utf8(const char *text) {
    json_t *probe = json_string(text);
    json_decref(probe);
    return probe != NULL;
}

/* GBX_ERR_BAD_REQUEST unless every non-NULL field of the spec is UTF-8. */
static gbx_err check_spec_text(const gbx_status_spec *spec) {
    const struct {
        const char *name, *value;
    } fields[] = {
        {"operation", spec->operation}, {"component", spec->component},
        {"uri", spec->uri},             {"status_base", spec->status_base},
        {"parent_uri", spec->parent_uri}, {"scope", spec->scope},
        {"owner", spec->owner},         {"trace_id", spec->trace_id},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value && !valid_utf8(fields[i].value))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "status %s is not valid UTF-8",
                                 fields[i].name);
    return GBX_OK;
}

static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

/* Ids chosen by callers end up in status URIs: keep them URL-safe. */
static bool id_acceptable(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > STATUS_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '~';
        if (!ok) return false;
    }
    return true;
}

static gbx_err wrap(gbx_status **out, gbx_store *store, gbx__status_row *row) {
    gbx_status *st = calloc(1, sizeof *st);
    if (!st) {
        gbx__status_row_clear(row);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    st->store = store;
    st->row = *row;
    memset(row, 0, sizeof *row);
    *out = st;
    return GBX_OK;
}

gbx_err gbx_status_create(gbx_status **out, gbx_store *store, const gbx_status_spec *spec) {
    return gbx__status_create_queued(out, store, spec, NULL, NULL);
}

gbx_err gbx__status_create_queued(gbx_status **out, gbx_store *store, const gbx_status_spec *spec,
                                  const char *job_name, const char *ticket) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output handle");
    *out = NULL;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no store");
    if (!spec) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no spec");
    gbx_err checked = check_spec_text(spec);
    if (checked) return checked;

    char id[GBX_ID_MAX];
    if (spec->id) {
        if (!id_acceptable(spec->id))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "status id \"%s\" must be 1 to %d characters of "
                                 "[A-Za-z0-9._~-]",
                                 spec->id, STATUS_ID_MAX);
    } else {
        gbx_err rc = gbx_id_generate(id, sizeof id, "s");
        if (rc) return rc;
    }
    const char *the_id = spec->id ? spec->id : id;

    char *status_uri = NULL;
    if (spec->status_base) {
        size_t blen = strlen(spec->status_base);
        while (blen > 0 && spec->status_base[blen - 1] == '/') blen--;
        size_t n = blen + 1 + strlen(the_id) + 1;
        status_uri = malloc(n);
        if (!status_uri) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        memcpy(status_uri, spec->status_base, blen);
        status_uri[blen] = '/';
        strcpy(status_uri + blen + 1, the_id);
    }

    bool oom = false;
    double now = gbx__now();
    gbx__status_row row = {
        .id = dup_or_null(the_id, &oom),
        .operation = dup_or_null(spec->operation, &oom),
        .component = dup_or_null(spec->component, &oom),
        .uri = dup_or_null(spec->uri, &oom),
        .status_uri = status_uri,
        .parent_uri = dup_or_null(spec->parent_uri, &oom),
        .scope = dup_or_null(spec->scope, &oom),
        .owner = dup_or_null(spec->owner, &oom),
        .state = GBX_STATE_PENDING,
        .progress = 0,
        .code = -1,
        .ctime = now,
        .mtime = now,
        .ytime = 0,
        .messages = json_array(),
        .children = json_array(),
        .meta = json_object(),
    };
    if (spec->trace_id && row.meta && json_object_set_new(row.meta, "trace_id", json_string(spec->trace_id)))
        oom = true;
    if (oom || !row.messages || !row.children || !row.meta) {
        gbx__status_row_clear(&row);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    /* The first submit of the job, queued with its status in one write. */
    gbx__queued queued = {.ticket = (char *)ticket, .status_id = row.id, .name = (char *)job_name,
                          .envelope = (char *)spec->envelope, .due = now, .submitted = now};
    bool queue = job_name && ticket;
    if (queue && (!*job_name || !*ticket || !spec->envelope)) {
        gbx__status_row_clear(&row);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: a queued job needs a name, a ticket "
                                                  "and an envelope");
    }
    gbx__status_row stored;
    gbx_err rc;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_INSERT, rc = store->ops->insert(store, &row, spec->envelope, queue ? &queued : NULL, &stored));
    while (gbx__store_again(store, rc, &wait));
    gbx__status_row_clear(&row);
    if (rc) return rc;
    return wrap(out, store, &stored);
}

/* The id in "s-…" or in ".../status/s-…[;matrix][?query]", copied to buf. */
static gbx_err id_from(char *buf, size_t len, const char *id_or_uri) {
    if (!id_or_uri || !*id_or_uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no id given");
    const char *start = strrchr(id_or_uri, '/');
    start = start ? start + 1 : id_or_uri;
    size_t n = strcspn(start, ";?#");
    if (n == 0) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no id in \"%s\"", id_or_uri);
    if (n >= len) return gbx__store_not_found(id_or_uri);
    memcpy(buf, start, n);
    buf[n] = '\0';
    return GBX_OK;
}

gbx_err gbx_status_fetch(gbx_status **out, gbx_store *store, const char *id_or_uri) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output handle");
    *out = NULL;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no store");
    char id[STATUS_ID_MAX + 1];
    gbx_err rc = id_from(id, sizeof id, id_or_uri);
    if (rc) return rc;
    gbx__status_row row;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_LOAD, rc = store->ops->load(store, id, &row));
    while (gbx__store_again(store, rc, &wait));
    if (rc) return rc;
    return wrap(out, store, &row);
}

static gbx_err remote_refresh(gbx_status *status);

gbx_err gbx_status_refresh(gbx_status *status) {
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    if (status->remote) return remote_refresh(status);
    if (status->local) return GBX_OK;
    gbx__status_row row;
    gbx_err rc;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_LOAD, rc = status->store->ops->load(status->store, status->row.id, &row));
    while (gbx__store_again(status->store, rc, &wait));
    if (rc) return rc;
    gbx__status_row_clear(&status->row);
    status->row = row;
    return GBX_OK;
}

void gbx_status_free(gbx_status *status) {
    if (!status) return;
    gbx__status_row_clear(&status->row);
    free(status);
}

/* ---- getters ----------------------------------------------------------- */

const char *gbx_status_id(const gbx_status *s) { return s ? s->row.id : NULL; }
const char *gbx_status_operation(const gbx_status *s) { return s ? s->row.operation : NULL; }
const char *gbx_status_component(const gbx_status *s) { return s ? s->row.component : NULL; }
const char *gbx_status_uri(const gbx_status *s) { return s ? s->row.uri : NULL; }
const char *gbx_status_status_uri(const gbx_status *s) { return s ? s->row.status_uri : NULL; }
const char *gbx_status_parent_uri(const gbx_status *s) { return s ? s->row.parent_uri : NULL; }
const char *gbx_status_scope(const gbx_status *s) { return s ? s->row.scope : NULL; }
const char *gbx_status_owner(const gbx_status *s) { return s ? s->row.owner : NULL; }
gbx_state gbx_status_state(const gbx_status *s) { return s ? s->row.state : GBX_STATE_PENDING; }
int gbx_status_progress_value(const gbx_status *s) { return s ? s->row.progress : 0; }
int gbx_status_code(const gbx_status *s) {
    return s && s->row.progress == 100 ? s->row.code : -1;
}
int gbx_status_failures(const gbx_status *s) { return s ? s->row.failures : 0; }
int gbx_status_concurrency(const gbx_status *s) { return s ? s->row.concurrency : 0; }
double gbx_status_ctime(const gbx_status *s) { return s ? s->row.ctime : 0; }
double gbx_status_mtime(const gbx_status *s) { return s ? s->row.mtime : 0; }
double gbx_status_ytime(const gbx_status *s) { return s ? s->row.ytime : 0; }
json_t *gbx_status_messages(const gbx_status *s) { return s->row.messages; }
json_t *gbx_status_children(const gbx_status *s) { return s->row.children; }
json_t *gbx_status_meta(const gbx_status *s) { return s->row.meta; }

bool gbx_status_has_completed(const gbx_status *s) {
    if (!s || s->row.progress != 100) return false;
    switch (s->row.state) {
    case GBX_STATE_COMPLETED:
    case GBX_STATE_STOPPED:
    case GBX_STATE_CANCELLING:
    case GBX_STATE_CANCELLED: return true;
    default: return false;
    }
}

bool gbx_status_is_success(const gbx_status *s) {
    return gbx_status_has_completed(s) && s->row.code == 0;
}

gbx_err gbx_status_envelope(char **out, const gbx_status *status) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output pointer");
    *out = NULL;
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    if (status->remote || status->local) return GBX_OK; /* kept elsewhere / none */
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_LOAD_ENVELOPE,
                     rc = status->store->ops->load_envelope(status->store, status->row.id, out));
    return rc;
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Seconds as clients see them: whole unix seconds, as Gearbox had them. */
static json_t *whole_seconds(double t) { return json_integer((json_int_t)floor(t)); }

gbx_err gbx_status_to_json(json_t **out, const gbx_status *status) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output pointer");
    *out = NULL;
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    const gbx__status_row *r = &status->row;
    json_t *o = json_object();
    if (!o) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    int bad = 0;
    bad |= json_object_set_new(o, "operation", string_or_null(r->operation));
    bad |= json_object_set_new(o, "component", string_or_null(r->component));
    bad |= json_object_set_new(o, "state", json_string(gbx_state_name(r->state)));
    bad |= json_object_set_new(o, "uri", string_or_null(r->uri));
    bad |= json_object_set_new(o, "status_uri", string_or_null(r->status_uri));
    bad |= json_object_set_new(o, "progress", json_integer(r->progress));
    if (r->progress == 100 && r->code >= 0)
        bad |= json_object_set_new(o, "code", json_integer(r->code));
    bad |= json_object_set_new(o, "messages", json_deep_copy(r->messages));
    bad |= json_object_set_new(o, "children", json_deep_copy(r->children));
    if (json_object_size(r->meta) > 0)
        bad |= json_object_set_new(o, "meta", json_deep_copy(r->meta));
    if (r->parent_uri) bad |= json_object_set_new(o, "parent_uri", json_string(r->parent_uri));
    bad |= json_object_set_new(o, "failures", json_integer(r->failures));
    bad |= json_object_set_new(o, "ctime", whole_seconds(r->ctime));
    bad |= json_object_set_new(o, "mtime", whole_seconds(r->mtime));
    if (r->ytime > 0) bad |= json_object_set_new(o, "ytime", whole_seconds(r->ytime));
    bad |= json_object_set_new(o, "concurrency", json_integer(r->concurrency));
    if (bad) {
        json_decref(o);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status \"%s\" cannot be serialised", r->id);
    }
    *out = o;
    return GBX_OK;
}

/* ---- mutators ---------------------------------------------------------- */

/* Applies one change through the backend and takes the row it returns. */
static gbx_err apply(gbx_status *status, gbx__change *change) {
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    if (status->remote) return remote_refused(status);
    change->now = gbx__now();
    if (status->local) return gbx__change_apply(&status->row, change);
    gbx__status_row row;
    gbx_err rc;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_UPDATE, rc = status->store->ops->update(status->store, status->row.id, change, &row));
    while (gbx__store_again(status->store, rc, &wait));
    if (rc) return rc;
    gbx__status_row_clear(&status->row);
    status->row = row;
    return GBX_OK;
}

gbx_err gbx_status_set_state(gbx_status *status, gbx_state state) {
    if (!state_valid((int)state))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown state %d", (int)state);
    gbx__change ch = {.kind = GBX__CHANGE_STATE, .to = state,
                      .allowed_from = states_leading_to(state)};
    return apply(status, &ch);
}

gbx_err gbx_status_set_progress(gbx_status *status, int progress) {
    if (progress < 0 || progress > 100)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "progress %d is not between 0 and 100",
                             progress);
    gbx__change ch = {.kind = GBX__CHANGE_PROGRESS, .number = progress};
    return apply(status, &ch);
}

gbx_err gbx_status_add_message(gbx_status *status, const char *message) {
    if (!message) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no message given");
    if (!valid_utf8(message))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status message is not valid UTF-8");
    gbx__change ch = {.kind = GBX__CHANGE_MESSAGE, .text = message};
    return apply(status, &ch);
}

gbx_err gbx_status_add_child(gbx_status *status, const char *child_status_uri) {
    if (!child_status_uri || !*child_status_uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no child status uri given");
    if (!valid_utf8(child_status_uri))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "child status uri is not valid UTF-8");
    gbx__change ch = {.kind = GBX__CHANGE_CHILD, .text = child_status_uri};
    return apply(status, &ch);
}

gbx_err gbx_status_set_meta(gbx_status *status, const char *key, json_t *value) {
    if (!key) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no meta key given");
    gbx__change ch = {.kind = GBX__CHANGE_META, .text = key, .value = value};
    return apply(status, &ch);
}

gbx_err gbx_status_set_meta_new(gbx_status *status, const char *key, json_t *value) {
    gbx_err rc = gbx_status_set_meta(status, key, value);
    json_decref(value);
    return rc;
}

/* COMPLETED from PENDING or RUNNING (a job that could not even start fails
 * from PENDING). */
static gbx_err complete(gbx_status *status, int code, const char *message) {
    gbx__change ch = {
        .kind = GBX__CHANGE_COMPLETE,
        .to = GBX_STATE_COMPLETED,
        .allowed_from = GBX__STATE_BIT(GBX_STATE_PENDING) | GBX__STATE_BIT(GBX_STATE_RUNNING),
        .number = code,
        .text = message,
    };
    return apply(status, &ch);
}

gbx_err gbx_status_success(gbx_status *status) { return complete(status, 0, NULL); }

gbx_err gbx_status_fail(gbx_status *status, int code, const char *message) {
    if (code <= 0 || code > 999)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "failure code %d is not an HTTP-style code (1-999)", code);
    if (message && !valid_utf8(message))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status message is not valid UTF-8");
    return complete(status, code, message);
}

gbx_err gbx_status_add_concurrency(gbx_status *status, int delta) {
    gbx__change ch = {.kind = GBX__CHANGE_CONCURRENCY, .number = delta};
    return apply(status, &ch);
}

gbx_err gbx_status_add_failure(gbx_status *status) {
    gbx__change ch = {.kind = GBX__CHANGE_FAILURE};
    return apply(status, &ch);
}

gbx_err gbx_status_set_ytime(gbx_status *status, double ytime) {
    if (!isfinite(ytime) || ytime < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "ytime must be a time in unix seconds >= 0");
    gbx__change ch = {.kind = GBX__CHANGE_YTIME, .real = ytime};
    return apply(status, &ch);
}

gbx_err gbx_status_set_envelope(gbx_status *status, const char *envelope) {
    gbx__change ch = {.kind = GBX__CHANGE_ENVELOPE, .text = envelope};
    return apply(status, &ch);
}

/* ---- orchestration ----------------------------------------------------- */

gbx_err gbx_status_transition(gbx_status *status, gbx_state from, gbx_state to) {
    if (!state_valid((int)from) || !state_valid((int)to))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown state %d",
                             state_valid((int)from) ? (int)to : (int)from);
    /* A pair the state machine forbids matches no stored state: the store
     * answers with the conflict and the current state. */
    gbx__change ch = {.kind = GBX__CHANGE_STATE, .to = to,
                      .allowed_from = gbx_state_can_transition(from, to) ? GBX__STATE_BIT(from)
                                                                          : 0};
    return apply(status, &ch);
}

gbx_err gbx_status_checkpoint(gbx_status *status) {
    gbx_err rc = gbx_status_refresh(status);
    if (rc) return rc;
    switch (status->row.state) {
    case GBX_STATE_STOPPING:
    case GBX_STATE_STOPPED:
    case GBX_STATE_CANCELLING:
    case GBX_STATE_CANCELLED:
        return gbx_error_set(GBX_ERR_GONE, "status %s is being cancelled", status->row.id);
    default: return GBX_OK;
    }
}

gbx_err gbx_status_on(gbx_status *status, gbx_status_event event, const gbx_envelope *job) {
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    if (event != GBX_STATUS_EVENT_PRECANCEL && event != GBX_STATUS_EVENT_CANCEL)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown status event %d", (int)event);
    if (status->remote) return remote_refused(status);
    json_t *value = NULL;
    if (job) {
        const char *name = gbx_envelope_get(job, "name");
        const json_t *env = gbx_envelope_json(job);
        if (!name || !*name)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "status event %s: the job has no name",
                                 gbx_status_event_name(event));
        value = json_pack("{s:s, s:O}", "name", name, "envelope", (json_t *)env);
        if (!value)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "status event %s: the job cannot be stored",
                                 gbx_status_event_name(event));
    }
    gbx__change ch = {.kind = GBX__CHANGE_EVENT, .text = gbx_status_event_name(event),
                      .value = value};
    gbx_err rc = apply(status, &ch);
    json_decref(value);
    return rc;
}

json_t *gbx_status_events(const gbx_status *s) { return s->row.events; }

gbx_err gbx_status_counter_add(long long *out, gbx_status *status, const char *name,
                               long long delta) {
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no status");
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no counter name");
    if (status->remote) return remote_refused(status);
    if (status->local)
        return gbx_error_set(GBX_ERR_METHOD_NOT_ALLOWED,
                             "status %s of a sync job keeps no counters", status->row.id);
    long long value = 0;
    gbx_err rc;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_COUNTER_ADD, rc = status->store->ops->counter_add(status->store, status->row.id, name, delta, &value));
    while (gbx__store_again(status->store, rc, &wait));
    if (!rc && out) *out = value;
    return rc;
}

bool gbx_status_is_remote(const gbx_status *s) { return s && s->remote; }

bool gbx_status_is_local(const gbx_status *s) { return s && s->local; }

json_t *gbx__status_private(const gbx_status *s) { return s->row.priv; }

gbx_err gbx__status_set_private(gbx_status *status, const char *key, json_t *value) {
    if (!key) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no private key given");
    gbx__change ch = {.kind = GBX__CHANGE_PRIVATE, .text = key, .value = value};
    return apply(status, &ch);
}

gbx_err gbx__status_enter(gbx_status **out, gbx_store *store, const char *id_or_uri,
                          gbx_state from, gbx_state to) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output handle");
    *out = NULL;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no store");
    if (!state_valid((int)from) || !state_valid((int)to))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown state %d",
                             state_valid((int)from) ? (int)to : (int)from);
    char id[STATUS_ID_MAX + 1];
    gbx_err rc = id_from(id, sizeof id, id_or_uri);
    if (rc) return rc;
    gbx__change ch = {.kind = GBX__CHANGE_ENTER, .now = gbx__now(), .to = to,
                      .allowed_from = from == to || gbx_state_can_transition(from, to)
                                          ? GBX__STATE_BIT(from)
                                          : 0};
    gbx__status_row row;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_UPDATE, rc = store->ops->update(store, id, &ch, &row));
    while (gbx__store_again(store, rc, &wait));
    if (rc) return rc;
    return wrap(out, store, &row);
}

/* A change that ends a status (COMPLETE_LEAVE, FINISH_CANCEL) once its code
 * (0-999) and message are checked. */
static gbx_err end_status(gbx_status *status, gbx__change_kind kind, gbx_state to,
                          unsigned allowed_from, int code, const char *message) {
    if (code < 0 || code > 999)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "code %d is not an HTTP-style code (0-999)",
                             code);
    if (message && !valid_utf8(message))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status message is not valid UTF-8");
    gbx__change ch = {.kind = kind, .to = to, .allowed_from = allowed_from, .number = code,
                      .text = message};
    return apply(status, &ch);
}

gbx_err gbx__status_complete_leave(gbx_status *status, int code, const char *message) {
    return end_status(status, GBX__CHANGE_COMPLETE_LEAVE, GBX_STATE_COMPLETED,
                      GBX__STATE_BIT(GBX_STATE_PENDING) | GBX__STATE_BIT(GBX_STATE_RUNNING), code,
                      message);
}

gbx_err gbx__status_finish_cancel(gbx_status *status, int code, const char *message) {
    return end_status(status, GBX__CHANGE_FINISH_CANCEL, GBX_STATE_CANCELLED,
                      GBX__STATE_BIT(GBX_STATE_CANCELLING), code, message);
}

/* ---- remote statuses --------------------------------------------------- */

/* GBX_ERR_BAD_GATEWAY: what another service sent is not a status object. */
static gbx_err remote_malformed(const char *uri, const char *what) {
    return gbx_error_set(GBX_ERR_BAD_GATEWAY, "status %s: %s", uri ? uri : "(no status_uri)",
                         what);
}

/* Copies an optional string member (null/absent: NULL). */
static gbx_err remote_string(char **out, const json_t *obj, const char *key, const char *uri) {
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_string(v)) return remote_malformed(uri, "a string member is not a string");
    if (!(*out = strdup(json_string_value(v))))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

/* Reads an optional number member (absent: dflt). */
static gbx_err remote_number(double *out, const json_t *obj, const char *key, double dflt,
                             const char *uri) {
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_number(v)) return remote_malformed(uri, "a number member is not a number");
    *out = json_number_value(v);
    return GBX_OK;
}

/* A copy of an optional array/object member (absent: empty). */
static gbx_err remote_collection(json_t **out, const json_t *obj, const char *key, bool object,
                                 const char *uri) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) *out = object ? json_object() : json_array();
    else if (object ? !json_is_object(v) : !json_is_array(v))
        return remote_malformed(uri, object ? "meta is not an object"
                                            : "messages/children is not an array");
    else *out = json_deep_copy(v);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

/* A row from a status object (DESIGN §3) of another service. */
static gbx_err row_from_json(gbx__status_row *row, const json_t *obj) {
    memset(row, 0, sizeof *row);
    if (!json_is_object(obj)) return remote_malformed(NULL, "not a JSON object");
    const json_t *su = json_object_get(obj, "status_uri");
    if (!json_is_string(su) || !*json_string_value(su))
        return remote_malformed(NULL, "the status object has no status_uri");
    const char *uri = json_string_value(su);
    char id[STATUS_ID_MAX + 1];
    gbx_err rc = id_from(id, sizeof id, uri);
    if (rc) return remote_malformed(uri, "status_uri names no status id");

    const json_t *state = json_object_get(obj, "state");
    int st = json_is_string(state) ? gbx_state_from_name(json_string_value(state)) : -1;
    if (st < 0) {
        gbx__status_row_clear(row);
        return remote_malformed(uri, "unknown or missing state");
    }
    row->state = (gbx_state)st;
    double progress = 0, code = -1, failures = 0, concurrency = 0;
    if (!(row->id = strdup(id)) || !(row->status_uri = strdup(uri)))
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (!rc) rc = remote_string(&row->operation, obj, "operation", uri);
    if (!rc) rc = remote_string(&row->component, obj, "component", uri);
    if (!rc) rc = remote_string(&row->uri, obj, "uri", uri);
    if (!rc) rc = remote_string(&row->parent_uri, obj, "parent_uri", uri);
    if (!rc) rc = remote_number(&progress, obj, "progress", 0, uri);
    if (!rc) rc = remote_number(&code, obj, "code", -1, uri);
    if (!rc) rc = remote_number(&failures, obj, "failures", 0, uri);
    if (!rc) rc = remote_number(&concurrency, obj, "concurrency", 0, uri);
    if (!rc) rc = remote_number(&row->ctime, obj, "ctime", 0, uri);
    if (!rc) rc = remote_number(&row->mtime, obj, "mtime", 0, uri);
    if (!rc) rc = remote_number(&row->ytime, obj, "ytime", 0, uri);
    if (!rc) rc = remote_collection(&row->messages, obj, "messages", false, uri);
    if (!rc) rc = remote_collection(&row->children, obj, "children", false, uri);
    if (!rc) rc = remote_collection(&row->meta, obj, "meta", true, uri);
    if (!rc && (!(row->events = json_object()) || !(row->priv = json_object())))
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (!rc && (!(progress >= 0 && progress <= 100) || !(code >= -1 && code <= 999)))
        rc = remote_malformed(uri, "progress or code out of range");
    if (rc) {
        gbx__status_row_clear(row);
        return rc;
    }
    row->progress = (int)progress;
    row->code = (int)code;
    row->failures = failures > INT32_MAX ? INT32_MAX : failures < 0 ? 0 : (int)failures;
    row->concurrency =
        concurrency > INT32_MAX ? INT32_MAX : concurrency < 0 ? 0 : (int)concurrency;
    return GBX_OK;
}

gbx_err gbx__status_new_remote(gbx_status **out, const json_t *obj, gbx__status_fetch_fn fetch,
                               void *user) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output handle");
    *out = NULL;
    gbx__status_row row;
    gbx_err rc = row_from_json(&row, obj);
    if (rc) return rc;
    if ((rc = wrap(out, NULL, &row))) return rc;
    (*out)->remote = true;
    (*out)->fetch = fetch;
    (*out)->fetch_user = user;
    return GBX_OK;
}

/* Reads the status object again through the fetch callback. */
static gbx_err remote_refresh(gbx_status *status) {
    if (!status->fetch) return GBX_OK;
    json_t *obj = NULL;
    gbx_err rc = status->fetch(status->fetch_user, status->row.status_uri, &obj);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    gbx__status_row row;
    rc = row_from_json(&row, obj);
    json_decref(obj);
    if (rc) return rc;
    gbx__status_row_clear(&status->row);
    status->row = row;
    return GBX_OK;
}

/* ---- local statuses ---------------------------------------------------- */

gbx_err gbx__status_new_local(gbx_status **out, const char *operation, const char *component,
                              const char *uri) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status: no output handle");
    *out = NULL;
    char id[GBX_ID_MAX];
    gbx_err rc = gbx_id_generate(id, sizeof id, "st");
    if (rc) return rc;
    bool oom = false;
    double now = gbx__now();
    gbx__status_row row = {
        .id = dup_or_null(id, &oom),
        .operation = dup_or_null(operation, &oom),
        .component = dup_or_null(component, &oom),
        .uri = dup_or_null(uri, &oom),
        .state = GBX_STATE_RUNNING,
        .code = -1,
        .ctime = now,
        .mtime = now,
        .messages = json_array(),
        .children = json_array(),
        .meta = json_object(),
        .events = json_object(),
        .priv = json_object(),
    };
    if (oom || !row.messages || !row.children || !row.meta || !row.events || !row.priv) {
        gbx__status_row_clear(&row);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    if ((rc = wrap(out, NULL, &row))) return rc;
    (*out)->local = true;
    return GBX_OK;
}

/* ---- collections ------------------------------------------------------- */

void gbx_status_filter_init(gbx_status_filter *filter) {
    if (!filter) return;
    memset(filter, 0, sizeof *filter);
    filter->code = -1;
    filter->progress = -1;
    filter->count = 0;
}

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

gbx_err gbx_status_list(json_t **out, gbx_store *store, const gbx_status_filter *filter) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status list: no output pointer");
    *out = NULL;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status list: no store");
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    if (filter) f = *filter;
    gbx__status_query q = {
        .uri_part = nonempty(f.uri),
        .state = GBX_STATE_UNKNOWN,
        .operation = nonempty(f.operation),
        .component = nonempty(f.component),
        .scope = nonempty(f.scope),
        .owner = nonempty(f.owner),
        .ownerless = f.ownerless,
        .code = f.code,
        .progress = f.progress,
        .count = f.count,
    };
    if (nonempty(f.state)) {
        int s = gbx_state_from_name(f.state);
        if (s < 0) return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown state \"%s\"", f.state);
        q.state = (gbx_state)s;
    }
    if (q.code < -1)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "code filter %d is not a code", q.code);
    if (q.progress < -1 || q.progress > 100)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "progress filter %d is not between 0 and 100",
                             q.progress);
    if (q.count < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "count %d must not be negative", q.count);
    if (q.count == 0) q.count = GBX_STATUS_LIST_DEFAULT;
    if (q.count > GBX_STATUS_LIST_MAX) q.count = GBX_STATUS_LIST_MAX;
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_LIST, rc = store->ops->list(store, &q, out));
    return rc;
}

gbx_err gbx_status_changed(json_t **out, gbx_store *store, const char *const *ids, size_t n,
                           double since) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status changes: no output pointer");
    *out = NULL;
    if (!store || (n > 0 && !ids) || !isfinite(since))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status changes: store, ids and a time required");
    for (size_t i = 0; i < n; i++)
        if (!ids[i] || !*ids[i]) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status changes: empty id");
    if (n == 0) {
        *out = json_object();
        return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_CHANGED, rc = store->ops->changed(store, ids, n, since, out));
    return rc;
}

gbx_err gbx_status_store_version(uint64_t *out, gbx_store *store) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "store version: no output pointer");
    *out = 0;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "store version: no store");
    return store->ops->version(store, out);
}
