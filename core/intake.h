/* intake.h -- StackState agent intake payloads built from a topology.
 *
 * A payload is the JSON document the StackState receiver takes at
 * /stsAgent/intake:
 *   {"internalHostname": ..., "collection_timestamp": <epoch s>,
 *    "topologies": [{"start_snapshot": bool, "stop_snapshot": bool,
 *                    "instance": {"type": "aws", "url": <instance name>},
 *                    "components": [...], "relations": [...], "delete_ids": [...]}],
 *    "health": [], "metrics": []}
 *
 * A full scan is one snapshot cut into as many payloads as the limits need:
 * start_snapshot on the first, stop_snapshot on the last, and no stop_snapshot
 * at all when the scan was incomplete (some service/region failed), so that
 * StackState deletes nothing by mistake.
 *
 * Items go in the order components, relations, deletes: sent in order, a
 * relation never arrives before the payload holding its endpoints (when they
 * are in the same topology) and the deletes come in the last payload(s). A
 * payload is cut before max_items or max_bytes would be passed; an item
 * larger than max_bytes on its own still goes, alone in its payload.
 */
#ifndef AWSTOPO_INTAKE_H
#define AWSTOPO_INTAKE_H

#include <stddef.h>

#include "buf.h"
#include "topology.h"

typedef struct intake_options {
    const char *instance_type;     /* "aws" */
    const char *instance_url;      /* the AWS instance name of the StackPack */
    const char *hostname;          /* internalHostname; NULL = gethostname() */
    double collection_timestamp;   /* 0 = now */
    size_t max_items;              /* components + relations + deletes per payload; 0 = 2500 */
    size_t max_bytes;              /* uncompressed bytes per payload; 0 = 4 MiB */
} intake_options;

typedef enum intake_mode {
    INTAKE_SNAPSHOT_COMPLETE,      /* start_snapshot ... stop_snapshot */
    INTAKE_SNAPSHOT_INCOMPLETE,    /* start_snapshot, never stop_snapshot */
    INTAKE_INCREMENTAL             /* neither (events) */
} intake_mode;

typedef struct payload_list {
    buf *items;                    /* each a complete JSON payload */
    size_t len, cap;
} payload_list;

/* Receives one payload: len bytes of JSON at payload (NUL-terminated). The
 * bytes belong to intake_each and are valid only during the call. Returns 0
 * to go on; anything else stops intake_each, which returns it. */
typedef int (*intake_fn)(void *ud, const char *payload, size_t len);

/* Makes the payloads for t one at a time, in order, and hands each to fn:
 * only one payload is in memory at any moment, however big the topology.
 * o may be NULL (all defaults); with collection_timestamp 0 each call takes
 * the time anew, so callers that make the same payloads twice (a file and
 * StackState) set it. Always produces at least one payload in snapshot modes
 * (an empty account still starts and stops a snapshot); an empty topology in
 * incremental mode produces none. Returns 0, or what fn returned to stop. */
int intake_each(const topology *t, const intake_options *o, intake_mode mode, intake_fn fn, void *ud);

/* intake_each into a list: appends the payloads for t to out (caller frees
 * with payload_list_free). For tests and small topologies. */
void intake_build(const topology *t, const intake_options *o, intake_mode mode, payload_list *out);

/* Cuts one payload in two (intake_split.c), for a receiver that refused it
 * as too large (HTTP 413). The items -- components, then relations, then
 * delete_ids, in order -- are divided into a first part of ceil(n/2) items
 * and a second of the rest; everything else (internalHostname,
 * collection_timestamp, instance, ...) is copied as it is into both, byte
 * for byte, and so are the items. start_snapshot stays only on the first
 * part, stop_snapshot only on the second, so sending first then second is
 * the same snapshot as sending the original.
 * Appends the parts to first and second and their item counts to *n_first,
 * *n_second. Returns 0; 1 when the payload has fewer than two items (it
 * cannot be cut: nothing appended); -1 with a message when json is not an
 * intake payload with exactly one topology. */
int intake_split(const char *json, size_t len, buf *first, buf *second, size_t *n_first, size_t *n_second,
                 char *err, size_t errlen);
/* The payload's snapshot flags into *start and *stop; when stop_snapshot is
 * set, the same payload with it false is appended to out (byte for byte
 * otherwise). 0, or -1 with a message when json is not an intake payload. */
int intake_without_stop(const char *json, size_t len, buf *out, int *start, int *stop, char *err, size_t errlen);
void payload_list_free(payload_list *l);
/* Appends an empty buf to l and returns it (for callers assembling payloads). */
buf *payload_list_add(payload_list *l);

/* Appends s[0..n) to out as a quoted JSON string ("\"", "\\" and control
 * characters escaped; other bytes, UTF-8 included, as they are). */
void intake_json_string(buf *out, const char *s, size_t n);

#endif
