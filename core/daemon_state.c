/* daemon_state.c -- the daemon's counters and what it says about them
 * (daemon_state.h): the jobs' report lines in, /healthz and /metrics out.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "daemon_state.h"
#include "intake.h"
#include "metrics.h"
#include "util.h"

void state_configured(daemon_state *s)
{
    metrics_options mo = {0};
    strlist problems = {0};
    metrics_options_from_config(&mo, &s->cfg.metrics, &problems);
    s->mo_interval = mo.interval > 0 ? mo.interval : 300;
    s->mo_delay = mo.delay < 0 ? 0 : mo.delay > 0 ? mo.delay : 600;
    metrics_options_free(&mo);
    strlist_free(&problems);
    ondemand_free(s->od);   /* its clients were made for the old configuration */
    s->od = ondemand_new();
}

void state_init(daemon_state *s)
{
    static const char *names[NJOBS] = { "scan", "events", "metrics" };
    for (int i = 0; i < NJOBS; i++) {
        s->jobs[i].kind = (job_kind)i;
        s->jobs[i].name = names[i];
        s->jobs[i].fd = -1;
    }
    s->epfd = s->sigfd = -1;
    s->started = time(NULL);
    s->next_scan = s->next_events = (double)s->started;   /* both at once */
    state_configured(s);
    s->next_metrics = metrics_next_fetch((double)s->started, s->mo_interval, s->mo_delay);
}

void state_free(daemon_state *s)
{
    for (int i = 0; i < NJOBS; i++) buf_free(&s->jobs[i].in);
    buf_free(&s->metrics.prom);
    ondemand_free(s->od);
    s->od = NULL;
}

/* ---- report lines ---- */

/* The value of key in "job k=v k=v", or 0. */
static double field(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = strchr(line, ' '); p; p = strchr(p + 1, ' '))
        if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '=') return strtod(p + 2 + kl, NULL);
    return 0;
}

void state_report(daemon_state *s, job *j, const char *line)
{
    double now = (double)time(NULL);
    if (j->kind == JOB_SCAN && strncmp(line, "scan ", 5) == 0) {
        s->scan.calls += (size_t)field(line, "calls");
        s->scan.retries += (size_t)field(line, "retries");
        s->scan.throttles += (size_t)field(line, "throttles");
        s->scan.components = (size_t)field(line, "components");
        s->scan.relations = (size_t)field(line, "relations");
        s->scan.last_seconds = field(line, "seconds");
    } else if (j->kind == JOB_EVENTS && strncmp(line, "events ", 7) == 0) {
        s->events.cur_records = (size_t)field(line, "records");
        s->events.cur_delivered = (size_t)field(line, "delivered");
        s->events.cur_refused = (size_t)field(line, "refused");
        s->events.cur_bad = (size_t)field(line, "bad");
        s->events.behind_ms = (long long)field(line, "behind_ms");
        s->events.last_round = now;
    } else if (j->kind == JOB_METRICS && strncmp(line, "metrics ", 8) == 0) {
        s->metrics.requested += (size_t)field(line, "requested");
        s->metrics.calls += (size_t)field(line, "calls");
    }
}

static void load_prom(daemon_state *s)
{
    buf path = {0};
    buf_printf(&path, "%s/metrics.prom", s->d.state_dir);
    buf_clear(&s->metrics.prom);
    read_file(path.data, &s->metrics.prom, 0);
    buf_free(&path);
}

void state_job_ended(daemon_state *s, job *j, int rc)
{
    double now = (double)time(NULL);
    if (j->kind == JOB_SCAN) {
        s->scan.total++;
        s->scan.last_end = now;
        s->scan.last_rc = rc;
        if (rc == 0) s->scan.last_success = now, s->scan.failures_in_row = 0;
        else s->scan.failures++, s->scan.failures_in_row++;
    } else if (j->kind == JOB_EVENTS) {
        s->events.starts++;
        s->events.records += s->events.cur_records;
        s->events.delivered += s->events.cur_delivered;
        s->events.refused += s->events.cur_refused;
        s->events.bad += s->events.cur_bad;
        s->events.cur_records = s->events.cur_delivered = s->events.cur_refused = s->events.cur_bad = 0;
    } else {
        s->metrics.total++;
        if (rc == 0 || rc == 1) load_prom(s);   /* partial: the series that came are still true */
        if (rc == 0) s->metrics.last_success = now;
        else s->metrics.failures++;
    }
}

