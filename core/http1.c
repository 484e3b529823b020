/* http1.c -- awstopo's own HTTP/1.1 client (see http1.h).
 *
 * Why not libcurl for this: a small AWS call through the multi interface cost
 * a poll() of the kept-alive connection before each reuse, epoll changes per
 * transfer and libcurl's per-transfer setup, more than half of the client's
 * CPU per call (issue 9). Here a call on a kept-alive connection is one send
 * of the whole request (built in one buffer), a share of one epoll_wait, and
 * usually one recv: a socket stays registered for input from connect to close,
 * so the epoll set changes only while a send is stuck or a connection opens.
 *
 * Connections: a pool per (scheme, host, port), idle ones reused newest first,
 * at most max_connections open (an idle one elsewhere is closed to make room;
 * past that, transfers wait in a queue). Addresses are resolved when a pool
 * first needs a connection and again after RESOLVE_TTL_MS (getaddrinfo blocks,
 * once per host a minute); connect is non-blocking, trying each address.
 * An idle connection the peer closes shows up as input on it: it is closed
 * then, without a check before each reuse. A request whose reused connection
 * turns out dead before any byte of the response arrived (end of file, reset)
 * is sent once more on a fresh connection, as curl and browsers do; any other
 * failure is the caller's (client.c retries).
 *
 * Timeouts: each transfer has one deadline, the connect timeout (connect and
 * TLS handshake) and then the read timeout, moved on by every byte that moves.
 * h1_poll never sleeps past the earliest. Errors map onto http_error_kind as
 * http_curl.c maps libcurl's.
 *
 * A closed connection is only unlinked during a poll and freed at its end:
 * the epoll events in hand may still point at it.
 */
#include "http1.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "http_tls.h"

#define RESOLVE_TTL_MS 60000
#define READ_CHUNK 16384          /* free room kept in a connection's receive buffer */
#define DIRECT_READ_MAX (256 * 1024)
#define RESERVE_MAX (16 * 1024 * 1024)  /* room made at once for a body of known length */
#define MAX_HEAD_BYTES (256 * 1024)
#define IN_KEEP_BYTES (64 * 1024) /* an idle connection's receive buffer larger than this is freed */
#define SPARE_XFERS 64

typedef struct pool pool;
typedef struct conn conn;
typedef struct xfer xfer;

typedef struct xlist {
    xfer *head, *tail;
    int n;
} xlist;

struct pool {
    pool *next;
    char *key;                 /* "scheme://host[:port]" as the request has it */
    char *host;                /* name or address to connect to and verify (no brackets) */
    char *port;
    int tls;
    struct addrinfo *addrs;    /* NULL until resolved */
    long long resolved_ms;
    conn *idle;                /* idle connections, newest first */
};

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_BUSY, C_IDLE, C_DEAD };

struct conn {
    conn *next;                /* in its pool's idle list, or the engine's dead list */
    pool *pool;
    int fd;
    SSL *ssl;
    int state;
    unsigned events;           /* epoll interest registered (0 = not registered) */
    int ai_index;              /* which of its pool's addresses is being tried */
    int connect_errno;         /* why the last address failed */
    xfer *x;                   /* the transfer it serves */
    buf in;                    /* received bytes, from in_off on not yet parsed */
    size_t in_off;
};

enum xfer_phase { X_QUEUED, X_CONNECTING, X_SENDING, X_RECEIVING, X_DONE };
enum rx_state { RX_HEAD, RX_LEN, RX_CHUNK_SIZE, RX_CHUNK_DATA, RX_CHUNK_END, RX_TRAILER, RX_EOF, RX_DONE };

struct xfer {
    xfer *prev, *next;
    xlist *list;               /* the engine's queue, active or done list */
    pool *pool;
    conn *c;
    int phase;
    buf req;                   /* the request as it goes on the wire (holds secrets) */
    size_t sent;
    http_done_fn done;
    void *ud;
    http_response resp;
    long long deadline_ms;     /* -1 = none */
    int head_only;             /* HEAD: no body follows the headers */
    int reused;                /* sent on a connection that served before */
    int retried;               /* already sent once more on a fresh connection */
    int fresh;                 /* must not take an idle connection */
    int rx;                    /* enum rx_state */
    size_t left;               /* bytes left of the body or chunk */
    int keep_alive;            /* the connection may serve the next request */
    int got_bytes;             /* some of the response arrived */
    http_error_kind kind;
    char *msg;
};

