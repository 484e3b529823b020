/* intake.c -- cuts a topology into StackState agent intake payloads (see intake.h).
 *
 * The items of a topology are already JSON text, so a payload is written by
 * concatenation: an envelope, then the items' bytes, nothing parsed again.
 *
 * The items are taken as one sequence -- components, then relations, then
 * deletes -- and cut into consecutive runs, each run one payload. A run ends
 * when the next item would pass max_items or max_bytes; an item that alone is
 * larger than max_bytes still goes, alone. Sent in order, every relation thus
 * arrives in the same payload as its endpoints or after them, and the deletes
 * come last.
 */
#include "intake.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_ITEMS 2500
#define DEFAULT_MAX_BYTES (4u * 1024 * 1024)

/* ---- JSON strings ---- */

static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

void intake_json_string(buf *out, const char *s, size_t n)
{
    buf_reserve(out, n + 2);
    buf_putc(out, '"');
    size_t plain = 0;   /* start of the run of bytes copied as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c)) continue;
        buf_append(out, s + plain, i - plain);
        plain = i + 1;
        switch (c) {
        case '"': buf_puts(out, "\\\""); break;
        case '\\': buf_puts(out, "\\\\"); break;
        case '\n': buf_puts(out, "\\n"); break;
        case '\r': buf_puts(out, "\\r"); break;
        case '\t': buf_puts(out, "\\t"); break;
        default: buf_printf(out, "\\u%04x", c); break;
        }
    }
    buf_append(out, s + plain, n - plain);
    buf_putc(out, '"');
}

/* The length intake_json_string() would append. */
static size_t json_string_len(const char *s)
{
    size_t n = 2;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!needs_escape(c)) n += 1;
        else if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') n += 2;
        else n += 6;
    }
    return n;
}

/* ---- payload lists ---- */

buf *payload_list_add(payload_list *l)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len] = (buf){0};
    return &l->items[l->len++];
}

