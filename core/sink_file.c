/* sink_file.c -- writes a topology to a file or stdout (see sink.h).
 *
 *   intake  the payloads as a JSON array, exactly what the StackState sink
 *           would POST (for inspection, or to replay with curl)
 *   json    {"components": [...], "relations": [...], "delete_ids": [...]},
 *           one item per line: readable, diffable, and still JSON
 *   dot     a Graphviz digraph: a node per component, labelled with its name
 *           and type, filled with a colour per type and grouped in a cluster
 *           per layer; an edge per relation, labelled with its type. Relation
 *           ends that are not components of this topology are drawn dashed.
 *           `dot -Tsvg` renders it.
 *
 * The json and intake formats copy the items' JSON as it is; only dot reads
 * the items (with cJSON) for the few fields it draws.
 *
 * Output is streamed: the formats write into a small buffer (an `output`)
 * that goes to the file whenever it passes FLUSH_AT bytes, and intake makes
 * its payloads one at a time (intake_each), so a scan of any size is never
 * in memory a second time as text.
 */
#include "sink.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

int output_format_parse(const char *name, output_format *out)
{
    static const struct { const char *name; output_format format; } formats[] = {
        { "intake", FORMAT_INTAKE }, { "json", FORMAT_JSON }, { "dot", FORMAT_DOT },
    };
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return 0;
        }
    }
    return -1;
}

/* ---- the output ---- */

#define FLUSH_AT 65536

/* Where a format writes: b, emptied into f whenever it passes FLUSH_AT. */
typedef struct output {
    FILE *f;
    buf b;
    int error;      /* errno of the first failed write, or 0 */
} output;

static void out_flush(output *o)
{
    if (o->b.len && !o->error && fwrite(o->b.data, 1, o->b.len, o->f) != o->b.len) o->error = errno ? errno : EIO;
    buf_clear(&o->b);
}

/* Called between items: the buffer never holds more than an item past FLUSH_AT. */
static void out_check(output *o)
{
    if (o->b.len >= FLUSH_AT) out_flush(o);
}

/* Appends n bytes; a large block goes to the file directly. */
static void out_write(output *o, const char *p, size_t n)
{
    if (n < FLUSH_AT) {
        buf_append(&o->b, p, n);
        out_check(o);
        return;
    }
    out_flush(o);
    if (!o->error && fwrite(p, 1, n, o->f) != n) o->error = errno ? errno : EIO;
}

/* ---- json ---- */

/* Items are read back TOPO_BATCH at a time (topo_batch: few reads, bounded memory). */

static void json_list(output *out, const char *name, const topo_list *l, int last)
{
    buf_printf(&out->b, "  \"%s\": [", name);
    topo_batch batch = {0};
    for (size_t i = 0; i < l->len; i++) {
        if (i % TOPO_BATCH == 0) topo_batch_load(&batch, l, i, i + TOPO_BATCH < l->len ? i + TOPO_BATCH : l->len);
        buf_puts(&out->b, i ? ",\n    " : "\n    ");
        const char *json = topo_batch_json(&batch, i);
        if (json) out_write(out, json, l->items[i].json_len);
        else intake_json_string(&out->b, l->items[i].external_id, strlen(l->items[i].external_id));
        out_check(out);
    }
    topo_batch_free(&batch);
    buf_puts(&out->b, l->len ? "\n  ]" : "]");
    buf_puts(&out->b, last ? "\n" : ",\n");
}

static void format_json(output *out, const topology *t)
{
    buf_puts(&out->b, "{\n");
    json_list(out, "components", &t->components, 0);
    json_list(out, "relations", &t->relations, 0);
    json_list(out, "delete_ids", &t->deletes, 1);
    buf_puts(&out->b, "}\n");
}

/* ---- intake ---- */

/* A JSON array of payloads, written one by one (an intake_fn). */
typedef struct intake_writer {
    output *out;
    size_t n;       /* payloads written */
} intake_writer;

static int intake_next(void *ud, const char *payload, size_t len)
{
    intake_writer *w = ud;
    buf_puts(&w->out->b, w->n++ ? ",\n" : "\n");
    out_write(w->out, payload, len);
    return 0;
}

static void intake_begin(intake_writer *w, output *out)
{
    w->out = out;
    w->n = 0;
    buf_puts(&out->b, "[");
}

static void intake_end(intake_writer *w)
{
    buf_puts(&w->out->b, w->n ? "\n]\n" : "]\n");
}

/* ---- dot ---- */

/* Appends s as a double-quoted DOT string. Newlines become DOT's "\n" line
 * break; other control characters are dropped. */