struct h1_engine {
    http_settings set;
    int epfd;
    pool *pools;
    int nconns;                /* open connections, idle ones included */
    xlist queue, active, done;
    conn *dead;                /* closed during this poll, freed at its end */
    xfer *spare;               /* finished transfers kept for the next ones (their buffers) */
    int nspare;
    SSL_CTX *ssl_ctx;
    char ssl_err[512];         /* why ssl_ctx could not be made */
    int dispatching;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lists ---- */

static void list_remove(xfer *x)
{
    xlist *l = x->list;
    if (!l) return;
    if (x->prev) x->prev->next = x->next;
    else l->head = x->next;
    if (x->next) x->next->prev = x->prev;
    else l->tail = x->prev;
    x->prev = x->next = NULL;
    x->list = NULL;
    l->n--;
}

static void list_move(xfer *x, xlist *l, int front)
{
    list_remove(x);
    x->list = l;
    l->n++;
    if (front) {
        x->next = l->head;
        if (l->head) l->head->prev = x;
        else l->tail = x;
        l->head = x;
    } else {
        x->prev = l->tail;
        if (l->tail) l->tail->next = x;
        else l->head = x;
        l->tail = x;
    }
}

/* ---- engine ---- */

h1_engine *h1_new(const http_settings *set)
{
    h1_engine *e = xcalloc(1, sizeof *e);
    e->set = *set;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) abort();
    return e;
}

int h1_fd(const h1_engine *e)
{
    return e->epfd;
}

int h1_running(const h1_engine *e)
{
    return e->queue.n + e->active.n + e->done.n;
}

/* ---- pools ---- */

/* Splits "host", "host:port", "[v6]" or "[v6]:port". */
static void split_host(const char *hostport, int tls, char **host, char **port)
{
    const char *colon;
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        size_t n = close ? (size_t)(close - hostport - 1) : strlen(hostport + 1);
        *host = xstrndup(hostport + 1, n);
        colon = close && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(hostport, ':');
        if (colon && strchr(hostport, ':') != colon) colon = NULL; /* a bare IPv6 address */
        *host = colon ? xstrndup(hostport, (size_t)(colon - hostport)) : xstrdup(hostport);
    }
    *port = xstrdup(colon && colon[1] ? colon + 1 : tls ? "443" : "80");
}

static pool *pool_get(h1_engine *e, const http_request *r)
{
    int tls = !strcmp(r->scheme, "https");
    for (pool *p = e->pools; p; p = p->next)
        if (p->tls == tls && !strcmp(p->key + (tls ? 8 : 7), r->host)) return p;
    pool *p = xcalloc(1, sizeof *p);
    buf k = {0};
    buf_printf(&k, "%s://%s", tls ? "https" : "http", r->host);
    p->key = buf_steal(&k);
    p->tls = tls;
    split_host(r->host, tls, &p->host, &p->port);
    p->next = e->pools;
    e->pools = p;
    return p;
}

/* ---- connections ---- */

static void conn_watch(h1_engine *e, conn *c, unsigned events)
{
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(e->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
    c->events = events;
}

static void conn_close_fd(conn *c)
{
    if (c->ssl) SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0) close(c->fd);   /* also leaves the epoll set */
    c->fd = -1;
    c->events = 0;
}

static void pool_unidle(conn *c)
{
    for (conn **pp = &c->pool->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            return;
        }
}

/* Closes c; it is freed at the end of the poll (see the top). */
static void conn_close(h1_engine *e, conn *c)
{
    if (c->state == C_DEAD) return;
    if (c->state == C_IDLE) pool_unidle(c);
    if (c->x) c->x->c = NULL;
    c->x = NULL;
    conn_close_fd(c);
    c->state = C_DEAD;
    c->next = e->dead;
    e->dead = c;
    e->nconns--;
}

static void conn_free(conn *c)
{
    conn_close_fd(c);
    buf_free(&c->in);
    free(c);
}

static void free_dead(h1_engine *e)
{
    while (e->dead) {
        conn *c = e->dead;
        e->dead = c->next;
        conn_free(c);
    }
}

/* ---- finishing ---- */

/* "METHOD scheme://host/path" for messages, never the query (it may hold a
 * presigned credential), from the request line: built only when needed. */
static void describe(const xfer *x, buf *out)
{
    const char *line = x->req.data, *sp = strchr(line, ' ');
    const char *path = sp + 1, *end = path + strcspn(path, "? ");
    buf_append(out, line, (size_t)(sp - line));
    buf_putc(out, ' ');
    buf_puts(out, x->pool->key);
    buf_append(out, path, (size_t)(end - path));
}

static void dispatch(h1_engine *e);

/* The transfer is over: its connection goes back to the pool or is closed,
 * the callback runs at the end of the poll. */
