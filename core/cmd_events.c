/* cmd_events.c -- `awstopo events process`: AWS events -> topology updates
 * (the CLI twin of the StackPack's topo-cwevents Lambda).
 *
 * The events of all inputs (events.c reads every form) are ordered by time
 * and routed: by eventSource to the mappings of that service (the endpoint
 * prefix of their model; ELB classic and v2 share one, the event's
 * apiVersion tells them apart), by eventName (or EventBridge detail-type) to
 * a mapping that has a handler for it. Failed calls (errorCode) change
 * nothing and are skipped. The events of one (account, region, mapping) go
 * to one mapping run as a batch (engine.h: run_start_events): the newest
 * event per resource is handled, with live calls in the event's own account
 * (its configured credentials) and region. The result is an incremental
 * update -- components, relations, delete_ids; never a snapshot.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "engine.h"
#include "events.h"
#include "intake.h"
#include "kinesis.h"
#include "scan.h"
#include "daemon.h"
#include "scheduler.h"

static const char help[] =
    "usage: awstopo events process [options] [FILE|-]...\n"
    "       awstopo events consume --kinesis-stream NAME [--once] [options]\n"
    "\n"
    "Runs AWS events through the mappings' event handlers, which describe the\n"
    "resources again with live AWS calls, and writes or sends the topology update\n"
    "(components, relations, delete_ids; no snapshot). FILE (default: standard\n"
    "input) holds EventBridge events, CloudTrail records, CloudTrail log files\n"
    "({\"Records\": [...]}) or Firehose-concatenated EventBridge events; gzipped or\n"
    "not. See docs/events.md.\n"
    "\n"
    "  --config FILE            configuration file: [account] sections give the\n"
    "                           credentials of each account events come from; AWSTOPO_CONFIG\n"
    "  --account-id ID          the default credentials' account (skips sts GetCallerIdentity)\n"
    "  --regions R1,R2          the regions in scope (as for scan): events of other regions are\n"
    "                           skipped (default: [scan] regions; none: every region)\n"
    "  --services S1,S2         only these mappings\n"
    "  --profile, --region, --role-arn, ...   credentials (awstopo --help)\n"
    "  --output FILE|-          write the update here (repeatable)\n"
    "  --format json|intake     format of the --output before it (or, alone: stdout); default json\n"
    "  --stackstate-url URL     send it to StackState (AWSTOPO_STACKSTATE_URL), through the spool\n"
    "  --api-key KEY            StackState API key (AWSTOPO_API_KEY; prefer the variable)\n"
    "  --instance NAME          the StackPack's AWS instance name (AWSTOPO_INSTANCE)\n"
    "  --spool DIR              undelivered payloads wait here (default ~/.cache/awstopo/spool)\n"
    "  --kinesis-stream NAME    process: publish the update to this Kinesis stream (docs/kinesis.md);\n"
    "                           consume: read updates from it and send them to StackState\n"
    "  --kinesis-region REGION  the stream's region (default: the default region)\n"
    "\n"
    "consume only:\n"
    "  --once                   read what the stream holds, then exit (else: run until SIGTERM)\n"
    "  --checkpoint-dir DIR     one checkpoint per shard (default ~/.cache/awstopo/kinesis/<stream>)\n"
    "  --poll-ms N              pause when every shard is caught up (default 1000)\n"
    "\n"
    "Exit codes: 0 every event handled or rightly skipped; 1 partial (malformed\n"
    "input, a handler failed, an account not configured, payloads still spooled);\n"
    "2 failure (no credentials, nothing delivered); 64 usage.\n";

typedef struct events_options {
    common_options co;
    const char *config_path, *account_id, *services, *regions;
    const char *stackstate_url, *api_key, *instance, *spool;
    const char *kinesis_stream, *kinesis_region, *checkpoint_dir, *poll_ms;
    int consume, once;
    output_spec outputs[8];
    int noutputs;
    strlist inputs;
} events_options;

static int bad_format(const char *format)
{
    cli_error("events: unknown --format '%s' (json or intake)", format);
    return -1;
}

static int parse_format(const char *name, output_format *f)
{
    if (output_format_parse(name, f) < 0 || *f == FORMAT_DOT) return bad_format(name);
    return 0;
}

static const value_option events_values[] = {
    { "--config", offsetof(events_options, config_path) },
    { "--account-id", offsetof(events_options, account_id) },
    { "--services", offsetof(events_options, services) },
    { "--regions", offsetof(events_options, regions) },
    { "--stackstate-url", offsetof(events_options, stackstate_url) },
    { "--api-key", offsetof(events_options, api_key) },
    { "--instance", offsetof(events_options, instance) },
    { "--spool", offsetof(events_options, spool) },
    { "--kinesis-stream", offsetof(events_options, kinesis_stream) },
    { "--kinesis-region", offsetof(events_options, kinesis_region) },
};

/* events consume only */
static const value_option consume_values[] = {
    { "--checkpoint-dir", offsetof(events_options, checkpoint_dir) },
    { "--poll-ms", offsetof(events_options, poll_ms) },
};