static void dot_string(buf *out, const char *s)
{
    buf_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)c);
        } else if (c == '\n') {
            buf_puts(out, "\\n");
        } else if (c >= 0x20) {
            buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

/* The string at obj.a(.b), or NULL. */
static const char *json_get(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A light fill colour per type name: stable, and different types mostly differ. */
static void type_colour(const char *type, char out[8])
{
    unsigned h = 2166136261u;
    for (; *type; type++) h = (h ^ (unsigned char)*type) * 16777619u;
    /* Pastel: each channel in [0xa0, 0xef]. */
    snprintf(out, 8, "#%02x%02x%02x", 0xa0 + (h & 0x4f), 0xa0 + ((h >> 8) & 0x4f), 0xa0 + ((h >> 16) & 0x4f));
}

/* A component as drawn. */
typedef struct dot_node {
    const char *id, *name, *type, *layer;   /* point into the parsed JSON or the item */
    cJSON *json;                            /* owned */
} dot_node;

static void dot_node_line(buf *out, const dot_node *n, const char *indent)
{
    char colour[8];
    type_colour(n->type, colour);
    buf_puts(out, indent);
    dot_string(out, n->id);
    buf_puts(out, " [label=");
    buf l = {0};
    buf_printf(&l, "%s\n%s", n->name, n->type);
    dot_string(out, l.data);
    buf_free(&l);
    buf_printf(out, ", fillcolor=\"%s\"];\n", colour);
}

/* Is id among the nodes (sorted by id)? */
static int is_component(const dot_node *nodes, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(nodes[mid].id, id);
        if (c == 0) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

static int compare_node_ids(const void *a, const void *b)
{
    return strcmp(((const dot_node *)a)->id, ((const dot_node *)b)->id);
}

static void dot_nodes(output *o, dot_node *nodes, size_t n)
{
    buf *out = &o->b;
    /* Components without a layer first, then one cluster per layer, layers
     * in order of first appearance (a handful: a linear search finds them). */
    const char **layers = xmalloc((n ? n : 1) * sizeof *layers);
    size_t nlayers = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nodes[i].layer) {
            dot_node_line(out, &nodes[i], "  ");
            out_check(o);
            continue;
        }
        size_t k = 0;
        while (k < nlayers && strcmp(layers[k], nodes[i].layer) != 0) k++;
        if (k == nlayers) layers[nlayers++] = nodes[i].layer;
    }
    for (size_t k = 0; k < nlayers; k++) {
        buf_printf(out, "  subgraph cluster_%zu {\n    label=", k);
        dot_string(out, layers[k]);
        buf_puts(out, ";\n    style=\"rounded,filled\"; fillcolor=\"#f4f4f4\"; color=\"#bbbbbb\";\n");
        for (size_t i = 0; i < n; i++) {
            if (nodes[i].layer && strcmp(nodes[i].layer, layers[k]) == 0) dot_node_line(out, &nodes[i], "    ");
            out_check(o);
        }
        buf_puts(out, "  }\n");
    }
    free(layers);
}

/* An identifier of a component (data.identifiers): StackState merges a
 * relation end with the component that carries it, and so does the picture. */
typedef struct dot_alias {
    const char *identifier;
    const char *id;
} dot_alias;

static int compare_aliases(const void *a, const void *b)
{
    return strcmp(((const dot_alias *)a)->identifier, ((const dot_alias *)b)->identifier);
}

static dot_alias *collect_aliases(const dot_node *nodes, size_t n, size_t *count)
{
    size_t len = 0, cap = 16;
    dot_alias *a = xmalloc(cap * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(nodes[i].json, "data"),
                                                            "identifiers");
        const cJSON *v;
        cJSON_ArrayForEach(v, ids) {
            if (!cJSON_IsString(v)) continue;
            if (len == cap) a = xrealloc(a, (cap *= 2) * sizeof *a);
            a[len++] = (dot_alias){ v->valuestring, nodes[i].id };
        }
    }
    qsort(a, len, sizeof *a, compare_aliases);
    *count = len;
    return a;
}

/* The node a relation end is drawn at: the component, the component that
 * carries it as an identifier, or NULL (an end outside the topology). */
static const char *resolve_end(const char *end, const dot_node *sorted, size_t n, const dot_alias *aliases,
                               size_t naliases)
{
    if (is_component(sorted, n, end)) return end;
    dot_alias key = { end, NULL };
    const dot_alias *hit = naliases ? bsearch(&key, aliases, naliases, sizeof key, compare_aliases) : NULL;
    return hit ? hit->id : NULL;
}

