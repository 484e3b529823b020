/* metrics.h -- CloudWatch metrics of the components of a topology.
 *
 *   metrics_catalog_new   the `cloudwatch` declarations of every component
 *                         type on the mapping path (docs/metrics.md)
 *   metrics_fetch         for one account: plan the queries (the chosen
 *                         metrics of each component, tag filter, ListMetrics
 *                         pruning, the hourly budget), then GetMetricData, 500
 *                         queries a call, grouped by region and period, pages
 *                         merged; or, with estimate, only count them
 *                         (and with alarms, DescribeAlarms onto the
 *                         components as health check states: core/alarms.lua)
 *   metrics_write_*       the series as JSON, as OpenMetrics text, or as
 *                         StackState intake payloads (metrics_out.c)
 *
 * The planning and fetching run as Lua (core/metrics.lua, compiled in) on
 * the same primitives and client as the mappings, so retries, throttling,
 * lanes and signing are the scan's. What comes back is plain C data that
 * outlives the Lua state: `awstopo metrics` writes it, `awstopo run` can
 * serve it.
 */
#ifndef AWSTOPO_METRICS_H
#define AWSTOPO_METRICS_H

#include <stdio.h>

#include "client.h"
#include "engine.h"
#include "intake.h"
#include "lua_api.h"
#include "topology.h"

/* What to fetch: from the [metrics] section of the config and the flags. */
typedef struct metrics_options {
    long interval;             /* seconds between runs; 0 = 300 */
    long delay;                /* CloudWatch's lag: windows end this long before now; 0 = 600 (-1 = none) */
    double now;                /* epoch seconds; 0 = time(NULL) */
    int estimate;              /* plan and count only: no CloudWatch call */
    int prune;                 /* ListMetrics RecentlyActive=PT3H first */
    double max_per_hour;       /* metrics requested per hour; 0 = no budget */
    double price_per_1000;     /* USD per 1,000 metrics requested; 0 = 0.01 */
    strlist choose;            /* "<type>=<names|all|none|default>" */
    const char *others;        /* types not in choose: "default" (NULL) or "none" */
    strlist tags;              /* "key" or "key=value": components must have all */
    int alarms;                /* DescribeAlarms onto the components' health */
    const char *insufficient_data;   /* health of INSUFFICIENT_DATA: DEVIATING (NULL), CLEAR or CRITICAL */
    /* On demand (GET /v1/metrics?component=...&metric=...&from=...&to=...): */
    const char *component;     /* only this externalId; NULL = every component */
    strlist names;             /* its metrics (any it declares); empty = all it declares */
    double from, to;           /* the window, epoch seconds (whole periods around it); 0 = interval/delay */
} metrics_options;

/* Reads the [metrics] keys of a config (key=value items) into o; problems
 * are appended to problems ("metrics: <what>"). Returns the number of problems. */
int metrics_options_from_config(metrics_options *o, const strlist *items, strlist *problems);
void metrics_options_free(metrics_options *o);

/* A series' strings belong to the metrics_result holding it (one copy of
 * each distinct string per result: see metrics_result_intern). */
typedef struct metric_series {
    char *component;           /* the component's externalId */
    char *type, *hostname, *account, *region;
    char *namespace, *metric, *stat, *unit;
    long period;
    char **dims;               /* name, value, name, value, ...: 2 * ndims strings */
    size_t ndims;
    double *ts;                /* epoch seconds, ascending */
    double *values;
    size_t n;
    char *status;              /* Complete, PartialData, Forbidden, InternalError, Failed, Missing */
} metric_series;

/* A CloudWatch alarm's state on one component (StackState check state). */
typedef struct health_state {
    char *id;                  /* checkStateId: "<alarm ARN>|<component externalId>" */
    char *name;                /* the alarm's name */
    char *component;           /* topologyElementIdentifier */
    char *health;              /* CLEAR, DEVIATING, CRITICAL */
    char *message;             /* "<state>: <reason>" */
} health_state;

typedef struct metrics_report {
    size_t components, filtered, planned, without_dims, pruned, skipped_budget;
    size_t requested, calls, list_calls, batches, no_data, failed;
    size_t alarms, alarms_unmapped, alarm_calls;
    size_t not_due;            /* queries of longer periods (daily) with no new period this run */
    double per_hour;           /* metrics requested per hour by this plan, each at its own rate */
    strlist skipped;           /* "<type> <metric>: N" over the budget */
    strlist warnings;
} metrics_report;

