/* test_intake.c -- intake payloads: envelope, snapshot flags, cutting by items and bytes. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intake.h"
#include "testlib.h"

/* An item's JSON from the item store (a few at a time may be in use). */
static const char *json_of(const topo_item *it)
{
    static buf b[4];
    static int k;
    k = (k + 1) % 4;
    return topo_item_json(it, &b[k]);
}

static void add_component(topology *t, const char *id, size_t pad)
{
    buf j = {0};
    buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"aws.ec2.instance\"},\"data\":{\"name\":\"n-%s\",\"pad\":\"", id, id);
    for (size_t i = 0; i < pad; i++) buf_putc(&j, 'x');
    buf_puts(&j, "\"}}");
    topology_add(t, TOPO_COMPONENT, id, j.data, j.len);
    buf_free(&j);
}

static void add_relation(topology *t, const char *src, const char *dst)
{
    buf id = {0}, j = {0};
    buf_printf(&id, "%s-uses-%s", src, dst);
    buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"uses\"},\"sourceId\":\"%s\",\"targetId\":\"%s\",\"data\":{}}",
               id.data, src, dst);
    topology_add(t, TOPO_RELATION, id.data, j.data, j.len);
    buf_free(&id);
    buf_free(&j);
}

static cJSON *topo_of(cJSON *payload)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(payload, "topologies"), 0);
}

static int flag(cJSON *payload, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(topo_of(payload), name));
}

static int count(cJSON *payload, const char *array)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(topo_of(payload), array));
}

/* Parses every payload; NULL entries for those that are not JSON. */
static cJSON **parse_all(const payload_list *l)
{
    cJSON **p = calloc(l->len + 1, sizeof *p);
    for (size_t i = 0; i < l->len; i++) {
        p[i] = cJSON_ParseWithLength(l->items[i].data, l->items[i].len);
        CHECK(p[i] != NULL, "payload %zu is not JSON: %.200s", i, l->items[i].data);
    }
    return p;
}

static void free_all(cJSON **p, size_t n)
{
    for (size_t i = 0; i < n; i++) cJSON_Delete(p[i]);
    free(p);
}

static void test_empty(void)
{
    topology t;
    topology_init(&t);
    intake_options o = { .instance_url = "prod", .hostname = "h", .collection_timestamp = 1700000000 };

    payload_list l = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    CHECK(l.len == 1, "complete empty snapshot: %zu payloads", l.len);
    CHECK_STR(l.items[0].data,
              "{\"internalHostname\":\"h\",\"collection_timestamp\":1700000000,\"topologies\":[{"
              "\"start_snapshot\":true,\"stop_snapshot\":true,\"instance\":{\"type\":\"aws\",\"url\":\"prod\"},"
              "\"components\":[],\"relations\":[],\"delete_ids\":[]}],\"health\":[],\"metrics\":[]}");
    payload_list_free(&l);

    intake_build(&t, &o, INTAKE_SNAPSHOT_INCOMPLETE, &l);
    CHECK(l.len == 1, "incomplete empty snapshot: %zu payloads", l.len);
    cJSON **p = parse_all(&l);
    CHECK(flag(p[0], "start_snapshot") && !flag(p[0], "stop_snapshot"), "incomplete: start, no stop");
    free_all(p, l.len);
    payload_list_free(&l);

    intake_build(&t, &o, INTAKE_INCREMENTAL, &l);
    CHECK(l.len == 0, "incremental empty: %zu payloads", l.len);
    payload_list_free(&l);
    topology_free(&t);
}

/* 10 components, 5 relations, 2 deletes, 4 items per payload. */
static void build_mixed(topology *t)
{
    char id[32];
    topology_init(t);
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "c%d", i);
        add_component(t, id, 0);
    }
    for (int i = 0; i < 5; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "c%d", i);
        snprintf(b, sizeof b, "c%d", 9 - i);
        add_relation(t, a, b);
    }
    topology_add(t, TOPO_DELETE, "gone-1", NULL, 0);
    topology_add(t, TOPO_DELETE, "gone \"2\"\\", NULL, 0);
}

