/* timestamp.c -- parsing and formatting AWS timestamps (see timestamp.h). */
#include "timestamp.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *weekdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* Splits t into whole seconds and microseconds, rounding to the microsecond. */
static void split(double t, time_t *secs, long *usec)
{
    double whole = floor(t);
    long us = (long)llround((t - whole) * 1e6);
    if (us >= 1000000) {
        whole += 1;
        us -= 1000000;
    }
    *secs = (time_t)whole;
    *usec = us;
}

void timestamp_format_output(double t, char out[TIMESTAMP_MAX])
{
    time_t secs;
    long usec;
    split(t, &secs, &usec);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    if (usec) n += (size_t)snprintf(out + n, TIMESTAMP_MAX - n, ".%06ld", usec);
    snprintf(out + n, TIMESTAMP_MAX - n, "+00:00");
}

static void format_unix(double t, char out[TIMESTAMP_MAX])
{
    if (t == floor(t)) {
        snprintf(out, TIMESTAMP_MAX, "%.0f", t);
        return;
    }
    snprintf(out, TIMESTAMP_MAX, "%.3f", t);
    char *end = out + strlen(out) - 1;      /* "1.500" -> "1.5", "2.000" -> "2" */
    while (*end == '0') *end-- = '\0';
    if (*end == '.') *end = '\0';
}

void timestamp_format_wire(double t, const char *fmt, char out[TIMESTAMP_MAX])
{
    time_t secs;
    long usec;
    split(t, &secs, &usec);
    long ms = (usec + 500) / 1000;
    if (ms >= 1000) {
        secs += 1;
        ms = 0;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (fmt && strcmp(fmt, "unixTimestamp") == 0) {
        format_unix(t, out);
    } else if (fmt && strcmp(fmt, "rfc822") == 0) {
        snprintf(out, TIMESTAMP_MAX, "%s, %02d %s %04d %02d:%02d:%02d GMT", weekdays[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else {
        size_t n = strftime(out, TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        if (ms) n += (size_t)snprintf(out + n, TIMESTAMP_MAX - n, ".%03ld", ms);
        snprintf(out + n, TIMESTAMP_MAX - n, "Z");
    }
}

/* Reads exactly `digits` digits; -1 if they are not there. */
static int read_int(const char **p, int digits)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)**p)) return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    return v;
}

/* Are the fields of tm a real date and time (before timegm normalises
 * "2015-02-30" into March)? A leap second (:60) is allowed. */
static int valid_tm(const struct tm *tm)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = tm->tm_year + 1900;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1) return 0;
    if (tm->tm_mday > mdays[tm->tm_mon] + (tm->tm_mon == 1 && leap)) return 0;
    return tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
           tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* A fraction of a second after '.' or ',': one or more digits. */
static int read_fraction(const char **p, double *frac)
{
    double scale = 0.1;
    if (!isdigit((unsigned char)**p)) return -1;
    for (*frac = 0; isdigit((unsigned char)**p); (*p)++, scale /= 10) *frac += (**p - '0') * scale;
    return 0;
}

static int parse_iso8601(const char *s, double *t)
{
    struct tm tm = {0};
    const char *p = s;
    int y = read_int(&p, 4);
    if (y < 0 || *p++ != '-') return -1;
    int mo = read_int(&p, 2);
    if (mo < 1 || *p++ != '-') return -1;
    int d = read_int(&p, 2);
    if (d < 1) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    double frac = 0;
    long offset = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((tm.tm_hour = read_int(&p, 2)) < 0 || *p++ != ':') return -1;
        if ((tm.tm_min = read_int(&p, 2)) < 0) return -1;
        if (*p == ':') {
            p++;
            if ((tm.tm_sec = read_int(&p, 2)) < 0) return -1;
        }
        if (*p == '.' || *p == ',') {
            p++;
            if (read_fraction(&p, &frac) < 0) return -1;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = read_int(&p, 2), om = 0;
            if (oh < 0) return -1;
            if (*p == ':') p++;
            if (isdigit((unsigned char)*p) && (om = read_int(&p, 2)) < 0) return -1;
            if (oh > 23 || om > 59) return -1;
            offset = sign * (oh * 3600L + om * 60L);
        }
    }
    if (*p || !valid_tm(&tm)) return -1;
    *t = (double)timegm(&tm) - (double)offset + frac;
    return 0;
}

/* The zone of an RFC 822 date: GMT, UT, UTC, Z or none, or +hhmm / -hhmm.
 * Returns 0 and the offset east of UTC in seconds, or -1. */
static int rfc822_zone(const char *z, long *offset)
{
    *offset = 0;
    if (!*z || strcasecmp(z, "GMT") == 0 || strcasecmp(z, "UT") == 0 || strcasecmp(z, "UTC") == 0 ||
        strcasecmp(z, "Z") == 0)
        return 0;
    if ((z[0] != '+' && z[0] != '-') || strlen(z) != 5) return -1;
    const char *p = z + 1;
    int hh = read_int(&p, 2), mm = read_int(&p, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return -1;
    *offset = (z[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

static int parse_rfc822(const char *s, double *t)
{
    char wd[8], mon[8], zone[8] = "";
    struct tm tm = {0};
    int year, used = 0, rest = 0;
    if (sscanf(s, "%7[A-Za-z], %d %7s %d %d:%d:%d%n", wd, &tm.tm_mday, mon, &year, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) < 7 || !used)
        return -1;
    s += used;
    if (sscanf(s, " %7s %n", zone, &rest) == 1) s += rest;
    while (isspace((unsigned char)*s)) s++;
    long offset;
    if (*s || rfc822_zone(zone, &offset) < 0) return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, months[i]) == 0) m = i;
    if (m < 0) return -1;
    tm.tm_mon = m;
    tm.tm_year = year - 1900;
    if (!valid_tm(&tm)) return -1;
    *t = (double)timegm(&tm) - (double)offset;
    return 0;
}

/* Epoch seconds: digits with an optional sign, fraction and exponent
 * ("1422172800", "-1.5", "1.4221728E9"); no hex, no inf or nan. */
static int parse_epoch(const char *s, double *t)
{
    if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1]))) return -1;
    if (strspn(s, "0123456789.-+eE") != strlen(s)) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return -1;
    *t = v;
    return 0;
}

int timestamp_parse(const char *s, double *t)
{
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    if (parse_epoch(s, t) == 0) return 0;
    if (parse_iso8601(s, t) == 0) return 0;
    return parse_rfc822(s, t);
}
