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

/* Appends the payloads for t to out (caller frees with payload_list_free).
 * o may be NULL (all defaults). Always produces at least one payload in
 * snapshot modes (an empty account still starts and stops a snapshot); an
 * empty topology in incremental mode produces none. */
void intake_build(const topology *t, const intake_options *o, intake_mode mode, payload_list *out);
void payload_list_free(payload_list *l);
/* Appends an empty buf to l and returns it (for callers assembling payloads). */
buf *payload_list_add(payload_list *l);

/* Appends s[0..n) to out as a quoted JSON string ("\"", "\\" and control
 * characters escaped; other bytes, UTF-8 included, as they are). */
void intake_json_string(buf *out, const char *s, size_t n);

#endif