static void test_chunk_by_items(void)
{
    topology t;
    build_mixed(&t);
    intake_options o = { .instance_url = "acct", .hostname = "h", .collection_timestamp = 42, .max_items = 4 };
    const intake_mode modes[] = { INTAKE_SNAPSHOT_COMPLETE, INTAKE_SNAPSHOT_INCOMPLETE, INTAKE_INCREMENTAL };
    for (int m = 0; m < 3; m++) {
        payload_list l = {0};
        intake_build(&t, &o, modes[m], &l);
        CHECK(l.len == 5, "mode %d: 17 items by 4 -> %zu payloads", m, l.len);
        if (l.len != 5) continue;
        cJSON **p = parse_all(&l);
        for (size_t i = 0; i < l.len; i++) {
            int items = count(p[i], "components") + count(p[i], "relations") + count(p[i], "delete_ids");
            CHECK(items == (i < 4 ? 4 : 1), "payload %zu holds %d items", i, items);
            int start = flag(p[i], "start_snapshot"), stop = flag(p[i], "stop_snapshot");
            int want_start = modes[m] != INTAKE_INCREMENTAL && i == 0;
            int want_stop = modes[m] == INTAKE_SNAPSHOT_COMPLETE && i == l.len - 1;
            CHECK(start == want_start && stop == want_stop, "mode %d payload %zu: start %d stop %d", m, i, start, stop);
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(p[i], "collection_timestamp")) == 42, "timestamp");
            CHECK(cJSON_IsNumber(cJSON_GetObjectItem(p[i], "collection_timestamp")), "timestamp is a number");
            cJSON *inst = cJSON_GetObjectItem(topo_of(p[i]), "instance");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(inst, "type")), "aws");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(inst, "url")), "acct");
            CHECK(cJSON_IsArray(cJSON_GetObjectItem(p[i], "health")), "health array");
        }
        /* Order: c0..c9, then relations, then the deletes (in the last payload). */
        CHECK(count(p[0], "components") == 4 && count(p[2], "components") == 2 && count(p[2], "relations") == 2,
              "third payload: last 2 components then first 2 relations");
        CHECK(count(p[3], "relations") == 3 && count(p[3], "delete_ids") == 1, "fourth: 3 relations, 1 delete");
        CHECK(count(p[4], "delete_ids") == 1, "last: the other delete");
        cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(topo_of(p[2]), "components"), 1);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "externalId")), "c9");
        cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(topo_of(p[4]), "delete_ids"), 0);
        CHECK_STR(cJSON_GetStringValue(d), "gone \"2\"\\");
        free_all(p, l.len);
        payload_list_free(&l);
    }
    topology_free(&t);
}

static void test_relations_after_endpoints(void)
{
    topology t;
    build_mixed(&t);
    intake_options o = { .hostname = "h", .max_items = 3 };
    payload_list l = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    cJSON **p = parse_all(&l);
    /* Payload index of each component id, then check every relation. */
    int where[10];
    for (size_t i = 0; i < l.len; i++) {
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(topo_of(p[i]), "components"))
            where[atoi(cJSON_GetStringValue(cJSON_GetObjectItem(c, "externalId")) + 1)] = (int)i;
    }
    int relations = 0;
    for (size_t i = 0; i < l.len; i++) {
        cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(topo_of(p[i]), "relations")) {
            int s = where[atoi(cJSON_GetStringValue(cJSON_GetObjectItem(r, "sourceId")) + 1)];
            int d = where[atoi(cJSON_GetStringValue(cJSON_GetObjectItem(r, "targetId")) + 1)];
            CHECK(s <= (int)i && d <= (int)i, "relation in payload %zu before its endpoints (%d, %d)", i, s, d);
            relations++;
        }
    }
    CHECK(relations == 5, "all relations sent: %d", relations);
    free_all(p, l.len);
    payload_list_free(&l);
    topology_free(&t);
}

