/* sink_stackstate.c -- delivers intake payloads to the StackState receiver (see sink.h).
 *
 * Nothing is lost (ARCHITECTURE.md, decision 7): every payload is first
 * written to the spool (spool.c), gzip-compressed exactly as it goes on the
 * wire, and leaves the spool only when the receiver answered 2xx (or moved
 * aside to <spool>/rejected/ when it refused it for good). Delivery takes
 * the spool oldest first and never skips ahead: when a payload cannot be
 * delivered now, the ones after it wait too, so StackState always sees the
 * payloads in the order they were made (a snapshot's stop after its start,
 * a delete after the create).
 *
 * The receiver URL. base_url may be given in any of these forms:
 *   https://host                         -> https://host/stsAgent/intake
 *   https://host/receiver                -> https://host/receiver/stsAgent/intake
 *   https://host/receiver/stsAgent       -> https://host/receiver/stsAgent/intake
 *   https://host/receiver/stsAgent/intake   (taken as it is)
 * with or without a trailing '/'; the API key is added as ?api_key=<key>.
 *
 * Per payload and delivery round (sink.h has the whole table):
 *   2xx                     delivered: removed from the spool
 *   408, 429, 5xx, no answer  retried after rand[0,1) * min(60 s, base * 2^(n-1))
 *                           ("full jitter", retry.c; a longer Retry-After is
 *                           honoured), up to max_attempts; then delivery
 *                           stops, the payloads stay spooled, and the call
 *                           returns SINK_GAVE_UP
 *   413                     cut in two (intake_split) and the parts sent in
 *                           order, each cut again on 413: a tree of parts,
 *                           walked depth first (the parts on the way down and
 *                           their waiting siblings: about twice the payload)
 *   401, 403; 404, 405, 407, 415, 3xx
 *                           SINK_REFUSED: stop; the payload stays spooled (the key or
 *                           the URL is wrong for every payload alike)
 *   413 on one item, other 4xx
 *                           the payload (or part) is moved to <spool>/rejected/
 *                           and delivery goes on; the call returns
 *                           SINK_REFUSED at the end, naming the first such file
 *
 * Two processes sharing a spool: the delivery lock (spool_lock) is taken
 * without waiting. When another process holds it, this one skips delivery:
 * it only spools its payloads and returns SINK_GAVE_UP. The process holding
 * the lock reads the directory again when it runs out of entries, and once
 * more after letting go, so those payloads are delivered by it (or by the
 * next send of anyone).
 *
 * The API key lives only in this struct and in the request's query; both are
 * wiped when freed. Every message is built from the URL without its query,
 * and is scrubbed of the key before it is returned all the same.
 */
#include "sink.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "retry.h"
#include "spool.h"
#include "util.h"

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
    retry_policy backoff;          /* only its backoff is used: attempts are counted here */
    sink_stats stats;
    /* Payloads moved aside during the current send: how many, and
     * the message for the first (the call's result names it). */
    size_t rejected_now;
    char rejection[600];
    /* Spool entries found unreadable during the current send, and the
     * message for the first. */
    size_t corrupt_now;
    char corruption[600];
    int broken_snapshot;           /* the spool's broken-snapshot mark, as read under the delivery lock */
};

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

