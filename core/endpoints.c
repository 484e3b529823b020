/* endpoints.c -- endpoint resolution from botocore's endpoints.json (see endpoints.h).
 *
 * The parsed cJSON tree is kept as it is and looked up on each call: the lists
 * are short (a few dozen regions and services per partition) and resolution
 * happens once per (service, region) client, not per request. What is worth
 * preparing is prepared at load: each partition's name, DNS suffix, hostname
 * template and compiled regionRegex.
 */
#include "endpoints.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "buf.h"
#include "creds.h"
#include "http.h"
#include "util.h"

#define DEFAULT_HOSTNAME "{service}.{region}.{dnsSuffix}"

/* One partition of endpoints.json; the strings point into the cJSON tree. */
typedef struct partition {
    const char *name;       /* "aws" */
    const char *dns_suffix; /* "amazonaws.com" */
    const char *hostname;   /* defaults.hostname template */
    const char *scheme;     /* "https" unless defaults.protocols lacks it */
    const cJSON *regions;   /* object: region -> {description} */
    const cJSON *services;  /* object: endpointPrefix -> service entry */
    regex_t re;
    int has_re;
} partition;

struct endpoints {
    cJSON *root;
    partition *parts;
    size_t nparts;
};

/* Regions that STS served from sts.amazonaws.com before regional endpoints
 * became the default (botocore's LEGACY_GLOBAL_STS_REGIONS). */
static const char *const legacy_sts_regions[] = {
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2", NULL
};

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- loading ---- */

/* botocore's regionRegex is a Python regex ("^(us|eu)\-\w+\-\d+$"); POSIX ERE
 * knows neither \w nor \d, and "\-" is undefined there. */
static char *regex_to_ere(const char *re)
{
    buf b = {0};
    for (const char *p = re; *p; p++) {
        if (*p != '\\' || !p[1]) {
            buf_putc(&b, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'w': buf_puts(&b, "[[:alnum:]_]"); break;
        case 'd': buf_puts(&b, "[[:digit:]]"); break;
        case 's': buf_puts(&b, "[[:space:]]"); break;
        case '-': buf_putc(&b, '-'); break;
        default: buf_putc(&b, '\\'); buf_putc(&b, *p); break;
        }
    }
    return buf_steal(&b);
}

static int load_partition(partition *p, const cJSON *j, const char *path, char *err, size_t errlen)
{
    p->name = json_str(j, "partition");
    p->dns_suffix = json_str(j, "dnsSuffix");
    if (!p->name || !p->dns_suffix) {
        set_err(err, errlen, "%s: a partition lacks \"partition\" or \"dnsSuffix\"", path);
        return -1;
    }
    const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(j, "defaults");
    p->hostname = json_str(defaults, "hostname");
    if (!p->hostname)
        p->hostname = DEFAULT_HOSTNAME;
    p->scheme = "https";
    const cJSON *protocols = cJSON_GetObjectItemCaseSensitive(defaults, "protocols");
    if (cJSON_IsArray(protocols) && cJSON_GetArraySize(protocols) > 0) {
        int https = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, protocols)
            if (cJSON_IsString(it) && strcmp(it->valuestring, "https") == 0)
                https = 1;
        if (!https)
            p->scheme = "http";
    }
    p->regions = cJSON_GetObjectItemCaseSensitive(j, "regions");
    p->services = cJSON_GetObjectItemCaseSensitive(j, "services");
    const char *rx = json_str(j, "regionRegex");
    if (rx) {
        char *ere = regex_to_ere(rx);
        int rc = regcomp(&p->re, ere, REG_EXTENDED | REG_NOSUB);
        free(ere);
        if (rc != 0) {
            set_err(err, errlen, "%s: partition %s: bad regionRegex", path, p->name);
            return -1;
        }
        p->has_re = 1;
    }
    return 0;
}