/* ---- /healthz ---- */

/* Is the thing last done at `last` (0: never) fresh at now? Before the
 * first time, the daemon's start counts, so a starting daemon is healthy
 * until max_age passed. Appends the reason when not. */
static int fresh(double now, double last, double since, long max_age, const char *what, buf *reasons)
{
    double from = last > 0 ? last : since;
    if (now - from <= (double)max_age) return 1;
    if (reasons->len > 1) buf_putc(reasons, ',');
    buf_putc(reasons, '"');
    if (last > 0) buf_printf(reasons, "the last %s is %.0f s old (more than %ld s)", what, now - last, max_age);
    else buf_printf(reasons, "no %s in the %.0f s since the start (more than %ld s)", what, now - since, max_age);
    buf_putc(reasons, '"');
    return 0;
}

static void put_time(buf *b, const char *key, double t)
{
    if (t > 0) buf_printf(b, ",\"%s\":%.0f", key, t);
    else buf_printf(b, ",\"%s\":null", key);
}

static void healthz(daemon_state *s, httpd_response *resp)
{
    double now = (double)time(NULL);
    buf reasons = {0};
    buf_putc(&reasons, '[');
    int ok = fresh(now, s->scan.last_success, (double)s->started, s->d.scan_max_age, "complete, delivered scan",
                   &reasons);
    if (s->d.kinesis_stream)
        ok &= fresh(now, s->events.last_round, (double)s->started, s->d.events_max_age,
                    "round over the stream's shards", &reasons);
    buf_putc(&reasons, ']');
    buf *b = &resp->body;
    buf_printf(b, "{\"status\":\"%s\",\"reasons\":%s,\"scan\":{\"running\":%s,\"scans\":%zu,\"failures\":%zu",
               ok ? "ok" : "failing", reasons.data, s->jobs[JOB_SCAN].pid ? "true" : "false", s->scan.total,
               s->scan.failures);
    put_time(b, "last_success", s->scan.last_success);
    put_time(b, "last_end", s->scan.last_end);
    buf_printf(b, ",\"max_age\":%ld}", s->d.scan_max_age);
    if (s->d.kinesis_stream) {
        buf_puts(b, ",\"events\":{\"stream\":");
        intake_json_string(b, s->d.kinesis_stream, strlen(s->d.kinesis_stream));
        buf_printf(b, ",\"running\":%s", s->jobs[JOB_EVENTS].pid ? "true" : "false");
        put_time(b, "last_round", s->events.last_round);
        buf_printf(b, ",\"lag_ms\":%lld,\"max_age\":%ld}", s->events.behind_ms, s->d.events_max_age);
    }
    if (s->d.metrics) {
        buf_printf(b, ",\"metrics\":{\"fetches\":%zu,\"failures\":%zu", s->metrics.total, s->metrics.failures);
        put_time(b, "last_success", s->metrics.last_success);
        buf_putc(b, '}');
    }
    buf_puts(b, "}\n");
    buf_free(&reasons);
    resp->status = ok ? 200 : 503;
    resp->content_type = "application/json";
}

/* ---- /metrics ---- */

static void family(buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(buf *b, const char *name, const char *type, const char *help, double v)
{
    family(b, name, type, help);
    buf_printf(b, "%s %.15g\n", name, v);
}

/* The spool's entries and bytes (its files named <seq>.json.gz). */
static void spool_depth(const daemon_state *s, size_t *count, size_t *bytes)
{
    buf dir = {0};
    stackstate_spool_dir(&s->cfg, &dir);
    *count = *bytes = 0;
    DIR *d = opendir(dir.data);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!has_suffix(e->d_name, ".json.gz")) continue;
        buf p = {0};
        buf_printf(&p, "%s/%s", dir.data, e->d_name);
        struct stat st;
        if (stat(p.data, &st) == 0) {
            (*count)++;
            *bytes += (size_t)st.st_size;
        }
        buf_free(&p);
    }
    if (d) closedir(d);
    buf_free(&dir);
}

