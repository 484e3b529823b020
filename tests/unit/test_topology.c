/* test_topology.c -- the topology buffer (topology.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "topology.h"

/* An item's JSON from the item store (a few at a time may be in use). */
static const char *json_of(const topo_item *it)
{
    static buf b[4];
    static int k;
    k = (k + 1) % 4;
    return topo_item_json(it, &b[k]);
}

static int add(topology *t, topo_kind kind, const char *id, const char *json)
{
    return topology_add(t, kind, id, json, json ? strlen(json) : 0);
}

/* The ids of a list joined with ',' (for short lists). */
static const char *ids(const topo_list *l)
{
    static char out[1024];
    out[0] = '\0';
    for (size_t i = 0; i < l->len; i++) {
        if (i) strcat(out, ",");
        strcat(out, l->items[i].external_id);
    }
    return out;
}

static void test_add_replace(void)
{
    topology t;
    topology_init(&t);
    CHECK(topology_count(&t) == 0, "empty");

    CHECK(add(&t, TOPO_COMPONENT, "c", "{\"v\":1}") == 0, "new component");
    CHECK(add(&t, TOPO_COMPONENT, "a", "{\"v\":2}") == 0, "new component");
    CHECK(add(&t, TOPO_COMPONENT, "b", "{\"v\":3}") == 0, "new component");
    CHECK(add(&t, TOPO_RELATION, "a-uses-b", "{\"r\":1}") == 0, "new relation");
    CHECK(add(&t, TOPO_DELETE, "gone", NULL) == 0, "new delete");
    CHECK(topology_count(&t) == 5, "count %zu", topology_count(&t));
    CHECK_STR(ids(&t.components), "c,a,b");           /* arrival order */

    /* same externalId: replaced in place, count unchanged */
    CHECK(add(&t, TOPO_COMPONENT, "a", "{\"v\":20}") == 1, "replacement reported");
    CHECK_STR(ids(&t.components), "c,a,b");
    CHECK_STR(json_of(&t.components.items[1]), "{\"v\":20}");
    CHECK(t.components.items[1].json_len == 8, "json_len updated");
    CHECK(topology_count(&t) == 5, "count after replace %zu", topology_count(&t));

    /* the same id in another kind is another item */
    CHECK(add(&t, TOPO_RELATION, "a", "{\"r\":2}") == 0, "kinds are separate");
    CHECK(t.relations.len == 2, "two relations");
    CHECK(add(&t, TOPO_DELETE, "gone", NULL) == 1, "delete deduplicated");
    CHECK(t.deletes.len == 1 && json_of(&t.deletes.items[0]) == NULL && t.deletes.items[0].json_len == 0,
          "a delete has no json");

    /* the json is copied, and only json_len bytes of it */
    char json[] = "{\"x\":1}IGNORED";
    topology_add(&t, TOPO_COMPONENT, "copy", json, 7);
    memcpy(json, "XXXXXXX", 7);
    CHECK_STR(json_of(&t.components.items[3]), "{\"x\":1}");
    CHECK(t.components.items[3].json_len == 7, "len 7");
    char id[] = "mutable-id";
    add(&t, TOPO_COMPONENT, id, "{}");
    id[0] = 'X';
    CHECK_STR(t.components.items[4].external_id, "mutable-id");
    CHECK(add(&t, TOPO_COMPONENT, "mutable-id", "{}") == 1, "found by its copied id");

    topology_free(&t);
    CHECK(topology_count(&t) == 0 && t.components.items == NULL, "free leaves an empty topology");
    topology_free(&t);   /* twice is harmless */
}

