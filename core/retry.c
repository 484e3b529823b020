/* retry.c -- standard retry mode: classification, backoff, quota (see retry.h). */
#include "retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* botocore's ThrottledRetryableChecker list, which covers the throttling
 * codes of _retry.json (EC2, Kinesis, SQS, CloudSearch, DynamoDB, ...). */
static const char *const throttle_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", NULL,
};

/* TransientRetryableChecker's codes, S3's InternalError and STS's
 * IDPCommunicationError (botocore's special-cased retry). */
static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "InternalError", "IDPCommunicationError", NULL,
};

static const char *const expired_codes[] = {
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", NULL,
};

static int in_list(const char *const *list, const char *code)
{
    if (!code || !*code) return 0;
    for (; *list; list++)
        if (!strcmp(*list, code)) return 1;
    return 0;
}

int retry_classify(long status, const char *error_code, http_error_kind kind)
{
    if (kind != HTTP_OK) {
        if (kind == HTTP_ERR_TLS || kind == HTTP_ERR_TOO_LARGE) return RETRY_NO;   /* would fail again */
        return RETRY_TRANSIENT | (kind == HTTP_ERR_TIMEOUT ? RETRY_TIMEOUT : 0);
    }
    if (status >= 200 && status < 400) return RETRY_NO;
    int flags = RETRY_NO;
    if (in_list(throttle_codes, error_code) || status == 429 || status == 509) flags |= RETRY_THROTTLE;
    if (in_list(transient_codes, error_code) || status == 500 || status == 502 || status == 503 ||
        status == 504)
        flags |= RETRY_TRANSIENT;
    if (in_list(expired_codes, error_code)) flags |= RETRY_REFRESH_CREDS;
    return flags;
}

/* ---- PRNG: splitmix64 to spread the seed, xorshift64* to draw ---- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double retry_random(retry_policy *p)
{
    uint64_t x = p->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

void retry_policy_init(retry_policy *p, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->max_attempts = 3;
    p->base_delay_ms = 1000;
    p->max_backoff_ms = 20000;
    p->quota = p->quota_max = RETRY_QUOTA_INITIAL;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    p->rng = splitmix64(seed);
    if (!p->rng) p->rng = 0x9E3779B97F4A7C15ull; /* xorshift must not start at 0 */

    const char *s = getenv("AWS_MAX_ATTEMPTS");
    if (s && *s) {
        char *end;
        errno = 0;
        long n = strtol(s, &end, 10);
        if (!errno && !*end && n >= 1 && n <= 1000) p->max_attempts = (int)n;
    }
}

/* Retry-After in seconds -> ms, or -1 when absent or not a plain number. */
static long parse_retry_after(const char *s)
{
    if (!s) return -1;
    while (*s == ' ' || *s == '\t') s++;
    if (*s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (errno || *end || secs < 0) return -1;
    if (secs > 86400.0) secs = 86400.0;
    return (long)(secs * 1000.0 + 0.5);
}

void retry_policy_for_scan(retry_policy *p, double budget_s)
{
    p->budget_ms = budget_s > 0 ? (long)(budget_s * 1000.0) : SCAN_BUDGET_MS;
    p->max_attempts = SCAN_MAX_ATTEMPTS;
}

long retry_next_delay_ms(retry_policy *p, int attempt, int flags, const char *retry_after, int *cost)
{
    return retry_next_delay_at(p, attempt, flags, retry_after, cost, 0);
}

/* Scan mode (see retry.h): throttling bounded by time alone and free of
 * quota; an empty quota slows retries down rather than ending them. */
static long scan_delay(retry_policy *p, int attempt, int flags, const char *retry_after, int *cost,
                       long elapsed_ms)
{
    int throttled = (flags & RETRY_THROTTLE) != 0;
    if (!throttled && attempt >= p->max_attempts) return -1;
    long delay = retry_backoff_ms(p, attempt, retry_after);
    int price = throttled ? 0 : (flags & RETRY_TIMEOUT) ? RETRY_COST_TIMEOUT : RETRY_COST;
    if (price > p->quota) {
        delay = p->max_backoff_ms;
        price = 0;
    }
    if (elapsed_ms + delay > p->budget_ms) return -1;
    p->quota -= price;
    if (cost) *cost = price;
    return delay;
}

long retry_next_delay_at(retry_policy *p, int attempt, int flags, const char *retry_after, int *cost,
                         long elapsed_ms)
{
    if (!(flags & (RETRY_TRANSIENT | RETRY_THROTTLE))) return -1;
    if (attempt < 1) attempt = 1;
    if (p->budget_ms > 0) return scan_delay(p, attempt, flags, retry_after, cost, elapsed_ms);
    if (attempt >= p->max_attempts) return -1;
    int price = (flags & RETRY_TIMEOUT) ? RETRY_COST_TIMEOUT : RETRY_COST;
    if (price > p->quota) return -1;
    p->quota -= price;
    if (cost) *cost = price;
    return retry_backoff_ms(p, attempt, retry_after);
}

long retry_backoff_ms(retry_policy *p, int attempt, const char *retry_after)
{
    /* base * 2^(attempt-1), computed so it cannot overflow */
    double ceiling = (double)p->base_delay_ms;
    for (int i = 1; i < attempt && ceiling < (double)p->max_backoff_ms; i++) ceiling *= 2;
    if (ceiling > (double)p->max_backoff_ms) ceiling = (double)p->max_backoff_ms;
    long delay = (long)(retry_random(p) * ceiling);

    long after = parse_retry_after(retry_after);
    if (after > p->max_backoff_ms) after = p->max_backoff_ms;
    if (after > delay) delay = after;
    return delay;
}

void retry_on_success(retry_policy *p, int cost)
{
    p->quota += cost > 0 ? cost : RETRY_NO_RETRY_REFUND;
    if (p->quota > p->quota_max) p->quota = p->quota_max;
}