static int parse_args(events_options *o, int argc, char **argv)
{
    const char *format = NULL;
    for (int i = 1; i < argc; i++) {
        const char *out = NULL;
        int rc;
#define VALUE(name, field) ((rc = take_value(argc, argv, &i, name, &(field))) != 0)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            exit(EXIT_OK);
        } else if ((rc = TAKE_LISTED(argc, argv, &i, events_values, o)) != 0 ||
                   (o->consume && (rc = TAKE_LISTED(argc, argv, &i, consume_values, o)) != 0)) {
            if (rc < 0) return -1;
        } else if (VALUE("--output", out)) {
            if (rc < 0) return -1;
            if (o->noutputs == (int)(sizeof o->outputs / sizeof *o->outputs)) {
                cli_error("events: too many --output options");
                return -1;
            }
            output_spec *spec = &o->outputs[o->noutputs++];
            *spec = (output_spec){ out, FORMAT_JSON, format != NULL };
            if (format && parse_format(format, &spec->format) < 0) return -1;
            format = NULL;
        } else if (VALUE("--format", format)) {
            if (rc < 0) return -1;
            output_spec *last = o->noutputs ? &o->outputs[o->noutputs - 1] : NULL;
            if (last && !last->format_given) {
                if (parse_format(format, &last->format) < 0) return -1;
                last->format_given = 1;
                format = NULL;
            }
        } else if (o->consume && strcmp(argv[i], "--once") == 0) {
            o->once = 1;
        } else if ((rc = common_option(&o->co, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || o->consume) {
            cli_error("events %s: unknown argument '%s' (see awstopo events --help)", argv[0], argv[i]);
            return -1;
        } else {
            strlist_add(&o->inputs, argv[i]);
        }
#undef VALUE
    }
    if (format) {
        if (o->noutputs) {
            cli_error("events: a --format without an --output of its own");
            return -1;
        }
        o->outputs[0] = (output_spec){ "-", FORMAT_JSON, 1 };
        if (parse_format(format, &o->outputs[0].format) < 0) return -1;
        o->noutputs = 1;
    }
    if (o->consume) {
        if (!o->kinesis_stream) {
            cli_error("events consume: --kinesis-stream NAME is needed");
            return -1;
        }
        for (int k = 0; k < o->noutputs; k++) {
            if (strcmp(o->outputs[k].path, "-") != 0) {
                cli_error("events consume: --output takes only - (one update per line of standard output)");
                return -1;
            }
        }
    } else if (!o->inputs.len) {
        if (isatty(0)) {
            cli_error("events process: no input (give FILE, or - for standard input)");
            return -1;
        }
        strlist_add(&o->inputs, "-");
    }
    if (!o->config_path) o->config_path = getenv("AWSTOPO_CONFIG");
    return 0;
}

/* ---- routing: which mappings take an event ---- */

typedef struct route {
    char *name;               /* mapping */
    const char *prefix;       /* its model's endpoint prefix (owned by the registry) */
    const char *api_version;
    mapping_run *probe;       /* loaded once, to ask for handlers */
    int global;               /* scope "global": one run per account, in its home region */
    int enabled;              /* not left out by --services / [scan] services */
} route;

typedef struct router {
    route *routes;
    size_t len;
} router;

static int listed(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i], s) == 0) return 1;
    return 0;
}

