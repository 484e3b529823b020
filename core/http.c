/* http.c -- the HTTP engine (see http.h): picks a transfer path per request.
 *
 * Direct http and https go through awstopo's own HTTP/1.1 client (http1.c):
 * per call it costs a send, a receive and a share of one epoll_wait, where
 * libcurl's multi interface added a poll of the reused connection and epoll
 * changes per transfer (issue 9: the client's CPU per call). libcurl
 * (http_curl.c) stays for what ours does not do: a request for which a proxy
 * variable is set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, lower case too; NO_PROXY
 * is then libcurl's to apply), verbose mode, and every request when
 * AWSTOPO_HTTP=curl (debugging, and the test that both paths agree).
 *
 * Both paths get the same settings, resolved here once. Each has its own
 * epoll set; when both have transfers running, a third set holding the two
 * is waited on.
 *
 * http_send_blocking() runs a throw-away engine with a single transfer, so the
 * one-off path and the multi path share all option setup.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "http1.h"
#include "http_curl.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_READ_TIMEOUT_MS 30000
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_MAX_BODY_MB 64

struct http_engine {
    http_settings set;
    char *ca_bundle;          /* set.ca_bundle points here */
    int force_curl;           /* AWSTOPO_HTTP=curl, or verbose */
    int proxy_http;           /* a proxy variable applies to http:// */
    int proxy_https;          /* ... to https:// */
    h1_engine *own;           /* created on first use */
    hcurl *curl;              /* created on first use */
    int both_fd;              /* epoll set holding both paths' sets; -1 until needed */
};

const char *http_error_name(http_error_kind kind)
{
    switch (kind) {
    case HTTP_OK: return "ok";
    case HTTP_ERR_CONNECT: return "connect";
    case HTTP_ERR_TIMEOUT: return "timeout";
    case HTTP_ERR_RESET: return "reset";
    case HTTP_ERR_TRUNCATED: return "truncated";
    case HTTP_ERR_TLS: return "tls";
    case HTTP_ERR_TOO_LARGE: return "too-large";
    case HTTP_ERR_OTHER: break;
    }
    return "other";
}

/* AWSTOPO_MAX_RESPONSE_MB, a positive whole number, else the default; in bytes. */
static size_t env_max_body(void)
{
    const char *s = getenv("AWSTOPO_MAX_RESPONSE_MB");
    char *end;
    long mb = s && *s ? strtol(s, &end, 10) : 0;
    if (mb <= 0 || mb > 1L << 20 || *end) mb = DEFAULT_MAX_BODY_MB;
    return (size_t)mb << 20;
}

/* AWS_CLI_READ_TIMEOUT in seconds (fractions allowed) -> ms. Unset or invalid
 * gives the default; "0" means no read timeout, as in the AWS CLI. */