static void test_chunk_by_bytes(void)
{
    topology t;
    topology_init(&t);
    char id[32];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "comp-%02d", i);
        add_component(&t, id, (size_t)(i * 7 % 50));
    }
    add_component(&t, "huge", 3000);   /* larger than max_bytes alone */
    add_component(&t, "after-huge", 10);
    topology_add(&t, TOPO_DELETE, "d1", NULL, 0);
    const size_t max = 1000;
    intake_options o = { .hostname = "host", .collection_timestamp = 1, .max_bytes = max };
    payload_list l = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    CHECK(l.len > 3, "cut by bytes into %zu payloads", l.len);
    cJSON **p = parse_all(&l);
    size_t seen = 0, huge_alone = 0;
    for (size_t i = 0; i < l.len; i++) {
        cJSON *comps = cJSON_GetObjectItem(topo_of(p[i]), "components");
        int n = cJSON_GetArraySize(comps);
        int has_huge = 0;
        cJSON *c;
        cJSON_ArrayForEach(c, comps) {
            const char *got = cJSON_GetStringValue(cJSON_GetObjectItem(c, "externalId"));
            const char *want = seen < 40 ? NULL : seen == 40 ? "huge" : "after-huge";
            char buf_id[32];
            if (!want) {
                snprintf(buf_id, sizeof buf_id, "comp-%02zu", seen);
                want = buf_id;
            }
            CHECK_STR(got, want);
            if (strcmp(got, "huge") == 0) has_huge = 1;
            seen++;
        }
        if (has_huge) {
            huge_alone = n == 1 && count(p[i], "delete_ids") == 0;
            CHECK(l.items[i].len > max, "the huge item's payload is over the limit");
        } else {
            CHECK(l.items[i].len <= max, "payload %zu is %zu bytes > %zu", i, l.items[i].len, max);
        }
        /* Greedy: the next payload's first component would not have fitted here. */
        if (!has_huge && i + 1 < l.len && count(p[i + 1], "components") > 0) {
            cJSON *next = cJSON_GetArrayItem(cJSON_GetObjectItem(topo_of(p[i + 1]), "components"), 0);
            char *s = cJSON_PrintUnformatted(next);
            CHECK(l.items[i].len + strlen(s) + 1 > max || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(next, "externalId")), "huge") == 0,
                  "payload %zu (%zu bytes) could have taken %zu more", i, l.items[i].len, strlen(s));
            free(s);
        }
    }
    CHECK(seen == 42, "every component sent once: %zu", seen);
    CHECK(huge_alone, "the item larger than max_bytes goes alone");
    CHECK(count(p[l.len - 1], "delete_ids") == 1, "delete in the last payload");
    CHECK(flag(p[0], "start_snapshot") && flag(p[l.len - 1], "stop_snapshot"), "snapshot flags");
    /* The items' JSON is copied byte for byte. */
    const topo_item *first = &t.components.items[0];
    CHECK(strstr(l.items[0].data, json_of(first)) != NULL, "item JSON copied verbatim");
    free_all(p, l.len);
    payload_list_free(&l);
    topology_free(&t);
}

static void test_defaults(void)
{
    topology t;
    topology_init(&t);
    add_component(&t, "only", 0);
    payload_list l = {0};
    time_t before = time(NULL);
    intake_build(&t, NULL, INTAKE_INCREMENTAL, &l);
    CHECK(l.len == 1, "one payload");
    cJSON **p = parse_all(&l);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p[0], "internalHostname")), host);
    double ts = cJSON_GetNumberValue(cJSON_GetObjectItem(p[0], "collection_timestamp"));
    CHECK(ts >= (double)before && ts <= (double)time(NULL) + 1, "timestamp is now: %f", ts);
    CHECK(!flag(p[0], "start_snapshot") && !flag(p[0], "stop_snapshot"), "incremental: no flags");
    cJSON *inst = cJSON_GetObjectItem(topo_of(p[0]), "instance");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(inst, "type")), "aws");
    free_all(p, l.len);

    /* Appending: a second build adds to the list. */
    intake_build(&t, NULL, INTAKE_SNAPSHOT_COMPLETE, &l);
    CHECK(l.len == 2, "payloads appended: %zu", l.len);
    payload_list_free(&l);
    CHECK(l.len == 0 && l.items == NULL, "freed list is empty");

    /* Escaped envelope strings. */
    intake_options o = { .hostname = "h\"1\n", .instance_url = "a\\b", .collection_timestamp = 1.5 };
    intake_build(&t, &o, INTAKE_INCREMENTAL, &l);
    p = parse_all(&l);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p[0], "internalHostname")), "h\"1\n");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(p[0], "collection_timestamp")) == 1.5, "fractional timestamp");
    free_all(p, l.len);
    payload_list_free(&l);
    topology_free(&t);
}

/* intake_each hands over the same payloads intake_build collects, in order,
 * and stops when the callback says so. */
typedef struct collected {
    payload_list got;
    size_t stop_after;    /* 0 = never */
} collected;

static int collect(void *ud, const char *payload, size_t len)
{
    collected *c = ud;
    CHECK(payload[len] == '\0' && strlen(payload) == len, "payload NUL-terminated");
    buf_append(payload_list_add(&c->got), payload, len);
    return c->stop_after && c->got.len == c->stop_after ? 7 : 0;
}

