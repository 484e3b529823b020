/* metrics_out.c -- metric series written out: JSON, OpenMetrics text, and
 * StackState intake payloads (metrics.h).
 *
 * Values are printed with the shortest of %.15g/%.16g/%.17g that reads back
 * as the same double, so what CloudWatch returned arrives bit for bit.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "util.h"

static void put_number(buf *b, double v)
{
    char tmp[40];
    if (!isfinite(v)) {
        buf_puts(b, v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    buf_puts(b, tmp);
}

/* JSON has no NaN or infinities: they become null. */
static void put_json_number(buf *b, double v)
{
    if (isfinite(v)) put_number(b, v);
    else buf_puts(b, "null");
}

static void put_str(buf *b, const char *s)
{
    intake_json_string(b, s ? s : "", s ? strlen(s) : 0);
}

/* ---- names ---- */

/* "ApproximateAgeOfOldestMessage" -> "approximate_age_of_oldest_message",
 * "CPUUtilization" -> "cpu_utilization", "HTTPCode_ELB_5XX_Count" ->
 * "http_code_elb_5xx_count", "DeliveryToS3.Success" -> "delivery_to_s3_success"
 * (no break between a digit and a capital: "5XXError" -> "5xx_error"). */
static void put_snake(buf *b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c)) {
            if (b->len && b->data[b->len - 1] != '_') buf_putc(b, '_');
            continue;
        }
        if (isupper(c) && i > 0 && b->len && b->data[b->len - 1] != '_') {
            unsigned char prev = (unsigned char)s[i - 1];
            unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : 0;
            if (islower(prev) || (isupper(prev) && islower(next))) buf_putc(b, '_');
        }
        buf_putc(b, (char)tolower(c));
    }
    while (b->len && b->data[b->len - 1] == '_') b->data[--b->len] = '\0';
}

static void put_namespace(buf *b, const char *ns)
{
    if (strncmp(ns, "AWS/", 4) == 0) ns += 4;
    for (; *ns; ns++)
        if (isalnum((unsigned char)*ns)) buf_putc(b, (char)tolower((unsigned char)*ns));
}

char *metrics_intake_name(const metric_series *s)
{
    buf b = {0};
    buf_puts(&b, "aws.");
    put_namespace(&b, s->namespace);
    buf_putc(&b, '.');
    put_snake(&b, s->metric);
    return buf_steal(&b);
}

/* Prometheus' conventions, which `promtool check metrics` holds names to:
 * base units (seconds, bytes), the unit as a suffix, and no _count / _sum /
 * _bucket / _total endings on a gauge. */
char *metrics_openmetrics_name(const metric_series *s, double *scale)
{
    static const struct { const char *unit, *suffix; double scale; } units[] = {
        { "Seconds", "_seconds", 1 },       { "Milliseconds", "_seconds", 1e-3 },
        { "Microseconds", "_seconds", 1e-6 }, { "Bytes", "_bytes", 1 },
        { "Percent", "_percent", 1 },       { "Count/Second", "_per_second", 1 },
        { "Bytes/Second", "_bytes_per_second", 1 },
    };
    buf b = {0};
    buf_puts(&b, "aws_");
    put_namespace(&b, s->namespace);
    buf_putc(&b, '_');
    put_snake(&b, s->metric);
    *scale = 1;
    const char *suffix = NULL;
    for (size_t i = 0; s->unit && i < sizeof units / sizeof *units; i++) {
        if (strcmp(s->unit, units[i].unit) == 0) {
            suffix = units[i].suffix;
            *scale = units[i].scale;
        }
    }
    if (*scale != 1) {   /* "..._milliseconds" itself says the wrong unit */
        static const char *const words[] = { "_milliseconds", "_microseconds" };
        for (size_t i = 0; i < 2; i++)
            if (has_suffix(buf_cstr(&b), words[i])) b.data[b.len -= strlen(words[i])] = '\0';
    }
    if (suffix && !has_suffix(buf_cstr(&b), suffix)) buf_puts(&b, suffix);
    static const char *const reserved[] = { "_count", "_sum", "_bucket", "_total" };
    for (size_t i = 0; i < 4; i++)
        if (has_suffix(buf_cstr(&b), reserved[i])) buf_puts(&b, "_value");
    return buf_steal(&b);
}

/* ---- JSON ---- */

