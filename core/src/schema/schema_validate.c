/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_validate.c - applies a compiled schema to an instance.
 *
 * One recursive walk over the node graph.  Violations carry the instance's
 * JSON Pointer and the schema keyword's location (the evaluation path).
 * Subschemas whose failure does not itself make a violation (anyOf, oneOf,
 * not, if, contains, ...) are evaluated "quietly": nothing is recorded and
 * the walk stops at the first failure.  unevaluatedItems/Properties read
 * the marks that the other keywords of the same schema leave on the
 * instance's items and properties. */
#include "schema/schema_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000 /* nested evaluations; ~0.6 KB of stack each (1.3 KB at -O0) */

typedef struct seg {
    const char *s; /* NULL: index */
    size_t n;
    size_t idx;
} seg;

typedef struct pathstack {
    seg *v;
    size_t n, cap;
    seg inline_segs[48];
} pathstack;

/* What the keywords of one schema evaluated, for unevaluated*. */
typedef struct marks {
    uint64_t *props;
    size_t pwords;
    uint64_t pinline[2];
    size_t items;      /* leading items evaluated */
    uint64_t *ibits;   /* single items evaluated (contains) */
    size_t iwords;
    uint64_t iinline[2];
} marks;

typedef struct vctx {
    const gbx_schema *s;
    json_t *violations; /* NULL when the caller wants only the verdict */
    int quiet;          /* > 0 while probing */
    bool track;         /* paths are being kept: !stop_first && quiet == 0 */
    /* the last "properties" keyword that went through all of an object's
     * members: how many it knew (additionalProperties has nothing to do
     * when it knew them all) */
    const gbx__kw *props_kw;
    const json_t *props_inst;
    size_t props_known;
    bool stop_first;    /* no list wanted: stop at the first violation */
    bool uneval_ok;     /* a static unevaluatedProperties: its siblings all passed */
    size_t nviol;
    char first[1024];
    pathstack ip, kp;
    const gbx__resource **scope;
    size_t nscope, capscope;
    int depth;
    bool oom;
    bool too_deep;      /* recursion limit hit: the whole validation stops */
} vctx;

static inline bool eval(vctx *c, const gbx__node *n, json_t *inst, marks *m);
static bool eval_node(vctx *c, const gbx__node *n, json_t *inst, marks *m);
static inline __attribute__((always_inline)) bool eval_kw(vctx *c, const gbx__node *n, const gbx__kw *k, json_t *inst, marks *m);

/* ---- marks ---------------------------------------------------------------- */

static void marks_init(marks *m) {
    memset(m, 0, sizeof *m);
    m->props = m->pinline;
    m->pwords = 2;
    m->ibits = m->iinline;
    m->iwords = 2;
}

static void marks_free(marks *m) {
    if (m->props != m->pinline) free(m->props);
    if (m->ibits != m->iinline) free(m->ibits);
}

static bool bit_set(vctx *c, uint64_t **bits, size_t *words, uint64_t *inl, size_t i) {
    size_t w = i / 64;
    if (w >= *words) {
        size_t nw = *words * 2;
        while (nw <= w) nw *= 2;
        uint64_t *nb = calloc(nw, sizeof *nb);
        if (!nb) {
            c->oom = true;
            return false;
        }
        memcpy(nb, *bits, *words * sizeof *nb);
        if (*bits != inl) free(*bits);
        *bits = nb;
        *words = nw;
    }
    (*bits)[w] |= (uint64_t)1 << (i % 64);
    return true;
}

static bool bit_get(const uint64_t *bits, size_t words, size_t i) {
    size_t w = i / 64;
    return w < words && ((bits[w] >> (i % 64)) & 1);
}

static void mark_prop(vctx *c, marks *m, size_t i) {
    if (m) bit_set(c, &m->props, &m->pwords, m->pinline, i);
}

static void mark_items(marks *m, size_t upto) {
    if (m && upto > m->items) m->items = upto;
}

static void mark_item(vctx *c, marks *m, size_t i) {
    if (m) bit_set(c, &m->ibits, &m->iwords, m->iinline, i);
}

static void marks_merge(vctx *c, marks *dst, const marks *src) {
    if (!dst) return;
    for (size_t w = 0; w < src->pwords; w++)
        if (src->props[w])
            for (size_t b = 0; b < 64; b++)
                if ((src->props[w] >> b) & 1) mark_prop(c, dst, w * 64 + b);
    for (size_t w = 0; w < src->iwords; w++)
        if (src->ibits[w])
            for (size_t b = 0; b < 64; b++)
                if ((src->ibits[w] >> b) & 1) mark_item(c, dst, w * 64 + b);
    mark_items(dst, src->items);
}

/* ---- paths and violations ------------------------------------------------ */

static bool push_grow(vctx *c, pathstack *p, const char *s, size_t n, size_t idx) {
    if (p->n == p->cap) {
        size_t cap = p->cap * 2;
        seg *v = p->v == p->inline_segs ? malloc(cap * sizeof *v) : realloc(p->v, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return false;
        }
        if (p->v == p->inline_segs) memcpy(v, p->inline_segs, sizeof p->inline_segs);
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].s = s;
    p->v[p->n].n = n;
    p->v[p->n].idx = idx;
    p->n++;
    return true;
}

static inline bool push(vctx *c, pathstack *p, const char *s, size_t n, size_t idx) {
    if (p->n == p->cap) return push_grow(c, p, s, n, idx);
    seg *g = &p->v[p->n++];
    g->s = s;
    g->n = n;
    g->idx = idx;
    return true;
}

/* Paths are only kept while violations are being recorded: not when the
 * caller wants just the verdict, not while probing. */
static inline bool tracking(const vctx *c) { return c->track; }

#define PUSH_KEY(p, key, len) (tracking(c) ? push(c, &c->p, (key), (len), 0) : true)
#define PUSH_NAME(p, key) (tracking(c) ? push(c, &c->p, (key), strlen(key), 0) : true)
#define PUSH_INDEX(p, i) (tracking(c) ? push(c, &c->p, NULL, 0, (i)) : true)
#define POP(p) (tracking(c) ? c->p.n-- : 0)

