/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* regex.c - the ECMA-262 regular expression engine behind "pattern" and
 * "patternProperties": syntax, unicode, backtracking, lookaround,
 * backreferences, errors, and the step limit on pathological patterns. */
#include <string.h>

#include "check.h"
#include "schema/schema_internal.h"

static int search(const char *pattern, const char *subject) {
    const char *err = NULL;
    gbx__regex *re = gbx__sch_regex_compile(pattern, &err);
    if (!re) {
        fprintf(stderr, "pattern %s: %s\n", pattern, err);
        return -1;
    }
    int r = gbx__sch_regex_search(re, subject, strlen(subject));
    gbx__sch_regex_free(re);
    return r;
}

static int full(const char *pattern, const char *subject) {
    const char *err = NULL;
    gbx__regex *re = gbx__sch_regex_compile(pattern, &err);
    if (!re) return -1;
    int r = gbx__sch_regex_full_match(re, subject, strlen(subject));
    gbx__sch_regex_free(re);
    return r;
}

static bool invalid(const char *pattern) {
    const char *err = NULL;
    gbx__regex *re = gbx__sch_regex_compile(pattern, &err);
    gbx__sch_regex_free(re);
    return re == NULL && err != NULL;
}

int main(void) {
    CHECK_INT(search("^a*$", ""), 1);
    CHECK_INT(search("^a*$", "aaa"), 1);
    CHECK_INT(search("^a*$", "ab"), 0);
    CHECK_INT(search("a.c", "xxabcxx"), 1);
    CHECK_INT(search("^abc$", "abc\n"), 0);
    CHECK_INT(search("^(ab)+$", "ababab"), 1);
    CHECK_INT(search("^(ab)+$", "aba"), 0);
    CHECK_INT(search("^(a|ab)(c|bcd)(d*)$", "abcd"), 1);
    CHECK_INT(search("^a+?b$", "aaab"), 1);
    CHECK_INT(search("^a*ab$", "aaab"), 1);
    CHECK_INT(search("^a{2,}b", "aaab"), 1);
    CHECK_INT(search("^a{2,}b", "ab"), 0);
    CHECK_INT(search("^a{2,3}$", "aa"), 1);
    CHECK_INT(search("^a{2,3}$", "aaaa"), 0);
    CHECK_INT(search("^(?:ab){2}$", "abab"), 1);
    CHECK_INT(search("^(a+)b\\1$", "aabaa"), 1);
    CHECK_INT(search("^(a+)b\\1$", "aaba"), 0);
    CHECK_INT(search("(?<x>o)\\k<x>", "foo"), 1);
    CHECK_INT(search("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abc123"), 1);
    CHECK_INT(search("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abcdef"), 0);
    CHECK_INT(search("^(?!foo)\\w+$", "foobar"), 0);
    CHECK_INT(search("^(?!foo)\\w+$", "barfoo"), 1);
    CHECK_INT(search("(?<=\\$)\\d+", "cost $42"), 1);
    CHECK_INT(search("(?<=\\$)\\d+", "cost 42"), 0);
    CHECK_INT(search("(?<!\\$)\\b\\d+", "$42"), 0);
    CHECK_INT(search("(?<=a+)b", "aaab"), 1);
    CHECK_INT(search("\\bcat\\b", "a cat!"), 1);
    CHECK_INT(search("\\bcat\\b", "concat"), 0);
    CHECK_INT(search("\\Bcat", "concat"), 1);
    /* code points, not bytes */
    CHECK_INT(search("^.$", "\xc3\xa9"), 1);
    CHECK_INT(search("^[^a]$", "\xf0\x9f\x90\xb2"), 1);
    CHECK_INT(search("^\xf0\x9f\x90\xb2*$", "\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2"), 1);
    CHECK_INT(search("^\xf0\x9f\x90\xb2*$", "\xf0\x9f\x90\x89"), 0);
    CHECK_INT(search("^.*\xc3\xa9$", "\xc3\xa9\xc3\xa9\xc3\xa9"), 1);
    CHECK_INT(search("^\\p{Lu}", "\xc3\x89" "a"), 1);
    CHECK_INT(search("^\\p{Lu}", "\xc3\xa9" "a"), 0);
    CHECK_INT(search("^\\P{L}+$", "12-3"), 1);
    CHECK_INT(search("^[\\p{L}\\d]+$", "\xc3\xa9t\xc3\xa9" "42"), 1);
    CHECK_INT(search("^\\d+$", "\xe0\xa7\xaa"), 0); /* BENGALI DIGIT FOUR: \d is ASCII */
    CHECK_INT(search("^\\s$", "\xe2\x80\x83"), 1);  /* EM SPACE */
    CHECK_INT(search("^\\w$", "\xc3\xa9"), 0);
    CHECK_INT(search("^\\u00e9\\x41\\u{1F432}$", "\xc3\xa9" "A\xf0\x9f\x90\xb2"), 1);
    CHECK_INT(search("^\\uD83D\\uDC32$", "\xf0\x9f\x90\xb2"), 1);
    CHECK_INT(search("^\\cC\\t$", "\x03\t"), 1);
    CHECK_INT(search("^[\\-a]+$", "-a-"), 1);
    CHECK_INT(search("^[a-]+$", "-a-"), 1);
    CHECK_INT(search("[]", "anything"), 0);
    CHECK_INT(search("^[^]$", "\n"), 1);
    CHECK_INT(search("x|^y", "ay"), 0);
    CHECK_INT(search("x|y$", "ay"), 1);
    /* loops over bodies that can match nothing terminate */
    CHECK_INT(search("^(a*)*$", "aaa"), 1);
    CHECK_INT(search("^(a*)*b", "aaac"), 0);
    CHECK_INT(search("^(a?){3}a{3}$", "aaa"), 1);
    /* pathological backtracking gives up (no match) instead of hanging */
    CHECK_INT(search("^(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"), 0);
    /* the legacy dialect's whole-value match */
    CHECK_INT(full("[A-Z][a-z]+", "Wilbur"), 1);
    CHECK_INT(full("[A-Z][a-z]+", "xWilbur"), 0);
    CHECK_INT(full("a|ab", "ab"), 1);
    /* ECMA-262 syntax errors */
    CHECK(invalid("("));
    CHECK(invalid("a)"));
    CHECK(invalid("[a"));
    CHECK(invalid("a{2,1}"));
    CHECK(invalid("[b-a]"));
    CHECK(invalid("a**"));
    CHECK(invalid("*a"));
    CHECK(invalid("\\a"));
    CHECK(invalid("(?i)abc"));
    CHECK(invalid("(?P<name>x)"));
    CHECK(invalid("(?#comment)a"));
    CHECK(invalid("(a)\\2"));
    CHECK(invalid("\\k<nope>"));
    CHECK(invalid("\\p{NoSuchProperty}"));
    CHECK(invalid("(?<n>a)(?<n>b)"));
    CHECK(invalid("a{"));
    CHECK(invalid("]"));
    CHECK(invalid("\\"));
    CHECK(!invalid("(?<name>x)\\k<name>"));
    CHECK(!invalid("[\\b]"));
    return check_done();
}
