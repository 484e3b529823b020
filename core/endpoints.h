/* endpoints.h -- where to send a request for (service, region), and how to sign it.
 *
 * The data is botocore's endpoints.json (the project ships a trimmed copy in
 * models/endpoints.json, made by tools/gen-models.py; a full botocore file works
 * too). Resolution follows botocore's EndpointResolver (regions.py):
 *
 *   1. the partition: the first whose service entry lists the region as an
 *      endpoint, else the first whose "regions" contain it or whose regionRegex
 *      matches it (aws, aws-cn, aws-us-gov, the iso partitions, ...);
 *   2. the service entry, keyed by the model's endpointPrefix; a service the
 *      data does not know is treated as regional everywhere;
 *   3. a non-regionalized service (isRegionalized false: route53, iam,
 *      cloudfront...) uses its partitionEndpoint ("aws-global") whatever the
 *      region: route53 -> route53.amazonaws.com, signed for us-east-1; in aws-cn
 *      route53.amazonaws.com.cn, signed for cn-northwest-1;
 *   4. the hostname: the endpoint entry's own, else the service's default, else
 *      the partition's template "{service}.{region}.{dnsSuffix}";
 *   5. credentialScope (region, service) overrides the signing region / name.
 *
 * Quirks kept as the SDKs have them:
 *   - S3 in us-east-1 goes to the global s3.amazonaws.com unless
 *     AWS_S3_US_EAST_1_REGIONAL_ENDPOINT=regional; elsewhere s3.<region>.<dnsSuffix>.
 *     Buckets are addressed PATH-STYLE (https://s3.eu-west-1.amazonaws.com/bucket/key):
 *     the endpoint is the same for every bucket, which keeps connection reuse and
 *     this resolver simple. (Virtual-hosted style is not implemented.)
 *   - STS is regional (the SDKs' default since 2024); AWS_STS_REGIONAL_ENDPOINTS=legacy
 *     sends the 16 historical regions to the global sts.amazonaws.com. Region
 *     "aws-global" names the global endpoint explicitly (sts, iam, s3, route53...).
 *
 * Overrides, as in the AWS SDKs (first one set wins):
 *   1. override_url (the --endpoint-url argument);
 *   2. AWS_ENDPOINT_URL_<SERVICE>, SERVICE = the model's serviceId upper-cased with
 *      spaces and dashes turned into '_' (AWS_ENDPOINT_URL_DYNAMODB,
 *      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2);
 *   3. AWS_ENDPOINT_URL.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables 2 and 3 (not 1). An override
 * is "scheme://host[:port][/base/path]"; it is signed for the region asked for
 * (us-east-1 when none), with the model's signing name.
 *
 * The model's globalEndpoint is not used: the endpoint data is authoritative
 * (s3 and sts carry a globalEndpoint yet are regional).
 *
 * Not implemented: FIPS and dual-stack variants (AWS_USE_FIPS_ENDPOINT,
 * AWS_USE_DUALSTACK_ENDPOINT), the settings of ~/.aws/config (services sections,
 * endpoint_url, sts_regional_endpoints): environment only.
 */
#ifndef AWSTOPO_ENDPOINTS_H
#define AWSTOPO_ENDPOINTS_H

#include <stddef.h>

#include "model.h"

typedef struct endpoints endpoints;

/* Reads an endpoints.json. Returns NULL with the reason in err on failure.
 * Caller frees with endpoints_free. Read-only afterwards: safe to share. */
endpoints *endpoints_load(const char *path, char *err, size_t errlen);
void endpoints_free(endpoints *e);

/* A resolved endpoint. Every string is owned by the struct (endpoint_free). */
typedef struct endpoint {
    char *url;            /* scheme://host[:port]base_path (no trailing '/') */
    char *scheme;         /* "https" or "http" */
    char *host;           /* host[:port] as for the Host header; default port dropped;
                             an IPv6 literal keeps its brackets */
    char *base_path;      /* "" or "/prefix" from an override URL; no trailing '/'.
                             Request paths are appended to it. */
    char *signing_region; /* SigV4 credential-scope region */
    char *signing_name;   /* SigV4 credential-scope service */
    char *partition;      /* "aws", "aws-cn", "aws-us-gov", ... */
    char *source;         /* where it came from: "endpoints.json", "--endpoint-url",
                             or the environment variable's name */
} endpoint;

/* Resolves where requests of model m for region go. region may be NULL only
 * for a service with a partition endpoint (the aws partition's is used) or
 * with an override. override_url: the --endpoint-url argument, or NULL/"".
 * Reads the environment (see above). e may be NULL when an override is set.
 * Returns 0 and fills *out (caller frees with endpoint_free), or -1 with the
 * reason in err and *out zeroed. */
int endpoint_resolve(const endpoints *e, const aws_model *m, const char *region,
                     const char *override_url, endpoint *out, char *err, size_t errlen);
void endpoint_free(endpoint *ep);

/* The name of the partition region belongs to ("aws", "aws-cn", "aws-us-gov",
 * ...), by its region list or regionRegex; NULL when none. Owned by e.
 * Mappings build ARNs with it: arn:<partition>:... */
const char *partition_for_region(const endpoints *e, const char *region);

/* The DNS suffix of a partition ("amazonaws.com", "amazonaws.com.cn"), or NULL.
 * Owned by e. */
const char *partition_dns_suffix(const endpoints *e, const char *partition);

/* The regions of `partition` in which the service with this endpointPrefix is
 * available (for --all-regions), in the data's order, as a NULL-terminated
 * array whose count goes to *n (n may be NULL). A non-regionalized service
 * yields one region: the one its global endpoint is signed for (us-east-1 for
 * route53 in aws), so it is called once. A service the data does not know
 * yields all the partition's regions. NULL for an unknown partition.
 * Caller frees the array with free(); the strings are owned by e. */
const char **endpoints_regions(const endpoints *e, const char *partition,
                               const char *endpoint_prefix, size_t *n);

/* 1 when the service is non-regionalized in that partition (one global endpoint). */
int endpoints_is_global(const endpoints *e, const char *partition, const char *endpoint_prefix);

#endif
