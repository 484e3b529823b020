/* httpd.h -- the daemon's small local HTTP server (/healthz, /metrics,
 * /v1/metrics; docs/daemon.md).
 *
 * Deliberately small and bounded: GET (and HEAD) only, one request per
 * connection (the answer ends with Connection: close), a request head of
 * at most HTTPD_MAX_REQUEST bytes (431 beyond it), at most HTTPD_MAX_CONNS
 * connections at once (more wait in the listen backlog), and a connection
 * that has not sent its request, or not taken its answer, within
 * HTTPD_TIMEOUT_MS is closed. It runs on the caller's epoll loop: it adds
 * its sockets with data.ptr pointing to an httpd_source, whose on_event the
 * loop calls, and httpd_tick closes the connections that ran out of time.
 */
#ifndef AWSTOPO_HTTPD_H
#define AWSTOPO_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTPD_MAX_REQUEST 8192
#define HTTPD_MAX_CONNS 32
#define HTTPD_TIMEOUT_MS 5000

/* What an epoll registration's data.ptr points to, for every module on the
 * loop: the loop calls on_event with the events epoll reported. */
typedef struct loop_source {
    void (*on_event)(struct loop_source *src, uint32_t events);
} loop_source;

typedef struct httpd_request {
    const char *method;        /* "GET" or "HEAD" */
    const char *path;          /* "/v1/metrics" (no query) */
    const char *query;         /* "component=...&metric=..." ("" when none), still %-encoded */
} httpd_request;

typedef struct httpd_response {
    int status;                /* 200 unless the handler says otherwise */
    const char *content_type;  /* static string; default text/plain */
    buf body;                  /* the handler appends; httpd frees */
} httpd_response;

typedef void (*httpd_handler)(void *ud, const httpd_request *req, httpd_response *resp);

typedef struct httpd httpd;

/* Listens on "host:port" ("127.0.0.1:9377"; port 0 picks a free one) and
 * adds the socket to epfd. NULL with a message in err. Caller frees. */
httpd *httpd_new(const char *listen, int epfd, httpd_handler handler, void *ud, char *err, size_t errlen);
void httpd_free(httpd *h);   /* closes every connection and the listener */
/* In a forked child: closes the sockets without touching the epoll set it
 * shares with the parent (h is then unusable: the child drops it). */
void httpd_close_fds(httpd *h);
int httpd_port(const httpd *h);
/* Closes the connections older than HTTPD_TIMEOUT_MS (now: sched_now_ms()). */
void httpd_tick(httpd *h, long long now_ms);

/* Query parameter name of a query string, %-decoded (caller frees), or NULL. */
char *http_query_param(const char *query, const char *name);

#endif