static void test_each(void)
{
    topology t;
    build_mixed(&t);
    intake_options o = { .instance_url = "acct", .hostname = "h", .collection_timestamp = 42, .max_items = 4 };
    payload_list built = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &built);
    collected c = { {0}, 0 };
    CHECK(intake_each(&t, &o, INTAKE_SNAPSHOT_COMPLETE, collect, &c) == 0, "each: 0 when not stopped");
    CHECK(c.got.len == built.len && built.len == 5, "each: %zu payloads, build: %zu", c.got.len, built.len);
    for (size_t i = 0; i < built.len && i < c.got.len; i++)
        CHECK(c.got.items[i].len == built.items[i].len && memcmp(c.got.items[i].data, built.items[i].data, built.items[i].len) == 0,
              "payload %zu the same bytes", i);
    payload_list_free(&c.got);
    c.stop_after = 2;
    CHECK(intake_each(&t, &o, INTAKE_SNAPSHOT_COMPLETE, collect, &c) == 7, "stopped: the callback's value");
    CHECK(c.got.len == 2, "no payload made after the stop: %zu", c.got.len);
    payload_list_free(&c.got);
    topology t0;
    topology_init(&t0);
    c.stop_after = 0;
    CHECK(intake_each(&t0, &o, INTAKE_INCREMENTAL, collect, &c) == 0 && c.got.len == 0, "incremental empty: none");
    payload_list_free(&c.got);
    payload_list_free(&built);
    topology_free(&t);
}

/* The items of a payload in order, as their JSON text, joined by '\n'. */
static void items_text(cJSON *payload, buf *out)
{
    const char *arrays[] = { "components", "relations", "delete_ids" };
    for (int k = 0; k < 3; k++) {
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo_of(payload), arrays[k])) {
            char *s = cJSON_PrintUnformatted(it);
            buf_printf(out, "%s:%s\n", arrays[k], s);
            free(s);
        }
    }
}

/* Splits json again and again down to single items; leaves go to out. */
static void split_down(const char *json, size_t len, payload_list *out, int *bad)
{
    buf a = {0}, b = {0};
    size_t na = 0, nb = 0;
    char err[128];
    int rc = intake_split(json, len, &a, &b, &na, &nb, err, sizeof err);
    if (rc == 1) {
        CHECK(a.len == 0 && b.len == 0, "nothing appended for one item");
        buf_append(payload_list_add(out), json, len);
    } else if (rc == 0) {
        if (na == 0 || nb == 0 || na < nb || na - nb > 1) *bad = 1;
        split_down(a.data, a.len, out, bad);
        split_down(b.data, b.len, out, bad);
    } else {
        printf("split: %s\n", err);
        *bad = 1;
    }
    buf_free(&a);
    buf_free(&b);
}