void payload_list_free(payload_list *l)
{
    for (size_t i = 0; i < l->len; i++) buf_free(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- payloads ---- */

/* What every payload of one build shares. */
typedef struct envelope {
    buf head;        /* {"internalHostname":...,"collection_timestamp":...,"topologies":[{ */
    buf instance;    /* ,"instance":{...} */
    size_t size;     /* bytes of a payload with no items and the longest flags */
    size_t max_items, max_bytes;
} envelope;

static const char TAIL[] = "}],\"health\":[],\"metrics\":[]}";

static void envelope_init(envelope *e, const intake_options *o)
{
    char host[256] = "";
    const char *hostname = o && o->hostname ? o->hostname : NULL;
    if (!hostname) {
        if (gethostname(host, sizeof host - 1) != 0 || !host[0]) strcpy(host, "localhost");
        hostname = host;
    }
    double ts = o && o->collection_timestamp > 0 ? o->collection_timestamp : (double)time(NULL);
    const char *type = o && o->instance_type ? o->instance_type : "aws";
    const char *url = o && o->instance_url ? o->instance_url : "";

    memset(e, 0, sizeof *e);
    buf_puts(&e->head, "{\"internalHostname\":");
    intake_json_string(&e->head, hostname, strlen(hostname));
    if (ts == floor(ts)) buf_printf(&e->head, ",\"collection_timestamp\":%.0f", ts);
    else buf_printf(&e->head, ",\"collection_timestamp\":%.3f", ts);
    buf_puts(&e->head, ",\"topologies\":[{");

    buf_puts(&e->instance, ",\"instance\":{\"type\":");
    intake_json_string(&e->instance, type, strlen(type));
    buf_puts(&e->instance, ",\"url\":");
    intake_json_string(&e->instance, url, strlen(url));
    buf_puts(&e->instance, "}");

    e->size = e->head.len + strlen("\"start_snapshot\":false,\"stop_snapshot\":false") + e->instance.len +
              strlen(",\"components\":[],\"relations\":[],\"delete_ids\":[]") + strlen(TAIL);
    e->max_items = o && o->max_items ? o->max_items : DEFAULT_MAX_ITEMS;
    e->max_bytes = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
}

static void envelope_free(envelope *e)
{
    buf_free(&e->head);
    buf_free(&e->instance);
}

/* The i-th item of the sequence components, relations, deletes. */
static const topo_item *item_at(const topology *t, size_t i, topo_kind *kind)
{
    if (i < t->components.len) {
        *kind = TOPO_COMPONENT;
        return &t->components.items[i];
    }
    i -= t->components.len;
    if (i < t->relations.len) {
        *kind = TOPO_RELATION;
        return &t->relations.items[i];
    }
    *kind = TOPO_DELETE;
    return &t->deletes.items[i - t->relations.len];
}

/* Bytes the item adds to a payload, its separating comma included. */
static size_t item_cost(const topo_item *it, topo_kind kind)
{
    if (kind == TOPO_DELETE) return json_string_len(it->external_id) + 1;
    return it->off != TOPO_NO_JSON ? it->json_len + 1 : 0;
}

/* Writes the items of list l that fall in [from, to) of the sequence
 * (components, relations, deletes; l starts at `first` in it) as the JSON
 * array `name`. Components and relations are read back TOPO_BATCH at a time. */
static void write_array(buf *p, const char *name, const topo_list *l, topo_kind kind, size_t first, size_t from,
                        size_t to, topo_batch *batch)
{
    buf_printf(p, ",\"%s\":[", name);
    size_t lo = from > first ? from - first : 0, hi = to > first ? to - first : 0;
    if (hi > l->len) hi = l->len;
    int comma = 0;
    for (size_t i = lo; i < hi; i++) {
        if (kind != TOPO_DELETE && (i - lo) % TOPO_BATCH == 0)
            topo_batch_load(batch, l, i, i + TOPO_BATCH < hi ? i + TOPO_BATCH : hi);
        const topo_item *it = &l->items[i];
        if (kind != TOPO_DELETE && it->off == TOPO_NO_JSON) continue;
        if (comma) buf_putc(p, ',');
        comma = 1;
        if (kind == TOPO_DELETE) intake_json_string(p, it->external_id, strlen(it->external_id));
        else buf_append(p, topo_batch_json(batch, i), it->json_len);
    }
    buf_putc(p, ']');
}

static void write_payload(buf *p, const envelope *e, const topology *t, size_t from, size_t to,
                          size_t bytes, int start, int stop)
{
    buf_reserve(p, e->size + bytes);
    buf_append(p, e->head.data, e->head.len);
    buf_printf(p, "\"start_snapshot\":%s,\"stop_snapshot\":%s", start ? "true" : "false",
               stop ? "true" : "false");
    buf_append(p, e->instance.data, e->instance.len);
    topo_batch batch = {0};   /* the items read back from the item store */
    size_t nc = t->components.len, nr = t->relations.len;
    write_array(p, "components", &t->components, TOPO_COMPONENT, 0, from, to, &batch);
    write_array(p, "relations", &t->relations, TOPO_RELATION, nc, from, to, &batch);
    write_array(p, "delete_ids", &t->deletes, TOPO_DELETE, nc + nr, from, to, &batch);
    topo_batch_free(&batch);
    buf_puts(p, TAIL);
}

int intake_each(const topology *t, const intake_options *o, intake_mode mode, intake_fn fn, void *ud)
{
    size_t total = topology_count(t);
    if (total == 0 && mode == INTAKE_INCREMENTAL) return 0;

    envelope e;
    envelope_init(&e, o);
    buf p = {0};   /* one payload at a time: the buffer is reused */
    int snapshot = mode != INTAKE_INCREMENTAL, rc = 0;
    size_t from = 0;
    do {
        /* Extend the run [from, to) while the next item fits; the first always does. */
        size_t to = from, bytes = 0;
        while (to < total) {
            topo_kind kind = TOPO_COMPONENT;
            size_t cost = item_cost(item_at(t, to, &kind), kind);
            if (to > from && (to - from >= e.max_items || e.size + bytes + cost > e.max_bytes)) break;
            bytes += cost;
            to++;
        }
        int last = to == total;
        buf_clear(&p);
        write_payload(&p, &e, t, from, to, bytes, snapshot && from == 0,
                      last && mode == INTAKE_SNAPSHOT_COMPLETE);
        rc = fn(ud, p.data, p.len);
        from = to;
    } while (from < total && rc == 0);
    buf_free(&p);
    envelope_free(&e);
    return rc;
}

static int add_to_list(void *ud, const char *payload, size_t len)
{
    buf_append(payload_list_add(ud), payload, len);
    return 0;
}

void intake_build(const topology *t, const intake_options *o, intake_mode mode, payload_list *out)
{
    intake_each(t, o, mode, add_to_list, out);
}