static void put_report_json(buf *b, const metrics_report *r)
{
    buf_printf(b,
               "{\"components\": %zu, \"filtered_by_tags\": %zu, \"planned\": %zu, \"without_dimensions\": %zu, "
               "\"pruned\": %zu, \"skipped_over_budget\": %zu, \"requested\": %zu, \"get_metric_data_calls\": %zu, "
               "\"list_metrics_calls\": %zu, \"no_data\": %zu, \"failed\": %zu, \"alarms\": %zu, "
               "\"alarms_unmapped\": %zu, \"describe_alarms_calls\": %zu, \"not_due\": %zu, \"per_hour\": %.0f, "
               "\"skipped\": [",
               r->components, r->filtered, r->planned, r->without_dims, r->pruned, r->skipped_budget, r->requested,
               r->calls, r->list_calls, r->no_data, r->failed, r->alarms, r->alarms_unmapped, r->alarm_calls,
               r->not_due, r->per_hour);
    for (size_t i = 0; i < r->skipped.len; i++) {
        if (i) buf_puts(b, ", ");
        put_str(b, r->skipped.items[i]);
    }
    buf_puts(b, "], \"warnings\": [");
    for (size_t i = 0; i < r->warnings.len; i++) {
        if (i) buf_puts(b, ", ");
        put_str(b, r->warnings.items[i]);
    }
    buf_puts(b, "]}");
}

static void put_series_json(buf *b, const metric_series *s)
{
    buf_puts(b, "{\"component\": ");
    put_str(b, s->component);
    buf_puts(b, ", \"type\": ");
    put_str(b, s->type);
    buf_puts(b, ", \"account\": ");
    put_str(b, s->account);
    buf_puts(b, ", \"region\": ");
    put_str(b, s->region);
    buf_puts(b, ", \"namespace\": ");
    put_str(b, s->namespace);
    buf_puts(b, ", \"metric\": ");
    put_str(b, s->metric);
    buf_puts(b, ", \"statistic\": ");
    put_str(b, s->stat);
    buf_puts(b, ", \"unit\": ");
    put_str(b, s->unit);
    buf_printf(b, ", \"period\": %ld, \"dimensions\": {", s->period);
    for (size_t i = 0; i < s->ndims; i++) {
        if (i) buf_puts(b, ", ");
        put_str(b, s->dims[2 * i]);
        buf_puts(b, ": ");
        put_str(b, s->dims[2 * i + 1]);
    }
    buf_puts(b, "}, \"status\": ");
    put_str(b, s->status);
    buf_puts(b, ", \"datapoints\": [");
    for (size_t i = 0; i < s->n; i++) {
        if (i) buf_puts(b, ", ");
        buf_putc(b, '[');
        put_json_number(b, s->ts[i]);
        buf_puts(b, ", ");
        put_json_number(b, s->values[i]);
        buf_putc(b, ']');
    }
    buf_puts(b, "]}");
}

static int flush(FILE *f, buf *b)
{
    int rc = b->len && fwrite(b->data, 1, b->len, f) != b->len ? -1 : 0;
    buf_clear(b);
    return rc;
}

/* A StackState check state. */
static void put_check_state(buf *b, const health_state *h)
{
    buf_puts(b, "{\"checkStateId\": ");
    put_str(b, h->id);
    buf_puts(b, ", \"name\": ");
    put_str(b, h->name);
    buf_puts(b, ", \"topologyElementIdentifier\": ");
    put_str(b, h->component);
    buf_puts(b, ", \"health\": ");
    put_str(b, h->health);
    buf_puts(b, ", \"message\": ");
    put_str(b, h->message);
    buf_putc(b, '}');
}

int metrics_write_json(FILE *f, const metrics_result *r)
{
    buf b = {0};
    int rc = 0;
    buf_puts(&b, "{\"series\": [");
    for (size_t i = 0; i < r->len && rc == 0; i++) {
        buf_puts(&b, i ? ",\n  " : "\n  ");
        put_series_json(&b, &r->series[i]);
        if (b.len > 65536) rc = flush(f, &b);
    }
    buf_puts(&b, "\n],\n\"health\": [");
    for (size_t i = 0; i < r->nhealth && rc == 0; i++) {
        buf_puts(&b, i ? ",\n  " : "\n  ");
        put_check_state(&b, &r->health[i]);
        if (b.len > 65536) rc = flush(f, &b);
    }
    buf_printf(&b, "\n],\n\"health_complete\": %s,\n\"report\": ",
               r->alarms && !r->health_incomplete ? "true" : "false");
    put_report_json(&b, &r->report);
    buf_puts(&b, "}\n");
    if (rc == 0) rc = flush(f, &b);
    buf_free(&b);
    return rc;
}

