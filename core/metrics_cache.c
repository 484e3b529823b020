/* metrics_cache.c -- on-demand series kept for one period (metrics.h).
 *
 * GET /v1/metrics asks for one component's series; StackState (or a person)
 * asks again as the view refreshes. CloudWatch has nothing new before the
 * period is over, and each fetch is billed, so an answer is kept until its
 * period has passed. A handful of components are viewed at a time: a small
 * array searched linearly is enough, and keeps the order of insertion for
 * evicting the oldest.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

#define DEFAULT_MAX_ENTRIES 1024
#define DEFAULT_PERIOD 300

typedef struct cache_entry {
    char *key;                 /* component \n names \n from \n to */
    double fetched;            /* epoch seconds */
    long period;               /* the shortest period of its series: how long it stays true */
    metrics_result result;
} cache_entry;

struct metrics_cache {
    cache_entry *entries;      /* oldest first */
    size_t len, max;
};

metrics_cache *metrics_cache_new(size_t max_entries)
{
    metrics_cache *c = xcalloc(1, sizeof *c);
    c->max = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
    c->entries = xcalloc(c->max, sizeof *c->entries);
    return c;
}

static void drop(metrics_cache *c, size_t i)
{
    free(c->entries[i].key);
    metrics_result_free(&c->entries[i].result);
    memmove(&c->entries[i], &c->entries[i + 1], (c->len - i - 1) * sizeof *c->entries);
    c->len--;
}

void metrics_cache_free(metrics_cache *c)
{
    if (!c) return;
    while (c->len) drop(c, c->len - 1);
    free(c->entries);
    free(c);
}

static char *key_of(const metrics_options *o)
{
    buf b = {0};
    buf_printf(&b, "%s\n", o->component ? o->component : "");
    for (size_t i = 0; i < o->names.len; i++) buf_printf(&b, "%s,", o->names.items[i]);
    buf_printf(&b, "\n%.0f\n%.0f", o->from, o->to);
    return buf_steal(&b);
}

static long shortest_period(const metrics_result *r)
{
    long p = 0;
    for (size_t i = 0; i < r->len; i++)
        if (r->series[i].period > 0 && (p == 0 || r->series[i].period < p)) p = r->series[i].period;
    return p ? p : DEFAULT_PERIOD;
}

const metrics_result *metrics_cache_get(metrics_cache *c, const metrics_options *o, double now)
{
    char *key = key_of(o);
    const metrics_result *found = NULL;
    for (size_t i = 0; i < c->len; i++) {
        cache_entry *e = &c->entries[i];
        if (now - e->fetched >= (double)e->period) {   /* stale: its period is over */
            drop(c, i--);
            continue;
        }
        if (strcmp(e->key, key) == 0) found = &e->result;
    }
    free(key);
    return found;
}

const metrics_result *metrics_cache_put(metrics_cache *c, const metrics_options *o, double now, metrics_result *r)
{
    char *key = key_of(o);
    for (size_t i = 0; i < c->len; i++) {
        if (strcmp(c->entries[i].key, key) == 0) {
            drop(c, i);
            break;
        }
    }
    if (c->len == c->max) drop(c, 0);
    cache_entry *e = &c->entries[c->len++];
    e->key = key;
    e->fetched = now;
    e->period = shortest_period(r);
    e->result = *r;
    memset(r, 0, sizeof *r);
    return &e->result;
}
