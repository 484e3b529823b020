/* cmd_metrics.c -- `awstopo metrics`: CloudWatch metrics of the components
 * of a scan (or of a topology file from `scan --format json`).
 *
 * For every account: scan it as `awstopo scan` would (or take its components
 * from the file), then fetch the chosen metrics of its components with
 * GetMetricData (metrics.c), and hand the series to the outputs: StackState
 * (intake "metrics"), and/or files as JSON, OpenMetrics or intake payloads.
 * Every run says how many metrics it requested and what that costs.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "scan.h"
#include "daemon.h"
#include "sink.h"
#include "timestamp.h"
#include "util.h"

static const char help[] =
    "usage: awstopo metrics [options]\n"
    "\n"
    "Fetches the CloudWatch metrics of the components of a scan with GetMetricData\n"
    "and sends them to StackState and/or writes them. Metrics cost money: only the\n"
    "types' small default sets are fetched unless the configuration says otherwise,\n"
    "and every run reports the metrics requested and their price (docs/metrics.md).\n"
    "\n"
    "which components:\n"
    "  --config FILE            configuration file; its [metrics] section chooses metrics\n"
    "  --regions, --all-regions, --services, --account-id, --demo, --replay DIR\n"
    "                           scan as `awstopo scan` does (see awstopo scan --help)\n"
    "  --topology FILE          the components of a `scan --format json` file instead\n"
    "  --profile, --role-arn, --external-id, --session-name   credentials (awstopo --help)\n"
    "\n"
    "which metrics (flags win over the [metrics] section):\n"
    "  --metrics TYPE=M1,M2     the metrics of a component type (or all, none, default);\n"
    "                           repeatable; other types get their default set\n"
    "  --only-named             types not named with --metrics / in the config get none\n"
    "  --tags K=V,K             only components with all these tags\n"
    "  --prune                  ask ListMetrics (RecentlyActive=PT3H) first; skip series\n"
    "                           without recent data (its calls are counted)\n"
    "  --max-metrics-per-hour N hard budget; what is over it is skipped and reported\n"
    "  --interval SECONDS       how often metrics are fetched (default 300): the window,\n"
    "                           and the hourly figures\n"
    "  --delay SECONDS          CloudWatch's lag: windows end this long ago (default 600)\n"
    "  --end TIME               the window ends at the last whole period before TIME\n"
    "                           minus the delay (default now); ISO-8601 or epoch seconds\n"
    "  --price-per-1000 USD     price of 1,000 metrics requested (default 0.01)\n"
    "  --component ID           on demand: only this component (externalId), all the metrics\n"
    "                           its type declares or those named by --metric NAME (repeatable)\n"
    "  --from TIME --to TIME    the window (whole periods around it) instead of --interval\n"
    "  --alarms                 also map CloudWatch alarms (DescribeAlarms) onto the components'\n"
    "                           health: OK -> CLEAR, ALARM -> CRITICAL, INSUFFICIENT_DATA ->\n"
    "                           --insufficient-data DEVIATING|CLEAR|CRITICAL (default DEVIATING)\n"
    "  --estimate               count the metrics and their price; call no CloudWatch API\n"
    "                           (with --topology or --demo: no AWS call at all)\n"
    "\n"
    "where they go:\n"
    "  --stackstate-url URL, --api-key KEY, --instance NAME, --spool DIR   as for scan\n"
    "  --output FILE|-          write the series here (repeatable)\n"
    "  --format json|openmetrics|intake   format of the --output before it (default: from\n"
    "                           the name: .prom/.txt -> openmetrics, else json)\n"
    "\n"
    "Exit codes: 0 complete, 1 partial (some calls failed, or payloads are still\n"
    "spooled), 2 failure, 64 usage.\n";

/* ---- arguments ---- */

