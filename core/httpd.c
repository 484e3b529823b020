/* httpd.c -- the daemon's local HTTP server (see httpd.h for its bounds).
 *
 * Each connection reads its request head into a fixed buffer, gets one
 * answer from the handler, writes it out as the socket takes it (answers
 * can be megabytes: /metrics with many series) and is closed. Sockets are
 * non-blocking and edge-free (level-triggered epoll), so a slow client
 * never holds the loop up; the timeout closes clients that stall.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scheduler.h"
#include "util.h"

typedef struct conn {
    loop_source src;           /* first: the loop's data.ptr */
    struct httpd *h;
    int fd;
    long long started;         /* sched_now_ms() at accept */
    char req[HTTPD_MAX_REQUEST + 1];
    size_t req_len;
    buf out;                   /* the whole answer */
    size_t sent;
    int writing;
    int drain;                 /* the request was not read whole: read the rest away before closing */
} conn;

struct httpd {
    loop_source src;           /* the listener */
    int epfd, fd, port;
    httpd_handler handler;
    void *ud;
    conn *conns[HTTPD_MAX_CONNS];
    size_t nconns;
    int paused;                /* the listener is off the loop: every slot taken */
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

static void listener_watch(struct httpd *h, int on)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &h->src };
    if (on == !h->paused) return;
    epoll_ctl(h->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, h->fd, &ev);
    h->paused = !on;
}

static void conn_close(conn *c)
{
    struct httpd *h = c->h;
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (size_t i = 0; i < h->nconns; i++) {
        if (h->conns[i] == c) {
            h->conns[i] = h->conns[--h->nconns];
            break;
        }
    }
    buf_free(&c->out);
    free(c);
    listener_watch(h, 1);
}

/* Writes what the socket takes; closes when all is out (or the peer left). */
static void conn_write(conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;   /* EPOLLOUT comes back */
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        c->sent += (size_t)n;
    }
    if (c->drain && c->sent == c->out.len) {   /* closing with unread bytes would reset the answer away */
        shutdown(c->fd, SHUT_WR);
        c->writing = 0;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->src };
        epoll_ctl(c->h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    conn_close(c);
}

/* After an answer to a request not read whole: discard until the client closes. */
static void conn_drain(conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        conn_close(c);
        return;
    }
}

static void respond(conn *c, int status, const char *content_type, const buf *body, int head_only)
{
    buf_printf(&c->out,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
               "Connection: close\r\n\r\n",
               status, reason(status), content_type, body ? body->len : 0);
    if (body && body->len && !head_only) buf_append(&c->out, body->data, body->len);
    c->writing = 1;
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->src };
    epoll_ctl(c->h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    conn_write(c);
}

static void respond_text(conn *c, int status, const char *text)
{
    buf b = {0};
    buf_printf(&b, "%s\n", text);
    respond(c, status, "text/plain; charset=utf-8", &b, 0);
    buf_free(&b);
}

/* The request head is complete in c->req: hand it to the handler. */
static void dispatch(conn *c)
{
    char *line_end = strstr(c->req, "\r\n");
    *line_end = '\0';
    char *method = c->req, *sp1 = strchr(method, ' ');
    char *target = sp1 ? sp1 + 1 : NULL, *sp2 = target ? strchr(target, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || *target != '/') {
        c->drain = 1;
        respond_text(c, 400, "bad request line");
        return;
    }
    *sp1 = *sp2 = '\0';
    int head = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head) {
        c->drain = 1;   /* a body may follow */
        respond_text(c, 405, "only GET and HEAD");
        return;
    }
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    httpd_request req = { method, target, q ? q : "" };
    httpd_response resp = { .status = 200 };
    c->h->handler(c->h->ud, &req, &resp);
    respond(c, resp.status, resp.content_type ? resp.content_type : "text/plain; charset=utf-8", &resp.body, head);
    buf_free(&resp.body);
}

static void conn_read(conn *c)
{
    for (;;) {
        size_t room = HTTPD_MAX_REQUEST - c->req_len;
        if (!room) {
            c->drain = 1;
            respond_text(c, 431, "request head too large");
            return;
        }
        ssize_t n = recv(c->fd, c->req + c->req_len, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->req_len += (size_t)n;
        c->req[c->req_len] = '\0';
        if (strstr(c->req, "\r\n\r\n")) {
            dispatch(c);
            return;
        }
    }
}

static void on_conn(loop_source *src, uint32_t events)
{
    conn *c = (conn *)src;
    if (c->writing) conn_write(c);
    else if (c->drain) conn_drain(c);
    else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn_read(c);
}

static void on_listen(loop_source *src, uint32_t events)
{
    (void)events;
    struct httpd *h = (struct httpd *)src;
    while (h->nconns < HTTPD_MAX_CONNS) {
        int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;   /* EAGAIN, or a client that left: nothing to do */
        conn *c = xcalloc(1, sizeof *c);
        c->src.on_event = on_conn;
        c->h = h;
        c->fd = fd;
        c->started = sched_now_ms();
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->src };
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev);
        h->conns[h->nconns++] = c;
    }
    listener_watch(h, 0);   /* full: new clients wait in the backlog */
}

static int bind_listener(const char *listen_on, int *fd_out, char *err, size_t errlen)
{
    const char *colon = strrchr(listen_on, ':');
    if (!colon || colon == listen_on || !colon[1])
        return set_err(err, errlen, "listen address '%s' is not host:port (e.g. 127.0.0.1:9377)", listen_on);
    char host[256];
    size_t hl = (size_t)(colon - listen_on);
    if (hl >= sizeof host) return set_err(err, errlen, "listen address '%s': host too long", listen_on);
    memcpy(host, listen_on, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {   /* [::1]:9377 */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0) return set_err(err, errlen, "listen address '%s': %s", listen_on, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        set_err(err, errlen, "cannot listen on %s: %s", listen_on, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    *fd_out = fd;
    return 0;
}

httpd *httpd_new(const char *listen_on, int epfd, httpd_handler handler, void *ud, char *err, size_t errlen)
{
    int fd = -1;
    if (bind_listener(listen_on, &fd, err, errlen) < 0) return NULL;
    struct httpd *h = xcalloc(1, sizeof *h);
    h->src.on_event = on_listen;
    h->epfd = epfd;
    h->fd = fd;
    h->handler = handler;
    h->ud = ud;
    h->paused = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    listener_watch(h, 1);
    return h;
}

void httpd_free(httpd *h)
{
    if (!h) return;
    while (h->nconns) conn_close(h->conns[h->nconns - 1]);
    listener_watch(h, 0);
    close(h->fd);
    free(h);
}

void httpd_close_fds(httpd *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->nconns; i++) close(h->conns[i]->fd);
    close(h->fd);
}

int httpd_port(const httpd *h) { return h->port; }

void httpd_tick(httpd *h, long long now_ms)
{
    for (size_t i = h->nconns; i-- > 0;)
        if (now_ms - h->conns[i]->started > HTTPD_TIMEOUT_MS) conn_close(h->conns[i]);
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

char *http_query_param(const char *query, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            buf v = {0};
            for (const char *s = p + nl + 1; s < end; s++) {
                if (*s == '+') {
                    buf_putc(&v, ' ');
                } else if (*s == '%' && end - s > 2 && hexval((unsigned char)s[1]) >= 0 &&
                           hexval((unsigned char)s[2]) >= 0) {
                    buf_putc(&v, (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2])));
                    s += 2;
                } else {
                    buf_putc(&v, *s);
                }
            }
            return v.data ? buf_steal(&v) : xstrdup("");
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}
