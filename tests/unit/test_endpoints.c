/* test_endpoints.c -- endpoint resolution against the shipped models/endpoints.json.
 *
 * Run from the repository root (tests/run does). The models are built by hand
 * here: only the metadata fields the resolver reads are set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "testlib.h"

static const aws_model ec2 = { .service = "ec2", .endpoint_prefix = "ec2",
                               .signing_name = "ec2", .service_id = "EC2" };
static const aws_model route53 = { .service = "route53", .endpoint_prefix = "route53",
                                   .signing_name = "route53", .service_id = "Route 53",
                                   .global_endpoint = "route53.amazonaws.com" };
static const aws_model sts = { .service = "sts", .endpoint_prefix = "sts",
                               .signing_name = "sts", .service_id = "STS",
                               .global_endpoint = "sts.amazonaws.com" };
static const aws_model s3 = { .service = "s3", .endpoint_prefix = "s3", .signing_name = "s3",
                              .service_id = "S3", .signature_version = "s3" };
static const aws_model elbv2 = { .service = "elbv2", .endpoint_prefix = "elasticloadbalancing",
                                 .signing_name = "elasticloadbalancing",
                                 .service_id = "Elastic Load Balancing v2" };
static const aws_model cloudwatch = { .service = "cloudwatch", .endpoint_prefix = "monitoring",
                                      .signing_name = "monitoring", .service_id = "CloudWatch" };
static const aws_model dynamodb = { .service = "dynamodb", .endpoint_prefix = "dynamodb",
                                    .signing_name = "dynamodb", .service_id = "DynamoDB" };
static const aws_model iam = { .service = "iam", .endpoint_prefix = "iam",
                               .signing_name = "iam", .service_id = "IAM" };
static const aws_model newsvc = { .service = "newsvc", .endpoint_prefix = "newsvc",
                                  .service_id = "New Service-X" };

static const char *const env_vars[] = {
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_ENDPOINT_URL_ROUTE_53",
    "AWS_ENDPOINT_URL_NEW_SERVICE_X", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_STS_REGIONAL_ENDPOINTS", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", NULL
};

static void clear_env(void)
{
    for (const char *const *v = env_vars; *v; v++)
        unsetenv(*v);
}

static const endpoints *E;
static char err[512];

/* Resolves and checks url, signing region, partition (NULL = don't check). */
#define EXPECT(model, region, override, want_url, want_sr, want_part)                 \
    do {                                                                              \
        endpoint ep_;                                                                 \
        int rc_ = endpoint_resolve(E, &(model), (region), (override), &ep_, err,      \
                                   sizeof err);                                       \
        CHECK(rc_ == 0, "%s %s: %s", #model, (region) ? (region) : "(null)", err);    \
        if (rc_ == 0) {                                                               \
            CHECK_STR(ep_.url, want_url);                                             \
            CHECK_STR(ep_.signing_region, want_sr);                                   \
            if (want_part)                                                            \
                CHECK_STR(ep_.partition, (const char *)(want_part));                  \
        }                                                                             \
        endpoint_free(&ep_);                                                          \
    } while (0)

#define EXPECT_FAIL(e, model, region, override, want_in_err)                          \
    do {                                                                              \
        endpoint ep_;                                                                 \
        err[0] = 0;                                                                   \
        int rc_ = endpoint_resolve((e), &(model), (region), (override), &ep_, err,    \
                                   sizeof err);                                       \
        CHECK(rc_ == -1, "%s %s should fail", #model, (region) ? (region) : "(null)"); \
        CHECK(strstr(err, want_in_err) != NULL, "error \"%s\" lacks \"%s\"", err,     \
              want_in_err);                                                           \
        CHECK(ep_.url == NULL && ep_.host == NULL, "failed resolve leaves *out zeroed"); \
        endpoint_free(&ep_);                                                          \
    } while (0)

static void test_load_errors(void)
{
    endpoints *e = endpoints_load("/nonexistent/endpoints.json", err, sizeof err);
    CHECK(e == NULL, "missing file");
    CHECK(strstr(err, "/nonexistent/endpoints.json") != NULL, "error names the file: %s", err);

    const char *path = "/tmp/awstopo-test-endpoints.json";
    FILE *f = fopen(path, "w");
    fputs("{\"partitions\": [", f);
    fclose(f);
    e = endpoints_load(path, err, sizeof err);
    CHECK(e == NULL && strstr(err, "not valid JSON"), "bad JSON: %s", err);

    f = fopen(path, "w");
    fputs("{\"version\": 3}", f);
    fclose(f);
    e = endpoints_load(path, err, sizeof err);
    CHECK(e == NULL && strstr(err, "partitions"), "no partitions: %s", err);
    remove(path);
}

static void test_regional(void)
{
    EXPECT(ec2, "us-east-1", NULL, "https://ec2.us-east-1.amazonaws.com", "us-east-1", "aws");
    EXPECT(ec2, "eu-west-1", NULL, "https://ec2.eu-west-1.amazonaws.com", "eu-west-1", "aws");
    EXPECT(ec2, "cn-north-1", NULL, "https://ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn");
    EXPECT(ec2, "us-gov-west-1", NULL, "https://ec2.us-gov-west-1.amazonaws.com", "us-gov-west-1",
           "aws-us-gov");
    EXPECT(ec2, "us-iso-east-1", NULL, "https://ec2.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", "aws-iso");
    EXPECT(elbv2, "eu-central-1", NULL, "https://elasticloadbalancing.eu-central-1.amazonaws.com",
           "eu-central-1", "aws");
    EXPECT(elbv2, "cn-northwest-1", NULL,
           "https://elasticloadbalancing.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", "aws-cn");
    EXPECT(cloudwatch, "us-west-2", NULL, "https://monitoring.us-west-2.amazonaws.com", "us-west-2", "aws");

    /* every field, once */
    endpoint ep;
    int rc = endpoint_resolve(E, &elbv2, "eu-west-1", NULL, &ep, err, sizeof err);
    CHECK(rc == 0, "elbv2: %s", err);
    CHECK_STR(ep.scheme, "https");
    CHECK_STR(ep.host, "elasticloadbalancing.eu-west-1.amazonaws.com");
    CHECK_STR(ep.base_path, "");
    CHECK_STR(ep.signing_name, "elasticloadbalancing");
    CHECK_STR(ep.source, "endpoints.json");
    endpoint_free(&ep);
    CHECK(ep.url == NULL, "endpoint_free zeroes");
    endpoint_free(&ep); /* twice is harmless */
}

static void test_global(void)
{
    EXPECT(route53, "eu-west-1", NULL, "https://route53.amazonaws.com", "us-east-1", "aws");
    EXPECT(route53, "us-west-2", NULL, "https://route53.amazonaws.com", "us-east-1", "aws");
    EXPECT(route53, "ap-southeast-2", NULL, "https://route53.amazonaws.com", "us-east-1", "aws");
    EXPECT(route53, NULL, NULL, "https://route53.amazonaws.com", "us-east-1", "aws");
    EXPECT(route53, "cn-north-1", NULL, "https://route53.amazonaws.com.cn", "cn-northwest-1", "aws-cn");
    EXPECT(route53, "us-gov-east-1", NULL, "https://route53.us-gov.amazonaws.com", "us-gov-west-1",
           "aws-us-gov");
    /* a global service whose model the user added: its entry is in the data */
    EXPECT(iam, "eu-west-1", NULL, "https://iam.amazonaws.com", "us-east-1", "aws");
    EXPECT(iam, "cn-north-1", NULL, "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn");
    EXPECT(iam, "aws-global", NULL, "https://iam.amazonaws.com", "us-east-1", "aws");
}

static void test_sts(void)
{
    EXPECT(sts, "eu-west-1", NULL, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", "aws");
    EXPECT(sts, "us-east-1", NULL, "https://sts.us-east-1.amazonaws.com", "us-east-1", "aws");
    EXPECT(sts, "cn-north-1", NULL, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn");
    EXPECT(sts, "aws-global", NULL, "https://sts.amazonaws.com", "us-east-1", "aws");
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy", 1);
    EXPECT(sts, "eu-west-1", NULL, "https://sts.amazonaws.com", "us-east-1", "aws");
    EXPECT(sts, "ap-east-1", NULL, "https://sts.ap-east-1.amazonaws.com", "ap-east-1", "aws");
    EXPECT(sts, "cn-north-1", NULL, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn");
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional", 1);
    EXPECT(sts, "eu-west-1", NULL, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", "aws");
    clear_env();
}

static void test_s3(void)
{
    EXPECT(s3, "us-east-1", NULL, "https://s3.amazonaws.com", "us-east-1", "aws");
    EXPECT(s3, "eu-west-1", NULL, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", "aws");
    EXPECT(s3, "us-west-2", NULL, "https://s3.us-west-2.amazonaws.com", "us-west-2", "aws");
    EXPECT(s3, "cn-north-1", NULL, "https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn");
    EXPECT(s3, "eu-future-9", NULL, "https://s3.eu-future-9.amazonaws.com", "eu-future-9", "aws");
    setenv("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "regional", 1);
    EXPECT(s3, "us-east-1", NULL, "https://s3.us-east-1.amazonaws.com", "us-east-1", "aws");
    clear_env();
}

static void test_unknown_regions(void)
{
    /* not in any region list, but matching a partition's regionRegex */
    EXPECT(ec2, "eu-future-9", NULL, "https://ec2.eu-future-9.amazonaws.com", "eu-future-9", "aws");
    EXPECT(ec2, "cn-south-7", NULL, "https://ec2.cn-south-7.amazonaws.com.cn", "cn-south-7", "aws-cn");
    EXPECT(ec2, "us-gov-central-3", NULL, "https://ec2.us-gov-central-3.amazonaws.com",
           "us-gov-central-3", "aws-us-gov");
    EXPECT(route53, "mx-future-2", NULL, "https://route53.amazonaws.com", "us-east-1", "aws");
    /* a service the data does not know: the partition template */
    EXPECT(newsvc, "eu-west-1", NULL, "https://newsvc.eu-west-1.amazonaws.com", "eu-west-1", "aws");

    EXPECT_FAIL(E, ec2, "moon-base-1", NULL, "unknown region \"moon-base-1\"");
    EXPECT_FAIL(E, ec2, "eu-west-1.evil.example", NULL, "invalid region");
    EXPECT_FAIL(E, ec2, "us-east-1/x", NULL, "invalid region");
    EXPECT_FAIL(E, ec2, "", NULL, "no region");
    EXPECT_FAIL(E, ec2, NULL, NULL, "no region");
    EXPECT_FAIL(NULL, ec2, "us-east-1", NULL, "no endpoint data");
}

static void test_env_overrides(void)
{
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    endpoint ep;
    int rc = endpoint_resolve(E, &ec2, "eu-west-1", NULL, &ep, err, sizeof err);
    CHECK(rc == 0, "generic override: %s", err);
    CHECK_STR(ep.url, "http://127.0.0.1:4566");
    CHECK_STR(ep.scheme, "http");
    CHECK_STR(ep.host, "127.0.0.1:4566");
    CHECK_STR(ep.base_path, "");
    CHECK_STR(ep.signing_region, "eu-west-1");
    CHECK_STR(ep.signing_name, "ec2");
    CHECK_STR(ep.partition, "aws");
    CHECK_STR(ep.source, "AWS_ENDPOINT_URL");
    endpoint_free(&ep);
    /* global services are signed for the region asked for, as the SDKs do */
    EXPECT(route53, "eu-west-1", NULL, "http://127.0.0.1:4566", "eu-west-1", "aws");
    EXPECT(ec2, "cn-north-1", NULL, "http://127.0.0.1:4566", "cn-north-1", "aws-cn");
    EXPECT(ec2, NULL, NULL, "http://127.0.0.1:4566", "us-east-1", "aws");

    /* service-specific beats generic */
    setenv("AWS_ENDPOINT_URL_EC2", "http://localhost:9000", 1);
    setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "https://elb.local", 1);
    setenv("AWS_ENDPOINT_URL_ROUTE_53", "http://r53.local:81", 1);
    setenv("AWS_ENDPOINT_URL_NEW_SERVICE_X", "http://new.local", 1);
    EXPECT(ec2, "us-east-1", NULL, "http://localhost:9000", "us-east-1", "aws");
    EXPECT(elbv2, "us-east-1", NULL, "https://elb.local", "us-east-1", "aws");
    EXPECT(route53, "us-east-1", NULL, "http://r53.local:81", "us-east-1", "aws");
    EXPECT(newsvc, "us-east-1", NULL, "http://new.local", "us-east-1", "aws");
    EXPECT(dynamodb, "us-east-1", NULL, "http://127.0.0.1:4566", "us-east-1", "aws");
    rc = endpoint_resolve(E, &elbv2, "us-east-1", NULL, &ep, err, sizeof err);
    CHECK(rc == 0 && strcmp(ep.source, "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2") == 0,
          "source names the variable: %s", rc == 0 ? ep.source : err);
    endpoint_free(&ep);
    /* an empty variable counts as unset */
    setenv("AWS_ENDPOINT_URL_EC2", "", 1);
    EXPECT(ec2, "us-east-1", NULL, "http://127.0.0.1:4566", "us-east-1", "aws");

    /* the ignore flag disables both; --endpoint-url still wins */
    setenv("AWS_ENDPOINT_URL_EC2", "http://localhost:9000", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    EXPECT(ec2, "us-east-1", NULL, "https://ec2.us-east-1.amazonaws.com", "us-east-1", "aws");
    EXPECT(dynamodb, "us-east-1", NULL, "https://dynamodb.us-east-1.amazonaws.com", "us-east-1", "aws");
    EXPECT(ec2, "us-east-1", "http://127.0.0.2:1234", "http://127.0.0.2:1234", "us-east-1", "aws");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
    EXPECT(ec2, "us-east-1", NULL, "https://ec2.us-east-1.amazonaws.com", "us-east-1", "aws");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    EXPECT(ec2, "us-east-1", NULL, "http://localhost:9000", "us-east-1", "aws");

    /* --endpoint-url beats both variables */
    rc = endpoint_resolve(E, &ec2, "eu-west-1", "https://vpce.example.com", &ep, err, sizeof err);
    CHECK(rc == 0, "explicit: %s", err);
    CHECK_STR(ep.url, "https://vpce.example.com");
    CHECK_STR(ep.source, "--endpoint-url");
    endpoint_free(&ep);
    /* an empty --endpoint-url is no override */
    EXPECT(ec2, "us-east-1", "", "http://localhost:9000", "us-east-1", "aws");
    clear_env();

    /* overrides work without endpoint data */
    endpoint ep2;
    rc = endpoint_resolve(NULL, &ec2, "eu-west-1", "http://127.0.0.1:1", &ep2, err, sizeof err);
    CHECK(rc == 0 && strcmp(ep2.host, "127.0.0.1:1") == 0, "override with no data: %s", err);
    CHECK(rc == 0 && strcmp(ep2.partition, "aws") == 0, "partition defaults to aws");
    endpoint_free(&ep2);
}

static void test_override_urls(void)
{
    endpoint ep;
    int rc = endpoint_resolve(E, &ec2, "us-east-1", "https://proxy.example.com:8443/aws/ec2/",
                              &ep, err, sizeof err);
    CHECK(rc == 0, "path prefix: %s", err);
    CHECK_STR(ep.scheme, "https");
    CHECK_STR(ep.host, "proxy.example.com:8443");
    CHECK_STR(ep.base_path, "/aws/ec2");
    CHECK_STR(ep.url, "https://proxy.example.com:8443/aws/ec2");
    endpoint_free(&ep);

    rc = endpoint_resolve(E, &ec2, "us-east-1", "HTTP://[::1]:8080/p", &ep, err, sizeof err);
    CHECK(rc == 0, "ipv6: %s", err);
    CHECK_STR(ep.scheme, "http");
    CHECK_STR(ep.host, "[::1]:8080");
    CHECK_STR(ep.base_path, "/p");
    endpoint_free(&ep);

    /* default ports are dropped (the Host header and SigV4 omit them) */
    EXPECT(ec2, "us-east-1", "https://h.example:443/", "https://h.example", "us-east-1", "aws");
    EXPECT(ec2, "us-east-1", "http://h.example:80", "http://h.example", "us-east-1", "aws");
    EXPECT(ec2, "us-east-1", "http://h.example:443", "http://h.example:443", "us-east-1", "aws");

    EXPECT_FAIL(E, ec2, "us-east-1", "localhost:4566", "must start with http");
    EXPECT_FAIL(E, ec2, "us-east-1", "ftp://h.example", "must start with http");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://:80", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://h:99999", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://h:0", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://h:8a", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://user:pw@h", "user name");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://[zz]:1", "no valid host");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://h/?x=1", "query");
    EXPECT_FAIL(E, ec2, "us-east-1", "http://h#f", "query");
    EXPECT_FAIL(E, ec2, "bad region!", "http://h", "invalid region");
    /* a bad variable fails with the variable's name in the message */
    setenv("AWS_ENDPOINT_URL_EC2", "nonsense", 1);
    EXPECT_FAIL(E, ec2, "us-east-1", NULL, "AWS_ENDPOINT_URL_EC2");
    clear_env();
}

static void test_partitions(void)
{
    CHECK_STR(partition_for_region(E, "us-east-1"), "aws");
    CHECK_STR(partition_for_region(E, "eu-west-3"), "aws");
    CHECK_STR(partition_for_region(E, "il-central-1"), "aws");
    CHECK_STR(partition_for_region(E, "eu-future-9"), "aws");
    CHECK_STR(partition_for_region(E, "cn-north-1"), "aws-cn");
    CHECK_STR(partition_for_region(E, "cn-northwest-1"), "aws-cn");
    CHECK_STR(partition_for_region(E, "us-gov-west-1"), "aws-us-gov");
    CHECK_STR(partition_for_region(E, "us-gov-east-1"), "aws-us-gov");
    CHECK_STR(partition_for_region(E, "us-iso-east-1"), "aws-iso");
    CHECK_STR(partition_for_region(E, "us-isob-east-1"), "aws-iso-b");
    CHECK_STR(partition_for_region(E, "moon-1"), NULL);
    CHECK_STR(partition_for_region(E, "us-east-1x"), NULL);
    CHECK_STR(partition_for_region(E, NULL), NULL);
    CHECK_STR(partition_for_region(NULL, "us-east-1"), NULL);
    CHECK_STR(partition_dns_suffix(E, "aws"), "amazonaws.com");
    CHECK_STR(partition_dns_suffix(E, "aws-cn"), "amazonaws.com.cn");
    CHECK_STR(partition_dns_suffix(E, "nope"), NULL);
}

static int contains(const char **list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static void test_regions(void)
{
    size_t n = 0, all = 0;
    const char **r = endpoints_regions(E, "aws", "ec2", &n);
    CHECK(r && n >= 30, "ec2 in aws: %zu regions", n);
    CHECK(contains(r, "us-east-1") && contains(r, "eu-west-1") && contains(r, "sa-east-1"),
          "ec2 regions include the usual ones");
    CHECK(!contains(r, "fips-us-east-1") && !contains(r, "aws-global"),
          "only real regions, no pseudo-regions");
    CHECK(r && r[n] == NULL, "NULL-terminated");
    free(r);

    r = endpoints_regions(E, "aws", "newsvc", &all);
    CHECK(r && all >= n, "unknown service: every region (%zu)", all);
    free(r);

    r = endpoints_regions(E, "aws-cn", "ec2", &n);
    CHECK(n == 2 && contains(r, "cn-north-1") && contains(r, "cn-northwest-1"), "ec2 in aws-cn");
    free(r);

    r = endpoints_regions(E, "aws", "route53", &n);
    CHECK(n == 1 && r && strcmp(r[0], "us-east-1") == 0, "route53: once, in us-east-1");
    free(r);
    r = endpoints_regions(E, "aws-cn", "route53", &n);
    CHECK(n == 1 && r && strcmp(r[0], "cn-northwest-1") == 0, "route53 cn: once, in cn-northwest-1");
    free(r);

    r = endpoints_regions(E, "aws-nope", "ec2", &n);
    CHECK(r == NULL && n == 0, "unknown partition");
    r = endpoints_regions(E, "aws-us-gov", "ec2", NULL);
    CHECK(contains(r, "us-gov-west-1"), "n may be NULL");
    free(r);

    CHECK(endpoints_is_global(E, "aws", "route53"), "route53 is global");
    CHECK(endpoints_is_global(E, "aws", "iam"), "iam is global");
    CHECK(!endpoints_is_global(E, "aws", "s3"), "s3 is regionalized");
    CHECK(!endpoints_is_global(E, "aws", "ec2"), "ec2 is regional");
    CHECK(!endpoints_is_global(E, "nope", "route53"), "unknown partition");
}

int main(void)
{
    clear_env();
    test_load_errors();
    endpoints *e = endpoints_load("models/endpoints.json", err, sizeof err);
    CHECK(e != NULL, "load models/endpoints.json (run from the repo root): %s", err);
    if (!e)
        return test_summary();
    E = e;
    test_regional();
    test_global();
    test_sts();
    test_s3();
    test_unknown_regions();
    test_env_overrides();
    test_override_urls();
    test_partitions();
    test_regions();
    endpoints_free(e);
    return test_summary();
}