static int parse_format(const char *name, metrics_format *out)
{
    if (!name) return -1;
    if (strcmp(name, "json") == 0) *out = MFORMAT_JSON;
    else if (strcmp(name, "openmetrics") == 0 || strcmp(name, "prometheus") == 0) *out = MFORMAT_OPENMETRICS;
    else if (strcmp(name, "intake") == 0) *out = MFORMAT_INTAKE;
    else return -1;
    return 0;
}

static metrics_format format_of_name(const char *path)
{
    if (has_suffix(path, ".prom") || has_suffix(path, ".txt")) return MFORMAT_OPENMETRICS;
    return MFORMAT_JSON;
}

static int bad_format(const char *f)
{
    cli_error("metrics: unknown --format '%s' (json, openmetrics or intake)", f ? f : "");
    return -1;
}

/* metrics' own value options; the scan's come from scan_option. */
static const value_option metrics_values[] = {
    { "--topology", offsetof(metrics_cli, topology_file) },
    { "--interval", offsetof(metrics_cli, interval) },
    { "--delay", offsetof(metrics_cli, delay) },
    { "--end", offsetof(metrics_cli, end) },
    { "--max-metrics-per-hour", offsetof(metrics_cli, budget) },
    { "--price-per-1000", offsetof(metrics_cli, price) },
    { "--insufficient-data", offsetof(metrics_cli, insufficient) },
    { "--component", offsetof(metrics_cli, mo.component) },
    { "--from", offsetof(metrics_cli, from) },
    { "--to", offsetof(metrics_cli, to) },
};

