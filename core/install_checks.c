/* install_checks.c -- the existing trail and the user's role (install_checks.h). */
#include "install_checks.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static cJSON *named(const char *key, const char *value)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, key, value);
    return p;
}

static int logging(const cfn_ctx *c, const char *arn, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = aws_call_cjson(c->client, c->models, "cloudtrail", "GetTrailStatus", named("Name", arn), NULL, &e);
    if (!r) return set_err(err, errlen, "cloudtrail GetTrailStatus %s: %s: %s", arn, e.code, e.message);
    int on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "IsLogging"));
    cJSON_Delete(r);
    return on;
}

int check_existing_trail(const cfn_ctx *c, const char *own, char *name, size_t namelen, char *region,
                         size_t regionlen, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddTrueToObject(p, "includeShadowTrails");
    cJSON *r = aws_call_cjson(c->client, c->models, "cloudtrail", "DescribeTrails", p, NULL, &e), *t;
    if (!r) return set_err(err, errlen, "cloudtrail DescribeTrails: %s: %s", e.code, e.message);
    int found = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "trailList")) {
        const char *n = str(t, "Name"), *arn = str(t, "TrailARN");
        if (!n || !arn || strcmp(n, own) == 0 || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "IsMultiRegionTrail")))
            continue;
        if ((found = logging(c, arn, err, errlen)) != 0) {
            snprintf(name, namelen, "%s", n);
            snprintf(region, regionlen, "%s", str(t, "HomeRegion") ? str(t, "HomeRegion") : "?");
            break;
        }
    }
    cJSON_Delete(r);
    return found;
}

/* IAM answers the trust policy URL-encoded. Decodes in place. */
static void url_decode(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = { s[1], s[2], 0 };
            *out++ = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = 0;
}

/* Does v (a string or an array of strings) hold one of want (NULL-terminated)? */
static int holds(const cJSON *v, const char *const *want)
{
    const cJSON *x;
    if (cJSON_IsString(v)) {
        for (const char *const *w = want; *w; w++)
            if (strcmp(v->valuestring, *w) == 0) return 1;
        return 0;
    }
    cJSON_ArrayForEach(x, v) if (holds(x, want)) return 1;
    return 0;
}

static int trusts_lambda(const char *document)
{
    static const char *const actions[] = { "sts:AssumeRole", "sts:*", "*", NULL };
    static const char *const lambda[] = { "lambda.amazonaws.com", NULL };
    cJSON *doc = cJSON_Parse(document), *st;
    int yes = 0;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(doc, "Statement")) {
        const char *effect = str(st, "Effect");
        const cJSON *principal = cJSON_GetObjectItemCaseSensitive(st, "Principal");
        if (effect && strcmp(effect, "Allow") == 0 && !cJSON_GetObjectItemCaseSensitive(st, "Condition") &&
            holds(cJSON_GetObjectItemCaseSensitive(st, "Action"), actions) &&
            holds(cJSON_GetObjectItemCaseSensitive(principal, "Service"), lambda))
            yes = 1;
    }
    cJSON_Delete(doc);
    return yes;
}

int check_function_role(const cfn_ctx *c, const char *role_arn, const char *account, char *err, size_t errlen)
{
    /* arn:PARTITION:iam::ACCOUNT:role/PATH/NAME */
    char arn_account[32] = "";
    const char *p = role_arn;
    for (int colons = 0; *p && colons < 4; p++)
        if (*p == ':') colons++;
    const char *acct_end = strchr(p, ':');
    if (acct_end && (size_t)(acct_end - p) < sizeof arn_account) snprintf(arn_account, sizeof arn_account, "%.*s",
                                                                         (int)(acct_end - p), p);
    const char *name = strrchr(role_arn, '/');
    if (!strstr(role_arn, ":iam::") || !acct_end || strncmp(acct_end, ":role/", 6) != 0 || !name || !name[1])
        return set_err(err, errlen, "--topo-cron-role %s: not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", role_arn);
    if (strcmp(arn_account, account) != 0)
        return set_err(err, errlen, "--topo-cron-role %s: the role is in account %s; the function runs in %s and "
                       "Lambda takes only a role of its own account", role_arn, arn_account, account);
    aws_call_error e;
    cJSON *r = aws_call_cjson(c->client, c->models, "iam", "GetRole", named("RoleName", name + 1), NULL, &e);
    if (!r && strcmp(e.code, "NoSuchEntity") == 0)
        return set_err(err, errlen, "--topo-cron-role %s: no such role in account %s", role_arn, account);
    if (!r) return set_err(err, errlen, "--topo-cron-role %s: iam GetRole: %s: %s", role_arn, e.code, e.message);
    const char *doc = str(cJSON_GetObjectItemCaseSensitive(r, "Role"), "AssumeRolePolicyDocument");
    char *text = doc ? xstrdup(doc) : NULL;
    cJSON_Delete(r);
    if (text) url_decode(text);
    int ok = text && trusts_lambda(text);
    free(text);
    if (!ok)
        return set_err(err, errlen, "--topo-cron-role %s: its trust policy does not let Lambda assume it: it needs a "
                       "statement {\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"lambda.amazonaws.com\"}, "
                       "\"Action\": \"sts:AssumeRole\"}", role_arn);
    return 0;
}
