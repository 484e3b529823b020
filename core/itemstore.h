/* itemstore.h -- where the topology's items wait until the sinks take them.
 *
 * A scan of 100,000 resources produces a few hundred MB of JSON items (and
 * tens of MB of externalIds), which the sinks want in externalId order only
 * once every run is done. Holding them in the heap made the process as big
 * as the account; here they are appended to an unlinked temporary file (in
 * TMPDIR, else /tmp) as they are emitted, and read back when needed. Only
 * offsets stay in memory. When no temporary file can be made, the bytes stay
 * in memory instead.
 *
 * Two stores per process, shared by every topology (merging topologies moves
 * offsets, never bytes): one for the encoded items, one for externalIds.
 * Bytes are never removed: a replaced item leaves its old bytes behind, which
 * costs disk, not memory. Not thread-safe.
 */
#ifndef AWSTOPO_ITEMSTORE_H
#define AWSTOPO_ITEMSTORE_H

#include <stddef.h>

#include "buf.h"

typedef struct itemstore itemstore;

itemstore *itemstore_json(void);   /* the items' encoded JSON */
itemstore *itemstore_ids(void);    /* externalIds of topologies that spill them (topology_spill_ids) */

/* Appends len bytes; returns their offset (for itemstore_get). Aborts when
 * the disk is full (as buf does when memory runs out). */
unsigned long long itemstore_put(itemstore *s, const char *data, size_t len);

/* The len bytes at off, NUL-terminated, copied into scratch (cleared first);
 * returns scratch->data. */
const char *itemstore_get(itemstore *s, unsigned long long off, size_t len, buf *scratch);

/* The len bytes at off copied into out (no NUL added): one read for bytes
 * in the file, a copy for those still in the write buffer. */
void itemstore_read(itemstore *s, unsigned long long off, size_t len, char *out);

/* Every byte appended so far, in one read: out (cleared first) holds bytes
 * [0, itemstore_size(s)), so offsets index into out->data. */
void itemstore_read_all(itemstore *s, buf *out);

unsigned long long itemstore_size(itemstore *s);

#endif