static int parse_args(metrics_cli *m, int argc, char **argv)
{
    scan_options *o = &m->scan;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc;
#define VALUE(name, field) ((rc = take_value(argc, argv, &i, name, &(field))) != 0)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            exit(EXIT_OK);
        } else if (strcmp(argv[i], "--estimate") == 0) {
            m->mo.estimate = 1;
        } else if (strcmp(argv[i], "--prune") == 0) {
            m->mo.prune = 1;
        } else if (strcmp(argv[i], "--alarms") == 0) {
            m->mo.alarms = 1;
        } else if (strcmp(argv[i], "--only-named") == 0) {
            m->only_named = 1;
        } else if ((rc = TAKE_LISTED(argc, argv, &i, metrics_values, m)) != 0) {
            if (rc < 0) return -1;
        } else if (VALUE("--metrics", v)) {
            if (rc < 0) return -1;
            if (strncmp(v, "aws.", 4) != 0 || !strchr(v, '=')) {
                cli_error("metrics: --metrics wants TYPE=M1,M2 (e.g. aws.ec2.instance=CPUUtilization), got '%s'", v);
                return -1;
            }
            strlist_add(&m->flag_choose, v);
        } else if (VALUE("--metric", v)) {
            if (rc < 0) return -1;
            strlist_add(&m->mo.names, v);
        } else if (VALUE("--tags", v)) {
            if (rc < 0) return -1;
            split_list(v, &m->flag_tags);
        } else if (VALUE("--output", v)) {
            if (rc < 0) return -1;
            if (m->noutputs == (int)(sizeof m->outputs / sizeof *m->outputs)) {
                cli_error("metrics: too many --output options");
                return -1;
            }
            m->outputs[m->noutputs++] = (metrics_output){ v, format_of_name(v), 0 };
        } else if (VALUE("--format", v)) {
            if (rc < 0) return -1;
            metrics_output *last = m->noutputs ? &m->outputs[m->noutputs - 1] : NULL;
            if (!last) {                       /* --format F alone: stdout */
                last = &m->outputs[m->noutputs++];
                last->path = "-";
            }
            if (parse_format(v, &last->format) < 0) return bad_format(v);
            last->format_given = 1;
        } else if ((rc = scan_option(o, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else {
            cli_error("metrics: unknown argument '%s' (see awstopo metrics --help)", argv[i]);
            return -1;
        }
#undef VALUE
    }
    if (o->replay_dir) o->demo = 1;
    if (!o->config_path) o->config_path = getenv("AWSTOPO_CONFIG");
    return 0;
}

/* Flags over the config's [metrics] section. */
static int build_options(metrics_cli *m, const awstopo_config *cfg)
{
    strlist problems = {0};
    metrics_options_from_config(&m->mo, &cfg->metrics, &problems);
    strlist items = {0};
    buf b = {0};
#define FLAG(value, key)                               \
    if (value) {                                       \
        buf_clear(&b);                                 \
        buf_printf(&b, "%s=%s", key, value);           \
        strlist_add(&items, b.data);                   \
    }
    FLAG(m->interval, "interval");
    FLAG(m->delay, "delay");
    FLAG(m->budget, "max_metrics_per_hour");
    FLAG(m->price, "price_per_1000");
    FLAG(m->insufficient, "insufficient_data");
#undef FLAG
    for (size_t i = 0; i < m->flag_choose.len; i++) strlist_add(&items, m->flag_choose.items[i]);
    if (m->only_named) strlist_add(&items, "types=none");
    metrics_options_from_config(&m->mo, &items, &problems);
    if (m->flag_tags.len) {
        strlist_free(&m->mo.tags);
        for (size_t i = 0; i < m->flag_tags.len; i++) strlist_add(&m->mo.tags, m->flag_tags.items[i]);
    }
    if (m->end && timestamp_parse(m->end, &m->mo.now) < 0) strlist_add(&problems, "metrics: --end wants ISO-8601 or epoch seconds");
    if ((m->from || m->to) && (!m->from || !m->to || timestamp_parse(m->from, &m->mo.from) < 0 ||
                               timestamp_parse(m->to, &m->mo.to) < 0 || m->mo.to <= m->mo.from))
        strlist_add(&problems, "metrics: --from and --to go together, as times (ISO-8601 or epoch seconds), from first");
    if (m->mo.names.len && !m->mo.component) strlist_add(&problems, "metrics: --metric goes with --component");
    for (size_t i = 0; i < problems.len; i++) cli_error("%s", problems.items[i]);
    int bad = problems.len > 0;
    strlist_free(&problems);
    strlist_free(&items);
    buf_free(&b);
    return bad ? -1 : 0;
}

/* ---- components from a file ---- */

int metrics_load_topology(const char *path, topology *t)
{
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    if (!text) {
        cli_error("metrics: cannot read %s", path);
        return -1;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "components");
    if (!cJSON_IsArray(list)) {
        cli_error("metrics: %s is not a topology from `awstopo scan --format json` (no \"components\" list)", path);
        cJSON_Delete(doc);
        return -1;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, list) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "externalId");
        if (!cJSON_IsString(id)) continue;
        char *json = cJSON_PrintUnformatted(c);
        topology_add(t, TOPO_COMPONENT, id->valuestring, json, strlen(json));
        cJSON_free(json);
    }
    cJSON_Delete(doc);
    return 0;
}

/* ---- one account ---- */

typedef struct run_state {
    metrics_cli *m;
    awstopo_config *cfg;
    engine *e;
    model_registry *models;
    metrics_catalog *cat;
    topology *file;          /* --topology, or NULL: scan */
    metrics_result all;
    size_t failed_accounts;
} run_state;

static void fetch_account(run_state *st, aws_client *client, const char *account, const topology *t)
{
    char err[1024];
    metrics_result r = {0};
    if (metrics_fetch(client, st->cat, account, t, &st->m->mo, &r, err, sizeof err) < 0) {
        cli_error("%s", err);
        st->failed_accounts++;
        st->all.health_incomplete++;
    }
    metrics_result_merge(&st->all, &r);
}