/* The JSON Pointer of a path: at most this many bytes (a character may
 * become "~0" or "~1", an index has at most 20 digits). */
static size_t path_bound(const pathstack *p) {
    size_t n = 1;
    for (size_t i = 0; i < p->n; i++) n += 1 + (p->v[i].s ? 2 * p->v[i].n : 20);
    return n;
}

/* Writes the JSON Pointer into out (path_bound bytes); NUL-terminated. */
static void path_write(char *out, const pathstack *p) {
    char *o = out;
    for (size_t i = 0; i < p->n; i++) {
        *o++ = '/';
        const char *s = p->v[i].s;
        if (s) {
            for (size_t j = 0; j < p->v[i].n; j++) {
                if (s[j] == '~' || s[j] == '/') {
                    *o++ = '~';
                    *o++ = s[j] == '~' ? '0' : '1';
                } else {
                    *o++ = s[j];
                }
            }
        } else {
            char digits[24];
            size_t nd = 0, idx = p->v[i].idx;
            do digits[nd++] = (char)('0' + idx % 10);
            while ((idx /= 10) != 0);
            while (nd) *o++ = digits[--nd];
        }
    }
    *o = '\0';
}

/* json_string(s), with jansson's UTF-8 check (costlier than the rest of
 * building a violation) only when s is not plain ASCII. */
static json_t *text_json(const char *s) {
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return json_stringn(s, len);
    return json_stringn_nocheck(s, len);
}

/* A new JSON string holding the path's pointer. */
static json_t *path_json(const pathstack *p) {
    char local[512];
    size_t bound = path_bound(p);
    char *buf = bound <= sizeof local ? local : malloc(bound);
    if (!buf) return NULL;
    path_write(buf, p);
    json_t *j = text_json(buf);
    if (buf != local) free(buf);
    return j;
}

static void violation(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(vctx *c, const char *fmt, ...) {
    if (c->quiet) return;
    va_list ap;
    if (!c->violations) { /* only the first one's message is wanted: it is
                            * the error the validation returns (formatted once) */
        if (c->nviol++ == 0) {
            va_start(ap, fmt);
            gbx_error_setv(GBX_ERR_BAD_REQUEST, fmt, ap);
            va_end(ap);
        }
        return;
    }
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->nviol == 0) memcpy(c->first, msg, sizeof c->first);
    c->nviol++;
    /* built member by member: json_pack would parse its format every time
     * (each set_new takes the value, NULL included, and fails on NULL) */
    json_t *v = json_object();
    if (v && (json_object_set_new_nocheck(v, "pointer", path_json(&c->ip)) ||
              json_object_set_new_nocheck(v, "keyword", path_json(&c->kp)) ||
              json_object_set_new_nocheck(v, "message", text_json(msg)))) {
        json_decref(v);
        v = NULL;
    }
    if (!v || json_array_append_new(c->violations, v)) c->oom = true;
}

/* Should a failing loop stop now? */
static bool give_up(const vctx *c) { return c->quiet || c->stop_first || c->oom || c->too_deep; }

/* ---- helpers -------------------------------------------------------------- */

/* jansson's json_object_keylen_foreach looks the iterator up again for
 * every field; this walks it once. */
#define OBJECT_FOREACH(obj, key, klen, val)                                                       \
    for (void *it_ = json_object_iter(obj);                                                       \
         it_ && ((key = json_object_iter_key(it_)), (klen = json_object_iter_key_len(it_)),       \
                 (val = json_object_iter_value(it_)), 1);                                         \
         it_ = json_object_iter_next(obj, it_))

static unsigned real_types(const json_t *v, gbx_dialect d) {
    /* an integer too big for 64 bits arrives as a real: still an integer */
    if (fabs(json_real_value(v)) >= 9223372036854775808.0 && gbx__sch_json_is_integral(v))
        return GBX__T_NUMBER | GBX__T_INTEGER;
    /* draft 3 and 4 count 1.0 as a number only; later drafts as an integer */
    if (d != GBX_DIALECT_DRAFT3 && d != GBX_DIALECT_DRAFT4 && d != GBX_DIALECT_LEGACY && gbx__sch_json_is_integral(v))
        return GBX__T_NUMBER | GBX__T_INTEGER;
    return GBX__T_NUMBER;
}

/* The GBX__T_* bits of each json_type (reals: real_types). */
static const unsigned types_of[] = {
    [JSON_OBJECT] = GBX__T_OBJECT, [JSON_ARRAY] = GBX__T_ARRAY,    [JSON_STRING] = GBX__T_STRING,
    [JSON_INTEGER] = GBX__T_INTEGER, [JSON_REAL] = GBX__T_NUMBER, [JSON_TRUE] = GBX__T_BOOLEAN,
    [JSON_FALSE] = GBX__T_BOOLEAN, [JSON_NULL] = GBX__T_NULL,
};

static inline unsigned inst_types(const json_t *v, gbx_dialect d) {
    json_type t = json_typeof(v);
    return t == JSON_REAL ? real_types(v, d) : types_of[t];
}

static void types_str(char *buf, size_t size, unsigned t) {
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{GBX__T_NULL, "null"},     {GBX__T_BOOLEAN, "boolean"}, {GBX__T_OBJECT, "object"},
                 {GBX__T_ARRAY, "array"},   {GBX__T_NUMBER, "number"},   {GBX__T_STRING, "string"},
                 {GBX__T_INTEGER, "integer"}};
    buf[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(t & names[i].bit)) continue;
        if (names[i].bit == GBX__T_INTEGER && (t & GBX__T_NUMBER)) continue;
        int w = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", names[i].name);
        if (w < 0 || (size_t)w >= size - o) break;
        o += (size_t)w;
    }
}

/* Evaluates a subschema without recording anything. */
static bool probe(vctx *c, const gbx__node *n, json_t *inst, marks *m) {
    bool track = c->track;
    c->quiet++;
    c->track = false;
    bool ok = eval(c, n, inst, m);
    c->quiet--;
    c->track = track;
    return ok;
}

/* Evaluates a subschema on the same instance; its marks join `m` only when
 * it is valid. */
