/* http_curl.c -- the libcurl transfer path (see http_curl.h): one multi
 * handle, many transfers. http.c sends here what its own HTTP/1.1 client
 * (http1.c) does not do: proxies, verbose mode, and everything when
 * AWSTOPO_HTTP=curl.
 *
 * Each submitted request becomes a `transfer`: a private copy of what libcurl
 * needs (URL, header list, body) plus the response being collected. The easy
 * handles all live in one multi handle, so they share its connection cache and
 * connections are kept alive and reused between transfers to the same host.
 *
 * libcurl's own low-speed check works in whole seconds, too coarse for a read
 * timeout of 0.5 s, so the read timeout is ours: every byte that moves (header
 * line, body chunk, upload progress) stamps the transfer, and the progress
 * callback aborts it when the stamp is older than read_timeout_ms. The clock
 * starts only once the connection is up (the pre-request callback); before
 * that libcurl's connect timeout is in charge. hcurl_poll() never sleeps past
 * the earliest such deadline so a stalled server is noticed on time.
 *
 * libcurl is driven through its socket interface: it says which sockets to
 * watch (an epoll set here) and when its next timeout is due, and is told
 * which socket is ready. curl_multi_perform instead looks at every transfer
 * on every call (a poll() each), which was half the system calls of a small
 * request with many in flight. A transfer silent past the read timeout is
 * ended here (nothing would wake libcurl up for it).
 */
#include "http_curl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define IDLE_HANDLES 64

/* One request in flight. Owned by the engine from http_submit() until its
 * callback has returned (or the engine is freed). */
typedef struct transfer {
    struct transfer *prev, *next;   /* the engine's list of running transfers */
    hcurl *engine;
    CURL *easy;
    struct curl_slist *headers;     /* request headers as "Name: value" (may hold secrets) */
    buf body;                       /* request body; CURLOPT_POSTFIELDS points into it */
    char *url;                      /* full URL (may hold a presigned query: a secret) */
    char *what;                     /* "METHOD scheme://host/path" for messages, no query */
    char *query;                    /* the query, to keep it out of libcurl's messages */
    http_done_fn done;
    void *ud;
    http_response resp;
    long long last_activity_ms;     /* monotonic time of the last byte moved */
    curl_off_t last_dl, last_ul;    /* progress counters seen last time */
    int connected;                  /* the pre-request callback ran: read timeout applies */
    int read_timed_out;             /* the progress callback aborted the transfer */
    int too_large;                  /* the body callback stopped a body past max_body */
    char errbuf[CURL_ERROR_SIZE];
} transfer;

struct hcurl {
    CURLM *multi;
    CURL *idle[IDLE_HANDLES];       /* easy handles of finished transfers, reset, for the next ones */
    int nidle;
    int epfd;                       /* the sockets libcurl wants watched */
    long long timer_due_ms;         /* libcurl's next timeout (monotonic ms); -1 none */
    transfer *list;                 /* running transfers, newest first */
    int running;                    /* transfers whose callback has not run yet */
    int submitted;                  /* a transfer was started since the last poll */
    long connect_timeout_ms;
    long read_timeout_ms;           /* 0 = no read timeout (AWS_CLI_READ_TIMEOUT=0) */
    size_t max_body;                /* bytes of a response body at most */
    char *ca_bundle;                /* NULL = libcurl's default */
    char *http_proxy_upper;         /* HTTP_PROXY when http_proxy is unset (libcurl ignores it) */
    int verbose;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void global_init_once(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

/* ---- libcurl's socket interface ---- */

/* libcurl says which events to wait for on a socket (or to forget it). */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *socketp)
{
    (void)easy;
    hcurl *e = ud;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(e->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = s;
    if (socketp) {
        epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev);
        return 0;
    }
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST) epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev);
    curl_multi_assign(e->multi, s, e);   /* known: MOD next time */
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
    (void)multi;
    hcurl *e = ud;
    e->timer_due_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