/* Every mapping on the path is loaded, so that an event of a mapping left
 * out (--services) is never taken by another one of the same service. */
static int router_init(router *rt, engine *e, model_registry *models, const strlist *only)
{
    strlist names = {0};
    engine_list(e, &names);
    int rc = 0;
    for (size_t i = 0; i < only->len; i++) {
        if (!listed(&names, only->items[i])) {
            cli_error("no mapping named '%s' (see awstopo mappings list)", only->items[i]);
            rc = -1;
        }
    }
    rt->routes = xcalloc(names.len ? names.len : 1, sizeof *rt->routes);
    for (size_t i = 0; i < names.len; i++) {
        char err[1024];
        run_info info = { 0 };
        mapping_run *probe = run_new(e, names.items[i], &info, NULL, err, sizeof err);
        const aws_model *m = probe ? model_registry_get(models, run_service(probe), err, sizeof err) : NULL;
        if (!m) {
            cli_error("%s", err);
            run_free(probe);
            rc = -1;
            continue;
        }
        rt->routes[rt->len++] = (route){ xstrdup(names.items[i]), m->endpoint_prefix, m->api_version, probe,
                                         run_is_global(probe), !only->len || listed(only, names.items[i]) };
    }
    strlist_free(&names);
    return rc;
}

static void router_free(router *rt)
{
    for (size_t i = 0; i < rt->len; i++) {
        free(rt->routes[i].name);
        run_free(rt->routes[i].probe);
    }
    free(rt->routes);
}

/* Fills take[i] for each route that handles e. ELB classic and v2 share an
 * endpoint prefix: when the event's apiVersion is one of the models', only
 * that model's mappings take it. Returns how many. */
static size_t route_event(const router *rt, const event_rec *e, int *take)
{
    int version_known = 0;
    for (size_t i = 0; i < rt->len; i++)
        if (e->api_version && rt->routes[i].api_version && strcmp(rt->routes[i].prefix, e->source) == 0 &&
            strcmp(rt->routes[i].api_version, e->api_version) == 0)
            version_known = 1;
    size_t n = 0;
    for (size_t i = 0; i < rt->len; i++) {
        const route *r = &rt->routes[i];
        take[i] = r->enabled && strcmp(r->prefix, e->source) == 0 &&
                  (!version_known || (r->api_version && strcmp(r->api_version, e->api_version) == 0)) &&
                  run_handles(r->probe, e->name);
        n += (size_t)take[i];
    }
    return n;
}

/* ---- accounts ---- */

typedef struct account {
    const account_config *ac;   /* NULL: the default credentials */
    char *id;                   /* NULL until known */
    aws_client *client;         /* NULL until needed */
    int broken;                 /* credentials or id could not be had */
} account;

typedef struct accounts {
    account *items;
    size_t len;
    const events_options *o;
    model_registry *models;
} accounts;

static void accounts_init(accounts *as, const events_options *o, const awstopo_config *cfg, model_registry *models)
{
    as->o = o;
    as->models = models;
    as->len = cfg->naccounts ? cfg->naccounts : 1;
    as->items = xcalloc(as->len, sizeof *as->items);
    for (size_t i = 0; i < cfg->naccounts; i++) {
        as->items[i].ac = &cfg->accounts[i];
        if (cfg->accounts[i].account_id) as->items[i].id = xstrdup(cfg->accounts[i].account_id);
    }
    if (!cfg->naccounts && o->account_id) as->items[0].id = xstrdup(o->account_id);
}