static long env_read_timeout_ms(void)
{
    const char *s = getenv("AWS_CLI_READ_TIMEOUT");
    if (!s || !*s) return DEFAULT_READ_TIMEOUT_MS;
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (errno || end == s || *end || secs < 0 || secs > 86400.0) return DEFAULT_READ_TIMEOUT_MS;
    if (secs == 0) return 0;
    long ms = (long)(secs * 1000.0 + 0.5);
    return ms > 0 ? ms : 1;
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

http_engine *http_engine_new(const http_options *opts)
{
    static const http_options none;
    if (!opts) opts = &none;
    http_engine *e = xcalloc(1, sizeof *e);
    e->set.connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    e->set.read_timeout_ms = opts->read_timeout_ms > 0 ? opts->read_timeout_ms : env_read_timeout_ms();
    e->set.max_body = opts->max_body_bytes > 0 ? opts->max_body_bytes : env_max_body();
    const char *ca = opts->ca_bundle ? opts->ca_bundle : getenv("AWS_CA_BUNDLE");
    if (ca && *ca) e->ca_bundle = xstrdup(ca);
    e->set.ca_bundle = e->ca_bundle;
    e->set.max_connections = opts->max_connections > 0 ? opts->max_connections : DEFAULT_MAX_CONNECTIONS;
    e->set.verbose = opts->verbose;
    const char *mode = getenv("AWSTOPO_HTTP");
    e->force_curl = opts->verbose || (mode && !strcmp(mode, "curl"));
    int all = env_set("all_proxy") || env_set("ALL_PROXY");
    e->proxy_http = all || env_set("http_proxy") || env_set("HTTP_PROXY");
    e->proxy_https = all || env_set("https_proxy") || env_set("HTTPS_PROXY");
    e->both_fd = -1;
    return e;
}

void http_engine_free(http_engine *e)
{
    if (!e) return;
    h1_free(e->own);
    hcurl_free(e->curl);
    if (e->both_fd >= 0) close(e->both_fd);
    free(e->ca_bundle);
    free(e);
}

static int wants_curl(const http_engine *e, const http_request *req)
{
    if (e->force_curl) return 1;
    return strcmp(req->scheme, "https") ? e->proxy_http : e->proxy_https;
}

void http_submit(http_engine *e, const http_request *req, http_done_fn done, void *ud)
{
    if (wants_curl(e, req)) {
        if (!e->curl) e->curl = hcurl_new(&e->set);
        hcurl_submit(e->curl, req, done, ud);
    } else {
        if (!e->own) e->own = h1_new(&e->set);
        h1_submit(e->own, req, done, ud);
    }
}

/* Both paths have transfers running: wait on the set holding both. */
static void wait_both(http_engine *e, int timeout_ms)
{
    if (e->both_fd < 0) {
        e->both_fd = epoll_create1(EPOLL_CLOEXEC);
        if (e->both_fd < 0) abort();
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(e->both_fd, EPOLL_CTL_ADD, h1_fd(e->own), &ev);
        epoll_ctl(e->both_fd, EPOLL_CTL_ADD, hcurl_fd(e->curl), &ev);
    }
    int a = h1_wait_ms(e->own, timeout_ms), b = hcurl_wait_ms(e->curl, timeout_ms);
    struct epoll_event ev[2];
    epoll_wait(e->both_fd, ev, 2, a < b ? a : b);
}

int http_poll(http_engine *e, int timeout_ms)
{
    int own = e->own ? h1_running(e->own) : 0, curl = e->curl ? hcurl_running(e->curl) : 0;
    if (own && curl) {
        wait_both(e, timeout_ms < 0 ? 0 : timeout_ms);
        h1_poll(e->own, 0);
        hcurl_poll(e->curl, 0);
    } else if (curl) {
        hcurl_poll(e->curl, timeout_ms);
    } else if (e->own) {
        h1_poll(e->own, timeout_ms);   /* sleeps its timeout when idle */
    } else if (timeout_ms > 0) {
        usleep((useconds_t)timeout_ms * 1000);
    }
    return http_running(e);
}

int http_running(const http_engine *e)
{
    return (e->own ? h1_running(e->own) : 0) + (e->curl ? hcurl_running(e->curl) : 0);
}

/* ---- one-off requests ---- */

typedef struct blocking_result {
    int done;
    http_error_kind kind;
    http_response *resp;
    char *err;
    size_t errlen;
} blocking_result;

static void blocking_done(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    blocking_result *b = ud;
    b->done = 1;
    b->kind = kind;
    if (kind == HTTP_OK) {
        *b->resp = *resp;      /* take everything; the engine frees an empty shell */
        response_init(resp);
    } else if (b->err && b->errlen) {
        snprintf(b->err, b->errlen, "%s", message);
    }
}

http_error_kind http_send_blocking(const http_request *req, http_response *resp, long timeout_ms,
                                   char *err, size_t errlen)
{
    http_options o = {0};
    o.connect_timeout_ms = timeout_ms;
    o.read_timeout_ms = timeout_ms;
    o.max_connections = 1;
    http_engine *e = http_engine_new(&o);
    blocking_result b = {0, HTTP_OK, resp, err, errlen};
    response_init(resp);
    if (err && errlen) err[0] = '\0';
    http_submit(e, req, blocking_done, &b);
    while (!b.done) http_poll(e, 1000);
    http_engine_free(e);
    return b.kind;
}
