/* topology.c -- the topology buffer (see topology.h).
 *
 * Each list keeps an open-addressing index from externalId to position so
 * that replacing a re-emitted item costs O(1) even for 100,000 components.
 * The index compares hashes first; only on equal hashes does it look at the
 * ids themselves (for a spilled id: read back from the id store).
 */
#include "topology.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "itemstore.h"

typedef struct topo_index {
    size_t cap;        /* power of two, > 2 * len */
    unsigned *slots;   /* position + 1; 0 = empty (4 bytes: an index of a scan's 350,000 items is 2 MiB less) */
} topo_index;

static unsigned long long hash_id(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* The item's id: in memory, or read back into scratch. */
static const char *item_id(const topo_item *it, buf *scratch)
{
    if (it->external_id) return it->external_id;
    return itemstore_get(itemstore_ids(), it->id_off, it->id_len, scratch);
}

/* The slot of the item with this id (hash h), or the empty slot it would
 * take. id NULL: the id is probe's (read back only if a hash matches). */
static unsigned *index_slot(const topo_list *l, const char *id, unsigned long long h, const topo_item *probe)
{
    static buf scratch, probe_id;
    size_t i = (size_t)h & (l->index->cap - 1);
    for (;;) {
        unsigned *slot = &l->index->slots[i];
        if (*slot == 0) return slot;
        const topo_item *it = &l->items[*slot - 1];
        if (it->hash == h) {
            if (!id) id = item_id(probe, &probe_id);
            if (strcmp(item_id(it, &scratch), id) == 0) return slot;
        }
        i = (i + 1) & (l->index->cap - 1);
    }
}

/* Every item's slot: ids are distinct already, so no comparison is needed. */
static void index_rebuild(topo_list *l, size_t cap)
{
    if (!l->index) l->index = xcalloc(1, sizeof *l->index);
    free(l->index->slots);
    l->index->cap = cap;
    l->index->slots = xcalloc(cap, sizeof *l->index->slots);
    for (size_t i = 0; i < l->len; i++) {
        size_t k = (size_t)l->items[i].hash & (cap - 1);
        while (l->index->slots[k]) k = (k + 1) & (cap - 1);
        l->index->slots[k] = (unsigned)(i + 1);
    }
}

static void list_free(topo_list *l)
{
    if (!l->spill)
        for (size_t i = 0; i < l->len; i++) free(l->items[i].external_id);
    free(l->items);
    if (l->index) free(l->index->slots);
    free(l->index);
    memset(l, 0, sizeof *l);
}

/* Adds item (its id already where the list keeps ids: owned by it, or spilled)
 * or replaces the one with the same id. id is the id's text when the caller
 * has it (else it is read back if needed). */
static int list_put(topo_list *l, topo_item item, const char *id)
{
    if (!l->index || (l->len + 1) * 2 > l->index->cap)
        index_rebuild(l, l->index ? l->index->cap * 2 : 64);
    unsigned *slot = index_slot(l, id, item.hash, &item);
    if (*slot) {
        topo_item *it = &l->items[*slot - 1];
        if (!l->spill) free(item.external_id);
        it->off = item.off;
        it->json_len = item.json_len;
        return 1;
    }
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap + l->cap / 2 + 16 : 64;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len] = item;
    *slot = (unsigned)++l->len;
    return 0;
}

/* The item for id as list l keeps ids. */
static topo_item make_item(const topo_list *l, const char *id, unsigned long long h)
{
    topo_item it = { NULL, TOPO_NO_JSON, 0, h, 0, (unsigned)strlen(id) };
    if (l->spill) it.id_off = itemstore_put(itemstore_ids(), id, it.id_len + 1);
    else it.external_id = xstrdup(id);
    return it;
}

void topology_init(topology *t)
{
    memset(t, 0, sizeof *t);
}

void topology_free(topology *t)
{
    list_free(&t->components);
    list_free(&t->relations);
    list_free(&t->deletes);
    free(t->id_block);
    t->id_block = NULL;
}

void topology_spill_ids(topology *t)
{
    t->components.spill = t->relations.spill = 1;
}

static topo_list *list_of(topology *t, topo_kind kind)
{
    return kind == TOPO_COMPONENT ? &t->components : kind == TOPO_RELATION ? &t->relations : &t->deletes;
}

int topology_add(topology *t, topo_kind kind, const char *external_id, const char *json, size_t json_len)
{
    topo_list *l = list_of(t, kind);
    unsigned long long h = hash_id(external_id);
    unsigned *slot = l->index ? index_slot(l, external_id, h, NULL) : NULL;
    topo_item it;
    if (slot && *slot) {     /* a replacement: the id is there already */
        it = l->items[*slot - 1];
        if (!l->spill) it.external_id = NULL;
    } else {
        it = make_item(l, external_id, h);
    }
    it.off = json ? itemstore_put(itemstore_json(), json, json_len) : TOPO_NO_JSON;
    it.json_len = json ? (unsigned)json_len : 0;
    return list_put(l, it, external_id);
}

static void list_move(topo_list *dst, topo_list *src)
{
    static buf scratch;
    for (size_t i = 0; i < src->len; i++) {
        topo_item it = src->items[i];
        if (src->spill) it.external_id = NULL;   /* it may point into src's id block */
        if (src->spill == dst->spill) {
            list_put(dst, it, it.external_id);   /* the id moves as it is */
            continue;
        }
        const char *id = item_id(&it, &scratch);
        topo_item moved = make_item(dst, id, it.hash);
        moved.off = it.off;
        moved.json_len = it.json_len;
        list_put(dst, moved, id);
        if (!src->spill) free(it.external_id);
    }
    src->len = 0;   /* ownership moved: free only the arrays */
    list_free(src);
}

