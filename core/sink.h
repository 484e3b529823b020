/* sink.h -- where payloads go.
 *
 *   sink_stackstate.c  POST to <base>/stsAgent/intake?api_key=<key>, gzip,
 *                      retries, and a durable spool (spool.c) so nothing is lost
 *   sink_file.c        --output FILE|- with --format intake | json | dot
 *
 * Data flows one way: mapping -> topology -> intake payloads -> sink. A sink
 * never reaches back into the scan.
 */
#ifndef AWSTOPO_SINK_H
#define AWSTOPO_SINK_H

#include <stddef.h>

#include "intake.h"
#include "topology.h"

/* ---- StackState receiver ---- */

typedef struct stackstate_options {
    /* https://host, https://host/receiver, …/stsAgent or …/stsAgent/intake
     * (a trailing '/' is fine): "/stsAgent/intake" is appended as needed. */
    const char *base_url;
    const char *api_key;           /* secret: never logged, never spooled */
    const char *spool_dir;         /* durable queue of undelivered payloads (spool.h); required */
    size_t spool_max_bytes;        /* 0 = 256 MiB */
    int max_attempts;              /* per payload per delivery round; 0 = 5 */
    long retry_base_ms;            /* first backoff; 0 = 1000 */
    long timeout_ms;               /* per request; 0 = 30000 */
    int no_gzip;                   /* send plain JSON */
} stackstate_options;

typedef struct stackstate_sink stackstate_sink;

typedef struct sink_stats {
    size_t delivered;              /* payloads accepted (2xx) */
    size_t spooled;                /* payloads left in the spool */
    size_t retries;
    size_t bytes_sent;             /* body bytes of the attempts that got an HTTP answer */
} sink_stats;

/* Opens (and creates) the spool. NULL with a message on failure. Caller frees. */
stackstate_sink *stackstate_sink_new(const stackstate_options *o, char *err, size_t errlen);
void stackstate_sink_free(stackstate_sink *s);

/* Spools the payloads (atomic write + fsync, in order; all of them or, when
 * the spool is full even after delivering what waits, none), then delivers
 * the whole spool in order, oldest first, never skipping a payload that could
 * not go. Returns 0 when everything was delivered, 1 when some payloads stay
 * spooled (receiver down or failing after max_attempts, or another process
 * holds the spool's delivery lock: retried later), -1 on a permanent error
 * (401/403 wrong API key, 413 or another 4xx, spool full, I/O error); the
 * refused payload stays spooled. err says why whenever the result is not 0,
 * and never holds the API key. */
int stackstate_sink_send(stackstate_sink *s, const payload_list *payloads, char *err, size_t errlen);
/* Delivers what the spool holds; same return values. */
int stackstate_sink_flush(stackstate_sink *s, char *err, size_t errlen);
const sink_stats *stackstate_sink_stats(const stackstate_sink *s);

/* ---- local outputs ---- */

typedef enum output_format { FORMAT_INTAKE, FORMAT_JSON, FORMAT_DOT } output_format;

/* Writes the topology to path ("-" = stdout) in the given format; intake
 * writes the payloads (a JSON array of them). Returns 0 or -1 with err. */
int sink_file_write(const char *path, output_format format, const topology *t,
                    const payload_list *payloads, char *err, size_t errlen);
int output_format_parse(const char *name, output_format *out);

#endif