static bool probe_marked(vctx *c, const gbx__node *n, json_t *inst, marks *m) {
    if (!m) return probe(c, n, inst, NULL);
    marks sub;
    marks_init(&sub);
    bool ok = probe(c, n, inst, &sub);
    if (ok) marks_merge(c, m, &sub);
    marks_free(&sub);
    return ok;
}

static const char *num_str(const json_t *v, char *buf, size_t size) { return gbx__sch_number_str(v, buf, size); }

/* Gearbox printed numbers with 15 significant digits. */
static const char *legacy_num(const json_t *v, char *buf, size_t size) {
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, size, "%.15g", json_real_value(v));
    return buf;
}

static inline gbx__named *lookup_named(const gbx__kw *k, const char *key, size_t len) {
    return gbx__sch_named_find(k, key, len);
}

static bool pattern_match(const gbx__kw *k, const char *key, size_t len) {
    for (size_t p = 0; p < k->npatterns; p++)
        if (gbx__sch_regex_search(k->patterns[p].re, key, len)) return true;
    return false;
}

/* Did one of the "properties" that a static unevaluatedProperties counts
 * evaluate this member successfully?  (Asked only when a sibling failed,
 * in all-errors mode: when they all passed, every listed name was.) */
static bool statically_evaluated(vctx *c, const gbx__kw *u, const char *key, size_t len, json_t *val) {
    for (size_t i = 0; i < u->ncontrib; i++) {
        const gbx__named *e = lookup_named(u->contrib[i], key, len);
        if (e && probe(c, e->node, val, NULL)) return true;
    }
    return false;
}

/* The verdict of a fused schema (see gbx__node.fused), nothing recorded:
 * its keywords but properties/allOf/unevaluatedProperties as usual, then
 * one walk where each member meets the one subschema that evaluates it, or
 * unevaluatedProperties'.  Depths are those of the usual path.  With
 * `unlisted`, the walk goes on past members that "unevaluatedProperties":
 * false rejects: when they are the only failures, *unlisted is the first
 * (the usual path's first violation), else NULL. */
static bool fused_verdict(vctx *c, const gbx__node *n, json_t *inst, unsigned applies, const char **unlisted) {
    bool track = c->track, ok = true, other = false;
    const char *first = NULL;
    c->quiet++;
    c->track = false;
    const gbx__kw *u = &n->kw[n->nkw - 1];
    for (size_t i = 0; ok && i + 1 < n->nkw; i++) {
        const gbx__kw *k = &n->kw[i];
        if (!(k->applies & applies) || k->kind == GBX__KW_PROPERTIES || k->kind == GBX__KW_ALL_OF) continue;
        ok = eval_kw(c, n, k, inst, NULL);
    }
    other = !ok;
    if (ok && json_is_object(inst)) {
        const char *key;
        size_t klen;
        json_t *val;
        OBJECT_FOREACH(inst, key, klen, val) {
            const gbx__named *e = lookup_named(u, key, klen);
            bool one;
            if (e) {
                c->depth += e->depth;
                one = eval(c, e->node, val, NULL);
                c->depth -= e->depth;
            } else if (u->sub->boolean == 0) {
                ok = false;
                if (!first) first = key;
                if (!unlisted) break;
                continue;
            } else {
                one = eval(c, u->sub, val, NULL);
            }
            if (!one) {
                ok = false;
                other = true;
                break;
            }
        }
    }
    c->quiet--;
    c->track = track;
    if (unlisted) *unlisted = other ? NULL : first;
    return ok;
}

static const gbx__node *dynamic_target(vctx *c, const gbx__kw *k) {
    const gbx_schema *s = c->s;
    if (k->kind == GBX__KW_DYNAMIC_REF) {
        if (!k->anchor) return k->sub;
        for (size_t i = 0; i < c->nscope; i++) {
            const gbx__resource *r = c->scope[i];
            for (size_t a = 0; a < r->nanchors; a++) {
                if (r->anchors[a].dynamic && strcmp(r->anchors[a].name, k->anchor) == 0) {
                    const gbx__node *t = gbx__sch_pmap_get(&s->nodes, r->anchors[a].json);
                    if (t) return t;
                }
            }
        }
        return k->sub;
    }
    /* $recursiveRef */
    const gbx__node *t = k->sub;
    if (!t || !t->resource || !t->resource->recursive_anchor || t->json != t->resource->json) return t;
    for (size_t i = c->nscope; i-- > 0;) {
        const gbx__resource *r = c->scope[i];
        if (!r->recursive_anchor) break;
        const gbx__node *rn = gbx__sch_pmap_get(&s->nodes, r->json);
        if (rn) t = rn;
    }
    return t;
}

/* ---- the Gearbox legacy dialect ------------------------------------------- */

/* Renames the keyword segment on top of the schema path. */
static void set_top(vctx *c, const char *name) {
    if (!tracking(c)) return;
    c->kp.v[c->kp.n - 1].s = name;
    c->kp.v[c->kp.n - 1].n = strlen(name);
}

static bool legacy_type(vctx *c, const gbx__kw *k, const json_t *inst) {
    unsigned t = inst_types(inst, GBX_DIALECT_LEGACY);
    if ((k->types & t) && !(k->count & t)) return true;
    violation(c, "schema does not allow for type \"%s\"", gbx__sch_json_type_name(inst));
    return false;
}

static json_t *legacy_default(const gbx__node *prop) {
    const json_t *def = json_object_get(prop->json, "default");
    if (!def) return NULL;
    const json_t *type = json_object_get(prop->json, "type");
    bool number = false;
    if (json_is_string(type))
        number = strcmp(json_string_value(type), "number") == 0;
    else if (json_is_array(type)) {
        size_t i;
        json_t *x;
        json_array_foreach(type, i, x) if (json_is_string(x) && strcmp(json_string_value(x), "number") == 0) number = true;
    }
    if (number && json_is_integer(def)) return json_real((double)json_integer_value(def));
    return json_deep_copy(def);
}