/* ---- OpenMetrics ---- */

typedef struct named {
    char *name;
    double scale;
    const metric_series *s;
} named;

static int compare_named(const void *x, const void *y)
{
    const named *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    if (c) return c;
    c = strcmp(a->s->component, b->s->component);
    return c ? c : strcmp(a->s->stat, b->s->stat);
}

static void put_label_value(buf *b, const char *v)
{
    buf_putc(b, '"');
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"') buf_putc(b, '\\'), buf_putc(b, *v);
        else if (*v == '\n') buf_puts(b, "\\n");
        else buf_putc(b, *v);
    }
    buf_putc(b, '"');
}

static void put_label(buf *b, const char *name, const char *value)
{
    if (b->data[b->len - 1] != '{') buf_putc(b, ',');
    buf_puts(b, name);
    buf_putc(b, '=');
    put_label_value(b, value);
}

static void put_sample(buf *b, const named *n)
{
    const metric_series *s = n->s;
    buf_puts(b, n->name);
    buf_putc(b, '{');
    put_label(b, "component_id", s->component);
    put_label(b, "component_type", s->type);
    put_label(b, "account", s->account);
    put_label(b, "region", s->region);
    put_label(b, "statistic", s->stat);
    for (size_t i = 0; i < s->ndims; i++) {
        buf label = {0};
        buf_puts(&label, "dimension_");
        put_snake(&label, s->dims[2 * i]);
        put_label(b, label.data, s->dims[2 * i + 1]);
        buf_free(&label);
    }
    buf_puts(b, "} ");
    put_number(b, s->values[s->n - 1] * n->scale);
    buf_printf(b, " %lld\n", (long long)llround(s->ts[s->n - 1] * 1000.0));
}

/* Appends the exposition to b; with f, writes it out as it grows (and b
 * ends empty). Returns 0 or -1 (I/O). */
static int openmetrics(const metrics_result *r, buf *b, FILE *f)
{
    named *all = xcalloc(r->len + 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (!r->series[i].n) continue;   /* nothing to say */
        all[n].s = &r->series[i];
        all[n].name = metrics_openmetrics_name(&r->series[i], &all[n].scale);
        n++;
    }
    if (n) qsort(all, n, sizeof *all, compare_named);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i == 0 || strcmp(all[i].name, all[i - 1].name) != 0) {
            const metric_series *s = all[i].s;
            buf_printf(b, "# HELP %s CloudWatch %s %s (%s, %s)\n# TYPE %s gauge\n", all[i].name, s->namespace,
                       s->metric, s->unit, all[i].scale != 1 ? "in seconds" : "as CloudWatch reports it",
                       all[i].name);
        }
        put_sample(b, &all[i]);
        if (f && b->len > 65536) rc = flush(f, b);
    }
    if (f && rc == 0) rc = flush(f, b);
    for (size_t i = 0; i < n; i++) free(all[i].name);
    free(all);
    return rc;
}

int metrics_write_openmetrics(FILE *f, const metrics_result *r)
{
    buf b = {0};
    int rc = openmetrics(r, &b, f);
    buf_free(&b);
    return rc;
}

void metrics_openmetrics(const metrics_result *r, buf *out)
{
    openmetrics(r, out, NULL);
}

/* ---- StackState intake ---- */

static void begin_payload(buf *p, const intake_options *o, const char *host)
{
    buf_puts(p, "{\"internalHostname\": ");
    put_str(p, host);
    buf_puts(p, ", \"collection_timestamp\": ");
    put_number(p, o && o->collection_timestamp > 0 ? o->collection_timestamp : (double)time(NULL));
    buf_puts(p, ", \"topologies\": [], \"health\": [], \"metrics\": [");
}

