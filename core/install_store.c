/* install_store.c -- the installer's bucket, package and API key parameter
 * (see install_store.h). */
#include "install_store.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static cJSON *call(const cfn_ctx *c, const char *service, const char *op, cJSON *params, aws_call_error *e)
{
    return aws_call_cjson(c->client, c->models, service, op, params, NULL, e);
}

static cJSON *with_string(const char *key, const char *value)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, key, value);
    return p;
}

static cJSON *tag_list(const cfn_kv *tags, size_t ntags)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < ntags; i++) {
        cJSON *t = with_string("Key", tags[i].key);
        cJSON_AddStringToObject(t, "Value", tags[i].value);
        cJSON_AddItemToArray(a, t);
    }
    return a;
}

int store_account_id(const cfn_ctx *c, char *account, size_t len, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = call(c, "sts", "GetCallerIdentity", NULL, &e);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Account"));
    int rc = id ? 0 : set_err(err, errlen, "sts GetCallerIdentity: %s: %s", r ? "no account" : e.code, e.message);
    if (id) snprintf(account, len, "%s", id);
    cJSON_Delete(r);
    return rc;
}

void store_bucket_name(char *out, size_t len, const char *config_id, const char *account, const char *region)
{
    char name[64];
    /* the variable part (the configuration id) gives way to the 63-byte limit */
    size_t fixed = strlen("stackstate-topo--") + strlen(account) + 1 + strlen(region);
    int room = fixed < 62 ? (int)(62 - fixed) : 1;
    snprintf(name, sizeof name, "stackstate-topo-%.*s-%s-%s", room, config_id, account, region);
    for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
    snprintf(out, len, "%s", name);
}

int store_bucket_exists(const cfn_ctx *c, const char *bucket, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = call(c, "s3", "HeadBucket", with_string("Bucket", bucket), &e);
    cJSON_Delete(r);
    if (r) return 1;
    if (e.status == 404) return 0;
    if (e.status == 403)
        return set_err(err, errlen, "bucket %s exists but these credentials may not use it (403)", bucket);
    return set_err(err, errlen, "s3 HeadBucket %s: %s: %s", bucket, e.code, e.message);
}

static int bucket_setup(const cfn_ctx *c, const char *bucket, const cfn_kv *tags, size_t ntags,
                        char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *p = with_string("Bucket", bucket), *block = cJSON_AddObjectToObject(p, "PublicAccessBlockConfiguration");
    const char *flags[] = { "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets" };
    for (size_t i = 0; i < 4; i++) cJSON_AddTrueToObject(block, flags[i]);
    cJSON *r = call(c, "s3", "PutPublicAccessBlock", p, &e);
    if (!r) return set_err(err, errlen, "s3 PutPublicAccessBlock %s: %s: %s", bucket, e.code, e.message);
    cJSON_Delete(r);
    p = with_string("Bucket", bucket);
    cJSON_AddItemToObject(cJSON_AddObjectToObject(p, "Tagging"), "TagSet", tag_list(tags, ntags));
    r = call(c, "s3", "PutBucketTagging", p, &e);
    if (!r) return set_err(err, errlen, "s3 PutBucketTagging %s: %s: %s", bucket, e.code, e.message);
    cJSON_Delete(r);
    return 0;
}

int store_bucket_create(const cfn_ctx *c, const char *bucket, const cfn_kv *tags, size_t ntags,
                        char *err, size_t errlen)
{
    const char *region = client_region(c->client);
    cJSON *p = with_string("Bucket", bucket);
    if (region && strcmp(region, "us-east-1") != 0)   /* S3 wants no constraint for us-east-1 only */
        cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "CreateBucketConfiguration"), "LocationConstraint", region);
    aws_call_error e;
    cJSON *r = call(c, "s3", "CreateBucket", p, &e);
    if (!r) return set_err(err, errlen, "s3 CreateBucket %s: %s: %s", bucket, e.code, e.message);
    cJSON_Delete(r);
    return bucket_setup(c, bucket, tags, ntags, err, errlen);
}

