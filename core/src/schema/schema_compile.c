/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_compile.c - turns schema documents into the node graph of
 * schema_internal.h: finds every schema resource ($id / id) and anchor of a
 * document, resolves `$ref`s (to the same document, to documents in the
 * registry, or to the embedded meta-schemas) and compiles each schema object
 * once into an ordered array of keywords. */
#include "schema/schema_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/json.h"

typedef struct cctx {
    gbx_schema *s;
    gbx__sbuf path;  /* JSON Pointer of what is being compiled (for errors) */
    int depth;
    gbx_err err;
} cctx;

#define MAX_COMPILE_DEPTH 1000

void *gbx__sch_keep(gbx_schema *s, void *p) {
    if (!p) return NULL;
    if (!GBX__GROW(s->allocs, s->capallocs, s->nallocs + 1, 32)) {
        free(p);
        return NULL;
    }
    s->allocs[s->nallocs++] = p;
    return p;
}

static void *kcalloc(gbx_schema *s, size_t n, size_t size) {
    return gbx__sch_keep(s, calloc(n ? n : 1, size));
}

static char *kstrdup(gbx_schema *s, const char *str) { return gbx__sch_keep(s, strdup(str)); }

static gbx_err fail(cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static gbx_err fail(cctx *c, const char *fmt, ...) {
    if (c->err) return c->err; /* keep the first error */
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *at = gbx__sch_sbuf_str(&c->path);
    if (*at)
        c->err = gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid schema: %s (at %s)", msg, at);
    else
        c->err = gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid schema: %s", msg);
    return c->err;
}

static gbx_err oom(cctx *c) {
    if (!c->err) c->err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory compiling a schema");
    return c->err;
}

/* ---- dialects ------------------------------------------------------------ */

gbx_dialect gbx__sch_dialect_from_uri(const char *uri) {
    static const struct {
        const char *uri;
        gbx_dialect d;
    } known[] = {
        {"http://json-schema.org/draft-03/schema", GBX_DIALECT_DRAFT3},
        {"http://json-schema.org/draft-04/schema", GBX_DIALECT_DRAFT4},
        {"http://json-schema.org/draft-06/schema", GBX_DIALECT_DRAFT6},
        {"http://json-schema.org/draft-07/schema", GBX_DIALECT_DRAFT7},
        {"https://json-schema.org/draft/2019-09/schema", GBX_DIALECT_2019_09},
        {"https://json-schema.org/draft/2020-12/schema", GBX_DIALECT_2020_12},
    };
    size_t n = strlen(uri);
    if (n && uri[n - 1] == '#') n--;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *k = known[i].uri;
        size_t kn = strlen(k);
        if (n == kn && strncmp(uri, k, n) == 0) return known[i].d;
        /* http/https variants */
        if (strncmp(k, "https:", 6) == 0 && strncmp(uri, "http:", 5) == 0 && n == kn - 1 &&
            strncmp(uri + 5, k + 6, n - 5) == 0)
            return known[i].d;
        if (strncmp(k, "http:", 5) == 0 && strncmp(uri, "https:", 6) == 0 && n == kn + 1 &&
            strncmp(uri + 6, k + 5, kn - 5) == 0)
            return known[i].d;
    }
    return GBX_DIALECT_AUTO;
}

static bool is_modern(gbx_dialect d) { return d == GBX_DIALECT_2019_09 || d == GBX_DIALECT_2020_12; }

static bool at_least(gbx_dialect d, gbx_dialect min) {
    if (d == GBX_DIALECT_LEGACY) return false;
    return d >= min;
}

static const char *id_keyword(gbx_dialect d) {
    return (d == GBX_DIALECT_DRAFT3 || d == GBX_DIALECT_DRAFT4 || d == GBX_DIALECT_LEGACY) ? "id" : "$id";
}

static gbx_dialect default_dialect(const gbx_schema *s) {
    return s->opts.default_dialect ? s->opts.default_dialect : GBX_DIALECT_2020_12;
}

/* ---- resources and documents ------------------------------------------- */

static gbx__resource *find_resource(gbx_schema *s, const char *uri) {
    return gbx__sch_smap_get(&s->resources, uri);
}

static gbx__resource *add_resource(cctx *c, const char *uri, const json_t *json, gbx_dialect d,
                                   unsigned vocab) {
    gbx_schema *s = c->s;
    gbx__resource *r = find_resource(s, uri);
    if (r) return r; /* the first definition wins */
    r = calloc(1, sizeof *r);
    if (!r || !(r->uri = strdup(uri))) {
        free(r);
        oom(c);
        return NULL;
    }
    r->json = json;
    r->dialect = d;
    r->vocab = vocab;
    if (!gbx__sch_smap_put(&s->resources, uri, r)) {
        free(r->uri);
        free(r);
        oom(c);
        return NULL;
    }
    return r;
}

static void add_anchor(cctx *c, gbx__resource *r, const char *name, const json_t *json, bool dynamic) {
    for (size_t i = 0; i < r->nanchors; i++)
        if (strcmp(r->anchors[i].name, name) == 0) {
            if (dynamic) r->anchors[i].dynamic = true;
            return;
        }
    if (!GBX__GROW(r->anchors, r->capanchors, r->nanchors + 1, 4)) {
        oom(c);
        return;
    }
    gbx__anchor *a = &r->anchors[r->nanchors];
    a->name = strdup(name);
    if (!a->name) {
        oom(c);
        return;
    }
    a->json = json;
    a->dynamic = dynamic;
    r->nanchors++;
}

static const gbx__anchor *find_anchor(const gbx__resource *r, const char *name) {
    for (size_t i = 0; i < r->nanchors; i++)
        if (strcmp(r->anchors[i].name, name) == 0) return &r->anchors[i];
    return NULL;
}

static json_t *load_document(cctx *c, const char *uri);

/* The vocabularies a meta-schema turns on. */
static unsigned vocab_of_metaschema(const json_t *meta) {
    json_t *v = json_object_get(meta, "$vocabulary");
    if (!json_is_object(v)) return GBX__VOC_ALL;
    unsigned voc = 0;
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
        const char *slash = strrchr(k, '/');
        const char *name = slash ? slash + 1 : k;
        if (strncmp(k, "https://json-schema.org/draft/", 30) != 0) continue;
        if (!json_is_true(val) && !json_is_false(val)) continue;
        if (strcmp(name, "core") == 0) voc |= GBX__VOC_CORE;
        else if (strcmp(name, "applicator") == 0) voc |= GBX__VOC_APPLICATOR;
        else if (strcmp(name, "validation") == 0) voc |= GBX__VOC_VALIDATION;
        else if (strcmp(name, "unevaluated") == 0) voc |= GBX__VOC_UNEVALUATED;
        else if (strcmp(name, "format-annotation") == 0 || strcmp(name, "format") == 0)
            voc |= GBX__VOC_FORMAT_ANNOTATION;
        else if (strcmp(name, "format-assertion") == 0) voc |= GBX__VOC_FORMAT_ASSERTION;
        else if (strcmp(name, "content") == 0) voc |= GBX__VOC_CONTENT;
        else if (strcmp(name, "meta-data") == 0) voc |= GBX__VOC_METADATA;
    }
    /* 2019-09 put the unevaluated keywords in the applicator vocabulary */
    const char *mschema = json_string_value(json_object_get(meta, "$schema"));
    if ((voc & GBX__VOC_APPLICATOR) && mschema && strstr(mschema, "2019-09")) voc |= GBX__VOC_UNEVALUATED;
    return voc | GBX__VOC_CORE;
}

/* The dialect (and vocabularies) named by a `$schema` value. */
static gbx_dialect dialect_of_schema_uri(cctx *c, const char *uri, gbx_dialect fallback, unsigned *vocab) {
    *vocab = GBX__VOC_ALL;
    gbx_dialect d = gbx__sch_dialect_from_uri(uri);
    if (d != GBX_DIALECT_AUTO) return d;
    /* a custom meta-schema: its own $schema says the dialect, its
     * $vocabulary the keywords in force */
    char *abs = gbx__sch_uri_strip_fragment(uri, NULL);
    if (!abs) {
        oom(c);
        return fallback;
    }
    json_t *meta = load_document(c, abs);
    free(abs);
    if (!meta) {
        gbx_error_clear();
        return fallback;
    }
    const char *mschema = json_string_value(json_object_get(meta, "$schema"));
    d = mschema ? gbx__sch_dialect_from_uri(mschema) : GBX_DIALECT_AUTO;
    if (d == GBX_DIALECT_AUTO) d = fallback;
    if (is_modern(d)) *vocab = vocab_of_metaschema(meta);
    return d;
}

/* Schema-holding keywords, by how they hold them. */
typedef enum { HOLD_ONE, HOLD_ARRAY, HOLD_ONE_OR_ARRAY, HOLD_MAP, HOLD_DEPS, HOLD_TYPES } hold_kind;

