/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_regex.c - ECMA-262 regular expressions (unicode mode) for
 * "pattern", "patternProperties" and format "regex".
 *
 * The pattern is parsed into a small tree, then compiled into a program for
 * a backtracking machine that works on the UTF-8 subject code point by code
 * point.  Supported: alternation, groups (capturing, named, non-capturing),
 * lookahead and lookbehind, greedy and lazy quantifiers, classes with
 * ranges, \d \w \s (ASCII digits and word characters, ECMA white space),
 * \p{...} / \P{...} on Unicode general categories, backreferences,
 * \b \B ^ $ and the character escapes.  As in unicode mode, unknown letter
 * escapes are errors; escaped ASCII punctuation is accepted everywhere (a
 * little more lenient than ECMA, which real-world schemas rely on).  A run
 * that backtracks too much gives up (counts as no match) instead of
 * hanging the caller. */
#include "schema/schema_internal.h"
#include "schema/schema_unicode.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROGRAM 100000      /* instructions, after expanding {n,m} */
#define MAX_STEPS 20000000L     /* per search */

/* ---- character sets -------------------------------------------------------- */

typedef struct crange {
    uint32_t lo, hi;
} crange;

typedef struct cset {
    crange *r;
    size_t n, cap;
    uint32_t cats;      /* general categories included */
    uint32_t *notcats;  /* each: categories excluded (\P{...}) */
    size_t nnot;
    bool negated;
    uint64_t ascii[2];  /* the answer for code points < 128, precomputed */
} cset;

static bool cset_add(cset *s, uint32_t lo, uint32_t hi) {
    if (!GBX__GROW(s->r, s->cap, s->n + 1, 8)) return false;
    s->r[s->n].lo = lo;
    s->r[s->n].hi = hi;
    s->n++;
    return true;
}

static const crange space_ranges[] = {{9, 13},          {32, 32},         {0xA0, 0xA0},     {0x1680, 0x1680},
                                      {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                                      {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
static const crange digit_ranges[] = {{'0', '9'}};
static const crange word_ranges[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};

/* Adds a predefined set, or its complement. */
static bool cset_add_table(cset *s, const crange *t, size_t n, bool complement) {
    if (!complement) {
        for (size_t i = 0; i < n; i++)
            if (!cset_add(s, t[i].lo, t[i].hi)) return false;
        return true;
    }
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].lo > next && !cset_add(s, next, t[i].lo - 1)) return false;
        next = t[i].hi + 1;
    }
    return next > 0x10FFFF || cset_add(s, next, 0x10FFFF);
}

static bool cset_has_slow(const cset *s, uint32_t c) {
    bool in = false;
    for (size_t i = 0; i < s->n && !in; i++) in = c >= s->r[i].lo && c <= s->r[i].hi;
    if (!in && (s->cats || s->nnot)) {
        int cat = gbx__sch_unicode_category(c);
        if (s->cats & (1u << cat)) in = true;
        for (size_t i = 0; i < s->nnot && !in; i++)
            if (!(s->notcats[i] & (1u << cat))) in = true;
    }
    return in != s->negated;
}

static void cset_finish(cset *s) {
    s->ascii[0] = s->ascii[1] = 0;
    for (uint32_t c = 0; c < 128; c++)
        if (cset_has_slow(s, c)) s->ascii[c / 64] |= (uint64_t)1 << (c % 64);
}

static inline bool cset_has(const cset *s, uint32_t c) {
    if (c < 128) return (s->ascii[c / 64] >> (c % 64)) & 1;
    return cset_has_slow(s, c);
}

/* \p{...} names: general categories (long or short) and their groups. */
static uint32_t category_mask(const char *name) {
    static const struct {
        const char *name;
        uint32_t mask;
    } names[] = {
#define B(x) (1u << GBX__UC_##x)
        {"L", B(Lu) | B(Ll) | B(Lt) | B(Lm) | B(Lo)},
        {"Letter", B(Lu) | B(Ll) | B(Lt) | B(Lm) | B(Lo)},
        {"LC", B(Lu) | B(Ll) | B(Lt)},
        {"Cased_Letter", B(Lu) | B(Ll) | B(Lt)},
        {"Lu", B(Lu)}, {"Uppercase_Letter", B(Lu)},
        {"Ll", B(Ll)}, {"Lowercase_Letter", B(Ll)},
        {"Lt", B(Lt)}, {"Titlecase_Letter", B(Lt)},
        {"Lm", B(Lm)}, {"Modifier_Letter", B(Lm)},
        {"Lo", B(Lo)}, {"Other_Letter", B(Lo)},
        {"M", B(Mn) | B(Mc) | B(Me)}, {"Mark", B(Mn) | B(Mc) | B(Me)}, {"Combining_Mark", B(Mn) | B(Mc) | B(Me)},
        {"Mn", B(Mn)}, {"Nonspacing_Mark", B(Mn)},
        {"Mc", B(Mc)}, {"Spacing_Mark", B(Mc)},
        {"Me", B(Me)}, {"Enclosing_Mark", B(Me)},
        {"N", B(Nd) | B(Nl) | B(No)}, {"Number", B(Nd) | B(Nl) | B(No)},
        {"Nd", B(Nd)}, {"Decimal_Number", B(Nd)}, {"digit", B(Nd)},
        {"Nl", B(Nl)}, {"Letter_Number", B(Nl)},
        {"No", B(No)}, {"Other_Number", B(No)},
        {"P", B(Pc) | B(Pd) | B(Ps) | B(Pe) | B(Pi) | B(Pf) | B(Po)},
        {"Punctuation", B(Pc) | B(Pd) | B(Ps) | B(Pe) | B(Pi) | B(Pf) | B(Po)},
        {"punct", B(Pc) | B(Pd) | B(Ps) | B(Pe) | B(Pi) | B(Pf) | B(Po)},
        {"Pc", B(Pc)}, {"Connector_Punctuation", B(Pc)},
        {"Pd", B(Pd)}, {"Dash_Punctuation", B(Pd)},
        {"Ps", B(Ps)}, {"Open_Punctuation", B(Ps)},
        {"Pe", B(Pe)}, {"Close_Punctuation", B(Pe)},
        {"Pi", B(Pi)}, {"Initial_Punctuation", B(Pi)},
        {"Pf", B(Pf)}, {"Final_Punctuation", B(Pf)},
        {"Po", B(Po)}, {"Other_Punctuation", B(Po)},
        {"S", B(Sm) | B(Sc) | B(Sk) | B(So)}, {"Symbol", B(Sm) | B(Sc) | B(Sk) | B(So)},
        {"Sm", B(Sm)}, {"Math_Symbol", B(Sm)},
        {"Sc", B(Sc)}, {"Currency_Symbol", B(Sc)},
        {"Sk", B(Sk)}, {"Modifier_Symbol", B(Sk)},
        {"So", B(So)}, {"Other_Symbol", B(So)},
        {"Z", B(Zs) | B(Zl) | B(Zp)}, {"Separator", B(Zs) | B(Zl) | B(Zp)},
        {"Zs", B(Zs)}, {"Space_Separator", B(Zs)},
        {"Zl", B(Zl)}, {"Line_Separator", B(Zl)},
        {"Zp", B(Zp)}, {"Paragraph_Separator", B(Zp)},
        {"C", B(Cc) | B(Cf) | B(Cs) | B(Co) | B(Cn)}, {"Other", B(Cc) | B(Cf) | B(Cs) | B(Co) | B(Cn)},
        {"Cc", B(Cc)}, {"Control", B(Cc)}, {"cntrl", B(Cc)},
        {"Cf", B(Cf)}, {"Format", B(Cf)},
        {"Cs", B(Cs)}, {"Surrogate", B(Cs)},
        {"Co", B(Co)}, {"Private_Use", B(Co)},
        {"Cn", B(Cn)}, {"Unassigned", B(Cn)},
#undef B
    };
    const char *n = name;
    if (strncmp(n, "General_Category=", 17) == 0) n += 17;
    else if (strncmp(n, "gc=", 3) == 0) n += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, n) == 0) return names[i].mask;
    return 0;
}