/* Scans the account (or takes the file's components) and fetches its metrics. */
static void one_account(run_state *st, const account_config *ac)
{
    metrics_cli *m = st->m;
    account_scan a = {0};
    if (st->file && m->mo.estimate) {            /* no AWS at all */
        fetch_account(st, NULL, NULL, st->file);
        return;
    }
    if (st->file) {
        char err[1024];
        common_options co = account_credentials(&m->scan.co, ac);
        aws_client *c = make_client(&co, st->models, err, sizeof err);
        const char *known = m->scan.account_id ? m->scan.account_id : ac ? ac->account_id : NULL;
        char *id = !c ? NULL : known ? xstrdup(known) : lookup_account_id(c, st->models, err, sizeof err);
        if (!id) {
            cli_error("account %s: %s", ac ? ac->name : "default", err);
            st->failed_accounts++;
            st->all.health_incomplete++;
        } else {
            fetch_account(st, c, id, st->file);
        }
        free(id);
        client_free(c);
        return;
    }
    progress prog = { 0, 0, 0, 0 };
    if (scan_account(&m->scan, st->cfg, ac, st->e, st->models, &a, &prog) < 0) {
        st->failed_accounts++;
        st->all.health_incomplete++;
    } else {
        topology t;
        topology_init(&t);
        totals tot = {0};
        collect(&a, &t, &tot, m->scan.co.verbose);
        topology_sort(&t);
        if (tot.failed_runs) {
            cli_error("account %s: %zu scan runs failed; their components get no metrics", a.name, tot.failed_runs);
            st->all.health_incomplete++;   /* their components' alarms are unknown: keep their check states */
        }
        fetch_account(st, m->mo.estimate ? NULL : a.client, m->mo.estimate ? NULL : a.account_id, &t);
        topology_free(&t);
    }
    free_account(&a);
}

/* ---- delivery ---- */

static int write_output(const metrics_output *out, const metrics_result *r, const intake_options *io)
{
    FILE *f = strcmp(out->path, "-") == 0 ? stdout : fopen(out->path, "w");
    if (!f) {
        cli_error("metrics: cannot write %s", out->path);
        return -1;
    }
    int rc = 0;
    if (out->format == MFORMAT_JSON) {
        rc = metrics_write_json(f, r);
    } else if (out->format == MFORMAT_OPENMETRICS) {
        rc = metrics_write_openmetrics(f, r);
    } else {
        payload_list pl = {0};
        metrics_intake_payloads(r, io, 0, &pl);
        fputs("[", f);
        for (size_t i = 0; i < pl.len; i++) {
            fputs(i ? ",\n" : "\n", f);
            fwrite(pl.items[i].data, 1, pl.items[i].len, f);
        }
        fputs("\n]\n", f);
        payload_list_free(&pl);
    }
    if (f == stdout) fflush(f);
    else if (fclose(f) != 0) rc = -1;
    if (rc < 0) cli_error("metrics: writing %s failed", out->path);
    return rc;
}

static int send_to_stackstate(const awstopo_config *cfg, const metrics_result *r, const intake_options *io)
{
    char err[1024];
    buf spool = {0};
    if (cfg->spool_dir) buf_puts(&spool, cfg->spool_dir);
    else buf_printf(&spool, "%s/.cache/awstopo/spool", getenv("HOME") ? getenv("HOME") : "/tmp");
    const char *base_ms = getenv("AWSTOPO_RETRY_BASE_MS");
    stackstate_options so = { .base_url = cfg->stackstate_url, .api_key = cfg->api_key, .spool_dir = spool.data,
                              .spool_max_bytes = cfg->spool_max_mb << 20,
                              .retry_base_ms = base_ms ? atol(base_ms) : 0 };
    int rc = 0;
    stackstate_sink *sink = stackstate_sink_new(&so, err, sizeof err);
    if (!sink) {
        cli_error("%s", err);
        rc = 2;
    } else {
        payload_list pl = {0};
        metrics_intake_payloads(r, io, 0, &pl);
        int sent = pl.len ? stackstate_sink_send(sink, &pl, err, sizeof err) : 0;
        const sink_stats *s = stackstate_sink_stats(sink);
        fprintf(stderr, "stackstate: %zu metrics payloads delivered, %zu spooled, %zu retries\n", s->delivered,
                s->spooled, s->retries);
        if (sent != 0) cli_error("%s", err);
        if (sent != 0) rc = sent < 0 ? 2 : 1;
        payload_list_free(&pl);
        stackstate_sink_free(sink);
    }
    buf_free(&spool);
    return rc;
}

