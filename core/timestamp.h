/* timestamp.h -- the timestamp formats AWS protocols use.
 *
 * Times are doubles: seconds since the Unix epoch, UTC, with fractions.
 * Output tables (what mappings and `awstopo call` see) carry ISO-8601 strings
 * as the AWS CLI prints them: "2015-01-25T08:00:00+00:00", with ".ffffff"
 * microseconds only when non-zero. On the wire, each protocol has its format:
 * "iso8601" (2015-01-25T08:00:00Z), "unixTimestamp" (1422172800[.123]) or
 * "rfc822" (Sun, 25 Jan 2015 08:00:00 GMT).
 */
#ifndef AWSTOPO_TIMESTAMP_H
#define AWSTOPO_TIMESTAMP_H

#include <stddef.h>

#define TIMESTAMP_MAX 40   /* room for any formatted timestamp */

/* Parses ISO-8601 ('Z' or +hh:mm offsets, optional fraction, date-only too),
 * RFC 822 / RFC 1123 dates (GMT or +hhmm) and epoch seconds ("1422172800.5").
 * Fields out of range ("2015-02-30", "25:00") are refused, not normalised.
 * Returns 0 and sets *t, or -1. */
int timestamp_parse(const char *s, double *t);

/* The output form, "2015-01-25T08:00:00+00:00". */
void timestamp_format_output(double t, char out[TIMESTAMP_MAX]);

/* A wire form: fmt is "iso8601", "unixTimestamp" or "rfc822" (NULL =
 * iso8601). iso8601 carries milliseconds only when non-zero. */
void timestamp_format_wire(double t, const char *fmt, char out[TIMESTAMP_MAX]);

#endif
