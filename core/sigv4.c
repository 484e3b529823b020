/* sigv4.c -- AWS Signature Version 4 (see sigv4.h).
 *
 * Signing runs in four steps, each its own function below:
 *   1. the canonical request: method, path, query, headers, signed header
 *      names and payload hash, each canonicalized and joined by newlines;
 *   2. the string to sign: algorithm, time, scope and the canonical request's hash;
 *   3. the signing key: four chained HMACs over date, region, service and
 *      "aws4_request", keyed with "AWS4" + secret (or taken from the cache);
 *   4. the signature: HMAC of the string to sign with that key, in hex.
 * Header signing and query signing (presign) share all four; they differ only
 * in where the date, token and signature go.
 *
 * Every buffer that held key material or a session token is wiped before it
 * is freed. Error messages never include credentials.
 */
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SHA256_Init and friends: deprecated in OpenSSL 3, kept, and much cheaper
 * per small hash than EVP (see sha256_parts). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define DEFAULT_EXPIRES 3600L
#define MAX_EXPIRES 604800L     /* seven days, SigV4's limit for presigned URLs */

/* ---- hashing ---------------------------------------------------------- */

static const char *cstr(const buf *b)   /* buf_cstr for a const buf */
{
    return b->data ? b->data : "";
}

/* Lower-case hex, two digits a byte copied from a table of all 256 (a
 * signature hex-encodes three 32-byte hashes). */
static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char pairs[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (size_t i = 0; i < n; i++) memcpy(out + 2 * i, pairs + 2 * in[i], 2);
    out[2 * n] = '\0';
}

/* SHA-256 through OpenSSL's low-level interface: a SHA256_CTX is a plain
 * struct on the stack, and the compression runs OpenSSL's assembly (SHA-NI
 * where the CPU has it). Its EVP interface, even with the algorithm fetched
 * once and one context reused, allocated and freed the provider's context on
 * every EVP_DigestInit_ex2: 2.6% of a small call's CPU, for 5 to 7 hashes a
 * request. OpenSSL 3 marks these functions deprecated but keeps them
 * (OPENSSL_SUPPRESS_DEPRECATED, above). */
static void sha256_parts(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    SHA256_CTX ctx;
    if (!SHA256_Init(&ctx) || !SHA256_Update(&ctx, a, alen) || (blen && !SHA256_Update(&ctx, b, blen)) ||
        !SHA256_Final(out, &ctx))
        abort();
    secure_zero(&ctx, sizeof ctx);
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    sha256_parts(data, len, NULL, 0, out);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    sha256(data, len, md);
    hex_encode(md, sizeof md, out);
}

/* RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K padded to 64 bytes. */
static void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[32])
{
    unsigned char k[64] = {0}, pad[64], inner[32];
    if (keylen > sizeof k) sha256(key, keylen, k);
    else memcpy(k, key, keylen);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    sha256_parts(pad, sizeof pad, data, len, inner);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    sha256_parts(pad, sizeof pad, inner, sizeof inner, out);
    secure_zero(k, sizeof k);
    secure_zero(pad, sizeof pad);
    secure_zero(inner, sizeof inner);
}

/* ---- the signing key and its cache ------------------------------------ */

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"). Every intermediate is wiped. */
static void derive_key(const char *secret, const char *date, const char *region,
                       const char *service, unsigned char key[32])
{
    size_t n = strlen(secret);
    char *k_secret = xmalloc(n + 5);
    unsigned char a[32], b[32];

    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, n + 1);
    hmac_sha256(k_secret, n + 4, date, strlen(date), a);
    hmac_sha256(a, sizeof a, region, strlen(region), b);
    hmac_sha256(b, sizeof b, service, strlen(service), a);
    hmac_sha256(a, sizeof a, "aws4_request", 12, key);

    secure_zero(k_secret, n + 4);
    free(k_secret);
    secure_zero(a, sizeof a);
    secure_zero(b, sizeof b);
}

#define CACHE_SLOTS 8

/* One cached signing key. The secret is not kept, only its SHA-256, so the
 * cache can tell two credentials apart without holding a second copy of a
 * secret. A slot with stamp 0 is empty; otherwise stamp says when it was last
 * used (a counter), and the slot with the smallest stamp is replaced first. */