typedef struct metrics_result {
    metric_series *series;
    size_t len, cap;
    struct strpool *strings;   /* owns every string of the series */
    health_state *health;
    size_t nhealth, caphealth;
    int alarms;                /* alarms were asked for: health payloads are made */
    size_t health_incomplete;  /* accounts where some region did not answer DescribeAlarms (or
                                  that failed): the health snapshot is not closed */
    long interval;             /* seconds between runs (health snapshot repeat interval) */
    metrics_report report;
} metrics_result;

void metrics_result_free(metrics_result *r);
/* The result's copy of s (one per distinct string; NULL for NULL): what a
 * series built by hand points to. */
char *metrics_result_intern(metrics_result *r, const char *s);
/* Moves src's series and adds its report into dst; src becomes empty. */
void metrics_result_merge(metrics_result *dst, metrics_result *src);

/* The declarations: type -> its cloudwatch table, as one JSON object. */
typedef struct metrics_catalog metrics_catalog;
/* NULL with a message when a mapping cannot be loaded or a declaration is
 * wrong (unknown statistic, default naming an undeclared metric, ...). */
metrics_catalog *metrics_catalog_new(engine *e, char *err, size_t errlen);
void metrics_catalog_free(metrics_catalog *c);

/* The metrics of account's components in t (components of other accounts
 * are left alone). client may be NULL with o->estimate. Appends to out.
 * Returns 0, or -1 with err when the plan could not be made (bad options);
 * failed calls are not errors: they are in out->report and the series'
 * status. */
int metrics_fetch(aws_client *client, const metrics_catalog *cat, const char *account, const topology *t,
                  const metrics_options *o, metrics_result *out, char *err, size_t errlen);

/* The cost of a report: USD for this run, and per hour at o's interval (a
 * metric with a longer period than the interval counted once per period). */
void metrics_cost(const metrics_report *r, const metrics_options *o, double *per_run, double *per_hour);

/* When the next fetch is due for a daemon: the first t > now with
 * t - delay a multiple of interval, so that each window (which ends at the
 * last whole period before t - delay) is new and CloudWatch has had delay
 * seconds to fill it. */
double metrics_next_fetch(double now, long interval, long delay);

/* ---- on demand: series cached per period (metrics_cache.c) ---- */

/* What GET /v1/metrics serves: the series of one component and window,
 * fetched at most once per period. Entries live until their period has
 * passed; at most max_entries (0 = 1024), the oldest evicted first. */
typedef struct metrics_cache metrics_cache;
metrics_cache *metrics_cache_new(size_t max_entries);
void metrics_cache_free(metrics_cache *c);
/* The cached result for (component, names, from, to) fetched at most one
 * period before now, or NULL (owned by the cache: valid until the next put). */
const metrics_result *metrics_cache_get(metrics_cache *c, const metrics_options *o, double now);
/* Keeps r (moved in; r becomes empty) for o's component, names and window,
 * fetched at now; returns the cached copy. */
const metrics_result *metrics_cache_put(metrics_cache *c, const metrics_options *o, double now, metrics_result *r);

/* ---- outputs (metrics_out.c) ---- */

/* The series and the report as one JSON document. Returns 0 or -1 (I/O). */
int metrics_write_json(FILE *f, const metrics_result *r);
/* The newest datapoint of every series with data, as OpenMetrics / Prometheus
 * text: one gauge family per metric (aws_<namespace>_<metric>[_<unit>]),
 * labelled component_id, component_type, account, region, statistic and the
 * dimensions; milliseconds become seconds. Returns 0 or -1 (I/O). */
int metrics_write_openmetrics(FILE *f, const metrics_result *r);
/* The same text appended to out (for an HTTP /metrics endpoint). */
void metrics_openmetrics(const metrics_result *r, buf *out);
/* StackState intake payloads with the datapoints in "metrics" (at most
 * max_points each; 0 = 2000), appended to out; with alarms, then the check
 * states in "health" as one REPEAT_SNAPSHOTS snapshot of the stream
 * urn:health:aws:cloudwatch-alarms (1000 a payload; stop_snapshot only when
 * health_incomplete is 0). */
void metrics_intake_payloads(const metrics_result *r, const intake_options *o, size_t max_points,
                             payload_list *out);
/* The names used above (caller frees): "aws_sqs_approximate_age_of_oldest_message_seconds"
 * and "aws.sqs.approximate_age_of_oldest_message"; *scale is what the value is multiplied by. */
char *metrics_openmetrics_name(const metric_series *s, double *scale);
char *metrics_intake_name(const metric_series *s);

#endif
