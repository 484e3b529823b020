/* creds_sts.c -- the credential providers that speak HTTP (see creds_internal.h):
 *
 *   STS AssumeRole               query protocol POST, SigV4-signed, XML answer
 *   STS AssumeRoleWithWebIdentity the same, unsigned, with a token from a file
 *   ECS container credentials    GET on AWS_CONTAINER_CREDENTIALS_*_URI, JSON
 *   EC2 instance metadata        IMDSv2: PUT a session token, then two GETs, JSON
 *
 * All of them use http_send_blocking: they run before any engine exists.
 * Response bodies, tokens and the parsers' own buffers are wiped when done.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "creds_internal.h"
#include "http.h"
#include "request.h"
#include "sigv4.h"
#include "util.h"
#include "xml_scan.h"

#define STS_VERSION "2011-06-15"
#define IMDS_TOKEN_TTL "21600"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- time ---- */

time_t creds_parse_time(const char *s)
{
    struct tm tm = {0};
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return -1;
    const char *p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++) {}
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5) return -1;
        offset = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p) return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : t - offset;
}

/* ---- requests from URLs ---- */

/* Fills method, scheme, host, path and query of r from an http(s) URL. */
static int request_from_url(http_request *r, const char *method, const char *url, char *err,
                            size_t errlen)
{
    const char *sep = strstr(url, "://");
    size_t slen = sep ? (size_t)(sep - url) : 0;
    int https = slen == 5 && strncasecmp(url, "https", 5) == 0;
    if (!sep || !(https || (slen == 4 && strncasecmp(url, "http", 4) == 0))) {
        snprintf(err, errlen, "'%s' is not an http(s) URL", url);
        return -1;
    }
    const char *host = sep + 3;
    size_t hlen = strcspn(host, "/?#");
    if (hlen == 0) {
        snprintf(err, errlen, "'%s' has no host", url);
        return -1;
    }
    const char *rest = host + hlen;
    size_t plen = *rest == '/' ? strcspn(rest, "?#") : 0;
    const char *q = rest + plen;
    char *h = xstrndup(host, hlen), *path = plen ? xstrndup(rest, plen) : xstrdup("/");
    char *query = *q == '?' ? xstrndup(q + 1, strcspn(q + 1, "#")) : xstrdup("");
    request_set(&r->method, method);
    request_set(&r->scheme, https ? "https" : "http");
    request_set(&r->host, h);
    request_set(&r->path, path);
    request_set(&r->query, query);
    free(h);
    free(path);
    free(query);
    return 0;
}

/* Sends r; 0 with *resp filled (whatever the status), or -1 with
 * "<what>: <transport error>". */
static int send_request(const http_request *r, http_response *resp, long timeout_ms, const char *what,
                        char *err, size_t errlen)
{
    char msg[256] = "";
    response_init(resp);
    http_error_kind kind = http_send_blocking(r, resp, timeout_ms, msg, sizeof msg);
    if (kind == HTTP_OK) return 0;
    response_free(resp);
    snprintf(err, errlen, "%s: %s", what, msg[0] ? msg : http_error_name(kind));
    return -1;
}

/* ---- JSON credentials (ECS and IMDS) ---- */

