/* test_timestamp.c -- parsing and formatting AWS timestamps (timestamp.c). */
#include <math.h>
#include <string.h>

#include "testlib.h"
#include "timestamp.h"

#define T2015 1422172800.0   /* 2015-01-25T08:00:00Z, a Sunday */

static void expect_parse(const char *s, double want)
{
    double t = -12345;
    int rc = timestamp_parse(s, &t);
    CHECK(rc == 0 && fabs(t - want) < 1e-6, "parse \"%s\": rc %d, got %.6f, want %.6f", s, rc, t, want);
}

static void expect_reject(const char *s)
{
    double t = -12345;
    CHECK(timestamp_parse(s, &t) == -1, "\"%s\" should be refused (got %.6f)", s, t);
    CHECK(t == -12345, "\"%s\": *t untouched on failure", s);
}

static void test_iso8601(void)
{
    expect_parse("2015-01-25T08:00:00Z", T2015);
    expect_parse("2015-01-25t08:00:00z", T2015);
    expect_parse("2015-01-25 08:00:00Z", T2015);
    expect_parse("2015-01-25T08:00:00", T2015);          /* no zone: UTC */
    expect_parse("2015-01-25T08:00Z", T2015);            /* no seconds */
    expect_parse("  2015-01-25T08:00:00Z", T2015);       /* leading space */
    expect_parse("1970-01-01T00:00:00Z", 0);
    expect_parse("1969-12-31T23:59:59Z", -1);
    expect_parse("2038-01-19T03:14:08Z", 2147483648.0);  /* past 32-bit time_t */
    expect_parse("9999-12-31T23:59:59Z", 253402300799.0);
    /* fractions */
    expect_parse("2015-01-25T08:00:00.5Z", T2015 + 0.5);
    expect_parse("2015-01-25T08:00:00.123Z", T2015 + 0.123);
    expect_parse("2015-01-25T08:00:00.123456Z", T2015 + 0.123456);
    expect_parse("2015-01-25T08:00:00.000Z", T2015);
    expect_parse("2015-01-25T08:00:00,25Z", T2015 + 0.25);
    /* offsets: local time minus the offset */
    expect_parse("2015-01-25T09:00:00+01:00", T2015);
    expect_parse("2015-01-25T13:30:00+05:30", T2015);
    expect_parse("2015-01-25T13:30:00+0530", T2015);
    expect_parse("2015-01-25T03:00:00-05:00", T2015);
    expect_parse("2015-01-25T10:00:00+02", T2015);
    expect_parse("2015-01-25T08:00:00+00:00", T2015);
    expect_parse("2015-01-25T08:00:00.75-00:00", T2015 + 0.75);
    expect_parse("2015-01-25T00:30:00-07:30", T2015);
    expect_parse("2015-01-24T23:00:00-09:00", T2015);    /* crosses the day */
    /* date only */
    expect_parse("2015-01-25", T2015 - 8 * 3600);
    expect_parse("2016-02-29", 1456704000.0);            /* leap day */
    expect_parse("2000-02-29", 951782400.0);             /* 400-year leap */
    expect_parse("2016-12-31T23:59:60Z", 1483228800.0);  /* a leap second */
}