static void finish(h1_engine *e, xfer *x, http_error_kind kind, const char *reason)
{
    conn *c = x->c;
    if (c) {
        int reusable = kind == HTTP_OK && x->keep_alive && x->phase == X_RECEIVING && c->in_off == c->in.len;
        c->x = NULL;
        x->c = NULL;
        if (reusable) {
            c->in.len = c->in_off = 0;
            if (c->in.cap > IN_KEEP_BYTES) buf_free(&c->in);
            c->state = C_IDLE;
            c->next = c->pool->idle;
            c->pool->idle = c;
        } else {
            conn_close(e, c);
        }
    }
    x->kind = kind;
    if (kind != HTTP_OK) {
        buf m = {0};
        describe(x, &m);
        buf_printf(&m, ": %s", reason);
        x->msg = buf_steal(&m);
    }
    x->phase = X_DONE;
    list_move(x, &e->done, 0);
    dispatch(e);
}

static void failf(h1_engine *e, xfer *x, http_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failf(h1_engine *e, xfer *x, http_error_kind kind, const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    finish(e, x, kind, why);
}

/* The connection died before any of the response came: on a reused one the
 * request goes once more on a fresh connection, else it fails as a reset. */
static void died_early(h1_engine *e, xfer *x, const char *why)
{
    if (x->reused && !x->retried && !x->got_bytes) {
        if (x->c) conn_close(e, x->c);
        x->retried = x->fresh = 1;
        x->phase = X_QUEUED;
        x->deadline_ms = -1;
        list_move(x, &e->queue, 1);
        dispatch(e);
        return;
    }
    failf(e, x, HTTP_ERR_RESET, "%s", why);
}

static void touch(h1_engine *e, xfer *x)
{
    x->deadline_ms = e->set.read_timeout_ms > 0 ? now_ms() + e->set.read_timeout_ms : -1;
}

/* ---- reading the response ---- */

/* A NUL on the wire ends the name or value, as it would a C string. */
static void header_add(xfer *x, const char *name, const char *name_end, const char *value, const char *value_end)
{
    while (name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t')) name_end--;
    while (value < value_end && (*value == ' ' || *value == '\t')) value++;
    while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t' || value_end[-1] == '\r')) value_end--;
    headers_addn(&x->resp.headers, name, strnlen(name, (size_t)(name_end - name)), value,
                 strnlen(value, (size_t)(value_end - value)));
}

static int has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; (p = strcasestr(p, token)); p += n) {
        int start = p == value || p[-1] == ',' || p[-1] == ' ' || p[-1] == '\t';
        char end = p[n];
        if (start && (end == '\0' || end == ',' || end == ' ' || end == '\t' || end == ';')) return 1;
    }
    return 0;
}

/* Parses a complete head [p, end) (its blank line excluded) in place.
 * Returns 0, or -1 when it is not an HTTP/1.x response. */
static int parse_head(xfer *x, char *p, char *end, int *status_out)
{
    char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if (eol - p < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ') return -1;
    int minor = p[7] - '0';
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        status = status * 10 + (p[i] - '0');
    }
    *status_out = status;
    x->keep_alive = minor >= 1;
    headers_free(&x->resp.headers);
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if ((*p == ' ' || *p == '\t') && x->resp.headers.len) {
            /* obsolete line folding: one space, then the continuation (the
             * value lives in its name's block: headers_fold_last remakes it) */
            char *s = p, *t = eol;
            while (s < t && (*s == ' ' || *s == '\t')) s++;
            while (t > s && (t[-1] == '\r' || t[-1] == ' ' || t[-1] == '\t')) t--;
            headers_fold_last(&x->resp.headers, s, (size_t)(t - s));
            continue;
        }
        if (!colon) continue;   /* not a header line: ignored, as curl does */
        header_add(x, p, colon, colon + 1, eol);
    }
    return 0;
}

/* Whether the header is called `lit` (a string literal): the length first, which
 * rules out most headers without the case-insensitive compare. */
#define is_named(hd, lit) ((hd)->name_len == sizeof lit - 1 && !strcasecmp((hd)->name, lit))

/* The head of the final response is in; decides how its body is framed. */
static int body_framing(xfer *x, int status)
{
    const http_headers *h = &x->resp.headers;
    long long len = -1;
    int chunked = 0;
    for (size_t i = 0; i < h->len; i++) {
        const http_header *hd = &h->items[i];
        const char *v = hd->value;
        if (is_named(hd, "Content-Length")) {
            char *end;
            errno = 0;
            long long l = strtoll(v, &end, 10);
            if (errno || end == v || *end || l < 0) return -1;
            len = l;
        } else if (is_named(hd, "Transfer-Encoding")) {
            chunked = has_token(v, "chunked");
        } else if (is_named(hd, "Connection")) {
            if (has_token(v, "close")) x->keep_alive = 0;
            else if (has_token(v, "keep-alive")) x->keep_alive = 1;
        }
    }
    if (x->head_only || status == 204 || status == 304) x->rx = RX_DONE;
    else if (chunked) x->rx = RX_CHUNK_SIZE;
    else if (len >= 0) {
        x->left = (size_t)len;
        x->rx = len ? RX_LEN : RX_DONE;
    } else {
        x->rx = RX_EOF;   /* until the connection closes */
        x->keep_alive = 0;
    }
    return 0;
}

