/* request.h -- an HTTP request and response as the core passes them around.
 *
 * The protocol serializers fill an http_request, sigv4 adds its headers to it,
 * and http.c sends it. The response comes back as an http_response that the
 * protocol parsers read. Every string in both structs is owned by the struct:
 * use the functions below to set them, and *_free to release everything.
 */
#ifndef AWSTOPO_REQUEST_H
#define AWSTOPO_REQUEST_H

#include <stddef.h>

#include "buf.h"

typedef struct http_header {
    char *name;     /* as given; compare case-insensitively. Owns the block */
    char *value;    /* in name's block (headers_add): never freed on its own */
    size_t name_len, value_len;   /* strlen of each, kept: lookups compare
                                     lengths first, and the wipe needs no strlen */
} http_header;

typedef struct http_headers {
    http_header *items;
    size_t len, cap;
} http_headers;

typedef struct http_request {
    char *method;       /* "GET", "POST", ... */
    char *scheme;       /* "https" or "http" */
    char *host;         /* host[:port] as it goes in the Host header */
    char *path;         /* URI-encoded path as sent on the wire, starts with '/' */
    char *query;        /* URI-encoded query string without '?', "" when none */
    http_headers headers;
    buf body;
} http_request;

typedef struct http_response {
    long status;        /* 0 when no HTTP status arrived (connection error) */
    http_headers headers;
    buf body;           /* only ever appended to: a body that must start over is
                         * wiped, never cleared, so response_free wipes only
                         * the bytes written (buf_wipe_grown) */
} http_response;

/* Headers. Names are matched case-insensitively. */
void headers_add(http_headers *h, const char *name, const char *value);
/* The same with the lengths known (neither string need be NUL-terminated). */
void headers_addn(http_headers *h, const char *name, size_t name_len, const char *value, size_t value_len);
void headers_set(http_headers *h, const char *name, const char *value); /* replaces all of that name */
const char *headers_get(const http_headers *h, const char *name);       /* first match or NULL */
void headers_remove(http_headers *h, const char *name);
/* A folded header line: " " and text[0..n) appended to the last header's
 * value (nothing when there is no header yet). */
void headers_fold_last(http_headers *h, const char *text, size_t n);
void headers_free(http_headers *h);

void request_init(http_request *r);   /* all empty: method "GET", scheme "https", path "/", query "" */
/* The five strings belong to the request, but its defaults are shared
 * constants: change a field only through these two (or request_add_query),
 * never free or write one directly. */
void request_set(char **field, const char *value); /* copies value (NULL: ""), frees the old string */
void request_take(char **field, char *value);      /* takes value (malloc'ed), wipes and frees the old */
/* Appends "name=value" to r->query; both must be URI-encoded already. */
void request_add_query(http_request *r, const char *encoded_name, const char *encoded_value);
/* Full URL "scheme://host/path?query"; caller frees. */
char *request_url(const http_request *r);
void request_free(http_request *r);

void response_init(http_response *r);
void response_free(http_response *r);

/* URI encoding as SigV4 and the AWS protocols define it: every byte except
 * A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex); '/' is kept when
 * keep_slash is set (for paths). */
void uri_encode(buf *out, const char *s, size_t n, int keep_slash);

#endif
