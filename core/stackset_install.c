/* stackset_install.c -- the Lambda install as a service-managed StackSet
 * (see stackset_install.h). */
#include "stackset_install.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfn.h"
#include "install.h"
#include "install_store.h"
#include "stackset.h"

#define TAG_VERSION "stackstate:awstopo-version"
#define TAG_CONFIG "stackstate:configuration-id"
#define BUCKET_MAX 63

/* stackstate-topo-org-<config>-<account>: a region's bucket adds -<region>. */
static void bucket_prefix(char *out, size_t len, const char *config_id, const char *account)
{
    snprintf(out, len, "stackstate-topo-org-%s-%s", config_id, account);
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

/* The organization's id (DescribeOrganization): the bucket policy's condition. */
static int organization_id(const stackset_install *s, char *id, size_t len, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = aws_call_cjson(s->client, s->models, "organizations", "DescribeOrganization", NULL, NULL, &e);
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "Organization"), "Id"));
    int rc = v ? 0 : set_err(err, errlen, "organizations DescribeOrganization: %s: %s", r ? "no id" : e.code,
                             r ? "" : e.message);
    if (v) snprintf(id, len, "%s", v);
    cJSON_Delete(r);
    return rc;
}

/* A client for one region, with the same credentials. */
static aws_client *region_client(const stackset_install *s, const char *region, char *err, size_t errlen)
{
    common_options co = *s->co;
    co.region = region;
    return make_client(&co, s->models, err, errlen);
}

/* The region's bucket: created when missing, the organization may read the
 * package, which is uploaded unless its key is there. */
static int prepare_region(const stackset_install *s, const char *bucket, const char *region, const char *org_id,
                          const buf *zip, const char *key, const cfn_kv *tags, char *err, size_t errlen)
{
    aws_client *c = region_client(s, region, err, errlen);
    if (!c) return -1;
    cfn_ctx cc = { c, s->models, stdout, s->poll_ms, 3600 };
    int uploaded = 0, rc = store_bucket_exists(&cc, bucket, err, errlen);
    int existed = rc;
    if (rc == 0) rc = store_bucket_create(&cc, bucket, tags, 2, err, errlen);
    if (rc >= 0) rc = store_bucket_org_read(&cc, bucket, "awstopo/", org_id, err, errlen);
    if (rc >= 0) rc = store_put_object(&cc, bucket, key, zip, tags, 2, &uploaded, err, errlen);
    if (rc >= 0)
        printf("bucket    %s (%s, readable by organization %s), package %s\n", bucket,
               existed ? "exists" : "created", org_id, uploaded ? "uploaded" : "already there");
    client_free(c);
    return rc < 0 ? -1 : 0;
}