static bool legacy_object(vctx *c, const gbx__kw *k, json_t *inst) {
    if (!json_is_object(inst)) return true;
    bool ok = true;
    /* defaults first, so that a defaulted property is not missing */
    for (size_t i = 0; i < k->nnamed; i++) {
        const gbx__named *e = &k->named[i];
        if (!e->node || json_object_getn(inst, e->name, e->len)) continue;
        json_t *def = legacy_default(e->node);
        if (def && json_object_setn_new(inst, e->name, e->len, def)) c->oom = true;
    }
    for (size_t i = 0; i < k->nnamed; i++) {
        const gbx__named *e = &k->named[i];
        const json_t *ps = e->node ? e->node->json : NULL;
        bool optional = json_is_true(json_object_get(ps, "optional"));
        bool present = json_object_getn(inst, e->name, e->len) != NULL;
        const json_t *req = json_object_get(ps, "requires");
        if (req && optional && present) {
            size_t nreq = json_is_array(req) ? json_array_size(req) : 1;
            for (size_t r = 0; r < nreq; r++) {
                const json_t *name = json_is_array(req) ? json_array_get(req, r) : req;
                if (json_object_get(inst, json_string_value(name))) continue;
                violation(c, "property \"%s\" requires additional property \"%s\" to be set according to schema",
                          e->name, json_string_value(name));
                ok = false;
                if (give_up(c)) return false;
            }
        }
        if (!optional && !present) {
            violation(c, "non-optional property \"%s\" is missing", e->name);
            ok = false;
            if (give_up(c)) return false;
        }
    }
    const char *key;
    size_t klen;
    json_t *val;
    OBJECT_FOREACH(inst, key, klen, val) {
        const gbx__named *e = lookup_named(k, key, klen);
        const gbx__node *target = e ? e->node : k->legacy_additional;
        PUSH_KEY(ip, key, klen);
        if (!e && k->legacy_additional_false) {
            set_top(c, "additionalProperties");
            if (k->value)
                violation(c, "invalid property \"%s\": schema does not allow for this property", key);
            else
                violation(c, "invalid property \"%s\": schema allows for no properties", key);
            set_top(c, "properties");
            ok = false;
        } else if (target) {
            /* the keyword segment on top is "properties" */
            if (e)
                PUSH_KEY(kp, e->name, e->len);
            else
                set_top(c, "additionalProperties");
            if (!eval(c, target, val, NULL)) ok = false;
            if (e)
                POP(kp);
            else
                set_top(c, "properties");
        }
        POP(ip);
        if (!ok && give_up(c)) return false;
    }
    return ok;
}

static bool legacy_array(vctx *c, const gbx__kw *k, json_t *inst) {
    if (!json_is_array(inst)) return true;
    size_t n = json_array_size(inst);
    bool ok = true;
    if (k->has_count2 && n > k->count2) {
        violation(c, "array size is larger than schema maximum size %llu", (unsigned long long)k->count2);
        ok = false;
        if (give_up(c)) return false;
    }
    if (n < k->count) {
        violation(c, "array size %zu is less than schema minimum size %llu", n, (unsigned long long)k->count);
        ok = false;
        if (give_up(c)) return false;
    }
    bool tuple = json_is_array(k->value);
    if (tuple && k->legacy_additional_false && n != k->nsubs) {
        violation(c, "array size %zu does not match schema required size of tuple type %zu", n, k->nsubs);
        ok = false;
        if (give_up(c)) return false;
    }
    for (size_t i = 0; i < n; i++) {
        const gbx__node *target = NULL;
        const char *kwname = "items";
        if (tuple && i < k->nsubs) {
            target = k->subs[i];
        } else if (!tuple && k->sub) {
            target = k->sub;
        } else if (k->legacy_additional_false) {
            PUSH_INDEX(ip, i);
            if (tuple)
                violation(c, "out of bounds: schema does not allow for elements at index %zu", i);
            else
                violation(c, "out of bounds: schema does not allow for any elements in array");
            POP(ip);
            ok = false;
            if (give_up(c) || !tuple) return false;
            continue;
        } else {
            target = k->legacy_additional;
            kwname = "additionalProperties";
        }
        if (!target) continue;
        /* the keyword segment on top is "items" */
        set_top(c, kwname);
        PUSH_INDEX(ip, i);
        if (tuple && i < k->nsubs) PUSH_INDEX(kp, i);
        if (!eval(c, target, json_array_get(inst, i), NULL)) ok = false;
        if (tuple && i < k->nsubs) POP(kp);
        set_top(c, "items");
        POP(ip);
        if (!ok && give_up(c)) return false;
    }
    return ok;
}

/* ---- keywords -------------------------------------------------------------- */