typedef struct holder {
    const char *name;
    hold_kind hold;
    gbx_dialect min, max; /* dialect range (LEGACY handled separately) */
} holder;

static const holder holders[] = {
    {"additionalItems", HOLD_ONE, GBX_DIALECT_DRAFT3, GBX_DIALECT_2019_09},
    {"additionalProperties", HOLD_ONE, GBX_DIALECT_DRAFT3, GBX_DIALECT_2020_12},
    {"items", HOLD_ONE_OR_ARRAY, GBX_DIALECT_DRAFT3, GBX_DIALECT_2019_09},
    {"items", HOLD_ONE, GBX_DIALECT_2020_12, GBX_DIALECT_2020_12},
    {"prefixItems", HOLD_ARRAY, GBX_DIALECT_2020_12, GBX_DIALECT_2020_12},
    {"properties", HOLD_MAP, GBX_DIALECT_DRAFT3, GBX_DIALECT_2020_12},
    {"patternProperties", HOLD_MAP, GBX_DIALECT_DRAFT3, GBX_DIALECT_2020_12},
    {"definitions", HOLD_MAP, GBX_DIALECT_DRAFT3, GBX_DIALECT_2020_12},
    {"$defs", HOLD_MAP, GBX_DIALECT_2019_09, GBX_DIALECT_2020_12},
    {"dependencies", HOLD_DEPS, GBX_DIALECT_DRAFT3, GBX_DIALECT_2020_12},
    {"dependentSchemas", HOLD_MAP, GBX_DIALECT_2019_09, GBX_DIALECT_2020_12},
    {"extends", HOLD_ONE_OR_ARRAY, GBX_DIALECT_DRAFT3, GBX_DIALECT_DRAFT3},
    {"type", HOLD_TYPES, GBX_DIALECT_DRAFT3, GBX_DIALECT_DRAFT3},
    {"disallow", HOLD_TYPES, GBX_DIALECT_DRAFT3, GBX_DIALECT_DRAFT3},
    {"allOf", HOLD_ARRAY, GBX_DIALECT_DRAFT4, GBX_DIALECT_2020_12},
    {"anyOf", HOLD_ARRAY, GBX_DIALECT_DRAFT4, GBX_DIALECT_2020_12},
    {"oneOf", HOLD_ARRAY, GBX_DIALECT_DRAFT4, GBX_DIALECT_2020_12},
    {"not", HOLD_ONE, GBX_DIALECT_DRAFT4, GBX_DIALECT_2020_12},
    {"contains", HOLD_ONE, GBX_DIALECT_DRAFT6, GBX_DIALECT_2020_12},
    {"propertyNames", HOLD_ONE, GBX_DIALECT_DRAFT6, GBX_DIALECT_2020_12},
    {"if", HOLD_ONE, GBX_DIALECT_DRAFT7, GBX_DIALECT_2020_12},
    {"then", HOLD_ONE, GBX_DIALECT_DRAFT7, GBX_DIALECT_2020_12},
    {"else", HOLD_ONE, GBX_DIALECT_DRAFT7, GBX_DIALECT_2020_12},
    {"unevaluatedItems", HOLD_ONE, GBX_DIALECT_2019_09, GBX_DIALECT_2020_12},
    {"unevaluatedProperties", HOLD_ONE, GBX_DIALECT_2019_09, GBX_DIALECT_2020_12},
};

static bool holder_applies(const holder *h, gbx_dialect d) {
    if (d == GBX_DIALECT_LEGACY)
        return strcmp(h->name, "properties") == 0 || strcmp(h->name, "items") == 0 ||
               strcmp(h->name, "additionalProperties") == 0 || strcmp(h->name, "definitions") == 0 ||
               strcmp(h->name, "extends") == 0;
    return d >= h->min && d <= h->max;
}

static void walk(cctx *c, const json_t *j, gbx__resource *res, gbx_dialect d, unsigned vocab, bool doc_root);

static void walk_child(cctx *c, const json_t *j, gbx__resource *res, gbx_dialect d, unsigned vocab) {
    if (json_is_object(j)) walk(c, j, res, d, vocab, false);
}

/* Records every resource, anchor and schema place of a document. */
static void walk(cctx *c, const json_t *j, gbx__resource *res, gbx_dialect d, unsigned vocab, bool doc_root) {
    gbx_schema *s = c->s;
    if (c->err || gbx__sch_pmap_get(&s->places, j)) return;
    if (++c->depth > MAX_COMPILE_DEPTH) {
        fail(c, "schema nested too deeply");
        c->depth--;
        return;
    }
    const char *idkw = id_keyword(d);
    const json_t *idv = json_object_get(j, idkw);
    bool has_ref = json_object_get(j, "$ref") != NULL;
    bool ref_overrides = !is_modern(d) && has_ref;

    /* $schema switches the dialect at the root of a document or resource */
    const char *sch = json_string_value(json_object_get(j, "$schema"));
    if (sch && !s->opts.force_dialect && (doc_root || (json_is_string(idv) && !ref_overrides))) {
        unsigned v2;
        gbx_dialect nd = dialect_of_schema_uri(c, sch, d, &v2);
        if (nd != d || v2 != vocab) {
            d = nd;
            vocab = v2;
            idkw = id_keyword(d);
            idv = json_object_get(j, idkw);
            ref_overrides = !is_modern(d) && has_ref;
            if (doc_root && res) {
                res->dialect = d;
                res->vocab = vocab;
            }
        }
    }

    if (json_is_string(idv) && !ref_overrides) {
        const char *id = json_string_value(idv);
        if (id[0] == '#' && !is_modern(d)) {
            /* draft 4-7 location-independent identifier */
            if (id[1] && res) add_anchor(c, res, id + 1, j, false);
        } else {
            char *full = gbx__sch_uri_resolve(res ? res->uri : "", id);
            const char *frag;
            char *abs = full ? gbx__sch_uri_strip_fragment(full, &frag) : NULL;
            if (!abs) {
                free(full);
                oom(c);
                c->depth--;
                return;
            }
            gbx__resource *nr = find_resource(s, abs);
            if (!nr || nr->json != j) {
                nr = nr ? nr : add_resource(c, abs, j, d, vocab);
            }
            if (nr && nr->json == j) {
                res = nr;
                res->dialect = d;
                res->vocab = vocab;
            }
            if (frag && *frag && !is_modern(d) && res) add_anchor(c, res, frag, j, false);
            free(abs);
            free(full);
        }
    }
    if (is_modern(d) && res) {
        const char *anchor = json_string_value(json_object_get(j, "$anchor"));
        if (anchor) add_anchor(c, res, anchor, j, false);
        const char *dyn = json_string_value(json_object_get(j, "$dynamicAnchor"));
        if (dyn && d == GBX_DIALECT_2020_12) add_anchor(c, res, dyn, j, true);
        if (d == GBX_DIALECT_2019_09 && res->json == j && json_is_true(json_object_get(j, "$recursiveAnchor")))
            res->recursive_anchor = true;
    }

    gbx__place *pl = kcalloc(s, 1, sizeof *pl);
    if (!pl || !gbx__sch_pmap_put(&s->places, j, pl)) {
        oom(c);
        c->depth--;
        return;
    }
    pl->resource = res;
    pl->dialect = d;
    pl->vocab = vocab;

    for (size_t h = 0; h < sizeof holders / sizeof holders[0]; h++) {
        const holder *hd = &holders[h];
        if (!holder_applies(hd, d)) continue;
        const json_t *v = json_object_get(j, hd->name);
        if (!v) continue;
        size_t i;
        const char *k;
        json_t *x;
        switch (hd->hold) {
        case HOLD_ONE:
            walk_child(c, v, res, d, vocab);
            break;
        case HOLD_ARRAY:
        case HOLD_ONE_OR_ARRAY:
        case HOLD_TYPES:
            if (json_is_array(v)) {
                json_array_foreach(v, i, x) walk_child(c, x, res, d, vocab);
            } else if (hd->hold == HOLD_ONE_OR_ARRAY) {
                walk_child(c, v, res, d, vocab);
            }
            break;
        case HOLD_MAP:
        case HOLD_DEPS:
            if (json_is_object(v)) {
                json_object_foreach((json_t *)v, k, x) walk_child(c, x, res, d, vocab);
            }
            break;
        }
    }
    c->depth--;
}

/* Indexes a whole document under `uri`; the document must stay alive (it is
 * appended to s->docs). */