static void test_merge(void)
{
    topology a, b;
    topology_init(&a);
    topology_init(&b);
    add(&a, TOPO_COMPONENT, "x", "{\"from\":\"a\"}");
    add(&a, TOPO_COMPONENT, "y", "{\"from\":\"a\"}");
    add(&a, TOPO_DELETE, "d1", NULL);
    add(&b, TOPO_COMPONENT, "z", "{\"from\":\"b\"}");
    add(&b, TOPO_COMPONENT, "x", "{\"from\":\"b\"}");   /* reached twice */
    add(&b, TOPO_RELATION, "x-r-z", "{}");
    add(&b, TOPO_DELETE, "d1", NULL);
    add(&b, TOPO_DELETE, "d2", NULL);

    topology_merge(&a, &b);
    CHECK_STR(ids(&a.components), "x,y,z");
    CHECK_STR(json_of(&a.components.items[0]), "{\"from\":\"b\"}");   /* the later one wins, in place */
    CHECK_STR(ids(&a.relations), "x-r-z");
    CHECK_STR(ids(&a.deletes), "d1,d2");
    CHECK(topology_count(&a) == 6, "merged count %zu", topology_count(&a));
    CHECK(topology_count(&b) == 0, "source emptied");
    CHECK(b.components.items == NULL && b.components.index == NULL, "source arrays freed");

    /* merged items are still indexed */
    CHECK(add(&a, TOPO_COMPONENT, "z", "{\"v\":2}") == 1, "merged id found");
    /* the emptied source can be used again */
    add(&b, TOPO_COMPONENT, "again", "{}");
    CHECK(topology_count(&b) == 1, "source reusable");
    topology_merge(&a, &b);
    CHECK_STR(ids(&a.components), "x,y,z,again");

    /* merging an empty topology changes nothing */
    topology empty;
    topology_init(&empty);
    topology_merge(&a, &empty);
    CHECK(topology_count(&a) == 7, "count %zu", topology_count(&a));
    topology_merge(&empty, &a);
    CHECK(topology_count(&empty) == 7 && topology_count(&a) == 0, "merge into empty");
    topology_free(&a);
    topology_free(&b);
    topology_free(&empty);
}

static void test_sort(void)
{
    topology t;
    topology_init(&t);
    const char *names[] = { "m", "B", "a", "aa", "arn:2", "arn:10", "" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) add(&t, TOPO_COMPONENT, names[i], names[i]);
    add(&t, TOPO_RELATION, "r2", "{}");
    add(&t, TOPO_RELATION, "r1", "{}");
    add(&t, TOPO_DELETE, "d", NULL);
    topology_sort(&t);
    CHECK_STR(ids(&t.components), ",B,a,aa,arn:10,arn:2,m");   /* byte order */
    for (size_t i = 0; i < t.components.len; i++)
        CHECK_STR(json_of(&t.components.items[i]), t.components.items[i].external_id);   /* json moved along */
    CHECK_STR(ids(&t.relations), "r1,r2");
    CHECK_STR(ids(&t.deletes), "d");
    /* the index follows the new positions */
    CHECK(add(&t, TOPO_COMPONENT, "aa", "new") == 1, "replace after sort");
    CHECK_STR(json_of(&t.components.items[3]), "new");
    CHECK(add(&t, TOPO_COMPONENT, "b", "b") == 0, "new after sort");
    CHECK_STR(ids(&t.components), ",B,a,aa,arn:10,arn:2,m,b");
    topology_free(&t);

    topology_init(&t);
    topology_sort(&t);   /* empty lists */
    CHECK(topology_count(&t) == 0, "sorting nothing");
    topology_free(&t);
}

/* 100k components, a quarter re-emitted, sorted: correctness only. */
static void test_many(void)
{
    enum { N = 100000 };
    topology t;
    topology_init(&t);
    char id[64], json[64];
    int replaced = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "arn:aws:ec2:eu-west-1:123:instance/i-%08x", (unsigned)(i * 2654435761u));
        snprintf(json, sizeof json, "{\"n\":%d}", i);
        replaced += add(&t, TOPO_COMPONENT, id, json);
    }
    CHECK(replaced == 0, "ids unique: %d replaced", replaced);
    for (int i = 0; i < N; i += 4) {
        snprintf(id, sizeof id, "arn:aws:ec2:eu-west-1:123:instance/i-%08x", (unsigned)(i * 2654435761u));
        snprintf(json, sizeof json, "{\"n\":%d,\"again\":true}", i);
        replaced += add(&t, TOPO_COMPONENT, id, json);
        add(&t, TOPO_RELATION, id, "{}");
    }
    CHECK(replaced == N / 4, "%d replaced, want %d", replaced, N / 4);
    CHECK(t.components.len == N, "%zu components", t.components.len);
    CHECK(t.relations.len == N / 4, "%zu relations", t.relations.len);

    /* arrival order kept: item i has n == i */
    int order_ok = 1, again_ok = 1;
    for (int i = 0; i < N; i++) {
        int n = -1;
        sscanf(json_of(&t.components.items[i]), "{\"n\":%d", &n);
        if (n != i) order_ok = 0;
        if ((strstr(json_of(&t.components.items[i]), "again") != NULL) != (i % 4 == 0)) again_ok = 0;
    }
    CHECK(order_ok, "arrival order kept across replacements");
    CHECK(again_ok, "exactly the re-emitted items were replaced");

    topology_sort(&t);
    int sorted = 1;
    for (size_t i = 1; i < t.components.len; i++)
        if (strcmp(t.components.items[i - 1].external_id, t.components.items[i].external_id) >= 0) sorted = 0;
    CHECK(sorted, "sorted and unique");

    /* merging two big ones */
    topology u;
    topology_init(&u);
    for (int i = 0; i < N; i += 2) {
        snprintf(id, sizeof id, "arn:aws:ec2:eu-west-1:123:instance/i-%08x", (unsigned)(i * 2654435761u));
        add(&u, TOPO_COMPONENT, id, "{\"u\":1}");
        snprintf(id, sizeof id, "other-%d", i);
        add(&u, TOPO_COMPONENT, id, "{}");
    }
    topology_merge(&t, &u);
    CHECK(t.components.len == N + N / 2, "%zu after merge", t.components.len);
    size_t from_u = 0;
    for (size_t i = 0; i < t.components.len; i++) from_u += strcmp(json_of(&t.components.items[i]), "{\"u\":1}") == 0;
    CHECK(from_u == N / 2, "%zu replaced by the merge", from_u);
    topology_free(&t);
    topology_free(&u);
}

