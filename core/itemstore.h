/* itemstore.h -- where the topology's encoded items wait until the sinks take them.
 *
 * A scan of 100,000 resources produces a few hundred MB of JSON items, which
 * the sinks want in externalId order only once every run is done. Holding
 * them in the heap made the process as big as the account; here they are
 * appended to an unlinked temporary file (in TMPDIR, else /tmp) as they are
 * emitted, and read back one at a time. Only the offsets stay in memory.
 * When no temporary file can be made, the bytes stay in memory instead.
 *
 * One store per process, shared by every topology (merging topologies moves
 * offsets, never bytes). Bytes are never removed: a replaced item leaves its
 * old bytes behind, which costs disk, not memory. Not thread-safe.
 */
#ifndef AWSTOPO_ITEMSTORE_H
#define AWSTOPO_ITEMSTORE_H

#include <stddef.h>

#include "buf.h"

/* Appends len bytes; returns their offset (for itemstore_get). Aborts when
 * the disk is full (as buf does when memory runs out). */
unsigned long long itemstore_put(const char *data, size_t len);

/* The len bytes at off, NUL-terminated, copied into scratch (cleared first);
 * returns scratch->data. */
const char *itemstore_get(unsigned long long off, size_t len, buf *scratch);

/* Bytes appended so far (disk or memory), for tests and figures. */
unsigned long long itemstore_size(void);

#endif