/* Appends body bytes; -1 past max_body. */
static int body_add(h1_engine *e, xfer *x, const char *p, size_t n)
{
    if (n > e->set.max_body - x->resp.body.len) return -1;
    buf_append(&x->resp.body, p, n);
    return 0;
}

/* A line [p, eol) ending at '\n' in c's buffer, or NULL for "need more". */
static char *next_line(conn *c, char **eol)
{
    char *p = c->in.data + c->in_off;
    *eol = memchr(p, '\n', c->in.len - c->in_off);
    return *eol ? p : NULL;
}

enum { PARSE_MORE, PARSE_DONE, PARSE_FAILED };

/* Consumes what c's buffer holds. */
static int parse(h1_engine *e, xfer *x, conn *c)
{
    for (;;) {
        char *base = c->in.data + c->in_off;
        size_t have = c->in.len - c->in_off;
        switch (x->rx) {
        case RX_HEAD: {
            /* the blank line: "\r\n\r\n" or "\n\n" */
            char *end = NULL, *q = base, *stop = base + have;
            while ((q = memchr(q, '\n', (size_t)(stop - q)))) {
                if (q + 1 < stop && q[1] == '\n') {
                    end = q + 2;
                    break;
                }
                if (q + 2 < stop && q[1] == '\r' && q[2] == '\n') {
                    end = q + 3;
                    break;
                }
                q++;
            }
            if (!end) {
                if (have > MAX_HEAD_BYTES) {
                    failf(e, x, HTTP_ERR_OTHER, "the response headers are larger than %d KiB", MAX_HEAD_BYTES / 1024);
                    return PARSE_FAILED;
                }
                return PARSE_MORE;
            }
            int status = 0;
            if (parse_head(x, base, end, &status) != 0) {
                failf(e, x, HTTP_ERR_OTHER, "Unsupported or malformed HTTP response");
                return PARSE_FAILED;
            }
            c->in_off += (size_t)(end - base);
            if (status >= 100 && status < 200) {   /* interim: the real response follows */
                headers_free(&x->resp.headers);
                continue;
            }
            x->resp.status = status;
            if (body_framing(x, status) != 0) {
                failf(e, x, HTTP_ERR_OTHER, "Invalid Content-Length in the response");
                return PARSE_FAILED;
            }
            continue;
        }
        case RX_LEN:
        case RX_CHUNK_DATA:
        case RX_EOF: {
            size_t n = x->rx == RX_EOF || have < x->left ? have : x->left;
            if (n && body_add(e, x, base, n) != 0) goto too_large;
            c->in_off += n;
            if (x->rx == RX_EOF) return PARSE_MORE;
            x->left -= n;
            if (x->left) return PARSE_MORE;
            x->rx = x->rx == RX_LEN ? RX_DONE : RX_CHUNK_END;
            continue;
        }
        case RX_CHUNK_SIZE:
        case RX_CHUNK_END:
        case RX_TRAILER: {
            char *eol, *p = next_line(c, &eol);
            if (!p) {
                if (have > 4096) goto bad_chunk;
                return PARSE_MORE;
            }
            c->in_off += (size_t)(eol + 1 - p);
            if (x->rx == RX_CHUNK_END) {   /* the CRLF after a chunk's data */
                if (eol - p > 1 || (eol - p == 1 && *p != '\r')) goto bad_chunk;
                x->rx = RX_CHUNK_SIZE;
            } else if (x->rx == RX_TRAILER) {
                if (eol - p == 0 || (eol - p == 1 && *p == '\r')) x->rx = RX_DONE;
            } else {
                char *end;
                errno = 0;
                unsigned long long size = strtoull(p, &end, 16);
                if (errno || end == p || (*end != '\r' && *end != ';' && *end != '\n' && *end != ' ')) goto bad_chunk;
                x->left = (size_t)size;
                x->rx = size ? RX_CHUNK_DATA : RX_TRAILER;
            }
            continue;
        }
        case RX_DONE:
            return PARSE_DONE;
        }
    }
too_large:
    failf(e, x, HTTP_ERR_TOO_LARGE, "the response body is larger than %zu MiB (AWSTOPO_MAX_RESPONSE_MB): not read further",
          e->set.max_body >> 20);
    return PARSE_FAILED;
bad_chunk:
    failf(e, x, HTTP_ERR_OTHER, "Malformed chunked encoding in the response");
    return PARSE_FAILED;
}