/* One page of versions and delete markers into objects; returns how many. */
static int list_versions(const cfn_ctx *c, const char *bucket, cJSON *objects, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = call(c, "s3", "ListObjectVersions", with_string("Bucket", bucket), &e);
    if (!r) return set_err(err, errlen, "s3 ListObjectVersions %s: %s: %s", bucket, e.code, e.message);
    const char *lists[] = { "Versions", "DeleteMarkers" };
    int n = 0;
    for (size_t i = 0; i < 2; i++) {
        cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(r, lists[i])) {
            const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "Key"));
            const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "VersionId"));
            if (!key || n >= 1000) continue;   /* DeleteObjects takes 1000 at a time */
            cJSON *o = with_string("Key", key);
            if (ver) cJSON_AddStringToObject(o, "VersionId", ver);
            cJSON_AddItemToArray(objects, o);
            n++;
        }
    }
    cJSON_Delete(r);
    return n;
}

static int empty_bucket(const cfn_ctx *c, const char *bucket, size_t *deleted, char *err, size_t errlen)
{
    for (;;) {
        cJSON *p = with_string("Bucket", bucket), *del = cJSON_AddObjectToObject(p, "Delete");
        cJSON *objects = cJSON_AddArrayToObject(del, "Objects");
        cJSON_AddTrueToObject(del, "Quiet");
        int n = list_versions(c, bucket, objects, err, errlen);
        if (n <= 0) {
            cJSON_Delete(p);
            return n;
        }
        aws_call_error e;
        cJSON *r = call(c, "s3", "DeleteObjects", p, &e);
        if (!r) return set_err(err, errlen, "s3 DeleteObjects %s: %s: %s", bucket, e.code, e.message);
        cJSON *errors = cJSON_GetObjectItemCaseSensitive(r, "Errors");
        if (cJSON_GetArraySize(errors) > 0) {
            const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errors, 0), "Message"));
            set_err(err, errlen, "s3 DeleteObjects %s: %d objects not deleted: %s", bucket,
                    cJSON_GetArraySize(errors), m ? m : "");
            cJSON_Delete(r);
            return -1;
        }
        cJSON_Delete(r);
        *deleted += (size_t)n;
    }
}

int store_bucket_remove(const cfn_ctx *c, const char *bucket, int *existed, size_t *deleted_objects,
                        char *err, size_t errlen)
{
    *deleted_objects = 0;
    *existed = store_bucket_exists(c, bucket, err, errlen);
    if (*existed <= 0) return *existed;
    if (empty_bucket(c, bucket, deleted_objects, err, errlen) < 0) return -1;
    aws_call_error e;
    cJSON *r = call(c, "s3", "DeleteBucket", with_string("Bucket", bucket), &e);
    if (!r && e.status != 404) return set_err(err, errlen, "s3 DeleteBucket %s: %s: %s", bucket, e.code, e.message);
    cJSON_Delete(r);
    return 0;
}

/* S3's x-amz-tagging header is a URL query: key=value&key=value. */
static void tagging_query(buf *q, const cfn_kv *tags, size_t ntags)
{
    for (size_t i = 0; i < ntags; i++) {
        const char *parts[2] = { tags[i].key, tags[i].value };
        if (i) buf_putc(q, '&');
        for (int k = 0; k < 2; k++) {
            if (k) buf_putc(q, '=');
            for (const unsigned char *s = (const unsigned char *)parts[k]; *s; s++) {
                if (isalnum(*s) || strchr("-_.~", *s)) buf_putc(q, (char)*s);
                else buf_printf(q, "%%%02X", *s);
            }
        }
    }
}

int store_put_object(const cfn_ctx *c, const char *bucket, const char *key, const buf *data, const cfn_kv *tags,
                     size_t ntags, int *uploaded, char *err, size_t errlen)
{
    *uploaded = 0;
    cJSON *p = with_string("Bucket", bucket);
    cJSON_AddStringToObject(p, "Key", key);
    aws_call_error e;
    cJSON *r = call(c, "s3", "HeadObject", p, &e);
    cJSON_Delete(r);
    if (r) return 0;
    if (e.status != 404) return set_err(err, errlen, "s3 HeadObject %s/%s: %s: %s", bucket, key, e.code, e.message);
    buf q = {0};
    tagging_query(&q, tags, ntags);
    p = with_string("Bucket", bucket);
    cJSON_AddStringToObject(p, "Key", key);
    cJSON_AddStringToObject(p, "Tagging", buf_cstr(&q));
    buf_free(&q);
    char *json = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    char *out = aws_call_json_blob(c->client, c->models, "s3", "PutObject", json, "Body", data->data, data->len,
                                   NULL, &e);
    free(json);
    if (!out) return set_err(err, errlen, "s3 PutObject %s/%s: %s: %s", bucket, key, e.code, e.message);
    free(out);
    *uploaded = 1;
    return 0;
}