/* [name, timestamp, value, {"hostname": ..., "tags": [...], "type": "gauge"}] */
static void put_point(buf *p, const char *name, const metric_series *s, size_t i)
{
    buf_putc(p, '[');
    put_str(p, name);
    buf_puts(p, ", ");
    put_number(p, s->ts[i]);
    buf_puts(p, ", ");
    put_json_number(p, s->values[i]);
    buf_puts(p, ", {\"hostname\": ");
    put_str(p, s->hostname ? s->hostname : s->component);
    buf_puts(p, ", \"type\": \"gauge\", \"tags\": [");
    const char *tags[][2] = { { "component_id", s->component }, { "component_type", s->type },
                              { "aws_account", s->account }, { "aws_region", s->region },
                              { "namespace", s->namespace }, { "statistic", s->stat }, { "unit", s->unit } };
    buf tag = {0};
    for (size_t k = 0; k < sizeof tags / sizeof *tags; k++) {
        buf_clear(&tag);
        buf_printf(&tag, "%s:%s", tags[k][0], tags[k][1] ? tags[k][1] : "");
        if (k) buf_puts(p, ", ");
        put_str(p, tag.data);
    }
    for (size_t k = 0; k < s->ndims; k++) {
        buf_clear(&tag);
        buf_printf(&tag, "%s:%s", s->dims[2 * k], s->dims[2 * k + 1]);
        buf_puts(p, ", ");
        put_str(p, tag.data);
    }
    buf_free(&tag);
    buf_puts(p, "]}]");
}

#define HEALTH_PER_PAYLOAD 1000
#define MAX_REPEAT_INTERVAL 1800   /* StackState's limit for repeat_interval_s */

/* The check states as one REPEAT_SNAPSHOTS snapshot: start_snapshot on the
 * first payload, stop_snapshot on the last only when every region answered
 * (StackState deletes the check states a closed snapshot lacks). */
static void health_payloads(const metrics_result *r, const intake_options *o, const char *host, payload_list *out)
{
    long repeat = r->interval > 0 ? r->interval : 300;
    if (repeat > MAX_REPEAT_INTERVAL) repeat = MAX_REPEAT_INTERVAL;
    size_t i = 0;
    do {
        buf *p = payload_list_add(out);
        buf_puts(p, "{\"internalHostname\": ");
        put_str(p, host);
        buf_puts(p, ", \"collection_timestamp\": ");
        put_number(p, o && o->collection_timestamp > 0 ? o->collection_timestamp : (double)time(NULL));
        buf_puts(p, ", \"topologies\": [], \"metrics\": [], \"health\": [{\"consistency_model\": \"REPEAT_SNAPSHOTS\", "
                    "\"stream\": {\"urn\": \"urn:health:aws:cloudwatch-alarms\"}, ");
        if (i == 0) buf_printf(p, "\"start_snapshot\": {\"repeat_interval_s\": %ld, \"expiry_interval_s\": %ld}, ",
                               repeat, 2 * repeat);
        size_t end = i + HEALTH_PER_PAYLOAD < r->nhealth ? i + HEALTH_PER_PAYLOAD : r->nhealth;
        if (end == r->nhealth && !r->health_incomplete) buf_puts(p, "\"stop_snapshot\": {}, ");
        buf_puts(p, "\"check_states\": [");
        for (size_t k = i; k < end; k++) {
            if (k > i) buf_puts(p, ", ");
            put_check_state(p, &r->health[k]);
        }
        buf_puts(p, "]}]}");
        i = end;
    } while (i < r->nhealth);
}

void metrics_intake_payloads(const metrics_result *r, const intake_options *o, size_t max_points, payload_list *out)
{
    if (!max_points) max_points = 2000;   /* ~700 KB: far from a receiver's size limit (a 413 sets it aside) */
    char host[256] = "awstopo";
    if (o && o->hostname) snprintf(host, sizeof host, "%s", o->hostname);
    else gethostname(host, sizeof host - 1);
    buf *p = NULL;
    size_t points = 0;
    for (size_t i = 0; i < r->len; i++) {
        const metric_series *s = &r->series[i];
        if (!s->n) continue;
        char *name = metrics_intake_name(s);
        for (size_t k = 0; k < s->n; k++) {
            if (!p || points == max_points) {
                if (p) buf_puts(p, "]}");
                p = payload_list_add(out);
                begin_payload(p, o, host);
                points = 0;
            }
            if (points++) buf_puts(p, ", ");
            put_point(p, name, s, k);
        }
        free(name);
    }
    if (p) buf_puts(p, "]}");
    if (r->alarms) health_payloads(r, o, host, out);
}
