/* creds_profile.c -- ~/.aws/credentials and ~/.aws/config, and the profile
 * provider of the credentials chain (see creds_internal.h).
 *
 * The files are INI as Python's configparser reads them for botocore: full-line
 * comments (# or ;), "key = value" or "key: value", keys case-insensitive,
 * indented lines continuing the previous value, no inline comments. In the
 * config file a profile is "[profile name]" (or "[default]"); other sections
 * ("[sso-session x]", "[services x]") are not profiles. In the credentials
 * file the section name is the profile name.
 *
 * A profile yields, in botocore's order: role_arn + web_identity_token_file
 * (AssumeRoleWithWebIdentity), role_arn + source_profile or credential_source
 * (AssumeRole on top of other credentials, chains followed and loops
 * detected), or static keys (credentials file first, then config file).
 */
#include <errno.h>
#include <ctype.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "creds_internal.h"
#include "util.h"

/* ---- secret-safe buffers and files ---- */

void creds_buf_append_secret(buf *b, const void *p, size_t n)
{
    buf_reserve_secret(b, n);
    buf_append(b, p, n);
}

void creds_trim_secret(buf *b)
{
    while (b->len && isspace((unsigned char)b->data[b->len - 1])) b->data[--b->len] = '\0';
}

/* ---- INI ---- */

static char *trimmed_dup(const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    return xstrndup(s, (size_t)(e - s));
}

/* The profile a section header names, or NULL when it is not a profile. */
static char *profile_of_section(const char *header, int is_config)
{
    if (!is_config || strcmp(header, "default") == 0) return xstrdup(header);
    if (strncmp(header, "profile", 7) != 0 || !isspace((unsigned char)header[7])) return NULL;
    const char *s = header + 8, *e = header + strlen(header);
    while (*s && isspace((unsigned char)*s)) s++;
    if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) s++, e--;
    return s < e ? trimmed_dup(s, e) : NULL;
}

static size_t section_index(ini_file *f, char *name)   /* takes name */
{
    for (size_t i = 0; i < f->len; i++) {
        if (strcmp(f->sections[i].name, name) == 0) {
            free(name);
            return i;
        }
    }
    if (f->len == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->sections = xrealloc(f->sections, f->cap * sizeof *f->sections);
    }
    memset(&f->sections[f->len], 0, sizeof f->sections[0]);
    f->sections[f->len].name = name;
    return f->len++;
}

/* Sets key (takes key and value); a repeated key replaces the earlier value. */
static size_t section_set(ini_section *s, char *key, char *value)
{
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->items[i].key, key) == 0) {
            free(key);
            free_secret(s->items[i].value);
            s->items[i].value = value;
            return i;
        }
    }
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->items = xrealloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->len].key = key;
    s->items[s->len].value = value;
    return s->len++;
}

static void append_continuation(ini_entry *e, const char *s, const char *end)
{
    char *more = trimmed_dup(s, end);
    buf v = {0};
    buf_reserve(&v, strlen(e->value) + strlen(more) + 2);
    buf_puts(&v, e->value);
    buf_putc(&v, '\n');
    buf_puts(&v, more);
    free_secret(more);
    free_secret(e->value);
    e->value = buf_steal(&v);
}

int ini_parse(ini_file *f, const char *text, size_t len, int is_config, char *err, size_t errlen)
{
    const size_t NONE = SIZE_MAX;
    size_t sec = NONE, entry = NONE;   /* current profile section, last key (continuations) */
    int in_section = 0;                /* inside some section, maybe not a profile one */
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *s = p;
        p = nl ? nl + 1 : end;
        int indented = s < le && (*s == ' ' || *s == '\t');
        while (s < le && isspace((unsigned char)*s)) s++;
        const char *e = le;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        if (s == e || *s == '#' || *s == ';') continue;

        if (indented && entry != NONE) {
            append_continuation(&f->sections[sec].items[entry], s, e);
            continue;
        }
        entry = NONE;
        if (*s == '[') {
            const char *close = e - 1;
            while (close > s && *close != ']') close--;
            if (close == s) {
                snprintf(err, errlen, "%s line %d: section header without ']'", f->shown, line);
                return -1;
            }
            char *header = trimmed_dup(s + 1, close);
            char *name = profile_of_section(header, is_config);
            free(header);
            sec = name ? section_index(f, name) : NONE;
            in_section = 1;
            continue;
        }
        const char *delim = s;
        while (delim < e && *delim != '=' && *delim != ':') delim++;
        if (delim == e) {
            snprintf(err, errlen, "%s line %d: expected 'key = value' or '[section]'", f->shown, line);
            return -1;
        }
        if (!in_section) {
            snprintf(err, errlen, "%s line %d: setting outside any [section]", f->shown, line);
            return -1;
        }
        if (sec == NONE) continue;
        char *key = trimmed_dup(s, delim);
        for (char *k = key; *k; k++) *k = (char)tolower((unsigned char)*k);
        entry = section_set(&f->sections[sec], key, trimmed_dup(delim + 1, e));
    }
    return 0;
}

