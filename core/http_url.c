/* http_url.c -- http_url_parse (see http.h): base URLs (endpoint overrides,
 * the StackState receiver) taken apart with libcurl's URL parser, so that they
 * are read the way the curl transfer path would read them. */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>


/* A part of u (caller frees), or NULL when it has none. */
static char *url_part(CURLU *u, CURLUPart what, unsigned flags)
{
    char *s = NULL;
    if (curl_url_get(u, what, &s, flags) != CURLUE_OK) return NULL;
    char *copy = xstrdup(s);
    curl_free(s);
    return copy;
}

static int has_part(CURLU *u, CURLUPart what)
{
    char *s = url_part(u, what, 0);
    free(s);
    return s != NULL;
}

/* Fills out from u, already set; the checks curl leaves to us. */
static int url_fill(CURLU *u, http_url *out, const char **why)
{
    out->scheme = url_part(u, CURLUPART_SCHEME, 0);
    if (!out->scheme || (strcmp(out->scheme, "http") && strcmp(out->scheme, "https"))) {
        *why = "must start with http:// or https://";
        return -1;
    }
    if (has_part(u, CURLUPART_QUERY) || has_part(u, CURLUPART_FRAGMENT)) {
        *why = "may not have a query or fragment";
        return -1;
    }
    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD)) {
        *why = "may not hold a user name or password";
        return -1;
    }
    char *host = url_part(u, CURLUPART_HOST, 0), *port = url_part(u, CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
    buf h = {0};
    if (host && *host) buf_printf(&h, port ? "%s:%s" : "%s", host, port);
    int bad_port = port && strtol(port, NULL, 10) <= 0;
    free(host);
    free(port);
    out->host = buf_steal(&h);
    if (!*out->host || bad_port) {
        *why = "has no valid host[:port]";
        return -1;
    }
    out->path = url_part(u, CURLUPART_PATH, 0);
    if (!out->path) out->path = xstrdup("");
    size_t n = strlen(out->path);
    while (n && out->path[n - 1] == '/') out->path[--n] = '\0';
    return 0;
}

int http_url_parse(const char *url, http_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    CURLU *u = curl_url();
    if (!u) abort(); /* only fails on OOM */
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url ? url : "", 0);
    int ok;
    if (rc == CURLUE_UNSUPPORTED_SCHEME || rc == CURLUE_BAD_SCHEME || rc == CURLUE_MALFORMED_INPUT) {
        *why = "must start with http:// or https://";
        ok = -1;
    } else if (rc == CURLUE_NO_HOST || rc == CURLUE_BAD_PORT_NUMBER || rc == CURLUE_BAD_IPV6 ||
               rc == CURLUE_BAD_HOSTNAME) {
        *why = "has no valid host[:port]";
        ok = -1;
    } else if (rc != CURLUE_OK) {
        *why = "is not a valid URL";
        ok = -1;
    } else {
        ok = url_fill(u, out, why);
    }
    curl_url_cleanup(u);
    if (ok != 0) http_url_free(out);
    return ok;
}

void http_url_free(http_url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    memset(u, 0, sizeof *u);
}