endpoints *endpoints_load(const char *path, char *err, size_t errlen)
{
    buf text = {0};
    if (read_file(path, &text, 0) != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        buf_free(&text);
        return NULL;
    }
    cJSON *root = cJSON_Parse(buf_cstr(&text));
    buf_free(&text);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(root, "partitions");
    if (!cJSON_IsArray(parts)) {
        set_err(err, errlen, "%s: %s", path,
                root ? "no \"partitions\" array" : "not valid JSON");
        cJSON_Delete(root);
        return NULL;
    }
    endpoints *e = xcalloc(1, sizeof *e);
    e->root = root;
    e->parts = xcalloc((size_t)cJSON_GetArraySize(parts) + 1, sizeof *e->parts);
    const cJSON *j;
    cJSON_ArrayForEach(j, parts) {
        if (load_partition(&e->parts[e->nparts], j, path, err, errlen) != 0) {
            endpoints_free(e);
            return NULL;
        }
        e->nparts++;
    }
    return e;
}

void endpoints_free(endpoints *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].has_re)
            regfree(&e->parts[i].re);
    free(e->parts);
    cJSON_Delete(e->root);
    free(e);
}

/* ---- lookups ---- */

static int region_match(const partition *p, const char *region)
{
    if (cJSON_GetObjectItemCaseSensitive(p->regions, region))
        return 1;
    return p->has_re && regexec(&p->re, region, 0, NULL, 0) == 0;
}

static const partition *find_partition(const endpoints *e, const char *name)
{
    for (size_t i = 0; e && name && i < e->nparts; i++)
        if (strcmp(e->parts[i].name, name) == 0)
            return &e->parts[i];
    return NULL;
}

const char *partition_for_region(const endpoints *e, const char *region)
{
    for (size_t i = 0; e && region && i < e->nparts; i++)
        if (region_match(&e->parts[i], region))
            return e->parts[i].name;
    return NULL;
}

const char *partition_dns_suffix(const endpoints *e, const char *partition_name)
{
    const partition *p = find_partition(e, partition_name);
    return p ? p->dns_suffix : NULL;
}

static const cJSON *service_entry(const partition *p, const char *prefix)
{
    return prefix ? cJSON_GetObjectItemCaseSensitive(p->services, prefix) : NULL;
}

static const cJSON *service_endpoint(const cJSON *svc, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "endpoints"), name);
}

static int service_is_global(const cJSON *svc)
{
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(svc, "isRegionalized")) &&
           json_str(svc, "partitionEndpoint") != NULL;
}

int endpoints_is_global(const endpoints *e, const char *partition_name, const char *prefix)
{
    const partition *p = find_partition(e, partition_name);
    return p && service_is_global(service_entry(p, prefix));
}

/* "{service}.{region}.{dnsSuffix}" with the values substituted. */
static char *expand_template(const char *tmpl, const char *service, const char *region,
                             const char *dns_suffix)
{
    buf b = {0};
    for (const char *t = tmpl; *t; ) {
        if (strncmp(t, "{service}", 9) == 0) {
            buf_puts(&b, service);
            t += 9;
        } else if (strncmp(t, "{region}", 8) == 0) {
            buf_puts(&b, region);
            t += 8;
        } else if (strncmp(t, "{dnsSuffix}", 11) == 0) {
            buf_puts(&b, dns_suffix);
            t += 11;
        } else {
            buf_putc(&b, *t++);
        }
    }
    return buf_steal(&b);
}

/* What botocore's _resolve merges from the endpoint entry, then the service's
 * defaults, then the partition's defaults: the first that has a key wins. */
static const cJSON *merged(const cJSON *ep, const cJSON *svc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ep, key);
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(svc, "defaults"), key);
    return v;
}