void ini_free(ini_file *f)
{
    for (size_t i = 0; i < f->len; i++) {
        ini_section *s = &f->sections[i];
        for (size_t j = 0; j < s->len; j++) {
            free(s->items[j].key);
            free_secret(s->items[j].value);
        }
        free(s->items);
        free(s->name);
    }
    free(f->sections);
    free(f->path);
    free(f->shown);
    memset(f, 0, sizeof *f);
}

const ini_section *ini_find(const ini_file *f, const char *name)
{
    for (size_t i = 0; i < f->len; i++)
        if (strcmp(f->sections[i].name, name) == 0) return &f->sections[i];
    return NULL;
}

const char *ini_get(const ini_section *s, const char *key)
{
    if (!s) return NULL;
    for (size_t i = 0; i < s->len; i++)
        if (strcmp(s->items[i].key, key) == 0) return s->items[i].value[0] ? s->items[i].value : NULL;
    return NULL;
}

/* ---- the two files ---- */

static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

/* path with a leading "~" expanded; caller frees. */
static char *expand_home(const char *path)
{
    const char *home = home_dir();
    buf b = {0};
    if (home && path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
        buf_printf(&b, "%s%s", home, path + 1);
    else
        buf_puts(&b, path);
    return buf_steal(&b);
}

/* path as messages show it: the home directory as "~"; caller frees. */
static char *shorten_home(const char *path)
{
    const char *home = home_dir();
    size_t n = home ? strlen(home) : 0;
    buf b = {0};
    if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/')
        buf_printf(&b, "~%s", path + n);
    else
        buf_puts(&b, path);
    return buf_steal(&b);
}

static int load_file(ini_file *f, const char *env_name, const char *fallback, int is_config,
                     char *err, size_t errlen)
{
    const char *set = getenv(env_name);
    f->path = expand_home(set && *set ? set : fallback);
    f->shown = shorten_home(f->path);
    buf text = {0};
    int rc = 0;
    if (read_file(f->path, &text, 1) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            snprintf(err, errlen, "cannot read %s: %s", f->shown, strerror(errno));
            rc = -1;
        }
    } else {
        rc = ini_parse(f, buf_cstr(&text), text.len, is_config, err, errlen);
    }
    buf_wipe(&text);
    return rc;
}

int aws_config_load(aws_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (load_file(&cfg->credentials, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", 0, err,
                  errlen) != 0)
        return -1;
    return load_file(&cfg->config, "AWS_CONFIG_FILE", "~/.aws/config", 1, err, errlen);
}

void aws_config_free(aws_config *cfg)
{
    ini_free(&cfg->credentials);
    ini_free(&cfg->config);
}

int aws_config_has_profile(const aws_config *cfg, const char *profile)
{
    return ini_find(&cfg->credentials, profile) || ini_find(&cfg->config, profile);
}

const char *aws_config_get(const aws_config *cfg, const char *profile, const char *key)
{
    const char *v = ini_get(ini_find(&cfg->credentials, profile), key);
    return v ? v : ini_get(ini_find(&cfg->config, profile), key);
}

aws_config *creds_ctx_config(creds_ctx *ctx, char *err, size_t errlen)
{
    if (ctx->cfg) return ctx->cfg;
    aws_config *cfg = xmalloc(sizeof *cfg);
    if (aws_config_load(cfg, err, errlen) != 0) {
        aws_config_free(cfg);
        free(cfg);
        return NULL;
    }
    ctx->cfg = cfg;
    return cfg;
}

/* ---- the profile provider ---- */

/* The profiles visited while following source_profile, to detect loops. */
#define MAX_CHAIN 32
typedef struct profile_chain {
    const char *names[MAX_CHAIN];
    int len;
} profile_chain;

static void set_source(aws_credentials *c, const char *fmt, const char *a, const char *b)
{
    buf s = {0};
    buf_printf(&s, fmt, a, b);
    free(c->source);
    c->source = buf_steal(&s);
}

