/* creds.c -- the credentials provider chain and its cache (see creds.h).
 *
 * creds_get() walks the chain in the AWS CLI's order -- environment, profile,
 * web identity from the environment, ECS container, EC2 instance metadata --
 * stops at the first source that is configured, then assumes --role-arn /
 * AWS_ROLE_ARN on top when asked. The result is cached until five minutes
 * before it expires. The profile provider lives in creds_profile.c, the ones
 * that speak HTTP in creds_sts.c; creds_internal.h is their shared contract.
 */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "creds_internal.h"

/* A provider: the options (strings copied, so the caller's may go away) and
 * the cached credentials. `have` says cur holds credentials; `stale` is set by
 * creds_invalidate and forbids serving cur again. */
struct creds_provider {
    creds_options opts;          /* string fields point at the copies below */
    char *profile, *role_arn, *session_name, *external_id, *region, *sts_endpoint;
    aws_credentials cur;
    int have;
    int stale;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* getenv, treating an empty value as unset (as the AWS CLI does). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void creds_clear(aws_credentials *c)
{
    free(c->access_key_id);
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    free(c->source);
    memset(c, 0, sizeof *c);
}

void creds_copy(aws_credentials *dst, const aws_credentials *src)
{
    dst->access_key_id = dup_or_null(src->access_key_id);
    dst->secret_access_key = dup_or_null(src->secret_access_key);
    dst->session_token = dup_or_null(src->session_token);
    dst->expiration = src->expiration;
    dst->source = dup_or_null(src->source);
}

/* ---- the environment provider ---- */

int creds_from_env(aws_credentials *out, char *err, size_t errlen)
{
    const char *ak = env("AWS_ACCESS_KEY_ID");
    const char *sk = env("AWS_SECRET_ACCESS_KEY");
    const char *token = env("AWS_SESSION_TOKEN");
    if (!token) token = env("AWS_SECURITY_TOKEN");   /* the legacy name */
    if (err && errlen) err[0] = '\0';
    if (!ak) return CREDS_NONE;
    if (!sk) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
        return CREDS_ERROR;
    }
    out->access_key_id = xstrdup(ak);
    out->secret_access_key = xstrdup(sk);
    out->session_token = dup_or_null(token);
    out->expiration = 0;
    out->source = xstrdup("env");
    return CREDS_FOUND;
}

/* ---- names, regions, endpoints ---- */

const char *creds_profile_name(const char *opt, int *is_explicit)
{
    const char *name = opt && *opt ? opt : env("AWS_PROFILE");
    if (!name) name = env("AWS_DEFAULT_PROFILE");
    *is_explicit = name != NULL;
    return name ? name : "default";
}

const char *creds_ctx_region(creds_ctx *ctx)
{
    if (ctx->region) return ctx->region;
    const char *r = ctx->opts->region && *ctx->opts->region ? ctx->opts->region : env("AWS_REGION");
    if (!r) r = env("AWS_DEFAULT_REGION");
    if (!r) {
        char ignored[256];
        aws_config *cfg = creds_ctx_config(ctx, ignored, sizeof ignored);
        if (cfg) r = aws_config_get(cfg, ctx->profile, "region");
    }
    ctx->region = xstrdup(r ? r : DEFAULT_REGION);
    return ctx->region;
}

static int env_true(const char *name)
{
    const char *v = env(name);
    return v && strcasecmp(v, "true") == 0;
}