/* ---- socket I/O ---- */

enum { IO_AGAIN_READ = -1, IO_AGAIN_WRITE = -2, IO_ERROR = -3 };

/* > 0 bytes, 0 end of file, or IO_*; on IO_ERROR why says why. */
static ssize_t conn_read(conn *c, char *p, size_t n, char *why, size_t whylen)
{
    if (c->ssl) {
        errno = 0;
        ERR_clear_error();
        int r = SSL_read(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
        switch (tls_result(c->ssl, r)) {
        case TLS_IO_OK: return r;
        case TLS_IO_WANT_READ: return IO_AGAIN_READ;
        case TLS_IO_WANT_WRITE: return IO_AGAIN_WRITE;
        case TLS_IO_EOF: return 0;
        case TLS_IO_ERROR: break;
        }
        if (errno == ECONNRESET) snprintf(why, whylen, "Recv failure: %s", strerror(errno));
        else tls_describe(c->ssl, why, whylen);
        return IO_ERROR;
    }
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return IO_AGAIN_READ;
        snprintf(why, whylen, "Recv failure: %s", strerror(errno));
        return IO_ERROR;
    }
}

static ssize_t conn_write(conn *c, const char *p, size_t n, char *why, size_t whylen)
{
    if (c->ssl) {
        errno = 0;
        ERR_clear_error();
        int r = SSL_write(c->ssl, p, n > (1u << 30) ? 1 << 30 : (int)n);
        switch (tls_result(c->ssl, r)) {
        case TLS_IO_OK: return r;
        case TLS_IO_WANT_READ: return IO_AGAIN_READ;
        case TLS_IO_WANT_WRITE: return IO_AGAIN_WRITE;
        case TLS_IO_EOF: break;
        case TLS_IO_ERROR: break;
        }
        if (errno) snprintf(why, whylen, "Send failure: %s", strerror(errno));
        else tls_describe(c->ssl, why, whylen);
        return IO_ERROR;
    }
    for (;;) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w >= 0) return w;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return IO_AGAIN_WRITE;
        snprintf(why, whylen, "Send failure: %s", strerror(errno));
        return IO_ERROR;
    }
}

static void on_eof(h1_engine *e, xfer *x)
{
    if (x->rx == RX_EOF) {
        x->rx = RX_DONE;
        finish(e, x, HTTP_OK, NULL);
    } else if (!x->got_bytes) {
        died_early(e, x, "Empty reply from server");
    } else if (x->rx == RX_HEAD) {
        failf(e, x, HTTP_ERR_RESET, "Connection closed before the response headers ended");
    } else if (x->rx == RX_LEN) {
        failf(e, x, HTTP_ERR_TRUNCATED, "transfer closed with %zu bytes remaining to read", x->left);
    } else {
        failf(e, x, HTTP_ERR_TRUNCATED, "transfer closed with outstanding read data remaining");
    }
}

/* Reads until the response is complete or the socket has nothing more. */
static void recv_more(h1_engine *e, xfer *x)
{
    conn *c = x->c;
    char why[512];
    while (x->c == c && c->x == x) {
        ssize_t n;
        if (x->rx == RX_LEN && c->in_off == c->in.len) {
            /* A body of known length: straight into the response, which
             * makes room for all of it at once, up to RESERVE_MAX (a large
             * body grown by doubling was copied each time; past that, room
             * comes as the bytes do, so that a length announced and never
             * sent claims no memory), and the pages the next read fills are
             * faulted in by one call. */
            size_t room = x->left < RESERVE_MAX ? x->left : RESERVE_MAX;
            if (room > e->set.max_body - x->resp.body.len) room = e->set.max_body - x->resp.body.len + 1;
            size_t want = room < DIRECT_READ_MAX ? room : DIRECT_READ_MAX;
            buf_reserve(&x->resp.body, room);
            buf_populate(&x->resp.body, want);
            n = conn_read(c, x->resp.body.data + x->resp.body.len, want, why, sizeof why);
            if (n > 0) {
                touch(e, x);
                if ((size_t)n > e->set.max_body - x->resp.body.len) {
                    failf(e, x, HTTP_ERR_TOO_LARGE,
                          "the response body is larger than %zu MiB (AWSTOPO_MAX_RESPONSE_MB): not read further",
                          e->set.max_body >> 20);
                    return;
                }
                x->resp.body.len += (size_t)n;
                x->resp.body.data[x->resp.body.len] = '\0';
                x->left -= (size_t)n;
                if (!x->left) {
                    x->rx = RX_DONE;
                    finish(e, x, HTTP_OK, NULL);
                    return;
                }
                continue;
            }
        } else {
            if (c->in_off == c->in.len) c->in.len = c->in_off = 0;
            else if (c->in_off && c->in.cap - c->in.len < READ_CHUNK) {
                memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
                c->in.len -= c->in_off;
                c->in_off = 0;
            }
            if (c->in.cap - c->in.len < READ_CHUNK) buf_reserve(&c->in, READ_CHUNK);
            n = conn_read(c, c->in.data + c->in.len, c->in.cap - c->in.len - 1, why, sizeof why);
            if (n > 0) {
                c->in.len += (size_t)n;
                x->got_bytes = 1;
                touch(e, x);
                int r = parse(e, x, c);
                if (r == PARSE_DONE) finish(e, x, HTTP_OK, NULL);
                if (r != PARSE_MORE) return;
                continue;
            }
        }
        if (n == 0) {
            on_eof(e, x);
        } else if (n == IO_AGAIN_READ || n == IO_AGAIN_WRITE) {
            conn_watch(e, c, n == IO_AGAIN_READ ? EPOLLIN : EPOLLIN | EPOLLOUT);
        } else if (!x->got_bytes) {
            died_early(e, x, why);
        } else {
            failf(e, x, HTTP_ERR_RESET, "%s", why);
        }
        return;
    }
}