/* ---- syntax tree ------------------------------------------------------------- */

enum { N_EMPTY, N_CHAR, N_ANY, N_SET, N_CAT, N_ALT, N_GROUP, N_REPEAT, N_BOL, N_EOL, N_WORDB, N_NWORDB, N_LOOK, N_BACKREF };

typedef struct rnode rnode;
struct rnode {
    int type;
    uint32_t c;        /* N_CHAR */
    int set;           /* N_SET: index into sets */
    int group;         /* N_GROUP: capture number (-1: none); N_BACKREF: number */
    char *name;        /* N_BACKREF by name (resolved at emit) / N_GROUP name */
    int min, max;      /* N_REPEAT (max -1 = unbounded) */
    bool greedy;
    bool neg, behind;  /* N_LOOK */
    rnode **kids;      /* N_CAT, N_ALT */
    size_t nkids, capkids;
    rnode *kid;        /* N_GROUP, N_REPEAT, N_LOOK */
};

enum { OP_CHAR, OP_ANY, OP_SET, OP_SPLIT, OP_JMP, OP_SAVE, OP_MATCH, OP_BOL, OP_EOL, OP_WORDB, OP_NWORDB,
       OP_LOOK, OP_LOOK_END, OP_BACKREF, OP_MARK, OP_CHECK, OP_STAR };

typedef struct inst {
    uint8_t op;
    uint8_t atom;    /* OP_STAR: OP_CHAR, OP_ANY or OP_SET */
    bool neg, behind;
    uint32_t c;
    int x, y;        /* OP_STAR: x = set, y = maximum count (-1: none) */
    int min;         /* OP_STAR: minimum count */
} inst;

struct gbx__regex {
    inst *prog;
    size_t nprog;
    cset *sets;
    size_t nsets;
    int ngroups;  /* capture groups, group 0 = whole match */
    int nregs;    /* loop registers */
    bool anchored;
    bool linear;  /* see linear_ok */
};

typedef struct parser {
    uint32_t *p;
    size_t n, i;
    const char *err;
    rnode **nodes; /* every node, for freeing */
    size_t nnodes, capnodes;
    cset *sets;
    size_t nsets, capsets;
    int ngroups;      /* groups seen so far */
    int total_groups; /* from the pre-scan */
    char **names;     /* group names, index = group number */
    size_t capnames;
    bool has_names;
    bool has_backrefs; /* captures are only recorded when something reads them */
} parser;

static rnode *new_node(parser *ps, int type) {
    if (ps->err) return NULL;
    if (!GBX__GROW(ps->nodes, ps->capnodes, ps->nnodes + 1, 32)) {
        ps->err = "out of memory";
        return NULL;
    }
    rnode *n = calloc(1, sizeof *n);
    if (!n) {
        ps->err = "out of memory";
        return NULL;
    }
    n->type = type;
    n->group = -1;
    ps->nodes[ps->nnodes++] = n;
    return n;
}

static bool add_kid(parser *ps, rnode *parent, rnode *kid) {
    if (!GBX__GROW(parent->kids, parent->capkids, parent->nkids + 1, 4)) {
        ps->err = "out of memory";
        return false;
    }
    parent->kids[parent->nkids++] = kid;
    return true;
}

static int new_set(parser *ps) {
    if (!GBX__GROW(ps->sets, ps->capsets, ps->nsets + 1, 8)) {
        ps->err = "out of memory";
        return -1;
    }
    memset(&ps->sets[ps->nsets], 0, sizeof ps->sets[0]);
    return (int)ps->nsets++;
}

static bool at_end(const parser *ps) { return ps->i >= ps->n; }
static uint32_t peek(const parser *ps) { return ps->i < ps->n ? ps->p[ps->i] : 0; }
static uint32_t peek_at(const parser *ps, size_t k) { return ps->i + k < ps->n ? ps->p[ps->i + k] : 0; }

static bool is_syntax(uint32_t c) { return c < 128 && c && strchr("^$\\.*+?()[]{}|/", (int)c); }
static bool is_ascii_punct(uint32_t c) {
    return c < 128 && ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126));
}

static int hexv(uint32_t c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

static bool parse_hex(parser *ps, int digits, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < digits; k++) {
        int h = hexv(peek_at(ps, (size_t)k));
        if (h < 0) return false;
        v = v * 16 + (uint32_t)h;
    }
    ps->i += (size_t)digits;
    *out = v;
    return true;
}