/* Lets libcurl act on its expired timeout, if it has one. */
static void run_timer(hcurl *e)
{
    if (e->timer_due_ms < 0 || now_ms() < e->timer_due_ms) return;
    e->timer_due_ms = -1;
    int running;
    curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

hcurl *hcurl_new(const http_settings *set)
{
    global_init_once();

    hcurl *e = xcalloc(1, sizeof *e);
    e->multi = curl_multi_init();
    if (!e->multi) abort(); /* only fails on OOM */
    e->connect_timeout_ms = set->connect_timeout_ms;
    e->read_timeout_ms = set->read_timeout_ms;
    e->max_body = set->max_body;
    if (set->ca_bundle) e->ca_bundle = xstrdup(set->ca_bundle);
    const char *up = getenv("HTTP_PROXY"), *low = getenv("http_proxy");
    if (up && *up && !low) e->http_proxy_upper = xstrdup(up);
    e->verbose = set->verbose;

    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) abort();
    e->timer_due_ms = -1;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);

    long maxconn = set->max_connections;
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, maxconn);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, maxconn); /* idle ones kept for reuse */
    return e;
}

/* ---- per-transfer libcurl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    if (size * n > t->engine->max_body - t->resp.body.len) {   /* len <= max_body always */
        t->too_large = 1;
        return 0;   /* CURLE_WRITE_ERROR: the transfer ends here */
    }
    buf_append(&t->resp.body, data, size * n);
    t->last_activity_ms = now_ms();
    return size * n;
}

/* A header line arrived: time moves on. A status line starts a new response
 * (after 100 Continue, a proxy's CONNECT reply, ...): what came before is not
 * the final response's body. The headers are taken at the end (take_headers). */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = size * n;
    t->last_activity_ms = now_ms();
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) buf_wipe(&t->resp.body);   /* not cleared: see request.h */
    return len;
}

/* The final response's headers, as libcurl parsed them: trimmed, folded
 * lines joined, those of 1xx and CONNECT replies left out. */
static void take_headers(transfer *t)
{
    struct curl_header *h = NULL;
    while ((h = curl_easy_nextheader(t->easy, CURLH_HEADER, -1, h))) headers_add(&t->resp.headers, h->name, h->value);
}

/* Called once the connection is up (or reused), right before the request goes
 * out: from here on, silence counts against the read timeout. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    transfer *t = ud;
    t->connected = 1;
    t->last_activity_ms = now_ms();
    return CURL_PREREQFUNC_OK;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)ultotal;
    transfer *t = ud;
    long long now = now_ms();
    if (dlnow != t->last_dl || ulnow != t->last_ul) {
        t->last_dl = dlnow;
        t->last_ul = ulnow;
        t->last_activity_ms = now;
    }
    long limit = t->engine->read_timeout_ms;
    if (t->connected && limit > 0 && now - t->last_activity_ms >= limit) {
        t->read_timed_out = 1;
        return 1; /* abort: CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

/* ---- building a transfer ---- */

static int has_header(const http_request *r, const char *name)
{
    return headers_get(&r->headers, name) != NULL;
}

/* libcurl's header syntax: "Name: value"; "Name:" removes a header libcurl
 * would add; "Name;" sends a header with an empty value. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value, int remove)
{
    buf line = {0};
    buf_puts(&line, name);
    if (remove) {
        buf_putc(&line, ':');
    } else if (!value || !*value) {
        buf_putc(&line, ';');
    } else {
        buf_append(&line, ": ", 2);
        buf_puts(&line, value);
    }
    struct curl_slist *l = curl_slist_append(list, line.data);
    buf_wipe(&line);
    if (!l) abort();
    return l;
}

static void wipe_slist(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next) secure_zero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

/* Signed headers must reach the wire exactly as signed: send the request's
 * headers, its Host, and stop libcurl adding Expect, Accept and (for bodies)
 * Content-Type of its own. */
static struct curl_slist *build_headers(const http_request *r, int has_body)
{
    struct curl_slist *l = NULL;
    if (!has_header(r, "Host")) l = add_header(l, "Host", r->host, 0);
    for (size_t i = 0; i < r->headers.len; i++)
        l = add_header(l, r->headers.items[i].name, r->headers.items[i].value, 0);
    l = add_header(l, "Expect", NULL, 1);
    if (!has_header(r, "Accept")) l = add_header(l, "Accept", NULL, 1);
    if (has_body && !has_header(r, "Content-Type")) l = add_header(l, "Content-Type", NULL, 1);
    return l;
}

/* Method and body. GET/HEAD/DELETE without a body send none; POST, PUT and
 * PATCH always send one (Content-Length: 0 when empty: S3 insists). */