/* inlined into eval (and fused_verdict): the interpreter's hot loop */
static inline __attribute__((always_inline)) bool eval_kw(vctx *c, const gbx__node *n, const gbx__kw *k, json_t *inst, marks *m) {
    char b1[64], b2[64];
    bool legacy = n->dialect == GBX_DIALECT_LEGACY;
    switch (k->kind) {
    case GBX__KW_TYPE:
    case GBX__KW_DISALLOW: {
        bool match = (k->types & inst_types(inst, n->dialect)) != 0;
        for (size_t i = 0; !match && i < k->nsubs; i++) match = probe(c, k->subs[i], inst, NULL);
        if (match == (k->kind == GBX__KW_TYPE)) return true;
        char t[128];
        types_str(t, sizeof t, k->types);
        if (k->kind == GBX__KW_TYPE)
            violation(c, "expected %s%s, got %s", t, *t && k->nsubs ? " or a listed schema" : (*t ? "" : "a listed schema"),
                      gbx__sch_json_type_name(inst));
        else
            violation(c, "type %s is disallowed", gbx__sch_json_type_name(inst));
        return false;
    }
    case GBX__KW_LEGACY_TYPE:
        return legacy_type(c, k, inst);
    case GBX__KW_ENUM:
    case GBX__KW_LEGACY_ENUM: {
        size_t i;
        json_t *x;
        if (k->table) { /* strings only: one probe */
            if (json_is_string(inst) && lookup_named(k, json_string_value(inst), json_string_length(inst))) return true;
        } else {
            json_array_foreach(k->value, i, x) if (gbx__sch_json_equal(inst, x)) return true;
        }
        violation(c, legacy ? "value is not valid in schema enum" : "value is not one of the values of \"enum\"");
        return false;
    }
    case GBX__KW_CONST:
        if (gbx__sch_json_equal(inst, k->value)) return true;
        violation(c, "value does not equal the \"const\" value");
        return false;
    case GBX__KW_MULTIPLE_OF:
        if (!json_is_number(inst) || gbx__sch_number_multiple_of(inst, k->numj)) return true;
        violation(c, "%s is not a multiple of %s", num_str(inst, b1, sizeof b1), num_str(k->numj, b2, sizeof b2));
        return false;
    case GBX__KW_MAXIMUM:
        if (!json_is_number(inst)) return true;
        if (legacy) {
            if (gbx__sch_number_cmp(inst, k->numj) <= 0) return true;
            violation(c, "value %s is larger than schema maximum value %s", legacy_num(inst, b1, sizeof b1),
                      legacy_num(k->numj, b2, sizeof b2));
            return false;
        }
        if (k->exclusive ? gbx__sch_number_cmp(inst, k->numj) < 0 : gbx__sch_number_cmp(inst, k->numj) <= 0) return true;
        violation(c, k->exclusive ? "%s is not less than %s" : "%s is greater than the maximum %s",
                  num_str(inst, b1, sizeof b1), num_str(k->numj, b2, sizeof b2));
        return false;
    case GBX__KW_MINIMUM:
        if (!json_is_number(inst)) return true;
        if (legacy) {
            if (gbx__sch_number_cmp(inst, k->numj) >= 0) return true;
            violation(c, "value %s is less than schema minimum value %s", legacy_num(inst, b1, sizeof b1),
                      legacy_num(k->numj, b2, sizeof b2));
            return false;
        }
        if (k->exclusive ? gbx__sch_number_cmp(inst, k->numj) > 0 : gbx__sch_number_cmp(inst, k->numj) >= 0) return true;
        violation(c, k->exclusive ? "%s is not greater than %s" : "%s is less than the minimum %s",
                  num_str(inst, b1, sizeof b1), num_str(k->numj, b2, sizeof b2));
        return false;
    case GBX__KW_EXCLUSIVE_MAXIMUM:
        if (!json_is_number(inst) || gbx__sch_number_cmp(inst, k->numj) < 0) return true;
        violation(c, "%s is not less than %s", num_str(inst, b1, sizeof b1), num_str(k->numj, b2, sizeof b2));
        return false;
    case GBX__KW_EXCLUSIVE_MINIMUM:
        if (!json_is_number(inst) || gbx__sch_number_cmp(inst, k->numj) > 0) return true;
        violation(c, "%s is not greater than %s", num_str(inst, b1, sizeof b1), num_str(k->numj, b2, sizeof b2));
        return false;
    case GBX__KW_LEGACY_RANGE: { /* maxDecimal */
        if (!json_is_real(inst)) return true;
        char buf[64];
        snprintf(buf, sizeof buf, "%.15g", json_real_value(inst));
        const char *dot = strchr(buf, '.');
        size_t decimals = dot ? strlen(dot + 1) : 0;
        if (decimals <= k->count) return true;
        violation(c, "value %s has %zu decimal places, but the schema has specified maximum of %llu decimal places",
                  buf, decimals, (unsigned long long)k->count);
        return false;
    }
    case GBX__KW_MAX_LENGTH:
    case GBX__KW_MIN_LENGTH: {
        if (!json_is_string(inst)) return true;
        size_t bytes = json_string_length(inst);
        bool max = k->kind == GBX__KW_MAX_LENGTH;
        /* a code point is 1 to 4 bytes: often the byte length decides */
        if (max ? bytes <= k->count : bytes / 4 >= k->count) return true;
        size_t len = gbx__sch_utf8_length(json_string_value(inst), bytes);
        if (max ? len <= k->count : len >= k->count) return true;
        if (legacy)
            violation(c, max ? "string length %zu is larger than schema maximum length %llu"
                             : "string length %zu is less than schema minimum length %llu",
                      len, (unsigned long long)k->count);
        else
            violation(c, max ? "string is longer than %llu characters" : "string is shorter than %llu characters",
                      (unsigned long long)k->count);
        return false;
    }
    case GBX__KW_PATTERN: {
        if (!json_is_string(inst)) return true;
        const char *sv = json_string_value(inst);
        size_t len = json_string_length(inst);
        if (legacy ? gbx__sch_regex_full_match(k->re, sv, len) : gbx__sch_regex_search(k->re, sv, len)) return true;
        violation(c, legacy ? "value does not match schema pattern \"%s\"" : "string does not match pattern \"%s\"",
                  json_string_value(k->value));
        return false;
    }
    case GBX__KW_FORMAT:
        if (!json_is_string(inst) || k->format(json_string_value(inst), json_string_length(inst))) return true;
        violation(c, legacy ? "value does not match required schema format %s" : "string is not a valid \"%s\"",
                  json_string_value(k->value));
        return false;
    case GBX__KW_MAX_ITEMS:
        if (!json_is_array(inst) || json_array_size(inst) <= k->count) return true;
        violation(c, "array has more than %llu items", (unsigned long long)k->count);
        return false;
    case GBX__KW_MIN_ITEMS:
        if (!json_is_array(inst) || json_array_size(inst) >= k->count) return true;
        violation(c, "array has fewer than %llu items", (unsigned long long)k->count);
        return false;
    case GBX__KW_UNIQUE_ITEMS: {
        if (!json_is_array(inst)) return true;
        size_t cnt = json_array_size(inst);
        for (size_t i = 0; i < cnt; i++)
            for (size_t j = i + 1; j < cnt; j++)
                if (gbx__sch_json_equal(json_array_get(inst, i), json_array_get(inst, j))) {
                    if (legacy)
                        violation(c, "array items are not unique");
                    else
                        violation(c, "array items %zu and %zu are equal", i, j);
                    return false;
                }
        return true;
    }
    case GBX__KW_MAX_PROPERTIES:
        if (!json_is_object(inst) || json_object_size(inst) <= k->count) return true;
        violation(c, "object has more than %llu properties", (unsigned long long)k->count);
        return false;
    case GBX__KW_MIN_PROPERTIES:
        if (!json_is_object(inst) || json_object_size(inst) >= k->count) return true;
        violation(c, "object has fewer than %llu properties", (unsigned long long)k->count);
        return false;
    case GBX__KW_REQUIRED: {
        if (!json_is_object(inst)) return true;
        bool ok = true;
        for (size_t i = 0; i < k->nnamed; i++) {
            if (json_object_getn(inst, k->named[i].name, k->named[i].len)) continue;
            violation(c, "required property \"%s\" is missing", k->named[i].name);
            ok = false;
            if (give_up(c)) return false;
        }
        return ok;
    }
    case GBX__KW_DEPENDENT_REQUIRED:
    case GBX__KW_DEPENDENT_SCHEMAS: {
        if (!json_is_object(inst)) return true;
        bool ok = true;
        for (size_t i = 0; i < k->nnamed; i++) {
            const gbx__named *e = &k->named[i];
            if (!json_object_getn(inst, e->name, e->len)) continue;
            PUSH_KEY(kp, e->name, e->len);
            if (e->list) {
                size_t nl = json_is_array(e->list) ? json_array_size(e->list) : 1;
                for (size_t r = 0; r < nl; r++) {
                    const json_t *x = json_is_array(e->list) ? json_array_get(e->list, r) : e->list;
                    if (json_object_getn(inst, json_string_value(x), json_string_length(x))) continue;
                    violation(c, "property \"%s\" requires property \"%s\"", e->name, json_string_value(x));
                    ok = false;
                    if (give_up(c)) break;
                }
            } else if (!eval(c, e->node, inst, m)) {
                ok = false;
            }
            POP(kp);
            if (!ok && give_up(c)) return false;
        }
        return ok;
    }
    case GBX__KW_REF:
        return eval(c, k->sub, inst, m);
    case GBX__KW_DYNAMIC_REF:
    case GBX__KW_RECURSIVE_REF:
        return eval(c, dynamic_target(c, k), inst, m);
    case GBX__KW_ALL_OF: {
        bool ok = true;
        for (size_t i = 0; i < k->nsubs; i++) {
            PUSH_INDEX(kp, i);
            if (!eval(c, k->subs[i], inst, m)) ok = false;
            POP(kp);
            if (!ok && give_up(c)) return false;
        }
        return ok;
    }
    case GBX__KW_ANY_OF: {
        bool ok = false;
        for (size_t i = 0; i < k->nsubs; i++) {
            PUSH_INDEX(kp, i);
            if (probe_marked(c, k->subs[i], inst, m)) ok = true;
            POP(kp);
            if (ok && !m) break;
        }
        if (!ok) violation(c, "value does not match any schema of \"anyOf\"");
        return ok;
    }
    case GBX__KW_ONE_OF: {
        size_t matched = 0, first = 0, second = 0;
        const json_t *tag = k->disc && json_is_object(inst) ? json_object_getn(inst, k->disc, k->disclen) : NULL;
        if (tag) {
            /* every branch but the one of this tag fails on it: the one
             * left decides (the others would match nothing) */
            for (size_t i = 0; i < k->nsubs; i++) {
                if (!gbx__sch_json_equal(tag, k->disc_vals[i])) continue;
                PUSH_INDEX(kp, i);
                matched = probe_marked(c, k->subs[i], inst, m);
                POP(kp);
                break;
            }
        }
        for (size_t i = 0; !tag && i < k->nsubs && matched < 2; i++) {
            PUSH_INDEX(kp, i);
            if (probe_marked(c, k->subs[i], inst, matched == 0 ? m : NULL)) {
                if (matched++ == 0)
                    first = i;
                else
                    second = i;
            }
            POP(kp);
        }
        if (matched == 1) return true;
        if (matched == 0)
            violation(c, "value does not match any schema of \"oneOf\"");
        else
            violation(c, "value matches more than one schema of \"oneOf\" (%zu and %zu)", first, second);
        return false;
    }
    case GBX__KW_NOT:
        if (!probe(c, k->sub, inst, NULL)) return true;
        violation(c, "value must not match the \"not\" schema");
        return false;
    case GBX__KW_IF: {
        bool cond = probe_marked(c, k->sub, inst, m);
        const gbx__node *branch = cond ? k->sub2 : k->sub3;
        if (!branch) return true;
        set_top(c, cond ? "then" : "else"); /* siblings of "if" */
        bool ok = eval(c, branch, inst, m);
        set_top(c, "if");
        return ok;
    }
    case GBX__KW_ITEMS:
    case GBX__KW_ADDITIONAL_ITEMS: {
        if (!json_is_array(inst)) return true;
        size_t cnt = json_array_size(inst);
        bool ok = true;
        for (size_t i = k->prefix_len; i < cnt; i++) {
            PUSH_INDEX(ip, i);
            bool one;
            if (k->sub->boolean == 0) {
                violation(c, "item %zu is not allowed (only %zu allowed)", i, k->prefix_len);
                one = false;
            } else {
                one = eval(c, k->sub, json_array_get(inst, i), NULL);
            }
            POP(ip);
            if (!one) {
                ok = false;
                if (give_up(c)) return false;
            }
        }
        if (ok) mark_items(m, cnt);
        return ok;
    }
    case GBX__KW_PREFIX_ITEMS: {
        if (!json_is_array(inst)) return true;
        size_t cnt = json_array_size(inst);
        size_t upto = cnt < k->nsubs ? cnt : k->nsubs;
        bool ok = true;
        for (size_t i = 0; i < upto; i++) {
            PUSH_INDEX(ip, i);
            PUSH_INDEX(kp, i);
            if (!eval(c, k->subs[i], json_array_get(inst, i), NULL)) ok = false;
            POP(kp);
            POP(ip);
            if (!ok && give_up(c)) return false;
        }
        if (ok) mark_items(m, upto);
        return ok;
    }
    case GBX__KW_CONTAINS: {
        if (!json_is_array(inst)) return true;
        size_t cnt = json_array_size(inst), found = 0;
        for (size_t i = 0; i < cnt; i++) {
            if (probe(c, k->sub, json_array_get(inst, i), NULL)) {
                found++;
                mark_item(c, m, i);
                /* enough evidence unless a maximum or marks need them all */
                if (!m && !k->has_count2 && found >= k->count) break;
            }
        }
        if (found < k->count) {
            if (k->count == 1)
                violation(c, "array does not contain a matching item");
            else
                violation(c, "array contains %zu matching items, fewer than %llu", found, (unsigned long long)k->count);
            return false;
        }
        if (k->has_count2 && found > k->count2) {
            violation(c, "array contains %zu matching items, more than %llu", found, (unsigned long long)k->count2);
            return false;
        }
        return true;
    }
    case GBX__KW_PROPERTIES: {
        if (!json_is_object(inst)) return true;
        bool ok = true;
        const char *key;
        size_t klen, i = 0, known = 0;
        json_t *val;
        OBJECT_FOREACH(inst, key, klen, val) {
            const gbx__named *e = lookup_named(k, key, klen);
            if (e) {
                known++;
                PUSH_KEY(ip, key, klen);
                PUSH_KEY(kp, e->name, e->len);
                if (eval(c, e->node, val, NULL))
                    mark_prop(c, m, i);
                else
                    ok = false;
                POP(kp);
                POP(ip);
                if (!ok && give_up(c)) return false;
            }
            i++;
        }
        c->props_kw = k;
        c->props_inst = inst;
        c->props_known = known;
        return ok;
    }
    case GBX__KW_PATTERN_PROPERTIES: {
        if (!json_is_object(inst)) return true;
        bool ok = true;
        const char *key;
        size_t klen, i = 0;
        json_t *val;
        OBJECT_FOREACH(inst, key, klen, val) {
            for (size_t p = 0; p < k->npatterns; p++) {
                if (!gbx__sch_regex_search(k->patterns[p].re, key, klen)) continue;
                PUSH_KEY(ip, key, klen);
                PUSH_NAME(kp, k->patterns[p].source);
                if (eval(c, k->patterns[p].node, val, NULL))
                    mark_prop(c, m, i);
                else
                    ok = false;
                POP(kp);
                POP(ip);
                if (!ok && give_up(c)) return false;
            }
            i++;
        }
        return ok;
    }
    case GBX__KW_ADDITIONAL_PROPERTIES:
    case GBX__KW_UNEVALUATED_PROPERTIES: {
        if (!json_is_object(inst)) return true;
        bool additional = k->kind == GBX__KW_ADDITIONAL_PROPERTIES;
        bool siblings_ok = !additional && c->uneval_ok;
        const gbx__kw *props = additional && k->count != SIZE_MAX ? &n->kw[k->count] : NULL;
        const gbx__kw *pats = additional && k->count2 != SIZE_MAX ? &n->kw[k->count2] : NULL;
        if (props && c->props_kw == props && c->props_inst == inst && c->props_known == json_object_size(inst))
            return true; /* "properties" knew every member: none is additional */
        bool ok = true;
        const char *key;
        size_t klen, i = 0;
        json_t *val;
        OBJECT_FOREACH(inst, key, klen, val) {
            bool skip;
            if (additional)
                skip = (props && lookup_named(props, key, klen)) || (pats && pattern_match(pats, key, klen));
            else if (!m && k->table)
                skip = lookup_named(k, key, klen) && (siblings_ok || statically_evaluated(c, k, key, klen, val));
            else
                skip = m && bit_get(m->props, m->pwords, i);
            if (!skip) {
                PUSH_KEY(ip, key, klen);
                bool one;
                if (k->sub->boolean == 0) {
                    violation(c, additional ? "property \"%s\" is not allowed" : "property \"%s\" is unevaluated and not allowed", key);
                    one = false;
                } else {
                    one = eval(c, k->sub, val, NULL);
                }
                POP(ip);
                if (one)
                    mark_prop(c, m, i);
                else {
                    ok = false;
                    if (give_up(c)) return false;
                }
            }
            i++;
        }
        return ok;
    }
    case GBX__KW_UNEVALUATED_ITEMS: {
        if (!json_is_array(inst)) return true;
        size_t cnt = json_array_size(inst);
        bool ok = true;
        for (size_t i = m ? m->items : 0; i < cnt; i++) {
            if (m && bit_get(m->ibits, m->iwords, i)) continue;
            PUSH_INDEX(ip, i);
            bool one;
            if (k->sub->boolean == 0) {
                violation(c, "item %zu is unevaluated and not allowed", i);
                one = false;
            } else {
                one = eval(c, k->sub, json_array_get(inst, i), NULL);
            }
            POP(ip);
            if (!one) {
                ok = false;
                if (give_up(c)) return false;
            }
        }
        if (ok) mark_items(m, cnt);
        return ok;
    }
    case GBX__KW_PROPERTY_NAMES: {
        if (!json_is_object(inst)) return true;
        bool ok = true;
        const char *key;
        size_t klen;
        json_t *val;
        OBJECT_FOREACH(inst, key, klen, val) {
            (void)val;
            json_t *name = json_stringn_nocheck(key, klen);
            if (!name) {
                c->oom = true;
                return false;
            }
            if (!probe(c, k->sub, name, NULL)) {
                PUSH_KEY(ip, key, klen);
                violation(c, "property name \"%s\" does not match \"propertyNames\"", key);
                POP(ip);
                ok = false;
            }
            json_decref(name);
            if (!ok && give_up(c)) return false;
        }
        return ok;
    }
    case GBX__KW_CONTENT: {
        /* draft 7: contentEncoding base64 and contentMediaType
         * application/json are checked */
        if (!json_is_string(inst)) return true;
        const char *text = json_string_value(inst);
        size_t len = json_string_length(inst);
        char *decoded = NULL;
        if (k->re == NULL && k->count) { /* base64 */
            size_t dlen;
            decoded = gbx__schema_base64_decode(text, len, &dlen);
            if (!decoded) {
                violation(c, "string is not valid base64");
                return false;
            }
            text = decoded;
            len = dlen;
        }
        bool ok = true;
        if (k->count2) { /* application/json */
            json_error_t jerr;
            json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
            ok = doc != NULL;
            json_decref(doc);
            if (!ok) violation(c, "string is not a JSON document");
        }
        free(decoded);
        return ok;
    }
    case GBX__KW_LEGACY_OBJECT:
        return legacy_object(c, k, inst);
    case GBX__KW_LEGACY_ARRAY:
        return legacy_array(c, k, inst);
    }
    return true;
}