int store_put_secret(const cfn_ctx *c, const char *name, const char *value, const cfn_kv *tags, size_t ntags,
                     int *created, char *err, size_t errlen)
{
    cJSON *p = with_string("Name", name);
    cJSON_AddStringToObject(p, "Value", value);
    cJSON_AddStringToObject(p, "Type", "SecureString");
    cJSON_AddStringToObject(p, "Description", "StackState API key of awstopo's Lambda functions");
    cJSON_AddTrueToObject(p, "Overwrite");
    aws_call_error e;
    cJSON *r = call(c, "ssm", "PutParameter", p, &e);   /* the value is wiped from the request text */
    if (!r) return set_err(err, errlen, "ssm PutParameter %s: %s: %s", name, e.code, e.message);
    *created = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "Version")) == 1;
    cJSON_Delete(r);
    /* PutParameter takes no Tags together with Overwrite: tagged apart */
    p = with_string("ResourceType", "Parameter");
    cJSON_AddStringToObject(p, "ResourceId", name);
    cJSON_AddItemToObject(p, "Tags", tag_list(tags, ntags));
    r = call(c, "ssm", "AddTagsToResource", p, &e);
    if (!r) return set_err(err, errlen, "ssm AddTagsToResource %s: %s: %s", name, e.code, e.message);
    cJSON_Delete(r);
    return 0;
}

int store_delete_secret(const cfn_ctx *c, const char *name, int *existed, char *err, size_t errlen)
{
    aws_call_error e;
    cJSON *r = call(c, "ssm", "DeleteParameter", with_string("Name", name), &e);
    *existed = r != NULL;
    cJSON_Delete(r);
    if (r || strcmp(e.code, "ParameterNotFound") == 0) return 0;
    return set_err(err, errlen, "ssm DeleteParameter %s: %s: %s", name, e.code, e.message);
}

void store_package_key(const buf *zip, char *key, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(zip->data, zip->len, md, &n, EVP_sha256(), NULL);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < n; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    hex[2 * n] = 0;
    snprintf(key, len, "awstopo/awstopo-lambda-%s.zip", hex);
}

int store_bucket_org_read(const cfn_ctx *c, const char *bucket, const char *prefix, const char *org_id,
                          char *err, size_t errlen)
{
    cJSON *doc = cJSON_CreateObject(), *st = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "Version", "2012-10-17");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "Statement"), st);
    cJSON_AddStringToObject(st, "Sid", "OrganizationReadsLambdaCode");
    cJSON_AddStringToObject(st, "Effect", "Allow");
    cJSON_AddStringToObject(st, "Principal", "*");
    cJSON_AddStringToObject(st, "Action", "s3:GetObject");
    buf res = {0};
    buf_printf(&res, "arn:aws:s3:::%s/%s*", bucket, prefix);
    cJSON_AddStringToObject(st, "Resource", buf_cstr(&res));
    buf_free(&res);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "Condition"), "StringEquals"),
                            "aws:PrincipalOrgID", org_id);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    cJSON *p = with_string("Bucket", bucket);
    cJSON_AddStringToObject(p, "Policy", text);
    cJSON_free(text);
    aws_call_error e;
    cJSON *r = call(c, "s3", "PutBucketPolicy", p, &e);
    if (!r) return set_err(err, errlen, "s3 PutBucketPolicy %s: %s: %s", bucket, e.code, e.message);
    cJSON_Delete(r);
    return 0;
}

int store_list_buckets(const cfn_ctx *c, const char *prefix, strlist *names, strlist *regions, char *err,
                       size_t errlen)
{
    aws_call_error e;
    cJSON *r = call(c, "s3", "ListBuckets", with_string("Prefix", prefix), &e), *b;
    if (!r) return set_err(err, errlen, "s3 ListBuckets: %s: %s", e.code, e.message);
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(r, "Buckets")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "Name"));
        const char *region = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "BucketRegion"));
        if (!name || strncmp(name, prefix, strlen(prefix)) != 0) continue;
        strlist_add(names, name);
        strlist_add(regions, region && *region ? region : "");
    }
    cJSON_Delete(r);
    return 0;
}
