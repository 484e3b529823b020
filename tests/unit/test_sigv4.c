/* test_sigv4.c -- SigV4 held to AWS's signing test suite, plus unit checks.
 *
 * Every directory under tests/conformance/sigv4 (run from the repository root)
 * is one case: request.txt (an HTTP request), context.json (credentials,
 * region, service, time and flags) and the expected canonical request, string
 * to sign and signature for header signing (header-*.txt) and query signing
 * (query-*.txt). Each case is signed both ways and compared byte for byte.
 *
 * How the suite's flags map onto sigv4_params (the suite comes from
 * aws-c-auth, whose harness always double-encodes and uses "normalize" only
 * for path normalization; with the suite's paths that gives the same bytes as
 * S3's single encoding):
 *   normalize false  -> s3_path (encoded once, not normalized)
 *   sign_body true   -> content_sha256_header (header signing only)
 * The payload hash is always the SHA-256 of the body (empty for most cases).
 * The request line's path is the path as sent, raw spaces and UTF-8 included;
 * the signer encodes those bytes.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "sigv4.h"
#include "testlib.h"

#define SUITE_DIR "tests/conformance/sigv4"

/* ---- reading a case --------------------------------------------------- */

static int read_file(const char *dir, const char *name, buf *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char chunk[4096];
    size_t n;
    buf_clear(out);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(out, chunk, n);
    fclose(f);
    buf_reserve(out, 0);   /* data non-NULL even for an empty file */
    return 0;
}

/* What context.json says. */
typedef struct suite_context {
    aws_credentials creds;
    char *region, *service;
    time_t now;
    int normalize, sign_body, omit_session_token;
    long expires;
} suite_context;

static char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static int json_bool(const cJSON *obj, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* "2015-08-30T12:36:00Z" -> epoch seconds; -1 when malformed. */
static time_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static int parse_context(const char *text, suite_context *c)
{
    memset(c, 0, sizeof *c);
    cJSON *root = cJSON_Parse(text);
    if (!root) return -1;
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(root, "credentials");
    c->creds.access_key_id = json_str(cr, "access_key_id");
    c->creds.secret_access_key = json_str(cr, "secret_access_key");
    c->creds.session_token = json_str(cr, "token");
    c->region = json_str(root, "region");
    c->service = json_str(root, "service");
    char *ts = json_str(root, "timestamp");
    c->now = parse_time(ts);
    free(ts);
    c->normalize = json_bool(root, "normalize");
    c->sign_body = json_bool(root, "sign_body");
    c->omit_session_token = json_bool(root, "omit_session_token");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "expiration_in_seconds");
    c->expires = cJSON_IsNumber(e) ? (long)e->valuedouble : 0;
    cJSON_Delete(root);
    return c->creds.access_key_id && c->region && c->service && c->now > 0 ? 0 : -1;
}

static void context_free(suite_context *c)
{
    free(c->creds.access_key_id);
    free_secret(c->creds.secret_access_key);
    free_secret(c->creds.session_token);
    free(c->region);
    free(c->service);
}

/* One line of text: [*p, end of line), *p moves past the '\n'. NULL at the end. */
static const char *next_line(const char **p, size_t *len)
{
    const char *s = *p;
    if (!*s) return NULL;
    const char *nl = strchr(s, '\n');
    *len = nl ? (size_t)(nl - s) : strlen(s);
    *p = nl ? nl + 1 : s + *len;
    if (*len && s[*len - 1] == '\r') (*len)--;
    return s;
}

/* "METHOD /path?query HTTP/1.1": the path may hold raw spaces, so the target
 * runs from the first space to the last " HTTP/". */
static int parse_request_line(const char *line, size_t len, http_request *r)
{
    const char *sp = memchr(line, ' ', len), *end = NULL;
    for (const char *p = line; p + 6 <= line + len; p++)
        if (memcmp(p, " HTTP/", 6) == 0) end = p;
    if (!sp || !end || end <= sp) return -1;
    char *method = xstrndup(line, (size_t)(sp - line));
    char *target = xstrndup(sp + 1, (size_t)(end - sp - 1));
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    request_set(&r->method, method);
    request_set(&r->path, target);
    request_set(&r->query, q ? q : "");
    free(method);
    free(target);
    return 0;
}