/* The GBX__A_* kind of each json_type. */
static const unsigned applies_of[] = {
    [JSON_OBJECT] = GBX__A_OBJECT, [JSON_ARRAY] = GBX__A_ARRAY, [JSON_STRING] = GBX__A_STRING,
    [JSON_INTEGER] = GBX__A_NUMBER, [JSON_REAL] = GBX__A_NUMBER, [JSON_TRUE] = GBX__A_OTHER,
    [JSON_FALSE] = GBX__A_OTHER, [JSON_NULL] = GBX__A_OTHER,
};

static bool eval_node(vctx *c, const gbx__node *n, json_t *inst, marks *m) {
    if (n->boolean >= 0) {
        if (n->boolean) return true; /* "true" alone evaluates nothing */
        violation(c, "no value is allowed here (schema false)");
        return false;
    }
    if (c->too_deep) return false;
    if (c->depth >= MAX_DEPTH) {
        /* a $ref cycle that does not descend into the instance, or an
         * absurdly deep document: stop everything, report once */
        c->too_deep = true;
        int quiet = c->quiet;
        c->quiet = 0;
        violation(c, "schema evaluation nested too deeply (a $ref cycle that never descends into the instance, or a document nested too deeply)");
        c->quiet = quiet;
        return false;
    }
    c->depth++;
    bool pushed = false;
    /* the dynamic scope matters only to $dynamicRef and $recursiveRef */
    if (c->s->uses_dynamic && n->resource && (c->nscope == 0 || c->scope[c->nscope - 1] != n->resource)) {
        if (!GBX__GROW(c->scope, c->capscope, c->nscope + 1, 16)) {
            c->oom = true;
            c->depth--;
            return false;
        }
        c->scope[c->nscope++] = n->resource;
        pushed = true;
    }
    marks local;
    marks *mm = m;
    /* a static unevaluatedProperties needs no marks unless the caller does */
    bool marking = n->tracks && (m || !n->static_uneval);
    if (marking) {
        marks_init(&local);
        mm = &local;
    } else if (n->tracks) {
        mm = NULL;
    }
    unsigned applies = applies_of[json_typeof(inst)];
    bool ok = true;
    size_t start = 0;
    /* the verdict from one walk; the usual path only to report a failure */
    if (n->fused && !mm) {
        /* first error, message only: when members "unevaluatedProperties"
         * rejects are all that fails, the first of them is the violation */
        const char *unlisted = NULL;
        bool explain = c->stop_first && !c->quiet && !c->violations;
        if (fused_verdict(c, n, inst, applies, explain ? &unlisted : NULL)) {
            start = n->nkw;
        } else if (c->quiet || c->too_deep || c->oom) {
            ok = false;
            start = n->nkw;
        } else if (unlisted) {
            violation(c, "property \"%s\" is unevaluated and not allowed", unlisted);
            ok = false;
            start = n->nkw;
        }
    }
    for (size_t i = start; i < n->nkw; i++) {
        const gbx__kw *k = &n->kw[i];
        if (!(k->applies & applies)) continue;
        if (n->static_uneval) c->uneval_ok = ok;
        PUSH_KEY(kp, k->name, k->namelen);
        bool one = eval_kw(c, n, k, inst, mm);
        POP(kp);
        if (!one) {
            ok = false;
            if (give_up(c)) break;
        }
    }
    if (marking) {
        if (ok && m) marks_merge(c, m, &local);
        marks_free(&local);
    }
    if (pushed) c->nscope--;
    c->depth--;
    return ok;
}