/* \u escapes (after the 'u'), surrogate pairs joined. */
static bool parse_unicode_escape(parser *ps, uint32_t *out) {
    if (peek(ps) == '{') {
        ps->i++;
        uint32_t v = 0;
        size_t st = ps->i;
        while (!at_end(ps) && hexv(peek(ps)) >= 0) {
            v = v * 16 + (uint32_t)hexv(peek(ps));
            if (v > 0x10FFFF) return false;
            ps->i++;
        }
        if (ps->i == st || peek(ps) != '}') return false;
        ps->i++;
        *out = v;
        return true;
    }
    uint32_t v;
    if (!parse_hex(ps, 4, &v)) return false;
    if (v >= 0xD800 && v <= 0xDBFF && peek(ps) == '\\' && peek_at(ps, 1) == 'u') {
        size_t save = ps->i;
        ps->i += 2;
        uint32_t lo;
        if (parse_hex(ps, 4, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            *out = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            return true;
        }
        ps->i = save;
    }
    *out = v;
    return true;
}

/* \p{Name} / \P{Name} (after the letter) into set s. */
static bool parse_property(parser *ps, cset *s, bool negated) {
    if (peek(ps) != '{') return false;
    ps->i++;
    char name[64];
    size_t k = 0;
    while (!at_end(ps) && peek(ps) != '}') {
        uint32_t c = peek(ps);
        if (c >= 128 || k + 1 >= sizeof name) return false;
        name[k++] = (char)c;
        ps->i++;
    }
    if (peek(ps) != '}') return false;
    ps->i++;
    name[k] = '\0';
    uint32_t mask = category_mask(name);
    if (!mask) return false;
    if (!negated) {
        s->cats |= mask;
        return true;
    }
    uint32_t *v = realloc(s->notcats, (s->nnot + 1) * sizeof *v);
    if (!v) return false;
    s->notcats = v;
    s->notcats[s->nnot++] = mask;
    return true;
}

/* A character escape (after the backslash) that stands for one code point.
 * Returns false if the escape is not one. */
static bool char_escape(parser *ps, uint32_t *out, bool in_class) {
    uint32_t c = peek(ps);
    switch (c) {
    case 't': ps->i++; *out = '\t'; return true;
    case 'n': ps->i++; *out = '\n'; return true;
    case 'v': ps->i++; *out = '\v'; return true;
    case 'f': ps->i++; *out = '\f'; return true;
    case 'r': ps->i++; *out = '\r'; return true;
    case 'c': {
        uint32_t l = peek_at(ps, 1);
        if ((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z')) {
            ps->i += 2;
            *out = l % 32;
            return true;
        }
        return false;
    }
    case '0':
        if (peek_at(ps, 1) >= '0' && peek_at(ps, 1) <= '9') return false;
        ps->i++;
        *out = 0;
        return true;
    case 'x': {
        ps->i++;
        if (!parse_hex(ps, 2, out)) {
            ps->i--;
            return false;
        }
        return true;
    }
    case 'u': {
        ps->i++;
        if (!parse_unicode_escape(ps, out)) {
            ps->i--;
            return false;
        }
        return true;
    }
    case 'b':
        if (!in_class) return false;
        ps->i++;
        *out = 8;
        return true;
    case '-':
        ps->i++;
        *out = '-';
        return true;
    default:
        if (is_syntax(c) || is_ascii_punct(c)) {
            ps->i++;
            *out = c;
            return true;
        }
        return false;
    }
}

/* \d \D \w \W \s \S \p \P into set s (after the backslash). */
static bool class_escape(parser *ps, cset *s, bool *handled) {
    uint32_t c = peek(ps);
    *handled = true;
    switch (c) {
    case 'd': ps->i++; return cset_add_table(s, digit_ranges, 1, false);
    case 'D': ps->i++; return cset_add_table(s, digit_ranges, 1, true);
    case 'w': ps->i++; return cset_add_table(s, word_ranges, 4, false);
    case 'W': ps->i++; return cset_add_table(s, word_ranges, 4, true);
    case 's': ps->i++; return cset_add_table(s, space_ranges, sizeof space_ranges / sizeof space_ranges[0], false);
    case 'S': ps->i++; return cset_add_table(s, space_ranges, sizeof space_ranges / sizeof space_ranges[0], true);
    case 'p':
    case 'P':
        ps->i++;
        if (!parse_property(ps, s, c == 'P')) {
            ps->err = "invalid property escape";
            return false;
        }
        return true;
    default:
        *handled = false;
        return true;
    }
}

static rnode *parse_disjunction(parser *ps);

static rnode *parse_class(parser *ps) {
    /* at '[' */
    ps->i++;
    int si = new_set(ps);
    if (si < 0) return NULL;
    if (peek(ps) == '^') {
        ps->sets[si].negated = true;
        ps->i++;
    }
    for (;;) {
        if (at_end(ps)) {
            ps->err = "unterminated character class";
            return NULL;
        }
        uint32_t c = peek(ps);
        if (c == ']') {
            ps->i++;
            break;
        }
        /* one class atom: a char or a set */
        uint32_t lo = 0;
        bool is_set = false;
        if (c == '\\') {
            ps->i++;
            bool handled;
            if (!class_escape(ps, &ps->sets[si], &handled)) {
                if (!ps->err) ps->err = "out of memory";
                return NULL;
            }
            if (handled) {
                is_set = true;
            } else if (!char_escape(ps, &lo, true)) {
                ps->err = "invalid escape in character class";
                return NULL;
            }
        } else {
            lo = c;
            ps->i++;
        }
        if (peek(ps) == '-' && peek_at(ps, 1) != ']' && ps->i + 1 < ps->n) {
            /* a range */
            ps->i++;
            uint32_t hi = peek(ps);
            if (hi == '\\') {
                ps->i++;
                bool handled;
                cset tmp = {0};
                if (!class_escape(ps, &tmp, &handled)) {
                    free(tmp.r);
                    free(tmp.notcats);
                    if (!ps->err) ps->err = "out of memory";
                    return NULL;
                }
                free(tmp.r);
                free(tmp.notcats);
                if (handled) {
                    ps->err = "a character class cannot be a range bound";
                    return NULL;
                }
                if (!char_escape(ps, &hi, true)) {
                    ps->err = "invalid escape in character class";
                    return NULL;
                }
            } else {
                ps->i++;
            }
            if (is_set) {
                ps->err = "a character class cannot be a range bound";
                return NULL;
            }
            if (lo > hi) {
                ps->err = "range out of order in character class";
                return NULL;
            }
            if (!cset_add(&ps->sets[si], lo, hi)) {
                ps->err = "out of memory";
                return NULL;
            }
        } else if (!is_set && !cset_add(&ps->sets[si], lo, lo)) {
            ps->err = "out of memory";
            return NULL;
        }
    }
    rnode *n = new_node(ps, N_SET);
    if (n) n->set = si;
    return n;
}

static rnode *set_node(parser *ps, const crange *t, size_t nt, bool complement) {
    int si = new_set(ps);
    if (si < 0) return NULL;
    if (!cset_add_table(&ps->sets[si], t, nt, complement)) {
        ps->err = "out of memory";
        return NULL;
    }
    rnode *n = new_node(ps, N_SET);
    if (n) n->set = si;
    return n;
}

static char *parse_group_name(parser *ps) {
    /* after '<' */
    char buf[128];
    size_t k = 0;
    while (!at_end(ps) && peek(ps) != '>') {
        uint32_t c = peek(ps);
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
                  (k > 0 && c >= '0' && c <= '9') || c >= 128;
        if (!ok || k + 5 >= sizeof buf) return NULL;
        if (c < 128) {
            buf[k++] = (char)c;
        } else {
            gbx__sbuf b = {0};
            gbx__sch_utf8_put(&b, c);
            if (k + b.len + 1 >= sizeof buf) {
                gbx__sch_sbuf_free(&b);
                return NULL;
            }
            memcpy(buf + k, b.s, b.len);
            k += b.len;
            gbx__sch_sbuf_free(&b);
        }
        ps->i++;
    }
    if (peek(ps) != '>' || k == 0) return NULL;
    ps->i++;
    buf[k] = '\0';
    return strdup(buf);
}

static rnode *parse_atom_escape(parser *ps) {
    /* after the backslash */
    uint32_t c = peek(ps);
    if (at_end(ps)) {
        ps->err = "\\ at end of pattern";
        return NULL;
    }
    switch (c) {
    case 'd': ps->i++; return set_node(ps, digit_ranges, 1, false);
    case 'D': ps->i++; return set_node(ps, digit_ranges, 1, true);
    case 'w': ps->i++; return set_node(ps, word_ranges, 4, false);
    case 'W': ps->i++; return set_node(ps, word_ranges, 4, true);
    case 's': ps->i++; return set_node(ps, space_ranges, sizeof space_ranges / sizeof space_ranges[0], false);
    case 'S': ps->i++; return set_node(ps, space_ranges, sizeof space_ranges / sizeof space_ranges[0], true);
    case 'p':
    case 'P': {
        ps->i++;
        int si = new_set(ps);
        if (si < 0) return NULL;
        if (!parse_property(ps, &ps->sets[si], c == 'P')) {
            ps->err = "invalid property escape";
            return NULL;
        }
        rnode *n = new_node(ps, N_SET);
        if (n) n->set = si;
        return n;
    }
    case 'k': {
        ps->i++;
        if (peek(ps) != '<') {
            ps->err = "invalid named reference";
            return NULL;
        }
        ps->i++;
        char *name = parse_group_name(ps);
        if (!name) {
            ps->err = "invalid named reference";
            return NULL;
        }
        rnode *n = new_node(ps, N_BACKREF);
        if (!n) {
            free(name);
            return NULL;
        }
        n->name = name;
        ps->has_backrefs = true;
        return n;
    }
    default:
        break;
    }
    if (c >= '1' && c <= '9') {
        int num = 0;
        while (!at_end(ps) && peek(ps) >= '0' && peek(ps) <= '9') {
            num = num * 10 + (int)(peek(ps) - '0');
            if (num > 100000) break;
            ps->i++;
        }
        if (num > ps->total_groups) {
            ps->err = "reference to a group that does not exist";
            return NULL;
        }
        rnode *n = new_node(ps, N_BACKREF);
        if (n) n->group = num;
        ps->has_backrefs = true;
        return n;
    }
    uint32_t ch;
    if (!char_escape(ps, &ch, false)) {
        ps->err = "invalid escape";
        return NULL;
    }
    rnode *n = new_node(ps, N_CHAR);
    if (n) n->c = ch;
    return n;
}

/* Parses {n}, {n,}, {n,m} at '{'; false (position kept) when it is not one. */
static bool parse_braces(parser *ps, int *min, int *max) {
    size_t save = ps->i;
    ps->i++;
    long a = 0, b;
    size_t st = ps->i;
    while (!at_end(ps) && peek(ps) >= '0' && peek(ps) <= '9') {
        a = a * 10 + (long)(peek(ps) - '0');
        if (a > 1000000) a = 1000000;
        ps->i++;
    }
    if (ps->i == st) {
        ps->i = save;
        return false;
    }
    b = a;
    if (peek(ps) == ',') {
        ps->i++;
        st = ps->i;
        b = 0;
        while (!at_end(ps) && peek(ps) >= '0' && peek(ps) <= '9') {
            b = b * 10 + (long)(peek(ps) - '0');
            if (b > 1000000) b = 1000000;
            ps->i++;
        }
        if (ps->i == st) b = -1;
    }
    if (peek(ps) != '}') {
        ps->i = save;
        return false;
    }
    ps->i++;
    *min = (int)a;
    *max = (int)b;
    return true;
}

static rnode *parse_term(parser *ps) {
    uint32_t c = peek(ps);
    rnode *atom = NULL;
    switch (c) {
    case '^': ps->i++; return new_node(ps, N_BOL);
    case '$': ps->i++; return new_node(ps, N_EOL);
    case '\\':
        if (peek_at(ps, 1) == 'b' || peek_at(ps, 1) == 'B') {
            ps->i += 2;
            return new_node(ps, c == '\\' && ps->p[ps->i - 1] == 'b' ? N_WORDB : N_NWORDB);
        }
        ps->i++;
        atom = parse_atom_escape(ps);
        break;
    case '(': {
        ps->i++;
        if (peek(ps) == '?') {
            uint32_t k = peek_at(ps, 1);
            if (k == ':') {
                ps->i += 2;
                atom = new_node(ps, N_GROUP);
            } else if (k == '=' || k == '!' || (k == '<' && (peek_at(ps, 2) == '=' || peek_at(ps, 2) == '!'))) {
                rnode *look = new_node(ps, N_LOOK);
                if (!look) return NULL;
                look->behind = k == '<';
                look->neg = (k == '<' ? peek_at(ps, 2) : k) == '!';
                ps->i += k == '<' ? 3 : 2;
                look->kid = parse_disjunction(ps);
                if (!look->kid) return NULL;
                if (peek(ps) != ')') {
                    ps->err = "missing )";
                    return NULL;
                }
                ps->i++;
                uint32_t q = peek(ps);
                if (q == '*' || q == '+' || q == '?' || q == '{') {
                    ps->err = "nothing to repeat";
                    return NULL;
                }
                return look;
            } else if (k == '<') {
                ps->i += 2;
                char *name = parse_group_name(ps);
                if (!name) {
                    ps->err = "invalid group name";
                    return NULL;
                }
                atom = new_node(ps, N_GROUP);
                if (!atom) {
                    free(name);
                    return NULL;
                }
                atom->group = ++ps->ngroups;
                atom->name = name;
                ps->has_names = true;
                if ((size_t)atom->group >= ps->capnames) {
                    size_t old = ps->capnames;
                    if (!GBX__GROW(ps->names, ps->capnames, (size_t)atom->group + 1, 8)) {
                        ps->err = "out of memory";
                        free(name);
                        atom->name = NULL;
                        return NULL;
                    }
                    memset(ps->names + old, 0, (ps->capnames - old) * sizeof *ps->names);
                }
                for (size_t g = 0; g < ps->capnames; g++)
                    if (ps->names[g] && strcmp(ps->names[g], name) == 0) {
                        ps->err = "duplicate group name";
                        free(name);
                        atom->name = NULL;
                        return NULL;
                    }
                ps->names[atom->group] = name;
            } else {
                ps->err = "invalid group";
                return NULL;
            }
        } else {
            atom = new_node(ps, N_GROUP);
            if (atom) atom->group = ++ps->ngroups;
        }
        if (!atom) return NULL;
        atom->kid = parse_disjunction(ps);
        if (!atom->kid) return NULL;
        if (peek(ps) != ')') {
            ps->err = "missing )";
            return NULL;
        }
        ps->i++;
        break;
    }
    case '.':
        ps->i++;
        atom = new_node(ps, N_ANY);
        break;
    case '[':
        atom = parse_class(ps);
        break;
    case '*':
    case '+':
    case '?':
        ps->err = "nothing to repeat";
        return NULL;
    case '{': {
        int a, b;
        ps->err = parse_braces(ps, &a, &b) ? "nothing to repeat" : "lone quantifier brackets";
        return NULL;
    }
    case '}':
    case ']':
        ps->err = "lone bracket";
        return NULL;
    default:
        ps->i++;
        atom = new_node(ps, N_CHAR);
        if (atom) atom->c = c;
        break;
    }
    if (!atom) return NULL;
    /* quantifier */
    int min, max;
    c = peek(ps);
    if (c == '*') {
        min = 0, max = -1;
        ps->i++;
    } else if (c == '+') {
        min = 1, max = -1;
        ps->i++;
    } else if (c == '?') {
        min = 0, max = 1;
        ps->i++;
    } else if (c == '{') {
        if (!parse_braces(ps, &min, &max)) {
            ps->err = "lone quantifier brackets";
            return NULL;
        }
        if (max >= 0 && min > max) {
            ps->err = "numbers out of order in {} quantifier";
            return NULL;
        }
    } else {
        return atom;
    }
    rnode *rep = new_node(ps, N_REPEAT);
    if (!rep) return NULL;
    rep->min = min;
    rep->max = max;
    rep->greedy = true;
    rep->kid = atom;
    if (peek(ps) == '?') {
        rep->greedy = false;
        ps->i++;
    }
    return rep;
}

static rnode *parse_alternative(parser *ps) {
    rnode *cat = new_node(ps, N_CAT);
    if (!cat) return NULL;
    while (!at_end(ps) && peek(ps) != '|' && peek(ps) != ')') {
        rnode *t = parse_term(ps);
        if (!t || !add_kid(ps, cat, t)) return NULL;
    }
    return cat;
}

static rnode *parse_disjunction(parser *ps) {
    rnode *first = parse_alternative(ps);
    if (!first || peek(ps) != '|') return first;
    rnode *alt = new_node(ps, N_ALT);
    if (!alt || !add_kid(ps, alt, first)) return NULL;
    while (peek(ps) == '|' && !at_end(ps)) {
        ps->i++;
        rnode *a = parse_alternative(ps);
        if (!a || !add_kid(ps, alt, a)) return NULL;
    }
    return alt;
}

/* Counts capture groups ahead of parsing, for \N references. */
static int count_groups(const uint32_t *p, size_t n) {
    int groups = 0;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            i++;
            continue;
        }
        if (in_class) {
            if (p[i] == ']') in_class = false;
            continue;
        }
        if (p[i] == '[') in_class = true;
        else if (p[i] == '(') {
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 < n && p[i + 2] == '<' && i + 3 < n && p[i + 3] != '=' && p[i + 3] != '!') groups++;
            } else {
                groups++;
            }
        }
    }
    return groups;
}

