/* client.c -- the AWS call pipeline (see client.h).
 *
 * Calls wait in a lane: one per (service, region), holding the resolved
 * endpoint, a count of requests in flight and a FIFO of calls waiting for a
 * free slot. The limit keeps a scan of 10,000 resources from opening 10,000
 * connections or provoking throttling in the first place.
 *
 * A call's request is serialized once and kept unsigned; every attempt signs
 * a fresh copy (new X-Amz-Date, possibly refreshed credentials). The response
 * of the final attempt is parsed in the calling task's continuation, so a
 * parse error or an out-of-memory there is an ordinary Lua error of that task.
 */
#include "client.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "endpoints.h"
#include "model.h"
#include "protocol.h"
#include "ratelimit.h"
#include "request.h"
#include "retry.h"
#include "sigv4.h"

typedef struct call call;

typedef struct lane {
    char *service, *region;
    endpoint ep;
    int inflight;
    call *head, *tail;          /* waiting for a slot */
    rate_limiter limiter;       /* used when the client is adaptive */
    struct lane *next;
} lane;

struct aws_client {
    char *region;
    char *endpoint_url;
    int max_inflight;
    http_engine *http;
    model_registry *models;
    int own_models;
    endpoints *endpoints;
    creds_provider *creds;
    sigv4_key_cache *keys;
    retry_policy retry;
    int adaptive;               /* adaptive retry mode: rate limiting per lane */
    lane *lanes;
    client_stats stats;
};

struct call {
    aws_client *c;
    lua_State *L;
    sched *s;
    lane *lane;
    const aws_model *m;
    const operation *op;
    http_request req;           /* serialized; signed by each attempt in turn */
    int attempt;
    long long started_ms;       /* the first attempt: the retry budget counts from here */
    int retry_cost;
    int refreshed_creds;
    int unparsed;               /* 2xx responses that did not parse */
    call *next;                 /* lane queue */
    /* outcome */
    int failed;
    http_response resp;
    aws_error *error;           /* when failed (owned): allocated then, the call itself stays small */
    int retryable, throttling;
};

/* ---- setup ---- */

static char *default_region(const client_options *o)
{
    if (o->region && *o->region) return xstrdup(o->region);
    const char *env = getenv("AWS_REGION");
    if (!env || !*env) env = getenv("AWS_DEFAULT_REGION");
    if (env && *env) return xstrdup(env);
    char *cfg = creds_config_value(o->creds.profile, "region");
    return cfg ? cfg : xstrdup(DEFAULT_REGION);
}

/* A setting from the environment, else from the profile (caller frees). */
static char *env_or_profile(const client_options *o, const char *env, const char *key)
{
    const char *v = getenv(env);
    if (v && *v) return xstrdup(v);
    return creds_config_value(o->creds.profile, key);
}

/* AWS_RETRY_MODE / AWS_MAX_ATTEMPTS (or the profile's retry_mode /
 * max_attempts) as the SDKs read them; when a scan's client has neither,
 * retry.h's scan mode, with adaptive rate limiting. */
static void apply_retry_settings(aws_client *c, const client_options *o)
{
    char *mode = env_or_profile(o, "AWS_RETRY_MODE", "retry_mode");
    char *attempts = env_or_profile(o, "AWS_MAX_ATTEMPTS", "max_attempts");
    if (attempts && atoi(attempts) > 0) c->retry.max_attempts = atoi(attempts);
    if (o->max_attempts > 0) c->retry.max_attempts = o->max_attempts;
    c->adaptive = mode ? strcmp(mode, "adaptive") == 0 : o->scan;
    if (o->scan && !mode && !attempts && o->max_attempts <= 0) retry_policy_for_scan(&c->retry, o->retry_budget_s);
    free(mode);
    free(attempts);
}

