/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_internal.h - the compiled form of a JSON Schema and the helpers the
 * schema_*.c files share.  Nothing here is public API.
 *
 * A schema document is compiled once into a graph of gbx__node: each node is
 * one schema object (or boolean schema) with an ordered array of compiled
 * keywords.  `$ref` targets are compiled once and shared (the graph may be
 * cyclic).  Validation walks the graph; it allocates only for its path stacks
 * and for the violations it reports.
 */
#ifndef GEARBOX_SCHEMA_INTERNAL_H
#define GEARBOX_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "gearbox/schema.h"

/* ---- small containers (schema_util.c) -------------------------------- */

typedef struct gbx__sbuf {
    char *s;
    size_t len, cap;
    bool failed; /* out of memory happened */
} gbx__sbuf;

void gbx__sch_sbuf_putn(gbx__sbuf *b, const char *s, size_t n);
void gbx__sch_sbuf_puts(gbx__sbuf *b, const char *s);
void gbx__sch_sbuf_putc(gbx__sbuf *b, char c);
void gbx__sch_sbuf_printf(gbx__sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated string ("" when empty); stays owned by b. */
const char *gbx__sch_sbuf_str(gbx__sbuf *b);
void gbx__sch_sbuf_free(gbx__sbuf *b);

/* Makes room for `need` items in a growable array: *items_ptr (a T **) is
 * reallocated to at least `need` items of `elem` bytes, doubling from
 * `first`; *cap is updated.  False (array untouched) when out of memory. */
bool gbx__sch_grow(void *items_ptr, size_t *cap, size_t need, size_t elem, size_t first);
#define GBX__GROW(arr, cap, need, first) gbx__sch_grow(&(arr), &(cap), (need), sizeof *(arr), (first))

/* Pointer -> pointer hash map (keys are never NULL). */
typedef struct gbx__pmap {
    const void **keys;
    void **vals;
    size_t cap, n;
} gbx__pmap;

void *gbx__sch_pmap_get(const gbx__pmap *m, const void *key);
bool gbx__sch_pmap_put(gbx__pmap *m, const void *key, void *val);
void gbx__sch_pmap_free(gbx__pmap *m);

/* String -> pointer hash map; keys are copied. */
typedef struct gbx__smap_slot {
    char *key;
    size_t len;
    uint32_t hash;
    void *val;
} gbx__smap_slot;

typedef struct gbx__smap {
    gbx__smap_slot *slots;
    size_t cap, n;
} gbx__smap;

void *gbx__sch_smap_getn(const gbx__smap *m, const char *key, size_t len);
void *gbx__sch_smap_get(const gbx__smap *m, const char *key);
bool gbx__sch_smap_put(gbx__smap *m, const char *key, void *val);
void gbx__sch_smap_free(gbx__smap *m, void (*free_val)(void *));

/* Number of Unicode code points in UTF-8 text. */
size_t gbx__sch_utf8_length(const char *s, size_t len);
/* Decodes one code point at s (len > 0); *adv receives its byte length.
 * Invalid bytes decode as themselves (one byte). */
uint32_t gbx__sch_utf8_decode(const char *s, size_t len, size_t *adv);
/* Appends the UTF-8 encoding of cp. */
void gbx__sch_utf8_put(gbx__sbuf *b, uint32_t cp);

/* JSON Schema equality: numbers compare by value (1 == 1.0), objects
 * ignore key order. */
bool gbx__sch_json_equal(const json_t *a, const json_t *b);
/* Is the number an integer value (1 and 1.0 are; 1.5 is not)? */
bool gbx__sch_json_is_integral(const json_t *v);
/* Is `value` a multiple of `divisor` (> 0), exactly, on decimal values? */
bool gbx__sch_number_multiple_of(const json_t *value, const json_t *divisor);
/* Compares two numbers: <0, 0, >0. */
int gbx__sch_number_cmp(const json_t *a, const json_t *b);
/* Formats a number the way JSON would ("3", "2.5"); writes into buf. */
const char *gbx__sch_number_str(const json_t *v, char *buf, size_t size);
/* "object", "array", "string", "integer", "number", "boolean", "null". */
const char *gbx__sch_json_type_name(const json_t *v);

/* Decodes standard base64 (padding optional, no other characters);
 * malloc'ed, or NULL when the text is not base64. */
char *gbx__schema_base64_decode(const char *s, size_t len, size_t *out_len);

/* Appends `token` escaped for a JSON Pointer (~0, ~1). */
void gbx__sch_pointer_escape(gbx__sbuf *b, const char *token);
/* Resolves a JSON Pointer (already percent-decoded) inside doc; borrowed or
 * NULL. */
json_t *gbx__sch_pointer_get(const json_t *doc, const char *pointer);
/* Decodes %XX escapes into a new malloc'ed string (NULL on bad input). */
char *gbx__sch_percent_decode(const char *s, size_t len);

/* ---- URIs (schema_uri.c) ------------------------------------------------ */

/* Resolves `ref` against `base` (RFC 3986 section 5.2, with dot segments
 * removed).  Returns a malloc'ed absolute URI, fragment kept. */
char *gbx__sch_uri_resolve(const char *base, const char *ref);
/* Splits off the fragment: returns a malloc'ed copy of the URI without it,
 * *fragment points into `uri` after the '#' (or NULL when there is none). */
char *gbx__sch_uri_strip_fragment(const char *uri, const char **fragment);
/* Does the URI have a scheme (is it absolute)? */
bool gbx__sch_uri_has_scheme(const char *uri);
/* "file:///abs/path" for a path (made absolute against the cwd). */
char *gbx__sch_uri_from_path(const char *path);

/* ---- regular expressions, ECMA-262 flavour (schema_regex.c) ------------ */

typedef struct gbx__regex gbx__regex;

/* Compiles an ECMA-262 pattern (unicode mode).  NULL and *err (static
 * message) when the pattern is not valid. */
gbx__regex *gbx__sch_regex_compile(const char *pattern, const char **err);
/* Searches anywhere in the UTF-8 subject. */
bool gbx__sch_regex_search(const gbx__regex *re, const char *subject, size_t len);
/* Does the pattern match the whole subject? (legacy dialect) */
bool gbx__sch_regex_full_match(const gbx__regex *re, const char *subject, size_t len);
void gbx__sch_regex_free(gbx__regex *re);

/* ---- formats (schema_format.c) ------------------------------------------ */

typedef bool (*gbx__format_fn)(const char *s, size_t len);

/* Is s a host name (RFC 1123, A-labels checked), or with `idn` an
 * internationalised one (IDNA2008 U-labels too)?  (schema_idna.c) */
bool gbx__sch_hostname_ok(const char *s, size_t len, bool idn);

/* The checker of a format name for a dialect; NULL when unknown. */
gbx__format_fn gbx__sch_format_lookup(const char *name, gbx_dialect dialect);

/* ---- embedded meta-schemas (schema_meta.c) ------------------------------ */

/* The meta-schema document text for a well-known URI (without fragment), or
 * NULL. */
const char *gbx__sch_metaschema_text(const char *uri);

/* ---- the compiled form -------------------------------------------------- */

/* Vocabularies (2019-09 and later); older dialects have all of theirs. */
enum {
    GBX__VOC_CORE = 1u << 0,
    GBX__VOC_APPLICATOR = 1u << 1,
    GBX__VOC_VALIDATION = 1u << 2,
    GBX__VOC_UNEVALUATED = 1u << 3,
    GBX__VOC_FORMAT_ANNOTATION = 1u << 4,
    GBX__VOC_FORMAT_ASSERTION = 1u << 5,
    GBX__VOC_CONTENT = 1u << 6,
    GBX__VOC_METADATA = 1u << 7,
    GBX__VOC_ALL = 0xffu & ~(1u << 5),
};

/* Type bits of the "type" keyword. */
enum {
    GBX__T_NULL = 1u << 0,
    GBX__T_BOOLEAN = 1u << 1,
    GBX__T_OBJECT = 1u << 2,
    GBX__T_ARRAY = 1u << 3,
    GBX__T_NUMBER = 1u << 4,
    GBX__T_STRING = 1u << 5,
    GBX__T_INTEGER = 1u << 6,
    GBX__T_ANY = 0x7fu,
};

typedef enum gbx__kw_kind {
    GBX__KW_TYPE,
    GBX__KW_DISALLOW,
    GBX__KW_ENUM,
    GBX__KW_CONST,
    GBX__KW_MULTIPLE_OF,
    GBX__KW_MAXIMUM,
    GBX__KW_EXCLUSIVE_MAXIMUM,
    GBX__KW_MINIMUM,
    GBX__KW_EXCLUSIVE_MINIMUM,
    GBX__KW_MAX_LENGTH,
    GBX__KW_MIN_LENGTH,
    GBX__KW_PATTERN,
    GBX__KW_FORMAT,
    GBX__KW_MAX_ITEMS,
    GBX__KW_MIN_ITEMS,
    GBX__KW_UNIQUE_ITEMS,
    GBX__KW_MAX_PROPERTIES,
    GBX__KW_MIN_PROPERTIES,
    GBX__KW_REQUIRED,
    GBX__KW_DEPENDENT_REQUIRED,
    GBX__KW_REF,
    GBX__KW_DYNAMIC_REF,
    GBX__KW_RECURSIVE_REF,
    GBX__KW_ALL_OF,
    GBX__KW_ANY_OF,
    GBX__KW_ONE_OF,
    GBX__KW_NOT,
    GBX__KW_IF,
    GBX__KW_ITEMS,          /* one schema for every item (after a prefix) */
    GBX__KW_PREFIX_ITEMS,   /* items array (tuple) / prefixItems */
    GBX__KW_ADDITIONAL_ITEMS,
    GBX__KW_CONTAINS,
    GBX__KW_PROPERTIES,
    GBX__KW_PATTERN_PROPERTIES,
    GBX__KW_ADDITIONAL_PROPERTIES,
    GBX__KW_DEPENDENT_SCHEMAS,
    GBX__KW_PROPERTY_NAMES,
    GBX__KW_CONTENT,        /* contentMediaType/contentEncoding (draft 7 asserts) */
    GBX__KW_UNEVALUATED_ITEMS,
    GBX__KW_UNEVALUATED_PROPERTIES,
    /* the Gearbox legacy dialect */
    GBX__KW_LEGACY_TYPE,
    GBX__KW_LEGACY_RANGE,
    GBX__KW_LEGACY_ENUM,
    GBX__KW_LEGACY_OBJECT,
    GBX__KW_LEGACY_ARRAY,
} gbx__kw_kind;

typedef struct gbx__node gbx__node;
typedef struct gbx__resource gbx__resource;

/* Kinds of instance a keyword can fail on (gbx__kw.applies): the prelude
 * of a schema skips the keywords that cannot apply to an instance. */
enum {
    GBX__A_OBJECT = 1u << 0,
    GBX__A_ARRAY = 1u << 1,
    GBX__A_STRING = 1u << 2,
    GBX__A_NUMBER = 1u << 3,
    GBX__A_OTHER = 1u << 4, /* null, true, false */
    GBX__A_ALL = 0x1fu,
};

/* One named subschema (properties, dependentSchemas). */
typedef struct gbx__named {
    const char *name;   /* borrowed from the schema document */
    size_t len;
    uint64_t head;      /* the name's first 8 bytes, zero padded (gbx__sch_key_head) */
    uint64_t tail;      /* names of 9 to 16 bytes: their last 8 bytes */
    gbx__node *node;    /* NULL for dependencies given as property lists */
    const json_t *list; /* dependentRequired / draft-3 `dependencies` strings */
    unsigned depth;     /* static unevaluatedProperties: allOf levels above its "properties" */
} gbx__named;

/* One patternProperties entry. */
typedef struct gbx__pattern_sub {
    const char *source;
    gbx__regex *re;
    gbx__node *node;
} gbx__pattern_sub;

typedef struct gbx__kw {
    gbx__kw_kind kind;
    const char *name;            /* keyword name: the schema location segment */
    size_t namelen;
    const json_t *value;         /* the keyword's value in the kept document */
    unsigned types;              /* GBX__T_* for type / disallow */
    double num;                  /* numeric limits (when not exact) */
    const json_t *numj;          /* numeric limit as JSON (exact comparisons) */
    bool exclusive;              /* draft-4 exclusiveMaximum: true etc. */
    uint64_t count;              /* lengths, item/property counts */
    uint64_t count2;             /* maxContains */
    bool has_count2;
    gbx__node *sub;              /* single subschema */
    gbx__node *sub2, *sub3;      /* then / else */
    gbx__node **subs;            /* allOf, anyOf, oneOf, tuple items */
    size_t nsubs;
    gbx__named *named;           /* properties, dependencies (sorted by name) */
    size_t nnamed;
    uint32_t *table;             /* open-addressed name table: index into named + 1, 0 = empty */
    uint32_t table_mask;         /* table size - 1 */
    gbx__pattern_sub *patterns;
    size_t npatterns;
    gbx__regex *re;
    gbx__format_fn format;
    const struct gbx__kw *props, *pattern_props; /* siblings additionalProperties looks at */
    size_t prefix_len;           /* items before additionalItems/items apply */
    const char *anchor;          /* $dynamicRef anchor name when dynamic */
    gbx__node *legacy_additional; /* legacy: additionalProperties schema (NULL = anything) */
    bool legacy_additional_false;
    unsigned applies;            /* GBX__A_*: instances it can fail on */
    /* a static unevaluatedProperties: `named`/`table` hold every name the
     * schema's `properties` (its own and its allOf's) evaluate; these are
     * those keywords, to re-check a name when a sibling failed */
    const struct gbx__kw **contrib;
    size_t ncontrib;
    /* a discriminated oneOf: every branch's "properties" gives member
     * `disc` a {"const": <string>} of its own (disc_vals[branch]), so a
     * present member leaves one branch to try */
    const char *disc;
    size_t disclen;
    const json_t **disc_vals;
} gbx__kw;

struct gbx__node {
    const json_t *json;          /* borrowed from the kept document */
    gbx__resource *resource;     /* NULL for boolean schemas */
    gbx_dialect dialect;
    unsigned vocab;
    int boolean;                 /* -1: object schema; 0/1: false/true schema */
    bool compiled;               /* keywords filled in (guards cycles) */
    bool tracks;                 /* has unevaluated* (needs evaluation marks) */
    bool assert_formats;
    /* unevaluatedProperties is decided by a fixed name table (no marks)
     * when nothing above asks for this schema's marks */
    bool static_uneval;
    /* ... and its verdict takes one walk over the members: each name
     * belongs to one "properties" (node = its subschema); the allOf around
     * them holds nothing else */
    bool fused;
    unsigned type_only;          /* GBX__T_*: the schema is just {"type": ...} */
    gbx__kw *kw;
    size_t nkw;
};

/* An anchor of a schema resource ($anchor, $dynamicAnchor, or a draft-4..7
 * "#name" id). */
typedef struct gbx__anchor {
    char *name;
    const json_t *json;
    bool dynamic;
} gbx__anchor;

struct gbx__resource {
    char *uri;                   /* absolute, without fragment */
    const json_t *json;          /* the resource's root schema */
    gbx_dialect dialect;
    unsigned vocab;
    gbx__anchor *anchors;
    size_t nanchors, capanchors;
    bool recursive_anchor;       /* 2019-09 "$recursiveAnchor": true at its root */
    gbx__node *root;             /* compiled lazily */
};

/* Where a schema object sits: its base URI's resource and dialect. */
typedef struct gbx__place {
    gbx__resource *resource;
    gbx_dialect dialect;
    unsigned vocab;
} gbx__place;

struct gbx_schema_registry {
    gbx__smap docs;              /* absolute URI (no fragment) -> json_t* */
    char **prefixes;             /* URI prefixes ... */
    char **dirs;                 /* ... and their directories */
    size_t ndirs;
};

struct gbx_schema {
    gbx_schema_options opts;
    gbx_dialect dialect;         /* of the root */
    gbx__node *root;
    json_t *docs;                /* array of every document the schema uses (kept alive) */
    gbx__smap resources;         /* absolute URI -> gbx__resource* */
    gbx__pmap places;            /* json_t* -> gbx__place* */
    gbx__pmap nodes;             /* json_t* -> gbx__node* */
    void **allocs;               /* everything else to free */
    size_t nallocs, capallocs;
    bool uses_dynamic;           /* any $dynamicRef / $recursiveRef */
    bool file_refs;              /* loaded from a file: file:// refs read local files */
};

/* The name table of a properties-like keyword: a key's length and its
 * first bytes as one word (a "head"), hashed, so that a lookup at validation
 * time is a probe and one or two compares.  Two keys of the same length
 * under 9 bytes are equal exactly when their heads are (the loads overlap
 * but together cover every byte). */
static inline uint64_t gbx__sch_key_head(const char *key, size_t len) {
    uint64_t w = 0;
    if (len >= 8) {
        memcpy(&w, key, 8);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, key, 4);
        memcpy(&b, key + len - 4, 4);
        w = a | (uint64_t)b << 32;
    } else if (len >= 2) {
        uint16_t a, b;
        memcpy(&a, key, 2);
        memcpy(&b, key + len - 2, 2);
        w = a | (uint64_t)b << 16;
    } else if (len == 1) {
        w = (unsigned char)key[0];
    }
    return w;
}