typedef struct key_slot {
    unsigned char secret_hash[32];
    char date[9];               /* yyyymmdd */
    char region[48];
    char service[64];
    unsigned char key[32];
    unsigned long stamp;
} key_slot;

/* The buffers one signature is built in. A cache keeps them from one
 * signature to the next (five mallocs and frees a signature fewer); without
 * a cache they are the job's own. Either way what they held is wiped after
 * each signature: the header block and canonical request may hold the
 * session token, auth holds the signature. */
typedef struct sign_bufs {
    buf header_block;       /* canonical headers, each line ending in '\n' */
    buf signed_names;       /* "host;x-amz-date" */
    buf creq, sts, auth;    /* canonical request, string to sign, Authorization */
} sign_bufs;

#define BUFS_KEEP_BYTES (64 * 1024)   /* a kept buffer grown past this is freed */

struct sigv4_key_cache {
    key_slot slot[CACHE_SLOTS];
    unsigned long clock;
    sign_bufs bufs;
};

/* Wipes what b holds; frees it unless it is kept (and not too large). */
static void buf_done(buf *b, int keep)
{
    if (!keep || b->cap > BUFS_KEEP_BYTES) {
        buf_wipe(b);
        return;
    }
    if (b->data) secure_zero(b->data, b->len);   /* only appended to since the last clear */
    buf_clear(b);
}

static void bufs_done(sign_bufs *b, int keep)
{
    buf_done(&b->header_block, keep);
    buf_done(&b->signed_names, keep);
    buf_done(&b->creq, keep);
    buf_done(&b->sts, keep);
    buf_done(&b->auth, keep);
}

sigv4_key_cache *sigv4_key_cache_new(void)
{
    return xcalloc(1, sizeof(sigv4_key_cache));
}

void sigv4_key_cache_free(sigv4_key_cache *c)
{
    if (!c) return;
    bufs_done(&c->bufs, 0);
    secure_zero(c, sizeof *c);
    free(c);
}

static int slot_matches(const key_slot *s, const unsigned char secret_hash[32],
                        const char *date, const char *region, const char *service)
{
    return s->stamp && memcmp(s->secret_hash, secret_hash, 32) == 0 &&
           strcmp(s->date, date) == 0 && strcmp(s->region, region) == 0 &&
           strcmp(s->service, service) == 0;
}

static key_slot *cache_victim(sigv4_key_cache *c)
{
    key_slot *v = &c->slot[0];
    for (int i = 1; i < CACHE_SLOTS && v->stamp; i++)
        if (c->slot[i].stamp < v->stamp) v = &c->slot[i];
    return v;
}

/* The signing key for these inputs, from the cache when it has it. Names too
 * long for a slot bypass the cache. */
static void signing_key(sigv4_key_cache *c, const char *secret, const char *date,
                        const char *region, const char *service, unsigned char key[32])
{
    if (!c || strlen(region) >= sizeof c->slot[0].region ||
        strlen(service) >= sizeof c->slot[0].service) {
        derive_key(secret, date, region, service, key);
        return;
    }
    unsigned char h[32];
    sha256(secret, strlen(secret), h);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        key_slot *s = &c->slot[i];
        if (slot_matches(s, h, date, region, service)) {
            s->stamp = ++c->clock;
            memcpy(key, s->key, 32);
            secure_zero(h, sizeof h);
            return;
        }
    }
    derive_key(secret, date, region, service, key);
    key_slot *s = cache_victim(c);
    secure_zero(s, sizeof *s);
    memcpy(s->secret_hash, h, 32);
    snprintf(s->date, sizeof s->date, "%s", date);
    snprintf(s->region, sizeof s->region, "%s", region);
    snprintf(s->service, sizeof s->service, "%s", service);
    memcpy(s->key, key, 32);
    s->stamp = ++c->clock;
    secure_zero(h, sizeof h);
}

/* ---- canonical path and query ----------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_escape(const char *s)
{
    return s[0] == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0;
}

/* Percent-decodes s[0..n) into out; malformed escapes stay as they are. */
static void uri_decode(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && is_escape(s + i)) {
            buf_putc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            buf_putc(out, s[i]);
        }
    }
}

/* Removes "." and ".." segments and empty ones (duplicate slashes) from
 * path, appending the result to out (which must be empty). The result starts
 * with '/', and ends with one when the path did and anything is left. */