static void json_wipe(cJSON *j)
{
    for (; j; j = j->next) {
        if (j->valuestring) secure_zero(j->valuestring, strlen(j->valuestring));
        json_wipe(j->child);
    }
}

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} into out. */
static int creds_from_json(const http_response *resp, aws_credentials *out, const char *what,
                           char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
    int rc = -1;
    const char *code = json_str(j, "Code");
    const char *ak = json_str(j, "AccessKeyId"), *sk = json_str(j, "SecretAccessKey");
    const char *exp = json_str(j, "Expiration");
    time_t expiration = exp ? creds_parse_time(exp) : 0;
    if (!cJSON_IsObject(j))
        snprintf(err, errlen, "%s: response is not a JSON object", what);
    else if (code && strcmp(code, "Success") != 0)
        snprintf(err, errlen, "%s: Code %.64s", what, code);
    else if (!ak || !sk)
        snprintf(err, errlen, "%s: response lacks AccessKeyId or SecretAccessKey", what);
    else if (expiration < 0)
        snprintf(err, errlen, "%s: unreadable Expiration '%.40s'", what, exp);
    else {
        const char *token = json_str(j, "Token");
        out->access_key_id = xstrdup(ak);
        out->secret_access_key = xstrdup(sk);
        out->session_token = token ? xstrdup(token) : NULL;
        out->expiration = expiration;
        rc = 0;
    }
    json_wipe(j);
    cJSON_Delete(j);
    return rc;
}

/* ---- ECS container credentials ---- */

