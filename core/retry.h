/* retry.h -- the AWS SDKs' "standard" retry mode, as a small pure module.
 *
 * client.c asks retry_classify() whether a failed attempt may be retried, then
 * retry_next_delay_ms() how long to wait (or -1: give up), and tells
 * retry_on_success() when a call succeeds; sink_stackstate.c, which counts
 * its own attempts, takes only the backoff (retry_backoff_ms). Nothing here
 * sleeps or sends: the policy is plain data, so tests can drive it exactly.
 *
 * Standard mode, as botocore implements it (botocore/retries/standard.py):
 *   - up to max_attempts attempts in all (default 3, AWS_MAX_ATTEMPTS);
 *   - delay = rand[0,1) * min(max_backoff, base * 2^(attempt-1)) ("full
 *     jitter"), or the server's Retry-After when that is longer;
 *   - a retry quota shared by all calls of one client: a token bucket of 500,
 *     a retry costs 5 (10 after a timeout), a success without retry refunds 1
 *     and a success after retries refunds what its last retry cost. An empty
 *     bucket stops retries, so an outage does not multiply the load.
 */
#ifndef AWSTOPO_RETRY_H
#define AWSTOPO_RETRY_H

#include <stdint.h>

#include "http.h"

/* retry_classify() flags; several may be set (PriorRequestNotComplete is
 * both transient and throttling). */
enum {
    RETRY_NO = 0,
    RETRY_TRANSIENT = 1,      /* 500/502/503/504, RequestTimeout, transport errors */
    RETRY_THROTTLE = 2,       /* Throttling, SlowDown, HTTP 429, ... */
    RETRY_REFRESH_CREDS = 4,  /* ExpiredToken & co: refresh credentials, retry once */
    RETRY_TIMEOUT = 8         /* the attempt timed out (costs more quota) */
};

/* status: the HTTP status (0 when none arrived); error_code: the parsed AWS
 * error code or NULL; kind: the transport outcome. A 2xx/3xx with HTTP_OK is
 * RETRY_NO. Transport errors are transient, except TLS failures and a
 * body past the size limit. */
int retry_classify(long status, const char *error_code, http_error_kind kind);

/* The retry policy of one client. Fields may be changed after
 * retry_policy_init() (e.g. max_attempts from ~/.aws/config). */
typedef struct retry_policy {
    int max_attempts;       /* attempts in all, first one included; >= 1 */
    long budget_ms;         /* > 0: scan mode (retry_policy_for_scan) */
    long base_delay_ms;     /* 1000 in standard mode; tests use less */
    long max_backoff_ms;    /* 20000 */
    int quota;              /* retry tokens left */
    int quota_max;          /* bucket size, 500 */
    uint64_t rng;           /* PRNG state (xorshift64*), never 0 */
} retry_policy;

#define RETRY_QUOTA_INITIAL 500
#define RETRY_COST 5
#define RETRY_COST_TIMEOUT 10
#define RETRY_NO_RETRY_REFUND 1

/* Defaults, then AWS_MAX_ATTEMPTS from the environment when it is a positive
 * integer. seed 0 seeds the PRNG from the time and pid; tests pass their own. */
void retry_policy_init(retry_policy *p, uint64_t seed);

/* A scan's policy (retry_policy_for_scan sets it on an initialized one).
 * A scan's output deletes what it lacks, and nobody waits on it, so it
 * persists where the interactive standard mode gives up:
 *   - throttling is retried for as long as the call's time budget allows
 *     (budget_ms since its first attempt, default 5 min), whatever the
 *     attempt count: the lane's rate limiter (ratelimit.h) slows the calls
 *     down meanwhile, and those retries take nothing from the quota;
 *   - other transient errors get up to SCAN_MAX_ATTEMPTS attempts within
 *     the budget;
 *   - an empty quota (an endpoint failing a lot) makes retries wait the
 *     longest backoff instead of ending them, so a scan never gives up on an
 *     endpoint that still answers, and an outage is not hammered.
 * budget_s <= 0 takes the default. The client uses it only when neither
 * AWS_RETRY_MODE nor AWS_MAX_ATTEMPTS (nor the profile's retry_mode or
 * max_attempts) says otherwise. */
#define SCAN_MAX_ATTEMPTS 10
#define SCAN_BUDGET_MS 300000L
void retry_policy_for_scan(retry_policy *p, double budget_s);

/* retry_next_delay_ms() for a call that started elapsed_ms ago: what scan
 * mode's budget is measured against (standard mode ignores it). */
long retry_next_delay_at(retry_policy *p, int attempt, int flags, const char *retry_after, int *cost,
                         long elapsed_ms);

/* After attempt number `attempt` (1 = the first attempt) failed with
 * `flags` from retry_classify(): the delay in ms before the next attempt, or
 * -1 when the error is not retryable, no attempts are left or the quota is
 * empty. retry_after is the response's Retry-After value (seconds, may be
 * fractional; NULL when absent; HTTP dates and junk are ignored): the delay is
 * then at least that, capped at max_backoff_ms. On a retry, the tokens taken
 * are stored in *cost: keep it per call and hand it to retry_on_success().
 * RETRY_REFRESH_CREDS alone is not retried here: the client refreshes and
 * resends without waiting. */
long retry_next_delay_ms(retry_policy *p, int attempt, int flags, const char *retry_after, int *cost);

/* The backoff alone, without quota or attempt limit (for a caller that
 * keeps its own, like sink_stackstate.c): full jitter after failed attempt
 * `attempt` (1-based) from base_delay_ms up to max_backoff_ms, or the
 * Retry-After value (as above) when that is longer, capped alike. */
long retry_backoff_ms(retry_policy *p, int attempt, const char *retry_after);

/* A call succeeded. cost: what its last retry took (*cost above), 0 when it
 * succeeded at the first attempt. Refunds the quota, never above quota_max. */
void retry_on_success(retry_policy *p, int cost);

/* A uniform double in [0, 1) from the policy's PRNG. */
double retry_random(retry_policy *p);

#endif