/* Sends what is left of the request. */
static void send_more(h1_engine *e, xfer *x)
{
    conn *c = x->c;
    char why[512];
    while (x->sent < x->req.len) {
        ssize_t n = conn_write(c, x->req.data + x->sent, x->req.len - x->sent, why, sizeof why);
        if (n > 0) {
            x->sent += (size_t)n;
            touch(e, x);
            continue;
        }
        if (n == IO_AGAIN_READ || n == IO_AGAIN_WRITE) {
            conn_watch(e, c, n == IO_AGAIN_READ ? EPOLLIN : EPOLLIN | EPOLLOUT);
            return;
        }
        died_early(e, x, n == 0 ? "Send failure: connection closed" : why);
        return;
    }
    x->phase = X_RECEIVING;
    conn_watch(e, c, EPOLLIN);
}

static void start_request(h1_engine *e, xfer *x)
{
    x->phase = X_SENDING;
    x->sent = 0;
    x->rx = RX_HEAD;
    x->got_bytes = 0;
    touch(e, x);
    send_more(e, x);
}

/* ---- connecting ---- */

static void handshake(h1_engine *e, conn *c)
{
    xfer *x = c->x;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    switch (tls_result(c->ssl, r)) {
    case TLS_IO_OK:
        c->state = C_BUSY;
        start_request(e, x);
        return;
    case TLS_IO_WANT_READ: conn_watch(e, c, EPOLLIN); return;
    case TLS_IO_WANT_WRITE: conn_watch(e, c, EPOLLOUT); return;
    default: break;
    }
    char why[512];
    tls_describe(c->ssl, why, sizeof why);
    failf(e, x, HTTP_ERR_TLS, "%s", why);
}

static void connected(h1_engine *e, conn *c)
{
    if (!c->pool->tls) {
        c->state = C_BUSY;
        start_request(e, c->x);
        return;
    }
    if (!e->ssl_ctx && !e->ssl_err[0]) e->ssl_ctx = tls_ctx_new(e->set.ca_bundle, e->ssl_err, sizeof e->ssl_err);
    if (!e->ssl_ctx) {
        failf(e, c->x, HTTP_ERR_TLS, "%s", e->ssl_err);
        return;
    }
    c->ssl = tls_conn_new(e->ssl_ctx, c->fd, c->pool->host);
    c->state = C_HANDSHAKE;
    handshake(e, c);
}

/* The pool's i-th address (looked up at each try: the list may have been
 * resolved anew meanwhile), or NULL past the last. */
static struct addrinfo *nth_addr(pool *p, int i)
{
    struct addrinfo *a = p->addrs;
    while (a && i-- > 0) a = a->ai_next;
    return a;
}

/* Tries the pool's addresses from c->ai_index on until a connect is under way. */
static void try_connect(h1_engine *e, conn *c)
{
    for (struct addrinfo *a; (a = nth_addr(c->pool, c->ai_index)); c->ai_index++) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            c->connect_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        c->fd = fd;
        c->events = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            conn_watch(e, c, EPOLLIN);
            connected(e, c);
            return;
        }
        if (errno == EINPROGRESS) {
            conn_watch(e, c, EPOLLOUT);
            return;
        }
        c->connect_errno = errno;
        conn_close_fd(c);
    }
    failf(e, c->x, HTTP_ERR_CONNECT, "Failed to connect to %s port %s: %s", c->pool->host, c->pool->port,
          strerror(c->connect_errno ? c->connect_errno : ECONNREFUSED));
}

