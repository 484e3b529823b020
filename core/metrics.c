/* metrics.c -- the metrics of one account's components: the catalog of
 * declarations, the options, and a run of core/metrics.lua (see metrics.h).
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "embedded.h"
#include "luajson.h"
#include "metrics.h"
#include "scheduler.h"
#include "timestamp.h"
#include "util.h"

#define DEFAULT_INTERVAL 300
#define DEFAULT_DELAY 600
#define DEFAULT_PRICE 0.01      /* USD per 1,000 metrics requested (GetMetricData) */

/* ---- options ---- */

static int positive(const char *v, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d > 0) || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static void opt_problem(strlist *problems, const char *fmt, const char *a)
{
    buf b = {0};
    buf_puts(&b, "metrics: ");
    buf_printf(&b, fmt, a);
    strlist_add(problems, b.data);
    buf_free(&b);
}

int metrics_options_from_config(metrics_options *o, const strlist *items, strlist *problems)
{
    size_t before = problems->len;
    for (size_t i = 0; i < items->len; i++) {
        const char *item = items->items[i], *eq = strchr(item, '=');
        if (!eq) continue;
        char *key = xstrndup(item, (size_t)(eq - item));
        const char *value = eq + 1;
        double d;
        if (strcmp(key, "interval") == 0 || strcmp(key, "delay") == 0) {
            if (positive(value, &d) < 0 || d != floor(d)) opt_problem(problems, "'%s' needs a whole number of seconds", key);
            else if (key[0] == 'i') o->interval = (long)d;
            else o->delay = (long)d;
        } else if (strcmp(key, "max_metrics_per_hour") == 0) {
            if (positive(value, &d) < 0) opt_problem(problems, "'%s' needs a positive number", key);
            else o->max_per_hour = d;
        } else if (strcmp(key, "price_per_1000") == 0) {
            if (positive(value, &d) < 0) opt_problem(problems, "'%s' needs a positive number (USD)", key);
            else o->price_per_1000 = d;
        } else if (strcmp(key, "alarms") == 0) {
            o->alarms = strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0;
        } else if (strcmp(key, "insufficient_data") == 0) {
            if (strcmp(value, "DEVIATING") == 0) o->insufficient_data = "DEVIATING";
            else if (strcmp(value, "CLEAR") == 0) o->insufficient_data = "CLEAR";
            else if (strcmp(value, "CRITICAL") == 0) o->insufficient_data = "CRITICAL";
            else opt_problem(problems, "'insufficient_data' is DEVIATING, CLEAR or CRITICAL, not '%s'", value);
        } else if (strcmp(key, "prune") == 0) {
            o->prune = strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0;
        } else if (strcmp(key, "types") == 0) {
            if (strcmp(value, "default") != 0 && strcmp(value, "none") != 0)
                opt_problem(problems, "'types' is 'default' or 'none', not '%s'", value);
            else o->others = strcmp(value, "none") == 0 ? "none" : NULL;
        } else if (strcmp(key, "tags") == 0) {
            split_list(value, &o->tags);
        } else if (strncmp(key, "aws.", 4) == 0) {
            strlist_add(&o->choose, item);
        } else {
            opt_problem(problems, "unknown key '%s' (interval, delay, max_metrics_per_hour, price_per_1000, "
                                  "prune, types, tags, alarms, insufficient_data, or a component type)", key);
        }
        free(key);
    }
    return (int)(problems->len - before);
}

void metrics_options_free(metrics_options *o)
{
    strlist_free(&o->names);
    strlist_free(&o->choose);
    strlist_free(&o->tags);
}

/* ---- results ---- */

/* The strings of a result's series, each kept once: 40,000 series of 10,000
 * components share a few dozen names and one externalId per component, so
 * copying each field of each series would be most of the memory. Open
 * addressing; the pools of merged results are chained. */