/* Static keys of profile in one file. */
static int keys_in_file(const ini_file *f, const char *profile, aws_credentials *out, char *err,
                        size_t errlen)
{
    const ini_section *s = ini_find(f, profile);
    const char *ak = ini_get(s, "aws_access_key_id");
    const char *sk = ini_get(s, "aws_secret_access_key");
    const char *token = ini_get(s, "aws_session_token");
    if (!token) token = ini_get(s, "aws_security_token");
    if (!ak && !sk) return CREDS_NONE;
    if (!ak || !sk) {
        snprintf(err, errlen, "profile '%s' in %s sets %s but not %s", profile, f->shown,
                 ak ? "aws_access_key_id" : "aws_secret_access_key",
                 ak ? "aws_secret_access_key" : "aws_access_key_id");
        return CREDS_ERROR;
    }
    out->access_key_id = xstrdup(ak);
    out->secret_access_key = xstrdup(sk);
    out->session_token = token ? xstrdup(token) : NULL;
    out->expiration = 0;
    set_source(out, "profile %s%s", profile, "");
    return CREDS_FOUND;
}

static int static_keys(const aws_config *cfg, const char *profile, aws_credentials *out, char *err,
                       size_t errlen)
{
    int rc = keys_in_file(&cfg->credentials, profile, out, err, errlen);
    return rc != CREDS_NONE ? rc : keys_in_file(&cfg->config, profile, out, err, errlen);
}

static int resolve_profile(creds_ctx *ctx, const char *name, profile_chain *seen, int is_source,
                           aws_credentials *out, char *err, size_t errlen);

static int from_source_profile(creds_ctx *ctx, const char *name, const char *src, profile_chain *seen,
                               aws_credentials *out, char *err, size_t errlen)
{
    const aws_config *cfg = ctx->cfg;
    /* A profile may name itself as source when it holds the keys. */
    if (strcmp(src, name) == 0 && aws_config_get(cfg, name, "aws_access_key_id"))
        return static_keys(cfg, name, out, err, errlen);
    for (int i = 0; i < seen->len; i++) {
        if (strcmp(seen->names[i], src) != 0) continue;
        buf path = {0};
        for (int j = 0; j < seen->len; j++) buf_printf(&path, "%s -> ", seen->names[j]);
        snprintf(err, errlen, "source_profile loop in %s: %s%s", cfg->config.shown, buf_cstr(&path), src);
        buf_free(&path);
        return CREDS_ERROR;
    }
    if (!aws_config_has_profile(cfg, src)) {
        snprintf(err, errlen, "source_profile '%s' of profile '%s' not found in %s, %s", src, name,
                 cfg->credentials.shown, cfg->config.shown);
        return CREDS_ERROR;
    }
    int rc = resolve_profile(ctx, src, seen, 1, out, err, errlen);
    if (rc == CREDS_NONE) {
        snprintf(err, errlen, "source_profile '%s' of profile '%s' has no credentials", src, name);
        return CREDS_ERROR;
    }
    return rc;
}

static int from_credential_source(creds_ctx *ctx, const char *name, const char *cs,
                                  aws_credentials *out, char *err, size_t errlen)
{
    char note[512] = "";
    int rc;
    if (strcmp(cs, "Environment") == 0)
        rc = creds_from_env(out, note, sizeof note);
    else if (strcmp(cs, "Ec2InstanceMetadata") == 0)
        rc = creds_from_imds(ctx, out, note, sizeof note);
    else if (strcmp(cs, "EcsContainer") == 0)
        rc = creds_from_container(ctx, out, note, sizeof note);
    else {
        snprintf(err, errlen,
                 "profile '%s': unknown credential_source '%s' (use Environment, "
                 "Ec2InstanceMetadata or EcsContainer)", name, cs);
        return CREDS_ERROR;
    }
    if (rc == CREDS_FOUND) return rc;
    snprintf(err, errlen, "profile '%s': credential_source %s has no credentials%s%s", name, cs,
             note[0] ? ": " : "", note);
    return CREDS_ERROR;
}