static void normalize_path(buf *out, const char *path)
{
    for (const char *p = path; *p;) {
        size_t l = strcspn(p, "/");
        if (l == 2 && p[0] == '.' && p[1] == '.') {
            while (out->len && out->data[out->len - 1] != '/') out->len--;  /* drop "/seg" */
            if (out->len) out->data[--out->len] = '\0';
        } else if (l && !(l == 1 && p[0] == '.')) {
            buf_putc(out, '/');
            buf_append(out, p, l);
        }
        p += l;
        if (*p) p++;
    }
    size_t n = strlen(path);
    if (out->len == 0 || (n && path[n - 1] == '/')) buf_putc(out, '/');
}

/* The path "encoded once": valid %XX escapes and unreserved bytes are kept,
 * anything else is encoded as uri_encode does. */
static void encode_once(buf *out, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (is_escape(p)) {
            buf_append(out, p, 3);
            p += 2;
        } else {
            uri_encode(out, p, 1, 1);
        }
    }
}

static void canonical_path(buf *out, const char *path, int s3_path)
{
    if (!path[0]) path = "/";
    if (s3_path) {
        encode_once(out, path);
        return;
    }
    buf norm = {0};
    normalize_path(&norm, path);
    uri_encode(out, norm.data, norm.len, 1);
    buf_free(&norm);
}

/* One query parameter, both halves decoded and encoded again the SigV4 way. */
typedef struct query_param {
    char *name;
    char *value;
} query_param;

static char *reencode(const char *s, size_t n)
{
    buf raw = {0}, enc = {0};
    uri_decode(&raw, s, n);
    uri_encode(&enc, cstr(&raw), raw.len, 0);
    buf_wipe(&raw);     /* may be a presigned token */
    return buf_steal(&enc);
}

static int param_cmp(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Splits on '&', re-encodes names and values, sorts by name then value. */
static void canonical_query(buf *out, const char *query)
{
    if (!*query) return;   /* the common case for JSON protocols: no array to sort */
    size_t cap = 1, n = 0;
    for (const char *p = query; *p; p++) cap += *p == '&';
    query_param *q = xmalloc(cap * sizeof *q);

    for (const char *p = query; *p;) {
        const char *end = strchr(p, '&');
        if (!end) end = p + strlen(p);
        if (end > p) {     /* "a=1", "a=" and "a" (value "") */
            const char *eq = memchr(p, '=', (size_t)(end - p));
            const char *val = eq ? eq + 1 : end;
            q[n].name = reencode(p, (size_t)((eq ? eq : end) - p));
            q[n++].value = reencode(val, (size_t)(end - val));
        }
        p = *end ? end + 1 : end;
    }
    qsort(q, n, sizeof *q, param_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(out, '&');
        buf_puts(out, q[i].name);
        buf_putc(out, '=');
        buf_puts(out, q[i].value);
        free(q[i].name);
        free_secret(q[i].value);
    }
    free(q);
}

/* ---- canonical headers ------------------------------------------------ */

/* Headers left out of the signature: they are changed on the way (proxies,
 * libcurl) or are the signature itself. */
static int unsigned_header(const http_header *h)
{
    static const struct { const char *name; size_t len; } skip[] = {
        {"authorization", 13}, {"user-agent", 10}, {"expect", 6},
        {"x-amzn-trace-id", 15}, {"connection", 10}, {"transfer-encoding", 17},
    };
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)   /* the length first: cheap */
        if (h->name_len == skip[i].len && strcasecmp(h->name, skip[i].name) == 0) return 1;
    return 0;
}

typedef struct canon_header {
    char *name;            /* lower-case copy, in the array's name block */
    const char *value;     /* borrowed from the request */
    size_t name_len, value_len;
    size_t order;          /* position in the request: keeps same-name values in order */
} canon_header;

