/* install_store.h -- what `awstopo install` keeps outside the stacks: the S3
 * bucket holding the Lambda package, and the StackState API key as an SSM
 * SecureString (CloudFormation cannot create one, and a template parameter
 * or a function's environment would show the key in plain text).
 *
 * Every call goes through the cfn_ctx's client; errors are returned in err
 * (never with the API key in them), nothing is printed.
 */
#ifndef AWSTOPO_INSTALL_STORE_H
#define AWSTOPO_INSTALL_STORE_H

#include "buf.h"
#include "cfn.h"
#include "util.h"

/* The account id of the credentials (sts GetCallerIdentity). */
int store_account_id(const cfn_ctx *c, char *account, size_t len, char *err, size_t errlen);

/* The name of the bucket awstopo creates for a configuration:
 * stackstate-topo-<config>-<account>-<region>, lower case, at most 63 bytes. */
void store_bucket_name(char *out, size_t len, const char *config_id, const char *account, const char *region);

/* 1 when the bucket exists (and is reachable), 0 when it does not, -1 error. */
int store_bucket_exists(const cfn_ctx *c, const char *bucket, char *err, size_t errlen);

/* Creates the bucket in the client's region, blocks public access, tags it. */
int store_bucket_create(const cfn_ctx *c, const char *bucket, const cfn_kv *tags, size_t ntags,
                        char *err, size_t errlen);

/* Deletes every object version and delete marker, then the bucket. A bucket
 * that does not exist is fine (*deleted_objects 0, *existed 0). */
int store_bucket_remove(const cfn_ctx *c, const char *bucket, int *existed, size_t *deleted_objects,
                        char *err, size_t errlen);

/* Uploads data under key unless an object of that key exists already (keys
 * are content-addressed); *uploaded says which. Tagged with tags. */
int store_put_object(const cfn_ctx *c, const char *bucket, const char *key, const buf *data, const cfn_kv *tags,
                     size_t ntags, int *uploaded, char *err, size_t errlen);

/* The package's content-addressed key: awstopo/awstopo-lambda-<sha256>.zip. */
void store_package_key(const buf *zip, char *key, size_t len);

/* Sets the bucket's policy: every principal of the AWS Organization org_id
 * may s3:GetObject under prefix (Principal "*" with aws:PrincipalOrgID), so
 * that CloudFormation in the organization's accounts can give Lambda its code. */
int store_bucket_org_read(const cfn_ctx *c, const char *bucket, const char *prefix, const char *org_id,
                          char *err, size_t errlen);

/* The credentials' buckets whose names start with prefix (s3 ListBuckets):
 * names and their regions, appended to the lists in the same order. */
int store_list_buckets(const cfn_ctx *c, const char *prefix, strlist *names, strlist *regions, char *err,
                       size_t errlen);

/* Writes value as SecureString name (overwriting), tagged. *created is 1
 * when the parameter did not exist before. */
int store_put_secret(const cfn_ctx *c, const char *name, const char *value, const cfn_kv *tags, size_t ntags,
                     int *created, char *err, size_t errlen);

/* Deletes the parameter; one that does not exist is fine (*existed 0). */
int store_delete_secret(const cfn_ctx *c, const char *name, int *existed, char *err, size_t errlen);

#endif