/* Applies n to inst; what the keywords evaluate goes into m (NULL: not
 * wanted).  The cases that need nothing entered are decided here, inline. */
static inline bool eval(vctx *c, const gbx__node *n, json_t *inst, marks *m) {
    if (!n || n->boolean == 1) return true; /* "true" alone evaluates nothing */
    /* {"type": ...} alone: nothing to enter when it holds */
    if (n->type_only && (n->type_only & inst_types(inst, n->dialect)) && c->depth < MAX_DEPTH && !c->too_deep) return true;
    return eval_node(c, n, inst, m);
}

gbx_err gbx__sch_validate(const gbx_schema *s, json_t *instance, json_t **violations) {
    vctx c;
    /* field by field: the inline path stacks and the message buffer (3.4 KB)
     * need no clearing, and clearing them cost more than validating a small
     * document */
    c.violations = NULL;
    c.quiet = 0;
    c.props_kw = NULL;
    c.props_inst = NULL;
    c.props_known = 0;
    c.nviol = 0;
    c.first[0] = '\0';
    c.ip.n = c.kp.n = 0;
    c.scope = NULL;
    c.nscope = c.capscope = 0;
    c.depth = 0;
    c.oom = c.too_deep = c.uneval_ok = false;
    c.s = s;
    c.ip.v = c.ip.inline_segs;
    c.ip.cap = sizeof c.ip.inline_segs / sizeof c.ip.inline_segs[0];
    c.kp.v = c.kp.inline_segs;
    c.kp.cap = sizeof c.kp.inline_segs / sizeof c.kp.inline_segs[0];
    if (violations) {
        *violations = NULL;
        c.violations = json_array();
        if (!c.violations) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    c.stop_first = !violations;
    c.track = !c.stop_first;
    bool ok = eval(&c, s->root, instance, NULL) && !c.too_deep;
    if (c.ip.v != c.ip.inline_segs) free(c.ip.v);
    if (c.kp.v != c.kp.inline_segs) free(c.kp.v);
    free(c.scope);
    if (c.oom) {
        json_decref(c.violations);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory validating JSON");
    }
    if (violations) *violations = c.violations;
    if (ok) return GBX_OK;
    if (c.nviol == 0) return gbx_error_set(GBX_ERR_BAD_REQUEST, "value is not valid");
    if (!violations) return GBX_ERR_BAD_REQUEST; /* violation() set it */
    return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s", c.first);
}