static int account_connect(accounts *as, account *a)
{
    if (a->client || a->broken) return a->broken ? -1 : 0;
    char err[1024];
    common_options co = account_credentials(&as->o->co, a->ac);
    const char *name = a->ac ? a->ac->name : "default";
    a->client = make_client(&co, as->models, err, sizeof err);
    if (a->client && !a->id) a->id = lookup_account_id(a->client, as->models, err, sizeof err);
    if (!a->client || !a->id) {
        cli_error("account %s: %s", name, err);
        a->broken = 1;
        return -1;
    }
    return 0;
}

/* The account whose credentials serve events of account id (NULL: the
 * first), connected; NULL when none is configured for it or it failed. */
static account *account_for(accounts *as, const char *id)
{
    if (!id) return account_connect(as, &as->items[0]) == 0 ? &as->items[0] : NULL;
    for (size_t i = 0; i < as->len; i++)
        if (as->items[i].id && strcmp(as->items[i].id, id) == 0)
            return account_connect(as, &as->items[i]) == 0 ? &as->items[i] : NULL;
    for (size_t i = 0; i < as->len; i++) {   /* ids not known yet: ask sts, once each */
        account *a = &as->items[i];
        if (!a->id && account_connect(as, a) == 0 && strcmp(a->id, id) == 0) return a;
    }
    return NULL;
}

static void accounts_free(accounts *as)
{
    for (size_t i = 0; i < as->len; i++) {
        free(as->items[i].id);
        client_free(as->items[i].client);
    }
    free(as->items);
}

/* ---- batches: the events of one (account, region, mapping) ---- */

typedef struct batch {
    account *acct;
    const char *region;
    size_t route;
    size_t *events;           /* indices into the event list, oldest first */
    size_t len, cap;
    mapping_run *run;
} batch;

typedef struct batches {
    batch *items;
    size_t len, cap;
} batches;

static batch *batch_for(batches *bs, account *a, const char *region, size_t route)
{
    for (size_t i = 0; i < bs->len; i++)
        if (bs->items[i].acct == a && bs->items[i].route == route && strcmp(bs->items[i].region, region) == 0)
            return &bs->items[i];
    if (bs->len == bs->cap) {
        bs->cap = bs->cap ? bs->cap * 2 : 16;
        bs->items = xrealloc(bs->items, bs->cap * sizeof *bs->items);
    }
    bs->items[bs->len] = (batch){ .acct = a, .region = region, .route = route };
    return &bs->items[bs->len++];
}

static void batch_add(batch *b, size_t event)
{
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->events = xrealloc(b->events, b->cap * sizeof *b->events);
    }
    b->events[b->len++] = event;
}

/* ---- the command ---- */

typedef struct tally {
    size_t read, handled, superseded, no_handler, failed_calls, out_of_scope, malformed, failed;
} tally;

enum { OUT_NONE, OUT_SUPERSEDED, OUT_HANDLED, OUT_FAILED };   /* an event's outcome; the highest wins */

/* ctx.regions of a batch's run (NULL-terminated; caller frees the array):
 * the regions in scope, or when every region is, the run's own and those of
 * its events (a global mapping sees the events of every region). */
static const char **run_regions(const batch *b, const event_list *events, const strlist *scope)
{
    const char **out = xcalloc(scope->len + b->len + 2, sizeof *out);
    size_t n = 0;
    if (scope->len) {
        for (size_t i = 0; i < scope->len; i++) out[n++] = scope->items[i];
        return out;
    }
    out[n++] = b->region;
    for (size_t k = 0; k < b->len; k++) {
        const char *r = events->items[b->events[k]].region;
        int seen = !r;
        for (size_t i = 0; i < n && !seen; i++) seen = strcmp(out[i], r) == 0;
        if (!seen) out[n++] = r;
    }
    return out;
}

static int in_scope(const strlist *scope, const char *region)
{
    if (!scope->len || !region) return 1;
    for (size_t i = 0; i < scope->len; i++)
        if (strcmp(scope->items[i], region) == 0) return 1;
    return 0;
}