/* FULL_URI must be https or point at this machine (or the ECS / EKS agents). */
static int container_host_allowed(const http_request *r)
{
    if (strcmp(r->scheme, "https") == 0) return 1;
    char host[256];
    const char *h = r->host;
    size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
    if (n >= sizeof host) return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    static const char *allowed[] = {"localhost", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
                                    "[::1]"};
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (strcasecmp(host, allowed[i]) == 0) return 1;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* The Authorization value: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN; empty when neither. */
static int container_auth(buf *auth, char *err, size_t errlen)
{
    const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (file) {
        if (read_file(file, auth, 1) != 0) {
            snprintf(err, errlen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
                     strerror(errno));
            return -1;
        }
        creds_trim_secret(auth);
    } else if (value) {
        creds_buf_append_secret(auth, value, strlen(value));
    }
    if (auth->len && (memchr(auth->data, '\r', auth->len) || memchr(auth->data, '\n', auth->len))) {
        snprintf(err, errlen, "the container authorization token contains a line break");
        return -1;
    }
    return 0;
}

int creds_from_container(creds_ctx *ctx, aws_credentials *out, char *err, size_t errlen)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (err && errlen) err[0] = '\0';
    if (!rel && !full) return CREDS_NONE;

    buf url = {0}, auth = {0};
    if (rel) buf_printf(&url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    else buf_puts(&url, full);
    http_request r;
    http_response resp;
    request_init(&r);
    int rc = CREDS_ERROR;
    char msg[256];
    if (request_from_url(&r, "GET", buf_cstr(&url), msg, sizeof msg) != 0) {
        snprintf(err, errlen, "container credentials: %s", msg);
    } else if (!rel && !container_host_allowed(&r)) {
        snprintf(err, errlen, "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI host %s is "
                 "not allowed (use https or a loopback address)", r.host);
    } else if (container_auth(&auth, err, errlen) == 0) {
        if (auth.len) headers_set(&r.headers, "Authorization", auth.data);
        headers_set(&r.headers, "Accept", "application/json");
        char what[300];
        snprintf(what, sizeof what, "container credentials from %s://%s%s", r.scheme, r.host, r.path);
        if (send_request(&r, &resp, ctx->timeout_ms, what, err, errlen) == 0) {
            if (resp.status != 200)
                snprintf(err, errlen, "%s: HTTP %ld", what, resp.status);
            else if (creds_from_json(&resp, out, what, err, errlen) == 0)
                rc = CREDS_FOUND;
            response_free(&resp);
        }
    }
    if (rc == CREDS_FOUND) out->source = xstrdup("container");
    buf_wipe(&auth);
    buf_free(&url);
    request_free(&r);
    return rc;
}

/* ---- EC2 instance metadata (IMDSv2) ---- */

/* One IMDS call: 0 with the 200 body in *body (caller wipes), or -1 with a
 * note. */
static int imds_call(const char *base, const char *method, const char *path, const char *token,
                     long timeout_ms, buf *body, char *note, size_t notelen)
{
    buf url = {0};
    buf_printf(&url, "%s%s", base, path);
    http_request r;
    http_response resp;
    request_init(&r);
    int rc = -1;
    char msg[256];
    if (request_from_url(&r, method, buf_cstr(&url), msg, sizeof msg) != 0) {
        snprintf(note, notelen, "%s", msg);
        goto done;
    }
    if (token) headers_set(&r.headers, "X-aws-ec2-metadata-token", token);
    else headers_set(&r.headers, "X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL);
    if (send_request(&r, &resp, timeout_ms, base, note, notelen) != 0) goto done;
    if (resp.status == 200) {
        *body = resp.body;
        memset(&resp.body, 0, sizeof resp.body);
        rc = 0;
    } else {
        snprintf(note, notelen, "%s %s: HTTP %ld", method, path, resp.status);
    }
    response_free(&resp);
done:
    request_free(&r);
    buf_free(&url);
    return rc;
}

static long imds_timeout_ms(void)
{
    const char *t = env("AWS_METADATA_SERVICE_TIMEOUT");
    long s = t ? strtol(t, NULL, 10) : 0;
    return s > 0 ? s * 1000 : 1000;
}

int creds_from_imds(creds_ctx *ctx, aws_credentials *out, char *note, size_t notelen)
{
    (void)ctx;
    const char *disabled = env("AWS_EC2_METADATA_DISABLED");
    if (note && notelen) note[0] = '\0';
    if (disabled && strcasecmp(disabled, "true") == 0) {
        snprintf(note, notelen, "disabled by AWS_EC2_METADATA_DISABLED");
        return CREDS_NONE;
    }
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *set = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[512];
    snprintf(base, sizeof base, "%s",
             set ? set : mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]"
                                                               : "http://169.254.169.254");
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') base[--n] = '\0';

    long timeout = imds_timeout_ms();
    const char *creds_path = "/latest/meta-data/iam/security-credentials/";
    buf token = {0}, roles = {0}, path = {0}, json = {0};
    int rc = CREDS_NONE;
    if (imds_call(base, "PUT", "/latest/api/token", NULL, timeout, &token, note, notelen) != 0) goto done;
    creds_trim_secret(&token);
    if (imds_call(base, "GET", creds_path, buf_cstr(&token), timeout, &roles, note, notelen) != 0)
        goto done;
    size_t rlen = roles.len ? strcspn(roles.data, "\r\n") : 0;
    if (rlen == 0) {
        snprintf(note, notelen, "no IAM role attached to this instance");
        goto done;
    }
    buf_puts(&path, creds_path);
    uri_encode(&path, roles.data, rlen, 0);
    if (imds_call(base, "GET", path.data, buf_cstr(&token), timeout, &json, note, notelen) != 0)
        goto done;
    http_response resp = {.status = 200, .body = json};
    if (creds_from_json(&resp, out, "instance metadata", note, notelen) == 0) {
        buf src = {0};
        buf_printf(&src, "instance-metadata %.*s", (int)rlen, roles.data);
        out->source = buf_steal(&src);
        rc = CREDS_FOUND;
    }
done:
    buf_wipe(&token);
    buf_free(&roles);
    buf_free(&path);
    buf_wipe(&json);
    return rc;
}

/* ---- STS ---- */

/* What we read from an STS answer: the Credentials element of a success or
 * the Error element of a failure. */
enum { F_AK, F_SK, F_TOKEN, F_EXP, F_CODE, F_MESSAGE, F_COUNT };
typedef struct sts_answer {
    int in_credentials, in_error;
    buf text;                    /* character data of the current element */
    char *field[F_COUNT];
} sts_answer;

/* Is name[0..len) the element want, whatever its namespace prefix? */
static int element_is(const char *name, size_t len, const char *want)
{
    const char *colon = memrchr(name, ':', len);
    if (colon) len -= (size_t)(colon + 1 - name), name = colon + 1;
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

static void wipe_text(buf *b)
{
    if (b->data) secure_zero(b->data, b->len);
    buf_clear(b);
}

static int xml_start(void *ud, const char *name, size_t len, const xml_attr *attrs, size_t nattrs)
{
    (void)attrs;
    (void)nattrs;
    sts_answer *a = ud;
    if (element_is(name, len, "Credentials")) a->in_credentials = 1;
    if (element_is(name, len, "Error")) a->in_error = 1;
    wipe_text(&a->text);
    return 0;
}

static int xml_end(void *ud, const char *name, size_t len)
{
    static const char *names[F_COUNT] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                         "Expiration", "Code", "Message"};
    sts_answer *a = ud;
    for (int i = 0; i < F_COUNT; i++) {
        int scope = i < F_CODE ? a->in_credentials : a->in_error;
        if (!scope || !element_is(name, len, names[i])) continue;
        const char *s = buf_cstr(&a->text), *e = s + a->text.len;
        while (s < e && isspace((unsigned char)*s)) s++;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        free_secret(a->field[i]);
        a->field[i] = xstrndup(s, (size_t)(e - s));
    }
    if (element_is(name, len, "Credentials")) a->in_credentials = 0;
    if (element_is(name, len, "Error")) a->in_error = 0;
    wipe_text(&a->text);
    return 0;
}

static int xml_text(void *ud, const char *s, size_t len)
{
    sts_answer *a = ud;
    creds_buf_append_secret(&a->text, s, len);
    return 0;
}

/* The reader hands text over where it lies in the body (which the caller
 * wipes), or from its scratch buffer, which xml_scan_free wipes. */
static void sts_parse(const buf *body, sts_answer *a)
{
    static const xml_events events = {xml_start, xml_text, xml_end};
    xml_scanner scan = {0};
    xml_scan(&scan, body->data ? body->data : "", body->len, &events, a);
    xml_scan_free(&scan);
    buf_wipe(&a->text);
}

static void sts_answer_free(sts_answer *a)
{
    for (int i = 0; i < F_COUNT; i++) free_secret(a->field[i]);
    buf_wipe(&a->text);
}

/* Appends "&name=value" (form encoding) to a buffer reserved big enough
 * beforehand, so a secret value is never left behind by a realloc. */
static void form_add(buf *f, const char *name, const char *value)
{
    if (f->len) buf_putc(f, '&');
    buf_puts(f, name);
    buf_putc(f, '=');
    uri_encode(f, value, strlen(value), 0);
}

/* POSTs the form to STS (signed with signer unless NULL) and reads the
 * credentials from the answer. */
static int sts_call(creds_ctx *ctx, const char *action, const char *role_arn, const buf *form,
                    const aws_credentials *signer, aws_credentials *out, char *err, size_t errlen)
{
    const char *region = creds_ctx_region(ctx);
    char *endpoint = creds_sts_endpoint(ctx->opts->sts_endpoint, region);
    char what[512], msg[256];
    snprintf(what, sizeof what, "%s %s failed", action, role_arn);
    http_request r;
    http_response resp;
    sts_answer a = {0};
    int rc = -1;
    request_init(&r);
    if (request_from_url(&r, "POST", endpoint, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s: STS endpoint %s", what, msg);
        goto done;
    }
    headers_set(&r.headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    buf_append(&r.body, form->data, form->len);
    if (signer) {
        sigv4_params sp = {.creds = signer, .region = region, .service = "sts", .now = time(NULL)};
        if (sigv4_sign(&r, &sp, NULL, NULL, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s: cannot sign the request: %s", what, msg);
            goto done;
        }
    }
    if (send_request(&r, &resp, ctx->timeout_ms, what, err, errlen) != 0) goto done;
    sts_parse(&resp.body, &a);
    time_t exp = a.field[F_EXP] ? creds_parse_time(a.field[F_EXP]) : 0;
    if (resp.status == 200 && a.field[F_AK] && a.field[F_SK] && exp >= 0) {
        out->access_key_id = a.field[F_AK];
        out->secret_access_key = a.field[F_SK];
        out->session_token = a.field[F_TOKEN];
        out->expiration = exp;
        a.field[F_AK] = a.field[F_SK] = a.field[F_TOKEN] = NULL;
        buf src = {0};
        buf_printf(&src, "%s %s", strcmp(action, "AssumeRole") == 0 ? "assume-role" : "web-identity",
                   role_arn);
        out->source = buf_steal(&src);
        rc = 0;
    } else if (a.field[F_CODE]) {
        snprintf(err, errlen, "%s: %s: %s", what, a.field[F_CODE],
                 a.field[F_MESSAGE] ? a.field[F_MESSAGE] : "(no message)");
    } else if (resp.status == 200) {
        snprintf(err, errlen, "%s: the answer from %s holds no usable credentials", what, endpoint);
    } else {
        snprintf(err, errlen, "%s: HTTP %ld from %s", what, resp.status, endpoint);
    }
    response_free(&resp);
done:
    sts_answer_free(&a);
    request_free(&r);
    free(endpoint);
    return rc;
}

static size_t form_room(const char *const *values, size_t n)
{
    size_t room = 256;
    for (size_t i = 0; i < n; i++) room += values[i] ? 3 * strlen(values[i]) + 32 : 0;
    return room;
}

int creds_sts_assume_role(creds_ctx *ctx, const aws_credentials *base, const sts_role *role,
                          aws_credentials *out, char *err, size_t errlen)
{
    char duration[24];
    snprintf(duration, sizeof duration, "%d", role->duration_seconds);
    const char *vals[] = {role->role_arn, role->session_name, role->external_id};
    buf form = {0};
    buf_reserve(&form, form_room(vals, 3));
    form_add(&form, "Action", "AssumeRole");
    form_add(&form, "Version", STS_VERSION);
    form_add(&form, "RoleArn", role->role_arn);
    form_add(&form, "RoleSessionName", role->session_name);
    if (role->external_id) form_add(&form, "ExternalId", role->external_id);
    if (role->duration_seconds > 0) form_add(&form, "DurationSeconds", duration);
    int rc = sts_call(ctx, "AssumeRole", role->role_arn, &form, base, out, err, errlen);
    buf_wipe(&form);
    return rc;
}

int creds_sts_web_identity(creds_ctx *ctx, const char *token_file, const sts_role *role,
                           aws_credentials *out, char *err, size_t errlen)
{
    buf token = {0};
    if (read_file(token_file, &token, 1) != 0) {
        snprintf(err, errlen, "AssumeRoleWithWebIdentity %s failed: cannot read token file %s: %s",
                 role->role_arn, token_file, strerror(errno));
        buf_wipe(&token);
        return -1;
    }
    creds_trim_secret(&token);
    if (token.len == 0) {
        snprintf(err, errlen, "AssumeRoleWithWebIdentity %s failed: token file %s is empty",
                 role->role_arn, token_file);
        buf_wipe(&token);
        return -1;
    }
    char duration[24];
    snprintf(duration, sizeof duration, "%d", role->duration_seconds);
    const char *vals[] = {role->role_arn, role->session_name, token.data};
    buf form = {0};
    buf_reserve(&form, form_room(vals, 3));
    form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    form_add(&form, "Version", STS_VERSION);
    form_add(&form, "RoleArn", role->role_arn);
    form_add(&form, "RoleSessionName", role->session_name);
    form_add(&form, "WebIdentityToken", token.data);
    if (role->duration_seconds > 0) form_add(&form, "DurationSeconds", duration);
    int rc = sts_call(ctx, "AssumeRoleWithWebIdentity", role->role_arn, &form, NULL, out, err, errlen);
    buf_wipe(&token);
    buf_wipe(&form);
    return rc;
}