static void test_split(void)
{
    topology t;
    build_mixed(&t);   /* 10 components, 5 relations, 2 deletes */
    intake_options o = { .instance_url = "acct", .hostname = "h", .collection_timestamp = 42.5 };
    payload_list l = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    CHECK(l.len == 1, "one payload to split");

    /* One cut: 9 and 8 items, flags on the right side, bytes as intake makes them. */
    buf a = {0}, b = {0};
    size_t na = 0, nb = 0;
    char err[128] = "";
    CHECK(intake_split(l.items[0].data, l.items[0].len, &a, &b, &na, &nb, err, sizeof err) == 0, "split: %s", err);
    CHECK(na == 9 && nb == 8, "17 items cut 9 + 8: %zu + %zu", na, nb);
    topology t1, t2;
    topology_init(&t1);
    topology_init(&t2);
    for (size_t i = 0; i < 17; i++) {
        const topo_list *src = i < 10 ? &t.components : i < 15 ? &t.relations : &t.deletes;
        topo_kind kind = i < 10 ? TOPO_COMPONENT : i < 15 ? TOPO_RELATION : TOPO_DELETE;
        const topo_item *it = &src->items[i < 10 ? i : i < 15 ? i - 10 : i - 15];
        topology_add(i < 9 ? &t1 : &t2, kind, it->external_id, json_of(it), it->json_len);
    }
    payload_list want1 = {0}, want2 = {0};
    intake_build(&t1, &o, INTAKE_SNAPSHOT_INCOMPLETE, &want1);   /* start, no stop */
    intake_build(&t2, &o, INTAKE_INCREMENTAL, &want2);           /* no start ... */
    buf w2 = {0};                                                /* ... but the stop */
    const char *f = strstr(want2.items[0].data, "\"stop_snapshot\":false");
    buf_append(&w2, want2.items[0].data, (size_t)(f - want2.items[0].data));
    buf_puts(&w2, "\"stop_snapshot\":true");
    buf_puts(&w2, f + strlen("\"stop_snapshot\":false"));
    CHECK_STR(a.data, want1.items[0].data);
    CHECK_STR(b.data, w2.data);
    buf_free(&w2);
    payload_list_free(&want1);
    payload_list_free(&want2);
    topology_free(&t1);
    topology_free(&t2);
    buf_free(&a);
    buf_free(&b);

    /* Down to single items: all of them, once, in order; start on the first
     * part only, stop on the last only; the envelope everywhere. */
    payload_list leaves = {0};
    int bad = 0;
    split_down(l.items[0].data, l.items[0].len, &leaves, &bad);
    CHECK(!bad && leaves.len == 17, "17 single-item parts: %zu (bad %d)", leaves.len, bad);
    cJSON **orig = parse_all(&l), **parts = parse_all(&leaves);
    buf want = {0}, got = {0};
    items_text(orig[0], &want);
    for (size_t i = 0; i < leaves.len; i++) {
        items_text(parts[i], &got);
        CHECK(flag(parts[i], "start_snapshot") == (i == 0) && flag(parts[i], "stop_snapshot") == (i == leaves.len - 1),
              "part %zu flags", i);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(parts[i], "collection_timestamp")) == 42.5, "timestamp kept");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(parts[i], "internalHostname")), "h");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(topo_of(parts[i]), "instance"), "url")), "acct");
        CHECK(cJSON_IsArray(cJSON_GetObjectItem(parts[i], "metrics")), "the rest of the envelope kept");
    }
    CHECK_STR(got.data, want.data);
    buf_free(&want);
    buf_free(&got);
    free_all(orig, l.len);
    free_all(parts, leaves.len);
    payload_list_free(&leaves);
    payload_list_free(&l);

    /* Text intake.c would not write: spaces, brackets and quotes in strings,
     * nested values; incremental flags stay false. */
    const char *odd = " { \"topologies\" : [ { \"instance\" : {\"url\":\"x\"}, \"start_snapshot\" : false ,"
                      " \"components\" : [ {\"externalId\":\"a]}\\\"\",\"data\":{\"l\":[1,[2,{}]]}} ,"
                      " {\"externalId\":\"b\",\"n\":-1.5e3} , {\"externalId\":\"c\"} ] } ] , \"x\" : null } ";
    CHECK(intake_split(odd, strlen(odd), &a, &b, &na, &nb, err, sizeof err) == 0 && na == 2 && nb == 1, "odd: %s", err);
    CHECK_STR(a.data, "{\"topologies\":[{\"instance\":{\"url\":\"x\"},\"start_snapshot\":false,"
                      "\"components\":[{\"externalId\":\"a]}\\\"\",\"data\":{\"l\":[1,[2,{}]]}},{\"externalId\":\"b\",\"n\":-1.5e3}]}],"
                      "\"x\":null}");
    CHECK_STR(b.data, "{\"topologies\":[{\"instance\":{\"url\":\"x\"},\"start_snapshot\":false,"
                      "\"components\":[{\"externalId\":\"c\"}]}],\"x\":null}");
    buf_free(&a);
    buf_free(&b);

    /* One item cannot be cut; what is not a payload is said so. */
    const char *one = "{\"topologies\":[{\"components\":[],\"relations\":[{\"externalId\":\"r\"}],\"delete_ids\":[]}]}";
    CHECK(intake_split(one, strlen(one), &a, &b, NULL, NULL, err, sizeof err) == 1 && a.len == 0, "one item: 1");
    const char *notpayloads[] = { "", "[1,2]", "{\"topologies\":[]}", "{\"topologies\":[{},{}]}",
                                  "{\"topologies\":[{\"components\":{}}]}", "{\"topologies\":[{\"components\":[1,2]}]",
                                  "{\"topologies\":[{\"components\":[\"a\",\"b]}]}", "{\"a\":1} x", NULL };
    for (int i = 0; notpayloads[i]; i++) {
        err[0] = '\0';
        CHECK(intake_split(notpayloads[i], strlen(notpayloads[i]), &a, &b, NULL, NULL, err, sizeof err) == -1 &&
                  strstr(err, "not an intake payload") && a.len == 0 && b.len == 0,
              "not a payload: '%s' -> %s", notpayloads[i], err);
    }
    topology_free(&t);
}

static void test_json_string(void)
{
    buf b = {0};
    intake_json_string(&b, "a\"b\\c\n\t\x01\xc3\xa9", 10);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
    buf_free(&b);
}

int main(void)
{
    test_empty();
    test_chunk_by_items();
    test_relations_after_endpoints();
    test_chunk_by_bytes();
    test_defaults();
    test_json_string();
    test_each();
    test_split();
    return test_summary();
}