/* ---- code generation ---------------------------------------------------------- */

typedef struct emitter {
    inst *prog;
    size_t n, cap;
    int nregs;
    const char *err;
    parser *ps;
} emitter;

/* Can the node match the empty string?  (Loops over such bodies need a
 * progress check.) */
static bool nullable(const rnode *n) {
    switch (n->type) {
    case N_CHAR:
    case N_ANY:
    case N_SET:
        return false;
    case N_CAT:
        for (size_t i = 0; i < n->nkids; i++)
            if (!nullable(n->kids[i])) return false;
        return true;
    case N_ALT:
        for (size_t i = 0; i < n->nkids; i++)
            if (nullable(n->kids[i])) return true;
        return false;
    case N_GROUP:
        return nullable(n->kid);
    case N_REPEAT:
        return n->min == 0 || nullable(n->kid);
    default:
        return true;
    }
}

static int emit(emitter *e, uint8_t op) {
    if (e->err) return -1;
    if (e->n >= MAX_PROGRAM) {
        e->err = "regular expression too large";
        return -1;
    }
    if (!GBX__GROW(e->prog, e->cap, e->n + 1, 64)) {
        e->err = "out of memory";
        return -1;
    }
    memset(&e->prog[e->n], 0, sizeof e->prog[0]);
    e->prog[e->n].op = op;
    return (int)e->n++;
}

