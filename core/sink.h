/* sink.h -- where payloads go.
 *
 *   sink_stackstate.c  POST to <base>/stsAgent/intake?api_key=<key>, gzip,
 *                      retries, and a durable spool (spool.c) so nothing is
 *                      lost; payloads too large are cut, payloads refused for
 *                      good are moved to <spool>/rejected/ (see below)
 *   sink_file.c        --output FILE|- with --format intake | json | dot
 *
 * Data flows one way: mapping -> topology -> intake payloads -> sink. A sink
 * never reaches back into the scan. Given a topology, both sinks make the
 * payloads one at a time (intake_each), so memory does not grow with the
 * number of payloads.
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
    size_t delivered;              /* payloads accepted (2xx); each part of a cut payload counts */
    size_t spooled;                /* payloads left in the spool */
    size_t retries;
    size_t bytes_sent;             /* body bytes of the attempts that got an HTTP answer */
    size_t splits;                 /* payloads cut in two after an HTTP 413 */
    size_t rejected;               /* payloads (or parts) refused for good, moved to <spool>/rejected/ */
    size_t corrupt;                /* spool entries found unreadable, moved to <spool>/corrupt/ */
} sink_stats;

/* What a send did (and, inside sink_stackstate.c, one payload). */
typedef enum sink_result {
    SINK_REFUSED = -1,     /* a permanent error: delivery stopped (see below) */
    SINK_DELIVERED = 0,    /* everything went */
    SINK_GAVE_UP = 1,      /* some payloads stay spooled, for a later send */
    SINK_SET_ASIDE = 2     /* one payload only: it, or a part, was moved to rejected/
                            * and the rest went; a send then says SINK_REFUSED */
} sink_result;

/* Opens (and creates) the spool. NULL with a message on failure. Caller frees. */
stackstate_sink *stackstate_sink_new(const stackstate_options *o, char *err, size_t errlen);
void stackstate_sink_free(stackstate_sink *s);

/* Spools the payloads, then delivers the whole spool in order, oldest first.
 * payloads may be NULL (or empty): then it only delivers what the spool holds.
 *
 * Spooling is all or nothing (spool_stage/spool_commit): each payload is
 * compressed and written durably as it comes, and the batch becomes spool
 * entries only once all of it is written. When the spool is full, what waits
 * there is delivered first to make room; when that does not make enough, no
 * payload of the batch is spooled.
 *
 * Delivery never skips a payload that could not go, except one refused for
 * good, which is moved aside:
 *   2xx                     delivered: removed from the spool
 *   408, 429, 5xx, no answer  retried with backoff up to max_attempts, then
 *                           delivery stops and everything stays spooled
 *   413 (too large)         the payload is cut in two (intake_split: half the
 *                           items each, snapshot flags kept right) and the
 *                           parts are delivered in order, cut again on 413;
 *                           the spooled payload is removed once all its parts
 *                           went. Should delivery stop half-way, it stays
 *                           spooled whole and is cut again next time (the
 *                           parts already accepted are then sent twice).
 *   413 on a single item, 400, 422 and other 4xx that blame the payload
 *                           the payload (or the part) is moved to
 *                           <spool>/rejected/<seq>.json.gz (a part cut from
 *                           entry seq: <seq>.item-<i>.json.gz or
 *                           <seq>.items-<i>-<j>.json.gz, items numbered from 0
 *                           in the order components, relations, delete_ids)
 *                           and delivery goes on with the next payload. The
 *                           file stays there for inspection: nothing deletes
 *                           it (StackState never got it; send it by hand or
 *                           delete it).
 *   401, 403                the API key was refused: delivery stops, all
 *                           stays spooled (fix the key, and the next run
 *                           delivers)
 *   404, 405, 407, 415, 3xx the URL or the client is wrong, for every payload
 *                           alike: delivery stops, all stays spooled
 * Returns SINK_DELIVERED when everything was delivered; SINK_GAVE_UP when
 * some payloads stay spooled (receiver down or failing after max_attempts, or
 * another process holds the spool's delivery lock: retried later);
 * SINK_REFUSED on a permanent error (API key refused, a payload moved aside,
 * spool full, I/O error). err says why whenever the result is not
 * SINK_DELIVERED -- for a payload moved aside: the file, the
 * HTTP status and the start of the receiver's answer -- and never holds the
 * API key. */
sink_result stackstate_sink_send(stackstate_sink *s, const payload_list *payloads, char *err, size_t errlen);
/* The same for the payloads of a topology, made one at a time (intake_each):
 * the payloads are never all in memory at once. */
sink_result stackstate_sink_send_topology(stackstate_sink *s, const topology *t, const intake_options *o,
                                          intake_mode mode, char *err, size_t errlen);
const sink_stats *stackstate_sink_stats(const stackstate_sink *s);

/* ---- local outputs ---- */

typedef enum output_format { FORMAT_INTAKE, FORMAT_JSON, FORMAT_DOT } output_format;

/* Writes the topology to path ("-" = stdout) in the given format, streaming
 * (never the whole output in memory); intake writes the payloads intake_each
 * makes of t with o and mode, as a JSON array, one payload in memory at a
 * time. Returns 0 or -1 with err. */
int sink_file_write_topology(const char *path, output_format format, const topology *t, const intake_options *o,
                             intake_mode mode, char *err, size_t errlen);
/* The same, with the intake payloads given (for intake; NULL otherwise). */
int sink_file_write(const char *path, output_format format, const topology *t,
                    const payload_list *payloads, char *err, size_t errlen);
int output_format_parse(const char *name, output_format *out);

#endif