static gbx__resource *index_document(cctx *c, json_t *doc, const char *uri, gbx_dialect d) {
    gbx_schema *s = c->s;
    if (json_array_append(s->docs, doc)) {
        oom(c);
        return NULL;
    }
    unsigned vocab = GBX__VOC_ALL;
    if (s->opts.force_dialect) {
        d = s->opts.force_dialect;
    } else {
        const char *sch = json_string_value(json_object_get(doc, "$schema"));
        if (sch) d = dialect_of_schema_uri(c, sch, d, &vocab);
    }
    gbx__resource *r = add_resource(c, uri, doc, d, vocab);
    if (!r) return NULL;
    if (r->json != doc) {
        /* the URI was already taken: index under its own $id only */
        r = NULL;
    }
    if (json_is_object(doc)) walk(c, doc, r, d, vocab, true);
    if (!r) r = find_resource(s, uri);
    return r;
}

/* Fetches a document by absolute URI (no fragment) from the registry or the
 * embedded meta-schemas and indexes it.  Borrowed; NULL (error set) when it
 * cannot be found. */
static json_t *load_document(cctx *c, const char *uri) {
    gbx_schema *s = c->s;
    gbx__resource *known = find_resource(s, uri);
    if (known) return (json_t *)known->json;
    json_t *doc = NULL;
    const gbx_schema_registry *reg = s->opts.registry;
    if (reg) {
        json_t *d = gbx__sch_smap_get(&reg->docs, uri);
        if (d) doc = json_incref(d);
        for (size_t i = 0; !doc && i < reg->ndirs; i++) {
            size_t pn = strlen(reg->prefixes[i]);
            if (strncmp(uri, reg->prefixes[i], pn) != 0) continue;
            const char *rest = uri + pn;
            if (strstr(rest, "..")) continue; /* stay inside the directory */
            char *decoded = gbx__sch_percent_decode(rest, strlen(rest));
            if (!decoded) continue;
            size_t n = strlen(reg->dirs[i]) + strlen(decoded) + 2;
            char *path = malloc(n);
            if (path) {
                snprintf(path, n, "%s/%s", reg->dirs[i], decoded);
                if (gbx_json_load_file(&doc, path, true) != GBX_OK) doc = NULL;
                free(path);
            }
            free(decoded);
        }
    }
    if (!doc && s->file_refs && strncmp(uri, "file://", 7) == 0) {
        /* a schema read from a file may name its neighbours */
        const char *p = uri + 7;
        if (strncmp(p, "localhost/", 10) == 0) p += 9;
        char *path = gbx__sch_percent_decode(p, strlen(p));
        if (path && path[0] == '/' && gbx_json_load_file(&doc, path, true) != GBX_OK) doc = NULL;
        free(path);
    }
    if (!doc) {
        const char *text = gbx__sch_metaschema_text(uri);
        if (text && gbx_json_parse(&doc, text, strlen(text)) != GBX_OK) doc = NULL;
    }
    if (!doc) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "cannot resolve \"%s\"", uri);
        return NULL;
    }
    gbx__resource *r = index_document(c, doc, uri, default_dialect(s));
    json_decref(doc); /* s->docs holds it */
    return r ? (json_t *)r->json : NULL;
}

/* ---- compiling nodes ----------------------------------------------------- */

static gbx__node *compile_node(cctx *c, const json_t *j, const gbx__place *fallback);

static void path_push(cctx *c, const char *seg, size_t *saved) {
    *saved = c->path.len;
    gbx__sch_sbuf_putc(&c->path, '/');
    gbx__sch_pointer_escape(&c->path, seg);
}

static void path_pop(cctx *c, size_t saved) {
    c->path.len = saved;
    if (c->path.s) c->path.s[saved] = '\0';
}

static gbx__node *sub(cctx *c, const gbx__node *parent, const json_t *j, const char *seg1, const char *seg2) {
    size_t a = 0, b = 0;
    path_push(c, seg1, &a);
    if (seg2) path_push(c, seg2, &b);
    gbx__node *n = NULL;
    if (!json_is_object(j) && !json_is_boolean(j)) {
        fail(c, "a schema must be an object%s", at_least(parent->dialect, GBX_DIALECT_DRAFT6) ? " or a boolean" : "");
    } else if (json_is_boolean(j) && !at_least(parent->dialect, GBX_DIALECT_DRAFT6) &&
               strcmp(seg1, "additionalProperties") != 0 && strcmp(seg1, "additionalItems") != 0) {
        fail(c, "a schema must be an object");
    } else {
        gbx__place fb = {parent->resource, parent->dialect, parent->vocab};
        n = compile_node(c, j, &fb);
    }
    path_pop(c, a);
    (void)b;
    return n;
}

static gbx__node *sub_index(cctx *c, const gbx__node *parent, const json_t *j, const char *seg1, size_t i) {
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", i);
    return sub(c, parent, j, seg1, idx);
}

static gbx__kw *add_kw(cctx *c, gbx__node *n, gbx__kw_kind kind, const char *name, const json_t *value, size_t *cap) {
    if (!GBX__GROW(n->kw, *cap, n->nkw + 1, 8)) {
        oom(c);
        return NULL;
    }
    gbx__kw *k = &n->kw[n->nkw++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->name = name;
    k->namelen = strlen(name);
    k->value = value;
    return k;
}

/* "required" (a list of strings): the names as C strings in list order,
 * so that validation reads no JSON array. */
static void compile_required(cctx *c, gbx__kw *k) {
    if (!k) return;
    size_t cnt = json_array_size(k->value);
    k->named = kcalloc(c->s, cnt, sizeof *k->named);
    if (!k->named) {
        oom(c);
        return;
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *x = json_array_get(k->value, i);
        k->named[i].name = json_string_value(x);
        k->named[i].len = json_string_length(x);
    }
    k->nnamed = cnt;
}

static bool nonneg_int(const json_t *v, uint64_t *out) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && gbx__sch_json_is_integral(v) && json_real_value(v) >= 0) {
        double d = json_real_value(v);
        *out = d > 1.8e19 ? UINT64_MAX : (uint64_t)d;
        return true;
    }
    return false;
}

static unsigned type_bit(const char *name, gbx_dialect d) {
    if (strcmp(name, "null") == 0) return GBX__T_NULL;
    if (strcmp(name, "boolean") == 0) return GBX__T_BOOLEAN;
    if (strcmp(name, "object") == 0) return GBX__T_OBJECT;
    if (strcmp(name, "array") == 0) return GBX__T_ARRAY;
    if (strcmp(name, "number") == 0) return GBX__T_NUMBER | GBX__T_INTEGER;
    if (strcmp(name, "string") == 0) return GBX__T_STRING;
    if (strcmp(name, "integer") == 0) return GBX__T_INTEGER;
    if ((d == GBX_DIALECT_DRAFT3 || d == GBX_DIALECT_LEGACY) && strcmp(name, "any") == 0) return GBX__T_ANY;
    return 0;
}

/* "type" / "disallow": names, and in draft 3 schemas too. */
static void compile_type(cctx *c, gbx__node *n, gbx__kw *k) {
    const json_t *v = k->value;
    bool schemas_ok = n->dialect == GBX_DIALECT_DRAFT3;
    if (json_is_string(v)) {
        k->types = type_bit(json_string_value(v), n->dialect);
        if (!k->types && !schemas_ok) fail(c, "unknown type \"%s\"", json_string_value(v));
        return;
    }
    if (!json_is_array(v)) {
        fail(c, "\"%s\" must be a string or an array", k->name);
        return;
    }
    size_t i;
    json_t *x;
    size_t nschemas = 0;
    json_array_foreach(v, i, x) {
        if (json_is_string(x)) {
            unsigned b = type_bit(json_string_value(x), n->dialect);
            if (!b && !schemas_ok) {
                fail(c, "unknown type \"%s\"", json_string_value(x));
                return;
            }
            k->types |= b;
        } else if (schemas_ok && json_is_object(x)) {
            nschemas++;
        } else {
            fail(c, "\"%s\" must list type names", k->name);
            return;
        }
    }
    if (nschemas) {
        k->subs = kcalloc(c->s, nschemas, sizeof *k->subs);
        if (!k->subs) {
            oom(c);
            return;
        }
        json_array_foreach(v, i, x) {
            if (json_is_object(x)) k->subs[k->nsubs++] = sub_index(c, n, x, k->name, i);
        }
    }
}