static void print_report(const metrics_result *r, const metrics_options *o)
{
    const metrics_report *p = &r->report;
    double run, hour;
    metrics_cost(p, o, &run, &hour);
    long interval = o->interval > 0 ? o->interval : 300;
    double price = o->price_per_1000 > 0 ? o->price_per_1000 : 0.01;
    size_t with_data = 0;
    for (size_t i = 0; i < r->len; i++) with_data += r->series[i].n > 0;
    for (size_t i = 0; i < p->warnings.len; i++) fprintf(stderr, "warning: metrics: %s\n", p->warnings.items[i]);
    if (p->skipped_budget) {
        fprintf(stderr, "metrics: budget of %.0f metrics per hour: %zu metrics skipped:\n", o->max_per_hour,
                p->skipped_budget);
        for (size_t i = 0; i < p->skipped.len; i++) fprintf(stderr, "  skipped %s\n", p->skipped.items[i]);
    }
    if (o->estimate) {
        fprintf(stderr,
                "metrics (estimate, no CloudWatch call): %zu components, %zu metrics this run in %zu GetMetricData "
                "calls (%zu of longer periods not due), %.0f per hour every %ld s%s; $%.4f this run, $%.4f per hour, "
                "$%.2f per 30 days at $%g per 1,000\n",
                p->components, p->requested, p->batches, p->not_due, p->per_hour, interval,
                o->prune ? " (before ListMetrics pruning)" : "", run, hour, hour * 720.0, price);
        return;
    }
    fprintf(stderr,
            "metrics: %zu components, %zu metrics planned (%zu without their dimensions, %zu pruned, %zu over budget, "
            "%zu not due); "
            "%zu requested in %zu GetMetricData calls, %zu ListMetrics calls; %zu series with data, %zu without, "
            "%zu failed; $%.4f this run, $%.4f per hour every %ld s at $%g per 1,000\n",
            p->components, p->planned, p->without_dims, p->pruned, p->skipped_budget, p->not_due, p->requested, p->calls,
            p->list_calls, with_data, p->no_data, p->failed, run, hour, interval, price);
    if (r->alarms)
        fprintf(stderr, "alarms: %zu alarms in %zu DescribeAlarms calls, %zu check states on components, %zu alarms "
                        "naming no component%s\n",
                p->alarms, p->alarm_calls, r->nhealth, p->alarms_unmapped,
                r->health_incomplete ? " (incomplete: the health snapshot is not closed)" : "");
}

/* ---- the command ---- */

int cmd_metrics(int argc, char **argv)
{
    metrics_cli m = {0};
    if (parse_args(&m, argc, argv) < 0) return EXIT_USAGE;
    awstopo_config cfg;
    if (cli_load_config(&cfg, m.scan.config_path) < 0) return EXIT_FAILURE_;
    metrics_report rep;
    int rc = metrics_execute(&m, &cfg, &rep);
    config_free(&cfg);
    return rc;
}