struct strpool {
    char **slots;            /* NULL = empty */
    size_t cap, len;
    struct strpool *next;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void pool_grow(struct strpool *p)
{
    size_t cap = p->cap ? p->cap * 2 : 256;
    char **slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < p->cap; i++) {
        if (!p->slots[i]) continue;
        size_t k = hash_str(p->slots[i]) & (cap - 1);
        while (slots[k]) k = (k + 1) & (cap - 1);
        slots[k] = p->slots[i];
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
}

char *metrics_result_intern(metrics_result *r, const char *s)
{
    if (!s) return NULL;
    if (!r->strings) r->strings = xcalloc(1, sizeof *r->strings);
    struct strpool *p = r->strings;
    if ((p->len + 1) * 2 > p->cap) pool_grow(p);
    size_t k = hash_str(s) & (p->cap - 1);
    for (; p->slots[k]; k = (k + 1) & (p->cap - 1))
        if (strcmp(p->slots[k], s) == 0) return p->slots[k];
    p->len++;
    return p->slots[k] = xstrdup(s);
}

static void pool_free(struct strpool *p)
{
    while (p) {
        struct strpool *next = p->next;
        for (size_t i = 0; i < p->cap; i++) free(p->slots[i]);
        free(p->slots);
        free(p);
        p = next;
    }
}

/* The strings are the pool's. */
static void series_free(metric_series *s)
{
    free(s->dims);
    free(s->ts);
    free(s->values);
}

static void health_free(health_state *h)
{
    free(h->id);
    free(h->name);
    free(h->component);
    free(h->health);
    free(h->message);
}

void metrics_result_free(metrics_result *r)
{
    for (size_t i = 0; i < r->len; i++) series_free(&r->series[i]);
    free(r->series);
    pool_free(r->strings);
    for (size_t i = 0; i < r->nhealth; i++) health_free(&r->health[i]);
    free(r->health);
    strlist_free(&r->report.skipped);
    strlist_free(&r->report.warnings);
    memset(r, 0, sizeof *r);
}

static metric_series *add_series(metrics_result *r)
{
    if (r->len == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->series = xrealloc(r->series, r->cap * sizeof *r->series);
    }
    metric_series *s = &r->series[r->len++];
    memset(s, 0, sizeof *s);
    return s;
}

static health_state *add_health(metrics_result *r)
{
    if (r->nhealth == r->caphealth) {
        r->caphealth = r->caphealth ? r->caphealth * 2 : 64;
        r->health = xrealloc(r->health, r->caphealth * sizeof *r->health);
    }
    health_state *h = &r->health[r->nhealth++];
    memset(h, 0, sizeof *h);
    return h;
}

void metrics_result_merge(metrics_result *dst, metrics_result *src)
{
    for (size_t i = 0; i < src->len; i++) *add_series(dst) = src->series[i];
    src->len = 0;
    if (src->strings) {                /* the series' strings go along */
        struct strpool *last = src->strings;
        while (last->next) last = last->next;
        last->next = dst->strings;
        dst->strings = src->strings;
        src->strings = NULL;
    }
    for (size_t i = 0; i < src->nhealth; i++) *add_health(dst) = src->health[i];
    src->nhealth = 0;
    dst->alarms |= src->alarms;
    dst->health_incomplete += src->health_incomplete;
    if (src->interval) dst->interval = src->interval;
    metrics_report *d = &dst->report, *s = &src->report;
    d->components += s->components;
    d->filtered += s->filtered;
    d->planned += s->planned;
    d->without_dims += s->without_dims;
    d->pruned += s->pruned;
    d->skipped_budget += s->skipped_budget;
    d->requested += s->requested;
    d->calls += s->calls;
    d->list_calls += s->list_calls;
    d->batches += s->batches;
    d->no_data += s->no_data;
    d->failed += s->failed;
    d->alarms += s->alarms;
    d->alarms_unmapped += s->alarms_unmapped;
    d->alarm_calls += s->alarm_calls;
    d->not_due += s->not_due;
    d->per_hour += s->per_hour;
    for (size_t i = 0; i < s->skipped.len; i++) strlist_add(&d->skipped, s->skipped.items[i]);
    for (size_t i = 0; i < s->warnings.len; i++) strlist_add(&d->warnings, s->warnings.items[i]);
    metrics_result_free(src);
}

void metrics_cost(const metrics_report *r, const metrics_options *o, double *per_run, double *per_hour)
{
    double price = o->price_per_1000 > 0 ? o->price_per_1000 : DEFAULT_PRICE;
    long interval = o->interval > 0 ? o->interval : DEFAULT_INTERVAL;
    /* ListMetrics and DescribeAlarms are billed per request at the same rate */
    double calls = (double)(r->list_calls + r->alarm_calls);
    *per_run = ((double)r->requested + calls) * price / 1000.0;
    *per_hour = (r->per_hour + calls * 3600.0 / (double)interval) * price / 1000.0;
}

double metrics_next_fetch(double now, long interval, long delay)
{
    if (interval <= 0) interval = DEFAULT_INTERVAL;
    if (delay < 0) delay = 0;
    double k = floor((now - (double)delay) / (double)interval) + 1;
    return k * (double)interval + (double)delay;
}

/* ---- the catalog ---- */

struct metrics_catalog {
    char *json;              /* { "<type>": { namespace, dimensions, period, metrics, default, region } } */
};

static int valid_stat(const char *s)
{
    static const char *const plain[] = { "Average", "Sum", "Minimum", "Maximum", "SampleCount", "IQM", NULL };
    for (int i = 0; plain[i]; i++)
        if (strcmp(s, plain[i]) == 0) return 1;
    /* percentiles and trimmed statistics: p99, p99.9, tm90, wm90, tc90, ts90, pr(...) */
    const char *d = s;
    while (isalpha((unsigned char)*d)) d++;
    size_t prefix = (size_t)(d - s);
    if (prefix == 0 || prefix > 2 || !isdigit((unsigned char)*d)) return 0;
    if (strncmp(s, "p", prefix) != 0 && strncmp(s, "tm", prefix) != 0 && strncmp(s, "wm", prefix) != 0 &&
        strncmp(s, "tc", prefix) != 0 && strncmp(s, "ts", prefix) != 0)
        return 0;
    char *end;
    double v = strtod(d, &end);
    return *end == '\0' && v > 0 && v < 100;
}

static int valid_period(const cJSON *p)
{
    return p == NULL || (cJSON_IsNumber(p) && p->valuedouble >= 60 && fmod(p->valuedouble, 60) == 0);
}

/* Checks one type's declaration; the message names the type. */
static int check_decl(const char *mapping, const char *type, const cJSON *cw, char *err, size_t errlen)
{
    const char *why = NULL;
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(cw, "metrics");
    const cJSON *deflt = cJSON_GetObjectItemCaseSensitive(cw, "default");
    const cJSON *m, *d;
    const char *name = "";
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cw, "namespace"))) why = "needs a namespace";
    else if (!cJSON_IsObject(metrics) || !metrics->child)
        why = "`metrics` must map each metric name to { stat = ..., unit = ... }";
    else if (!valid_period(cJSON_GetObjectItemCaseSensitive(cw, "period")))
        why = "`period` must be a multiple of 60 seconds";
    if (why) goto fail;
    cJSON_ArrayForEach(m, metrics) {
        name = m->string;
        const cJSON *stat = cJSON_GetObjectItemCaseSensitive(m, "stat");
        if (!cJSON_IsObject(m) || !cJSON_IsString(stat)) why = "needs { stat = ..., unit = ... }";
        else if (!valid_stat(stat->valuestring)) why = "has an unknown statistic (Average, Sum, Minimum, Maximum, SampleCount, pNN)";
        else if (!valid_period(cJSON_GetObjectItemCaseSensitive(m, "period"))) why = "has a period that is not a multiple of 60";
        if (why) goto fail;
    }
    name = "";
    if (deflt && !cJSON_IsArray(deflt)) {
        why = "`default` must be a list of metric names";
        goto fail;
    }
    cJSON_ArrayForEach(d, deflt) {
        if (!cJSON_IsString(d) || !cJSON_GetObjectItemCaseSensitive(metrics, d->valuestring)) {
            name = cJSON_IsString(d) ? d->valuestring : "?";
            why = "is in `default` but not in `metrics`";
            goto fail;
        }
    }
    return 0;