static int set_method(CURL *c, const http_request *r, transfer *t)
{
    const char *m = r->method;
    int wants_body = r->body.len > 0 || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (wants_body) {
        buf_append(&t->body, r->body.data ? r->body.data : "", r->body.len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body.len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body.data);
        if (strcmp(m, "POST")) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
        return 1;
    }
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(m, "GET")) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    return 0;
}

static void set_options(hcurl *e, transfer *t, const http_request *r)
{
    CURL *c = t->easy;
    curl_easy_setopt(c, CURLOPT_URL, t->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* HTTP/1.1 as the AWS SDKs speak it; no surprises from h2 negotiation. */
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    int has_body = set_method(c, r, t);
    t->headers = build_headers(r, has_body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);

    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (e->ca_bundle) curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_bundle);
    /* libcurl reads http_proxy, HTTPS_PROXY/https_proxy and NO_PROXY/no_proxy
     * itself; only upper-case HTTP_PROXY it refuses (httpoxy), the SDKs don't. */
    if (e->http_proxy_upper && !strcmp(r->scheme, "http"))
        curl_easy_setopt(c, CURLOPT_PROXY, e->http_proxy_upper);
    if (e->verbose) curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* prints headers: debug only */

    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, t);
}

static transfer *transfer_new(hcurl *e, const http_request *r, http_done_fn done, void *ud)
{
    transfer *t = xcalloc(1, sizeof *t);
    t->engine = e;
    t->done = done;
    t->ud = ud;
    response_init(&t->resp);
    t->url = request_url(r);
    t->query = xstrdup(r->query);
    buf w = {0};
    buf_printf(&w, "%s %s://%s%s", r->method, r->scheme, r->host, r->path);
    t->what = buf_steal(&w);
    t->easy = e->nidle ? e->idle[--e->nidle] : curl_easy_init();
    if (!t->easy) abort(); /* only fails on OOM */
    set_options(e, t, r);
    t->last_activity_ms = now_ms();
    return t;
}

static void transfer_free(transfer *t)
{
    hcurl *e = t->engine;
    if (e->nidle < IDLE_HANDLES) {   /* reset is cheaper than cleanup + init */
        curl_easy_reset(t->easy);
        e->idle[e->nidle++] = t->easy;
    } else {
        curl_easy_cleanup(t->easy);
    }
    wipe_slist(t->headers);
    buf_wipe(&t->body);
    free_secret(t->url);
    free_secret(t->query);
    free(t->what);
    response_free(&t->resp);
    free(t);
}

static void list_unlink(hcurl *e, transfer *t)
{
    if (t->prev) t->prev->next = t->next;
    else e->list = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

void hcurl_submit(hcurl *e, const http_request *req, http_done_fn done, void *ud)
{
    transfer *t = transfer_new(e, req, done, ud);
    t->next = e->list;
    if (e->list) e->list->prev = t;
    e->list = t;
    e->running++;
    e->submitted = 1;
    curl_multi_add_handle(e->multi, t->easy);
    /* Start sending now: the caller may keep the CPU busy for a while (a
     * mapping working on the previous page) before the loop polls again.
     * Adding the handle set a timeout of 0: running it starts this transfer
     * alone. Finished transfers wait in the message queue for http_poll. */
    run_timer(e);
}

/* ---- completion ---- */

static http_error_kind classify(CURLcode rc, const transfer *t)
{
    switch (rc) {
    case CURLE_OK: return HTTP_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HTTP_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return HTTP_ERR_TIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK: return t->read_timed_out ? HTTP_ERR_TIMEOUT : HTTP_ERR_OTHER;
    case CURLE_WRITE_ERROR: return t->too_large ? HTTP_ERR_TOO_LARGE : HTTP_ERR_OTHER;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return HTTP_ERR_RESET;
    case CURLE_PARTIAL_FILE: return HTTP_ERR_TRUNCATED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED: return HTTP_ERR_TLS;
    default: return HTTP_ERR_OTHER;
    }
}

/* "GET https://host/path: reason" -- never the query (presigned credentials). */
static void describe(const transfer *t, CURLcode rc, buf *out)
{
    if (t->read_timed_out) {
        buf_printf(out, "%s: no data received for %ld ms (read timeout)", t->what, t->engine->read_timeout_ms);
        return;
    }
    if (t->too_large) {
        buf_printf(out, "%s: the response body is larger than %zu MiB (AWSTOPO_MAX_RESPONSE_MB): not read further",
                   t->what, t->engine->max_body >> 20);
        return;
    }
    const char *reason = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    if (t->query[0] && strstr(reason, t->query)) reason = curl_easy_strerror(rc);
    buf_printf(out, "%s: %s", t->what, reason);
    if (out->len && out->data[out->len - 1] == '\n') out->data[--out->len] = '\0';
}

static void finish(hcurl *e, transfer *t, CURLcode rc)
{
    curl_multi_remove_handle(e->multi, t->easy);
    list_unlink(e, t);
    e->running--;
    http_error_kind kind = classify(rc, t);
    buf msg = {0};
    if (kind == HTTP_OK) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->resp.status);
        take_headers(t);
    } else {
        describe(t, rc, &msg);
    }
    if (t->done) t->done(t->ud, &t->resp, kind, kind == HTTP_OK ? NULL : buf_cstr(&msg));
    buf_free(&msg);
    transfer_free(t);
}