/* Starts one mapping run per batch and runs them: the batches of an account
 * concurrently, on its client's HTTP engine. */
static void run_batches(batches *bs, const event_list *events, const router *rt, engine *e,
                        const awstopo_config *cfg, const strlist *scope, int *outcome)
{
    for (size_t i = 0; i < bs->len; i++) {
        account *a = bs->items[i].acct;
        int first = 1;
        for (size_t j = 0; j < i && first; j++) first = bs->items[j].acct != a;
        if (!first) continue;
        sched *s = sched_new(client_http(a->client));
        for (size_t j = i; j < bs->len; j++) {
            batch *b = &bs->items[j];
            if (b->acct != a) continue;
            buf json = {0};
            buf_putc(&json, '[');
            for (size_t k = 0; k < b->len; k++) {
                if (k) buf_putc(&json, ',');
                buf_puts(&json, events->items[b->events[k]].json);
            }
            buf_putc(&json, ']');
            const char **regions = run_regions(b, events, scope);
            run_info info = { a->id, b->region, client_partition(a->client, b->region),
                              cfg->instance ? cfg->instance : "aws", regions };
            char err[1024];
            b->run = run_new(e, rt->routes[b->route].name, &info, a->client, err, sizeof err);
            if (b->run) {
                run_start_events(b->run, s, json.data, json.len);
            } else {
                for (size_t k = 0; k < b->len; k++) {
                    cli_error("%s: %s", events->items[b->events[k]].origin, err);
                    outcome[b->events[k]] = OUT_FAILED;
                }
            }
            buf_free(&json);
            free(regions);
        }
        sched_run(s);
        sched_free(s);
    }
}

/* --kinesis-stream: the update as records (docs/kinesis.md), with the
 * default credentials. Returns 0 or -1 (the error printed). */
static int publish(const events_options *o, const awstopo_config *cfg, model_registry *models, const topology *t)
{
    char err[1024];
    aws_client *c = make_client(&o->co, models, err, sizeof err);
    if (!c) {
        cli_error("kinesis: %s", err);
        return -1;
    }
    kinesis_stream k = { c, models, o->kinesis_stream, o->kinesis_region };
    publish_stats st = {0};
    int rc = kinesis_publish(&k, t, cfg->instance ? cfg->instance : "aws", 0, &st, err, sizeof err);
    fprintf(stderr, "kinesis: %zu records written to %s in %zu requests, %zu sent again, %zu throttled\n",
            st.records, o->kinesis_stream, st.requests, st.retried, st.throttled);
    if (rc < 0) cli_error("kinesis: %s", err);
    client_free(c);
    return rc;
}

/* The configuration: the file, the environment, then the flags (as for
 * scan). -1 (the error printed) when the file cannot be read. */
static int load_config(const events_options *o, awstopo_config *cfg)
{
    if (cli_load_config(cfg, o->config_path) < 0) return -1;
    if (o->stackstate_url) config_set(&cfg->stackstate_url, o->stackstate_url);
    if (o->api_key) config_set(&cfg->api_key, o->api_key);
    if (o->instance) config_set(&cfg->instance, o->instance);
    if (o->spool) config_set(&cfg->spool_dir, o->spool);
    return 0;
}

