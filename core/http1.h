/* http1.h -- awstopo's own HTTP/1.1 client behind http.h, for direct
 * (unproxied) http and https connections: a pool of kept-alive connections
 * per (scheme, host, port), all in one epoll set, TLS through OpenSSL.
 * Same contract as http.h's engine: callbacks run from inside h1_poll (never
 * from h1_submit), responses are freed after their callback returns. */
#ifndef AWSTOPO_HTTP1_H
#define AWSTOPO_HTTP1_H

#include "http.h"
#include "http_settings.h"

typedef struct h1_engine h1_engine;

h1_engine *h1_new(const http_settings *set);  /* caller frees with h1_free */
void h1_free(h1_engine *e);                   /* aborts running transfers, without callbacks */
void h1_submit(h1_engine *e, const http_request *req, http_done_fn done, void *ud);
int h1_poll(h1_engine *e, int timeout_ms);    /* as http_poll */
int h1_running(const h1_engine *e);
/* The epoll descriptor to wait on beside others, and how long it may be
 * waited on (at most timeout_ms) before h1_poll must run. */
int h1_fd(const h1_engine *e);
int h1_wait_ms(const h1_engine *e, int timeout_ms);

#endif
