/* test_retry.c -- standard retry mode: classification, jitter, quota, Retry-After. */
#include <stdlib.h>

#include "ratelimit.h"
#include "retry.h"
#include "testlib.h"

static void test_classify(void)
{
    static const char *throttles[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
    };
    for (size_t i = 0; i < sizeof throttles / sizeof *throttles; i++)
        CHECK(retry_classify(400, throttles[i], HTTP_OK) == RETRY_THROTTLE, "%s is throttling", throttles[i]);
    CHECK(retry_classify(503, "RequestLimitExceeded", HTTP_OK) == (RETRY_THROTTLE | RETRY_TRANSIENT),
          "EC2 503 RequestLimitExceeded: throttle + transient");
    CHECK(retry_classify(429, NULL, HTTP_OK) == RETRY_THROTTLE, "429 throttles");
    CHECK(retry_classify(509, NULL, HTTP_OK) == RETRY_THROTTLE, "509 throttles");
    CHECK(retry_classify(400, "PriorRequestNotComplete", HTTP_OK) == (RETRY_THROTTLE | RETRY_TRANSIENT),
          "PriorRequestNotComplete is both");

    static const long statuses[] = {500, 502, 503, 504};
    for (size_t i = 0; i < 4; i++)
        CHECK(retry_classify(statuses[i], NULL, HTTP_OK) == RETRY_TRANSIENT, "%ld transient", statuses[i]);
    CHECK(retry_classify(400, "RequestTimeout", HTTP_OK) == RETRY_TRANSIENT, "RequestTimeout");
    CHECK(retry_classify(408, "RequestTimeoutException", HTTP_OK) == RETRY_TRANSIENT, "RequestTimeoutException");
    CHECK(retry_classify(500, "InternalError", HTTP_OK) == RETRY_TRANSIENT, "InternalError");
    CHECK(retry_classify(400, "IDPCommunicationError", HTTP_OK) == RETRY_TRANSIENT, "IDPCommunicationError");

    CHECK(retry_classify(400, "ExpiredToken", HTTP_OK) == RETRY_REFRESH_CREDS, "ExpiredToken");
    CHECK(retry_classify(400, "ExpiredTokenException", HTTP_OK) == RETRY_REFRESH_CREDS, "ExpiredTokenException");
    CHECK(retry_classify(400, "RequestExpired", HTTP_OK) == RETRY_REFRESH_CREDS, "RequestExpired");

    CHECK(retry_classify(200, NULL, HTTP_OK) == RETRY_NO, "200");
    CHECK(retry_classify(200, "Throttling", HTTP_OK) == RETRY_NO, "2xx never retried");
    CHECK(retry_classify(400, "ValidationException", HTTP_OK) == RETRY_NO, "validation");
    CHECK(retry_classify(403, "AccessDenied", HTTP_OK) == RETRY_NO, "access denied");
    CHECK(retry_classify(404, NULL, HTTP_OK) == RETRY_NO, "404");
    CHECK(retry_classify(400, "", HTTP_OK) == RETRY_NO, "empty code");
    CHECK(retry_classify(400, "throttling", HTTP_OK) == RETRY_NO, "codes are case-sensitive");

    CHECK(retry_classify(0, NULL, HTTP_ERR_CONNECT) == RETRY_TRANSIENT, "connect");
    CHECK(retry_classify(0, NULL, HTTP_ERR_RESET) == RETRY_TRANSIENT, "reset");
    CHECK(retry_classify(200, NULL, HTTP_ERR_TRUNCATED) == RETRY_TRANSIENT, "truncated");
    CHECK(retry_classify(0, NULL, HTTP_ERR_OTHER) == RETRY_TRANSIENT, "other");
    CHECK(retry_classify(0, NULL, HTTP_ERR_TIMEOUT) == (RETRY_TRANSIENT | RETRY_TIMEOUT), "timeout");
    CHECK(retry_classify(0, NULL, HTTP_ERR_TLS) == RETRY_NO, "tls is not retried");
}

