/* daemon_config.c -- the [daemon] section of the configuration (daemon.h,
 * docs/daemon.md): what `awstopo run` does and when. Durations are whole
 * seconds, or a number with s, m or h ("90", "15m", "1h").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "daemon.h"
#include "util.h"

static void problem(strlist *problems, const char *key, const char *value, const char *want)
{
    buf b = {0};
    buf_printf(&b, "daemon: %s = '%s': %s", key, value, want);
    strlist_add(problems, b.data);
    buf_free(&b);
}

static int parse_onoff(const char *v)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) return 1;
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) return 0;
    return -1;
}

static int set_duration(long *field, const char *key, const char *value, strlist *problems)
{
    long d = parse_duration(value);
    if (d < 0) {
        problem(problems, key, value, "a duration (seconds, or with s, m, h: 90, 15m, 1h)");
        return 1;
    }
    *field = d;
    return 0;
}

static int set_one(daemon_options *o, const char *key, const char *value, strlist *problems)
{
    if (!strcmp(key, "listen")) {
        const char *colon = strrchr(value, ':');
        if (!colon || colon == value || !colon[1] || atol(colon + 1) < 0 || atol(colon + 1) > 65535) {
            problem(problems, key, value, "host:port (e.g. 127.0.0.1:9377)");
            return 1;
        }
        config_set(&o->listen, value);
    } else if (!strcmp(key, "scan_interval")) {
        return set_duration(&o->scan_interval, key, value, problems);
    } else if (!strcmp(key, "scan_max_age")) {
        return set_duration(&o->scan_max_age, key, value, problems);
    } else if (!strcmp(key, "events_max_age")) {
        return set_duration(&o->events_max_age, key, value, problems);
    } else if (!strcmp(key, "stop_timeout")) {
        return set_duration(&o->stop_timeout, key, value, problems);
    } else if (!strcmp(key, "scan_jitter")) {
        char *end;
        double j = strtod(value, &end);
        if (end == value || *end || j < 0 || j > 0.5) {
            problem(problems, key, value, "a fraction of the interval from 0 to 0.5");
            return 1;
        }
        o->scan_jitter = j;
    } else if (!strcmp(key, "poll_ms")) {
        char *end;
        long ms = strtol(value, &end, 10);
        if (end == value || *end || ms < 1 || ms > 600000) {
            problem(problems, key, value, "milliseconds from 1 to 600000");
            return 1;
        }
        o->poll_ms = ms;
    } else if (!strcmp(key, "metrics")) {
        int on = parse_onoff(value);
        if (on < 0) {
            problem(problems, key, value, "on or off");
            return 1;
        }
        o->metrics = on;
    } else if (!strcmp(key, "kinesis_stream")) {
        config_set(&o->kinesis_stream, *value ? value : NULL);
    } else if (!strcmp(key, "kinesis_region")) {
        config_set(&o->kinesis_region, *value ? value : NULL);
    } else if (!strcmp(key, "checkpoint_dir")) {
        config_set(&o->checkpoint_dir, *value ? value : NULL);
    } else if (!strcmp(key, "state_dir")) {
        config_set(&o->state_dir, *value ? value : NULL);
    } else {
        problem(problems, key, value,
                "unknown key (listen, scan_interval, scan_jitter, scan_max_age, kinesis_stream, kinesis_region, "
                "checkpoint_dir, poll_ms, events_max_age, metrics, state_dir, stop_timeout)");
        return 1;
    }
    return 0;
}

int daemon_options_from_config(daemon_options *o, const strlist *items, strlist *problems)
{
    *o = (daemon_options){ .scan_interval = 3600, .scan_jitter = 0.1, .poll_ms = 1000, .events_max_age = 120,
                           .stop_timeout = 300 };
    int bad = 0;
    for (size_t i = 0; i < items->len; i++) {
        const char *item = items->items[i], *eq = strchr(item, '=');
        char *key = xstrndup(item, (size_t)(eq - item));
        bad += set_one(o, key, eq + 1, problems);
        free(key);
    }
    if (!o->listen) o->listen = xstrdup("127.0.0.1:9377");
    if (!o->scan_max_age) o->scan_max_age = 2 * o->scan_interval + 600;
    if (!o->state_dir) {
        buf b = {0};
        buf_printf(&b, "%s/.cache/awstopo/daemon", getenv("HOME") ? getenv("HOME") : "/tmp");
        o->state_dir = buf_steal(&b);
    }
    return bad;
}

void daemon_options_free(daemon_options *o)
{
    free(o->listen);
    free(o->kinesis_stream);
    free(o->kinesis_region);
    free(o->checkpoint_dir);
    free(o->state_dir);
    memset(o, 0, sizeof *o);
}