void topology_merge(topology *dst, topology *src)
{
    list_move(&dst->components, &src->components);
    list_move(&dst->relations, &src->relations);
    list_move(&dst->deletes, &src->deletes);
}

const char *topo_item_json(const topo_item *it, buf *scratch)
{
    return it->off == TOPO_NO_JSON ? NULL : itemstore_get(itemstore_json(), it->off, it->json_len, scratch);
}

/* ---- batches ---- */

/* Items closer than this in the store are read together, the bytes between
 * them read too (a copy of a few KiB costs less than a system call); no
 * single read grows past READ_MAX. */
#define READ_GAP 4096
#define READ_MAX (256 * 1024)

typedef struct topo_span {
    unsigned long long off;
    size_t len, k;
} topo_span;

static int compare_spans(const void *a, const void *b)
{
    const topo_span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

void topo_batch_load(topo_batch *b, const topo_list *l, size_t from, size_t to)
{
    size_t n = to > from ? to - from : 0;
    if (n > b->cap) {
        b->cap = n;
        b->at = xrealloc(b->at, n * sizeof *b->at);
        b->spans = xrealloc(b->spans, n * sizeof *b->spans);
    }
    b->from = from;
    b->len = n;
    buf_clear(&b->bytes);
    size_t m = 0, total = 0;
    for (size_t k = 0; k < n; k++) {
        const topo_item *it = &l->items[from + k];
        b->at[k] = (size_t)-1;
        if (it->off == TOPO_NO_JSON) continue;
        b->spans[m++] = (topo_span){ it->off, it->json_len, k };
        total += it->json_len + 1;
    }
    qsort(b->spans, m, sizeof *b->spans, compare_spans);
    buf_reserve(&b->bytes, total);
    for (size_t i = 0; i < m;) {
        unsigned long long start = b->spans[i].off, end = start + b->spans[i].len;
        size_t j = i + 1;
        for (; j < m && b->spans[j].off <= end + READ_GAP; j++) {
            unsigned long long e = b->spans[j].off + b->spans[j].len;
            if (e - start > READ_MAX) break;
            if (e > end) end = e;
        }
        buf_clear(&b->read);
        buf_reserve(&b->read, (size_t)(end - start));
        itemstore_read(itemstore_json(), start, (size_t)(end - start), b->read.data);
        for (; i < j; i++) {
            const topo_span *sp = &b->spans[i];
            b->at[sp->k] = b->bytes.len;
            buf_append(&b->bytes, b->read.data + (sp->off - start), sp->len);
            b->bytes.data[b->bytes.len++] = '\0';
        }
    }
}

const char *topo_batch_json(const topo_batch *b, size_t i)
{
    size_t at = b->at[i - b->from];
    return at == (size_t)-1 ? NULL : b->bytes.data + at;
}

void topo_batch_free(topo_batch *b)
{
    buf_free(&b->bytes);
    buf_free(&b->read);
    free(b->at);
    free(b->spans);
    memset(b, 0, sizeof *b);
}

static int list_has(const topo_list *l, const char *id)
{
    return l->index && *index_slot(l, id, hash_id(id), NULL) != 0;
}

const char *topology_find_json(const topology *t, topo_kind kind, const char *external_id, buf *scratch)
{
    const topo_list *l = kind == TOPO_COMPONENT ? &t->components : kind == TOPO_RELATION ? &t->relations : &t->deletes;
    if (!l->index) return NULL;
    unsigned *slot = index_slot(l, external_id, hash_id(external_id), NULL);
    return *slot ? topo_item_json(&l->items[*slot - 1], scratch) : NULL;
}

int topology_has(const topology *t, const char *external_id)
{
    return list_has(&t->components, external_id) || list_has(&t->relations, external_id) ||
           list_has(&t->deletes, external_id);
}

size_t topology_count(const topology *t)
{
    return t->components.len + t->relations.len + t->deletes.len;
}

static int compare_positions(const void *a, const void *b, void *items)
{
    const topo_item *it = items;
    return strcmp(it[*(const unsigned *)a].external_id, it[*(const unsigned *)b].external_id);
}

/* A spilled list's ids back in memory: the whole id store in one read (ids of
 * other topologies and replaced items come along; they are few), each item
 * pointing into it. */
static void load_ids(topology *t)
{
    buf block = {0};
    itemstore_read_all(itemstore_ids(), &block);
    free(t->id_block);
    t->id_block = buf_steal(&block);
    topo_list *lists[] = { &t->components, &t->relations };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; lists[k]->spill && i < lists[k]->len; i++)
            lists[k]->items[i].external_id = t->id_block + lists[k]->items[i].id_off;
}

/* Sorts positions (4 bytes each), then moves the items into place cycle by
 * cycle: no second copy of the items, which qsort on them would make. */
static void list_sort(topo_list *l)
{
    size_t n = l->len;
    if (n < 2) return;
    unsigned *order = xmalloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = (unsigned)i;
    qsort_r(order, n, sizeof *order, compare_positions, l->items);
    for (size_t k = 0; k < n; k++) {        /* position j gets the item at order[j] */
        if (order[k] == k) continue;
        topo_item first = l->items[k];
        size_t j = k;
        for (;;) {
            size_t from = order[j];
            order[j] = (unsigned)j;
            if (from == k) {
                l->items[j] = first;
                break;
            }
            l->items[j] = l->items[from];
            j = from;
        }
    }
    free(order);
    index_rebuild(l, l->index->cap);
}

void topology_sort(topology *t)
{
    if ((t->components.spill && t->components.len) || (t->relations.spill && t->relations.len)) load_ids(t);
    list_sort(&t->components);
    list_sort(&t->relations);
    list_sort(&t->deletes);
}