fail:
    set_err(err, errlen, "mapping %s, type %s: cloudwatch%s%s %s", mapping, type, *name ? " metric " : "", name, why);
    return -1;
}

metrics_catalog *metrics_catalog_new(engine *e, char *err, size_t errlen)
{
    char *decls = engine_describe_all(e, err, errlen);
    if (!decls) return NULL;
    cJSON *docs = cJSON_Parse(decls);
    free(decls);
    cJSON *all = cJSON_CreateObject();
    int failed = 0;
    cJSON *doc;
    cJSON_ArrayForEach(doc, docs) {
        cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "types")) {
            cJSON *cw = cJSON_GetObjectItemCaseSensitive(t, "cloudwatch");
            if (!cw) continue;
            if (check_decl(doc->string, t->string, cw, err, errlen) < 0) {
                failed = 1;
                break;
            }
            cJSON_AddItemToObject(all, t->string, cJSON_Duplicate(cw, 1));
        }
        if (failed) break;
    }
    cJSON_Delete(docs);
    metrics_catalog *c = NULL;
    if (!failed) {
        c = xcalloc(1, sizeof *c);
        c->json = cJSON_PrintUnformatted(all);
    }
    cJSON_Delete(all);
    return c;
}

void metrics_catalog_free(metrics_catalog *c)
{
    if (!c) return;
    cJSON_free(c->json);
    free(c);
}