static int process(events_options *o)
{
    awstopo_config cfg;
    char err[1024];
    if (load_config(o, &cfg) < 0) return EXIT_FAILURE_;
    if (o->services) {
        strlist_free(&cfg.services);
        split_list(o->services, &cfg.services);
    }
    if (report_unknown_services(&o->co, &cfg.services, o->services != NULL)) {
        config_free(&cfg);
        return o->services ? EXIT_USAGE : EXIT_FAILURE_;
    }
    if (o->regions) {
        strlist_free(&cfg.regions);
        split_list(o->regions, &cfg.regions);
    }
    strlist scope = {0};   /* empty: every region */
    if (!(cfg.regions.len == 1 && strcmp(cfg.regions.items[0], "all") == 0))
        for (size_t i = 0; i < cfg.regions.len; i++) strlist_add(&scope, cfg.regions.items[i]);
    if (!cfg.stackstate_url && !o->noutputs && !o->kinesis_stream) {
        o->outputs[0] = (output_spec){ "-", FORMAT_JSON, 1 };
        o->noutputs = 1;
    }

    tally t = {0};
    event_list events = {0};
    strlist problems = {0};
    for (size_t i = 0; i < o->inputs.len; i++) {
        size_t len;
        char *text = events_read_input(o->inputs.items[i], &len, err, sizeof err);
        if (!text) {
            strlist_add(&problems, err);
            continue;
        }
        events_parse(strcmp(o->inputs.items[i], "-") == 0 ? "stdin" : o->inputs.items[i], text, len, &events,
                     &problems);
        free(text);
    }
    for (size_t i = 0; i < problems.len; i++) cli_error("%s", problems.items[i]);
    t.malformed = problems.len;
    t.read = events.len;
    event_list_sort(&events);

    char *mpath = model_search_path(&o->co), *mappath = mapping_search_path(&o->co);
    model_registry *models = model_registry_new(mpath);
    engine_options eo = { .mapping_path = mappath, .verbose = o->co.verbose, .cpu_ticks = 1 };
    engine *e = engine_new(&eo, models);
    router rt = {0};
    int rc = router_init(&rt, e, models, &cfg.services) < 0 ? EXIT_PARTIAL : EXIT_OK;
    accounts as;
    accounts_init(&as, o, &cfg, models);

    batches bs = {0};
    int *take = xcalloc(rt.len ? rt.len : 1, sizeof *take);
    int *outcome = xcalloc(events.len ? events.len : 1, sizeof *outcome);
    for (size_t i = 0; i < events.len; i++) {
        const event_rec *ev = &events.items[i];
        if (ev->error_code) {   /* the call failed: nothing changed */
            t.failed_calls++;
            if (o->co.verbose) fprintf(stderr, "%s: %s failed (%s): skipped\n", ev->origin, ev->name, ev->error_code);
            continue;
        }
        if (!route_event(&rt, ev, take)) {
            t.no_handler++;
            if (o->co.verbose) fprintf(stderr, "%s: no handler for %s %s\n", ev->origin, ev->source, ev->name);
            continue;
        }
        account *a = account_for(&as, ev->account);
        if (!a) {
            cli_error("%s: %s %s in account %s: no credentials for that account (a [account] section with "
                      "its account_id, see docs/events.md)", ev->origin, ev->source, ev->name, ev->account);
            t.failed++;
            outcome[i] = OUT_FAILED;
            continue;
        }
        /* global mappings (Route 53, S3) take events of every region; they judge scope themselves */
        const char *region = ev->region ? ev->region : client_region(a->client);
        size_t taken = 0;
        for (size_t r = 0; r < rt.len; r++) {
            if (!take[r] || (!rt.routes[r].global && !in_scope(&scope, region))) continue;
            batch_add(batch_for(&bs, a, rt.routes[r].global ? client_region(a->client) : region, r), i);
            taken++;
        }
        if (!taken) {
            t.out_of_scope++;
            if (o->co.verbose) fprintf(stderr, "%s: region %s is not scanned: skipped\n", ev->origin, region);
        }
    }
    run_batches(&bs, &events, &rt, e, &cfg, &scope, outcome);

    topology all;
    topology_init(&all);
    for (size_t i = 0; i < bs.len; i++) {
        batch *b = &bs.items[i];
        if (!b->run) continue;
        const char *run_err = run_error(b->run);
        for (size_t k = 0; k < b->len; k++) {
            size_t ev = b->events[k];
            char *res = run_event_outcome(b->run, k);
            int out = !res ? OUT_FAILED : strcmp(res, "ok") == 0 ? OUT_HANDLED
                    : strcmp(res, "superseded") == 0 ? OUT_SUPERSEDED : strcmp(res, "none") == 0 ? OUT_NONE
                    : OUT_FAILED;
            if (out == OUT_FAILED)
                cli_error("%s: %s %s: %s", events.items[ev].origin, rt.routes[b->route].name, events.items[ev].name,
                          res ? res : run_err ? run_err : "failed");
            if (out > outcome[ev]) outcome[ev] = out;
            free(res);
        }
        const strlist *w = run_warnings(b->run);
        for (size_t k = 0; k < w->len && o->co.verbose; k++)
            fprintf(stderr, "warning: %s %s: %s\n", run_name(b->run), run_region(b->run), w->items[k]);
        topology_merge(&all, run_topology(b->run));
    }
    for (size_t i = 0; i < bs.len; i++) {
        for (size_t k = 0; k < bs.items[i].len; k++) {
            size_t ev = bs.items[i].events[k];
            if (outcome[ev] == OUT_HANDLED) t.handled++;
            else if (outcome[ev] == OUT_SUPERSEDED) t.superseded++;
            else if (outcome[ev] == OUT_FAILED) t.failed++;
            outcome[ev] = -1;   /* counted */
        }
    }

    int delivered = deliver_topology(o->outputs, o->noutputs, 0, &cfg, &all, INTAKE_INCREMENTAL);
    if (o->kinesis_stream && publish(o, &cfg, models, &all) < 0) delivered = 2;
    fprintf(stderr,
            "events: %zu read, %zu handled, %zu superseded by a newer event of the same resource, "
            "%zu without a handler, %zu failed calls skipped, %zu out of scope, %zu malformed, %zu failed; "
            "%zu components, %zu relations, %zu deletes\n",
            t.read, t.handled, t.superseded, t.no_handler, t.failed_calls, t.out_of_scope, t.malformed, t.failed,
            all.components.len, all.relations.len, all.deletes.len);
    if (delivered == 2) rc = EXIT_FAILURE_;
    else if (delivered == 1 || t.malformed || t.failed) rc = EXIT_PARTIAL;

    for (size_t i = 0; i < bs.len; i++) {
        run_free(bs.items[i].run);
        free(bs.items[i].events);
    }
    free(bs.items);
    free(take);
    free(outcome);
    topology_free(&all);
    accounts_free(&as);
    router_free(&rt);
    engine_free(e);
    model_registry_free(models);
    free(mpath);
    free(mappath);
    event_list_free(&events);
    strlist_free(&problems);
    strlist_free(&scope);
    config_free(&cfg);
    return rc;
}

