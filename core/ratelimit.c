/* ratelimit.c -- adaptive mode's client-side rate limiter (see ratelimit.h). */
#include "ratelimit.h"

#include <math.h>

/* botocore starts the bucket at 1 token/s (unused until enabled) and CUBIC
 * at a starting max rate of 0.5. */
void ratelimit_init(rate_limiter *r, double now)
{
    *r = (rate_limiter){ 0 };
    r->fill_rate = 1.0;
    r->max_capacity = 1.0;
    r->last_refill = -1.0;
    r->last_bucket = floor(now);
    r->w_max = 0.5;
    r->k = cbrt(r->w_max * (1 - RATELIMIT_BETA) / RATELIMIT_SCALE);
    r->last_fail = now;
}

static void refill(rate_limiter *r, double now)
{
    if (r->last_refill < 0) {
        r->last_refill = now;
        return;
    }
    if (now > r->last_refill) r->capacity += (now - r->last_refill) * r->fill_rate;
    if (r->capacity > r->max_capacity) r->capacity = r->max_capacity;
    r->last_refill = now;
}

double ratelimit_acquire(rate_limiter *r, double now)
{
    if (!r->enabled) return 0;
    refill(r, now);
    r->capacity -= 1.0;
    return r->capacity >= 0 ? 0 : -r->capacity / r->fill_rate;
}

static void set_max_rate(rate_limiter *r, double rate, double now)
{
    refill(r, now);
    r->fill_rate = rate > RATELIMIT_MIN_RATE ? rate : RATELIMIT_MIN_RATE;
    r->max_capacity = rate >= 1 ? rate : 1;
    if (r->capacity > r->max_capacity) r->capacity = r->max_capacity;
}

/* RateClocker.record(): the smoothed send rate, updated every half second. */
static double measure(rate_limiter *r, double now)
{
    double bucket = floor(now / RATELIMIT_BUCKET_SECONDS) * RATELIMIT_BUCKET_SECONDS;
    r->count += 1;
    if (bucket > r->last_bucket) {
        double current = r->count / (bucket - r->last_bucket);
        r->measured_rate = current * RATELIMIT_SMOOTHING + r->measured_rate * (1 - RATELIMIT_SMOOTHING);
        r->count = 0;
        r->last_bucket = bucket;
    }
    return r->measured_rate;
}

void ratelimit_update(rate_limiter *r, double now, int throttled)
{
    double measured = measure(r, now), rate;
    if (!throttled) {
        double t = now - r->last_fail - r->k;
        rate = RATELIMIT_SCALE * t * t * t + r->w_max;
    } else {
        double current = !r->enabled || r->fill_rate > measured ? measured : r->fill_rate;
        r->w_max = current;
        r->k = cbrt(r->w_max * (1 - RATELIMIT_BETA) / RATELIMIT_SCALE);
        r->last_fail = now;
        rate = current * RATELIMIT_BETA;
        r->enabled = 1;
    }
    if (rate > 2 * measured) rate = 2 * measured;   /* _MAX_RATE_ADJUST_SCALE */
    set_max_rate(r, rate, now);
}