/* role_arn + source_profile / credential_source: AssumeRole on top of those. */
static int assume_role_profile(creds_ctx *ctx, const char *name, const char *role_arn,
                               profile_chain *seen, aws_credentials *out, char *err, size_t errlen)
{
    const aws_config *cfg = ctx->cfg;
    const char *src = aws_config_get(cfg, name, "source_profile");
    const char *cs = aws_config_get(cfg, name, "credential_source");
    if ((src != NULL) == (cs != NULL)) {
        snprintf(err, errlen, "profile '%s' sets role_arn and must set exactly one of "
                 "source_profile and credential_source", name);
        return CREDS_ERROR;
    }
    if (aws_config_get(cfg, name, "mfa_serial")) {
        snprintf(err, errlen, "profile '%s' sets mfa_serial: awstopo cannot prompt for an MFA code",
                 name);
        return CREDS_ERROR;
    }
    long duration = 0;
    const char *ds = aws_config_get(cfg, name, "duration_seconds");
    if (ds) {
        char *endp;
        duration = strtol(ds, &endp, 10);
        if (*endp || duration <= 0 || duration > 129600) {
            snprintf(err, errlen, "profile '%s': duration_seconds must be a number of seconds", name);
            return CREDS_ERROR;
        }
    }

    aws_credentials base = {0};
    int rc = src ? from_source_profile(ctx, name, src, seen, &base, err, errlen)
                 : from_credential_source(ctx, name, cs, &base, err, errlen);
    if (rc != CREDS_FOUND) {
        creds_clear(&base);
        return CREDS_ERROR;
    }
    char session[64];
    creds_default_session_name(ctx->now, session, sizeof session);
    const char *rsn = aws_config_get(cfg, name, "role_session_name");
    sts_role role = {
        .role_arn = role_arn,
        .session_name = rsn ? rsn : session,
        .external_id = aws_config_get(cfg, name, "external_id"),
        .duration_seconds = (int)duration,
    };
    rc = creds_sts_assume_role(ctx, &base, &role, out, err, errlen) == 0 ? CREDS_FOUND : CREDS_ERROR;
    creds_clear(&base);
    if (rc == CREDS_FOUND) set_source(out, "profile %s: assume-role %s", name, role_arn);
    return rc;
}

static int web_identity_profile(creds_ctx *ctx, const char *name, const char *role_arn,
                                const char *token_file, aws_credentials *out, char *err, size_t errlen)
{
    char session[64];
    creds_default_session_name(ctx->now, session, sizeof session);
    const char *rsn = aws_config_get(ctx->cfg, name, "role_session_name");
    sts_role role = {.role_arn = role_arn, .session_name = rsn ? rsn : session};
    char *path = expand_home(token_file);
    int rc = creds_sts_web_identity(ctx, path, &role, out, err, errlen) == 0 ? CREDS_FOUND : CREDS_ERROR;
    free(path);
    if (rc == CREDS_FOUND) set_source(out, "profile %s: web-identity %s", name, role_arn);
    return rc;
}

/* Credentials of profile `name`. A source profile (is_source) with static
 * keys uses them even when it also sets role_arn, as botocore does. */
static int resolve_profile(creds_ctx *ctx, const char *name, profile_chain *seen, int is_source,
                           aws_credentials *out, char *err, size_t errlen)
{
    const aws_config *cfg = ctx->cfg;
    if (seen->len == MAX_CHAIN) {
        snprintf(err, errlen, "profile '%s': source_profile chain longer than %d", name, MAX_CHAIN);
        return CREDS_ERROR;
    }
    seen->names[seen->len++] = name;

    const char *role_arn = aws_config_get(cfg, name, "role_arn");
    const char *token_file = aws_config_get(cfg, name, "web_identity_token_file");
    if (token_file && !role_arn) {
        snprintf(err, errlen, "profile '%s' sets web_identity_token_file but no role_arn", name);
        return CREDS_ERROR;
    }
    if (token_file) return web_identity_profile(ctx, name, role_arn, token_file, out, err, errlen);
    if (role_arn && !(is_source && aws_config_get(cfg, name, "aws_access_key_id")))
        return assume_role_profile(ctx, name, role_arn, seen, out, err, errlen);

    int rc = static_keys(cfg, name, out, err, errlen);
    if (rc != CREDS_NONE) return rc;
    static const char *unsupported[] = {"credential_process", "sso_session", "sso_start_url"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
        if (aws_config_get(cfg, name, unsupported[i])) {
            snprintf(err, errlen, "profile '%s' uses %s, which awstopo does not support", name,
                     unsupported[i]);
            return CREDS_ERROR;
        }
    }
    return CREDS_NONE;
}

int creds_from_profile(creds_ctx *ctx, aws_credentials *out, char *err, size_t errlen)
{
    aws_config *cfg = creds_ctx_config(ctx, err, errlen);
    if (!cfg) return CREDS_ERROR;
    if (!aws_config_has_profile(cfg, ctx->profile)) {
        if (!ctx->profile_explicit) return CREDS_NONE;
        snprintf(err, errlen, "profile '%s' not found in %s, %s", ctx->profile, cfg->credentials.shown,
                 cfg->config.shown);
        return CREDS_ERROR;
    }
    profile_chain seen = {.len = 0};
    return resolve_profile(ctx, ctx->profile, &seen, 0, out, err, errlen);
}
