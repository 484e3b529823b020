/* fuzz_sigv4.c -- SigV4 canonicalization and signing (sigv4.c).
 *
 * Input: a request as the AWS SigV4 test suite writes it (request.txt):
 *     METHOD /path?query HTTP/1.1
 *     Header:value            (a line starting with a space or tab continues
 *     ...                      the previous value; names may repeat)
 *
 *     body
 * The request is signed three ways: header signing with the rules of every
 * service but S3 (path normalized, segments encoded twice), header signing
 * with S3's rules, and query signing (presign).
 * Checks: each signing succeeds (credentials, region and service are
 * always given), writes a 64-digit hex signature, and the header form adds
 * an Authorization header.
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"
#include "sigv4.h"
#include "util.h"

static sigv4_key_cache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cache = sigv4_key_cache_new();
    return 0;
}

/* "METHOD target HTTP/x": the target runs from the first space to the last
 * " HTTP/" (it may hold raw spaces); without one, to the end of the line. */
static void request_line(const char *line, size_t len, http_request *r)
{
    const char *sp = memchr(line, ' ', len), *end = line + len;
    for (const char *p = line; p + 6 <= line + len; p++)
        if (memcmp(p, " HTTP/", 6) == 0 && p > sp) end = p;
    if (!sp) sp = line + len;
    char *method = xstrndup(line, (size_t)(sp - line));
    char *target = sp < end ? xstrndup(sp + 1, (size_t)(end - sp - 1)) : xstrdup("/");
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    request_set(&r->method, method);
    request_set(&r->path, target);
    request_set(&r->query, q ? q : "");
    free(method);
    free(target);
}

static void header_line(const char *line, size_t len, http_request *r)
{
    http_headers *h = &r->headers;
    if ((line[0] == ' ' || line[0] == '\t') && h->len) {
        headers_fold_last(h, line, len);
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return;
    char *name = xstrndup(line, (size_t)(colon - line));
    char *value = xstrndup(colon + 1, len - (size_t)(colon + 1 - line));
    headers_add(h, name, value);
    free(name);
    free(value);
}

static void parse_request(const char *text, size_t size, http_request *r)
{
    request_init(r);
    request_set(&r->host, "example.amazonaws.com");
    const char *p = text, *end = text + size;
    int first = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *next = nl ? nl + 1 : end;
        if (len && p[len - 1] == '\r') len--;
        if (first) request_line(p, len, r);
        else if (len == 0) {
            p = next;
            break;
        } else header_line(p, len, r);
        first = 0;
        p = next;
    }
    buf_append(&r->body, p, (size_t)(end - p));
    const char *host = headers_get(&r->headers, "host");
    if (host) request_set(&r->host, host);
}

static int is_hex64(const buf *b)
{
    if (b->len != 64) return 0;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)b->data[i])) return 0;
    return 1;
}

static void sign_one(const char *text, size_t size, int how)
{
    static const aws_credentials creds = {
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .session_token = "FwoGZXIvYXdzEXAMPLETOKEN",
    };
    http_request r;
    parse_request(text, size, &r);
    sigv4_params p = {.creds = &creds, .region = "us-east-1", .service = how == 1 ? "s3" : "service",
                      .now = 1440938160, .s3_rules = how == 1};
    buf creq = {0}, sts = {0}, sig = {0};
    sigv4_trace trace = {&creq, &sts, &sig};
    char err[256] = "";
    int rc = how == 2 ? sigv4_presign(&r, &p, cache, &trace, err, sizeof err)
                      : sigv4_sign(&r, &p, cache, &trace, err, sizeof err);
    fuzz_check(rc == 0, err);
    fuzz_check(is_hex64(&sig), "a 64-digit hex signature");
    fuzz_check(how == 2 || headers_get(&r.headers, "authorization"), "an Authorization header");
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&sig);
    request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int how = 0; how < 3; how++) sign_one((const char *)data, size, how);
    return 0;
}