char *creds_sts_endpoint(const char *override, const char *region)
{
    if (override && *override) return xstrdup(override);
    if (!env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
        const char *e = env("AWS_ENDPOINT_URL_STS");
        if (!e) e = env("AWS_ENDPOINT_URL");
        if (e) return xstrdup(e);
    }
    buf u = {0};
    buf_printf(&u, "https://sts.%s.amazonaws.com%s", region,
               strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    return buf_steal(&u);
}

void creds_default_session_name(time_t now, char *out, size_t outlen)
{
    snprintf(out, outlen, "awstopo-%lld", (long long)now);
}

/* ---- provider object ---- */

creds_provider *creds_provider_new(const creds_options *opts)
{
    creds_provider *p = xcalloc(1, sizeof *p);
    creds_options none = {0};
    if (!opts) opts = &none;
    p->opts.profile = p->profile = dup_or_null(opts->profile);
    p->opts.role_arn = p->role_arn = dup_or_null(opts->role_arn);
    p->opts.session_name = p->session_name = dup_or_null(opts->session_name);
    p->opts.external_id = p->external_id = dup_or_null(opts->external_id);
    p->opts.region = p->region = dup_or_null(opts->region);
    p->opts.sts_endpoint = p->sts_endpoint = dup_or_null(opts->sts_endpoint);
    p->opts.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    return p;
}

void creds_provider_free(creds_provider *p)
{
    if (!p) return;
    creds_clear(&p->cur);
    free(p->profile);
    free(p->role_arn);
    free(p->session_name);
    free(p->external_id);
    free(p->region);
    free(p->sts_endpoint);
    free(p);
}

void creds_invalidate(creds_provider *p)
{
    p->stale = 1;
}

/* ---- the chain ---- */

/* Runs the sources in order until one is configured. Appends what was tried
 * to `tried` for the "nothing found" message. */
static int run_chain(creds_ctx *ctx, aws_credentials *out, buf *tried, char *err, size_t errlen)
{
    int rc = CREDS_NONE;
    char note[512] = "";

    /* An explicit --profile takes the environment keys out of the chain,
     * exactly as the AWS CLI does; AWS_PROFILE does not. */
    if (!(ctx->opts->profile && *ctx->opts->profile)) {
        rc = creds_from_env(out, err, errlen);
        if (rc != CREDS_NONE) return rc;
        buf_puts(tried, "environment, ");
    }

    rc = creds_from_profile(ctx, out, err, errlen);
    if (rc != CREDS_NONE) return rc;
    buf_printf(tried, "profile '%s' (%s, %s), ", ctx->profile, ctx->cfg->credentials.shown,
               ctx->cfg->config.shown);

    const char *token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    if (token_file) {
        const char *arn = env("AWS_ROLE_ARN");
        if (!arn) {
            snprintf(err, errlen, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
            return CREDS_ERROR;
        }
        char session[64];
        creds_default_session_name(ctx->now, session, sizeof session);
        const char *name = env("AWS_ROLE_SESSION_NAME");
        sts_role role = {.role_arn = arn, .session_name = name ? name : session};
        return creds_sts_web_identity(ctx, token_file, &role, out, err, errlen) == 0 ? CREDS_FOUND
                                                                                    : CREDS_ERROR;
    }
    buf_puts(tried, "web identity, ");

    rc = creds_from_container(ctx, out, err, errlen);
    if (rc != CREDS_NONE) return rc;
    buf_puts(tried, "container, ");

    rc = creds_from_imds(ctx, out, note, sizeof note);
    if (rc == CREDS_FOUND) return rc;
    buf_puts(tried, "instance metadata");
    if (note[0]) buf_printf(tried, " (%s)", note);
    snprintf(err, errlen, "no AWS credentials found: tried %s", buf_cstr(tried));
    return CREDS_ERROR;
}

/* Assumes --role-arn (or AWS_ROLE_ARN, unless web identity owns it) on top of
 * *c, replacing it. */
static int assume_on_top(creds_ctx *ctx, aws_credentials *c, char *err, size_t errlen)
{
    const char *arn = ctx->opts->role_arn && *ctx->opts->role_arn ? ctx->opts->role_arn : NULL;
    if (!arn && !env("AWS_WEB_IDENTITY_TOKEN_FILE")) arn = env("AWS_ROLE_ARN");
    if (!arn) return 0;

    char session[64];
    creds_default_session_name(ctx->now, session, sizeof session);
    sts_role role = {
        .role_arn = arn,
        .session_name = ctx->opts->session_name && *ctx->opts->session_name ? ctx->opts->session_name
                                                                              : session,
        .external_id = ctx->opts->external_id && *ctx->opts->external_id ? ctx->opts->external_id
                                                                           : NULL,
    };
    aws_credentials assumed = {0};
    if (creds_sts_assume_role(ctx, c, &role, &assumed, err, errlen) != 0) return -1;
    creds_clear(c);
    *c = assumed;
    return 0;
}

static int resolve(creds_provider *p, time_t now, aws_credentials *out, char *err, size_t errlen)
{
    creds_ctx ctx = {.opts = &p->opts, .now = now, .timeout_ms = p->opts.timeout_ms};
    ctx.profile = creds_profile_name(p->opts.profile, &ctx.profile_explicit);
    buf tried = {0};
    int rc = run_chain(&ctx, out, &tried, err, errlen) == CREDS_FOUND ? 0 : -1;
    if (rc == 0 && assume_on_top(&ctx, out, err, errlen) != 0) rc = -1;
    if (rc != 0) creds_clear(out);
    buf_free(&tried);
    if (ctx.cfg) {
        aws_config_free(ctx.cfg);
        free(ctx.cfg);
    }
    free(ctx.region);
    return rc;
}

/* Cached credentials can be served when they do not expire within the margin. */
static int fresh_enough(const aws_credentials *c, time_t now, time_t margin)
{
    return c->expiration == 0 || now < c->expiration - margin;
}

int creds_get(creds_provider *p, const aws_credentials **out, char *err, size_t errlen)
{
    time_t now = time(NULL);
    if (err && errlen) err[0] = '\0';
    if (p->have && !p->stale && fresh_enough(&p->cur, now, CREDS_REFRESH_MARGIN)) {
        *out = &p->cur;
        return 0;
    }
    aws_credentials fresh = {0};
    if (resolve(p, now, &fresh, err, errlen) != 0) {
        /* A failed refresh keeps serving credentials that have not expired
         * yet, unless the caller told us they are bad. */
        if (p->have && !p->stale && fresh_enough(&p->cur, now, 0)) {
            *out = &p->cur;
            return 0;
        }
        *out = NULL;
        return -1;
    }
    creds_clear(&p->cur);
    p->cur = fresh;
    p->have = 1;
    p->stale = 0;
    *out = &p->cur;
    return 0;
}

char *creds_config_value(const char *profile, const char *key)
{
    int is_explicit;
    const char *name = creds_profile_name(profile, &is_explicit);
    aws_config cfg;
    char err[256];
    if (aws_config_load(&cfg, err, sizeof err) != 0) {
        aws_config_free(&cfg);   /* a failed load keeps what it had read */
        return NULL;
    }
    const char *v = aws_config_get(&cfg, name, key);
    char *copy = dup_or_null(v);
    aws_config_free(&cfg);
    return copy;
}