static int header_cmp(const void *a, const void *b)
{
    const canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

#define HEADER_SPACE " \t\r\n"

/* Appends the value trimmed, with each run of whitespace made one space:
 * the words between the runs copied whole. */
static void append_trimmed(buf *out, const char *v)
{
    int any = 0;
    for (;;) {
        v += strspn(v, HEADER_SPACE);
        if (!*v) break;
        size_t word = strcspn(v, HEADER_SPACE);
        if (any) buf_putc(out, ' ');
        buf_append(out, v, word);
        v += word;
        any = 1;
    }
}

/* Copies name lower-cased to dst; returns the byte after its NUL. */
static char *put_lower(char *dst, const char *name)
{
    for (; *name; name++) *dst++ = (char)(*name >= 'A' && *name <= 'Z' ? *name + 32 : *name);
    *dst = '\0';
    return dst + 1;
}

/* The headers to sign, lower-cased and sorted; adds r->host as "host" when
 * the request has no Host header. One allocation: the array, then its
 * names. Caller frees (free). */
static canon_header *collect_headers(const http_request *r, size_t *count)
{
    const http_headers *h = &r->headers;
    size_t names = sizeof "host";
    for (size_t i = 0; i < h->len; i++) names += h->items[i].name_len + 1;
    canon_header *c = xmalloc((h->len + 1) * sizeof *c + names);
    char *next = (char *)(c + h->len + 1);
    size_t n = 0;

    for (size_t i = 0; i < h->len; i++) {
        if (unsigned_header(&h->items[i])) continue;
        c[n].name = next;
        next = put_lower(next, h->items[i].name);
        c[n].value = h->items[i].value;
        c[n].name_len = h->items[i].name_len;
        c[n].value_len = h->items[i].value_len;
        c[n].order = n;
        n++;
    }
    if (!headers_get(h, "host")) {
        c[n].name = next;
        put_lower(next, "host");
        c[n].value = r->host;
        c[n].name_len = 4;
        c[n].value_len = strlen(r->host);
        c[n].order = n;
        n++;
    }
    qsort(c, n, sizeof *c, header_cmp);
    *count = n;
    return c;
}

/* "name:v1,v2\n" per distinct name into block, "name;name" into names. */
static void canonical_headers(const http_request *r, buf *block, buf *names)
{
    size_t n, block_len = 1, names_len = 0;
    canon_header *c = collect_headers(r, &n);
    for (size_t i = 0; i < n; i++) {   /* at most this much: one allocation each */
        block_len += c[i].name_len + c[i].value_len + 2;
        names_len += c[i].name_len + 1;
    }
    buf_reserve(block, block_len);
    buf_reserve(names, names_len);
    for (size_t i = 0; i < n; i++) {
        int first = i == 0 || strcmp(c[i].name, c[i - 1].name) != 0;
        if (first && i) buf_putc(block, '\n');
        if (first) {
            buf_append(block, c[i].name, c[i].name_len);
            buf_putc(block, ':');
            if (i) buf_putc(names, ';');
            buf_append(names, c[i].name, c[i].name_len);
        } else {
            buf_putc(block, ',');
        }
        append_trimmed(block, c[i].value);
    }
    if (n) buf_putc(block, '\n');
    free(c);
}

/* ---- the signing steps ------------------------------------------------ */

/* What one signature needs besides the request, worked out once. */
typedef struct sign_job {
    const sigv4_params *p;
    char amz_date[17];      /* 20150830T123600Z */
    char date[9];           /* 20150830 */
    char scope[256];        /* 20150830/us-east-1/service/aws4_request */
    size_t scope_len;
    char payload_hash[65];
    sign_bufs *b;           /* the cache's, or else own */
    sign_bufs own;
} sign_job;

/* yyyymmddThhmmssZ for t; formatted once a second (gmtime_r and strftime
 * cost more than the rest of the job's set-up). Single-threaded, as the
 * signing is. -1 when t cannot be formatted. */
static int format_amz_date(time_t t, char out[17])
{
    static time_t last = (time_t)-1;
    static char text[17];
    if (t != last || !text[0]) {
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm)) {
            text[0] = '\0';
            return -1;
        }
        last = t;
    }
    memcpy(out, text, sizeof text);
    return 0;
}

/* "date/region/service/aws4_request" into j->scope, by hand: snprintf was
 * a noticeable part of a small call's signing. -1 when it does not fit. */
static int make_scope(sign_job *j, const char *region, const char *service)
{
    static const char tail[] = "/aws4_request";
    size_t rl = strlen(region), sl = strlen(service);
    size_t n = 8 + 1 + rl + 1 + sl + sizeof tail - 1;
    if (n >= sizeof j->scope) return -1;
    char *p = j->scope;
    memcpy(p, j->date, 8);
    p += 8;
    *p++ = '/';
    memcpy(p, region, rl);
    p += rl;
    *p++ = '/';
    memcpy(p, service, sl);
    p += sl;
    memcpy(p, tail, sizeof tail);
    j->scope_len = n;
    return 0;
}

