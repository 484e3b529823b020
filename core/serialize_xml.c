/* serialize_xml.c -- XML request bodies of rest-xml (S3, Route 53, CloudFront).
 *
 * The document is written straight into a buf while walking the shapes:
 *   root       the input's locationName, with its xmlNamespace (operation
 *              input, else the input shape) as xmlns
 *   member     <locationName-or-name>, plus xmlns[:prefix] when the member
 *              or its shape carries an xmlNamespace; xmlAttribute members
 *              become attributes of their structure's element instead
 *   list       <Name><member>..</member></Name>, the element named by the
 *              list member's locationName; flattened: <Name>..</Name> repeated
 *   map        <Name><entry><key>..</key><value>..</value></entry></Name>
 *              (key/value renamed by locationName); flattened: the entry
 *              element is <Name> itself, repeated
 *   scalars    escaped text; booleans true/false; timestamps ISO-8601
 *              unless the model says otherwise; blobs base64
 * No XML declaration and no indentation: what botocore sends.
 */
#include <lauxlib.h>
#include <string.h>

#include "serialize.h"

/* Text and attribute values; CR and (in attributes) TAB/LF are written as
 * character references so that XML parsers hand back exactly what we had. */
static void put_escaped(buf *out, const char *s, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': buf_puts(out, "&amp;"); break;
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '\r': buf_puts(out, "&#xD;"); break;
        case '"': buf_puts(out, attr ? "&quot;" : "\""); break;
        case '\n': buf_puts(out, attr ? "&#xA;" : "\n"); break;
        case '\t': buf_puts(out, attr ? "&#x9;" : "\t"); break;
        default: buf_putc(out, s[i]);
        }
    }
}

typedef struct xml_ns {
    const char *uri;
    const char *prefix;
} xml_ns;

/* An element's namespace: the member's xmlNamespace, else its shape's. */
static xml_ns member_ns(const member *mb)
{
    if (mb->xml_namespace_uri) return (xml_ns){ mb->xml_namespace_uri, mb->xml_namespace_prefix };
    return (xml_ns){ mb->shape->xml_namespace_uri, mb->shape->xml_namespace_prefix };
}

static void open_tag(buf *out, const char *name, xml_ns ns)
{
    buf_printf(out, "<%s", name);
    if (ns.uri) {
        buf_puts(out, ns.prefix ? " xmlns:" : " xmlns");
        if (ns.prefix) buf_puts(out, ns.prefix);
        buf_puts(out, "=\"");
        put_escaped(out, ns.uri, strlen(ns.uri), 1);
        buf_putc(out, '"');
    }
}

static int put_element(ser_ctx *c, int idx, const member *mb, const char *name, xml_ns ns, buf *out);

