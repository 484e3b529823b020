/* daemon_ondemand.c -- GET /v1/metrics?component=ID[&metric=M...][&from=T&to=T]
 * (daemon_state.h): one component's series, fetched when asked for and kept
 * for a period (metrics_cache.c), as the product page says: "metrics are
 * only retrieved when viewed".
 *
 * The fetch runs in the daemon's loop (one component: one GetMetricData
 * call, bounded by the client's read timeout and retries); the scan and the
 * consumer go on meanwhile in their own processes. The components come from
 * the last scan's topology file, read again when the scan replaced it.
 * Everything here is made on the first request, for the configuration in
 * use (a reload frees it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "daemon_state.h"
#include "intake.h"
#include "metrics.h"
#include "timestamp.h"
#include "util.h"

typedef struct od_account {
    aws_client *client;         /* NULL until needed */
    char *id;
} od_account;

struct ondemand {
    char *mpath, *mappath;
    model_registry *models;
    engine *e;
    metrics_catalog *cat;
    metrics_cache *cache;
    topology topo;
    struct timespec topo_mtime;   /* of the file read into topo */
    od_account *accounts;
    size_t naccounts;
};

ondemand *ondemand_new(void)
{
    ondemand *od = xcalloc(1, sizeof *od);
    topology_init(&od->topo);
    return od;
}

void ondemand_free(ondemand *od)
{
    if (!od) return;
    for (size_t i = 0; i < od->naccounts; i++) {
        client_free(od->accounts[i].client);
        free(od->accounts[i].id);
    }
    free(od->accounts);
    topology_free(&od->topo);
    metrics_cache_free(od->cache);
    metrics_catalog_free(od->cat);
    engine_free(od->e);
    model_registry_free(od->models);
    free(od->mpath);
    free(od->mappath);
    free(od);
}

static int error_body(buf *body, int status, const char *msg)
{
    buf_puts(body, "{\"error\":");
    intake_json_string(body, msg, strlen(msg));
    buf_puts(body, "}\n");
    return status;
}

/* The mappings' declarations and the cache, once. */
static int prepare(ondemand *od, const daemon_state *s, char *err, size_t errlen)
{
    if (od->cat) return 0;
    od->mpath = model_search_path(&s->co);
    od->mappath = mapping_search_path(&s->co);
    od->models = model_registry_new(od->mpath);
    engine_options eo = { .mapping_path = od->mappath, .verbose = s->co.verbose, .cpu_ticks = 1 };
    od->e = engine_new(&eo, od->models);
    od->cat = metrics_catalog_new(od->e, err, errlen);
    if (!od->cat) return -1;
    od->cache = metrics_cache_new(0);
    od->naccounts = s->cfg.naccounts ? s->cfg.naccounts : 1;
    od->accounts = xcalloc(od->naccounts, sizeof *od->accounts);
    return 0;
}

/* The last scan's components; read again when the file changed. */
static int load_components(ondemand *od, const daemon_state *s)
{
    buf path = {0};
    buf_printf(&path, "%s/topology.json", s->d.state_dir);
    struct stat st;
    int rc = stat(path.data, &st);
    if (rc == 0 && (st.st_mtim.tv_sec != od->topo_mtime.tv_sec || st.st_mtim.tv_nsec != od->topo_mtime.tv_nsec)) {
        topology_free(&od->topo);
        topology_init(&od->topo);
        rc = metrics_load_topology(path.data, &od->topo);
        if (rc == 0) {
            topology_sort(&od->topo);
            od->topo_mtime = st.st_mtim;
        }
    }
    buf_free(&path);
    return rc;
}

static od_account *account(ondemand *od, const daemon_state *s, size_t i, char *err, size_t errlen)
{
    od_account *a = &od->accounts[i];
    const account_config *ac = s->cfg.naccounts ? &s->cfg.accounts[i] : NULL;
    if (!a->client) {
        common_options co = account_credentials(&s->co, ac);
        a->client = make_client(&co, od->models, err, errlen);
        if (!a->client) return NULL;
    }
    if (!a->id) a->id = ac && ac->account_id ? xstrdup(ac->account_id) : lookup_account_id(a->client, od->models, err, errlen);
    return a->id ? a : NULL;
}

/* The request's options: the [metrics] section, then the query. */
static int request_options(const daemon_state *s, const char *query, metrics_options *o, char *err, size_t errlen)
{
    strlist problems = {0};
    metrics_options_from_config(o, &s->cfg.metrics, &problems);
    strlist_free(&problems);
    char *names = http_query_param(query, "metric");
    char *from = http_query_param(query, "from"), *to = http_query_param(query, "to");
    o->component = http_query_param(query, "component");
    if (names) split_list(names, &o->names);
    int rc = 0;
    if (!o->component || !*o->component)
        rc = set_err(err, errlen, "component=<externalId> is needed");
    else if ((from || to) && (!from || !to || timestamp_parse(from, &o->from) < 0 ||
                              timestamp_parse(to, &o->to) < 0 || o->to <= o->from))
        rc = set_err(err, errlen, "from and to go together, as times (ISO-8601 or epoch seconds), from first");
    free(names);
    free(from);
    free(to);
    return rc;
}

static int fetch(ondemand *od, const daemon_state *s, metrics_options *o, metrics_result *out, char *err,
                 size_t errlen)
{
    int fetched = 0;
    for (size_t i = 0; i < od->naccounts; i++) {
        od_account *a = account(od, s, i, err, errlen);
        if (!a) return -1;
        metrics_result r = {0};
        int rc = metrics_fetch(a->client, od->cat, a->id, &od->topo, o, &r, err, errlen);
        if (rc == 0) fetched = 1;
        metrics_result_merge(out, &r);
        metrics_result_free(&r);
        if (rc < 0) return -1;
    }
    return fetched ? 0 : set_err(err, errlen, "no account to fetch from");
}

int ondemand_serve(ondemand *od, daemon_state *s, const char *query, buf *body)
{
    char err[1024];
    metrics_options o = {0};
    int status = 200;
    if (request_options(s, query, &o, err, sizeof err) < 0) {
        status = error_body(body, 400, err);
    } else if (prepare(od, s, err, sizeof err) < 0) {
        status = error_body(body, 500, err);
    } else if (load_components(od, s) < 0) {
        status = error_body(body, 503, "no scan has finished yet: the components are not known");
    } else {
        double now = (double)time(NULL);
        const metrics_result *hit = metrics_cache_get(od->cache, &o, now);
        if (!hit) {
            metrics_result r = {0};
            if (fetch(od, s, &o, &r, err, sizeof err) < 0) {
                status = error_body(body, 502, err);
            } else if (r.report.components == 0) {
                buf msg = {0};
                buf_printf(&msg, "no component %s with declared metrics in the last scan", o.component);
                status = error_body(body, 404, msg.data);
                buf_free(&msg);
            } else {
                hit = metrics_cache_put(od->cache, &o, now, &r);
            }
            metrics_result_free(&r);
        }
        if (hit) {
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            metrics_write_json(f, hit);
            fclose(f);
            buf_append(body, text, len);
            free(text);
        }
    }
    metrics_options_free(&o);
    free((char *)o.component);   /* ours: http_query_param's copy */
    return status;
}
