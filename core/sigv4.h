/* sigv4.h -- AWS Signature Version 4.
 *
 * Signs an http_request in place (header signing: adds X-Amz-Date,
 * X-Amz-Security-Token, X-Amz-Content-Sha256 for S3, and Authorization), or
 * presigns it (query signing: adds the X-Amz-* query parameters).
 *
 * Two sets of rules exist. Every service but S3 URI-encodes each path segment
 * twice and normalizes the path (removes "." and ".." segments and duplicate
 * slashes). S3 encodes once, does not normalize, and signs the
 * x-amz-content-sha256 header.
 *
 * Every header of the request is signed except Authorization, User-Agent,
 * Expect, X-Amzn-Trace-Id, Connection and Transfer-Encoding (proxies and
 * libcurl may change those); a request without a Host header signs r->host.
 *
 * Deriving the signing key costs four HMACs; a sigv4_key_cache keeps the key
 * per (secret, date, region, service) so one signature costs three hashes (one
 * of them of the secret, to find its key) and one HMAC. Cached keys are wiped when replaced or freed. A cache holds a few
 * keys (least recently used goes first) and is not thread-safe: use one per
 * thread, as the single event loop does.
 *
 * "Encoded once" for S3 means the path as sent, with %XX escapes kept as they
 * are and any byte that may not appear raw (space, non-ASCII, ...) encoded the
 * way uri_encode does; for a path built with uri_encode that is the path as is.
 */
#ifndef AWSTOPO_SIGV4_H
#define AWSTOPO_SIGV4_H

#include <time.h>

#include "buf.h"
#include "creds.h"
#include "request.h"

typedef struct sigv4_key_cache sigv4_key_cache;

sigv4_key_cache *sigv4_key_cache_new(void);
void sigv4_key_cache_free(sigv4_key_cache *c);   /* wipes the keys */

typedef struct sigv4_params {
    const aws_credentials *creds;
    const char *region;
    const char *service;          /* signing name, e.g. "ec2", "s3", "execute-api" */
    time_t now;                   /* the signing time; tests inject it (0 = time(NULL)) */
    int s3_rules;                 /* single encoding, no normalization, sha256 header
                                     (the same as s3_path + content_sha256_header) */
    int omit_session_token;       /* add the token after signing (some services want that) */
    int unsigned_payload;         /* hash "UNSIGNED-PAYLOAD" instead of the body */
    long expires;                 /* query signing only: X-Amz-Expires seconds
                                     (0 = 3600; at most 604800) */
    /* The two halves of s3_rules, for callers (and the conformance suite) that
     * want one without the other: */
    int s3_path;                  /* path as S3 wants it: encoded once, not normalized */
    int content_sha256_header;    /* header signing: add and sign X-Amz-Content-Sha256 */
} sigv4_params;

/* Optional outputs for tests and debugging. Any may be NULL. */
typedef struct sigv4_trace {
    buf *canonical_request;
    buf *string_to_sign;
    buf *signature;               /* hex */
} sigv4_trace;

/* Header signing. The request must have host, method, path, query, headers
 * and body set. Returns 0, or -1 with a message in err when it cannot sign
 * (no credentials, no region or service; for presign an expiry outside
 * 1..604800) and then leaves r unchanged. cache may be NULL. */
int sigv4_sign(http_request *r, const sigv4_params *p, sigv4_key_cache *cache,
               sigv4_trace *trace, char *err, size_t errlen);

/* Query signing (presigned URL). Same contract. */
int sigv4_presign(http_request *r, const sigv4_params *p, sigv4_key_cache *cache,
                  sigv4_trace *trace, char *err, size_t errlen);

/* Hex SHA-256 of data into out (65 bytes). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