static void gen(emitter *e, const rnode *n) {
    if (e->err || !n) return;
    int pc;
    switch (n->type) {
    case N_EMPTY:
        break;
    case N_CHAR:
        if ((pc = emit(e, OP_CHAR)) >= 0) e->prog[pc].c = n->c;
        break;
    case N_ANY:
        emit(e, OP_ANY);
        break;
    case N_SET:
        if ((pc = emit(e, OP_SET)) >= 0) e->prog[pc].x = n->set;
        break;
    case N_BOL:
        emit(e, OP_BOL);
        break;
    case N_EOL:
        emit(e, OP_EOL);
        break;
    case N_WORDB:
        emit(e, OP_WORDB);
        break;
    case N_NWORDB:
        emit(e, OP_NWORDB);
        break;
    case N_CAT:
        for (size_t i = 0; i < n->nkids; i++) gen(e, n->kids[i]);
        break;
    case N_ALT: {
        int *jumps = calloc(n->nkids, sizeof *jumps);
        if (!jumps) {
            e->err = "out of memory";
            return;
        }
        for (size_t i = 0; i < n->nkids; i++) {
            int split = -1;
            if (i + 1 < n->nkids) {
                split = emit(e, OP_SPLIT);
                if (split >= 0) e->prog[split].x = split + 1;
            }
            gen(e, n->kids[i]);
            if (i + 1 < n->nkids) {
                jumps[i] = emit(e, OP_JMP);
                if (split >= 0) e->prog[split].y = (int)e->n;
            }
        }
        for (size_t i = 0; i + 1 < n->nkids; i++)
            if (jumps[i] >= 0 && !e->err) e->prog[jumps[i]].x = (int)e->n;
        free(jumps);
        break;
    }
    case N_GROUP:
        if (n->group >= 0 && e->ps->has_backrefs && (pc = emit(e, OP_SAVE)) >= 0) e->prog[pc].x = 2 * n->group;
        gen(e, n->kid);
        if (n->group >= 0 && e->ps->has_backrefs && (pc = emit(e, OP_SAVE)) >= 0) e->prog[pc].x = 2 * n->group + 1;
        break;
    case N_BACKREF: {
        int g = n->group;
        if (n->name) {
            g = -1;
            for (size_t i = 0; i < e->ps->capnames; i++)
                if (e->ps->names[i] && strcmp(e->ps->names[i], n->name) == 0) g = (int)i;
            if (g < 0) {
                e->err = "reference to a group name that does not exist";
                return;
            }
        }
        if ((pc = emit(e, OP_BACKREF)) >= 0) e->prog[pc].x = g;
        break;
    }
    case N_LOOK: {
        int look = emit(e, OP_LOOK);
        if (look < 0) return;
        e->prog[look].neg = n->neg;
        e->prog[look].behind = n->behind;
        e->prog[look].x = look + 1;
        gen(e, n->kid);
        emit(e, OP_LOOK_END);
        if (!e->err) e->prog[look].y = (int)e->n;
        break;
    }
    case N_REPEAT: {
        const rnode *k = n->kid;
        if (n->greedy && (k->type == N_CHAR || k->type == N_ANY || k->type == N_SET)) {
            /* one code point at a time: a counted loop that backtracks by
             * giving back one code point */
            if ((pc = emit(e, OP_STAR)) >= 0) {
                e->prog[pc].atom = k->type == N_CHAR ? OP_CHAR : k->type == N_ANY ? OP_ANY : OP_SET;
                e->prog[pc].c = k->c;
                e->prog[pc].x = k->set;
                e->prog[pc].y = n->max;
                e->prog[pc].min = n->min;
            }
            break;
        }
        for (int i = 0; i < n->min && !e->err; i++) gen(e, n->kid);
        if (n->max < 0) {
            bool check = nullable(n->kid);
            int reg = check ? e->nregs++ : -1;
            int split = emit(e, OP_SPLIT);
            if (check && (pc = emit(e, OP_MARK)) >= 0) e->prog[pc].x = reg;
            gen(e, n->kid);
            if (check && (pc = emit(e, OP_CHECK)) >= 0) e->prog[pc].x = reg;
            if ((pc = emit(e, OP_JMP)) >= 0) e->prog[pc].x = split;
            if (!e->err) {
                int body = split + 1, out = (int)e->n;
                e->prog[split].x = n->greedy ? body : out;
                e->prog[split].y = n->greedy ? out : body;
            }
        } else {
            int opt = n->max - n->min;
            int *splits = calloc((size_t)(opt > 0 ? opt : 1), sizeof *splits);
            if (!splits) {
                e->err = "out of memory";
                return;
            }
            for (int i = 0; i < opt && !e->err; i++) {
                splits[i] = emit(e, OP_SPLIT);
                gen(e, n->kid);
            }
            for (int i = 0; i < opt && !e->err; i++) {
                int body = splits[i] + 1, out = (int)e->n;
                e->prog[splits[i]].x = n->greedy ? body : out;
                e->prog[splits[i]].y = n->greedy ? out : body;
            }
            free(splits);
        }
        break;
    }
    }
}