static int named_cmp(const void *a, const void *b) {
    const gbx__named *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->name, y->name, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* Enters k->named[i] into k's name table (sized for every entry). */
static void table_add(gbx__kw *k, size_t i) {
    gbx__named *e = &k->named[i];
    e->head = gbx__sch_key_head(e->name, e->len);
    e->tail = e->len > 8 ? gbx__sch_key_tail(e->name, e->len) : 0;
    uint32_t t = gbx__sch_key_hash(e->head, e->len) & k->table_mask;
    while (k->table[t]) t = (t + 1) & k->table_mask;
    k->table[t] = (uint32_t)i + 1;
}

/* A name table of at least `cnt` entries (twice that many slots). */
static bool table_alloc(cctx *c, gbx__kw *k, size_t cnt) {
    uint32_t tsize = 4;
    while (tsize < cnt * 2) tsize *= 2;
    k->named = kcalloc(c->s, cnt, sizeof *k->named);
    k->table = kcalloc(c->s, tsize, sizeof *k->table);
    k->table_mask = tsize - 1;
    if (k->named && k->table) return true;
    oom(c);
    return false;
}

/* An "enum" of strings only: a name table, so that validation probes it
 * once instead of comparing with each value. */
static void compile_enum(cctx *c, gbx__kw *k) {
    if (!k || json_array_size(k->value) == 0) return;
    size_t i;
    json_t *x;
    json_array_foreach(k->value, i, x) if (!json_is_string(x)) return;
    if (!table_alloc(c, k, json_array_size(k->value))) return;
    json_array_foreach(k->value, i, x) {
        k->named[i].name = json_string_value(x);
        k->named[i].len = json_string_length(x);
        table_add(k, i);
    }
    k->nnamed = json_array_size(k->value);
}

/* properties-like maps: name -> subschema (or list of names) */
static void compile_map(cctx *c, gbx__node *n, gbx__kw *k, bool deps) {
    const json_t *v = k->value;
    if (!json_is_object(v)) {
        fail(c, "\"%s\" must be an object", k->name);
        return;
    }
    if (!table_alloc(c, k, json_object_size(v))) return;
    const char *key;
    size_t klen;
    json_t *x;
    json_object_keylen_foreach((json_t *)v, key, klen, x) {
        gbx__named *e = &k->named[k->nnamed++];
        e->name = key;
        e->len = klen;
        if (deps && (json_is_array(x) || json_is_string(x))) {
            if (json_is_array(x)) {
                size_t i;
                json_t *y;
                json_array_foreach(x, i, y) if (!json_is_string(y)) {
                    fail(c, "\"%s\" lists must hold property names", k->name);
                    return;
                }
            } else if (n->dialect != GBX_DIALECT_DRAFT3) {
                fail(c, "\"%s\" values must be arrays or schemas", k->name);
                return;
            }
            e->list = x;
        } else if (k->kind == GBX__KW_DEPENDENT_REQUIRED) {
            fail(c, "\"%s\" values must be arrays of property names", k->name);
            return;
        } else {
            e->node = sub(c, n, x, k->name, key);
            if (!e->node) return;
        }
    }
    qsort(k->named, k->nnamed, sizeof *k->named, named_cmp);
    for (size_t i = 0; i < k->nnamed; i++) table_add(k, i);
}

static void compile_patterns(cctx *c, gbx__node *n, gbx__kw *k) {
    const json_t *v = k->value;
    if (!json_is_object(v)) {
        fail(c, "\"patternProperties\" must be an object");
        return;
    }
    k->patterns = kcalloc(c->s, json_object_size(v), sizeof *k->patterns);
    if (!k->patterns) {
        oom(c);
        return;
    }
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        const char *err = NULL;
        gbx__regex *re = gbx__sch_regex_compile(key, &err);
        if (!re) {
            fail(c, "bad regular expression \"%s\": %s", key, err);
            return;
        }
        gbx__pattern_sub *p = &k->patterns[k->npatterns++];
        p->source = key;
        p->re = re;
        p->node = sub(c, n, x, k->name, key);
        if (!p->node) return;
    }
}

static void compile_list(cctx *c, gbx__node *n, gbx__kw *k) {
    const json_t *v = k->value;
    if (!json_is_array(v)) {
        fail(c, "\"%s\" must be an array of schemas", k->name);
        return;
    }
    if (json_array_size(v) == 0 && (k->kind == GBX__KW_ALL_OF || k->kind == GBX__KW_ANY_OF || k->kind == GBX__KW_ONE_OF)) {
        fail(c, "\"%s\" must not be empty", k->name);
        return;
    }
    k->subs = kcalloc(c->s, json_array_size(v), sizeof *k->subs);
    if (!k->subs) {
        oom(c);
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        k->subs[i] = sub_index(c, n, x, k->name, i);
        if (!k->subs[i]) return;
        k->nsubs++;
    }
}

static void compile_number(cctx *c, gbx__kw *k) {
    if (!json_is_number(k->value)) {
        fail(c, "\"%s\" must be a number", k->name);
        return;
    }
    k->numj = k->value;
    k->num = json_number_value(k->value);
}

static void compile_count(cctx *c, gbx__kw *k) {
    if (!nonneg_int(k->value, &k->count)) fail(c, "\"%s\" must be a non-negative integer", k->name);
}

/* Resolves a reference from `n` to the node it names. */
static gbx__node *resolve_ref(cctx *c, const gbx__node *n, const char *ref, gbx__resource **res_out) {
    const char *base = n->resource ? n->resource->uri : "";
    char *full = gbx__sch_uri_resolve(base, ref);
    const char *frag = NULL;
    char *abs = full ? gbx__sch_uri_strip_fragment(full, &frag) : NULL;
    if (!abs) {
        free(full);
        oom(c);
        return NULL;
    }
    gbx__resource *r = find_resource(c->s, abs);
    if (!r) {
        if (load_document(c, abs)) r = find_resource(c->s, abs);
    }
    gbx__node *target = NULL;
    if (!r) {
        fail(c, "cannot resolve $ref \"%s\" (%s)", ref, full);
    } else {
        char *f = frag ? gbx__sch_percent_decode(frag, strlen(frag)) : NULL;
        const json_t *tj = NULL;
        if (frag && !f) {
            fail(c, "bad $ref \"%s\"", ref);
        } else if (!f || !*f) {
            tj = r->json;
        } else if (f[0] == '/') {
            tj = gbx__sch_pointer_get(r->json, f);
        } else {
            const gbx__anchor *a = find_anchor(r, f);
            tj = a ? a->json : NULL;
        }
        if (!tj && !c->err) fail(c, "cannot resolve $ref \"%s\" (%s)", ref, full);
        if (tj) {
            if (!json_is_object(tj) && !json_is_boolean(tj)) {
                fail(c, "$ref \"%s\" does not name a schema", ref);
            } else {
                gbx__place fb = {r, r->dialect, r->vocab};
                target = compile_node(c, tj, &fb);
            }
        }
        free(f);
    }
    if (res_out) *res_out = r;
    free(abs);
    free(full);
    return target;
}

static void compile_ref(cctx *c, gbx__node *n, gbx__kw *k) {
    if (!json_is_string(k->value)) {
        fail(c, "\"%s\" must be a string", k->name);
        return;
    }
    size_t saved;
    path_push(c, k->name, &saved);
    const char *ref = json_string_value(k->value);
    gbx__resource *r = NULL;
    k->sub = resolve_ref(c, n, ref, &r);
    if (k->kind == GBX__KW_DYNAMIC_REF && k->sub && r) {
        /* dynamic only when the fragment is an anchor that was declared
         * with $dynamicAnchor where it statically resolves */
        const char *hash = strchr(ref, '#');
        if (hash && hash[1] && hash[1] != '/') {
            const gbx__anchor *a = find_anchor(r, hash + 1);
            if (a && a->dynamic) k->anchor = kstrdup(c->s, hash + 1);
        }
        c->s->uses_dynamic = true;
    }
    if (k->kind == GBX__KW_RECURSIVE_REF) c->s->uses_dynamic = true;
    path_pop(c, saved);
}