int metrics_execute(metrics_cli *mp, awstopo_config *cfgp, metrics_report *report)
{
    metrics_cli m = *mp;
    awstopo_config cfg = *cfgp;
    char err[1024];
    int rc = EXIT_OK;
    memset(report, 0, sizeof *report);
    if (build_options(&m, &cfg) < 0) {
        rc = EXIT_USAGE;
        goto out_cfg;
    }
    const scan_options *o = &m.scan;
    if (o->stackstate_url) config_set(&cfg.stackstate_url, o->stackstate_url);
    if (o->api_key) config_set(&cfg.api_key, o->api_key);
    if (o->instance) config_set(&cfg.instance, o->instance);
    if (o->spool) config_set(&cfg.spool_dir, o->spool);
    if (o->services) strlist_free(&cfg.services), split_list(o->services, &cfg.services);
    if (report_unknown_services(&o->co, &cfg.services, o->services != NULL)) {
        rc = o->services ? EXIT_USAGE : EXIT_FAILURE_;
        goto out_cfg;
    }
    if (m.mo.estimate) config_set(&cfg.stackstate_url, NULL);   /* nothing fetched, nothing sent */
    if (!cfg.stackstate_url && m.noutputs == 0 && !m.mo.estimate) m.outputs[m.noutputs++] = (metrics_output){ "-", MFORMAT_JSON, 1 };

    char *mpath = model_search_path(&m.scan.co), *mappath = mapping_search_path(&m.scan.co);
    model_registry *models = model_registry_new(mpath);
    engine_options eo = { .mapping_path = mappath, .verbose = m.scan.co.verbose, .cpu_ticks = 1 };
    engine *e = engine_new(&eo, models);
    topology file;
    topology_init(&file);
    run_state st = { .m = &m, .cfg = &cfg, .e = e, .models = models };
    st.cat = metrics_catalog_new(e, err, sizeof err);
    if (!st.cat) {
        cli_error("%s", err);
        rc = EXIT_FAILURE_;
        goto out;
    }
    if (m.topology_file) {
        if (metrics_load_topology(m.topology_file, &file) < 0) {
            rc = EXIT_FAILURE_;
            goto out;
        }
        topology_sort(&file);
        st.file = &file;
    }
    size_t naccounts = cfg.naccounts && !(st.file && m.mo.estimate) ? cfg.naccounts : 1;
    for (size_t i = 0; i < naccounts; i++) one_account(&st, cfg.naccounts ? &cfg.accounts[i] : NULL);
    if (st.failed_accounts < naccounts) print_report(&st.all, &m.mo);
    if (m.mo.component && st.failed_accounts < naccounts && st.all.report.components == 0) {
        cli_error("metrics: no component %s with declared metrics in %s", m.mo.component,
                  m.topology_file ? m.topology_file : "the scan");
        st.failed_accounts = naccounts;
    }

    intake_options io = { .instance_type = "aws", .instance_url = cfg.instance ? cfg.instance : "aws",
                          .collection_timestamp = (double)time(NULL) };
    int out_rc = 0;
    for (int i = 0; i < m.noutputs && !m.mo.estimate; i++)
        if (write_output(&m.outputs[i], &st.all, &io) < 0) out_rc = 2;
    if (cfg.stackstate_url && st.failed_accounts < naccounts) {
        int s = send_to_stackstate(&cfg, &st.all, &io);
        if (s > out_rc) out_rc = s;
    }
    *report = st.all.report;
    report->warnings = (strlist){0};   /* the report's lists stay with the result */
    report->skipped = (strlist){0};
    if (st.failed_accounts == naccounts || out_rc == 2) rc = EXIT_FAILURE_;
    else if (st.failed_accounts || st.all.report.failed || out_rc == 1 ||
             (m.mo.alarms && !m.mo.estimate && st.all.health_incomplete))
        rc = EXIT_PARTIAL;
out:
    metrics_result_free(&st.all);
    metrics_catalog_free(st.cat);
    topology_free(&file);
    engine_free(e);
    model_registry_free(models);
    free(mpath);
    free(mappath);
out_cfg:
    metrics_options_free(&m.mo);
    strlist_free(&m.flag_choose);
    strlist_free(&m.flag_tags);
    *cfgp = cfg;   /* the flags merged into it */
    return rc;
}