/* Fills out from partition p's entry `endpoint_name` of service svc. */
static void resolve_in(const partition *p, const cJSON *svc, const char *prefix,
                       const char *endpoint_name, const aws_model *m, endpoint *out)
{
    const cJSON *ep = service_endpoint(svc, endpoint_name);
    const cJSON *h = merged(ep, svc, "hostname");
    const char *tmpl = cJSON_IsString(h) ? h->valuestring : p->hostname;
    const cJSON *scope = merged(ep, svc, "credentialScope");
    const char *scope_region = json_str(scope, "region");
    const char *scope_service = json_str(scope, "service");

    out->scheme = xstrdup(p->scheme);
    out->host = expand_template(tmpl, prefix, endpoint_name, p->dns_suffix);
    out->base_path = xstrdup("");
    out->signing_region = xstrdup(scope_region ? scope_region : endpoint_name);
    out->signing_name = xstrdup(scope_service ? scope_service
                                : m->signing_name ? m->signing_name : prefix);
    out->partition = xstrdup(p->name);
    out->source = xstrdup("endpoints.json");
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, "true") == 0;
}

static int env_is(const char *name, const char *want)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, want) == 0;
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* A region becomes part of a host name: letters, digits and dashes only. */
static int valid_region(const char *r)
{
    if (!*r || strlen(r) > 63)
        return 0;
    for (; *r; r++)
        if (!isalnum((unsigned char)*r) && *r != '-')
            return 0;
    return 1;
}

