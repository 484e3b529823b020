/* sink_stackstate.c -- delivers intake payloads to the StackState receiver (see sink.h).
 *
 * Nothing is lost (ARCHITECTURE.md, decision 7): every payload is first
 * written to the spool (spool.c), gzip-compressed exactly as it goes on the
 * wire, and leaves the spool only when the receiver answered 2xx. Delivery
 * takes the spool oldest first and never skips ahead: when a payload cannot
 * be delivered now, the ones after it wait too, so StackState always sees
 * the payloads in the order they were made (a snapshot's stop after its
 * start, a delete after the create).
 *
 * The receiver URL. base_url may be given in any of these forms:
 *   https://host                         -> https://host/stsAgent/intake
 *   https://host/receiver                -> https://host/receiver/stsAgent/intake
 *   https://host/receiver/stsAgent       -> https://host/receiver/stsAgent/intake
 *   https://host/receiver/stsAgent/intake   (taken as it is)
 * with or without a trailing '/'; the API key is added as ?api_key=<key>.
 *
 * Per payload and delivery round:
 *   2xx                     delivered: removed from the spool
 *   408, 429, 5xx, no answer  retried after rand[0,1) * min(60 s, base * 2^(n-1))
 *                           ("full jitter"; a longer Retry-After is honoured),
 *                           up to max_attempts; then delivery stops, the
 *                           payloads stay spooled, and the call returns 1
 *   401, 403                -1: the API key was refused
 *   413                     -1: payload too large; it stays spooled
 *   other status            -1 with the status and the start of the body
 *
 * Two processes sharing a spool: the delivery lock (spool_lock) is taken
 * without waiting. When another process holds it, this one skips delivery:
 * it only spools its payloads and returns 1. The process holding the lock
 * reads the directory again when it runs out of entries, and once more after
 * letting go, so those payloads are delivered by it (or by the next send or
 * flush of anyone).
 *
 * The API key lives only in this struct and in the request's query; both are
 * wiped when freed. Every message is built from the URL without its query,
 * and is scrubbed of the key before it is returned all the same.
 */
#include "sink.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "spool.h"

#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_RETRY_BASE_MS 1000
#define DEFAULT_TIMEOUT_MS 30000
#define MAX_BACKOFF_MS 60000
#define BODY_EXCERPT 200

