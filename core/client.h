/* client.h -- one AWS API call, from a Lua table to a Lua table.
 *
 * The pipeline of a call:
 *
 *   params (Lua) -> protocol_serialize -> endpoint -> [queue per service+region]
 *     -> sigv4_sign (fresh credentials, every attempt) -> http_submit
 *     -> response: 2xx -> protocol_parse (in the calling task) -> result (Lua)
 *                  else -> protocol_parse_error -> retry policy:
 *                          retry after a backoff timer, or fail with an aws error
 *
 * A call is made on behalf of a task (scheduler.h): client_call() parks the task
 * and the task resumes with the result, or with a raised error table when the
 * call failed for good. Mapping code therefore reads as straight-line code
 * while many calls are in flight.
 */
#ifndef AWSTOPO_CLIENT_H
#define AWSTOPO_CLIENT_H

/* Calls in flight at once per (service, region) lane, unless set. */
#define DEFAULT_LANE_WIDTH 16

#include <lua.h>
#include <stddef.h>

#include "creds.h"
#include "http.h"
#include "scheduler.h"

typedef struct client_options {
    const char *region;            /* default region; NULL = AWS_REGION, AWS_DEFAULT_REGION,
                                      the profile's region, us-east-1 */
    const char *model_path;        /* ':'-separated model directories (user's first) */
    struct model_registry *models; /* a registry to share (not owned); NULL = own one on model_path */
    const char *endpoints_file;    /* endpoints.json */
    const char *endpoint_url;      /* --endpoint-url, or NULL */
    creds_options creds;           /* profile, role, session name, external id */
    int max_attempts;              /* 0 = AWS_MAX_ATTEMPTS / profile max_attempts / 3 */
    int scan;                      /* retries for a scan (retry.h's scan mode, adaptive
                                      rate limiting) unless AWS_RETRY_MODE / AWS_MAX_ATTEMPTS
                                      or the profile's retry_mode / max_attempts are set */
    double retry_budget_s;         /* scan mode's time budget per call; 0 = 300 */
    long retry_base_ms;            /* 0 = 1000 (standard mode) */
    int max_inflight;              /* per (service, region); 0 = DEFAULT_LANE_WIDTH */
    http_options http;
} client_options;

typedef struct client_stats {
    size_t calls;                  /* calls started */
    size_t attempts;               /* HTTP requests sent */
    size_t retries;
    size_t rate_limited;           /* attempts the adaptive rate limiter held back */
    size_t throttles;              /* attempts answered with a throttling error */
    size_t failures;               /* calls that failed for good */
    size_t bytes_received;
} client_stats;

typedef struct aws_client aws_client;

/* Returns NULL with the reason in err (e.g. endpoints file unreadable).
 * Credentials are resolved lazily, at the first call. Caller frees. */
aws_client *client_new(const client_options *o, char *err, size_t errlen);
void client_free(aws_client *c);

/* The engine the scheduler must poll (owned by the client). */
http_engine *client_http(aws_client *c);
const char *client_region(const aws_client *c);
const client_stats *client_get_stats(const aws_client *c);
/* The model of a service (loaded once), or NULL with err. */
const struct aws_model *client_model(aws_client *c, const char *service, char *err, size_t errlen);
/* The partition of a region ("aws", "aws-cn", "aws-us-gov"); "aws" if unknown. */
const char *client_partition(aws_client *c, const char *region);
/* The regions where a service is offered, for --all-regions (see endpoints.h). */
const char **client_service_regions(aws_client *c, const char *service, const char *partition, size_t *n);

/* Called from a lua_CFunction running in a task: starts the call with the
 * params table at params_idx (0 = none) and parks the task. Use as
 *     return client_call(c, L, "ec2", "eu-west-1", "DescribeInstances", 2);
 * The task resumes with the result table, or raises an aws error table:
 *     { code, message, status, request_id, service, operation, region,
 *       retryable, throttling, attempts, transient }  (with __tostring)
 * transient is true when AWS did not refuse the call but no usable answer
 * came (see aws_error_fields): the scan cannot be complete then.
 * Errors found before anything is sent (unknown operation, bad parameter)
 * are raised at once. */
int client_call(aws_client *c, lua_State *L, const char *service, const char *region,
                const char *operation, int params_idx);

/* The fields of an aws error table (the shape above). */
typedef struct aws_error_fields {
    const char *service, *operation, *region;   /* region NULL: "" */
    const char *code;                           /* NULL or "": "Unknown" */
    const char *message;                        /* NULL: "" */
    const char *request_id;                     /* NULL or "": left out */
    long status;
    int retryable, throttling, attempts;
    int transient;      /* no answer that says no: transport error, retries used up
                           on throttling/5xx, unparseable 2xx. ctx.aws.try re-raises these */
} aws_error_fields;

/* Pushes an aws error table, with its __tostring, onto L. */
void client_push_error(lua_State *L, const aws_error_fields *e);

#endif
