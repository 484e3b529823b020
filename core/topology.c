/* topology.c -- the topology buffer (see topology.h).
 *
 * Each list keeps an open-addressing index from externalId to position so
 * that replacing a re-emitted item costs O(1) even for 100,000 components.
 */
#include "topology.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "itemstore.h"

typedef struct topo_index {
    size_t cap;        /* power of two, > 2 * len */
    size_t *slots;     /* position + 1; 0 = empty */
} topo_index;

static size_t hash_id(const char *s)
{
    size_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static size_t *index_slot(const topo_list *l, const char *id)
{
    size_t i = hash_id(id) & (l->index->cap - 1);
    for (;;) {
        size_t *slot = &l->index->slots[i];
        if (*slot == 0 || strcmp(l->items[*slot - 1].external_id, id) == 0) return slot;
        i = (i + 1) & (l->index->cap - 1);
    }
}

static void index_rebuild(topo_list *l, size_t cap)
{
    if (!l->index) l->index = xcalloc(1, sizeof *l->index);
    free(l->index->slots);
    l->index->cap = cap;
    l->index->slots = xcalloc(cap, sizeof *l->index->slots);
    for (size_t i = 0; i < l->len; i++) *index_slot(l, l->items[i].external_id) = i + 1;
}

static void list_free(topo_list *l)
{
    for (size_t i = 0; i < l->len; i++) free(l->items[i].external_id);
    free(l->items);
    if (l->index) free(l->index->slots);
    free(l->index);
    memset(l, 0, sizeof *l);
}

/* Takes ownership of id; off/json_len name the JSON in the item store. */
static int list_put(topo_list *l, char *id, unsigned long long off, size_t json_len)
{
    if (!l->index || (l->len + 1) * 2 > l->index->cap)
        index_rebuild(l, l->index ? l->index->cap * 2 : 64);
    size_t *slot = index_slot(l, id);
    if (*slot) {
        topo_item *it = &l->items[*slot - 1];
        free(id);
        it->off = off;
        it->json_len = json_len;
        return 1;
    }
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len] = (topo_item){ id, off, json_len };
    *slot = ++l->len;
    return 0;
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
}

static topo_list *list_of(topology *t, topo_kind kind)
{
    return kind == TOPO_COMPONENT ? &t->components : kind == TOPO_RELATION ? &t->relations : &t->deletes;
}

int topology_add(topology *t, topo_kind kind, const char *external_id, const char *json, size_t json_len)
{
    unsigned long long off = json ? itemstore_put(json, json_len) : TOPO_NO_JSON;
    return list_put(list_of(t, kind), xstrdup(external_id), off, json ? json_len : 0);
}

static void list_move(topo_list *dst, topo_list *src)
{
    for (size_t i = 0; i < src->len; i++)
        list_put(dst, src->items[i].external_id, src->items[i].off, src->items[i].json_len);
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
    return it->off == TOPO_NO_JSON ? NULL : itemstore_get(it->off, it->json_len, scratch);
}

static int list_has(const topo_list *l, const char *id)
{
    return l->index && *index_slot(l, id) != 0;
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

static int compare_items(const void *a, const void *b)
{
    return strcmp(((const topo_item *)a)->external_id, ((const topo_item *)b)->external_id);
}

static void list_sort(topo_list *l)
{
    if (l->len < 2) return;
    qsort(l->items, l->len, sizeof *l->items, compare_items);
    index_rebuild(l, l->index->cap);
}

void topology_sort(topology *t)
{
    list_sort(&t->components);
    list_sort(&t->relations);
    list_sort(&t->deletes);
}