static int job_init(sign_job *j, const http_request *r, const sigv4_params *p, sigv4_key_cache *cache,
                    char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    j->p = p;
    j->b = cache ? &cache->bufs : &j->own;
    const aws_credentials *c = p->creds;
    if (!c || !c->access_key_id || !c->access_key_id[0] || !c->secret_access_key ||
        !c->secret_access_key[0]) {
        snprintf(err, errlen, "sigv4: no credentials to sign with");
        return -1;
    }
    if (!p->region || !p->region[0] || !p->service || !p->service[0]) {
        snprintf(err, errlen, "sigv4: signing needs a region and a service name");
        return -1;
    }
    time_t now = p->now ? p->now : time(NULL);
    if (format_amz_date(now, j->amz_date) < 0) {
        snprintf(err, errlen, "sigv4: cannot format the signing time");
        return -1;
    }
    memcpy(j->date, j->amz_date, 8);
    if (make_scope(j, p->region, p->service) < 0) {
        snprintf(err, errlen, "sigv4: region or service name too long");
        return -1;
    }
    if (p->unsigned_payload)
        memcpy(j->payload_hash, "UNSIGNED-PAYLOAD", sizeof "UNSIGNED-PAYLOAD");
    else
        sha256_hex(cstr(&r->body), r->body.len, j->payload_hash);
    return 0;
}

static void job_free(sign_job *j)
{
    bufs_done(j->b, j->b != &j->own);
}

/* Step 1. query is the query to sign (for presigning, with the X-Amz-* parameters). */
static void canonical_request(buf *out, const http_request *r, const char *query,
                              const sign_job *j)
{
    /* Room for it all at once (the path and query may grow by encoding):
     * no reallocs, and no copies of the token left behind by them. */
    buf_reserve(out, strlen(r->method) + 3 * (strlen(r->path) + strlen(query)) + j->b->header_block.len +
                                j->b->signed_names.len + sizeof j->payload_hash + 8);
    buf_puts(out, r->method);
    buf_putc(out, '\n');
    canonical_path(out, r->path, j->p->s3_rules || j->p->s3_path);
    buf_putc(out, '\n');
    canonical_query(out, query);
    buf_putc(out, '\n');
    buf_append(out, cstr(&j->b->header_block), j->b->header_block.len);
    buf_putc(out, '\n');
    buf_append(out, cstr(&j->b->signed_names), j->b->signed_names.len);
    buf_putc(out, '\n');
    buf_puts(out, j->payload_hash);
}

/* Step 2. */
static void string_to_sign(buf *out, const buf *creq, const sign_job *j)
{
    char hash[65];
    sha256_hex(cstr(creq), creq->len, hash);
    buf_reserve(out, sizeof ALGORITHM + sizeof j->amz_date + j->scope_len + sizeof hash + 2);
    buf_append(out, ALGORITHM "\n", sizeof ALGORITHM);   /* (buf_printf: 3% of a small call went to vfprintf) */
    buf_append(out, j->amz_date, sizeof j->amz_date - 1);
    buf_putc(out, '\n');
    buf_append(out, j->scope, j->scope_len);
    buf_putc(out, '\n');
    buf_append(out, hash, sizeof hash - 1);
}

/* Steps 3 and 4: the hex signature of the string to sign. */
static void signature(char out[65], const buf *sts, const sign_job *j, sigv4_key_cache *cache)
{
    unsigned char key[32], mac[32];
    signing_key(cache, j->p->creds->secret_access_key, j->date, j->p->region, j->p->service, key);
    hmac_sha256(key, sizeof key, sts->data, sts->len, mac);
    hex_encode(mac, sizeof mac, out);
    secure_zero(key, sizeof key);
    secure_zero(mac, sizeof mac);
}

/* Runs steps 1-4 over r with the given query (j's headers already
 * canonicalized) and fills the trace. */
static void run_steps(char sig[65], const http_request *r, const char *query, sign_job *j,
                      sigv4_key_cache *cache, sigv4_trace *trace)
{
    buf *creq = &j->b->creq, *sts = &j->b->sts;
    canonical_request(creq, r, query, j);
    string_to_sign(sts, creq, j);
    signature(sig, sts, j, cache);
    if (trace && trace->canonical_request) {
        buf_clear(trace->canonical_request);
        buf_append(trace->canonical_request, creq->data, creq->len);
    }
    if (trace && trace->string_to_sign) {
        buf_clear(trace->string_to_sign);
        buf_append(trace->string_to_sign, sts->data, sts->len);
    }
    if (trace && trace->signature) {
        buf_clear(trace->signature);
        buf_puts(trace->signature, sig);
    }
}