/* ---- events consume ---- */

typedef struct consumer {
    const events_consume_run *r;
    const awstopo_config *cfg;
    stackstate_sink *sink;      /* NULL without a StackState URL */
    buf spool;
} consumer;

/* One shard's update: StackState first takes what waits in the spool (an
 * update not accepted earlier is read again from the stream, not piled up
 * in the spool), then this one. 0 only when all of it was accepted. */
static int consumer_deliver(void *ud, topology *t)
{
    consumer *c = ud;
    intake_options io = { .instance_type = "aws", .instance_url = c->cfg->instance ? c->cfg->instance : "aws",
                          .collection_timestamp = (double)time(NULL) };
    topology_sort(t);
    char err[1024];
    for (int i = 0; i < c->r->noutputs; i++) {
        if (sink_file_write_topology("-", c->r->outputs[i].format, t, &io, INTAKE_INCREMENTAL, err, sizeof err) < 0) {
            cli_error("%s", err);
            return -1;
        }
        fflush(stdout);
    }
    if (!c->sink) return 0;
    sink_result r = stackstate_sink_send(c->sink, NULL, err, sizeof err);   /* the spool first */
    if (r == SINK_DELIVERED) r = stackstate_sink_send_topology(c->sink, t, &io, INTAKE_INCREMENTAL, err, sizeof err);
    if (r != SINK_DELIVERED) cli_error("stackstate: %s", err);
    return r == SINK_DELIVERED || r == SINK_SET_ASIDE ? 0 : -1;   /* set aside: kept in rejected/, not lost */
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void events_checkpoint_dir(const char *given, const char *stream, buf *out)
{
    if (given) {
        buf_puts(out, given);
        return;
    }
    buf_printf(out, "%s/.cache/awstopo/kinesis", getenv("HOME") ? getenv("HOME") : "/tmp");
    make_dirs(out->data);   /* the parents of the default; kinesis_consume makes the last one */
    buf_printf(out, "/%s", stream);
}

int events_consume(const events_consume_run *r, const awstopo_config *cfg)
{
    char err[1024];
    char *mpath = model_search_path(r->co);
    model_registry *models = model_registry_new(mpath);
    consumer c = { .r = r, .cfg = cfg };
    aws_client *client = make_client(r->co, models, err, sizeof err);
    int rc = EXIT_OK;
    if (!client) {
        cli_error("kinesis: %s", err);
        rc = EXIT_FAILURE_;
    }
    if (rc == EXIT_OK && cfg->stackstate_url && !(c.sink = open_stackstate_sink(cfg, &c.spool, err, sizeof err))) {
        cli_error("%s", err);
        rc = EXIT_FAILURE_;
    }
    if (rc == EXIT_OK) {
        buf dir = {0};
        events_checkpoint_dir(r->checkpoint_dir, r->stream, &dir);
        consume_options co = { .stream = { client, models, r->stream, r->region },
                               .checkpoint_dir = dir.data, .once = r->once, .poll_ms = r->poll_ms,
                               .deliver = consumer_deliver,
                               .limit = getenv("AWSTOPO_KINESIS_LIMIT") ? atoi(getenv("AWSTOPO_KINESIS_LIMIT")) : 0,
                               .ud = &c, .stop = r->stop, .verbose = r->co->verbose, .on_round = r->on_round,
                               .round_ud = r->round_ud };
        consume_stats st = {0};
        int res = kinesis_consume(&co, &st, err, sizeof err);
        fprintf(stderr,
                "kinesis: %zu records read from %s, %zu updates delivered, %zu refused, %zu bad records, "
                "%zu shards finished, %zu iterators renewed\n",
                st.records, r->stream, st.delivered, st.refused, st.bad_records, st.shards_finished,
                st.expired_iterators);
        if (res < 0) cli_error("%s", err);
        rc = res < 0 ? EXIT_FAILURE_ : res > 0 || st.bad_records ? EXIT_PARTIAL : EXIT_OK;
        buf_free(&dir);
    }
    stackstate_sink_free(c.sink);
    buf_free(&c.spool);
    client_free(client);
    model_registry_free(models);
    free(mpath);
    return rc;
}

static int consume(events_options *o)
{
    awstopo_config cfg;
    if (load_config(o, &cfg) < 0) return EXIT_FAILURE_;
    if (!cfg.stackstate_url && !o->noutputs) {
        o->outputs[0] = (output_spec){ "-", FORMAT_JSON, 1 };
        o->noutputs = 1;
    }
    struct sigaction sa = { .sa_handler = on_stop };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    events_consume_run r = { .co = &o->co, .stream = o->kinesis_stream, .region = o->kinesis_region,
                             .checkpoint_dir = o->checkpoint_dir, .poll_ms = o->poll_ms ? atol(o->poll_ms) : 0,
                             .once = o->once, .stop = &stop_requested, .outputs = o->outputs,
                             .noutputs = o->noutputs };
    int rc = events_consume(&r, &cfg);
    config_free(&cfg);
    return rc;
}

int cmd_events(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "process") != 0 && strcmp(argv[1], "consume") != 0) {
        cli_error("events: unknown subcommand '%s' (process, consume)", argv[1]);
        return EXIT_USAGE;
    }
    events_options o = {0};
    o.consume = strcmp(argv[1], "consume") == 0;
    int rc = parse_args(&o, argc - 1, argv + 1) < 0 ? EXIT_USAGE : o.consume ? consume(&o) : process(&o);
    strlist_free(&o.inputs);
    return rc;
}