static void free_parser(parser *ps) {
    for (size_t i = 0; i < ps->nnodes; i++) {
        free(ps->nodes[i]->kids);
        if (ps->nodes[i]->type == N_BACKREF) free(ps->nodes[i]->name);
        free(ps->nodes[i]);
    }
    free(ps->nodes);
    for (size_t i = 0; i < ps->capnames; i++) free(ps->names[i]);
    free(ps->names);
    free(ps->p);
}

static void free_sets(cset *sets, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(sets[i].r);
        free(sets[i].notcats);
    }
    free(sets);
}

/* ---- straight patterns --------------------------------------------------------- */

/* The ASCII code points an OP_CHAR/OP_SET (or such an OP_STAR atom)
 * matches, as a 128-bit set; false for anything else. */
static bool ascii_of(const gbx__regex *re, uint8_t op, const inst *in, uint64_t out[2]) {
    out[0] = out[1] = 0;
    if (op == OP_CHAR) {
        if (in->c >= 0x80) return false;
        out[in->c / 64] = (uint64_t)1 << (in->c % 64);
        return true;
    }
    if (op != OP_SET) return false;
    out[0] = re->sets[in->x].ascii[0];
    out[1] = re->sets[in->x].ascii[1];
    return true;
}

/* Is the program "^", then characters, classes and greedy class runs, then
 * "$" or nothing, where every run is followed by something it cannot
 * match (a character or class outside it, a run of at least one such, or
 * the end)?  Then on ASCII text the greedy choice is the only one that can
 * succeed, and linear_match decides without backtracking. */
static bool linear_ok(const gbx__regex *re) {
    size_t i = 0;
    while (i < re->nprog && re->prog[i].op == OP_SAVE) i++;
    if (i == re->nprog || re->prog[i].op != OP_BOL) return false;
    for (i++; i < re->nprog; i++) {
        const inst *in = &re->prog[i];
        uint64_t a[2], b[2];
        switch (in->op) {
        case OP_SAVE:
        case OP_EOL:
        case OP_MATCH:
            continue;
        case OP_CHAR:
        case OP_SET:
            if (!ascii_of(re, in->op, in, a)) return false;
            continue;
        case OP_STAR: {
            if (!ascii_of(re, in->atom, in, a)) return false;
            size_t j = i + 1;
            while (j < re->nprog && re->prog[j].op == OP_SAVE) j++;
            if (j == re->nprog) return false;
            const inst *next = &re->prog[j];
            if (next->op == OP_EOL || next->op == OP_MATCH) continue;
            if (next->op == OP_CHAR || next->op == OP_SET) {
                if (!ascii_of(re, next->op, next, b)) return false;
            } else if (next->op == OP_STAR && next->min > 0) {
                if (!ascii_of(re, next->atom, next, b)) return false;
            } else {
                return false;
            }
            if ((a[0] & b[0]) || (a[1] & b[1])) return false;
            continue;
        }
        default:
            return false;
        }
    }
    return true;
}

static inline bool ascii_in(const uint64_t set[2], unsigned char ch) { return (set[ch / 64] >> (ch % 64)) & 1; }

