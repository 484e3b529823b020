/* cmd_scan.c -- `awstopo scan`: the product's main job (the StackPack's topo-cron).
 *
 * For every configured account: resolve credentials and the account id,
 * start one mapping run per (mapping, region) -- once per account for global
 * mappings -- on one scheduler, and run them all concurrently. The
 * topologies of all accounts are merged into one snapshot, cut into intake
 * payloads and handed to the sinks: StackState (with its spool) and/or local
 * files. A snapshot in which any run failed is sent without stop_snapshot,
 * so StackState deletes nothing by mistake.
 */
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "embedded.h"
#include "engine.h"
#include "intake.h"
#include "lua_api.h"
#include "luajson.h"
#include "scheduler.h"
#include "sink.h"
#include "scan.h"
#include "shrink.h"
#include "util.h"

static const char help[] =
    "usage: awstopo scan [options]\n"
    "\n"
    "Scans the configured AWS accounts and regions and sends the topology to\n"
    "StackState and/or writes it locally.\n"
    "\n"
    "what to scan:\n"
    "  --config FILE            configuration file (docs/cli.md); AWSTOPO_CONFIG\n"
    "  --regions R1,R2          regions (default: the profile's / AWS_REGION)\n"
    "  --all-regions            every region of the account's partition\n"
    "  --services S1,S2         mapping names (default: all; see awstopo mappings)\n"
    "  --profile, --role-arn, --external-id, --session-name   credentials (awstopo --help)\n"
    "  --account-id ID          skip the sts GetCallerIdentity lookup\n"
    "  --demo                   scan the bundled demo account (recorded responses; no AWS)\n"
    "  --replay DIR             scan recorded responses: DIR/<region>/<mapping>.json (as --demo)\n"
    "\n"
    "where it goes:\n"
    "  --stackstate-url URL     StackState receiver base URL (AWSTOPO_STACKSTATE_URL)\n"
    "  --api-key KEY            StackState API key (AWSTOPO_API_KEY; prefer the variable)\n"
    "  --instance NAME          the StackPack's AWS instance name (AWSTOPO_INSTANCE)\n"
    "  --spool DIR              undelivered payloads wait here (default ~/.cache/awstopo/spool)\n"
    "  --output FILE|-          also write the topology here (repeatable)\n"
    "  --format intake|json|dot format of the --output before it (or after it); alone, the\n"
    "                           topology goes to stdout in that format. Default: from the\n"
    "                           file name (.dot -> dot, else intake)\n"
    "  --max-payload-items N    components+relations per payload (default 2500)\n"
    "  --allow-shrink           send a complete snapshot even when it has fewer than\n"
    "                           shrink_fraction (default 0.5) of the components of the last\n"
    "                           one sent for the instance; without it, such a snapshot goes\n"
    "                           without stop_snapshot (StackState deletes nothing), exit 1\n"
    "\n"
    "AWS calls are retried for a scan: throttling for up to 300 s per call ([scan]\n"
    "retry_budget in the config file, or AWSTOPO_RETRY_BUDGET, which wins), other\n"
    "transient failures up to 10 attempts, a 2xx that does not parse 5 (docs/cli.md).\n"
    "\n"
    "Exit codes: 0 complete, 1 partial (some service/region failed, or payloads are\n"
    "still spooled), 2 failure (nothing scanned or delivered), 64 usage (also: no\n"
    "mapping would run, e.g. a typo in --services; nothing is sent).\n";

/* ---- arguments ---- */

static int infer_format(const char *path, const char *explicit_format, output_format *out)
{
    if (explicit_format) return output_format_parse(explicit_format, out);
    size_t n = strlen(path);
    *out = n > 4 && strcmp(path + n - 4, ".dot") == 0 ? FORMAT_DOT : FORMAT_INTAKE;
    return 0;
}

static int bad_format(const char *format)
{
    if (format) cli_error("scan: unknown --format '%s' (intake, json or dot)", format);
    else cli_error("scan: a --format without an --output of its own");
    return -1;
}