static void dot_edges(output *o, const topology *t, const dot_node *sorted, size_t n, const dot_alias *aliases,
                      size_t naliases)
{
    buf *out = &o->b;
    buf missing = {0};   /* ends that are not components: declared dashed, after the edges */
    buf scratch = {0};
    for (size_t i = 0; i < t->relations.len; i++) {
        const topo_item *it = &t->relations.items[i];
        const char *json = topo_item_json(it, &scratch);
        cJSON *j = json ? cJSON_ParseWithLength(json, it->json_len) : NULL;
        const char *src = json_get(j, "sourceId", NULL), *dst = json_get(j, "targetId", NULL);
        const char *type = json_get(j, "type", "name");
        if (src && dst) {
            const char *ends[2] = { src, dst };
            for (int k = 0; k < 2; k++) {
                const char *node = resolve_end(ends[k], sorted, n, aliases, naliases);
                if (node) {
                    ends[k] = node;
                    continue;
                }
                buf_puts(&missing, "  ");
                dot_string(&missing, ends[k]);
                buf_puts(&missing, " [style=\"rounded,dashed\", fillcolor=white];\n");
            }
            buf_puts(out, "  ");
            dot_string(out, ends[0]);
            buf_puts(out, " -> ");
            dot_string(out, ends[1]);
            buf_puts(out, " [label=");
            dot_string(out, type ? type : "");
            buf_puts(out, "];\n");
        }
        cJSON_Delete(j);
        out_check(o);
    }
    /* A node statement may repeat: Graphviz merges the attributes. */
    if (missing.len) out_write(o, missing.data, missing.len);
    buf_free(&missing);
    buf_free(&scratch);
}

static void format_dot(output *o, const topology *t)
{
    buf *out = &o->b;
    size_t n = t->components.len;
    dot_node *nodes = xcalloc(n ? n : 1, sizeof *nodes);
    buf scratch = {0};
    for (size_t i = 0; i < n; i++) {
        const topo_item *it = &t->components.items[i];
        dot_node *d = &nodes[i];
        const char *json = topo_item_json(it, &scratch);
        d->json = json ? cJSON_ParseWithLength(json, it->json_len) : NULL;
        d->id = it->external_id;
        d->type = json_get(d->json, "type", "name");
        d->name = json_get(d->json, "data", "name");
        d->layer = json_get(d->json, "data", "layer");
        if (!d->type) d->type = "?";
        if (!d->name) d->name = d->id;
    }
    buf_free(&scratch);
    buf_puts(out, "digraph topology {\n"
                  "  graph [rankdir=LR, fontname=\"Helvetica\", compound=true, newrank=true];\n"
                  "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n");
    dot_nodes(o, nodes, n);
    dot_node *sorted = xmalloc((n ? n : 1) * sizeof *sorted);
    if (n) memcpy(sorted, nodes, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_node_ids);
    size_t naliases;
    dot_alias *aliases = collect_aliases(nodes, n, &naliases);
    dot_edges(o, t, sorted, n, aliases, naliases);
    free(aliases);
    if (t->deletes.len) buf_printf(out, "  // %zu delete(s) not drawn\n", t->deletes.len);
    buf_puts(out, "}\n");
    free(sorted);
    for (size_t i = 0; i < n; i++) cJSON_Delete(nodes[i].json);
    free(nodes);
}

/* ---- writing ---- */

/* What an intake output is made of: a list, or a topology to make payloads of. */
typedef struct intake_source {
    const payload_list *payloads;   /* or, when NULL: */
    const intake_options *options;
    intake_mode mode;
} intake_source;

static void write_format(output *out, output_format format, const topology *t, const intake_source *src)
{
    intake_writer w;
    switch (format) {
    case FORMAT_INTAKE:
        intake_begin(&w, out);
        if (src->payloads) {
            for (size_t i = 0; i < src->payloads->len; i++)
                intake_next(&w, src->payloads->items[i].data, src->payloads->items[i].len);
        } else {
            intake_each(t, src->options, src->mode, intake_next, &w);
        }
        intake_end(&w);
        break;
    case FORMAT_JSON: format_json(out, t); break;
    case FORMAT_DOT: format_dot(out, t); break;
    }
}

static int write_to(const char *path, output_format format, const topology *t, const intake_source *src,
                    char *err, size_t errlen)
{
    int to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    if (!f) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    output out = { f, {0}, 0 };
    errno = 0;
    write_format(&out, format, t, src);
    out_flush(&out);
    buf_free(&out.b);
    int saved = out.error;
    if (fflush(f) != 0 && !saved) saved = errno ? errno : EIO;
    if (!to_stdout && fclose(f) != 0 && !saved) saved = errno ? errno : EIO;
    if (saved) {
        set_err(err, errlen, "cannot write %s: %s", to_stdout ? "to stdout" : path, strerror(saved));
        return -1;
    }
    return 0;
}

int sink_file_write(const char *path, output_format format, const topology *t,
                    const payload_list *payloads, char *err, size_t errlen)
{
    if (format == FORMAT_INTAKE && !payloads) {
        set_err(err, errlen, "the intake format needs the payloads");
        return -1;
    }
    intake_source src = { payloads, NULL, INTAKE_SNAPSHOT_COMPLETE };
    return write_to(path, format, t, &src, err, errlen);
}

int sink_file_write_topology(const char *path, output_format format, const topology *t, const intake_options *o,
                             intake_mode mode, char *err, size_t errlen)
{
    intake_source src = { NULL, o, mode };
    return write_to(path, format, t, &src, err, errlen);
}