static void own_metrics(daemon_state *s, buf *b)
{
    size_t spooled, spooled_bytes;
    spool_depth(s, &spooled, &spooled_bytes);
    sample(b, "awstopo_up", "gauge", "1 while the daemon runs", 1);
    sample(b, "awstopo_start_time_seconds", "gauge", "when the daemon started (epoch seconds)", (double)s->started);
    sample(b, "awstopo_scans_total", "counter", "scans finished", (double)s->scan.total);
    sample(b, "awstopo_scan_failures_total", "counter", "scans not complete or not delivered", (double)s->scan.failures);
    sample(b, "awstopo_scan_running", "gauge", "1 while a scan runs", s->jobs[JOB_SCAN].pid ? 1 : 0);
    sample(b, "awstopo_scan_last_success_timestamp_seconds", "gauge", "end of the last complete, delivered scan",
           s->scan.last_success);
    sample(b, "awstopo_scan_last_duration_seconds", "gauge", "how long the last scan took", s->scan.last_seconds);
    sample(b, "awstopo_scan_components", "gauge", "components of the last scan", (double)s->scan.components);
    sample(b, "awstopo_scan_relations", "gauge", "relations of the last scan", (double)s->scan.relations);
    sample(b, "awstopo_api_calls_total", "counter", "AWS API calls of the scans", (double)s->scan.calls);
    sample(b, "awstopo_api_throttles_total", "counter", "AWS API calls of the scans throttled", (double)s->scan.throttles);
    sample(b, "awstopo_api_retries_total", "counter", "AWS API calls of the scans retried", (double)s->scan.retries);
    sample(b, "awstopo_spool_payloads", "gauge", "payloads waiting in the spool for StackState", (double)spooled);
    sample(b, "awstopo_spool_bytes", "gauge", "bytes waiting in the spool", (double)spooled_bytes);
    if (s->d.kinesis_stream) {
        sample(b, "awstopo_events_records_total", "counter", "Kinesis records read",
               (double)(s->events.records + s->events.cur_records));
        sample(b, "awstopo_events_updates_delivered_total", "counter", "topology updates StackState accepted",
               (double)(s->events.delivered + s->events.cur_delivered));
        sample(b, "awstopo_events_updates_refused_total", "counter", "topology updates not accepted (read again)",
               (double)(s->events.refused + s->events.cur_refused));
        sample(b, "awstopo_events_bad_records_total", "counter", "records that are not awstopo records (skipped)",
               (double)(s->events.bad + s->events.cur_bad));
        sample(b, "awstopo_events_lag_seconds", "gauge", "how far the consumer is behind the stream's newest record "
               "(MillisBehindLatest)", (double)s->events.behind_ms / 1000.0);
        sample(b, "awstopo_events_last_success_timestamp_seconds", "gauge", "end of the consumer's last round",
               s->events.last_round);
        sample(b, "awstopo_events_consumer_starts_total", "counter", "consumers ended (restarted after an error)",
               (double)s->events.starts);
    }
    if (s->d.metrics) {
        sample(b, "awstopo_metrics_fetches_total", "counter", "CloudWatch metrics fetches", (double)s->metrics.total);
        sample(b, "awstopo_metrics_fetch_failures_total", "counter", "metrics fetches that failed",
               (double)s->metrics.failures);
        sample(b, "awstopo_metrics_requested_total", "counter", "CloudWatch metrics requested (billed)",
               (double)s->metrics.requested);
        sample(b, "awstopo_metrics_calls_total", "counter", "GetMetricData calls", (double)s->metrics.calls);
        sample(b, "awstopo_metrics_last_success_timestamp_seconds", "gauge", "end of the last complete metrics fetch",
               s->metrics.last_success);
    }
}

void state_serve(void *ud, const httpd_request *req, httpd_response *resp)
{
    daemon_state *s = ud;
    if (strcmp(req->path, "/healthz") == 0) {
        healthz(s, resp);
    } else if (strcmp(req->path, "/metrics") == 0) {
        own_metrics(s, &resp->body);
        if (s->metrics.prom.len) buf_append(&resp->body, s->metrics.prom.data, s->metrics.prom.len);
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (strcmp(req->path, "/v1/metrics") == 0) {
        resp->status = ondemand_serve(s->od, s, req->query, &resp->body);
        resp->content_type = "application/json";
    } else {
        resp->status = 404;
        buf_puts(&resp->body, "not found: /healthz, /metrics, /v1/metrics?component=ID\n");
    }
}