/* The JSON lives in the item store (a temporary file behind a write buffer):
 * items that were flushed, items still buffered and an item larger than the
 * buffer all read back byte for byte, and a replaced item reads as the new one. */
static void test_store(void)
{
    topology t;
    topology_init(&t);
    char id[32], json[400];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        snprintf(json, sizeof json, "{\"n\":%d,\"pad\":\"%0300d\"}", i, i);
        add(&t, TOPO_COMPONENT, id, json);
    }
    size_t big_len = 600 * 1024;
    char *big = malloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)('a' + i % 26);
    big[big_len] = '\0';
    topology_add(&t, TOPO_COMPONENT, "big", big, big_len);
    add(&t, TOPO_COMPONENT, "id-7", "{\"replaced\":true}");
    int ok = 1;
    for (int i = 0; i < 3000; i++) {
        snprintf(json, sizeof json, "{\"n\":%d,\"pad\":\"%0300d\"}", i, i);
        if (i != 7 && strcmp(json_of(&t.components.items[i]), json) != 0) ok = 0;
    }
    CHECK(ok, "3000 items read back (flushed and buffered)");
    CHECK_STR(json_of(&t.components.items[7]), "{\"replaced\":true}");
    const char *got = json_of(&t.components.items[3000]);
    CHECK(got && strlen(got) == big_len && memcmp(got, big, big_len) == 0, "an item larger than the write buffer");

    /* Read back in batches, after a sort (offsets no longer in list order),
     * across the file and the write buffer: the same bytes as one by one. */
    add(&t, TOPO_COMPONENT, "id-2999", "{\"last\":\"still buffered\"}");
    topology_sort(&t);
    topo_batch batch = {0};
    buf one = {0};
    size_t checked = 0, reloads = 0;
    ok = 1;
    for (size_t from = 0; from < t.components.len; from += 700, reloads++) {
        size_t to = from + 700 < t.components.len ? from + 700 : t.components.len;
        topo_batch_load(&batch, &t.components, from, to);
        for (size_t i = from; i < to; i++, checked++) {
            const char *want = topo_item_json(&t.components.items[i], &one);
            const char *have = topo_batch_json(&batch, i);
            if (!have || strlen(have) != t.components.items[i].json_len || strcmp(have, want) != 0) ok = 0;
        }
    }
    CHECK(ok && checked == 3001 && reloads == 5, "3001 items in batches of 700 (%zu checked)", checked);
    topo_batch_load(&batch, &t.components, 5, 5);
    CHECK(batch.len == 0, "an empty batch");

    add(&t, TOPO_DELETE, "gone", NULL);
    topo_batch_load(&batch, &t.deletes, 0, 1);
    CHECK(topo_batch_json(&batch, 0) == NULL, "a delete has no JSON");
    topo_batch_free(&batch);
    buf_free(&one);
    free(big);
    topology_free(&t);
}

int main(void)
{
    test_add_replace();
    test_merge();
    test_sort();
    test_many();
    test_store();
    return test_summary();
}