static void test_rfc822(void)
{
    expect_parse("Sun, 25 Jan 2015 08:00:00 GMT", T2015);
    expect_parse("Sun, 25 Jan 2015 08:00:00 UTC", T2015);
    expect_parse("Sun, 25 Jan 2015 08:00:00 UT", T2015);
    expect_parse("Sun, 25 Jan 2015 08:00:00", T2015);
    expect_parse("sun, 25 jan 2015 08:00:00 gmt", T2015);
    expect_parse("Sun, 25 Jan 2015 08:00:00 GMT  ", T2015);
    expect_parse("Sun, 25 Jan 2015 09:00:00 +0100", T2015);
    expect_parse("Sun, 25 Jan 2015 03:00:00 -0500", T2015);
    expect_parse("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    expect_parse("Mon, 29 Feb 2016 00:00:00 GMT", 1456704000.0);
    expect_parse("Wed, 3 Dec 2014 5:06:07 GMT", 1417583167.0);   /* one-digit fields */
}

static void test_epoch(void)
{
    expect_parse("1422172800", T2015);
    expect_parse("1422172800.5", T2015 + 0.5);
    expect_parse("1422172800.123456", T2015 + 0.123456);
    expect_parse("0", 0);
    expect_parse("-1.5", -1.5);
    expect_parse("1.4221728E9", T2015);
    expect_parse("  42", 42);
    expect_parse("2015", 2015);        /* digits alone are seconds, not a year */
}

static void test_invalid(void)
{
    static const char *bad[] = {
        "", "   ", "yesterday", "2015-01", "2015-1-25", "15-01-25", "2015/01/25",
        "2015-01-25T", "2015-01-25T08", "2015-01-25T08Z", "2015-01-25T8:00:00Z", "2015-01-25T08:00:00Q",
        "2015-01-25T08:00:00.Z", "2015-01-25T08:00:00.5e3Z", "2015-01-25T08:00:00+", "2015-01-25T08:00:00+1",
        "2015-01-25T08:00:00+24:00", "2015-01-25T08:00:00+01:60", "2015-01-25Z", "2015-01-25x",
        "2015-01-25T08:00:00Z trailing",
        /* out of range fields are refused, not normalised by timegm */
        "2015-00-10", "2015-13-01", "2015-01-00", "2015-01-32", "2015-02-29", "1900-02-29", "2015-04-31",
        "2015-01-25T24:00:00Z", "2015-01-25T23:60:00Z", "2015-01-25T23:59:61Z",
        /* RFC 822 */
        "Sun, 25 Foo 2015 08:00:00 GMT", "Sun, 32 Jan 2015 08:00:00 GMT", "Sun, 25 Jan 2015 25:00:00 GMT",
        "Sun, 25 Jan 2015 08:00:00 EST", "Sun, 25 Jan 2015 08:00:00 GMT extra", "Sun, 25 Jan 2015 08:00:00 +01",
        "Sun, 25 Jan 2015 08:00:00 +2500", "25 Jan 2015 08:00:00 GMT", "Sun, 25 Jan 2015",
        /* numbers that are not epoch seconds */
        "0x10", "-inf", "inf", "nan", "-nan", "1e400", "-", "12abc", "1-2", "+5", "1 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_reject(bad[i]);
}

static void expect_output(double t, const char *want)
{
    char out[TIMESTAMP_MAX];
    memset(out, 'x', sizeof out);
    timestamp_format_output(t, out);
    CHECK(strcmp(out, want) == 0, "output %.6f: got %s, want %s", t, out, want);
}

static void test_output(void)
{
    expect_output(T2015, "2015-01-25T08:00:00+00:00");
    expect_output(0, "1970-01-01T00:00:00+00:00");
    expect_output(T2015 + 0.5, "2015-01-25T08:00:00.500000+00:00");
    expect_output(T2015 + 0.123456, "2015-01-25T08:00:00.123456+00:00");
    expect_output(T2015 + 0.000001, "2015-01-25T08:00:00.000001+00:00");
    expect_output(T2015 + 0.0000004, "2015-01-25T08:00:00+00:00");          /* rounds to whole */
    expect_output(T2015 + 0.9999996, "2015-01-25T08:00:01+00:00");          /* rounds up a second */
    expect_output(-0.5, "1969-12-31T23:59:59.500000+00:00");
    expect_output(-1, "1969-12-31T23:59:59+00:00");
    expect_output(253402300799.0, "9999-12-31T23:59:59+00:00");
    expect_output(951782400.0, "2000-02-29T00:00:00+00:00");

    /* parse -> output round trips */
    double t;
    char out[TIMESTAMP_MAX];
    CHECK(timestamp_parse("2015-01-25T13:30:00.25+05:30", &t) == 0, "parse");
    timestamp_format_output(t, out);
    CHECK_STR(out, "2015-01-25T08:00:00.250000+00:00");
}

static void expect_wire(double t, const char *fmt, const char *want)
{
    char out[TIMESTAMP_MAX];
    timestamp_format_wire(t, fmt, out);
    CHECK(strcmp(out, want) == 0, "wire %s %.6f: got %s, want %s", fmt ? fmt : "NULL", t, out, want);
}

static void test_wire(void)
{
    expect_wire(T2015, "iso8601", "2015-01-25T08:00:00Z");
    expect_wire(T2015, NULL, "2015-01-25T08:00:00Z");
    expect_wire(T2015, "something-else", "2015-01-25T08:00:00Z");
    expect_wire(T2015 + 0.5, "iso8601", "2015-01-25T08:00:00.500Z");
    expect_wire(T2015 + 0.123456, "iso8601", "2015-01-25T08:00:00.123Z");    /* milliseconds */
    expect_wire(T2015 + 0.0004, "iso8601", "2015-01-25T08:00:00Z");
    expect_wire(T2015 + 0.9996, "iso8601", "2015-01-25T08:00:01Z");          /* rounds up a second */

    expect_wire(T2015, "unixTimestamp", "1422172800");
    expect_wire(T2015 + 0.5, "unixTimestamp", "1422172800.5");
    expect_wire(T2015 + 0.125, "unixTimestamp", "1422172800.125");
    expect_wire(T2015 + 0.9999, "unixTimestamp", "1422172801");              /* no trailing "." */
    expect_wire(1.0004, "unixTimestamp", "1");
    expect_wire(0, "unixTimestamp", "0");
    expect_wire(-1.5, "unixTimestamp", "-1.5");

    expect_wire(T2015, "rfc822", "Sun, 25 Jan 2015 08:00:00 GMT");
    expect_wire(0, "rfc822", "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_wire(1417583167.0, "rfc822", "Wed, 03 Dec 2014 05:06:07 GMT");
    expect_wire(T2015 + 0.7, "rfc822", "Sun, 25 Jan 2015 08:00:00 GMT");     /* whole seconds */

    /* every wire form parses back */
    static const char *fmts[] = { "iso8601", "unixTimestamp", "rfc822" };
    for (int i = 0; i < 3; i++) {
        char out[TIMESTAMP_MAX];
        double t = -1;
        timestamp_format_wire(T2015 + 86400 * 400, fmts[i], out);
        CHECK(timestamp_parse(out, &t) == 0 && t == T2015 + 86400 * 400, "%s parses back: %s", fmts[i], out);
    }
}

int main(void)
{
    test_iso8601();
    test_rfc822();
    test_epoch();
    test_invalid();
    test_output();
    test_wire();
    return test_summary();
}
