/* events.c -- AWS events in every form a user has them (see events.h).
 *
 * Each top-level JSON value of the input is taken apart into event records:
 * a CloudTrail log file into its Records, an array into its elements, an
 * EventBridge "AWS API Call via CloudTrail" event into its detail (the
 * CloudTrail record, with the envelope's account and region when the record
 * lacks them). When a value is not valid JSON, reading resumes at the next
 * '{' that follows a '}' or starts a line: where the next object of a
 * Firehose-concatenated or line-delimited file begins.
 */
#include "events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define CLOUDTRAIL_DETAIL_TYPE "AWS API Call via CloudTrail"

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* "ec2.amazonaws.com" -> "ec2"; "aws.ec2" -> "ec2" */
static char *service_prefix(const char *source)
{
    if (strncmp(source, "aws.", 4) == 0) return xstrdup(source + 4);
    const char *dot = strstr(source, ".amazonaws.com");
    return dot ? xstrndup(source, (size_t)(dot - source)) : xstrdup(source);
}

static void add_event(event_list *out, event_rec e)
{
    if (out->len == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->items = xrealloc(out->items, out->cap * sizeof *out->items);
    }
    out->items[out->len++] = e;
}

static void problem(strlist *problems, const char *origin, const char *what)
{
    buf b = {0};
    buf_printf(&b, "%s: %s", origin, what);
    strlist_add(problems, b.data);
    buf_free(&b);
}

/* A CloudTrail record; envelope (may be NULL) fills in account and region. */
static int add_cloudtrail(const cJSON *rec, const cJSON *envelope, const char *origin, event_list *out,
                          strlist *problems)
{
    const char *source = str(rec, "eventSource"), *name = str(rec, "eventName");
    if (!source || !name) {
        problem(problems, origin, "a CloudTrail record without eventSource or eventName");
        return 1;
    }
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(rec, "userIdentity");
    const char *account = str(rec, "recipientAccountId");
    if (!account && envelope) account = str(envelope, "account");
    if (!account) account = str(who, "accountId");
    const char *region = str(rec, "awsRegion");
    if (!region && envelope) region = str(envelope, "region");
    const char *time = str(rec, "eventTime");
    if (!time && envelope) time = str(envelope, "time");
    event_rec e = {
        .json = cJSON_PrintUnformatted(rec),
        .source = service_prefix(source),
        .name = xstrdup(name),
        .api_version = dup_or_null(str(rec, "apiVersion")),
        .account = dup_or_null(account),
        .region = dup_or_null(region),
        .time = xstrdup(time ? time : ""),
        .error_code = dup_or_null(str(rec, "errorCode")),
        .origin = xstrdup(origin),
    };
    add_event(out, e);
    return 0;
}