/* The legacy dialect: Gearbox's keywords and their semantics. */
static void compile_legacy(cctx *c, gbx__node *n, size_t *cap) {
    const json_t *j = n->json;
    const json_t *v;
    gbx__kw *k;
    if ((v = json_object_get(j, "$ref"))) {
        if ((k = add_kw(c, n, GBX__KW_REF, "$ref", v, cap))) compile_ref(c, n, k);
    }
    if ((v = json_object_get(j, "extends"))) {
        if (json_is_object(v)) {
            if ((k = add_kw(c, n, GBX__KW_ALL_OF, "extends", v, cap))) {
                k->subs = kcalloc(c->s, 1, sizeof *k->subs);
                if (k->subs && (k->subs[0] = sub(c, n, v, "extends", NULL))) k->nsubs = 1;
            }
        } else if ((k = add_kw(c, n, GBX__KW_ALL_OF, "extends", v, cap))) {
            compile_list(c, n, k);
        }
    }
    const json_t *type = json_object_get(j, "type"), *disallow = json_object_get(j, "disallow");
    if (type || disallow) {
        k = add_kw(c, n, GBX__KW_LEGACY_TYPE, type ? "type" : "disallow", type, cap);
        if (k) {
            unsigned allow = 0, deny = 0;
            for (int pass = 0; pass < 2; pass++) {
                const json_t *tv = pass ? disallow : type;
                if (!tv) continue;
                unsigned *bits = pass ? &deny : &allow;
                if (json_is_string(tv)) {
                    *bits = type_bit(json_string_value(tv), GBX_DIALECT_LEGACY);
                    if (!*bits) fail(c, "unknown type \"%s\"", json_string_value(tv));
                } else if (json_is_array(tv)) {
                    size_t i;
                    json_t *x;
                    json_array_foreach(tv, i, x) {
                        unsigned b = json_is_string(x) ? type_bit(json_string_value(x), GBX_DIALECT_LEGACY) : 0;
                        if (!b) fail(c, "\"%s\" must list type names", pass ? "disallow" : "type");
                        *bits |= b;
                    }
                } else {
                    fail(c, "\"%s\" must be a string or an array", pass ? "disallow" : "type");
                }
            }
            k->types = type ? allow : GBX__T_ANY;
            k->count = deny; /* disallowed types */
        }
    }
    const char *nums[] = {"minimum", "maximum"};
    for (int i = 0; i < 2; i++) {
        if ((v = json_object_get(j, nums[i])) &&
            (k = add_kw(c, n, i ? GBX__KW_MAXIMUM : GBX__KW_MINIMUM, nums[i], v, cap)))
            compile_number(c, k);
    }
    if ((v = json_object_get(j, "maxDecimal")) && (k = add_kw(c, n, GBX__KW_LEGACY_RANGE, "maxDecimal", v, cap)))
        compile_count(c, k);
    if ((v = json_object_get(j, "minLength")) && (k = add_kw(c, n, GBX__KW_MIN_LENGTH, "minLength", v, cap)))
        compile_count(c, k);
    if ((v = json_object_get(j, "maxLength")) && (k = add_kw(c, n, GBX__KW_MAX_LENGTH, "maxLength", v, cap)))
        compile_count(c, k);
    if ((v = json_object_get(j, "format")) && json_is_string(v)) {
        static const char *gearbox_formats[] = {"date-time", "date", "uri", "ip-address", "ipv4", "ipv6", "mac-address", NULL};
        for (int i = 0; gearbox_formats[i]; i++)
            if (strcmp(gearbox_formats[i], json_string_value(v)) == 0 &&
                (k = add_kw(c, n, GBX__KW_FORMAT, "format", v, cap)))
                k->format = gbx__sch_format_lookup(gearbox_formats[i], GBX_DIALECT_LEGACY);
    }
    if ((v = json_object_get(j, "pattern"))) {
        if (!json_is_string(v)) {
            fail(c, "\"pattern\" must be a string");
        } else if ((k = add_kw(c, n, GBX__KW_PATTERN, "pattern", v, cap))) {
            const char *err = NULL;
            k->re = gbx__sch_regex_compile(json_string_value(v), &err);
            if (!k->re) fail(c, "bad regular expression \"%s\": %s", json_string_value(v), err);
        }
    }
    if ((v = json_object_get(j, "enum"))) {
        if (!json_is_array(v)) fail(c, "\"enum\" must be an array");
        else add_kw(c, n, GBX__KW_ENUM, "enum", v, cap);
    }
    if ((v = json_object_get(j, "uniqueItems")) && json_is_true(v)) add_kw(c, n, GBX__KW_UNIQUE_ITEMS, "uniqueItems", v, cap);

    /* additionalProperties: absent or true = anything, false = nothing,
     * a schema = that schema; it governs both extra properties and the
     * items beyond a tuple. */
    const json_t *addl = json_object_get(j, "additionalProperties");
    gbx__node *addl_node = NULL;
    bool addl_false = false;
    if (addl) {
        if (json_is_false(addl)) addl_false = true;
        else if (json_is_object(addl)) addl_node = sub(c, n, addl, "additionalProperties", NULL);
        else if (!json_is_true(addl)) fail(c, "\"additionalProperties\" must be a boolean or a schema");
    }

    /* objects */
    const json_t *props = json_object_get(j, "properties");
    k = add_kw(c, n, GBX__KW_LEGACY_OBJECT, "properties", props, cap);
    if (k) {
        k->legacy_additional = addl_node;
        k->legacy_additional_false = addl_false;
        if (props) {
            compile_map(c, n, k, false);
            for (size_t i = 0; i < k->nnamed && !c->err; i++) {
                const json_t *ps = k->named[i].node ? k->named[i].node->json : NULL;
                const json_t *req = json_object_get(ps, "requires");
                if (req && !json_is_string(req) && !json_is_array(req))
                    fail(c, "\"requires\" of \"%s\" must be a property name or a list of them", k->named[i].name);
                if (req && json_is_array(req)) {
                    size_t x;
                    json_t *y;
                    json_array_foreach(req, x, y) if (!json_is_string(y)) fail(c, "\"requires\" must list property names");
                }
            }
        }
    }
    /* arrays */
    const json_t *items = json_object_get(j, "items");
    k = add_kw(c, n, GBX__KW_LEGACY_ARRAY, "items", items, cap);
    if (k) {
        k->legacy_additional = addl_node;
        k->legacy_additional_false = addl_false;
        if ((v = json_object_get(j, "minItems"))) {
            if (!nonneg_int(v, &k->count)) fail(c, "\"minItems\" must be a non-negative integer");
        }
        if ((v = json_object_get(j, "maxItems"))) {
            k->has_count2 = true;
            if (!nonneg_int(v, &k->count2)) fail(c, "\"maxItems\" must be a non-negative integer");
        }
        if (json_is_object(items)) {
            k->sub = sub(c, n, items, "items", NULL);
        } else if (json_is_array(items)) {
            compile_list(c, n, k);
            k->prefix_len = k->nsubs;
        } else if (items) {
            fail(c, "\"items\" must be a schema or an array of schemas");
        }
    }
}

