/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's Prometheus text writer (gw_metrics.h) and of
 * the core's histograms (gearbox/metrics.h): HELP and label value escaping,
 * sample and value formatting, cumulative histogram buckets with _sum and
 * _count, and bucket placement at the bounds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gearbox/metrics.h"
#include "gw_metrics.h"

static void test_family_and_escaping(void) {
    gbx_gw_prom t = {0};
    gbx_gw_prom_family(&t, "gearbox_x_total", "counter", "Line one\nback\\slash \"quoted\".");
    CHECK_STR(t.p, "# HELP gearbox_x_total Line one\\nback\\\\slash \"quoted\".\n"
                   "# TYPE gearbox_x_total counter\n");
    gbx_gw_prom_free(&t);

    const char *labels[] = {"location", "/a\"b\\c\nd", "code", "200", NULL};
    gbx_gw_prom_sample(&t, "gearbox_x_total", labels, 3);
    CHECK_STR(t.p, "gearbox_x_total{location=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 3\n");
    gbx_gw_prom_free(&t);

    /* No labels: no braces; an empty list is the same. */
    gbx_gw_prom_sample(&t, "gearbox_up", NULL, 1);
    const char *none[] = {NULL};
    gbx_gw_prom_sample(&t, "gearbox_up", none, 0);
    CHECK_STR(t.p, "gearbox_up 1\ngearbox_up 0\n");
    gbx_gw_prom_free(&t);
}

static void test_values(void) {
    gbx_gw_prom t = {0};
    gbx_gw_prom_sample(&t, "a", NULL, 0.25);
    gbx_gw_prom_sample(&t, "b", NULL, 12345678901.0);
    gbx_gw_prom_sample(&t, "c", NULL, INFINITY);
    gbx_gw_prom_sample(&t, "d", NULL, -INFINITY);
    gbx_gw_prom_sample(&t, "e", NULL, NAN);
    gbx_gw_prom_sample(&t, "f", NULL, -2);
    CHECK_STR(t.p, "a 0.25\nb 12345678901\nc +Inf\nd -Inf\ne NaN\nf -2\n");
    gbx_gw_prom_free(&t);
}

static void test_histogram(void) {
    gbx_histogram *h = NULL;
    CHECK_INT(gbx_histogram_new(&h), GBX_OK);
    gbx_histogram_observe(h, 0.0005);  /* on the first bound: first bucket (le is <=) */
    gbx_histogram_observe(h, -1);      /* counts as 0 */
    gbx_histogram_observe(h, 0.003);   /* le 0.005 */
    gbx_histogram_observe(h, 1000);    /* +Inf */
    gbx_histogram_counts c = {{0}, 0};
    gbx_histogram_read(h, &c);
    CHECK_INT(c.buckets[0], 2);
    CHECK_INT(c.buckets[3], 1);
    CHECK_INT(c.buckets[GBX_HISTOGRAM_BUCKETS], 1);
    CHECK(fabs(c.sum - 1000.0035) < 1e-6);
    /* read adds up. */
    gbx_histogram_read(h, &c);
    CHECK_INT(c.buckets[0], 4);
    gbx_histogram_free(h);
    gbx_histogram_free(NULL);

    gbx_histogram_counts one = {{0}, 0};
    one.buckets[1] = 2;
    one.buckets[GBX_HISTOGRAM_BUCKETS] = 1;
    one.sum = 70.5;
    gbx_gw_prom t = {0};
    const char *labels[] = {"operation", "load", NULL};
    gbx_gw_prom_histogram(&t, "gearbox_d_seconds", labels, &one);
    CHECK(strstr(t.p, "gearbox_d_seconds_bucket{operation=\"load\",le=\"0.0005\"} 0\n") == t.p);
    CHECK(strstr(t.p, "gearbox_d_seconds_bucket{operation=\"load\",le=\"0.001\"} 2\n") != NULL);
    CHECK(strstr(t.p, "gearbox_d_seconds_bucket{operation=\"load\",le=\"60\"} 2\n") != NULL);
    CHECK(strstr(t.p, "gearbox_d_seconds_bucket{operation=\"load\",le=\"+Inf\"} 3\n") != NULL);
    CHECK(strstr(t.p, "gearbox_d_seconds_sum{operation=\"load\"} 70.5\n") != NULL);
    CHECK(strstr(t.p, "gearbox_d_seconds_count{operation=\"load\"} 3\n") != NULL);
    /* One line per finite bucket, +Inf, _sum and _count. */
    size_t lines = 0;
    for (const char *p = t.p; *p; p++) lines += *p == '\n';
    CHECK_INT(lines, GBX_HISTOGRAM_BUCKETS + 3);
    /* Cumulative: never decreasing. */
    unsigned long long last = 0;
    bool ascending = true;
    for (const char *p = strstr(t.p, "_bucket"); p; p = strstr(p + 1, "_bucket")) {
        unsigned long long v = strtoull(strchr(strchr(p, '}'), ' ') + 1, NULL, 10);
        ascending = ascending && v >= last;
        last = v;
    }
    CHECK(ascending);
    gbx_gw_prom_free(&t);
    for (size_t i = 1; i < GBX_HISTOGRAM_BUCKETS; i++)
        CHECK(gbx_histogram_bounds[i] > gbx_histogram_bounds[i - 1]);
}

int main(void) {
    test_family_and_escaping();
    test_values();
    test_histogram();
    return check_done();
}