struct stackstate_sink {
    spool *spool;
    char *scheme, *host, *path;    /* the intake endpoint */
    char *shown_url;               /* scheme://host/path: the URL for messages (no key) */
    char *api_key;                 /* secret */
    int max_attempts;
    long retry_base_ms;
    long timeout_ms;
    int no_gzip;
    http_engine *http;             /* kept across payloads: connections are reused */
    uint64_t rng;                  /* xorshift64* state for the jitter */
    sink_stats stats;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Replaces every occurrence of the key in msg by "<api-key>" (defence in
 * depth: no message is built with the key in the first place). */
static void scrub_key(char *msg, size_t msglen, const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (!msg || !msglen || n < 4) return;
    char *hit;
    while ((hit = strstr(msg, key)) != NULL) {
        buf b = {0};
        buf_append(&b, msg, (size_t)(hit - msg));
        buf_puts(&b, "<api-key>");
        buf_puts(&b, hit + n);
        snprintf(msg, msglen, "%s", b.data);
        buf_free(&b);
    }
}

/* ---- the URL ---- */

static int has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Splits base_url into scheme, host and the intake path (see the top comment). */
static int parse_base_url(stackstate_sink *s, const char *base, char *err, size_t errlen)
{
    const char *sep = base ? strstr(base, "://") : NULL;
    if (!sep || !((sep - base == 4 && strncmp(base, "http", 4) == 0) ||
                  (sep - base == 5 && strncmp(base, "https", 5) == 0))) {
        set_err(err, errlen, "StackState URL must start with http:// or https:// (got \"%.100s\")",
                base ? base : "");
        return -1;
    }
    if (strpbrk(base, "?#")) {
        set_err(err, errlen, "StackState URL must not have a query or fragment: give the receiver's base URL");
        return -1;
    }
    const char *host = sep + 3;
    size_t host_len = strcspn(host, "/");
    if (host_len == 0) {
        set_err(err, errlen, "StackState URL has no host (got \"%.100s\")", base);
        return -1;
    }
    const char *path = host + host_len;
    size_t path_len = strlen(path);
    while (path_len && path[path_len - 1] == '/') path_len--;

    buf p = {0};
    buf_append(&p, path, path_len);
    if (has_suffix(path, path_len, "/stsAgent")) buf_puts(&p, "/intake");
    else if (!has_suffix(path, path_len, "/stsAgent/intake")) buf_puts(&p, "/stsAgent/intake");
    s->scheme = xstrndup(base, (size_t)(sep - base));
    s->host = xstrndup(host, host_len);
    s->path = buf_steal(&p);
    buf u = {0};
    buf_printf(&u, "%s://%s%s", s->scheme, s->host, s->path);
    s->shown_url = buf_steal(&u);
    return 0;
}

/* ---- life cycle ---- */

stackstate_sink *stackstate_sink_new(const stackstate_options *o, char *err, size_t errlen)
{
    if (!o->api_key || !o->api_key[0]) {
        set_err(err, errlen, "no StackState API key given");
        return NULL;
    }
    stackstate_sink *s = xcalloc(1, sizeof *s);
    if (parse_base_url(s, o->base_url, err, errlen) != 0) {
        stackstate_sink_free(s);
        return NULL;
    }
    s->spool = spool_open(o->spool_dir, o->spool_max_bytes, err, errlen);
    if (!s->spool) {
        stackstate_sink_free(s);
        return NULL;
    }
    s->api_key = xstrdup(o->api_key);
    s->max_attempts = o->max_attempts > 0 ? o->max_attempts : DEFAULT_MAX_ATTEMPTS;
    s->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : DEFAULT_RETRY_BASE_MS;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->no_gzip = o->no_gzip;
    http_options ho = {0};
    ho.connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000;
    ho.read_timeout_ms = s->timeout_ms;
    ho.max_connections = 2;
    s->http = http_engine_new(&ho);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ (uintptr_t)s;
    if (!s->rng) s->rng = 0x9e3779b97f4a7c15ULL;
    s->stats.spooled = spool_count(s->spool);
    return s;
}

void stackstate_sink_free(stackstate_sink *s)
{
    if (!s) return;
    if (s->http) http_engine_free(s->http);
    spool_close(s->spool);
    free(s->scheme);
    free(s->host);
    free(s->path);
    free(s->shown_url);
    free_secret(s->api_key);
    free(s);
}

const sink_stats *stackstate_sink_stats(const stackstate_sink *s)
{
    return &s->stats;
}

/* ---- one HTTP exchange ---- */

typedef struct exchange {
    int done;
    http_error_kind kind;
    http_response resp;
    char message[256];     /* transport failure, from http.c (no query in it) */
} exchange;

static void exchange_done(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    exchange *x = ud;
    x->done = 1;
    x->kind = kind;
    if (kind == HTTP_OK) {
        x->resp = *resp;
        response_init(resp);
    } else {
        snprintf(x->message, sizeof x->message, "%s", message ? message : http_error_name(kind));
    }
}

/* The POST for one payload; body is what goes on the wire. Caller frees. */
static void build_request(const stackstate_sink *s, const buf *body, http_request *req)
{
    request_init(req);
    request_set(&req->method, "POST");
    request_set(&req->scheme, s->scheme);
    request_set(&req->host, s->host);
    request_set(&req->path, s->path);
    buf key = {0};
    uri_encode(&key, s->api_key, strlen(s->api_key), 0);
    request_add_query(req, "api_key", key.data);
    buf_wipe(&key);
    headers_add(&req->headers, "Content-Type", "application/json");
    if (!s->no_gzip) headers_add(&req->headers, "Content-Encoding", "gzip");
    buf_append(&req->body, body->data, body->len);
}

static void exchange_run(stackstate_sink *s, const http_request *req, exchange *x)
{
    memset(x, 0, sizeof *x);
    response_init(&x->resp);
    http_submit(s->http, req, exchange_done, x);
    while (!x->done) http_poll(s->http, 1000);
}

/* ---- backoff ---- */

static double next_random(stackstate_sink *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;   /* / 2^53 */
}

/* Full jitter after failed attempt n (1-based); retry_after: seconds or NULL. */
static long backoff_ms(stackstate_sink *s, int n, const char *retry_after)
{
    double ceiling = (double)s->retry_base_ms;
    for (int i = 1; i < n && ceiling < MAX_BACKOFF_MS; i++) ceiling *= 2;
    if (ceiling > MAX_BACKOFF_MS) ceiling = MAX_BACKOFF_MS;
    long delay = (long)(next_random(s) * ceiling);
    if (retry_after) {
        char *end;
        double secs = strtod(retry_after, &end);
        if (end != retry_after && *end == '\0' && secs > 0) {
            long ra = secs * 1000 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : (long)(secs * 1000);
            if (ra > delay) delay = ra;
        }
    }
    return delay;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ---- delivering one spooled payload ---- */

enum { DELIVERED = 0, GAVE_UP = 1, REFUSED = -1 };

static int retryable_status(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* The first BODY_EXCERPT bytes of a response body, printable. */
static void body_excerpt(const buf *body, char *out, size_t outlen)
{
    size_t n = body->len < BODY_EXCERPT ? body->len : BODY_EXCERPT, j = 0;
    for (size_t i = 0; i < n && j + 1 < outlen; i++) {
        unsigned char c = (unsigned char)body->data[i];
        out[j++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[j] = '\0';
    if (j == 0) snprintf(out, outlen, "(empty body)");
}

/* The uncompressed size a gzip stream records in its trailer (mod 2^32). */
static size_t gzip_isize(const buf *gz)
{
    if (gz->len < 18) return 0;
    const unsigned char *t = (const unsigned char *)gz->data + gz->len - 4;
    return (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
}

/* A status that ends delivery for good: the message for it. */
static void refusal_message(const stackstate_sink *s, long status, const exchange *x, const buf *gz,
                            size_t sent, uint64_t seq, char *err, size_t errlen)
{
    buf path = {0};
    spool_entry_path(s->spool, seq, &path);
    if (status == 401 || status == 403) {
        set_err(err, errlen, "StackState rejected the API key (HTTP %ld) at %s", status, s->shown_url);
    } else if (status == 413) {
        set_err(err, errlen,
                "payload too large (%zu bytes, %zu uncompressed): lower max payload size "
                "(HTTP 413 from %s; the payload stays spooled as %s)",
                sent, gzip_isize(gz), s->shown_url, path.data);
    } else {
        char excerpt[BODY_EXCERPT + 1];
        body_excerpt(&x->resp.body, excerpt, sizeof excerpt);
        set_err(err, errlen, "StackState refused a payload (HTTP %ld) at %s: %s (the payload stays spooled as %s)",
                status, s->shown_url, excerpt, path.data);
    }
    buf_free(&path);
}

/* Sends the spooled payload gz (entry seq) until it is delivered, refused or
 * out of attempts. */
static int deliver_one(stackstate_sink *s, uint64_t seq, const buf *gz, char *err, size_t errlen)
{
    buf plain = {0};
    const buf *body = gz;
    if (s->no_gzip) {
        char zerr[128];
        if (gzip_decompress(&plain, gz->data, gz->len, zerr, sizeof zerr) != 0) {
            buf path = {0};
            spool_entry_path(s->spool, seq, &path);
            set_err(err, errlen, "spooled payload %s is damaged: %s; move it away to go on", path.data, zerr);
            buf_free(&path);
            return REFUSED;
        }
        body = &plain;
    }
    http_request req;
    build_request(s, body, &req);
    buf_free(&plain);

    int rc = GAVE_UP;
    char last[300] = "";
    for (int attempt = 1; attempt <= s->max_attempts; attempt++) {
        exchange x;
        exchange_run(s, &req, &x);
        long status = x.kind == HTTP_OK ? x.resp.status : 0;
        if (status) s->stats.bytes_sent += req.body.len;
        if (status >= 200 && status <= 299) {
            rc = spool_remove(s->spool, seq, err, errlen) == 0 ? DELIVERED : REFUSED;
            if (rc == DELIVERED) s->stats.delivered++;
            response_free(&x.resp);
            break;
        }
        if (status && !retryable_status(status)) {
            refusal_message(s, status, &x, gz, req.body.len, seq, err, errlen);
            response_free(&x.resp);
            rc = REFUSED;
            break;
        }
        if (status) snprintf(last, sizeof last, "HTTP %ld", status);
        else snprintf(last, sizeof last, "%s", x.message);
        const char *retry_after = status ? headers_get(&x.resp.headers, "Retry-After") : NULL;
        long delay = attempt < s->max_attempts ? backoff_ms(s, attempt, retry_after) : -1;
        response_free(&x.resp);
        if (delay < 0) break;
        s->stats.retries++;
        sleep_ms(delay);
    }
    if (rc == GAVE_UP)
        set_err(err, errlen, "could not deliver to %s after %d attempts (last: %s); %zu payload(s) stay spooled in %s",
                s->shown_url, s->max_attempts, last, spool_count(s->spool), spool_dir(s->spool));
    request_free(&req);
    return rc;
}

/* ---- delivering the spool ---- */

/* One round under the delivery lock: oldest first, until the spool is empty
 * (as the directory shows it) or a payload cannot go. */
static int deliver_locked(stackstate_sink *s, char *err, size_t errlen)
{
    buf gz = {0};
    int rc = DELIVERED;
    for (;;) {
        uint64_t seq;
        int found = spool_peek_oldest(s->spool, &gz, &seq, err, errlen);
        if (found <= 0) {
            if (found < 0) rc = REFUSED;
            break;
        }
        rc = deliver_one(s, seq, &gz, err, errlen);
        if (rc != DELIVERED) break;
    }
    buf_free(&gz);
    return rc;
}

static int deliver_spool(stackstate_sink *s, char *err, size_t errlen)
{
    int rc;
    for (;;) {
        int locked = spool_lock(s->spool, 0, err, errlen);
        if (locked < 0) return REFUSED;
        if (locked == 0) {
            s->stats.spooled = spool_count(s->spool);
            if (!s->stats.spooled) return DELIVERED;
            set_err(err, errlen, "another process is delivering spool %s; %zu payload(s) wait there for it",
                    spool_dir(s->spool), s->stats.spooled);
            return GAVE_UP;
        }
        rc = deliver_locked(s, err, errlen);
        spool_unlock(s->spool);
        /* A process that pushed while we held the lock left its payloads to
         * us: look once more after letting go, so none is stranded. */
        if (rc != DELIVERED || spool_rescan(s->spool, NULL, 0) != 0 || spool_count(s->spool) == 0) break;
    }
    s->stats.spooled = spool_count(s->spool);
    return rc;
}

int stackstate_sink_flush(stackstate_sink *s, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    int rc = deliver_spool(s, err, errlen);
    scrub_key(err, errlen, s->api_key);
    return rc;
}

/* Compresses every payload, then spools them all or none. */
static int spool_payloads(stackstate_sink *s, const payload_list *payloads, char *err, size_t errlen)
{
    if (!payloads || payloads->len == 0) return 0;
    buf *gz = xcalloc(payloads->len, sizeof *gz);
    size_t total = 0;
    for (size_t i = 0; i < payloads->len; i++) {
        gzip_compress(&gz[i], payloads->items[i].data, payloads->items[i].len);
        total += gz[i].len;
    }
    int rc = 0;
    if (!spool_fits(s->spool, total, NULL, 0)) {
        /* Make room by delivering what waits, if the receiver takes it. */
        char ignored[512];
        if (deliver_spool(s, ignored, sizeof ignored) == REFUSED) {
            set_err(err, errlen, "%s", ignored);
            rc = -1;
        } else if (!spool_fits(s->spool, total, err, errlen)) {
            rc = -1;
        }
    }
    for (size_t i = 0; i < payloads->len && rc == 0; i++)
        rc = spool_push(s->spool, gz[i].data, gz[i].len, err, errlen);
    for (size_t i = 0; i < payloads->len; i++) buf_free(&gz[i]);
    free(gz);
    s->stats.spooled = spool_count(s->spool);
    return rc;
}

int stackstate_sink_send(stackstate_sink *s, const payload_list *payloads, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    int rc = spool_payloads(s, payloads, err, errlen) != 0 ? REFUSED : deliver_spool(s, err, errlen);
    scrub_key(err, errlen, s->api_key);
    return rc;
}