/* How long the loop may sleep before some connected transfer's read timeout
 * expires (so it is detected on time), capped by `timeout_ms`. */
static int sleep_budget(const hcurl *e, int timeout_ms)
{
    if (e->read_timeout_ms <= 0) return timeout_ms;
    long long now = now_ms(), best = timeout_ms;
    for (const transfer *t = e->list; t; t = t->next) {
        if (!t->connected) continue;
        long long left = t->last_activity_ms + e->read_timeout_ms - now + 1;
        if (left < best) best = left < 0 ? 0 : left;
    }
    return (int)best;
}

/* Ends the transfers silent for the read timeout (their callbacks may start
 * new transfers, so the list is searched anew after each). */
static void end_silent(hcurl *e)
{
    if (e->read_timeout_ms <= 0) return;
    for (;;) {
        long long now = now_ms();
        transfer *t = e->list;
        while (t && !(t->connected && now - t->last_activity_ms >= e->read_timeout_ms)) t = t->next;
        if (!t) return;
        t->read_timed_out = 1;
        finish(e, t, CURLE_ABORTED_BY_CALLBACK);
    }
}

/* Runs the callbacks of the transfers that finished; returns how many. */
static int reap(hcurl *e)
{
    CURLMsg *m;
    int left, n = 0;
    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        transfer *t = NULL;
        CURLcode rc = m->data.result; /* read before finish(): m dies with the handle */
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(e, t, rc);
        n++;
    }
    return n;
}

int hcurl_wait_ms(const hcurl *e, int timeout_ms)
{
    if (e->submitted) return 0;   /* it may have finished already: see hcurl_poll */
    long long wait = sleep_budget(e, timeout_ms);
    if (e->timer_due_ms >= 0) {
        long long due = e->timer_due_ms - now_ms();
        if (due < wait) wait = due < 0 ? 0 : due;
    }
    return (int)wait;
}

int hcurl_fd(const hcurl *e)
{
    return e->epfd;
}

int hcurl_poll(hcurl *e, int timeout_ms)
{
    int still = 0;
    if (timeout_ms < 0) timeout_ms = 0;
    e->submitted = 0;
    /* A transfer may have finished before we got here (during the perform
     * in http_submit, on a fast server): no socket would wake the poll up
     * for it, so hand it over without sleeping. */
    if (reap(e) > 0) return e->running;
    int wait = hcurl_wait_ms(e, timeout_ms);
    struct epoll_event ev[64];
    int n = epoll_wait(e->epfd, ev, 64, (int)wait);
    for (int i = 0; i < n; i++) {
        int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(e->multi, ev[i].data.fd, mask, &still);
    }
    run_timer(e);
    reap(e);
    end_silent(e);
    return e->running;
}

int hcurl_running(const hcurl *e)
{
    return e->running;
}

void hcurl_free(hcurl *e)
{
    if (!e) return;
    while (e->list) {
        transfer *t = e->list;
        curl_multi_remove_handle(e->multi, t->easy);
        list_unlink(e, t);
        transfer_free(t);
    }
    while (e->nidle) curl_easy_cleanup(e->idle[--e->nidle]);
    curl_multi_cleanup(e->multi);
    close(e->epfd);
    free(e->ca_bundle);
    free(e->http_proxy_upper);
    free(e);
}

