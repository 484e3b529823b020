/* http_curl.h -- the libcurl transfer path behind http.h (http.c picks it for
 * proxies, verbose mode and AWSTOPO_HTTP=curl). Same contract as http.h's
 * engine: callbacks run from inside hcurl_poll, responses are freed after
 * their callback returns. */
#ifndef AWSTOPO_HTTP_CURL_H
#define AWSTOPO_HTTP_CURL_H

#include "http.h"
#include "http_settings.h"

typedef struct hcurl hcurl;

hcurl *hcurl_new(const http_settings *set);   /* caller frees with hcurl_free */
void hcurl_free(hcurl *e);                    /* aborts running transfers, without callbacks */
void hcurl_submit(hcurl *e, const http_request *req, http_done_fn done, void *ud);
int hcurl_poll(hcurl *e, int timeout_ms);     /* as http_poll */
int hcurl_running(const hcurl *e);
/* The epoll descriptor to wait on beside others, and how long it may be
 * waited on (at most timeout_ms) before hcurl_poll must run. */
int hcurl_fd(const hcurl *e);
int hcurl_wait_ms(const hcurl *e, int timeout_ms);

#endif
