/* daemon.h -- what `awstopo run` (cmd_run.c, docs/daemon.md) takes from the
 * other commands, so that the daemon runs exactly their code: the scan
 * (scan.h: scan_execute), the Kinesis consumer of `events consume` and the
 * metrics of `awstopo metrics`.
 */
#ifndef AWSTOPO_DAEMON_H
#define AWSTOPO_DAEMON_H

#include <signal.h>

#include "cli.h"
#include "config.h"
#include "kinesis.h"
#include "metrics.h"
#include "scan.h"

/* ---- the [daemon] section (cmd_run.c) ---- */

typedef struct daemon_options {
    char *listen;              /* host:port of /healthz, /metrics, /v1/metrics; default 127.0.0.1:9377 */
    long scan_interval;        /* seconds between scan starts; default 3600 */
    double scan_jitter;        /* each interval is scan_interval * (1 +- jitter); default 0.1 */
    long scan_max_age;         /* /healthz: a complete, delivered scan at most this old; default 2 intervals + 600 */
    char *kinesis_stream;      /* events consumed from here; NULL: no events */
    char *kinesis_region;
    char *checkpoint_dir;      /* NULL: as events consume */
    long poll_ms;              /* pause when caught up; default 1000 */
    long events_max_age;       /* /healthz: the consumer finished a round at most this long ago; default 120 */
    int metrics;               /* fetch CloudWatch metrics at the [metrics] interval; default off */
    char *state_dir;           /* the last scan's topology, the last metrics; default ~/.cache/awstopo/daemon */
    long stop_timeout;         /* SIGTERM: how long a running scan or metrics fetch may finish; default 300 */
} daemon_options;

/* Reads the [daemon] keys (key=value items) into o (defaults first);
 * problems are appended ("daemon: <what>"). Returns the number of problems. */
int daemon_options_from_config(daemon_options *o, const strlist *items, strlist *problems);
void daemon_options_free(daemon_options *o);

int cmd_run(int argc, char **argv);

/* ---- events consume (cmd_events.c) ---- */

typedef struct events_consume_run {
    const common_options *co;         /* credentials for the stream */
    const char *stream, *region;      /* region NULL: the default */
    const char *checkpoint_dir;       /* NULL: ~/.cache/awstopo/kinesis/<stream> */
    long poll_ms;                     /* 0: 1000 */
    int once;
    volatile sig_atomic_t *stop;      /* set to stop after the current batch */
    const output_spec *outputs;       /* "-" only: one update per line of stdout */
    int noutputs;
    void (*on_round)(void *ud, const consume_stats *st);   /* may be NULL */
    void *round_ud;
} events_consume_run;

/* Reads the stream and sends its updates to cfg's StackState (and the
 * outputs), checkpointing after each accepted update, until *stop (or,
 * with once, until caught up). Returns the exit code of `events consume`. */
int events_consume(const events_consume_run *r, const awstopo_config *cfg);

/* The checkpoint directory: given, or ~/.cache/awstopo/kinesis/<stream>
 * (its parents created). Appended to out. */
void events_checkpoint_dir(const char *given, const char *stream, buf *out);

/* ---- awstopo metrics (cmd_metrics.c) ---- */

typedef enum metrics_format { MFORMAT_JSON, MFORMAT_OPENMETRICS, MFORMAT_INTAKE } metrics_format;

typedef struct metrics_output {
    const char *path;
    metrics_format format;
    int format_given;
} metrics_output;

typedef struct metrics_cli {
    scan_options scan;              /* which components, credentials, StackState */
    const char *topology_file;
    metrics_options mo;
    strlist flag_choose, flag_tags;
    int only_named;
    const char *interval, *delay, *end, *budget, *price, *insufficient, *from, *to;
    metrics_output outputs[8];
    int noutputs;
} metrics_cli;

/* What `awstopo metrics` does once its flags are in m and the config file
 * and environment in cfg (its flags are merged into cfg, which keeps them):
 * scan (or read m->topology_file), fetch, write the outputs, send to
 * StackState, print the report, whose counts are copied to *report (its
 * lists left empty). Frees m's lists. Returns the exit code. */
int metrics_execute(metrics_cli *m, awstopo_config *cfg, metrics_report *report);
/* Adds the components of a `scan --format json` file to t. -1 (the error
 * printed) when it cannot be read or is not one. */
int metrics_load_topology(const char *path, topology *t);

#endif