static void test_defaults(void)
{
    unsetenv("AWS_MAX_ATTEMPTS");
    retry_policy p;
    retry_policy_init(&p, 1);
    CHECK(p.max_attempts == 3, "default attempts %d", p.max_attempts);
    CHECK(p.base_delay_ms == 1000, "base %ld", p.base_delay_ms);
    CHECK(p.max_backoff_ms == 20000, "max backoff %ld", p.max_backoff_ms);
    CHECK(p.quota == 500 && p.quota_max == 500, "quota %d/%d", p.quota, p.quota_max);

    setenv("AWS_MAX_ATTEMPTS", "7", 1);
    retry_policy_init(&p, 1);
    CHECK(p.max_attempts == 7, "AWS_MAX_ATTEMPTS=7 -> %d", p.max_attempts);
    setenv("AWS_MAX_ATTEMPTS", "zero", 1);
    retry_policy_init(&p, 1);
    CHECK(p.max_attempts == 3, "junk ignored -> %d", p.max_attempts);
    setenv("AWS_MAX_ATTEMPTS", "0", 1);
    retry_policy_init(&p, 1);
    CHECK(p.max_attempts == 3, "0 ignored -> %d", p.max_attempts);
    unsetenv("AWS_MAX_ATTEMPTS");
}

static void test_attempts(void)
{
    retry_policy p;
    retry_policy_init(&p, 42);
    int cost = 0;
    CHECK(retry_next_delay_ms(&p, 1, RETRY_TRANSIENT, NULL, &cost) >= 0, "attempt 1 -> retry");
    CHECK(retry_next_delay_ms(&p, 2, RETRY_TRANSIENT, NULL, &cost) >= 0, "attempt 2 -> retry");
    CHECK(retry_next_delay_ms(&p, 3, RETRY_TRANSIENT, NULL, &cost) == -1, "attempt 3 of 3 -> give up");
    CHECK(p.quota == 490, "two retries cost 10, left %d", p.quota);
    CHECK(retry_next_delay_ms(&p, 1, RETRY_NO, NULL, &cost) == -1, "not retryable");
    CHECK(retry_next_delay_ms(&p, 1, RETRY_REFRESH_CREDS, NULL, &cost) == -1, "refresh alone: client's job");
    CHECK(p.quota == 490, "refusals cost nothing, left %d", p.quota);
    p.max_attempts = 1;
    CHECK(retry_next_delay_ms(&p, 1, RETRY_THROTTLE, NULL, &cost) == -1, "max_attempts 1: never retry");
}

static void test_jitter(void)
{
    retry_policy p;
    retry_policy_init(&p, 7);
    p.base_delay_ms = 100;
    p.max_attempts = 100;
    p.quota_max = p.quota = 1 << 30;
    for (int attempt = 1; attempt <= 12; attempt++) {
        long ceiling = 100L << (attempt - 1);
        if (ceiling > 20000) ceiling = 20000;
        long lo = ceiling, hi = -1;
        double sum = 0;
        int n = 2000, bad = 0, cost = 0;
        for (int i = 0; i < n; i++) {
            long d = retry_next_delay_ms(&p, attempt, RETRY_THROTTLE, NULL, &cost);
            if (d < 0 || d > ceiling) bad++;
            if (d < lo) lo = d;
            if (d > hi) hi = d;
            sum += (double)d;
        }
        double mean = sum / n;
        CHECK(!bad, "attempt %d: %d delays outside [0, %ld]", attempt, bad, ceiling);
        CHECK(lo < ceiling / 10 && hi > ceiling * 9 / 10, "attempt %d: spread [%ld, %ld] of %ld", attempt,
              lo, hi, ceiling);
        CHECK(mean > ceiling * 0.4 && mean < ceiling * 0.6, "attempt %d: mean %.0f of %ld", attempt, mean,
              ceiling);
    }

    /* same seed, same sequence; another seed, another one */
    retry_policy a, b, c;
    retry_policy_init(&a, 123);
    retry_policy_init(&b, 123);
    retry_policy_init(&c, 124);
    int same = 1, differ = 0;
    for (int i = 0; i < 50; i++) {
        double x = retry_random(&a), y = retry_random(&b), z = retry_random(&c);
        if (x != y) same = 0;
        if (x != z) differ = 1;
        if (x < 0 || x >= 1) same = 0;
    }
    CHECK(same, "seeded PRNG reproducible and in [0,1)");
    CHECK(differ, "different seeds differ");
}