/* Compiles the keywords of an object schema of a JSON Schema draft. */
static void compile_standard(cctx *c, gbx__node *n, size_t *cap) {
    const json_t *j = n->json;
    gbx_dialect d = n->dialect;
    unsigned voc = n->vocab;
    bool modern = is_modern(d);
    bool applicator = !modern || (voc & GBX__VOC_APPLICATOR);
    bool validation = !modern || (voc & GBX__VOC_VALIDATION);
    bool unevaluated = modern && (voc & GBX__VOC_UNEVALUATED);
    const json_t *v;
    gbx__kw *k;

    if ((v = json_object_get(j, "$ref"))) {
        if ((k = add_kw(c, n, GBX__KW_REF, "$ref", v, cap))) compile_ref(c, n, k);
        if (!modern) return; /* draft 3-7: $ref replaces its siblings */
    }
    if (d == GBX_DIALECT_2020_12 && (v = json_object_get(j, "$dynamicRef"))) {
        if ((k = add_kw(c, n, GBX__KW_DYNAMIC_REF, "$dynamicRef", v, cap))) compile_ref(c, n, k);
    }
    if (d == GBX_DIALECT_2019_09 && (v = json_object_get(j, "$recursiveRef"))) {
        if ((k = add_kw(c, n, GBX__KW_RECURSIVE_REF, "$recursiveRef", v, cap))) compile_ref(c, n, k);
    }

    /* --- assertions --- */
    if (validation) {
        if ((v = json_object_get(j, "type")) && (k = add_kw(c, n, GBX__KW_TYPE, "type", v, cap))) compile_type(c, n, k);
        if (d == GBX_DIALECT_DRAFT3 && (v = json_object_get(j, "disallow")) &&
            (k = add_kw(c, n, GBX__KW_DISALLOW, "disallow", v, cap)))
            compile_type(c, n, k);
        if ((v = json_object_get(j, "enum"))) {
            if (!json_is_array(v)) fail(c, "\"enum\" must be an array");
            else compile_enum(c, add_kw(c, n, GBX__KW_ENUM, "enum", v, cap));
        }
        if (at_least(d, GBX_DIALECT_DRAFT6) && (v = json_object_get(j, "const"))) add_kw(c, n, GBX__KW_CONST, "const", v, cap);
        const char *mo = d == GBX_DIALECT_DRAFT3 ? "divisibleBy" : "multipleOf";
        if ((v = json_object_get(j, mo)) && (k = add_kw(c, n, GBX__KW_MULTIPLE_OF, mo, v, cap))) {
            compile_number(c, k);
            if (!c->err && k->num <= 0) fail(c, "\"%s\" must be greater than 0", mo);
        }
        bool bool_excl = d == GBX_DIALECT_DRAFT3 || d == GBX_DIALECT_DRAFT4;
        if ((v = json_object_get(j, "maximum")) && (k = add_kw(c, n, GBX__KW_MAXIMUM, "maximum", v, cap))) {
            compile_number(c, k);
            if (bool_excl) k->exclusive = json_is_true(json_object_get(j, "exclusiveMaximum"));
        }
        if ((v = json_object_get(j, "minimum")) && (k = add_kw(c, n, GBX__KW_MINIMUM, "minimum", v, cap))) {
            compile_number(c, k);
            if (bool_excl) k->exclusive = json_is_true(json_object_get(j, "exclusiveMinimum"));
        }
        if (!bool_excl) {
            if ((v = json_object_get(j, "exclusiveMaximum")) &&
                (k = add_kw(c, n, GBX__KW_EXCLUSIVE_MAXIMUM, "exclusiveMaximum", v, cap)))
                compile_number(c, k);
            if ((v = json_object_get(j, "exclusiveMinimum")) &&
                (k = add_kw(c, n, GBX__KW_EXCLUSIVE_MINIMUM, "exclusiveMinimum", v, cap)))
                compile_number(c, k);
        }
        if ((v = json_object_get(j, "maxLength")) && (k = add_kw(c, n, GBX__KW_MAX_LENGTH, "maxLength", v, cap)))
            compile_count(c, k);
        if ((v = json_object_get(j, "minLength")) && (k = add_kw(c, n, GBX__KW_MIN_LENGTH, "minLength", v, cap)))
            compile_count(c, k);
        if ((v = json_object_get(j, "pattern"))) {
            if (!json_is_string(v)) {
                fail(c, "\"pattern\" must be a string");
            } else if ((k = add_kw(c, n, GBX__KW_PATTERN, "pattern", v, cap))) {
                const char *err = NULL;
                k->re = gbx__sch_regex_compile(json_string_value(v), &err);
                if (!k->re) fail(c, "bad regular expression \"%s\": %s", json_string_value(v), err);
            }
        }
        if ((v = json_object_get(j, "maxItems")) && (k = add_kw(c, n, GBX__KW_MAX_ITEMS, "maxItems", v, cap)))
            compile_count(c, k);
        if ((v = json_object_get(j, "minItems")) && (k = add_kw(c, n, GBX__KW_MIN_ITEMS, "minItems", v, cap)))
            compile_count(c, k);
        if ((v = json_object_get(j, "uniqueItems")) && json_is_true(v))
            add_kw(c, n, GBX__KW_UNIQUE_ITEMS, "uniqueItems", v, cap);
        if (at_least(d, GBX_DIALECT_DRAFT4)) {
            if ((v = json_object_get(j, "maxProperties")) &&
                (k = add_kw(c, n, GBX__KW_MAX_PROPERTIES, "maxProperties", v, cap)))
                compile_count(c, k);
            if ((v = json_object_get(j, "minProperties")) &&
                (k = add_kw(c, n, GBX__KW_MIN_PROPERTIES, "minProperties", v, cap)))
                compile_count(c, k);
            if ((v = json_object_get(j, "required"))) {
                if (!json_is_array(v)) {
                    fail(c, "\"required\" must be an array of property names");
                } else {
                    size_t i;
                    json_t *x;
                    json_array_foreach(v, i, x) if (!json_is_string(x)) fail(c, "\"required\" must list property names");
                    gbx__kw *rk = add_kw(c, n, GBX__KW_REQUIRED, "required", v, cap);
                    if (!c->err) compile_required(c, rk); /* names are strings */
                }
            }
        }
        if (modern && (v = json_object_get(j, "dependentRequired")) &&
            (k = add_kw(c, n, GBX__KW_DEPENDENT_REQUIRED, "dependentRequired", v, cap)))
            compile_map(c, n, k, true);
    }
    bool fmt_assert = c->s->opts.validate_formats || (voc & GBX__VOC_FORMAT_ASSERTION);
    if ((v = json_object_get(j, "format")) && json_is_string(v) && fmt_assert) {
        gbx__format_fn fn = gbx__sch_format_lookup(json_string_value(v), d);
        if (fn && (k = add_kw(c, n, GBX__KW_FORMAT, "format", v, cap))) k->format = fn;
    }

    /* draft 7 asserts contentEncoding (base64) and contentMediaType
     * (application/json); later drafts made them annotations */
    if (d == GBX_DIALECT_DRAFT7) {
        const json_t *enc = json_object_get(j, "contentEncoding"), *mt = json_object_get(j, "contentMediaType");
        bool b64 = json_is_string(enc) && strcasecmp(json_string_value(enc), "base64") == 0;
        bool js = json_is_string(mt) && strncasecmp(json_string_value(mt), "application/json", 16) == 0;
        if ((b64 || js) && (k = add_kw(c, n, GBX__KW_CONTENT, js ? "contentMediaType" : "contentEncoding", mt ? mt : enc, cap))) {
            k->count = b64;
            k->count2 = js;
        }
    }

    /* draft 3: "required": true inside property schemas */
    if (d == GBX_DIALECT_DRAFT3 && json_is_object(v = json_object_get(j, "properties"))) {
        json_t *names = json_array();
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)v, key, x) {
            if (json_is_true(json_object_get(x, "required"))) json_array_append_new(names, json_string(key));
        }
        if (json_array_size(names) && !json_array_append(c->s->docs, names))
            compile_required(c, add_kw(c, n, GBX__KW_REQUIRED, "properties", names, cap));
        json_decref(names);
    }

    if (!applicator) goto unevaluated_kw;

    /* --- applicators --- */
    if (d == GBX_DIALECT_DRAFT3 && (v = json_object_get(j, "extends"))) {
        if ((k = add_kw(c, n, GBX__KW_ALL_OF, "extends", v, cap))) {
            if (json_is_object(v)) {
                k->subs = kcalloc(c->s, 1, sizeof *k->subs);
                if (k->subs && (k->subs[0] = sub(c, n, v, "extends", NULL))) k->nsubs = 1;
            } else {
                compile_list(c, n, k);
            }
        }
    }
    if (at_least(d, GBX_DIALECT_DRAFT4)) {
        if ((v = json_object_get(j, "allOf")) && (k = add_kw(c, n, GBX__KW_ALL_OF, "allOf", v, cap))) compile_list(c, n, k);
        if ((v = json_object_get(j, "anyOf")) && (k = add_kw(c, n, GBX__KW_ANY_OF, "anyOf", v, cap))) compile_list(c, n, k);
        if ((v = json_object_get(j, "oneOf")) && (k = add_kw(c, n, GBX__KW_ONE_OF, "oneOf", v, cap))) compile_list(c, n, k);
        if ((v = json_object_get(j, "not")) && (k = add_kw(c, n, GBX__KW_NOT, "not", v, cap))) k->sub = sub(c, n, v, "not", NULL);
    }
    if (at_least(d, GBX_DIALECT_DRAFT7) && (v = json_object_get(j, "if"))) {
        const json_t *th = json_object_get(j, "then"), *el = json_object_get(j, "else");
        if ((th || el) && (k = add_kw(c, n, GBX__KW_IF, "if", v, cap))) {
            k->sub = sub(c, n, v, "if", NULL);
            if (th) k->sub2 = sub(c, n, th, "then", NULL);
            if (el) k->sub3 = sub(c, n, el, "else", NULL);
        } else if (!th && !el && !json_is_object(v) && !json_is_boolean(v)) {
            fail(c, "\"if\" must be a schema");
        } else if (!th && !el) {
            /* "if" alone still evaluates (its annotations count) */
            if ((k = add_kw(c, n, GBX__KW_IF, "if", v, cap))) k->sub = sub(c, n, v, "if", NULL);
        }
    }

    /* arrays */
    size_t prefix = 0;
    if (d == GBX_DIALECT_2020_12) {
        if ((v = json_object_get(j, "prefixItems")) && (k = add_kw(c, n, GBX__KW_PREFIX_ITEMS, "prefixItems", v, cap))) {
            compile_list(c, n, k);
            prefix = k->nsubs;
        }
        if ((v = json_object_get(j, "items")) && (k = add_kw(c, n, GBX__KW_ITEMS, "items", v, cap))) {
            k->sub = sub(c, n, v, "items", NULL);
            k->prefix_len = prefix;
        }
    } else if ((v = json_object_get(j, "items"))) {
        if (json_is_array(v)) {
            if ((k = add_kw(c, n, GBX__KW_PREFIX_ITEMS, "items", v, cap))) {
                compile_list(c, n, k);
                prefix = k->nsubs;
            }
            const json_t *ai = json_object_get(j, "additionalItems");
            if (ai && (k = add_kw(c, n, GBX__KW_ADDITIONAL_ITEMS, "additionalItems", ai, cap))) {
                k->sub = sub(c, n, ai, "additionalItems", NULL);
                k->prefix_len = prefix;
            }
        } else if ((k = add_kw(c, n, GBX__KW_ITEMS, "items", v, cap))) {
            k->sub = sub(c, n, v, "items", NULL);
        }
    }
    if (at_least(d, GBX_DIALECT_DRAFT6) && (v = json_object_get(j, "contains")) &&
        (k = add_kw(c, n, GBX__KW_CONTAINS, "contains", v, cap))) {
        k->sub = sub(c, n, v, "contains", NULL);
        k->count = 1;
        if (modern && validation) {
            const json_t *mn = json_object_get(j, "minContains"), *mx = json_object_get(j, "maxContains");
            if (mn && !nonneg_int(mn, &k->count)) fail(c, "\"minContains\" must be a non-negative integer");
            if (mx) {
                k->has_count2 = true;
                if (!nonneg_int(mx, &k->count2)) fail(c, "\"maxContains\" must be a non-negative integer");
            }
        }
    }

    /* objects */
    const gbx__kw *props_kw = NULL, *pattern_kw = NULL;
    size_t props_i = SIZE_MAX, pattern_i = SIZE_MAX;
    if ((v = json_object_get(j, "properties")) && (k = add_kw(c, n, GBX__KW_PROPERTIES, "properties", v, cap))) {
        compile_map(c, n, k, false);
        props_i = n->nkw - 1;
    }
    if ((v = json_object_get(j, "patternProperties")) &&
        (k = add_kw(c, n, GBX__KW_PATTERN_PROPERTIES, "patternProperties", v, cap))) {
        compile_patterns(c, n, k);
        pattern_i = n->nkw - 1;
    }
    if ((v = json_object_get(j, "additionalProperties")) &&
        (k = add_kw(c, n, GBX__KW_ADDITIONAL_PROPERTIES, "additionalProperties", v, cap))) {
        k->sub = sub(c, n, v, "additionalProperties", NULL);
        /* siblings are looked up by index: the keyword array may move */
        k->count = props_i;
        k->count2 = pattern_i;
    }
    (void)props_kw;
    (void)pattern_kw;
    /* "dependencies" was split in 2019-09; still honoured there, as most
     * validators do, for schemas written against older drafts */
    if ((v = json_object_get(j, "dependencies")) &&
        (k = add_kw(c, n, GBX__KW_DEPENDENT_SCHEMAS, "dependencies", v, cap)))
        compile_map(c, n, k, true);
    if (modern && (v = json_object_get(j, "dependentSchemas")) &&
        (k = add_kw(c, n, GBX__KW_DEPENDENT_SCHEMAS, "dependentSchemas", v, cap)))
        compile_map(c, n, k, false);
    if (at_least(d, GBX_DIALECT_DRAFT6) && (v = json_object_get(j, "propertyNames")) &&
        (k = add_kw(c, n, GBX__KW_PROPERTY_NAMES, "propertyNames", v, cap)))
        k->sub = sub(c, n, v, "propertyNames", NULL);