/* The last 8 bytes of a key longer than 8 bytes (with its head: all of a
 * key of up to 16 bytes). */
static inline uint64_t gbx__sch_key_tail(const char *key, size_t len) {
    uint64_t w;
    memcpy(&w, key + len - 8, 8);
    return w;
}

static inline uint32_t gbx__sch_key_hash(uint64_t head, size_t len) {
    return (uint32_t)(((head ^ len) * 0x9E3779B97F4A7C15ull) >> 32);
}

/* The entry of `k->named` called `key`, or NULL. */
static inline gbx__named *gbx__sch_named_find(const gbx__kw *k, const char *key, size_t len) {
    if (!k->table) return NULL;
    uint64_t head = gbx__sch_key_head(key, len);
    for (uint32_t i = gbx__sch_key_hash(head, len) & k->table_mask;; i = (i + 1) & k->table_mask) {
        uint32_t slot = k->table[i];
        if (!slot) return NULL;
        gbx__named *e = &k->named[slot - 1];
        if (e->len == len && e->head == head && (len <= 8 || (len <= 16 ? gbx__sch_key_tail(key, len) == e->tail
                                                                         : memcmp(e->name + 8, key + 8, len - 8) == 0)))
            return e;
    }
}

/* schema_compile.c */
gbx_err gbx__sch_compile(gbx_schema *s, json_t *doc, const char *base_uri);
void gbx__schema_destroy(gbx_schema *s);
/* Remembers a malloc'ed block to free with the schema. */
void *gbx__sch_keep(gbx_schema *s, void *p);

/* schema_validate.c */
gbx_err gbx__sch_validate(const gbx_schema *s, json_t *instance, json_t **violations);

/* Dialect of a `$schema` URI; GBX_DIALECT_AUTO when not a known one. */
gbx_dialect gbx__sch_dialect_from_uri(const char *uri);

#endif
