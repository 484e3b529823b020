/* http_settings.h -- the options of an HTTP engine with every default and
 * environment variable already applied (http.c does that once), as both
 * transfer paths take them: http1.c (our own HTTP/1.1 client) and
 * http_curl.c (libcurl). Strings are borrowed from http.c's engine. */
#ifndef AWSTOPO_HTTP_SETTINGS_H
#define AWSTOPO_HTTP_SETTINGS_H

#include <stddef.h>

typedef struct http_settings {
    long connect_timeout_ms;    /* > 0 */
    long read_timeout_ms;       /* 0 = no read timeout */
    size_t max_body;            /* bytes of a response body at most */
    const char *ca_bundle;      /* NULL = the system's CA store */
    int max_connections;        /* > 0: open connections at most */
    int verbose;                /* libcurl's verbose output (the curl path only) */
} http_settings;

#endif