int stackset_install_deploy(const stackset_install *s, char *err, size_t errlen)
{
    cfn_ctx admin = { s->client, s->models, stdout, s->poll_ms, 3600 };
    char account[32], org_id[64], prefix[128], key[192], bucket[256];
    buf zip = {0};
    if (store_account_id(&admin, account, sizeof account, err, errlen) < 0 ||
        organization_id(s, org_id, sizeof org_id, err, errlen) < 0)
        return -1;
    bucket_prefix(prefix, sizeof prefix, s->config_id, account);
    for (size_t i = 0; i < s->regions->len; i++)
        if (strlen(prefix) + 1 + strlen(s->regions->items[i]) > BUCKET_MAX)
            return set_err(err, errlen, "the code bucket %s-%s would be longer than S3's %d characters: a shorter "
                           "CONFIGURATION_ID", prefix, s->regions->items[i], BUCKET_MAX);
    if (read_file(s->package, &zip, 0) != 0)
        return set_err(err, errlen, "cannot read the Lambda package %s (build it with `make lambda`, or --package ZIP)",
                       s->package);
    store_package_key(&zip, key, sizeof key);
    const char *stack = s->full ? "stackstate-topo-stackset-full" : "stackstate-topo-stackset-minimal";
    char *body = install_template(s->templates_dir ? s->templates_dir : install_templates_dir(), stack, err, errlen);
    printf("awstopo %s: %s install of configuration %s in the accounts of organization %s, region%s ",
           AWSTOPO_VERSION, s->full ? "full" : "minimal (cron only)", s->config_id, org_id,
           s->regions->len > 1 ? "s" : "");
    for (size_t i = 0; i < s->regions->len; i++) printf("%s%s", i ? ", " : "", s->regions->items[i]);
    printf("\n");
    cfn_kv tags[] = { { TAG_CONFIG, s->config_id }, { TAG_VERSION, AWSTOPO_VERSION } };
    int rc = body ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->regions->len; i++) {
        snprintf(bucket, sizeof bucket, "%s-%s", prefix, s->regions->items[i]);
        rc = prepare_region(s, bucket, s->regions->items[i], org_id, &zip, key, tags, err, errlen);
    }
    if (rc == 0) {
        cfn_kv params[] = {
            { "AwstopoVersion", AWSTOPO_VERSION }, { "ConfigurationId", s->config_id },
            { "StackStateUrl", s->base_url }, { "ApiKey", s->api_key }, { "CodeBucketPrefix", prefix },
            { "CodeKey", key }, { "TrailRegion", s->regions->items[0] },
            { "CreateTrail", s->create_trail ? "true" : "false" },
        };
        stackset_spec spec = { STACKSET_INSTALL_NAME, body,
                               s->full ? "StackState awstopo: the full install (StackSet)"
                                       : "StackState awstopo: the minimal install (StackSet)",
                               params, s->full ? 8 : 6, tags, 2, "CAPABILITY_IAM", s->ous, s->regions };
        stackset_ctx sc = { s->client, s->models, stdout, s->poll_ms, 3600 };
        rc = stackset_deploy(&sc, &spec, err, errlen);
    }
    free(body);
    buf_free(&zip);
    return rc;
}

/* Empties and deletes each code bucket of this configuration (ListBuckets by prefix). */
static int remove_buckets(const stackset_install *s, const char *prefix, char *err, size_t errlen)
{
    cfn_ctx admin = { s->client, s->models, stdout, s->poll_ms, 3600 };
    strlist names = {0}, regions = {0};
    buf want = {0};
    buf_printf(&want, "%s-", prefix);
    int rc = store_list_buckets(&admin, buf_cstr(&want), &names, &regions, err, errlen);
    buf_free(&want);
    for (size_t i = 0; rc == 0 && i < names.len; i++) {
        /* the bucket's region, else the one its name ends with */
        const char *region = *regions.items[i] ? regions.items[i] : names.items[i] + strlen(prefix) + 1;
        aws_client *c = region_client(s, region, err, errlen);
        if (!c) {
            rc = -1;
            break;
        }
        cfn_ctx cc = { c, s->models, stdout, s->poll_ms, 3600 };
        int existed;
        size_t objects;
        rc = store_bucket_remove(&cc, names.items[i], &existed, &objects, err, errlen);
        if (rc == 0) printf("bucket    %s: %s\n", names.items[i], existed ? "emptied and deleted" : "not there");
        client_free(c);
    }
    if (rc == 0 && names.len == 0) printf("bucket    %s-*: none\n", prefix);
    strlist_free(&names);
    strlist_free(&regions);
    return rc;
}

int stackset_install_remove(const stackset_install *s, char *err, size_t errlen)
{
    cfn_ctx admin = { s->client, s->models, stdout, s->poll_ms, 3600 };
    stackset_ctx sc = { s->client, s->models, stdout, s->poll_ms, 3600 };
    char account[32], prefix[128];
    if (store_account_id(&admin, account, sizeof account, err, errlen) < 0) return -1;
    printf("awstopo %s: uninstall --organization of configuration %s, administered from account %s\n",
           AWSTOPO_VERSION, s->config_id, account);
    cfn_kv owner = { TAG_CONFIG, s->config_id };
    int existed = 0;
    if (stackset_remove(&sc, STACKSET_INSTALL_NAME, &owner, &existed, err, errlen) < 0) return -1;
    if (!existed) printf("stack set %s: not there\n", STACKSET_INSTALL_NAME);
    bucket_prefix(prefix, sizeof prefix, s->config_id, account);
    return remove_buckets(s, prefix, err, errlen);
}
