/* ratelimit.h -- the SDKs' adaptive retry mode: a client-side rate limiter.
 *
 * One limiter per (service, region) lane (client.c). It stays out of the way
 * until the first throttling answer; from then on every attempt takes a token
 * from a bucket refilled at the lane's allowed rate, which a throttling
 * answer cuts to 70% of the rate measured when it came and which grows back
 * along a CUBIC curve while answers succeed -- botocore's ClientRateLimiter,
 * TokenBucket, RateClocker and CubicCalculator (botocore/retries/adaptive.py,
 * bucket.py, throttling.py), with the same constants.
 *
 * Pure and single-threaded: times are passed in (seconds, any monotonic
 * origin), nothing sleeps. Instead of blocking like botocore's acquire(),
 * ratelimit_acquire() reserves the token and says how long to wait before
 * sending, so calls queued at once are spaced out, not released together.
 */
#ifndef AWSTOPO_RATELIMIT_H
#define AWSTOPO_RATELIMIT_H

typedef struct rate_limiter {
    int enabled;                 /* set by the first throttling answer */
    /* token bucket */
    double fill_rate;            /* tokens per second, >= RATELIMIT_MIN_RATE */
    double max_capacity;
    double capacity;             /* may go below 0: tokens promised to waiting sends */
    double last_refill;          /* < 0: never refilled */
    /* measured send rate (RateClocker) */
    double measured_rate;
    double last_bucket;
    double count;
    /* CUBIC */
    double w_max, k, last_fail;
} rate_limiter;

#define RATELIMIT_MIN_RATE 0.5
#define RATELIMIT_BETA 0.7
#define RATELIMIT_SCALE 0.4
#define RATELIMIT_SMOOTHING 0.8
#define RATELIMIT_BUCKET_SECONDS 0.5

void ratelimit_init(rate_limiter *r, double now);

/* Before sending an attempt: 0 when it may go now, else the seconds to wait
 * (the token is taken either way). Always 0 until enabled. */
double ratelimit_acquire(rate_limiter *r, double now);

/* After every answer (also transport errors, as botocore's needs-retry
 * hook): throttled says whether it was a throttling error. */
void ratelimit_update(rate_limiter *r, double now, int throttled);

#endif