static const char *session_token(const sigv4_params *p)
{
    const char *t = p->creds->session_token;
    return t && t[0] ? t : NULL;
}

/* ---- header signing --------------------------------------------------- */

int sigv4_sign(http_request *r, const sigv4_params *p, sigv4_key_cache *cache,
               sigv4_trace *trace, char *err, size_t errlen)
{
    sign_job j;
    if (job_init(&j, r, p, cache, err, errlen) < 0) return -1;
    const char *token = session_token(p);

    headers_remove(&r->headers, "Authorization");
    headers_remove(&r->headers, "X-Amz-Security-Token");
    headers_set(&r->headers, "X-Amz-Date", j.amz_date);
    if (token && !p->omit_session_token) headers_add(&r->headers, "X-Amz-Security-Token", token);
    if (p->s3_rules || p->content_sha256_header)
        headers_set(&r->headers, "X-Amz-Content-Sha256", j.payload_hash);

    char sig[65];
    canonical_headers(r, &j.b->header_block, &j.b->signed_names);
    run_steps(sig, r, r->query, &j, cache, trace);

    buf *auth = &j.b->auth;
    buf_reserve(auth, 160 + strlen(p->creds->access_key_id) + j.b->signed_names.len);
    buf_puts(auth, ALGORITHM " Credential=");
    buf_puts(auth, p->creds->access_key_id);
    buf_putc(auth, '/');
    buf_append(auth, j.scope, j.scope_len);
    buf_puts(auth, ", SignedHeaders=");
    buf_append(auth, cstr(&j.b->signed_names), j.b->signed_names.len);
    buf_puts(auth, ", Signature=");
    buf_puts(auth, sig);
    headers_addn(&r->headers, "Authorization", 13, auth->data, auth->len);
    if (token && p->omit_session_token) headers_add(&r->headers, "X-Amz-Security-Token", token);

    secure_zero(sig, sizeof sig);
    job_free(&j);
    return 0;
}

/* ---- query signing ---------------------------------------------------- */

static void add_param(buf *q, const char *name, const char *value)
{
    if (q->len) buf_putc(q, '&');
    buf_printf(q, "%s=", name);
    uri_encode(q, value, strlen(value), 0);
}

int sigv4_presign(http_request *r, const sigv4_params *p, sigv4_key_cache *cache,
                  sigv4_trace *trace, char *err, size_t errlen)
{
    long expires = p->expires ? p->expires : DEFAULT_EXPIRES;
    if (expires < 1 || expires > MAX_EXPIRES) {
        snprintf(err, errlen, "sigv4: presign expiry must be 1 to %ld seconds", MAX_EXPIRES);
        return -1;
    }
    sign_job j;
    if (job_init(&j, r, p, cache, err, errlen) < 0) return -1;
    const char *token = session_token(p);

    /* The signed headers must be known before the query that names them. */
    canonical_headers(r, &j.b->header_block, &j.b->signed_names);
    char exp[24], sig[65];
    snprintf(exp, sizeof exp, "%ld", expires);
    buf credential = {0}, q = {0};
    buf_printf(&credential, "%s/%s", p->creds->access_key_id, j.scope);

    buf_puts(&q, r->query);
    add_param(&q, "X-Amz-Algorithm", ALGORITHM);
    add_param(&q, "X-Amz-Credential", credential.data);
    add_param(&q, "X-Amz-Date", j.amz_date);
    add_param(&q, "X-Amz-Expires", exp);
    add_param(&q, "X-Amz-SignedHeaders", cstr(&j.b->signed_names));
    if (token && !p->omit_session_token) add_param(&q, "X-Amz-Security-Token", token);

    run_steps(sig, r, buf_cstr(&q), &j, cache, trace);

    add_param(&q, "X-Amz-Signature", sig);
    if (token && p->omit_session_token) add_param(&q, "X-Amz-Security-Token", token);
    request_take(&r->query, buf_steal(&q));

    buf_free(&credential);
    secure_zero(sig, sizeof sig);
    job_free(&j);
    return 0;
}
