/* bench_sigv4.c -- SigV4 signatures per second, with and without the signing-key cache.
 *
 * Two typical small requests: a JSON-protocol POST with a 200-byte body and
 * an EC2 query-protocol GET. Each is signed over and over (re-signing
 * replaces the previous signature's headers, as a retry does) for about 1.5
 * seconds with a sigv4_key_cache and again with cache NULL, which derives the
 * signing key (four extra HMACs) every time. Prints figures, never pass/fail.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

#define RUN_SECONDS 1.5

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_post(http_request *r)
{
    request_init(r);
    request_set(&r->method, "POST");
    request_set(&r->host, "dynamodb.eu-west-1.amazonaws.com");
    headers_add(&r->headers, "Content-Type", "application/x-amz-json-1.0");
    headers_add(&r->headers, "X-Amz-Target", "DynamoDB_20120810.DescribeTable");
    char body[201];
    int n = snprintf(body, sizeof body, "{\"TableName\":\"awstopo-benchmark-table\",\"Pad\":\"");
    memset(body + n, 'x', sizeof body - 1 - (size_t)n - 2);
    memcpy(body + sizeof body - 3, "\"}", 3);
    buf_append(&r->body, body, 200);
}

static void ec2_get(http_request *r)
{
    request_init(r);
    request_set(&r->host, "ec2.eu-west-1.amazonaws.com");
    request_set(&r->query, "Action=DescribeInstances&Version=2016-11-15&MaxResults=100"
                           "&Filter.1.Name=instance-state-name&Filter.1.Value.1=running");
}

/* Signatures per second for one request shape, cached or not. */
static double measure(void (*make)(http_request *), const char *service, int cached)
{
    aws_credentials cr = {.access_key_id = "AKIDEXAMPLE",
                          .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                          .session_token = "FQoGZXIvYXdzEXAMPLEsessiontokenEXAMPLE"};
    sigv4_params p = {.creds = &cr, .region = "eu-west-1", .service = service,
                      .now = 1440938160};
    sigv4_key_cache *cache = cached ? sigv4_key_cache_new() : NULL;
    http_request r;
    make(&r);
    char err[256];
    long count = 0;
    double start = now_seconds(), elapsed;
    do {
        for (int i = 0; i < 1000; i++) {
            if (sigv4_sign(&r, &p, cache, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "bench_sigv4: %s\n", err);
                break;
            }
        }
        count += 1000;
        elapsed = now_seconds() - start;
    } while (elapsed < RUN_SECONDS);
    request_free(&r);
    sigv4_key_cache_free(cache);
    return (double)count / elapsed;
}

int main(void)
{
    struct { const char *name; void (*make)(http_request *); const char *service; } cases[] = {
        {"POST json, 200-byte body", json_post, "dynamodb"},
        {"GET ec2 query", ec2_get, "ec2"},
    };
    printf("SigV4 header signing, %.1f s per row\n", RUN_SECONDS);
    printf("%-26s %-6s %12s %10s\n", "request", "cache", "sigs/s", "us/sig");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int cached = 1; cached >= 0; cached--) {
            double rate = measure(cases[i].make, cases[i].service, cached);
            printf("%-26s %-6s %12.0f %10.2f\n", cases[i].name, cached ? "on" : "off", rate,
                   1e6 / rate);
        }
    }
    return 0;
}
