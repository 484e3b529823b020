/* http.h -- the HTTP engine: one libcurl multi handle, many transfers in flight.
 *
 * The caller submits fully signed requests with a completion callback and then
 * drives the engine with http_poll() from its event loop. Connections are kept
 * alive and reused across transfers to the same host. Nothing here retries or
 * knows about AWS: that is client.c's job.
 *
 * Proxies follow HTTP_PROXY / HTTPS_PROXY / NO_PROXY (libcurl reads them; the
 * lower-case forms too). TLS peers are verified; AWS_CA_BUNDLE overrides the CA
 * file.
 */
#ifndef AWSTOPO_HTTP_H
#define AWSTOPO_HTTP_H

#include "request.h"

/* Why a transfer failed below HTTP. HTTP_OK means a complete response with a
 * status line arrived (whatever the status). */
typedef enum http_error_kind {
    HTTP_OK = 0,
    HTTP_ERR_CONNECT,    /* could not connect / resolve */
    HTTP_ERR_TIMEOUT,    /* connect or read timeout */
    HTTP_ERR_RESET,      /* connection reset or closed mid-response */
    HTTP_ERR_TRUNCATED,  /* body shorter than Content-Length */
    HTTP_ERR_TLS,        /* TLS handshake or verification */
    HTTP_ERR_TOO_LARGE,  /* body past http_options.max_body_bytes: stopped there */
    HTTP_ERR_OTHER
} http_error_kind;

typedef struct http_options {
    long connect_timeout_ms;   /* 0 = 10000 */
    long read_timeout_ms;      /* no byte for this long = timeout; 0 = 30000 */
    const char *ca_bundle;     /* NULL = system default (or AWS_CA_BUNDLE) */
    int max_connections;       /* total open connections; 0 = 64 */
    size_t max_body_bytes;     /* a response body larger than this is cut off with
                                  HTTP_ERR_TOO_LARGE; 0 = AWSTOPO_MAX_RESPONSE_MB, else 64 MiB
                                  (no AWS page comes near it) */
    int verbose;               /* libcurl verbose to stderr (debug) */
} http_options;

typedef struct http_engine http_engine;

/* Called once per submitted transfer, from inside http_poll(). The response is
 * owned by the engine and freed after the callback returns: take what you need
 * (buf_steal on resp->body is allowed). On failure, kind != HTTP_OK and message
 * says what happened (no secrets: URLs are printed without their query). */
typedef void (*http_done_fn)(void *ud, http_response *resp, http_error_kind kind, const char *message);

/* Reads AWS_CLI_READ_TIMEOUT (seconds, fractions allowed; "0" = no read
 * timeout, as in the AWS CLI) and AWS_CA_BUNDLE when the options leave them
 * unset. opts may be NULL (all defaults). Caller frees with http_engine_free. */
http_engine *http_engine_new(const http_options *opts);
void http_engine_free(http_engine *e);   /* aborts transfers still running, without callbacks */

/* Copies the request (the caller keeps ownership of req) and starts it. */
void http_submit(http_engine *e, const http_request *req, http_done_fn done, void *ud);

/* Waits at most timeout_ms for network activity, progresses transfers and
 * runs the callbacks of those that finished. Returns the number still running. */
int http_poll(http_engine *e, int timeout_ms);

int http_running(const http_engine *e);

/* Sends one request and waits for it, outside any engine (credential
 * providers use it before the engine exists). timeout_ms is both the connect
 * and the read timeout (0 = the defaults above). resp is initialised here.
 * Returns the kind; on HTTP_OK, resp holds the response, otherwise err says
 * why; either way the caller may response_free(resp). */
http_error_kind http_send_blocking(const http_request *req, http_response *resp, long timeout_ms,
                                   char *err, size_t errlen);

const char *http_error_name(http_error_kind kind);

/* A base URL taken apart by libcurl's URL API (CURLU): scheme "http" or
 * "https"; host, with ":port" unless it is the scheme's default; path
 * without trailing '/' ("" for none). Caller frees with http_url_free. */
typedef struct http_url {
    char *scheme, *host, *path;
} http_url;

/* Returns 0, or -1 with *why saying what is wrong, to follow the URL in a
 * message: "must start with http:// or https://", "may not have a query or
 * fragment", "has no valid host[:port]", "may not hold a user name or
 * password" or "is not a valid URL". Port 0 counts as no valid port. */
int http_url_parse(const char *url, http_url *out, const char **why);
void http_url_free(http_url *u);

#endif