/* ---- a run of metrics.lua ---- */

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* choose: { [type] = "all" | "none" | "default" | { names } } */
static void push_choose(lua_State *L, const strlist *choose)
{
    lua_newtable(L);
    for (size_t i = 0; i < choose->len; i++) {
        const char *item = choose->items[i], *eq = strchr(item, '=');
        lua_pushlstring(L, item, (size_t)(eq - item));
        strlist names = {0};
        split_list(eq + 1, &names);
        if (names.len == 1 && (strcmp(names.items[0], "all") == 0 || strcmp(names.items[0], "none") == 0 ||
                               strcmp(names.items[0], "default") == 0)) {
            lua_pushstring(L, names.items[0]);
        } else {
            lua_createtable(L, (int)names.len, 0);
            for (size_t k = 0; k < names.len; k++) {
                lua_pushstring(L, names.items[k]);
                lua_rawseti(L, -2, (lua_Integer)k + 1);
            }
        }
        strlist_free(&names);
        lua_settable(L, -3);
    }
}

static void push_tags(lua_State *L, const strlist *tags)
{
    lua_createtable(L, (int)tags->len, 0);
    for (size_t i = 0; i < tags->len; i++) {
        const char *t = tags->items[i], *eq = strchr(t, '=');
        lua_createtable(L, 2, 0);
        lua_pushlstring(L, t, eq ? (size_t)(eq - t) : strlen(t));
        lua_rawseti(L, -2, 1);
        if (eq) {
            lua_pushstring(L, eq + 1);
            lua_rawseti(L, -2, 2);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int push_job(lua_State *L, const metrics_catalog *cat, const char *account, const topology *t,
                    const metrics_options *o, char *err, size_t errlen)
{
    lua_newtable(L);
    if (account) set_str(L, "account", account);
    set_num(L, "now", o->now > 0 ? o->now : (double)time(NULL));
    long interval = o->interval > 0 ? o->interval : DEFAULT_INTERVAL;
    lua_pushinteger(L, interval);
    lua_setfield(L, -2, "interval");
    lua_pushinteger(L, o->delay < 0 ? 0 : o->delay > 0 ? o->delay : DEFAULT_DELAY);
    lua_setfield(L, -2, "delay");
    lua_pushboolean(L, o->estimate);
    lua_setfield(L, -2, "estimate");
    lua_pushboolean(L, o->prune);
    lua_setfield(L, -2, "prune");
    if (o->max_per_hour > 0) set_num(L, "max_per_hour", o->max_per_hour);
    set_str(L, "others", o->others ? o->others : "default");
    if (o->insufficient_data) set_str(L, "insufficient_data", o->insufficient_data);
    if (o->component) {
        set_str(L, "component", o->component);
        lua_createtable(L, (int)o->names.len, 0);
        for (size_t i = 0; i < o->names.len; i++) {
            lua_pushstring(L, o->names.items[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "names");
    }
    if (o->from > 0 && o->to > o->from) {
        lua_pushinteger(L, (lua_Integer)floor(o->from));
        lua_setfield(L, -2, "from");
        lua_pushinteger(L, (lua_Integer)ceil(o->to));
        lua_setfield(L, -2, "to");
    }
    if (o->alarms) {
        if (luaL_loadbufferx(L, alarms_lua, alarms_lua_len, "=alarms.lua", "t") != LUA_OK)
            return set_err(err, errlen, "alarms.lua: %s", lua_tostring(L, -1));
        lua_setfield(L, -2, "alarms");
    }
    if (luajson_decode(L, cat->json, strlen(cat->json), 0, err, errlen) < 0) return -1;
    lua_setfield(L, -2, "catalog");
    push_choose(L, &o->choose);
    lua_setfield(L, -2, "choose");
    push_tags(L, &o->tags);
    lua_setfield(L, -2, "tags");
    lua_createtable(L, (int)t->components.len, 0);
    buf scratch = {0};   /* each component's JSON, read back from the item store */
    for (size_t i = 0; i < t->components.len; i++) {
        lua_pushlstring(L, topo_item_json(&t->components.items[i], &scratch), t->components.items[i].json_len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    buf_free(&scratch);
    lua_setfield(L, -2, "components");
    return 0;
}

static char *field_dup(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    char *s = lua_isstring(L, -1) ? xstrdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}

static size_t field_size(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    size_t n = lua_isinteger(L, -1) ? (size_t)lua_tointeger(L, -1) : lua_isnumber(L, -1) ? (size_t)lua_tonumber(L, -1) : 0;
    lua_pop(L, 1);
    return n;
}

static char *field_intern(lua_State *L, int idx, const char *k, metrics_result *r)
{
    lua_getfield(L, idx, k);
    char *v = lua_isstring(L, -1) ? metrics_result_intern(r, lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

/* The query table at idx (metrics.lua's plan entry, fetched) -> a series. */
static void take_series(lua_State *L, int idx, metrics_result *r)
{
    idx = lua_absindex(L, idx);
    metric_series *s = add_series(r);
    s->component = field_intern(L, idx, "component", r);
    s->type = field_intern(L, idx, "type", r);
    s->hostname = field_intern(L, idx, "hostname", r);
    s->account = field_intern(L, idx, "account", r);
    s->region = field_intern(L, idx, "region", r);
    s->namespace = field_intern(L, idx, "namespace", r);
    s->metric = field_intern(L, idx, "metric", r);
    s->stat = field_intern(L, idx, "stat", r);
    s->unit = field_intern(L, idx, "unit", r);
    s->status = field_intern(L, idx, "status", r);
    s->period = (long)field_size(L, idx, "period");
    lua_getfield(L, idx, "dims");
    s->ndims = lua_rawlen(L, -1);
    s->dims = xcalloc(2 * s->ndims + 1, sizeof *s->dims);
    for (size_t i = 0; i < s->ndims; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        s->dims[2 * i] = field_intern(L, -1, "Name", r);
        s->dims[2 * i + 1] = field_intern(L, -1, "Value", r);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "timestamps");
    lua_getfield(L, idx, "values");
    size_t n = lua_istable(L, -2) && lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
    if (n > lua_rawlen(L, -2)) n = lua_rawlen(L, -2);
    s->ts = xcalloc(n + 1, sizeof *s->ts);
    s->values = xcalloc(n + 1, sizeof *s->values);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -2, (lua_Integer)i + 1);
        lua_rawgeti(L, -2, (lua_Integer)i + 1);
        double t;
        if (lua_isstring(L, -2) && timestamp_parse(lua_tostring(L, -2), &t) == 0) {
            s->ts[s->n] = t;
            s->values[s->n] = lua_tonumber(L, -1);
            s->n++;
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 2);
}

static void take_report(lua_State *L, int idx, metrics_report *r)
{
    idx = lua_absindex(L, idx);
    r->components += field_size(L, idx, "components");
    r->filtered += field_size(L, idx, "filtered");
    r->planned += field_size(L, idx, "planned");
    r->without_dims += field_size(L, idx, "without_dims");
    r->pruned += field_size(L, idx, "pruned");
    r->skipped_budget += field_size(L, idx, "skipped_budget");
    r->requested += field_size(L, idx, "requested");
    r->calls += field_size(L, idx, "calls");
    r->list_calls += field_size(L, idx, "list_calls");
    r->batches += field_size(L, idx, "batches");
    r->no_data += field_size(L, idx, "no_data");
    r->failed += field_size(L, idx, "failed");
    r->alarms += field_size(L, idx, "alarms");
    r->alarms_unmapped += field_size(L, idx, "alarms_unmapped");
    r->alarm_calls += field_size(L, idx, "alarm_calls");
    r->not_due += field_size(L, idx, "not_due");
    lua_getfield(L, idx, "per_hour");
    r->per_hour += lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "skipped");
    strlist skipped = {0};
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        buf b = {0};
        buf_printf(&b, "%s: %lld", lua_tostring(L, -2), (long long)lua_tointeger(L, -1));
        strlist_add(&skipped, b.data);
        buf_free(&b);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (skipped.len) qsort(skipped.items, skipped.len, sizeof *skipped.items, compare_strings);
    for (size_t i = 0; i < skipped.len; i++) strlist_add(&r->skipped, skipped.items[i]);
    strlist_free(&skipped);
    lua_getfield(L, idx, "warnings");
    for (size_t i = 1; i <= lua_rawlen(L, -1); i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        strlist_add(&r->warnings, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int metrics_fetch(aws_client *client, const metrics_catalog *cat, const char *account, const topology *t,
                  const metrics_options *o, metrics_result *out, char *err, size_t errlen)
{
    if (!client && !o->estimate) {
        set_err(err, errlen, "metrics: no AWS client (recorded responses answer no CloudWatch call): use --estimate");
        return -1;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luajson_open(L);
    lua_host host = { .name = "metrics", .client = client };
    int rc = -1;
    if (push_job(L, cat, account, t, o, err, errlen) < 0) goto done;
    if (lua_api_run_chunk(L, &host, metrics_lua, metrics_lua_len, "=metrics.lua", 1) != 0) {
        set_err(err, errlen, "%s", luaL_tolstring(L, -1, NULL));
        goto done;
    }
    int res = lua_gettop(L);
    lua_getfield(L, res, "series");
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        take_series(L, -1, out);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, res, "health");
    n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        health_state *h = add_health(out);
        h->id = field_dup(L, -1, "id");
        h->name = field_dup(L, -1, "name");
        h->component = field_dup(L, -1, "component");
        h->health = field_dup(L, -1, "health");
        h->message = field_dup(L, -1, "message");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, res, "health_complete");
    if (o->alarms && !lua_toboolean(L, -1)) out->health_incomplete++;
    lua_pop(L, 1);
    out->alarms = o->alarms;
    out->interval = o->interval > 0 ? o->interval : DEFAULT_INTERVAL;
    lua_getfield(L, res, "report");
    take_report(L, -1, &out->report);
    lua_pop(L, 1);
    rc = 0;
done:
    lua_close(L);
    lua_host_free(&host);
    return rc;
}