unevaluated_kw:
    /* unevaluated* last: they see what every other keyword evaluated */
    if (unevaluated) {
        if ((v = json_object_get(j, "unevaluatedItems")) &&
            (k = add_kw(c, n, GBX__KW_UNEVALUATED_ITEMS, "unevaluatedItems", v, cap))) {
            k->sub = sub(c, n, v, "unevaluatedItems", NULL);
            n->tracks = true;
        }
        if ((v = json_object_get(j, "unevaluatedProperties")) &&
            (k = add_kw(c, n, GBX__KW_UNEVALUATED_PROPERTIES, "unevaluatedProperties", v, cap))) {
            k->sub = sub(c, n, v, "unevaluatedProperties", NULL);
            n->tracks = true;
        }
    }
}

static gbx__node *compile_node(cctx *c, const json_t *j, const gbx__place *fallback) {
    gbx_schema *s = c->s;
    gbx__node *n = gbx__sch_pmap_get(&s->nodes, j);
    if (n) return n;
    if (c->err) return NULL;
    n = calloc(1, sizeof *n);
    if (!n || !gbx__sch_keep(s, n) || !gbx__sch_pmap_put(&s->nodes, j, n)) {
        oom(c);
        return NULL;
    }
    n->json = j;
    n->boolean = -1;
    if (json_is_boolean(j)) {
        n->boolean = json_is_true(j);
        n->compiled = true;
        n->dialect = fallback ? fallback->dialect : default_dialect(s);
        return n;
    }
    const gbx__place *pl = gbx__sch_pmap_get(&s->places, j);
    if (!pl) pl = fallback;
    n->resource = pl ? pl->resource : NULL;
    n->dialect = pl ? pl->dialect : default_dialect(s);
    n->vocab = pl ? pl->vocab : GBX__VOC_ALL;
    if (++c->depth > MAX_COMPILE_DEPTH) {
        fail(c, "schema nested too deeply");
        c->depth--;
        return NULL;
    }
    size_t cap = 0;
    if (n->dialect == GBX_DIALECT_LEGACY)
        compile_legacy(c, n, &cap);
    else
        compile_standard(c, n, &cap);
    c->depth--;
    n->compiled = true;
    return c->err ? NULL : n;
}

/* Keeps the keyword arrays (realloc'ed while compiling) for freeing. */
static void adopt_keywords(gbx_schema *s) {
    for (size_t i = 0; i < s->nodes.cap; i++) {
        gbx__node *n = s->nodes.vals[i];
        if (!s->nodes.keys[i] || !n || !n->kw) continue;
        gbx__sch_keep(s, n->kw);
    }
}

/* ---- what validation can know in advance ----------------------------------- */

/* The instances a keyword can fail on: every other kind of instance passes
 * it untouched (each of these cases starts with that type test). */
static unsigned kw_applies(gbx__kw_kind kind) {
    switch (kind) {
    case GBX__KW_MULTIPLE_OF:
    case GBX__KW_MAXIMUM:
    case GBX__KW_MINIMUM:
    case GBX__KW_EXCLUSIVE_MAXIMUM:
    case GBX__KW_EXCLUSIVE_MINIMUM:
    case GBX__KW_LEGACY_RANGE:
        return GBX__A_NUMBER;
    case GBX__KW_MAX_LENGTH:
    case GBX__KW_MIN_LENGTH:
    case GBX__KW_PATTERN:
    case GBX__KW_FORMAT:
    case GBX__KW_CONTENT:
        return GBX__A_STRING;
    case GBX__KW_MAX_ITEMS:
    case GBX__KW_MIN_ITEMS:
    case GBX__KW_UNIQUE_ITEMS:
    case GBX__KW_ITEMS:
    case GBX__KW_PREFIX_ITEMS:
    case GBX__KW_ADDITIONAL_ITEMS:
    case GBX__KW_CONTAINS:
    case GBX__KW_UNEVALUATED_ITEMS:
    case GBX__KW_LEGACY_ARRAY:
        return GBX__A_ARRAY;
    case GBX__KW_MAX_PROPERTIES:
    case GBX__KW_MIN_PROPERTIES:
    case GBX__KW_REQUIRED:
    case GBX__KW_DEPENDENT_REQUIRED:
    case GBX__KW_DEPENDENT_SCHEMAS:
    case GBX__KW_PROPERTIES:
    case GBX__KW_PATTERN_PROPERTIES:
    case GBX__KW_ADDITIONAL_PROPERTIES:
    case GBX__KW_PROPERTY_NAMES:
    case GBX__KW_UNEVALUATED_PROPERTIES:
    case GBX__KW_LEGACY_OBJECT:
        return GBX__A_OBJECT;
    default:
        return GBX__A_ALL;
    }
}

#define MAX_CONTRIB 32

/* Collects the "properties" keywords whose members count as evaluated for
 * n's instance: n's own and, through allOf, its subschemas'.  False when
 * n evaluates members in a way a fixed name set cannot say (a branch that
 * may or may not apply, $ref, patterns, additionalProperties, nested
 * unevaluated*): then the marks are kept at validation time. */
static bool collect_props(const gbx__node *n, bool top, const gbx__kw **list, size_t *nlist, int depth) {
    if (n->boolean >= 0) return true; /* evaluates nothing */
    if (depth > 8 || (!top && n->tracks)) return false;
    for (size_t i = 0; i < n->nkw; i++) {
        const gbx__kw *k = &n->kw[i];
        switch (k->kind) {
        case GBX__KW_PROPERTIES:
            if (*nlist == MAX_CONTRIB) return false;
            list[(*nlist)++] = k;
            break;
        case GBX__KW_ALL_OF:
            for (size_t j = 0; j < k->nsubs; j++)
                if (!collect_props(k->subs[j], false, list, nlist, depth + 1)) return false;
            break;
        case GBX__KW_DEPENDENT_SCHEMAS:
            for (size_t j = 0; j < k->nnamed; j++)
                if (k->named[j].node) return false;
            break;
        case GBX__KW_UNEVALUATED_PROPERTIES:
            if (!top) return false;
            break;
        case GBX__KW_REF:
        case GBX__KW_DYNAMIC_REF:
        case GBX__KW_RECURSIVE_REF:
        case GBX__KW_ANY_OF:
        case GBX__KW_ONE_OF:
        case GBX__KW_IF:
        case GBX__KW_PATTERN_PROPERTIES:
        case GBX__KW_ADDITIONAL_PROPERTIES:
        case GBX__KW_UNEVALUATED_ITEMS:
        case GBX__KW_LEGACY_OBJECT:
        case GBX__KW_LEGACY_ARRAY:
            return false;
        default:
            break; /* marks no member */
        }
    }
    return true;
}