/* Parses request.txt into r: request line, headers (a line starting with
 * whitespace continues the previous header's value; repeated names stay
 * separate headers, in order), a blank line, then the body. */
static int parse_request(const char *text, http_request *r)
{
    const char *p = text, *line;
    size_t len;
    if (!(line = next_line(&p, &len)) || parse_request_line(line, len, r) < 0) return -1;
    while ((line = next_line(&p, &len)) && len > 0) {
        http_headers *h = &r->headers;
        if ((line[0] == ' ' || line[0] == '\t') && h->len) {
            headers_fold_last(h, line, len);
            continue;
        }
        const char *colon = memchr(line, ':', len);
        if (!colon) return -1;
        char *name = xstrndup(line, (size_t)(colon - line));
        char *value = xstrndup(colon + 1, len - (size_t)(colon + 1 - line));
        headers_add(h, name, value);
        free(name);
        free(value);
    }
    buf_append(&r->body, p, strlen(p));
    const char *host = headers_get(&r->headers, "host");
    if (host) request_set(&r->host, host);
    return 0;
}

/* ---- running a case --------------------------------------------------- */

static int same_as_file(const char *dir, const char *name, buf *got)
{
    buf want = {0};
    int ok = read_file(dir, name, &want) == 0 && want.len == got->len &&
             memcmp(want.data, buf_cstr(got), got->len) == 0;
    CHECK(ok, "%s/%s differs\n--- got ---\n%s\n--- want ---\n%s", dir, name, buf_cstr(got),
          buf_cstr(&want));
    buf_free(&want);
    return ok;
}

/* The Authorization line of header-signed-request.txt. */
static char *expected_authorization(const char *dir)
{
    buf f = {0};
    char *auth = NULL;
    if (read_file(dir, "header-signed-request.txt", &f) == 0) {
        const char *a = strstr(f.data, "\nAuthorization:");
        if (a) auth = xstrndup(a + 15, strcspn(a + 15, "\r\n"));
    }
    buf_free(&f);
    return auth;
}

/* Signs the case one way; returns 1 when every compared file matches. */
static int run_case(const char *dir, const suite_context *c, const char *request_text, int query)
{
    http_request r;
    request_init(&r);
    if (parse_request(request_text, &r) < 0) {
        CHECK(0, "%s: cannot parse request.txt", dir);
        request_free(&r);
        return 0;
    }
    sigv4_params p = {.creds = &c->creds, .region = c->region, .service = c->service,
                      .now = c->now, .s3_path = !c->normalize,
                      .content_sha256_header = c->sign_body,
                      .omit_session_token = c->omit_session_token, .expires = c->expires};
    buf creq = {0}, sts = {0}, sig = {0};
    sigv4_trace trace = {&creq, &sts, &sig};
    char err[256] = "";
    int rc = query ? sigv4_presign(&r, &p, NULL, &trace, err, sizeof err)
                   : sigv4_sign(&r, &p, NULL, &trace, err, sizeof err);
    CHECK(rc == 0, "%s: signing failed: %s", dir, err);

    const char *pre = query ? "query-" : "header-";
    char name[64];
    int ok = rc == 0;
    snprintf(name, sizeof name, "%scanonical-request.txt", pre);
    ok &= same_as_file(dir, name, &creq);
    snprintf(name, sizeof name, "%sstring-to-sign.txt", pre);
    ok &= same_as_file(dir, name, &sts);
    snprintf(name, sizeof name, "%ssignature.txt", pre);
    ok &= same_as_file(dir, name, &sig);

    if (!query) {   /* the header that goes out, as header-signed-request.txt has it */
        char *want = expected_authorization(dir);
        CHECK_STR(headers_get(&r.headers, "Authorization"), want);
        free(want);
    } else {        /* the signature lands in the query */
        buf s = {0};
        buf_printf(&s, "X-Amz-Signature=%s", buf_cstr(&sig));
        CHECK(strstr(r.query, s.data) != NULL, "%s: query lacks %s", dir, s.data);
        buf_free(&s);
    }
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&sig);
    request_free(&r);
    return ok;
}