/* Runs a linear_ok program: 1 match, 0 no match, -1 it met a non-ASCII
 * character (the backtracking engine decides). */
static int linear_match(const gbx__regex *re, const unsigned char *s, size_t len) {
    size_t p = 0;
    for (size_t i = 0; i < re->nprog; i++) {
        const inst *in = &re->prog[i];
        switch (in->op) {
        case OP_CHAR:
        case OP_SET:
            if (p == len) return 0;
            if (s[p] >= 0x80) return -1;
            if (in->op == OP_CHAR ? s[p] != in->c : !ascii_in(re->sets[in->x].ascii, s[p])) return 0;
            p++;
            break;
        case OP_STAR: {
            /* bytes >= 0x80 are outside the 256-bit table: they stop the run */
            uint64_t t[4] = {0, 0, 0, 0};
            ascii_of(re, in->atom, in, t);
            size_t start = p, end = in->y >= 0 && (size_t)in->y < len - p ? p + (size_t)in->y : len;
            while (p < end && ((t[s[p] >> 6] >> (s[p] & 63)) & 1)) p++;
            if (p < end && s[p] >= 0x80) return -1;
            if (p - start < (size_t)in->min) return 0;
            break;
        }
        case OP_EOL:
            if (p != len) return 0;
            break;
        case OP_MATCH:
            return 1;
        default: /* OP_SAVE, OP_BOL (at 0) */
            break;
        }
    }
    return 1;
}

gbx__regex *gbx__sch_regex_compile(const char *pattern, const char **err) {
    parser ps;
    memset(&ps, 0, sizeof ps);
    size_t len = strlen(pattern);
    ps.p = malloc((len + 1) * sizeof *ps.p);
    if (!ps.p) {
        *err = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        size_t adv;
        ps.p[ps.n++] = gbx__sch_utf8_decode(pattern + i, len - i, &adv);
        i += adv;
    }
    ps.total_groups = count_groups(ps.p, ps.n);
    rnode *root = parse_disjunction(&ps);
    if (root && !ps.err && !at_end(&ps)) ps.err = peek(&ps) == ')' ? "unmatched )" : "unexpected character";
    if (!root || ps.err) {
        *err = ps.err ? ps.err : "invalid regular expression";
        free_sets(ps.sets, ps.nsets);
        free_parser(&ps);
        return NULL;
    }
    for (size_t i = 0; i < ps.nsets; i++) cset_finish(&ps.sets[i]);
    emitter e = {.ps = &ps};
    gen(&e, root);
    emit(&e, OP_MATCH);
    gbx__regex *re = e.err ? NULL : calloc(1, sizeof *re);
    if (!re) {
        *err = e.err ? e.err : "out of memory";
        free(e.prog);
        free_sets(ps.sets, ps.nsets);
        free_parser(&ps);
        return NULL;
    }
    re->prog = e.prog;
    re->nprog = e.n;
    re->sets = ps.sets;
    re->nsets = ps.nsets;
    re->ngroups = ps.ngroups + 1;
    re->nregs = e.nregs;
    re->anchored = re->prog[0].op == OP_BOL;
    re->linear = linear_ok(re);
    free_parser(&ps);
    return re;
}

void gbx__sch_regex_free(gbx__regex *re) {
    if (!re) return;
    free(re->prog);
    free_sets(re->sets, re->nsets);
    free(re);
}

/* ---- matching -------------------------------------------------------------------- */

enum { BT_BRANCH, BT_CAP, BT_REG, BT_STAR };

typedef struct bt {
    int kind;
    int a;        /* pc / slot / register / BT_STAR: pc after the loop */
    long b;       /* sp / old value / BT_STAR: where the loop may shrink to */
    long c;       /* BT_STAR: where the loop ended this time */
} bt;

/* Does the OP_STAR atom match code point ch? */
static inline bool star_atom(const gbx__regex *re, const inst *in, uint32_t ch) {
    if (in->atom == OP_CHAR) return ch == in->c;
    if (in->atom == OP_ANY) return ch != '\n' && ch != '\r' && ch != 0x2028 && ch != 0x2029;
    return cset_has(&re->sets[in->x], ch);
}

typedef struct mstate {
    const gbx__regex *re;
    const char *s;
    size_t len;
    long *caps;
    long *regs;
    long steps;
    bool aborted;
} mstate;