static void connect_done(h1_engine *e, conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err) {
        c->connect_errno = err;
        conn_close_fd(c);
        c->ai_index++;
        try_connect(e, c);
        return;
    }
    connected(e, c);
}

static int resolve(pool *p, char *why, size_t whylen)
{
    long long now = now_ms();
    if (p->addrs && now - p->resolved_ms < RESOLVE_TTL_MS) return 0;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(p->host, p->port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, whylen, "Could not resolve host: %s", p->host);
        if (res) freeaddrinfo(res);
        return -1;
    }
    if (p->addrs) freeaddrinfo(p->addrs);
    p->addrs = res;
    p->resolved_ms = now;
    return 0;
}

static void open_conn(h1_engine *e, xfer *x)
{
    char why[512];
    x->phase = X_CONNECTING;
    x->deadline_ms = now_ms() + e->set.connect_timeout_ms;
    x->reused = 0;
    if (resolve(x->pool, why, sizeof why) != 0) {
        failf(e, x, HTTP_ERR_CONNECT, "%s", why);
        return;
    }
    conn *c = xcalloc(1, sizeof *c);
    c->fd = -1;
    c->pool = x->pool;
    c->state = C_CONNECTING;
    c->x = x;
    x->c = c;
    e->nconns++;
    try_connect(e, c);
}

static conn *any_idle(h1_engine *e)
{
    for (pool *p = e->pools; p; p = p->next)
        if (p->idle) return p->idle;
    return NULL;
}

/* Gives x a connection (or starts one); 0 when none can be had now. */
static int acquire(h1_engine *e, xfer *x)
{
    pool *p = x->pool;
    if (!x->fresh && p->idle) {
        conn *c = p->idle;
        p->idle = c->next;
        c->next = NULL;
        c->state = C_BUSY;
        c->x = x;
        x->c = c;
        x->reused = 1;
        list_move(x, &e->active, 0);
        start_request(e, x);
        return 1;
    }
    if (e->nconns >= e->set.max_connections) {
        conn *idle = any_idle(e);
        if (!idle) return 0;
        conn_close(e, idle);
    }
    x->fresh = 0;
    list_move(x, &e->active, 0);
    open_conn(e, x);
    return 1;
}

/* Starts queued transfers while connections can be had, oldest first. */
static void dispatch(h1_engine *e)
{
    if (e->dispatching) return;
    e->dispatching = 1;
    while (e->queue.head && acquire(e, e->queue.head)) {
    }
    e->dispatching = 0;
}

/* ---- requests ---- */

/* The request line, the request's headers exactly as signed (Host first when
 * the request has none), Content-Length, and the body, in one buffer.
 * GET/HEAD/DELETE without a body send none; POST, PUT and PATCH always say
 * Content-Length (0 when empty: S3 insists). */
static void build_request(buf *b, const http_request *r)
{
    const char *m = r->method;
    int with_body = r->body.len > 0 || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    size_t plen = strlen(r->path), qlen = strlen(r->query), hlen = strlen(r->host);
    size_t need = strlen(m) + plen + qlen + hlen + r->body.len + 64;
    int has_host = 0, has_length = 0;
    for (size_t i = 0; i < r->headers.len; i++) {
        const http_header *hd = &r->headers.items[i];
        need += hd->name_len + hd->value_len + 4;
        has_host |= is_named(hd, "Host");
        has_length |= is_named(hd, "Content-Length");
    }
    buf_reserve_secret(b, need);
    buf_puts(b, m);
    buf_putc(b, ' ');
    if (plen) buf_append(b, r->path, plen);
    else buf_putc(b, '/');
    if (qlen) {
        buf_putc(b, '?');
        buf_append(b, r->query, qlen);
    }
    buf_append(b, " HTTP/1.1\r\n", 11);
    if (!has_host) {
        buf_append(b, "Host: ", 6);
        buf_append(b, r->host, hlen);
        buf_append(b, "\r\n", 2);
    }
    for (size_t i = 0; i < r->headers.len; i++) {
        const http_header *hd = &r->headers.items[i];
        if (is_named(hd, "Host")) buf_append(b, "Host", 4);   /* as libcurl writes it */
        else buf_append(b, hd->name, hd->name_len);
        buf_putc(b, ':');
        if (hd->value_len) {
            buf_putc(b, ' ');
            buf_append(b, hd->value, hd->value_len);
        }
        buf_append(b, "\r\n", 2);
    }
    if (with_body && !has_length) {
        char digits[24], *d = digits + sizeof digits;
        size_t n = r->body.len;
        do *--d = (char)('0' + n % 10);
        while (n /= 10);
        buf_append(b, "Content-Length: ", 16);
        buf_append(b, d, (size_t)(digits + sizeof digits - d));
        buf_append(b, "\r\n", 2);
    }
    buf_append(b, "\r\n", 2);
    if (with_body && r->body.len) buf_append(b, r->body.data, r->body.len);
}