/* Splits base_url into scheme, host and the intake path (see the top comment). */
static int parse_base_url(stackstate_sink *s, const char *base, char *err, size_t errlen)
{
    http_url u;
    const char *why;
    if (http_url_parse(base, &u, &why) != 0)
        return set_err(err, errlen, "StackState URL \"%.100s\" %s%s", base ? base : "", why,
                       strstr(why, "query") ? ": give the receiver's base URL" : "");
    buf p = {0};
    buf_puts(&p, u.path);
    if (has_suffix(u.path, "/stsAgent")) buf_puts(&p, "/intake");
    else if (!has_suffix(u.path, "/stsAgent/intake")) buf_puts(&p, "/stsAgent/intake");
    s->scheme = u.scheme;
    s->host = u.host;
    s->path = buf_steal(&p);
    free(u.path);
    buf_printf(&p, "%s://%s%s", s->scheme, s->host, s->path);
    s->shown_url = buf_steal(&p);
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
    retry_policy_init(&s->backoff, 0);
    s->backoff.base_delay_ms = s->retry_base_ms;
    s->backoff.max_backoff_ms = MAX_BACKOFF_MS;
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

/* ---- one POST, with retries ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int retryable_status(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* A refusal that blames the key, the URL or the client, not the payload:
 * every payload would get it, so delivery stops and all stays spooled. */
static int stop_status(long status)
{
    return status < 400 || status > 499 || status == 401 || status == 403 || status == 404 || status == 405 ||
           status == 407 || status == 415;
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

/* The answer that refused a payload. */
typedef struct refusal {
    long status;
    char excerpt[BODY_EXCERPT + 1];
} refusal;

/* POSTs body until the receiver takes it, refuses it or the attempts run
 * out: SINK_DELIVERED, SINK_REFUSED (the answer in *r) or SINK_GAVE_UP (err says why). */
static sink_result post(stackstate_sink *s, const buf *body, refusal *r, char *err, size_t errlen)
{
    http_request req;
    build_request(s, body, &req);
    sink_result rc = SINK_GAVE_UP;
    char last[300] = "";
    for (int attempt = 1; attempt <= s->max_attempts; attempt++) {
        exchange x;
        exchange_run(s, &req, &x);
        long status = x.kind == HTTP_OK ? x.resp.status : 0;
        if (status) s->stats.bytes_sent += req.body.len;
        if (status >= 200 && status <= 299) {
            s->stats.delivered++;
            response_free(&x.resp);
            rc = SINK_DELIVERED;
            break;
        }
        if (status && !retryable_status(status)) {
            r->status = status;
            body_excerpt(&x.resp.body, r->excerpt, sizeof r->excerpt);
            response_free(&x.resp);
            rc = SINK_REFUSED;
            break;
        }
        if (status) snprintf(last, sizeof last, "HTTP %ld", status);
        else snprintf(last, sizeof last, "%s", x.message);
        const char *retry_after = status ? headers_get(&x.resp.headers, "Retry-After") : NULL;
        long delay = attempt < s->max_attempts ? retry_backoff_ms(&s->backoff, attempt, retry_after) : -1;
        response_free(&x.resp);
        if (delay < 0) break;
        s->stats.retries++;
        sleep_ms(delay);
    }
    if (rc == SINK_GAVE_UP)
        set_err(err, errlen, "could not deliver to %s after %d attempts (last: %s); %zu payload(s) stay spooled in %s",
                s->shown_url, s->max_attempts, last, spool_count(s->spool), spool_dir(s->spool));
    request_free(&req);
    return rc;
}

/* ---- a payload and its parts ---- */

/* A payload on its way: spool entry seq itself (whole), or the items
 * [from, to) of it once it was cut (numbered as in sink.h). Its bytes are
 * kept compressed, plain or both: whichever was needed so far. */
typedef struct part {
    uint64_t seq;
    int whole;
    int moved;             /* whole, and moved to rejected/: no longer in the spool */
    size_t from, to;
    buf gz, plain;
} part;

static void part_free(part *p)
{
    buf_free(&p->gz);
    buf_free(&p->plain);
}

static const buf *part_gz(part *p)
{
    if (!p->gz.len) gzip_compress(&p->gz, p->plain.data, p->plain.len);
    return &p->gz;
}

static int part_plain(part *p, char *err, size_t errlen)
{
    if (p->plain.len) return 0;
    return gzip_decompress(&p->plain, p->gz.data, p->gz.len, err, errlen);
}

/* The name of a part in rejected/ (sink.h). */
static void rejected_name(const part *p, char *out, size_t outlen)
{
    unsigned long long seq = (unsigned long long)p->seq;
    if (p->to - p->from == 1) snprintf(out, outlen, "%020llu.item-%zu.json.gz", seq, p->from);
    else snprintf(out, outlen, "%020llu.items-%zu-%zu.json.gz", seq, p->from, p->to - 1);
}

/* Moves a payload refused for good to rejected/ and notes it for the call's
 * result. why: what more there is to say (may be ""). SINK_SET_ASIDE, or SINK_REFUSED
 * when it could not be moved (then it stays spooled). */
static sink_result set_aside(stackstate_sink *s, part *p, const refusal *r, const char *why, char *err, size_t errlen)
{
    buf path = {0};
    int rc;
    if (p->whole) {
        rc = spool_reject(s->spool, p->seq, &path, err, errlen);
        p->moved = rc == 0;
    } else {
        char name[96];
        rejected_name(p, name, sizeof name);
        const buf *gz = part_gz(p);
        rc = spool_reject_data(s->spool, name, gz->data, gz->len, &path, err, errlen);
    }
    if (rc != 0) {
        buf_free(&path);
        return SINK_REFUSED;
    }
    s->stats.rejected++;
    if (s->rejected_now++ == 0)
        snprintf(s->rejection, sizeof s->rejection,
                 "StackState refused a payload (HTTP %ld) at %s: %s; %s%smoved aside to %s "
                 "(not retried; delivery went on with the next payload)",
                 r->status, s->shown_url, r->excerpt, why, why[0] ? ": " : "", path.data);
    buf_free(&path);
    return SINK_SET_ASIDE;
}

/* Sends one payload; on 413 cuts it in two and sends the parts, depth
 * first. SINK_DELIVERED, SINK_SET_ASIDE (it or some part of it was moved aside, the
 * rest delivered), SINK_GAVE_UP or SINK_REFUSED (delivery stops). */
static sink_result deliver_part(stackstate_sink *s, part *p, char *err, size_t errlen)
{
    char why[300];
    const buf *body = &p->plain;
    if (s->no_gzip && part_plain(p, why, sizeof why) != 0) {
        buf path = {0};
        spool_entry_path(s->spool, p->seq, &path);
        set_err(err, errlen, "spooled payload %s is damaged: %s; move it away to go on", path.data, why);
        buf_free(&path);
        return SINK_REFUSED;
    }
    if (!s->no_gzip) body = part_gz(p);
    refusal r = { 0, "" };
    sink_result rc = post(s, body, &r, err, errlen);
    if (rc != SINK_REFUSED) return rc;
    if (r.status == 401 || r.status == 403) {
        set_err(err, errlen, "StackState rejected the API key (HTTP %ld) at %s", r.status, s->shown_url);
        return SINK_REFUSED;
    }
    if (stop_status(r.status)) {
        buf path = {0};
        spool_entry_path(s->spool, p->seq, &path);
        set_err(err, errlen, "StackState refused a payload (HTTP %ld) at %s: %s (is the URL right? the payload "
                "stays spooled as %s)", r.status, s->shown_url, r.excerpt, path.data);
        buf_free(&path);
        return SINK_REFUSED;
    }
    if (r.status != 413) return set_aside(s, p, &r, "", err, errlen);

    /* Too large: cut in two, if it has two items to cut between. */
    part a = { .seq = p->seq }, b = { .seq = p->seq };
    size_t na = 0, nb = 0, sent = body->len;
    char cut_err[160] = "";
    int cut = part_plain(p, cut_err, sizeof cut_err) == 0
                  ? intake_split(p->plain.data, p->plain.len, &a.plain, &b.plain, &na, &nb, cut_err, sizeof cut_err)
                  : -1;
    if (cut != 0) {
        if (cut == 1) snprintf(why, sizeof why, "too large even as a single item (%zu bytes sent, %zu uncompressed)",
                               sent, p->plain.len);
        else snprintf(why, sizeof why, "too large (%zu bytes sent), and it cannot be cut: %s", sent, cut_err);
        return set_aside(s, p, &r, why, err, errlen);
    }
    s->stats.splits++;
    a.from = p->from;
    a.to = b.from = a.from + na;
    b.to = b.from + nb;
    part_free(p);   /* the parts hold it all now */
    sink_result ra = deliver_part(s, &a, err, errlen);
    part_free(&a);
    sink_result rb = ra == SINK_DELIVERED || ra == SINK_SET_ASIDE ? deliver_part(s, &b, err, errlen) : ra;
    part_free(&b);
    if (rb != SINK_DELIVERED && rb != SINK_SET_ASIDE) return rb;
    return ra == SINK_SET_ASIDE || rb == SINK_SET_ASIDE ? SINK_SET_ASIDE : SINK_DELIVERED;
}

/* Delivers spool entry seq, whose bytes gz holds (taken over: gz is left
 * empty). Removes the entry once it, or all its parts, went -- or were moved
 * aside, as noted in s. SINK_DELIVERED, SINK_GAVE_UP or SINK_REFUSED. */
static sink_result deliver_entry(stackstate_sink *s, uint64_t seq, buf *gz, char *err, size_t errlen)
{
    part p = { .seq = seq, .whole = 1 };
    p.gz = *gz;
    *gz = (buf){0};
    sink_result rc = deliver_part(s, &p, err, errlen);
    part_free(&p);
    if (rc != SINK_DELIVERED && rc != SINK_SET_ASIDE) return rc;
    if (!p.moved && spool_remove(s->spool, seq, err, errlen) != 0) return SINK_REFUSED;
    return SINK_DELIVERED;
}

/* ---- delivering the spool ---- */

/* An entry that does not gunzip whole (empty, cut short by a full disk or
 * a crash outside the spool's own care, a flipped bit: the gzip CRC tells)
 * cannot be sent: it goes to corrupt/, so the entries after it can. 1 when
 * it was moved, 0 when it is readable, -1 when it could not be moved. */
static int set_aside_unreadable(stackstate_sink *s, uint64_t seq, const buf *gz, char *err, size_t errlen)
{
    buf plain = {0};
    char why[128];
    int ok = gz->len > 0 && gzip_decompress(&plain, gz->data, gz->len, why, sizeof why) == 0;
    buf_free(&plain);
    if (ok) return 0;
    if (!gz->len) snprintf(why, sizeof why, "empty file");
    buf path = {0}, mark = {0};
    spool_entry_path(s->spool, seq, &path);
    buf_printf(&mark, "%s was unreadable (%s): the rest of its snapshot goes without stop_snapshot", path.data,
               why);
    buf_clear(&path);
    /* The mark first: a crash after the move must not forget it. */
    int rc = s->broken_snapshot ? 0 : spool_set_broken(s->spool, mark.data, err, errlen);
    buf_free(&mark);
    if (rc != 0 || spool_quarantine(s->spool, seq, &path, err, errlen) < 0) {
        buf_free(&path);
        return -1;
    }
    s->broken_snapshot = 1;
    s->stats.corrupt++;
    if (s->corrupt_now++ == 0)
        snprintf(s->corruption, sizeof s->corruption,
                 "a spooled payload was unreadable (%s) and is moved to %s; the payloads after it were "
                 "delivered, the rest of its snapshot without stop_snapshot", why, path.data);
    buf_free(&path);
    return 1;
}

/* After an unreadable entry, the snapshot it was part of is not whole: its
 * later payloads go without stop_snapshot (StackState must not delete what
 * the lost payload held), until a payload starts the next snapshot. The
 * spool's mark (spool_set_broken) carries this over to later processes.
 * Returns 1 when this payload ends the broken snapshot (its stop taken off,
 * or it starts the next one): the mark goes once it is delivered. */
static int keep_snapshot_open(buf *gz)
{
    buf plain = {0}, unstopped = {0};
    int start = 0, stop = 0;
    if (gzip_decompress(&plain, gz->data, gz->len, NULL, 0) == 0 &&
        intake_without_stop(plain.data, plain.len, &unstopped, &start, &stop, NULL, 0) == 0 && !start && stop) {
        gz->len = 0;
        gzip_compress(gz, unstopped.data, unstopped.len);
    }
    buf_free(&plain);
    buf_free(&unstopped);
    return start || stop;
}

/* One round under the delivery lock: oldest first, until the spool is empty
 * (as the directory shows it) or a payload cannot go. */
static sink_result deliver_locked(stackstate_sink *s, char *err, size_t errlen)
{
    buf gz = {0};
    sink_result rc = SINK_DELIVERED;
    s->broken_snapshot = spool_broken(s->spool);   /* maybe left by an earlier process */
    for (;;) {
        uint64_t seq;
        int found = spool_peek_oldest(s->spool, &gz, &seq, err, errlen);
        if (found <= 0) {
            if (found < 0) rc = SINK_REFUSED;
            break;
        }
        int unreadable = set_aside_unreadable(s, seq, &gz, err, errlen);
        if (unreadable < 0) {
            rc = SINK_REFUSED;
            break;
        }
        if (unreadable) continue;
        int ends_broken = s->broken_snapshot && keep_snapshot_open(&gz);
        rc = deliver_entry(s, seq, &gz, err, errlen);
        if (rc != SINK_DELIVERED) break;
        if (ends_broken) {
            if (spool_set_broken(s->spool, NULL, err, errlen) != 0) {
                rc = SINK_REFUSED;
                break;
            }
            s->broken_snapshot = 0;
        }
    }
    buf_free(&gz);
    return rc;
}

static sink_result deliver_spool(stackstate_sink *s, char *err, size_t errlen)
{
    sink_result rc;
    for (;;) {
        int locked = spool_lock(s->spool, 0, err, errlen);
        if (locked < 0) return SINK_REFUSED;
        if (locked == 0) {
            s->stats.spooled = spool_count(s->spool);
            if (!s->stats.spooled) return SINK_DELIVERED;
            set_err(err, errlen, "another process is delivering spool %s; %zu payload(s) wait there for it",
                    spool_dir(s->spool), s->stats.spooled);
            return SINK_GAVE_UP;
        }
        rc = deliver_locked(s, err, errlen);
        spool_unlock(s->spool);
        /* A process that pushed while we held the lock left its payloads to
         * us: look once more after letting go, so none is stranded. */
        if (rc != SINK_DELIVERED || spool_rescan(s->spool, NULL, 0) != 0 || spool_count(s->spool) == 0) break;
    }
    s->stats.spooled = spool_count(s->spool);
    return rc;
}

/* ---- the calls ---- */

static void begin_call(stackstate_sink *s, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    s->rejected_now = 0;
    s->rejection[0] = '\0';
    s->corrupt_now = 0;
    s->corruption[0] = '\0';
}

/* The result of a send: a payload moved aside makes it -1, and
 * the message names the first one. */
static sink_result finish_call(stackstate_sink *s, sink_result rc, char *err, size_t errlen)
{
    if (s->rejected_now && err && errlen) {
        if (rc == SINK_DELIVERED && s->rejected_now == 1) {
            set_err(err, errlen, "%s", s->rejection);
        } else if (rc == SINK_DELIVERED) {
            set_err(err, errlen, "%s; %zu more payload(s) were refused and moved to %s/rejected", s->rejection,
                    s->rejected_now - 1, spool_dir(s->spool));
        } else {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, "; before that, %zu refused payload(s) were moved to %s/rejected",
                     s->rejected_now, spool_dir(s->spool));
        }
    }
    if (s->corrupt_now && err && errlen) {
        size_t n = rc == SINK_DELIVERED && !s->rejected_now ? 0 : strlen(err);
        snprintf(err + n, errlen - n, "%s%s", n ? "; " : "", s->corruption);
        if (s->corrupt_now > 1) {
            n = strlen(err);
            snprintf(err + n, errlen - n, " (and %zu more to %s/corrupt)", s->corrupt_now - 1, spool_dir(s->spool));
        }
    }
    if (s->rejected_now || s->corrupt_now) rc = SINK_REFUSED;
    scrub_key(err, errlen, s->api_key);
    return rc;
}

/* Spooling one call's payloads, all or none: each is compressed and staged
 * as it comes (an intake_fn), and the batch committed at the end. */
typedef struct stager {
    stackstate_sink *s;
    buf gz;                /* reused for every payload */
    int made_room;         /* the spool was delivered once to make room */
    char *err;
    size_t errlen;
} stager;

static int stage_payload(void *ud, const char *payload, size_t len)
{
    stager *st = ud;
    buf_clear(&st->gz);
    gzip_compress(&st->gz, payload, len);
    if (!st->made_room && !spool_fits(st->s->spool, st->gz.len, NULL, 0)) {
        /* Make room by delivering what waits, if the receiver takes it. */
        char why[512];
        st->made_room = 1;
        if (deliver_spool(st->s, why, sizeof why) == SINK_REFUSED) {
            set_err(st->err, st->errlen, "%s", why);
            return -1;
        }
    }
    return spool_stage(st->s->spool, st->gz.data, st->gz.len, st->err, st->errlen) == 0 ? 0 : -1;
}

/* Commits the batch (staged is 0) or discards it; then delivers the spool. */
static sink_result commit_and_deliver(stackstate_sink *s, stager *st, int staged, char *err, size_t errlen)
{
    buf_free(&st->gz);
    sink_result rc = SINK_REFUSED;
    if (staged != 0) spool_discard(s->spool);
    else if (spool_commit(s->spool, err, errlen) == 0) rc = deliver_spool(s, err, errlen);
    s->stats.spooled = spool_count(s->spool);
    return finish_call(s, rc, err, errlen);
}

sink_result stackstate_sink_send(stackstate_sink *s, const payload_list *payloads, char *err, size_t errlen)
{
    begin_call(s, err, errlen);
    stager st = { s, {0}, 0, err, errlen };
    int rc = 0;
    for (size_t i = 0; payloads && i < payloads->len && rc == 0; i++)
        rc = stage_payload(&st, payloads->items[i].data, payloads->items[i].len);
    return commit_and_deliver(s, &st, rc, err, errlen);
}

sink_result stackstate_sink_send_topology(stackstate_sink *s, const topology *t, const intake_options *o,
                                          intake_mode mode, char *err, size_t errlen)
{
    begin_call(s, err, errlen);
    stager st = { s, {0}, 0, err, errlen };
    return commit_and_deliver(s, &st, intake_each(t, o, mode, stage_payload, &st), err, errlen);
}
