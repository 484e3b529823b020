/* scan.h -- what `awstopo scan` (cmd_scan.c) and `awstopo record`
 * (cmd_record.c) share: a record is a scan whose responses are written down. */
#ifndef AWSTOPO_SCAN_H
#define AWSTOPO_SCAN_H

#include "cli.h"
#include "config.h"
#include "engine.h"
#include "sink.h"

typedef struct output_spec {
    const char *path;
    output_format format;
    int format_given;       /* --format named it (else inferred from the file name) */
} output_spec;

typedef struct scan_options {
    common_options co;
    const char *config_path;
    const char *regions;
    int all_regions;
    const char *services;
    const char *account_id;
    int demo;
    const char *replay_dir;       /* --replay, or <data dir>/demo for --demo */
    const char *stackstate_url, *api_key, *instance, *spool;
    output_spec outputs[8];
    int noutputs;
    size_t max_items;
    int allow_shrink;             /* --allow-shrink: no shrink guard (shrink.h) */
    /* awstopo record */
    int record;
    const char *record_dir;
    int anonymize;
    int replay_layout;
} scan_options;

/* If argv[*i] is one of the options scan, record and metrics share (which
 * accounts, regions and services, the config, StackState, --demo/--replay,
 * and the common options of cli.h), consumes it and returns 1; -1 when its
 * value is missing (said), 0 when it is none of them. */
int scan_option(scan_options *o, int argc, char **argv, int *i);

typedef struct account_scan {
    const char *name;
    char *account_id;
    const char *partition;
    strlist regions;
    aws_client *client;     /* NULL in demo mode */
    mapping_run **runs;
    size_t nruns, capruns;
} account_scan;

/* Writes the topology to the outputs and sends it to cfg->stackstate_url
 * (through the spool), as a snapshot or incremental (events). Sorts it.
 * Returns 0, 1 when payloads stay spooled, 2 when an output or the
 * delivery failed. Shared by scan and events. */
int deliver_topology(const output_spec *outputs, int noutputs, size_t max_items, const awstopo_config *cfg,
                     topology *all, intake_mode mode);

typedef struct progress {
    int tty;                /* print a line per finished run */
    size_t done, total, failed;
} progress;

typedef struct totals {
    size_t components, relations, warnings, failed_runs, calls;
} totals;

/* What `awstopo metrics` shares with scan: one account scanned (its client
 * and account id resolved, its runs done; -1 when the account could not be
 * reached), its runs' topologies merged into all with their counts in t
 * (errors printed), and the account freed. */
int scan_account(const scan_options *o, const awstopo_config *cfg, const account_config *ac, engine *e,
                 model_registry *models, account_scan *a, progress *prog);
void collect(account_scan *a, topology *all, totals *t, int verbose);
void free_account(account_scan *a);

/* The StackState sink of cfg (url, api key, spool: ~/.cache/awstopo/spool
 * by default; its path is appended to spool). NULL with err. Caller frees. */
stackstate_sink *open_stackstate_sink(const awstopo_config *cfg, buf *spool, char *err, size_t errlen);
/* The credentials options of account ac (NULL: the default): the flags
 * win over its [account] section. Strings point into both. */
common_options account_credentials(const common_options *flags, const account_config *ac);
/* cfg's spool directory (the default above), appended to out. */
void stackstate_spool_dir(const awstopo_config *cfg, buf *out);

/* The account id of the client's credentials (sts GetCallerIdentity);
 * caller frees. NULL with the reason in err. */
char *lookup_account_id(aws_client *c, model_registry *models, char *err, size_t errlen);

/* What a scan did (scan_execute). */
typedef struct scan_summary {
    size_t components, relations, runs, failed_runs, calls, retries, throttles, warnings;
    int complete;           /* every account and run answered: the snapshot was closed */
    double seconds;
} scan_summary;

/* The scan itself, on a configuration already read (the file and the
 * environment): o's flags are merged over cfg (which keeps them), the
 * accounts scanned, the topology delivered, a summary line printed and
 * *sum filled. Returns the exit code (docs/cli.md). Shared by scan, record
 * and the daemon (`awstopo run`). */
int scan_execute(scan_options *o, awstopo_config *cfg, scan_summary *sum);

/* Runs `awstopo scan` (record 0) or `awstopo record` (record 1). */
int scan_or_record(int argc, char **argv, int record);

/* awstopo record: writes each run's recording of account a (cmd_record.c).
 * Returns 0, or 1 when a file could not be written. */
int write_recordings(const scan_options *o, account_scan *a);

#endif