static void run_suite(void)
{
    DIR *d = opendir(SUITE_DIR);
    CHECK(d != NULL, "cannot open %s (run from the repository root)", SUITE_DIR);
    if (!d) return;
    int cases = 0, header_ok = 0, query_ok = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", SUITE_DIR, e->d_name);
        buf req = {0}, ctx = {0};
        suite_context c;
        if (e->d_name[0] == '.' || read_file(dir, "request.txt", &req) < 0) {
            buf_free(&req);
            continue;   /* LICENSE, NOTICE */
        }
        cases++;
        int parsed = read_file(dir, "context.json", &ctx) == 0 && parse_context(ctx.data, &c) == 0;
        CHECK(parsed, "%s: cannot read context.json", dir);
        if (parsed) {
            header_ok += run_case(dir, &c, req.data, 0);
            query_ok += run_case(dir, &c, req.data, 1);
            context_free(&c);
        }
        buf_free(&req);
        buf_free(&ctx);
    }
    closedir(d);
    CHECK(cases == 38, "expected 38 suite cases, found %d", cases);
    printf("conformance: %d of %d header, %d of %d query\n", header_ok, cases, query_ok, cases);
}

/* ---- unit checks ------------------------------------------------------ */

static void test_sha256(void)
{
    char h[65];
    sha256_hex("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = xmalloc(1000000);
    memset(a, 'a', 1000000);
    sha256_hex(a, 1000000, h);
    CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FQoGZXIvYXdzEXAMPLETOKENdGhpcyBpcyBub3QgYSByZWFsIHRva2Vu"

static void sample_request(http_request *r)
{
    request_init(r);
    request_set(&r->method, "POST");
    request_set(&r->host, "ec2.eu-west-1.amazonaws.com");
    headers_add(&r->headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    buf_puts(&r->body, "Action=DescribeInstances&Version=2016-11-15");
}

/* Signs a fresh sample request and returns its hex signature (caller frees). */
static char *sign_sample(const aws_credentials *cr, const char *region, time_t now,
                         sigv4_key_cache *cache)
{
    http_request r;
    sample_request(&r);
    sigv4_params p = {.creds = cr, .region = region, .service = "ec2", .now = now};
    buf sig = {0};
    sigv4_trace t = {NULL, NULL, &sig};
    char err[256];
    int rc = sigv4_sign(&r, &p, cache, &t, err, sizeof err);
    CHECK(rc == 0, "sign_sample: %s", err);
    request_free(&r);
    return buf_steal(&sig);
}

static void test_cache(void)
{
    aws_credentials a = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET};
    aws_credentials b = {.access_key_id = "AKIDOTHER", .secret_access_key = "another/secret+key"};
    const char *regions[] = {"us-east-1", "eu-west-1", "eu-central-1", "ap-south-1", "us-west-2",
                             "sa-east-1", "ca-central-1", "ap-northeast-1", "me-south-1",
                             "af-south-1"};
    sigv4_key_cache *cache = sigv4_key_cache_new();
    time_t day = 1440938160, next_day = day + 86400;
    /* Twice round more keys than the cache holds: misses, hits and evictions. */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof regions / sizeof *regions; i++) {
            for (int who = 0; who < 2; who++) {
                const aws_credentials *cr = who ? &b : &a;
                time_t t = i % 2 ? next_day : day;
                char *plain = sign_sample(cr, regions[i], t, NULL);
                char *cached = sign_sample(cr, regions[i], t, cache);
                char *again = sign_sample(cr, regions[i], t, cache);
                CHECK_STR(cached, plain);
                CHECK_STR(again, plain);
                free(plain);
                free(cached);
                free(again);
            }
        }
    }
    /* Same date/region/service, different secrets: different signatures. */
    char *sa = sign_sample(&a, "us-east-1", day, cache), *sb = sign_sample(&b, "us-east-1", day, cache);
    CHECK(strcmp(sa, sb) != 0, "two secrets gave one signature");
    free(sa);
    free(sb);
    sigv4_key_cache_free(cache);
    sigv4_key_cache_free(NULL);
}

static void check_err_clean(const char *err, const char *what)
{
    CHECK(err[0] != '\0', "%s: no error message", what);
    CHECK(strstr(err, SECRET) == NULL && strstr(err, "wJalrXUtnFEMI") == NULL, "%s: secret in error", what);
    CHECK(strstr(err, TOKEN) == NULL && strstr(err, "FQoGZXIv") == NULL, "%s: token in error", what);
}

