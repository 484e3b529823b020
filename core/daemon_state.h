/* daemon_state.h -- what the daemon (cmd_run.c) knows: its configuration,
 * its jobs, and the counters the jobs report, served over HTTP
 * (daemon_state.c: /healthz, /metrics; daemon_ondemand.c: /v1/metrics).
 * One instance, owned by cmd_run; only the loop's thread touches it.
 */
#ifndef AWSTOPO_DAEMON_STATE_H
#define AWSTOPO_DAEMON_STATE_H

#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "httpd.h"

typedef enum job_kind { JOB_SCAN, JOB_EVENTS, JOB_METRICS, NJOBS } job_kind;

/* A forked child doing one of the jobs, and the pipe it reports through. */
typedef struct job {
    loop_source src;           /* first: the pipe's epoll data.ptr */
    job_kind kind;
    const char *name;          /* "scan", "events", "metrics" */
    pid_t pid;                 /* 0: not running */
    int fd;                    /* the pipe's read end, -1 when closed */
    buf in;                    /* a report line not yet complete */
    time_t started;
} job;

typedef struct ondemand ondemand;   /* daemon_ondemand.c */

typedef struct daemon_state {
    /* from the command line (point into argv) */
    const char *config_path, *listen_flag;
    common_options co;
    /* the configuration in use (replaced whole by a SIGHUP reload) */
    awstopo_config cfg;
    daemon_options d;
    long mo_interval, mo_delay;        /* [metrics] interval and delay, in effect */
    /* the loop */
    int epfd, sigfd;
    httpd *http;
    job jobs[NJOBS];
    double next_scan, next_events, next_metrics;   /* epoch seconds */
    int stopping;
    time_t stop_deadline, started;
    /* what the jobs reported */
    struct {
        size_t total, failures, failures_in_row;
        size_t calls, retries, throttles;       /* summed over the scans */
        size_t components, relations;           /* of the last scan */
        double last_end, last_success, last_seconds;
        int last_rc;
    } scan;
    struct {
        size_t starts;
        size_t records, delivered, refused, bad;   /* of ended consumers */
        size_t cur_records, cur_delivered, cur_refused, cur_bad;   /* of the running one */
        double last_round;
        long long behind_ms;
    } events;
    struct {
        size_t total, failures, requested, calls;
        double last_success;
        buf prom;                               /* the last fetch's series, OpenMetrics text */
    } metrics;
    ondemand *od;
} daemon_state;

void state_init(daemon_state *s);      /* jobs, schedule, counters; after the configuration is loaded */
void state_configured(daemon_state *s);   /* after a reload: the [metrics] interval again, caches reset */
void state_free(daemon_state *s);
/* A report line of job j ("scan rc=0 components=12 ..."). */
void state_report(daemon_state *s, job *j, const char *line);
/* Job j's child ended with exit code rc (-1: killed). */
void state_job_ended(daemon_state *s, job *j, int rc);
/* The HTTP handler (httpd_handler): /healthz, /metrics, /v1/metrics. */
void state_serve(void *ud, const httpd_request *req, httpd_response *resp);

/* ---- daemon_ondemand.c: GET /v1/metrics ---- */

ondemand *ondemand_new(void);
void ondemand_free(ondemand *od);   /* also after a reload: clients and cache go */
/* Answers a /v1/metrics query from the cache or with a fetch; the JSON
 * (metrics_write_json) or an error goes to body. Returns the HTTP status. */
int ondemand_serve(ondemand *od, daemon_state *s, const char *query, buf *body);

#endif