static bool is_word_at(const char *s, size_t len, long i) {
    if (i < 0 || (size_t)i >= len) return false;
    unsigned char c = (unsigned char)s[i];
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

/* Decodes the code point at s, ASCII inline. */
static inline uint32_t decode(const char *s, size_t len, size_t *adv) {
    if ((unsigned char)*s < 0x80) {
        *adv = 1;
        return (unsigned char)*s;
    }
    return gbx__sch_utf8_decode(s, len, adv);
}

/* Runs the program from pc at sp; returns the end position of a match or
 * -1.  end_req >= 0 demands that the match (or lookaround body) ends there. */
static long run(mstate *m, int pc, long sp, long end_req) {
    const inst *prog = m->re->prog;
    bt local[64];
    bt *stack = local;
    size_t n = 0, cap = 64;
    long result = -1;
    for (;;) {
        if (++m->steps > MAX_STEPS) {
            m->aborted = true;
            goto done;
        }
        const inst *in = &prog[pc];
        switch (in->op) {
        case OP_CHAR:
        case OP_ANY:
        case OP_SET: {
            if ((size_t)sp >= m->len) goto fail;
            size_t adv;
            uint32_t c = decode(m->s + sp, m->len - (size_t)sp, &adv);
            bool ok;
            if (in->op == OP_CHAR)
                ok = c == in->c;
            else if (in->op == OP_ANY)
                ok = c != '\n' && c != '\r' && c != 0x2028 && c != 0x2029;
            else
                ok = cset_has(&m->re->sets[in->x], c);
            if (!ok) goto fail;
            sp += (long)adv;
            pc++;
            continue;
        }
        case OP_STAR: {
            long count = 0, p = sp, minpos = -1;
            long limit = in->y < 0 ? LONG_MAX : in->y;
            if (in->atom == OP_SET) { /* ASCII runs of a class: one bit test per byte */
                const uint64_t *ascii = m->re->sets[in->x].ascii;
                const unsigned char *u = (const unsigned char *)m->s;
                long stop = (size_t)(limit - count) < m->len - (size_t)p ? p + (limit - count) : (long)m->len;
                long q = p;
                while (q < stop && u[q] < 0x80 && ((ascii[u[q] / 64] >> (u[q] % 64)) & 1)) q++;
                if (in->min > 0 && count < in->min && q - p >= in->min - count) minpos = p + (in->min - count);
                count += q - p;
                p = q;
            }
            while ((size_t)p < m->len && count < limit) {
                size_t adv;
                uint32_t ch = decode(m->s + p, m->len - (size_t)p, &adv);
                if (!star_atom(m->re, in, ch)) break;
                p += (long)adv;
                if (++count == in->min) minpos = p;
            }
            if (count < in->min) goto fail;
            if (in->min == 0) minpos = sp;
            if (p > minpos) {
                /* remember how to give code points back */
                if (n == cap) {
                    size_t ncap = cap * 2;
                    bt *v = stack == local ? malloc(ncap * sizeof *v) : realloc(stack, ncap * sizeof *v);
                    if (!v) {
                        m->aborted = true;
                        goto done;
                    }
                    if (stack == local) memcpy(v, local, sizeof local);
                    stack = v;
                    cap = ncap;
                }
                stack[n++] = (bt){BT_STAR, pc + 1, minpos, p};
            }
            sp = p;
            pc++;
            continue;
        }
        case OP_SPLIT:
        case OP_SAVE:
        case OP_MARK:
            if (n == cap) {
                size_t ncap = cap * 2;
                bt *v = stack == local ? malloc(ncap * sizeof *v) : realloc(stack, ncap * sizeof *v);
                if (!v) {
                    m->aborted = true;
                    goto done;
                }
                if (stack == local) memcpy(v, local, sizeof local);
                stack = v;
                cap = ncap;
            }
            if (in->op == OP_SPLIT) {
                stack[n++] = (bt){BT_BRANCH, in->y, sp, 0};
                pc = in->x;
            } else if (in->op == OP_SAVE) {
                stack[n++] = (bt){BT_CAP, in->x, m->caps[in->x], 0};
                m->caps[in->x] = sp;
                pc++;
            } else {
                stack[n++] = (bt){BT_REG, in->x, m->regs[in->x], 0};
                m->regs[in->x] = sp;
                pc++;
            }
            continue;
        case OP_CHECK:
            if (m->regs[in->x] == sp) goto fail; /* an empty iteration: stop looping */
            pc++;
            continue;
        case OP_JMP:
            pc = in->x;
            continue;
        case OP_BOL:
            if (sp != 0) goto fail;
            pc++;
            continue;
        case OP_EOL:
            if ((size_t)sp != m->len) goto fail;
            pc++;
            continue;
        case OP_WORDB:
        case OP_NWORDB: {
            bool b = is_word_at(m->s, m->len, sp - 1) != is_word_at(m->s, m->len, sp);
            if (b != (in->op == OP_WORDB)) goto fail;
            pc++;
            continue;
        }
        case OP_BACKREF: {
            long st = m->caps[2 * in->x], en = m->caps[2 * in->x + 1];
            if (st >= 0 && en >= st) {
                size_t l = (size_t)(en - st);
                if ((size_t)sp + l > m->len || memcmp(m->s + st, m->s + sp, l) != 0) goto fail;
                sp += (long)l;
            }
            pc++;
            continue;
        }
        case OP_LOOK: {
            bool found = false;
            if (!in->behind) {
                found = run(m, in->x, sp, -1) >= 0;
            } else {
                for (long st = sp; st >= 0 && !found; st--) {
                    if (st < sp && ((unsigned char)m->s[st] & 0xC0) == 0x80) continue;
                    found = run(m, in->x, st, sp) >= 0;
                    if (m->aborted) break;
                }
            }
            if (m->aborted) goto done;
            if (found == in->neg) goto fail;
            pc = in->y;
            continue;
        }
        case OP_LOOK_END:
        case OP_MATCH:
            if (end_req >= 0 && sp != end_req) goto fail;
            result = sp;
            goto done;
        }
    fail:
        for (;;) {
            if (n == 0) goto done;
            bt *t = &stack[--n];
            if (t->kind == BT_CAP) {
                m->caps[t->a] = t->b;
            } else if (t->kind == BT_REG) {
                m->regs[t->a] = t->b;
            } else if (t->kind == BT_STAR) {
                /* give back one code point */
                long p = t->c - 1;
                while (p > t->b && ((unsigned char)m->s[p] & 0xC0) == 0x80) p--;
                pc = t->a;
                sp = p;
                if (p > t->b) {
                    t->c = p;
                    n++; /* the entry stays for the next retreat */
                }
                break;
            } else {
                pc = t->a;
                sp = t->b;
                break;
            }
        }
    }
done:
    /* undo what the stack still records, so captures/registers match the
     * state before this run (lookarounds leave no trace) */
    if (result < 0)
        while (n > 0) {
            bt *t = &stack[--n];
            if (t->kind == BT_CAP) m->caps[t->a] = t->b;
            else if (t->kind == BT_REG) m->regs[t->a] = t->b;
        }
    if (stack != local) free(stack);
    return result;
}

static bool match(const gbx__regex *re, const char *subject, size_t len, bool full) {
    long caps_local[32], regs_local[32];
    size_t ncaps = (size_t)re->ngroups * 2, nregs = (size_t)re->nregs;
    long *caps = ncaps <= 32 ? caps_local : malloc(ncaps * sizeof *caps);
    long *regs = nregs <= 32 ? regs_local : malloc((nregs ? nregs : 1) * sizeof *regs);
    bool matched = false;
    if (caps && regs) {
        mstate m = {re, subject, len, caps, regs, 0, false};
        for (size_t i = 0; i < ncaps; i++) caps[i] = -1;
        for (size_t i = 0; i < nregs; i++) regs[i] = -1;
        if (full) {
            matched = run(&m, 0, 0, (long)len) >= 0;
        } else {
            uint32_t first = re->prog[0].op == OP_CHAR ? re->prog[0].c : 0;
            for (size_t st = 0; st <= len && !matched && !m.aborted; st++) {
                if (st < len && ((unsigned char)subject[st] & 0xC0) == 0x80) continue;
                if (first && first < 0x80 && (st >= len || (unsigned char)subject[st] != first)) continue;
                matched = run(&m, 0, (long)st, -1) >= 0;
                if (re->anchored) break;
            }
        }
    }
    if (caps != caps_local) free(caps);
    if (regs != regs_local) free(regs);
    return matched;
}

bool gbx__sch_regex_search(const gbx__regex *re, const char *subject, size_t len) {
    if (re->linear) {
        int r = linear_match(re, (const unsigned char *)subject, len);
        if (r >= 0) return r;
    }
    return match(re, subject, len, false);
}

bool gbx__sch_regex_full_match(const gbx__regex *re, const char *subject, size_t len) {
    return match(re, subject, len, true);
}