/* name="value" for each xmlAttribute member that is set. */
static int put_attributes(ser_ctx *c, int idx, const shape *s, buf *out)
{
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        if (!mb->xml_attribute || !ser_push_member(c, idx, mb)) continue;
        size_t path = ser_path_member(c, mb->name);
        buf text = {0};
        int rc = ser_scalar_text(c, lua_gettop(c->L), mb, "iso8601", &text);
        if (rc == 0) {
            buf_printf(out, " %s=\"", ser_wire_name(mb));
            put_escaped(out, text.data, text.len, 1);
            buf_putc(out, '"');
        }
        buf_free(&text);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

static int put_structure(ser_ctx *c, int idx, const shape *s, const char *name, xml_ns ns,
                         int body_only, buf *out)
{
    if (ser_check_structure(c, idx, s) < 0) return -1;
    open_tag(out, name, ns);
    if (put_attributes(c, idx, s, out) < 0) return -1;
    buf_putc(out, '>');
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        if (mb->xml_attribute || (body_only && mb->location != LOC_BODY)) continue;
        if (!ser_push_member(c, idx, mb)) continue;
        size_t path = ser_path_member(c, mb->name);
        int rc = ser_xml_element(c, lua_gettop(c->L), mb, ser_wire_name(mb), out);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    buf_printf(out, "</%s>", name);
    return 0;
}

static int put_list(ser_ctx *c, int idx, const member *mb, const char *name, xml_ns ns, buf *out)
{
    lua_Integer n;
    if (ser_list_length(c, idx, &n) < 0) return -1;
    const member *el = &mb->shape->element;
    int flat = mb->flattened || mb->shape->flattened;
    const char *el_name = flat ? name : el->location_name ? el->location_name : "member";
    xml_ns el_ns = member_ns(el);
    if (flat && !el_ns.uri) el_ns = ns;
    if (!flat) {
        open_tag(out, name, ns);
        buf_putc(out, '>');
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(c->L, idx, i);
        size_t path = ser_path_index(c, i);
        int rc = ser_absent(c->L, -1) ? 0 : put_element(c, lua_gettop(c->L), el, el_name, el_ns, out);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    if (!flat) buf_printf(out, "</%s>", name);
    return 0;
}

/* The key and value elements of one map entry; the key is at `key`. */
static int put_entry(ser_ctx *c, int map, int key, const shape *s, buf *out)
{
    const char *k = lua_tostring(c->L, key);
    if (put_element(c, key, &s->key, s->key.location_name ? s->key.location_name : "key",
                    member_ns(&s->key), out) < 0)
        return -1;
    lua_getfield(c->L, map, k);
    int rc = 0;
    if (!ser_absent(c->L, -1)) {
        size_t path = ser_path_key(c, k);
        rc = ser_xml_element(c, lua_gettop(c->L), &s->value,
                             s->value.location_name ? s->value.location_name : "value", out);
        ser_path_pop(c, path);
    }
    lua_pop(c->L, 1);
    return rc;
}

static int put_map(ser_ctx *c, int idx, const member *mb, const char *name, xml_ns ns, buf *out)
{
    lua_Integer n;
    if (ser_map_keys(c, idx, &n) < 0) return -1;
    int keys = lua_gettop(c->L), rc = 0;
    int flat = mb->flattened || mb->shape->flattened;
    if (!flat) {
        open_tag(out, name, ns);
        buf_putc(out, '>');
    }
    for (lua_Integer i = 1; i <= n && rc == 0; i++) {
        if (flat) open_tag(out, name, ns);
        buf_puts(out, flat ? ">" : "<entry>");
        lua_rawgeti(c->L, keys, i);
        rc = put_entry(c, idx, lua_gettop(c->L), mb->shape, out);
        lua_pop(c->L, 1);
        if (flat) buf_printf(out, "</%s>", name);
        else buf_puts(out, "</entry>");
    }
    if (!flat) buf_printf(out, "</%s>", name);
    lua_pop(c->L, 1);
    return rc;
}

static int put_scalar(ser_ctx *c, int idx, const member *mb, const char *name, xml_ns ns, buf *out)
{
    buf text = {0};
    int rc = ser_scalar_text(c, idx, mb, "iso8601", &text);
    if (rc == 0) {
        open_tag(out, name, ns);
        buf_putc(out, '>');
        put_escaped(out, buf_cstr(&text), text.len, 0);
        buf_printf(out, "</%s>", name);
    }
    buf_free(&text);
    return rc;
}

static int put_element(ser_ctx *c, int idx, const member *mb, const char *name, xml_ns ns, buf *out)
{
    if (ser_enter(c) < 0) return -1;
    int rc;
    switch (mb->shape->type) {
    case SHAPE_STRUCTURE:
        rc = put_structure(c, idx, mb->shape, name, ns, 0, out);
        break;
    case SHAPE_LIST:
        rc = put_list(c, idx, mb, name, ns, out);
        break;
    case SHAPE_MAP:
        rc = put_map(c, idx, mb, name, ns, out);
        break;
    default:
        rc = put_scalar(c, idx, mb, name, ns, out);
    }
    ser_leave(c);
    return rc;
}

int ser_xml_element(ser_ctx *c, int idx, const member *mb, const char *name, buf *out)
{
    return put_element(c, idx, mb, name, member_ns(mb), out);
}

int ser_xml_root(ser_ctx *c, int idx, const shape *s, buf *out)
{
    const operation *op = c->op;
    const char *name = op->input_xml_name ? op->input_xml_name : s->location_name ? s->location_name : s->name;
    xml_ns ns = op->input_xml_ns ? (xml_ns){ op->input_xml_ns, NULL }
                                 : (xml_ns){ s->xml_namespace_uri, s->xml_namespace_prefix };
    return put_structure(c, idx, s, name, ns, 1, out);
}