static void test_errors_keep_secrets(void)
{
    aws_credentials no_id = {.access_key_id = "", .secret_access_key = SECRET, .session_token = TOKEN};
    aws_credentials ok = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET,
                          .session_token = TOKEN};
    http_request r;
    sample_request(&r);
    char err[512];

    sigv4_params p = {.creds = NULL, .region = "us-east-1", .service = "ec2", .now = 1440938160};
    err[0] = '\0';
    CHECK(sigv4_sign(&r, &p, NULL, NULL, err, sizeof err) == -1, "no creds must fail");
    check_err_clean(err, "no creds");

    p.creds = &no_id;
    err[0] = '\0';
    CHECK(sigv4_sign(&r, &p, NULL, NULL, err, sizeof err) == -1, "empty key id must fail");
    check_err_clean(err, "empty key id");

    p.creds = &ok;
    p.region = "";
    err[0] = '\0';
    CHECK(sigv4_presign(&r, &p, NULL, NULL, err, sizeof err) == -1, "no region must fail");
    check_err_clean(err, "no region");

    p.region = "us-east-1";
    p.expires = 604801;
    err[0] = '\0';
    CHECK(sigv4_presign(&r, &p, NULL, NULL, err, sizeof err) == -1, "8-day expiry must fail");
    check_err_clean(err, "expiry");
    CHECK(r.headers.len == 1 && strcmp(r.query, "") == 0, "failed signing changed the request");

    /* And a good signature carries neither secret in the Authorization header. */
    p.expires = 0;
    CHECK(sigv4_sign(&r, &p, NULL, NULL, err, sizeof err) == 0, "sign: %s", err);
    const char *auth = headers_get(&r.headers, "Authorization");
    CHECK(auth && !strstr(auth, SECRET) && !strstr(auth, TOKEN), "secret in Authorization");
    request_free(&r);
}

static void test_resign_replaces(void)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET,
                          .session_token = TOKEN};
    sigv4_params p = {.creds = &cr, .region = "us-east-1", .service = "ec2", .now = 1440938160};
    http_request r;
    sample_request(&r);
    char err[256], first[512];
    CHECK(sigv4_sign(&r, &p, NULL, NULL, err, sizeof err) == 0, "%s", err);
    snprintf(first, sizeof first, "%s", headers_get(&r.headers, "Authorization"));
    CHECK(sigv4_sign(&r, &p, NULL, NULL, err, sizeof err) == 0, "%s", err);
    int auths = 0, dates = 0, tokens = 0;
    for (size_t i = 0; i < r.headers.len; i++) {
        auths += strcasecmp(r.headers.items[i].name, "authorization") == 0;
        dates += strcasecmp(r.headers.items[i].name, "x-amz-date") == 0;
        tokens += strcasecmp(r.headers.items[i].name, "x-amz-security-token") == 0;
    }
    CHECK(auths == 1 && dates == 1 && tokens == 1, "re-signing duplicated headers (%d %d %d)",
          auths, dates, tokens);
    CHECK_STR(headers_get(&r.headers, "Authorization"), first);
    request_free(&r);
}

/* Canonical request of a request with this path under these params. */
static char *creq_for(const char *path, const char *query, sigv4_params *p, http_request *out)
{
    request_init(out);
    request_set(&out->host, "bucket.s3.amazonaws.com");
    request_set(&out->path, path);
    request_set(&out->query, query);
    buf creq = {0};
    sigv4_trace t = {&creq, NULL, NULL};
    char err[256];
    CHECK(sigv4_sign(out, p, NULL, &t, err, sizeof err) == 0, "%s", err);
    return buf_steal(&creq);
}

