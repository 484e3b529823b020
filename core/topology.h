/* topology.h -- the topology buffer between mappings and sinks.
 *
 * Mappings emit components, relations and deletes; each arrives here already
 * encoded as a JSON object in StackState's agent intake form, so the Lua
 * tables can be collected as soon as they are emitted. A topology knows
 * nothing about where it goes: sinks (sink_*.c) read it.
 *
 *   component: {"externalId": ..., "type": {"name": ...}, "data": {...}}
 *   relation:  {"externalId": "<source>-<type>-<target>", "type": {"name": ...},
 *               "sourceId": ..., "targetId": ..., "data": {...}}
 *   delete:    an externalId
 *
 * Items are kept in arrival order; an item whose externalId was already
 * emitted replaces the earlier one in place (a resource reached twice, e.g.
 * by a scan and a CloudFormation stack, is sent once).
 *
 * The encoded JSON goes to the item store (itemstore.h, a temporary file) as
 * it is added, and topo_item_json reads it back, so a 100,000-resource scan
 * does not hold its topology. A topology that spills its ids
 * (topology_spill_ids: a scan's) puts the externalIds of its components and
 * relations there too, keeping only their hashes, and brings them back into
 * memory, all at once, when it is sorted: until then their external_id is
 * NULL.
 */
#ifndef AWSTOPO_TOPOLOGY_H
#define AWSTOPO_TOPOLOGY_H

#include <stddef.h>

#include "buf.h"

typedef enum topo_kind { TOPO_COMPONENT, TOPO_RELATION, TOPO_DELETE } topo_kind;

typedef struct topo_item {
    char *external_id;         /* owned, or in the list's id block when spilled (NULL until sorted) */
    unsigned long long off;    /* the encoded object in the item store; TOPO_NO_JSON for deletes */
    unsigned long long id_off; /* spilled: the id (NUL-terminated) in the id store */
    unsigned long long hash;   /* of the externalId */
    unsigned json_len, id_len;
} topo_item;

#define TOPO_NO_JSON (~0ULL)

typedef struct topo_list {
    topo_item *items;
    size_t len, cap;
    struct topo_index *index;   /* private: externalId -> position */
    int spill;                  /* ids go to the id store (topology_spill_ids) */
} topo_list;

typedef struct topology {
    topo_list components;
    topo_list relations;
    topo_list deletes;
    char *id_block;             /* spilled ids read back by topology_sort (owned) */
} topology;

void topology_init(topology *t);
void topology_free(topology *t);
/* From now on, the externalIds of components and relations added (or merged)
 * wait in the id store too; topology_sort brings them back. For topologies
 * as big as a scan's; deletes keep theirs. */
void topology_spill_ids(topology *t);
/* Copies id and json. Returns 1 when it replaced an item with the same id. */
int topology_add(topology *t, topo_kind kind, const char *external_id, const char *json, size_t json_len);
/* Moves everything from src to the end of dst (same replacement rule); src becomes empty. */
void topology_merge(topology *dst, topology *src);
size_t topology_count(const topology *t);
/* The item's encoded JSON (json_len bytes, NUL-terminated) read into scratch,
 * or NULL for a delete. Valid until scratch is used again. */
const char *topo_item_json(const topo_item *it, buf *scratch);
/* Many items read back at once, for the sinks that go through a whole
 * list: topo_batch_load reads the items [from, to) of a list (in externalId
 * order after topology_sort, so scattered over the item store) sorted by
 * offset, neighbours in one read: about a tenth of the reads of one
 * topo_item_json each. A zeroed topo_batch is empty; it is reused from
 * load to load. It holds the items' bytes: callers load TOPO_BATCH items at
 * a time, so that reading back adds little to the peak (the scan's ids are
 * all in memory by then). */
#define TOPO_BATCH 256
typedef struct topo_batch {
    buf bytes;          /* the items' JSON, each NUL-terminated */
    size_t *at;         /* item from + k: at bytes.data + at[k], or (size_t)-1 for a delete */
    struct topo_span *spans;   /* private: the items in offset order */
    size_t from, len, cap;
    buf read;           /* private: one read */
} topo_batch;

void topo_batch_load(topo_batch *b, const topo_list *l, size_t from, size_t to);
/* Item i's JSON (json_len bytes, NUL-terminated), or NULL for a delete;
 * from <= i < from + len of the last load. Valid until the next load. */
const char *topo_batch_json(const topo_batch *b, size_t i);
void topo_batch_free(topo_batch *b);

/* The encoded JSON of the component or relation with this externalId, read
 * into scratch (valid until scratch is used again), or NULL when there is none. */
const char *topology_find_json(const topology *t, topo_kind kind, const char *external_id, buf *scratch);
/* Is there an item (component, relation or delete) with this externalId? */
int topology_has(const topology *t, const char *external_id);
/* Sorts each list by externalId (stable output for golden files and diffs);
 * afterwards every external_id is set, spilled or not. */
void topology_sort(topology *t);

#endif