aws_client *client_new(const client_options *o, char *err, size_t errlen)
{
    endpoints *eps = endpoints_load(o->endpoints_file, err, errlen);
    if (!eps) return NULL;
    aws_client *c = xcalloc(1, sizeof *c);
    c->endpoints = eps;
    c->region = default_region(o);
    c->endpoint_url = o->endpoint_url ? xstrdup(o->endpoint_url) : NULL;
    c->max_inflight = o->max_inflight > 0 ? o->max_inflight : DEFAULT_LANE_WIDTH;
    c->http = http_engine_new(&o->http);
    c->own_models = o->models == NULL;
    c->models = o->models ? o->models : model_registry_new(o->model_path);
    creds_options co = o->creds;
    if (!co.region) co.region = c->region;
    c->creds = creds_provider_new(&co);
    c->keys = sigv4_key_cache_new();
    retry_policy_init(&c->retry, 0);
    if (o->retry_base_ms > 0) c->retry.base_delay_ms = o->retry_base_ms;
    apply_retry_settings(c, o);
    return c;
}

void client_free(aws_client *c)
{
    if (!c) return;
    for (lane *l = c->lanes, *next; l; l = next) {
        next = l->next;
        endpoint_free(&l->ep);
        free(l->service);
        free(l->region);
        free(l);
    }
    http_engine_free(c->http);
    if (c->own_models) model_registry_free(c->models);
    endpoints_free(c->endpoints);
    creds_provider_free(c->creds);
    sigv4_key_cache_free(c->keys);
    free(c->region);
    free(c->endpoint_url);
    free(c);
}

http_engine *client_http(aws_client *c) { return c->http; }
const char *client_region(const aws_client *c) { return c->region; }
const client_stats *client_get_stats(const aws_client *c) { return &c->stats; }

const aws_model *client_model(aws_client *c, const char *service, char *err, size_t errlen)
{
    return model_registry_get(c->models, service, err, errlen);
}

const char *client_partition(aws_client *c, const char *region)
{
    const char *p = region ? partition_for_region(c->endpoints, region) : NULL;
    return p ? p : "aws";
}

const char **client_service_regions(aws_client *c, const char *service, const char *partition, size_t *n)
{
    char err[256];
    const aws_model *m = client_model(c, service, err, sizeof err);
    if (!m) return NULL;
    return endpoints_regions(c->endpoints, partition, m->endpoint_prefix, n);
}

/* ---- lanes ---- */

static lane *lane_for(aws_client *c, const aws_model *m, const char *region, char *err, size_t errlen)
{
    for (lane *l = c->lanes; l; l = l->next)
        if (strcmp(l->service, m->service) == 0 && strcmp(l->region, region) == 0) return l;
    lane *l = xcalloc(1, sizeof *l);
    if (endpoint_resolve(c->endpoints, m, region, c->endpoint_url, &l->ep, err, errlen) < 0) {
        free(l);
        return NULL;
    }
    l->service = xstrdup(m->service);
    l->region = xstrdup(region);
    ratelimit_init(&l->limiter, (double)sched_now_ms() / 1000.0);
    l->next = c->lanes;
    c->lanes = l;
    return l;
}

static void send_attempt(call *k);

static void lane_enqueue(lane *l, call *k)
{
    k->next = NULL;
    if (l->tail) l->tail->next = k;
    else l->head = k;
    l->tail = k;
}

/* Starts waiting calls while the lane has free slots. */
static void lane_pump(aws_client *c, lane *l)
{
    while (l->head && l->inflight < c->max_inflight) {
        call *k = l->head;
        l->head = k->next;
        if (!l->head) l->tail = NULL;
        l->inflight++;
        send_attempt(k);
    }
}

/* ---- errors as Lua values ---- */

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "service");
    lua_getfield(L, 1, "operation");
    lua_getfield(L, 1, "region");
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "status");
    lua_pushfstring(L, "%s %s (%s): %s: %s", luaL_optstring(L, 2, "?"), luaL_optstring(L, 3, "?"),
                    luaL_optstring(L, 4, "?"), luaL_optstring(L, 5, "?"), luaL_optstring(L, 6, ""));
    if (lua_tointeger(L, 7) > 0) {
        lua_pushfstring(L, " (HTTP %d)", (int)lua_tointeger(L, 7));
        lua_concat(L, 2);
    }
    return 1;
}