static void test_retry_after(void)
{
    retry_policy p;
    retry_policy_init(&p, 9);
    p.base_delay_ms = 10;
    p.quota_max = p.quota = 100000;
    p.max_attempts = 10;
    int cost;
    long d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "2", &cost);
    CHECK(d == 2000, "Retry-After 2 -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "0.5", &cost);
    CHECK(d == 500, "Retry-After 0.5 -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, " 3 ", &cost);
    CHECK(d == 3000, "Retry-After ' 3 ' -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "3600", &cost);
    CHECK(d == 20000, "Retry-After capped at max backoff -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "Wed, 21 Oct 2015 07:28:00 GMT", &cost);
    CHECK(d >= 0 && d <= 10, "HTTP date ignored -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "-5", &cost);
    CHECK(d >= 0 && d <= 10, "negative ignored -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "5x", &cost);
    CHECK(d >= 0 && d <= 10, "junk ignored -> %ld", d);
    d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "0", &cost);
    CHECK(d >= 0 && d <= 10, "Retry-After 0 -> jitter %ld", d);

    /* the jitter wins when it is longer than Retry-After */
    p.base_delay_ms = 20000;
    int longer = 0;
    for (int i = 0; i < 100; i++) {
        d = retry_next_delay_ms(&p, 1, RETRY_THROTTLE, "1", &cost);
        CHECK(d >= 1000 && d <= 20000, "max(jitter, after) in range: %ld", d);
        if (d > 1000) longer++;
    }
    CHECK(longer > 80, "jitter above Retry-After kept (%d of 100)", longer);

    /* out of attempts wins over Retry-After */
    CHECK(retry_next_delay_ms(&p, 10, RETRY_THROTTLE, "1", &cost) == -1, "no attempts left");
}

static void test_quota(void)
{
    retry_policy p;
    retry_policy_init(&p, 5);
    p.max_attempts = 1000;
    int cost = 0, retries = 0;
    while (retry_next_delay_ms(&p, 1, RETRY_TRANSIENT, NULL, &cost) >= 0) retries++;
    CHECK(retries == 100, "500 tokens / 5 = 100 retries, got %d", retries);
    CHECK(p.quota == 0, "empty, %d", p.quota);
    CHECK(cost == 5, "cost %d", cost);

    retry_on_success(&p, 0);
    CHECK(p.quota == 1, "success without retry refunds 1: %d", p.quota);
    retry_on_success(&p, 5);
    CHECK(p.quota == 6, "success after retry refunds its cost: %d", p.quota);
    CHECK(retry_next_delay_ms(&p, 1, RETRY_TRANSIENT | RETRY_TIMEOUT, NULL, &cost) == -1,
          "timeout retry needs 10, has 6");
    CHECK(p.quota == 6, "refused retry takes nothing: %d", p.quota);
    CHECK(retry_next_delay_ms(&p, 1, RETRY_TRANSIENT, NULL, &cost) >= 0 && cost == 5, "plain retry fits");
    CHECK(p.quota == 1, "left %d", p.quota);

    retry_policy_init(&p, 5);
    p.max_attempts = 1000;
    retries = 0;
    while (retry_next_delay_ms(&p, 1, RETRY_TRANSIENT | RETRY_TIMEOUT, NULL, &cost) >= 0) retries++;
    CHECK(retries == 50 && cost == 10, "timeouts cost 10: %d retries, cost %d", retries, cost);

    for (int i = 0; i < 1000; i++) retry_on_success(&p, 10);
    CHECK(p.quota == 500, "refunds capped at the bucket size: %d", p.quota);
    retry_on_success(&p, 0);
    CHECK(p.quota == 500, "still capped: %d", p.quota);
}

/* Scan mode: throttling bounded by the time budget only, and free; other
 * transient errors by SCAN_MAX_ATTEMPTS; an empty quota slows, never stops. */
static void test_scan_mode(void)
{
    retry_policy p;
    retry_policy_init(&p, 9);
    retry_policy_for_scan(&p, 0);
    CHECK(p.budget_ms == 300000 && p.max_attempts == SCAN_MAX_ATTEMPTS, "defaults %ld %d", p.budget_ms,
          p.max_attempts);
    int cost = -1;
    CHECK(retry_next_delay_at(&p, 50, RETRY_THROTTLE, NULL, &cost, 1000) >= 0, "50th throttle retried");
    CHECK(cost == 0 && p.quota == 500, "throttle retries are free: cost %d quota %d", cost, p.quota);
    long late = retry_next_delay_at(&p, 2, RETRY_THROTTLE, NULL, &cost, 299990);
    CHECK(late == -1 || late <= 10, "a delay past the budget is refused: %ld", late);
    CHECK(retry_next_delay_at(&p, 2, RETRY_THROTTLE, NULL, &cost, 300001) == -1, "budget spent: give up");
    CHECK(retry_next_delay_at(&p, 9, RETRY_TRANSIENT, NULL, &cost, 0) >= 0 && cost == 5, "9th 5xx retried");
    CHECK(retry_next_delay_at(&p, 10, RETRY_TRANSIENT, NULL, &cost, 0) == -1, "10 attempts of a 5xx: give up");
    CHECK(retry_next_delay_at(&p, 1, RETRY_NO, NULL, &cost, 0) == -1, "not retryable");

    p.quota = 3;
    long d = retry_next_delay_at(&p, 1, RETRY_TRANSIENT, NULL, &cost, 0);
    CHECK(d == p.max_backoff_ms && cost == 0 && p.quota == 3, "empty quota: the longest wait, %ld", d);
    p.budget_ms = 10000;
    CHECK(retry_next_delay_at(&p, 1, RETRY_TRANSIENT, NULL, &cost, 0) == -1,
          "... unless that wait outlasts the budget");

    retry_policy_init(&p, 9);
    p.base_delay_ms = 1;
    retry_policy_for_scan(&p, 0.5);
    CHECK(p.budget_ms == 500, "budget %ld", p.budget_ms);
    retry_policy_init(&p, 9);
    CHECK(p.budget_ms == 0, "standard mode has no budget");
    CHECK(retry_next_delay_at(&p, 3, RETRY_THROTTLE, NULL, &cost, 0) == -1, "standard: 3 attempts");
}

/* The adaptive limiter: idle until throttled, then 70% of the measured rate,
 * spaced sends, CUBIC recovery back past the old rate. */
static void test_ratelimit(void)
{
    rate_limiter r;
    ratelimit_init(&r, 100.0);
    double t = 100.0;
    for (int i = 0; i < 200; i++, t += 0.01) {       /* 100 sends/s, all fine */
        CHECK(ratelimit_acquire(&r, t) == 0, "not enabled: no wait");
        ratelimit_update(&r, t, 0);
    }
    CHECK(!r.enabled && r.measured_rate > 50, "measured %.1f/s", r.measured_rate);
    double before = r.measured_rate;
    ratelimit_update(&r, t, 1);
    CHECK(r.enabled, "a throttle enables it");
    CHECK(r.fill_rate > 0.69 * before && r.fill_rate < 0.71 * before, "rate %.1f = 0.7 x %.1f", r.fill_rate,
          before);
    double waited = 0;
    for (int i = 0; i < 100; i++) waited = ratelimit_acquire(&r, t);
    CHECK(waited > 100 / r.fill_rate - 2 && waited < 100 / r.fill_rate + 2,
          "100 sends at once are spaced at the rate: the last waits %.2fs", waited);

    double low = r.fill_rate;
    for (int i = 0; i < 2000; i++, t += 0.01) ratelimit_update(&r, t, 0);   /* 20 s of successes */
    CHECK(r.fill_rate > low, "recovers: %.1f -> %.1f/s", low, r.fill_rate);

    rate_limiter z;
    ratelimit_init(&z, 0);
    ratelimit_update(&z, 0.1, 1);                     /* throttled before any rate was measured */
    CHECK(z.fill_rate == RATELIMIT_MIN_RATE, "floor %.2f", z.fill_rate);
    ratelimit_acquire(&z, 0.1);
    CHECK(ratelimit_acquire(&z, 0.1) > 0, "then sends wait");
}

int main(void)
{
    test_scan_mode();
    test_ratelimit();
    test_classify();
    test_defaults();
    test_attempts();
    test_jitter();
    test_retry_after();
    test_quota();
    return test_summary();
}