/* What scan, record and metrics select and deliver alike. */
static const value_option scan_values[] = {
    { "--config", offsetof(scan_options, config_path) },
    { "--regions", offsetof(scan_options, regions) },
    { "--services", offsetof(scan_options, services) },
    { "--account-id", offsetof(scan_options, account_id) },
    { "--replay", offsetof(scan_options, replay_dir) },
    { "--stackstate-url", offsetof(scan_options, stackstate_url) },
    { "--api-key", offsetof(scan_options, api_key) },
    { "--instance", offsetof(scan_options, instance) },
    { "--spool", offsetof(scan_options, spool) },
};

int scan_option(scan_options *o, int argc, char **argv, int *i)
{
    if (strcmp(argv[*i], "--all-regions") == 0) {
        o->all_regions = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--demo") == 0) {
        o->demo = 1;
        return 1;
    }
    int rc = TAKE_LISTED(argc, argv, i, scan_values, o);
    return rc ? rc : common_option(&o->co, argc, argv, i);
}

static int parse_args(scan_options *o, int argc, char **argv)
{
    const char *format = NULL, *max_items = NULL;
    for (int i = 1; i < argc; i++) {
        const char *out = NULL;
        int rc;
#define VALUE(name, field) ((rc = take_value(argc, argv, &i, name, &(field))) != 0)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            exit(EXIT_OK);
        } else if (strcmp(argv[i], "--allow-shrink") == 0) {
            o->allow_shrink = 1;
        } else if (o->record && strcmp(argv[i], "--anonymize") == 0) {
            o->anonymize = 1;
        } else if (o->record && strcmp(argv[i], "--replay-layout") == 0) {
            o->replay_layout = 1;
        } else if ((o->record && VALUE("--out", o->record_dir)) || VALUE("--max-payload-items", max_items)) {
            if (rc < 0) return -1;
        } else if (VALUE("--output", out)) {
            if (rc < 0) return -1;
            if (o->noutputs == (int)(sizeof o->outputs / sizeof *o->outputs)) {
                cli_error("scan: too many --output options");
                return -1;
            }
            output_spec *spec = &o->outputs[o->noutputs++];
            spec->path = out;
            spec->format_given = format != NULL;
            if (infer_format(out, format, &spec->format) < 0) return bad_format(format);
            format = NULL;
        } else if (VALUE("--format", format)) {
            if (rc < 0) return -1;
            output_spec *last = o->noutputs ? &o->outputs[o->noutputs - 1] : NULL;
            if (last && !last->format_given) {     /* --output FILE --format F */
                if (output_format_parse(format, &last->format) < 0) return bad_format(format);
                last->format_given = 1;
                format = NULL;
            }
        } else if ((rc = scan_option(o, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else {
            cli_error("scan: unknown argument '%s' (see awstopo scan --help)", argv[i]);
            return -1;
        }
#undef VALUE
    }
    if (format) {                                  /* --format F alone: stdout */
        if (o->noutputs) return bad_format(NULL);
        o->outputs[0] = (output_spec){ "-", FORMAT_JSON, 1 };
        if (output_format_parse(format, &o->outputs[0].format) < 0) return bad_format(format);
        o->noutputs = 1;
    }
    if (max_items) {
        char *end;
        long n = strtol(max_items, &end, 10);
        if (end == max_items || *end || n < 1) {
            cli_error("scan: --max-payload-items wants a positive number (got '%s')", max_items);
            return -1;
        }
        o->max_items = (size_t)n;
    }
    if (o->replay_dir) o->demo = 1;
    if (!o->config_path) o->config_path = getenv("AWSTOPO_CONFIG");
    return 0;
}

/* ---- progress ---- */

static void on_run_finished(mapping_run *r, void *ud)
{
    progress *p = ud;
    p->done++;
    if (run_error(r)) p->failed++;
    if (!p->tty) return;
    topology *t = run_topology(r);
    fprintf(stderr, "  [%3zu/%zu] %-15s %-15s %6zu components %6zu relations %5zu calls %6.2fs%s%s\n",
            p->done, p->total, run_name(r), run_region(r), t->components.len, t->relations.len,
            run_calls(r), run_seconds(r), run_error(r) ? "  FAILED: " : "", run_error(r) ? run_error(r) : "");
}

/* ---- one account ---- */

static void add_run(account_scan *a, mapping_run *r)
{
    if (a->nruns == a->capruns) {
        a->capruns = a->capruns ? a->capruns * 2 : 32;
        a->runs = xrealloc(a->runs, a->capruns * sizeof *a->runs);
    }
    a->runs[a->nruns++] = r;
}

/* Asks AWS about the account (core/account.lua: what is "id" or "regions")
 * and returns the string found (caller frees), or NULL with why in err. */
static char *ask_account(aws_client *c, model_registry *models, const char *what, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_host host = { .name = "scan", .client = c, .models = models };
    lua_pushstring(L, what);
    char *out = NULL;
    if (lua_api_run_chunk(L, &host, account_lua, account_lua_len, "=account.lua", 1) == 0 && lua_isstring(L, -1))
        out = xstrdup(lua_tostring(L, -1));
    else
        set_err(err, errlen, "%s", luaL_tolstring(L, -1, NULL));
    lua_close(L);
    lua_host_free(&host);
    return out;
}

char *lookup_account_id(aws_client *c, model_registry *models, char *err, size_t errlen)
{
    char why[768];
    char *id = ask_account(c, models, "id", why, sizeof why);
    if (!id) snprintf(err, errlen, "cannot find the account id (sts GetCallerIdentity): %s", why);
    return id;
}

/* --all-regions: the regions enabled for the account (ec2 DescribeRegions),
 * as the AWS console lists them; when that is denied, every region of the
 * partition that offers EC2, from the endpoints data. */
static void all_regions(account_scan *a, model_registry *models)
{
    char err[768];
    char *list = ask_account(a->client, models, "regions", err, sizeof err);
    if (list && *list) {
        split_list(list, &a->regions);
    } else {
        cli_error("account %s: ec2 DescribeRegions failed (%s); scanning every region of %s", a->name, err,
                  a->partition);
        size_t n = 0;
        const char **regions = client_service_regions(a->client, "ec2", a->partition, &n);
        for (size_t i = 0; i < n; i++) strlist_add(&a->regions, regions[i]);
        free(regions);
    }
    free(list);
}

/* The regions a replay directory has recordings for (its subdirectories). */
static void replay_regions(const scan_options *o, strlist *out)
{
    buf dir = {0};
    if (o->replay_dir) buf_puts(&dir, o->replay_dir);
    else buf_printf(&dir, "%s/demo", data_dir());
    DIR *d = opendir(dir.data);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        buf sub = {0};
        buf_printf(&sub, "%s/%s", dir.data, e->d_name);
        struct stat st;
        if (stat(sub.data, &st) == 0 && S_ISDIR(st.st_mode)) strlist_add(out, e->d_name);
        buf_free(&sub);
    }
    if (d) closedir(d);
    buf_free(&dir);
    qsort(out->items, out->len, sizeof *out->items, compare_strings);
}

static void pick_regions(account_scan *a, const scan_options *o, const awstopo_config *cfg,
                         const account_config *ac, model_registry *models)
{
    if (o->regions) {
        split_list(o->regions, &a->regions);
    } else if (ac && ac->regions.len) {
        for (size_t i = 0; i < ac->regions.len; i++) strlist_add(&a->regions, ac->regions.items[i]);
    } else {
        for (size_t i = 0; i < cfg->regions.len; i++) strlist_add(&a->regions, cfg->regions.items[i]);
    }
    int all = o->all_regions || (a->regions.len == 1 && strcmp(a->regions.items[0], "all") == 0);
    if (all && a->client) {
        strlist_free(&a->regions);
        all_regions(a, models);
    }
    if (!a->regions.len && !a->client) replay_regions(o, &a->regions);
    if (!a->regions.len) strlist_add(&a->regions, a->client ? client_region(a->client) : DEFAULT_REGION);
}

/* Recorded responses for (mapping, region): <dir>/<region>/<mapping>.json, or NULL. */
static char *demo_responses(const char *dir, const char *mapping, const char *region, size_t *len)
{
    buf p = {0};
    if (dir) buf_printf(&p, "%s/%s/%s.json", dir, region, mapping);
    else buf_printf(&p, "%s/demo/%s/%s.json", data_dir(), region, mapping);
    char *text = read_file_maybe_gz(p.data, len);
    buf_free(&p);
    return text;
}

/* Starts the runs of one mapping: one per region, or one for a global mapping. */
static void start_mapping(account_scan *a, engine *e, sched *s, const char *mapping, const char *instance,
                          const char *const *regions, const scan_options *o, progress *prog)
{
    for (size_t i = 0; i < a->regions.len; i++) {
        const char *region = a->regions.items[i];
        /* each region's own partition: --regions cn-north-1 with a default
         * region in aws must still build arn:aws-cn:... ids */
        const char *partition = a->client ? client_partition(a->client, region) : a->partition;
        run_info info = { a->account_id, region, partition, instance, regions };
        char err[1024];
        size_t len = 0;
        char *demo = NULL;
        if (!a->client && !(demo = demo_responses(o->replay_dir, mapping, region, &len))) continue;
        mapping_run *r = run_new(e, mapping, &info, a->client, err, sizeof err);
        if (!r) {
            cli_error("%s", err);
            prog->failed++;
            free(demo);
            return;
        }
        if (demo && run_set_replay(r, demo, len, err, sizeof err) < 0) cli_error("demo %s: %s", mapping, err);
        if (o->record) run_set_record(r, o->anonymize);
        else run_release_when_done(r);
        topology_spill_ids(run_topology(r));
        free(demo);
        int global = run_is_global(r);
        add_run(a, r);
        prog->total++;
        run_start_scan(r, s);
        if (global) return;
    }
}

/* ---- summary and delivery ---- */

void collect(account_scan *a, topology *all, totals *t, int verbose)
{
    for (size_t i = 0; i < a->nruns; i++) {
        mapping_run *r = a->runs[i];
        const strlist *w = run_warnings(r);
        t->warnings += w->len;
        t->calls += run_calls(r);
        for (size_t k = 0; k < w->len && verbose; k++)
            fprintf(stderr, "warning: %s %s: %s\n", run_name(r), run_region(r), w->items[k]);
        if (run_error(r)) {
            t->failed_runs++;
            fprintf(stderr, "error: %s (%s, %s)\n", run_error(r), a->name, run_region(r));
        }
        topology_merge(all, run_topology(r));
    }
}

/* Hands the merged topology to the outputs and to StackState (scan.h). The intake
 * payloads are made one at a time as each sink takes them (intake_each),
 * never all in memory; both get the same collection time, so the file shows
 * exactly what StackState got. */
static int deliver(const scan_options *o, const awstopo_config *cfg, topology *all, int complete)
{
    return deliver_topology(o->outputs, o->noutputs, o->max_items, cfg, all,
                            complete ? INTAKE_SNAPSHOT_COMPLETE : INTAKE_SNAPSHOT_INCOMPLETE);
}

void stackstate_spool_dir(const awstopo_config *cfg, buf *out)
{
    if (cfg->spool_dir) buf_puts(out, cfg->spool_dir);
    else buf_printf(out, "%s/.cache/awstopo/spool", getenv("HOME") ? getenv("HOME") : "/tmp");
}

stackstate_sink *open_stackstate_sink(const awstopo_config *cfg, buf *spool, char *err, size_t errlen)
{
    stackstate_spool_dir(cfg, spool);
    const char *base_ms = getenv("AWSTOPO_RETRY_BASE_MS");   /* delivery backs off like AWS calls */
    stackstate_options so = { .base_url = cfg->stackstate_url, .api_key = cfg->api_key,
                              .spool_dir = spool->data, .spool_max_bytes = cfg->spool_max_mb << 20,
                              .retry_base_ms = base_ms ? atol(base_ms) : 0 };
    return stackstate_sink_new(&so, err, errlen);
}

int deliver_topology(const output_spec *outputs, int noutputs, size_t max_items, const awstopo_config *cfg,
                     topology *all, intake_mode mode)
{
    intake_options io = { .instance_type = "aws", .instance_url = cfg->instance ? cfg->instance : "aws",
                          .max_items = max_items, .collection_timestamp = (double)time(NULL) };
    malloc_trim(0);       /* the runs' heaps are gone: give their pages back before the ids come in */
    topology_sort(all);   /* items in externalId order: the same account gives the same output */
    int rc = 0;
    char err[1024];
    for (int i = 0; i < noutputs; i++) {
        if (sink_file_write_topology(outputs[i].path, outputs[i].format, all, &io, mode, err, sizeof err) < 0) {
            cli_error("%s", err);
            rc = 2;
        }
    }
    if (cfg->stackstate_url) {
        buf spool = {0};
        stackstate_sink *sink = open_stackstate_sink(cfg, &spool, err, sizeof err);
        if (!sink) {
            cli_error("%s", err);
            rc = 2;
        } else {
            sink_result sent = stackstate_sink_send_topology(sink, all, &io, mode, err, sizeof err);
            const sink_stats *st = stackstate_sink_stats(sink);
            fprintf(stderr, "stackstate: %zu payloads delivered, %zu spooled, %zu retries", st->delivered,
                    st->spooled, st->retries);
            if (st->splits) fprintf(stderr, ", %zu cut in two (HTTP 413)", st->splits);
            if (st->rejected) fprintf(stderr, ", %zu refused and moved to %s/rejected", st->rejected, spool.data);
            if (st->corrupt) fprintf(stderr, ", %zu unreadable and moved to %s/corrupt", st->corrupt, spool.data);
            fputc('\n', stderr);
            if (sent != SINK_DELIVERED) cli_error("%s", err);   /* refused, or why payloads stay spooled */
            if (sent != SINK_DELIVERED && rc == 0) rc = sent == SINK_REFUSED ? 2 : 1;
            stackstate_sink_free(sink);
        }
        buf_free(&spool);
    }
    return rc;
}

/* ---- the shrink guard (shrink.h) ---- */

static const char *instance_of(const awstopo_config *cfg)
{
    return cfg->instance ? cfg->instance : "aws";
}

/* 1 when a complete snapshot of `components` must go without stop_snapshot:
 * fewer than the configured fraction of the last one sent for the instance. */
static int shrink_guard(const scan_options *o, const awstopo_config *cfg, size_t components)
{
    if (!cfg->stackstate_url || o->allow_shrink || cfg->allow_shrink) return 0;
    double fraction = cfg->shrink_set ? cfg->shrink_fraction : SHRINK_DEFAULT_FRACTION;
    buf spool = {0};
    stackstate_spool_dir(cfg, &spool);
    long last = shrink_last(spool.data, instance_of(cfg));
    buf_free(&spool);
    if (!shrink_too_small(components, last, fraction)) return 0;
    cli_error("warning: the snapshot has %zu components, fewer than %.0f%% of the %ld of the last one sent "
              "for instance %s: sent without stop_snapshot, so StackState deletes nothing. If the account "
              "really shrank, scan again with --allow-shrink (or allow_shrink = true in [scan])",
              components, fraction * 100, last, instance_of(cfg));
    return 1;
}

static void remember_size(const awstopo_config *cfg, size_t components)
{
    char err[1024];
    buf spool = {0};
    stackstate_spool_dir(cfg, &spool);
    if (shrink_remember(spool.data, instance_of(cfg), components, err, sizeof err) < 0)
        cli_error("warning: the shrink guard cannot remember this snapshot: %s", err);
    buf_free(&spool);
}

/* ---- the command ---- */

static void no_mapping_ran(const awstopo_config *cfg)
{
    buf names = {0};
    for (size_t i = 0; i < cfg->services.len; i++)
        buf_printf(&names, "%s%s", i ? "," : "", cfg->services.items[i]);
    cli_error("scan: no mapping ran (services: %s): nothing sent, since an empty snapshot would delete "
              "the instance's topology in StackState (see awstopo mappings list)",
              names.len ? names.data : "all");
    buf_free(&names);
}

static void merge_flags(awstopo_config *cfg, const scan_options *o)
{
    if (o->stackstate_url) config_set(&cfg->stackstate_url, o->stackstate_url);
    if (o->api_key) config_set(&cfg->api_key, o->api_key);
    if (o->instance) config_set(&cfg->instance, o->instance);
    if (o->spool) config_set(&cfg->spool_dir, o->spool);
    if (o->services) {
        strlist_free(&cfg->services);
        split_list(o->services, &cfg->services);
    }
    if (o->demo && !cfg->instance) config_set(&cfg->instance, "demo");
}

/* Credentials of one account: the flags win over the file. */
static common_options account_options(const scan_options *o, const awstopo_config *cfg, const account_config *ac)
{
    common_options co = account_credentials(&o->co, ac);
    co.scan = 1;
    co.retry_budget_s = cfg->retry_budget_s;
    return co;
}

common_options account_credentials(const common_options *flags, const account_config *ac)
{
    common_options co = *flags;
    if (ac) {
        if (!co.profile) co.profile = ac->profile;
        if (!co.role_arn) co.role_arn = ac->role_arn;
        if (!co.external_id) co.external_id = ac->external_id;
        if (!co.session_name) co.session_name = ac->session_name;
    }
    return co;
}

int scan_account(const scan_options *o, const awstopo_config *cfg, const account_config *ac, engine *e,
                        model_registry *models, account_scan *a, progress *prog)
{
    char err[1024];
    a->name = ac ? ac->name : "default";
    if (!o->demo) {
        common_options co = account_options(o, cfg, ac);
        a->client = make_client(&co, models, err, sizeof err);
        if (!a->client) {
            cli_error("account %s: %s", a->name, err);
            return -1;
        }
        a->partition = client_partition(a->client, client_region(a->client));
        const char *known = o->account_id ? o->account_id : ac ? ac->account_id : NULL;
        a->account_id = known ? xstrdup(known) : lookup_account_id(a->client, models, err, sizeof err);
        if (!a->account_id) {
            cli_error("account %s: %s", a->name, err);
            return -1;
        }
    } else {
        a->partition = "aws";
        a->account_id = xstrdup(PLACEHOLDER_ACCOUNT_ID);
    }
    pick_regions(a, o, cfg, ac, models);
    strlist names = {0};
    if (cfg->services.len) {
        for (size_t i = 0; i < cfg->services.len; i++) strlist_add(&names, cfg->services.items[i]);
    } else {
        engine_list(e, &names);
    }
    const char **regions = xcalloc(a->regions.len + 1, sizeof *regions);
    for (size_t i = 0; i < a->regions.len; i++) regions[i] = a->regions.items[i];
    if (prog->tty)
        fprintf(stderr, "account %s (%s): %zu mappings x %zu regions\n", a->name, a->account_id, names.len,
                a->regions.len);
    sched *s = sched_new(a->client ? client_http(a->client) : NULL);
    for (size_t i = 0; i < names.len; i++)
        start_mapping(a, e, s, names.items[i], cfg->instance ? cfg->instance : "aws", regions, o, prog);
    sched_run(s);
    sched_free(s);
    free(regions);
    strlist_free(&names);
    return 0;
}

void free_account(account_scan *a)
{
    for (size_t i = 0; i < a->nruns; i++) run_free(a->runs[i]);
    free(a->runs);
    strlist_free(&a->regions);
    free(a->account_id);
    client_free(a->client);
}

/* Services that name no mapping: a typo must not scan less than asked
 * without a word. 0, or the exit code: 64 for --services, 2 for the
 * environment or the file. */
static int bad_service_names(const awstopo_config *cfg, const scan_options *o)
{
    if (!report_unknown_services(&o->co, &cfg->services, o->services != NULL)) return 0;
    cli_error("%s: no mapping ran: nothing sent", o->record ? "record" : "scan");
    return o->services ? EXIT_USAGE : EXIT_FAILURE_;
}

int cmd_scan(int argc, char **argv)
{
    return scan_or_record(argc, argv, 0);
}

int scan_or_record(int argc, char **argv, int record)
{
    scan_options o = {0};
    o.record = record;
    if (parse_args(&o, argc, argv) < 0) return EXIT_USAGE;
    awstopo_config cfg;
    if (cli_load_config(&cfg, o.config_path) < 0) return EXIT_FAILURE_;
    scan_summary sum;
    int rc = scan_execute(&o, &cfg, &sum);
    config_free(&cfg);
    return rc;
}

int scan_execute(scan_options *o, awstopo_config *cfg, scan_summary *sum)
{
    merge_flags(cfg, o);
    if (o->record) config_set(&cfg->stackstate_url, NULL);   /* recording sends nothing */
    if (!cfg->stackstate_url && o->noutputs == 0 && !o->record) {   /* nowhere to go: print it */
        o->outputs[0] = (output_spec){ "-", FORMAT_JSON, 1 };
        o->noutputs = 1;
    }

    long long t0 = sched_now_ms();
    char *mpath = model_search_path(&o->co), *mappath = mapping_search_path(&o->co);
    model_registry *models = model_registry_new(mpath);
    progress prog = { isatty(2), 0, 0, 0 };
    engine_options eo = { .mapping_path = mappath, .verbose = o->co.verbose, .cpu_ticks = 1,
                          .on_finish = on_run_finished, .on_finish_ud = &prog };
    engine *e = engine_new(&eo, models);
    int bad = bad_service_names(cfg, o);
    if (bad) {
        memset(sum, 0, sizeof *sum);
        engine_free(e);
        model_registry_free(models);
        free(mpath);
        free(mappath);
        return bad;
    }

    size_t naccounts = cfg->naccounts ? cfg->naccounts : 1;
    account_scan *accounts = xcalloc(naccounts, sizeof *accounts);
    topology all;
    topology_init(&all);
    topology_spill_ids(&all);   /* the ids wait on disk until the topology is sorted */
    totals t = {0};
    size_t failed_accounts = 0;
    client_stats cs = {0};
    for (size_t i = 0; i < naccounts; i++) {
        const account_config *ac = cfg->naccounts ? &cfg->accounts[i] : NULL;
        if (scan_account(o, cfg, ac, e, models, &accounts[i], &prog) < 0) failed_accounts++;
        if (o->record && write_recordings(o, &accounts[i])) failed_accounts++;
        collect(&accounts[i], &all, &t, o->co.verbose);
        if (accounts[i].client) {
            const client_stats *s = client_get_stats(accounts[i].client);
            cs.calls += s->calls;
            cs.retries += s->retries;
            cs.throttles += s->throttles;
            cs.failures += s->failures;
        }
    }
    int complete = failed_accounts == 0 && t.failed_runs == 0 && prog.failed == 0;
    /* No mapping ran (a typo in --services, regions without recordings): a
     * complete, empty snapshot would delete the instance's whole topology. */
    int none_ran = prog.total == 0 && failed_accounts < naccounts;
    if (none_ran) no_mapping_ran(cfg);
    if (complete && !none_ran && shrink_guard(o, cfg, all.components.len)) complete = 0;
    /* No account scanned: nothing to say, not even an empty snapshot start. */
    int delivered = failed_accounts == naccounts || none_ran ? 2 : deliver(o, cfg, &all, complete);
    if (complete && delivered != 2 && cfg->stackstate_url && !o->record) remember_size(cfg, all.components.len);

    *sum = (scan_summary){ .components = all.components.len, .relations = all.relations.len, .runs = prog.total,
                           .failed_runs = prog.failed, .calls = o->demo ? t.calls : cs.calls,
                           .retries = cs.retries, .throttles = cs.throttles, .warnings = t.warnings,
                           .complete = complete, .seconds = (double)(sched_now_ms() - t0) / 1000.0 };
    fprintf(stderr,
            "scan: %zu components, %zu relations; %zu runs, %zu failed; %zu API calls, %zu retries, "
            "%zu throttled; %zu warnings; %.2fs%s\n",
            sum->components, sum->relations, sum->runs, sum->failed_runs, sum->calls, sum->retries, sum->throttles,
            sum->warnings, sum->seconds, complete ? "" : " (incomplete: no stop_snapshot sent)");

    int rc = EXIT_OK;
    if (none_ran) rc = EXIT_USAGE;
    else if (failed_accounts == naccounts || delivered == 2) rc = EXIT_FAILURE_;
    else if (!complete || delivered == 1) rc = EXIT_PARTIAL;
    for (size_t i = 0; i < naccounts; i++) free_account(&accounts[i]);
    free(accounts);
    topology_free(&all);
    engine_free(e);
    model_registry_free(models);
    free(mpath);
    free(mappath);
    return rc;
}