static void test_s3_rules(void)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET};
    sigv4_params p = {.creds = &cr, .region = "us-east-1", .service = "s3", .now = 1440938160,
                      .s3_rules = 1, .unsigned_payload = 1};
    http_request r;
    char *c = creq_for("/photos/my%20cat/../a%2Fb//x", "list-type=2&prefix=a%2Fb", &p, &r);
    const char *want =
        "GET\n/photos/my%20cat/../a%2Fb//x\nlist-type=2&prefix=a%2Fb\n"
        "host:bucket.s3.amazonaws.com\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD";
    CHECK_STR(c, want);
    CHECK_STR(headers_get(&r.headers, "X-Amz-Content-Sha256"), "UNSIGNED-PAYLOAD");
    free(c);
    request_free(&r);

    /* Any other service: normalized, and each segment encoded a second time. */
    p.s3_rules = 0;
    p.service = "execute-api";
    c = creq_for("/photos/my%20cat/../a%2Fb//x/", "", &p, &r);
    const char *prefix = "GET\n/photos/a%252Fb/x/\n\n";
    CHECK(strncmp(c, prefix, strlen(prefix)) == 0, "double encoding: %s", c);
    CHECK(headers_get(&r.headers, "X-Amz-Content-Sha256") == NULL, "sha256 header outside S3");
    free(c);
    request_free(&r);
}

static void test_normalize(void)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET};
    sigv4_params p = {.creds = &cr, .region = "us-east-1", .service = "ec2", .now = 1440938160};
    const char *cases[][2] = {
        {"/a/./b/../../c/", "/c/"}, {"/..", "/"}, {"/a/..", "/"}, {"", "/"},
        {"/a/b/..", "/a"}, {"/a/b/../", "/a/"}, {"/../../a", "/a"}, {"///a//b///", "/a/b/"},
        {"/a.b/..c/...", "/a.b/..c/..."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_request r;
        char *c = creq_for(cases[i][0], "", &p, &r);
        char *nl = strchr(c + 4, '\n');
        if (nl) *nl = '\0';
        CHECK(strcmp(c + 4, cases[i][1]) == 0, "normalize \"%s\": got \"%s\", want \"%s\"",
              cases[i][0], c + 4, cases[i][1]);
        free(c);
        request_free(&r);
    }
}

static void test_canonical_query(void)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET};
    sigv4_params p = {.creds = &cr, .region = "us-east-1", .service = "ec2", .now = 1440938160};
    http_request r;
    /* Same name: sorted by value; no '=' means an empty value; escapes are
     * decoded and made again (lower-case hex, '~', '+', raw bytes). */
    char *c = creq_for("/", "b=2&a=2&&a=1&a&t=%7e&s=%2f+x&u=caf\xc3\xa9", &p, &r);
    const char *want = "GET\n/\na=&a=1&a=2&b=2&s=%2F%2Bx&t=~&u=caf%C3%A9\n";
    CHECK(strncmp(c, want, strlen(want)) == 0, "canonical query: %s", c);
    free(c);
    request_free(&r);
}

static void test_presign_token_after(void)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET,
                          .session_token = "tok/en+="};
    sigv4_params p = {.creds = &cr, .region = "us-east-1", .service = "s3", .now = 1440938160,
                      .s3_rules = 1, .unsigned_payload = 1, .omit_session_token = 1,
                      .expires = 60};
    http_request r;
    request_init(&r);
    request_set(&r.host, "bucket.s3.amazonaws.com");
    request_set(&r.path, "/key");
    buf creq = {0};
    sigv4_trace t = {&creq, NULL, NULL};
    char err[256];
    CHECK(sigv4_presign(&r, &p, NULL, &t, err, sizeof err) == 0, "%s", err);
    CHECK(strstr(buf_cstr(&creq), "Security-Token") == NULL, "omitted token was signed");
    const char *sig = strstr(r.query, "&X-Amz-Signature="), *tok = strstr(r.query, "&X-Amz-Security-Token=tok%2Fen%2B%3D");
    CHECK(sig && tok && tok > sig, "token must follow the signature: %s", r.query);
    CHECK(strstr(r.query, "X-Amz-Expires=60&") != NULL, "expires: %s", r.query);
    CHECK(headers_get(&r.headers, "Authorization") == NULL, "presign added Authorization");
    buf_free(&creq);
    request_free(&r);
}

int main(void)
{
    run_suite();
    test_sha256();
    test_cache();
    test_errors_keep_secrets();
    test_resign_replaces();
    test_s3_rules();
    test_canonical_query();
    test_normalize();
    test_presign_token_after();
    return test_summary();
}