static void set_string(lua_State *L, const char *key, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

void client_push_error(lua_State *L, const aws_error_fields *e)
{
    lua_createtable(L, 0, 11);
    set_string(L, "code", e->code && *e->code ? e->code : "Unknown");
    set_string(L, "message", e->message ? e->message : "");
    lua_pushinteger(L, e->status);
    lua_setfield(L, -2, "status");
    if (e->request_id && *e->request_id) set_string(L, "request_id", e->request_id);
    set_string(L, "service", e->service);
    set_string(L, "operation", e->operation);
    set_string(L, "region", e->region ? e->region : "");
    lua_pushboolean(L, e->retryable);
    lua_setfield(L, -2, "retryable");
    lua_pushboolean(L, e->throttling);
    lua_setfield(L, -2, "throttling");
    lua_pushinteger(L, e->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushboolean(L, e->transient);
    lua_setfield(L, -2, "transient");
    if (luaL_newmetatable(L, "awstopo.aws_error")) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

/* ---- one attempt ---- */

static void call_finish(call *k)
{
    lane *l = k->lane;
    l->inflight--;
    sched_wake(k->s, k->L, 0);
    lane_pump(k->c, l);
}

static void call_fail(call *k, const char *code, const char *message, long status)
{
    k->failed = 1;
    free(k->error);
    k->error = xcalloc(1, sizeof *k->error);
    snprintf(k->error->code, sizeof k->error->code, "%s", code);
    snprintf(k->error->message, sizeof k->error->message, "%s", message);
    k->error->status = status;
    k->c->stats.failures++;
}

static void resend(void *ud)
{
    send_attempt(ud);
}

/* From a timer: the task may not have been parked yet when the failure was
 * found (the first attempt is sent before client_call parks). */
static void finish_later(void *ud)
{
    call_finish(ud);
}

static int uses_s3_rules(const aws_model *m)
{
    const char *sv = m->signature_version;
    return (sv && (strcmp(sv, "s3") == 0 || strcmp(sv, "s3v4") == 0)) ||
           (m->signing_name && strcmp(m->signing_name, "s3") == 0);
}

static int sign(call *k, http_request *r, char *err, size_t errlen)
{
    if (k->op->auth_type && strcmp(k->op->auth_type, "none") == 0) return 0;
    const aws_credentials *cr;
    if (creds_get(k->c->creds, &cr, err, errlen) < 0) return -1;
    sigv4_params p = {0};
    p.creds = cr;
    p.region = k->lane->ep.signing_region;
    p.service = k->lane->ep.signing_name;
    p.s3_rules = uses_s3_rules(k->m);
    return sigv4_sign(r, &p, k->c->keys, NULL, err, errlen);
}

static void on_response(void *ud, http_response *resp, http_error_kind kind, const char *message);

/* Signs the call's request in place (sigv4_sign replaces an earlier
 * attempt's date, token and signature headers) and hands it to the engine,
 * which copies what it sends. */
static void transmit(call *k)
{
    char err[512];
    if (sign(k, &k->req, err, sizeof err) < 0) {
        call_fail(k, "NoCredentials", err, 0);
        sched_after(k->s, 0, finish_later, k);
        return;
    }
    k->attempt++;
    k->c->stats.attempts++;
    http_submit(k->c->http, &k->req, on_response, k);
}

static void transmit_later(void *ud)
{
    transmit(ud);
}

/* Every attempt passes the lane's rate limiter (adaptive mode): it may have
 * to wait for its token. */
static void send_attempt(call *k)
{
    if (!k->started_ms) k->started_ms = sched_now_ms();
    double wait = k->c->adaptive ? ratelimit_acquire(&k->lane->limiter, (double)sched_now_ms() / 1000.0) : 0;
    if (wait > 0) {
        k->c->stats.rate_limited++;
        sched_after(k->s, (long)(wait * 1000.0 + 0.5), transmit_later, k);
        return;
    }
    transmit(k);
}

static void limiter_update(call *k, int throttled)
{
    if (k->c->adaptive) ratelimit_update(&k->lane->limiter, (double)sched_now_ms() / 1000.0, throttled);
}

/* Decides what a failed attempt leads to: another attempt, or the end. */
static void handle_failure(call *k, http_response *resp, http_error_kind kind, const char *message)
{
    aws_error e = {0};
    if (kind == HTTP_OK) {
        protocol_parse_error(k->m, resp, &e);
    } else {
        snprintf(e.code, sizeof e.code, "%s", http_error_name(kind));
        snprintf(e.message, sizeof e.message, "%s", message ? message : "");
    }
    int flags = retry_classify(resp ? resp->status : 0, e.code[0] ? e.code : NULL, kind);
    if (flags & RETRY_THROTTLE) k->c->stats.throttles++;
    limiter_update(k, (flags & RETRY_THROTTLE) != 0);
    if ((flags & RETRY_REFRESH_CREDS) && !k->refreshed_creds) {
        k->refreshed_creds = 1;
        creds_invalidate(k->c->creds);
        k->c->stats.retries++;
        send_attempt(k);
        return;
    }
    const char *retry_after = resp ? headers_get(&resp->headers, "Retry-After") : NULL;
    long delay = retry_next_delay_at(&k->c->retry, k->attempt, flags, retry_after, &k->retry_cost,
                                     (long)(sched_now_ms() - k->started_ms));
    if (delay >= 0) {
        k->c->stats.retries++;
        sched_after(k->s, delay, resend, k);
        return;
    }
    free(k->error);
    k->error = xmalloc(sizeof *k->error);
    *k->error = e;
    k->failed = 1;
    k->retryable = (flags & (RETRY_TRANSIENT | RETRY_THROTTLE)) != 0;
    k->throttling = (flags & RETRY_THROTTLE) != 0;
    k->c->stats.failures++;
    call_finish(k);
}

static void on_response(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    call *k = ud;
    if (resp) k->c->stats.bytes_received += resp->body.len;
    if (kind != HTTP_OK || resp->status < 200 || resp->status >= 300) {
        handle_failure(k, resp, kind, message);
        return;
    }
    limiter_update(k, 0);
    retry_on_success(&k->c->retry, k->retry_cost);
    k->resp.status = resp->status;
    k->resp.headers = resp->headers;           /* move, the engine frees the rest */
    memset(&resp->headers, 0, sizeof resp->headers);
    k->resp.body = resp->body;
    memset(&resp->body, 0, sizeof resp->body);
    call_finish(k);
}

/* ---- the Lua side ---- */

static void call_free(call *k)
{
    request_free(&k->req);
    response_free(&k->resp);
    free(k->error);
    free(k);
}

static void requeue(void *ud)
{
    call *k = ud;
    lane_enqueue(k->lane, k);
    lane_pump(k->c, k->lane);
}

/* A 2xx whose body does not parse may be garbled on the way (cut short
 * with no Content-Length to tell) and is tried again, but only
 * UNPARSED_MAX_ATTEMPTS times with the standard backoff (about 7 s at the
 * default 1 s base): one that keeps failing is a broken response or a model
 * that does not match the service, which waiting does not mend (a scan's
 * budget would keep it going for minutes). 1 when it is sent again (the
 * task stays parked), 0 when the attempts are used up. */
#define UNPARSED_MAX_ATTEMPTS 5
static int retry_unparsed(call *k)
{
    if (++k->unparsed >= UNPARSED_MAX_ATTEMPTS) return 0;
    long delay = retry_next_delay_at(&k->c->retry, k->unparsed, RETRY_TRANSIENT, NULL, &k->retry_cost,
                                     (long)(sched_now_ms() - k->started_ms));
    if (delay < 0) return 0;
    response_free(&k->resp);
    memset(&k->resp, 0, sizeof k->resp);
    k->c->stats.retries++;
    sched_after(k->s, delay, requeue, k);
    return 1;
}

static int call_done(lua_State *L, int status, lua_KContext ctx);

/* The response of the last attempt, parsed onto L: 1 result, or a raised
 * MalformedResponse once parsing failed past the retries. */
static int parse_result(lua_State *L, call *k)
{
    char err[512];
    int top = lua_gettop(L);
    if (protocol_parse(L, k->m, k->op, &k->resp, err, sizeof err) >= 0) {
        call_free(k);
        return 1;
    }
    lua_settop(L, top);
    if (retry_unparsed(k)) return sched_park(L, (lua_KContext)k, call_done);
    k->c->stats.failures++;
    char why[768];
    snprintf(why, sizeof why, "%s; the response (HTTP %ld) did not parse in %d attempt%s: a broken response, or "
             "a model that does not match the service (--models)", err, k->resp.status, k->unparsed,
             k->unparsed == 1 ? "" : "s");
    aws_error_fields e = { .service = k->m->service, .operation = k->op->name, .region = k->lane->region,
                           .code = "MalformedResponse", .message = why,
                           .request_id = headers_get(&k->resp.headers, "x-amzn-RequestId"),
                           .status = k->resp.status, .attempts = k->attempt, .transient = 1 };
    client_push_error(L, &e);
    call_free(k);
    return lua_error(L);
}

/* Continuation: runs in the task once the call has ended. */
static int call_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    call *k = (call *)ctx;
    const char *service = k->m->service, *opname = k->op->name;
    if (k->failed) {
        aws_error_fields e = { .service = service, .operation = opname, .region = k->lane->region,
                               .code = k->error->code, .message = k->error->message,
                               .request_id = k->error->request_id, .status = k->error->status,
                               .retryable = k->retryable, .throttling = k->throttling, .attempts = k->attempt,
                               .transient = k->retryable || k->error->status == 0 || k->error->status >= 500 };
        client_push_error(L, &e);
        call_free(k);
        return lua_error(L);
    }
    return parse_result(L, k);
}

static int raise(lua_State *L, const char *service, const char *opname, const char *region,
                 const char *code, const char *message)
{
    aws_error_fields e = { .service = service, .operation = opname, .region = region, .code = code,
                           .message = message };
    client_push_error(L, &e);
    return lua_error(L);
}

/* Serializes the params and fills the parts of the request that depend on
 * the endpoint. */
static int prepare_request(call *k, lua_State *L, int params_idx, char *err, size_t errlen)
{
    char *host_prefix = NULL;
    request_init(&k->req);
    if (protocol_serialize(L, params_idx, k->m, k->op, &k->req, &host_prefix, err, errlen) < 0) return -1;
    const endpoint *ep = &k->lane->ep;
    buf host = {0}, path = {0};
    if (host_prefix) buf_puts(&host, host_prefix);
    buf_puts(&host, ep->host);
    buf_puts(&path, ep->base_path);
    buf_puts(&path, k->req.path);
    request_set(&k->req.scheme, ep->scheme);
    request_take(&k->req.host, buf_steal(&host));
    request_take(&k->req.path, buf_steal(&path));
    free(host_prefix);
    return 0;
}

int client_call(aws_client *c, lua_State *L, const char *service, const char *region,
                const char *opname, int params_idx)
{
    char err[512];
    if (!region || !*region) region = c->region;
    if (params_idx) params_idx = lua_absindex(L, params_idx);
    const aws_model *m = client_model(c, service, err, sizeof err);
    if (!m) return raise(L, service, opname, region, "UnknownService", err);
    const operation *op = model_operation(m, opname);
    if (!op) {
        snprintf(err, sizeof err, "%s has no operation %s (model %s)", service, opname, m->path ? m->path : "");
        return raise(L, service, opname, region, "UnknownOperation", err);
    }
    lane *l = lane_for(c, m, region, err, sizeof err);
    if (!l) return raise(L, service, opname, region, "NoEndpoint", err);
    sched *s = sched_of(L);
    if (!s) return raise(L, service, opname, region, "NotInTask", "AWS calls can only be made from a task");

    call *k = xcalloc(1, sizeof *k);
    k->c = c;
    k->L = L;
    k->s = s;
    k->lane = l;
    k->m = m;
    k->op = op;
    if (prepare_request(k, L, params_idx, err, sizeof err) < 0) {
        call_free(k);
        return raise(L, service, opname, region, "InvalidParameter", err);
    }
    c->stats.calls++;
    lane_enqueue(l, k);
    lane_pump(c, l);
    return sched_park(L, (lua_KContext)k, call_done);
}