void h1_submit(h1_engine *e, const http_request *req, http_done_fn done, void *ud)
{
    xfer *x = e->spare;
    if (x) {
        e->spare = x->next;
        e->nspare--;
        x->next = NULL;
    } else {
        x = xcalloc(1, sizeof *x);
        response_init(&x->resp);
    }
    x->done = done;
    x->ud = ud;
    x->deadline_ms = -1;
    x->head_only = !strcmp(req->method, "HEAD");
    build_request(&x->req, req);
    x->pool = pool_get(e, req);
    list_move(x, &e->queue, 0);
    dispatch(e);
}

static void xfer_free(xfer *x)
{
    buf_wipe(&x->req);
    free(x->msg);
    response_free(&x->resp);
    free(x);
}

/* Keeps x (wiped, its request buffer allocated) for the next submit:
 * malloc and free were a tenth of a small call's CPU. */
static void xfer_recycle(h1_engine *e, xfer *x)
{
    if (e->nspare >= SPARE_XFERS || x->req.cap > IN_KEEP_BYTES) {
        xfer_free(x);
        return;
    }
    buf req = x->req;
    secure_zero(req.data, req.len);
    req.len = 0;
    free(x->msg);
    response_free(&x->resp);
    memset(x, 0, sizeof *x);
    response_init(&x->resp);
    x->req = req;
    x->next = e->spare;
    e->spare = x;
    e->nspare++;
}

/* ---- the loop ---- */

static void on_event(h1_engine *e, conn *c, unsigned events)
{
    switch (c->state) {
    case C_DEAD: return;
    case C_IDLE: conn_close(e, c); return;   /* closed by the peer (or talking out of turn) */
    case C_CONNECTING: connect_done(e, c); return;
    case C_HANDSHAKE: handshake(e, c); return;
    case C_BUSY: break;
    }
    xfer *x = c->x;
    if (x->phase == X_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) send_more(e, x);
    if (c->x == x && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) recv_more(e, x);
}

int h1_wait_ms(const h1_engine *e, int timeout_ms)
{
    if (e->done.head) return 0;
    long long now = now_ms(), best = timeout_ms < 0 ? 0 : timeout_ms;
    for (const xfer *x = e->active.head; x; x = x->next) {
        if (x->deadline_ms < 0) continue;
        long long left = x->deadline_ms - now;
        if (left < best) best = left < 0 ? 0 : left;
    }
    return (int)best;
}

static void check_deadlines(h1_engine *e)
{
    long long now = now_ms();
    for (xfer *x = e->active.head, *next; x; x = next) {
        next = x->next;
        if (x->deadline_ms < 0 || now < x->deadline_ms) continue;
        if (x->phase == X_CONNECTING) {
            failf(e, x, HTTP_ERR_TIMEOUT, "Connection timed out after %ld milliseconds", e->set.connect_timeout_ms);
        } else {
            failf(e, x, HTTP_ERR_TIMEOUT, "no data received for %ld ms (read timeout)", e->set.read_timeout_ms);
        }
        next = e->active.head;   /* finish() may have started others: look again */
    }
}

int h1_poll(h1_engine *e, int timeout_ms)
{
    struct epoll_event ev[64];
    int n = epoll_wait(e->epfd, ev, 64, h1_wait_ms(e, timeout_ms));
    for (int i = 0; i < n; i++) on_event(e, ev[i].data.ptr, ev[i].events);
    check_deadlines(e);
    while (e->done.head) {
        xfer *x = e->done.head;
        list_remove(x);
        if (x->done) x->done(x->ud, &x->resp, x->kind, x->kind == HTTP_OK ? NULL : x->msg);
        xfer_recycle(e, x);
    }
    free_dead(e);
    return h1_running(e);
}

void h1_free(h1_engine *e)
{
    if (!e) return;
    xlist *lists[] = {&e->queue, &e->active, &e->done};
    for (int i = 0; i < 3; i++)
        while (lists[i]->head) {
            xfer *x = lists[i]->head;
            if (x->c) conn_close(e, x->c);
            list_remove(x);
            xfer_free(x);
        }
    while (e->pools) {
        pool *p = e->pools;
        e->pools = p->next;
        while (p->idle) conn_close(e, p->idle);
        if (p->addrs) freeaddrinfo(p->addrs);
        free(p->key);
        free(p->host);
        free(p->port);
        free(p);
    }
    free_dead(e);
    while (e->spare) {
        xfer *x = e->spare;
        e->spare = x->next;
        xfer_free(x);
    }
    if (e->ssl_ctx) SSL_CTX_free(e->ssl_ctx);
    close(e->epfd);
    free(e);
}