/* How many allOf levels below n the "properties" keyword k sits (0: n's
 * own; fusable nodes have at most one level). */
static unsigned props_depth(const gbx__node *n, const gbx__kw *k) {
    return k >= n->kw && k < n->kw + n->nkw ? 0 : 1;
}

/* Can the verdict of n (a static unevaluatedProperties) come from one walk
 * over the members?  Yes when its allOf subschemas hold nothing but
 * "properties" (or are true): the walk checks each member against the one
 * subschema its name has, and the other keywords of n as they are. */
static bool fusable(const gbx__node *n) {
    for (size_t i = 0; i < n->nkw; i++) {
        const gbx__kw *k = &n->kw[i];
        if (k->kind != GBX__KW_ALL_OF) continue;
        for (size_t j = 0; j < k->nsubs; j++) {
            const gbx__node *x = k->subs[j];
            if (x->boolean == 1) continue;
            if (x->boolean == 0 || x->nkw != 1 || x->kw[0].kind != GBX__KW_PROPERTIES) return false;
        }
    }
    return true;
}

/* unevaluatedProperties over a fixed set of names, when collect_props can
 * name them: the union goes into the keyword's name table. */
static void static_unevaluated(cctx *c, gbx__node *n) {
    gbx__kw *u = &n->kw[n->nkw - 1];
    if (u->kind != GBX__KW_UNEVALUATED_PROPERTIES) return;
    const gbx__kw *list[MAX_CONTRIB];
    size_t nlist = 0, total = 0;
    if (!collect_props(n, true, list, &nlist, 0)) return;
    for (size_t i = 0; i < nlist; i++) total += list[i]->nnamed;
    if (!table_alloc(c, u, total)) return;
    u->contrib = kcalloc(c->s, nlist, sizeof *u->contrib);
    if (!u->contrib) {
        oom(c);
        return;
    }
    memcpy(u->contrib, list, nlist * sizeof *list);
    u->ncontrib = nlist;
    bool unique = true;
    for (size_t i = 0; i < nlist; i++)
        for (size_t j = 0; j < list[i]->nnamed; j++) {
            const gbx__named *e = &list[i]->named[j];
            if (gbx__sch_named_find(u, e->name, e->len)) {
                unique = false;
                continue;
            }
            gbx__named *x = &u->named[u->nnamed];
            x->name = e->name;
            x->len = e->len;
            x->node = e->node;
            x->depth = props_depth(n, list[i]);
            table_add(u, u->nnamed++);
        }
    n->static_uneval = true;
    n->fused = unique && fusable(n);
}

/* The {"const": <string>} that branch b's own "properties" gives member
 * `name`, or NULL. */
static const json_t *branch_const(const gbx__node *b, const char *name, size_t len) {
    if (b->boolean >= 0) return NULL;
    for (size_t i = 0; i < b->nkw; i++) {
        if (b->kw[i].kind != GBX__KW_PROPERTIES) continue;
        const gbx__named *e = gbx__sch_named_find(&b->kw[i], name, len);
        const gbx__node *x = e ? e->node : NULL;
        if (!x || x->boolean >= 0 || x->nkw != 1 || x->kw[0].kind != GBX__KW_CONST || !json_is_string(x->kw[0].value))
            return NULL;
        return x->kw[0].value;
    }
    return NULL;
}

/* oneOf whose branches each pin one member to a different string (a tag,
 * as {"kind": {"const": "circle"}}): see gbx__kw.disc. */
static void discriminate(cctx *c, gbx__kw *k) {
    if (k->nsubs < 2 || k->subs[0]->boolean >= 0) return;
    const gbx__node *b0 = k->subs[0];
    for (size_t p = 0; p < b0->nkw; p++) {
        if (b0->kw[p].kind != GBX__KW_PROPERTIES) continue;
        for (size_t t = 0; t < b0->kw[p].nnamed; t++) {
            const gbx__named *cand = &b0->kw[p].named[t];
            bool ok = true;
            for (size_t i = 0; ok && i < k->nsubs; i++) {
                const json_t *v = branch_const(k->subs[i], cand->name, cand->len);
                ok = v != NULL;
                for (size_t j = 0; ok && j < i; j++) ok = !json_equal(v, branch_const(k->subs[j], cand->name, cand->len));
            }
            if (!ok) continue;
            k->disc_vals = kcalloc(c->s, k->nsubs, sizeof *k->disc_vals);
            if (!k->disc_vals) {
                oom(c);
                return;
            }
            for (size_t i = 0; i < k->nsubs; i++) k->disc_vals[i] = branch_const(k->subs[i], cand->name, cand->len);
            k->disc = cand->name;
            k->disclen = cand->len;
            return;
        }
        return;
    }
}

/* Fills in what validation reads instead of working it out each time. */
static void finish_nodes(cctx *c) {
    gbx_schema *s = c->s;
    for (size_t i = 0; i < s->nodes.cap && !c->err; i++) {
        gbx__node *n = s->nodes.vals[i];
        if (!s->nodes.keys[i] || !n || n->boolean >= 0) continue;
        for (size_t k = 0; k < n->nkw; k++) n->kw[k].applies = kw_applies(n->kw[k].kind);
        if (n->nkw == 1 && n->kw[0].kind == GBX__KW_TYPE && n->kw[0].nsubs == 0) n->type_only = n->kw[0].types;
        if (n->tracks) static_unevaluated(c, n);
        for (size_t k = 0; k < n->nkw; k++)
            if (n->kw[k].kind == GBX__KW_ONE_OF) discriminate(c, &n->kw[k]);
    }
}

gbx_err gbx__sch_compile(gbx_schema *s, json_t *doc, const char *base_uri) {
    cctx c = {.s = s};
    s->docs = json_array();
    if (!s->docs) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (!json_is_object(doc) && !json_is_boolean(doc)) {
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid schema: a schema must be an object or a boolean");
    }
    gbx_dialect d = s->opts.force_dialect ? s->opts.force_dialect : default_dialect(s);
    char *uri = strdup(base_uri && *base_uri ? base_uri : "urn:gearbox:schema");
    if (!uri) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    char *abs = gbx__sch_uri_strip_fragment(uri, NULL);
    free(uri);
    if (!abs) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx__resource *r = index_document(&c, doc, abs, d);
    free(abs);
    if (!c.err && r) {
        s->dialect = json_is_object(doc) ? ((gbx__place *)gbx__sch_pmap_get(&s->places, doc))->dialect : r->dialect;
        gbx__place fb = {r, r->dialect, r->vocab};
        s->root = compile_node(&c, doc, &fb);
    }
    /* $dynamicRef / $recursiveRef may land on any dynamic anchor or
     * recursive root at run time: compile them all now */
    size_t before = (size_t)-1;
    while (!c.err && s->uses_dynamic && before != s->nodes.n) {
        before = s->nodes.n;
        for (size_t i = 0; i < s->resources.cap && !c.err; i++) {
            gbx__resource *res = s->resources.slots[i].key ? s->resources.slots[i].val : NULL;
            if (!res) continue;
            gbx__place fb = {res, res->dialect, res->vocab};
            if (res->recursive_anchor) compile_node(&c, res->json, &fb);
            for (size_t a = 0; a < res->nanchors && !c.err; a++)
                if (res->anchors[a].dynamic) compile_node(&c, res->anchors[a].json, &fb);
        }
    }
    adopt_keywords(s);
    if (!c.err) finish_nodes(&c);
    gbx__sch_sbuf_free(&c.path);
    if (c.err) return c.err;
    if (!s->root) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot compile schema");
    return GBX_OK;
}

static void free_resource(void *p) {
    gbx__resource *r = p;
    if (!r) return;
    for (size_t i = 0; i < r->nanchors; i++) free(r->anchors[i].name);
    free(r->anchors);
    free(r->uri);
    free(r);
}

void gbx__schema_destroy(gbx_schema *s) {
    /* regular expressions hang off keywords */
    for (size_t i = 0; i < s->nodes.cap; i++) {
        gbx__node *n = s->nodes.vals[i];
        if (!s->nodes.keys[i] || !n) continue;
        for (size_t k = 0; k < n->nkw; k++) {
            gbx__kw *kw = &n->kw[k];
            gbx__sch_regex_free(kw->re);
            for (size_t p = 0; p < kw->npatterns; p++) gbx__sch_regex_free(kw->patterns[p].re);
        }
    }
    for (size_t i = 0; i < s->nallocs; i++) free(s->allocs[i]);
    free(s->allocs);
    gbx__sch_smap_free(&s->resources, free_resource);
    gbx__sch_pmap_free(&s->places);
    gbx__sch_pmap_free(&s->nodes);
    json_decref(s->docs);
}