/* One EventBridge event, a CloudTrail record or a log file's Records. */
static size_t add_value(const cJSON *v, const char *origin, event_list *out, strlist *problems)
{
    if (!cJSON_IsObject(v)) {
        problem(problems, origin, "not a JSON object");
        return 1;
    }
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(v, "Records");
    if (cJSON_IsArray(records)) {      /* a CloudTrail log file */
        size_t bad = 0, i = 0;
        const cJSON *rec;
        cJSON_ArrayForEach(rec, records) {
            buf o = {0};
            buf_printf(&o, "%s Records[%zu]", origin, i++);
            bad += cJSON_IsObject(rec) ? (size_t)add_cloudtrail(rec, NULL, o.data, out, problems)
                                       : (problem(problems, o.data, "not a JSON object"), 1);
            buf_free(&o);
        }
        return bad;
    }
    const char *detail_type = str(v, "detail-type");
    if (!detail_type) return (size_t)add_cloudtrail(v, NULL, origin, out, problems);
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(v, "detail");
    if (strcmp(detail_type, CLOUDTRAIL_DETAIL_TYPE) == 0) {
        if (!cJSON_IsObject(detail)) {
            problem(problems, origin, "an EventBridge CloudTrail event without a detail object");
            return 1;
        }
        return (size_t)add_cloudtrail(detail, v, origin, out, problems);
    }
    const char *source = str(v, "source");
    if (!source) {
        problem(problems, origin, "an EventBridge event without a source");
        return 1;
    }
    const char *time = str(v, "time");
    event_rec e = {
        .json = cJSON_PrintUnformatted(v),
        .source = service_prefix(source),
        .name = xstrdup(detail_type),
        .account = dup_or_null(str(v, "account")),
        .region = dup_or_null(str(v, "region")),
        .time = xstrdup(time ? time : ""),
        .origin = xstrdup(origin),
    };
    add_event(out, e);
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Where the next object may start after a part that did not parse: a '{'
 * right after a '}' or at the start of a line, or the opening of an
 * EventBridge event or a CloudTrail log file anywhere (a damaged object may
 * end in the middle of a string). Not of a CloudTrail record: EventBridge
 * events hold one in their detail. */
static size_t resync(const char *text, size_t len, size_t from)
{
    static const char *const starts[] = { "{\"version\"", "{\"Records\"" };
    for (size_t p = from + 1; p < len; p++) {
        if (text[p] != '{') continue;
        if (text[p - 1] == '}' || text[p - 1] == '\n') return p;
        for (size_t k = 0; k < sizeof starts / sizeof *starts; k++)
            if (len - p >= strlen(starts[k]) && memcmp(text + p, starts[k], strlen(starts[k])) == 0) return p;
    }
    return len;
}

size_t events_parse(const char *label, const char *text, size_t len, event_list *out, strlist *problems)
{
    size_t pos = 0, bad = 0, n = 0;
    for (;;) {
        while (pos < len && is_space(text[pos])) pos++;
        if (pos >= len) break;
        n++;
        buf origin = {0};
        buf_printf(&origin, "%s record %zu", label, n);
        const char *end = NULL;
        cJSON *v = cJSON_ParseWithLengthOpts(text + pos, len - pos, &end, 0);
        if (!v) {
            const char *at = cJSON_GetErrorPtr();
            size_t err_at = at && at >= text + pos && at <= text + len ? (size_t)(at - text) : pos;
            buf what = {0};
            buf_printf(&what, "not valid JSON (at byte %zu)", err_at);
            problem(problems, origin.data, what.data);
            buf_free(&what);
            bad++;
            pos = resync(text, len, pos);
        } else {
            if (cJSON_IsArray(v)) {
                size_t i = 0;
                const cJSON *item;
                cJSON_ArrayForEach(item, v) {
                    buf o = {0};
                    buf_printf(&o, "%s[%zu]", origin.data, i++);
                    bad += add_value(item, o.data, out, problems);
                    buf_free(&o);
                }
            } else {
                bad += add_value(v, origin.data, out, problems);
            }
            cJSON_Delete(v);
            pos = (size_t)(end - text);
        }
        buf_free(&origin);
    }
    return bad;
}

char *events_read_input(const char *path, size_t *len, char *err, size_t errlen)
{
    int std = strcmp(path, "-") == 0;
    const char *name = std ? "standard input" : path;
    buf raw = {0};
    if (read_file(std ? "/dev/stdin" : path, &raw, 0) < 0) {
        set_err(err, errlen, "%s: cannot read it (%s)", name, strerror(errno));
        buf_free(&raw);
        return NULL;
    }
    if (raw.len >= 2 && (unsigned char)raw.data[0] == 0x1f && (unsigned char)raw.data[1] == 0x8b) {
        buf text = {0};
        char why[256];
        int rc = gzip_decompress(&text, raw.data, raw.len, why, sizeof why);
        buf_free(&raw);
        if (rc < 0) {
            set_err(err, errlen, "%s: cannot read it (%s)", name, why);
            buf_free(&text);
            return NULL;
        }
        raw = text;
    }
    *len = raw.len;
    if (!raw.data) return xstrdup("");
    return buf_steal(&raw);
}

/* A merge sort: stable, so events of the same second keep the input's order. */
void event_list_sort(event_list *l)
{
    if (l->len < 2) return;
    event_rec *from = l->items, *to = xmalloc(l->len * sizeof *to);
    for (size_t width = 1; width < l->len; width *= 2) {
        for (size_t lo = 0; lo < l->len; lo += 2 * width) {
            size_t mid = lo + width < l->len ? lo + width : l->len;
            size_t hi = lo + 2 * width < l->len ? lo + 2 * width : l->len;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) to[k++] = strcmp(from[b].time, from[a].time) < 0 ? from[b++] : from[a++];
            while (a < mid) to[k++] = from[a++];
            while (b < hi) to[k++] = from[b++];
        }
        event_rec *t = from;
        from = to;
        to = t;
    }
    if (from != l->items) memcpy(l->items, from, l->len * sizeof *from);
    free(from == l->items ? to : from);
}

void event_list_free(event_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        event_rec *e = &l->items[i];
        cJSON_free(e->json);
        free(e->source);
        free(e->name);
        free(e->api_version);
        free(e->account);
        free(e->region);
        free(e->time);
        free(e->error_code);
        free(e->origin);
    }
    free(l->items);
    *l = (event_list){0};
}