static int resolve_from_data(const endpoints *e, const aws_model *m, const char *region,
                             endpoint *out, char *err, size_t errlen)
{
    const char *prefix = m->endpoint_prefix ? m->endpoint_prefix : m->service;
    if (!e) {
        set_err(err, errlen, "%s: no endpoint data loaded and no endpoint URL given",
                m->service ? m->service : prefix);
        return -1;
    }
    if (!prefix) {
        set_err(err, errlen, "model has neither endpointPrefix nor service name");
        return -1;
    }
    if (!region || !*region) {
        /* botocore: without a region, the partition endpoint of the first partition. */
        const cJSON *svc = e->nparts ? service_entry(&e->parts[0], prefix) : NULL;
        const char *pe = json_str(svc, "partitionEndpoint");
        if (!pe) {
            set_err(err, errlen, "%s: no region configured (set AWS_REGION or --region)", prefix);
            return -1;
        }
        resolve_in(&e->parts[0], svc, prefix, pe, m, out);
        return 0;
    }
    if (!valid_region(region)) {
        set_err(err, errlen, "%s: invalid region name \"%.64s\"", prefix, region);
        return -1;
    }

    /* The SDKs' configurable quirks: both pick the partition endpoint. */
    const char *name = region;
    if (strcmp(prefix, "s3") == 0 && strcmp(region, "us-east-1") == 0 &&
        !env_is("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "regional"))
        name = "aws-global";
    if (strcmp(prefix, "sts") == 0 && env_is("AWS_STS_REGIONAL_ENDPOINTS", "legacy") &&
        in_list(legacy_sts_regions, region))
        name = "aws-global";

    for (size_t i = 0; i < e->nparts; i++) {
        const partition *p = &e->parts[i];
        const cJSON *svc = service_entry(p, prefix);
        if (name != region && service_endpoint(svc, name)) {
            resolve_in(p, svc, prefix, name, m, out);
            return 0;
        }
        if (service_endpoint(svc, region)) {
            resolve_in(p, svc, prefix, region, m, out);
            return 0;
        }
        if (region_match(p, region)) {
            const char *pe = json_str(svc, "partitionEndpoint");
            resolve_in(p, svc, prefix, service_is_global(svc) ? pe : region, m, out);
            return 0;
        }
    }
    set_err(err, errlen, "%s: unknown region \"%s\" (no partition's region list or pattern matches it)",
            prefix, region);
    return -1;
}

/* ---- overrides ---- */

/* AWS_ENDPOINT_URL_<SERVICE ID>: upper case, spaces and dashes -> '_'. */
static char *service_env_name(const aws_model *m)
{
    const char *id = m->service_id ? m->service_id : m->service;
    if (!id)
        return NULL;
    buf b = {0};
    buf_puts(&b, "AWS_ENDPOINT_URL_");
    for (const char *s = id; *s; s++)
        buf_putc(&b, (*s == ' ' || *s == '-') ? '_' : (char)toupper((unsigned char)*s));
    return buf_steal(&b);
}

/* Parses "scheme://host[:port][/path]" into out's scheme, host, base_path. */
static int parse_url(const char *url, endpoint *out, const char *what, char *err, size_t errlen)
{
    http_url u;
    const char *why;
    if (http_url_parse(url, &u, &why) != 0)
        return set_err(err, errlen, "%s: endpoint URL \"%.200s\" %s", what, url, why);
    out->scheme = u.scheme;
    out->host = u.host;
    out->base_path = u.path;
    return 0;
}

static char *make_url(const endpoint *ep)
{
    buf b = {0};
    buf_printf(&b, "%s://%s%s", ep->scheme, ep->host, ep->base_path);
    return buf_steal(&b);
}

static int resolve_override(const endpoints *e, const aws_model *m, const char *region,
                            const char *url, const char *source, endpoint *out,
                            char *err, size_t errlen)
{
    if (parse_url(url, out, source, err, errlen) != 0)
        return -1;
    if (region && *region && !valid_region(region)) {
        set_err(err, errlen, "invalid region name \"%.64s\"", region);
        return -1;
    }
    const char *sr = region && *region ? region : DEFAULT_REGION;
    const char *part = partition_for_region(e, sr);
    out->signing_region = xstrdup(sr);
    out->signing_name = xstrdup(m->signing_name ? m->signing_name
                                : m->endpoint_prefix ? m->endpoint_prefix
                                : m->service ? m->service : "");
    out->partition = xstrdup(part ? part : "aws");
    out->source = xstrdup(source);
    return 0;
}

int endpoint_resolve(const endpoints *e, const aws_model *m, const char *region,
                     const char *override_url, endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    if (override_url && *override_url) {
        rc = resolve_override(e, m, region, override_url, "--endpoint-url", out, err, errlen);
    } else {
        const char *url = NULL, *source = NULL;
        char *name = NULL;
        if (!env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
            name = service_env_name(m);
            if (name && (url = getenv(name)) && *url)
                source = name;
            else if ((url = getenv("AWS_ENDPOINT_URL")) && *url)
                source = "AWS_ENDPOINT_URL";
        }
        if (source)
            rc = resolve_override(e, m, region, url, source, out, err, errlen);
        else
            rc = resolve_from_data(e, m, region, out, err, errlen);
        free(name);
    }
    if (rc != 0) {
        endpoint_free(out);
        return -1;
    }
    out->url = make_url(out);
    return 0;
}

void endpoint_free(endpoint *ep)
{
    if (!ep)
        return;
    free(ep->url);
    free(ep->scheme);
    free(ep->host);
    free(ep->base_path);
    free(ep->signing_region);
    free(ep->signing_name);
    free(ep->partition);
    free(ep->source);
    memset(ep, 0, sizeof *ep);
}

/* ---- regions of a service ---- */

const char **endpoints_regions(const endpoints *e, const char *partition_name,
                               const char *prefix, size_t *n)
{
    const partition *p = find_partition(e, partition_name);
    if (n)
        *n = 0;
    if (!p)
        return NULL;
    size_t cap = (size_t)cJSON_GetArraySize(p->regions) + 2, len = 0;
    const char **out = xcalloc(cap, sizeof *out);
    const cJSON *svc = service_entry(p, prefix);
    if (service_is_global(svc)) {
        const char *pe = json_str(svc, "partitionEndpoint");
        const char *r = json_str(cJSON_GetObjectItemCaseSensitive(service_endpoint(svc, pe),
                                                                  "credentialScope"), "region");
        if (!r) {   /* no scope: the partition's first region */
            const cJSON *first = p->regions ? p->regions->child : NULL;
            r = first ? first->string : NULL;
        }
        if (r)
            out[len++] = r;
    } else {
        const cJSON *region;
        cJSON_ArrayForEach(region, p->regions)
            if (!svc || service_endpoint(svc, region->string))
                out[len++] = region->string;
    }
    out[len] = NULL;
    if (n)
        *n = len;
    return out;
}
