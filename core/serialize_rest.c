/* serialize_rest.c -- the HTTP bindings of rest-json and rest-xml.
 *
 * A rest input member goes where its "location" says:
 *   uri          a {Label} of the requestUri, URI-encoded ('/' too), or a
 *                greedy {Label+} that keeps its '/' (S3 object keys)
 *   querystring  name=value; a list repeats the name; a map spreads its
 *                keys as names (a list value repeats them) -- but a key
 *                also bound to a named member is left to that member
 *   header       its value; a list is comma-joined (elements holding ',' or
 *                '"' are quoted); a jsonvalue member is base64 of its JSON
 *   headers      a map: one header per key, named prefix + key
 *   (none)       the body
 * Timestamps default to ISO-8601 in the URI and query string and to RFC 822
 * in headers. The body is the payload member when the input names one -- a
 * blob or string goes raw, a structure as JSON or XML -- or else the body
 * members as one JSON object / XML document (serialize_json.c,
 * serialize_xml.c). The requestUri may carry a static query ("/x?list-type=2").
 */
#include <lauxlib.h>
#include <openssl/evp.h>
#include <string.h>

#include "luajson.h"
#include "serialize.h"

/* ---- the URI path ---- */

static const member *label_member(const shape *in, const char *name, size_t len)
{
    for (size_t i = 0; in && i < in->nmembers; i++) {
        const member *mb = &in->members[i];
        const char *wire = ser_wire_name(mb);
        if (mb->location == LOC_URI && strlen(wire) == len && strncmp(wire, name, len) == 0) return mb;
    }
    return NULL;
}

/* Appends the URI-encoded value of one {label}. */
static int put_label(ser_ctx *c, int idx, const char *name, size_t len, buf *out)
{
    int greedy = len > 0 && name[len - 1] == '+';
    if (greedy) len--;
    const member *mb = label_member(c->op->input, name, len);
    if (!mb) return ser_fail(c, "requestUri label {%.*s} matches no input member", (int)len, name);
    size_t path = ser_path_member(c, mb->name);
    buf text = {0};
    int rc = idx && ser_push_member(c, idx, mb) ? 0 : ser_fail(c, "missing (it is part of the URI)");
    if (rc == 0) {
        rc = ser_scalar_text(c, lua_gettop(c->L), mb, "iso8601", &text);
        lua_pop(c->L, 1);
    }
    if (rc == 0 && text.len == 0) rc = ser_fail(c, "must not be empty (it is part of the URI)");
    if (rc == 0) uri_encode(out, text.data, text.len, greedy);
    buf_free(&text);
    ser_path_pop(c, path);
    return rc;
}

/* Renders the path part of the requestUri template; the literal parts are
 * already encoded in the model. */
static int render_path(ser_ctx *c, int idx, const char *tmpl, size_t len, buf *out)
{
    const char *end = tmpl + len;
    for (const char *p = tmpl; p < end;) {
        const char *close = *p == '{' ? memchr(p, '}', (size_t)(end - p)) : NULL;
        if (!close) {
            buf_putc(out, *p++);
            continue;
        }
        if (put_label(c, idx, p + 1, (size_t)(close - p - 1), out) < 0) return -1;
        p = close + 1;
    }
    return 0;
}

/* ---- the query string ---- */

static void add_query(http_request *req, const char *name, const char *value, size_t n)
{
    buf k = {0}, v = {0};
    uri_encode(&k, name, strlen(name), 0);
    uri_encode(&v, value, n, 0);
    request_add_query(req, buf_cstr(&k), buf_cstr(&v));
    buf_free(&k);
    buf_free(&v);
}

static int query_scalar(ser_ctx *c, int idx, const member *mb, const char *name, http_request *req)
{
    buf text = {0};
    int rc = ser_scalar_text(c, idx, mb, "iso8601", &text);
    if (rc == 0) add_query(req, name, buf_cstr(&text), text.len);
    buf_free(&text);
    return rc;
}

/* name=value for a scalar, name=v1&name=v2 for a list of them. */
static int query_values(ser_ctx *c, int idx, const member *mb, const char *name, http_request *req)
{
    if (mb->shape->type != SHAPE_LIST) return query_scalar(c, idx, mb, name, req);
    lua_Integer n;
    if (ser_list_length(c, idx, &n) < 0) return -1;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(c->L, idx, i);
        size_t path = ser_path_index(c, i);
        int rc = ser_absent(c->L, -1) ? 0 : query_scalar(c, lua_gettop(c->L), &mb->shape->element, name, req);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Is query name `key` bound to a named (non-map) member that is set? */
static int named_query(ser_ctx *c, int idx, const char *key)
{
    const shape *in = c->op->input;
    for (size_t i = 0; i < in->nmembers; i++) {
        const member *mb = &in->members[i];
        if (mb->location != LOC_QUERYSTRING || mb->shape->type == SHAPE_MAP) continue;
        if (strcmp(ser_wire_name(mb), key) != 0) continue;
        if (ser_push_member(c, idx, mb)) {
            lua_pop(c->L, 1);
            return 1;
        }
    }
    return 0;
}

static int query_map(ser_ctx *c, int params, int idx, const member *mb, http_request *req)
{
    lua_Integer n;
    if (ser_map_keys(c, idx, &n) < 0) return -1;
    int keys = lua_gettop(c->L), rc = 0;
    for (lua_Integer i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(c->L, keys, i);
        const char *k = lua_tostring(c->L, -1);
        lua_getfield(c->L, idx, k);
        if (!ser_absent(c->L, -1) && !named_query(c, params, k)) {
            size_t path = ser_path_key(c, k);
            rc = query_values(c, lua_gettop(c->L), &mb->shape->value, k, req);
            ser_path_pop(c, path);
        }
        lua_pop(c->L, 2);
    }
    lua_pop(c->L, 1);
    return rc;
}

/* Named members first, maps after: a named member wins over a map key. */
static int render_query(ser_ctx *c, int idx, http_request *req)
{
    const shape *in = c->op->input;
    for (int maps = 0; maps <= 1; maps++) {
        for (size_t i = 0; i < in->nmembers; i++) {
            const member *mb = &in->members[i];
            if (mb->location != LOC_QUERYSTRING || (mb->shape->type == SHAPE_MAP) != maps) continue;
            if (!ser_push_member(c, idx, mb)) continue;
            size_t path = ser_path_member(c, mb->name);
            int v = lua_gettop(c->L);
            int rc = maps ? query_map(c, idx, v, mb, req) : query_values(c, v, mb, ser_wire_name(mb), req);
            ser_path_pop(c, path);
            lua_pop(c->L, 1);
            if (rc < 0) return -1;
        }
    }
    return 0;
}

/* ---- headers ---- */

/* A header value cannot hold a line break: it would start a new header. */
static int set_header(ser_ctx *c, http_request *req, const char *name, buf *value)
{
    const char *v = buf_cstr(value);
    if (strpbrk(v, "\r\n") || strlen(v) != value->len)
        return ser_fail(c, "a header value cannot contain line breaks or NUL bytes");
    headers_set(&req->headers, name, v);
    return 0;
}

/* One element of a list header, quoted when it holds ',' or '"' so that
 * the list splits back the same (not timestamps: RFC 822 dates hold ','). */
static int list_element(ser_ctx *c, int idx, const member *el, buf *out)
{
    buf text = {0};
    int rc = ser_scalar_text(c, idx, el, "rfc822", &text);
    const char *t = buf_cstr(&text);
    if (rc == 0 && el->shape->type != SHAPE_TIMESTAMP && strpbrk(t, ",\"")) {
        buf_putc(out, '"');
        for (; *t; t++) {
            if (*t == '"' || *t == '\\') buf_putc(out, '\\');
            buf_putc(out, *t);
        }
        buf_putc(out, '"');
    } else if (rc == 0) {
        buf_append(out, text.data, text.len);
    }
    buf_free(&text);
    return rc;
}

static int list_header(ser_ctx *c, int idx, const member *mb, buf *out)
{
    lua_Integer n;
    if (ser_list_length(c, idx, &n) < 0) return -1;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(c->L, idx, i);
        size_t path = ser_path_index(c, i);
        int rc = 0;
        if (!ser_absent(c->L, -1)) {
            if (out->len) buf_putc(out, ',');
            rc = list_element(c, lua_gettop(c->L), &mb->shape->element, out);
        }
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

/* A jsonvalue header: a table is encoded as JSON, a string is taken as
 * JSON text already; either way it travels base64-encoded. */
static int json_header(ser_ctx *c, int idx, buf *out)
{
    buf json = {0};
    int rc = 0;
    if (lua_type(c->L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(c->L, idx, &n);
        buf_append(&json, s, n);
    } else {
        char why[256];
        rc = luajson_encode(c->L, idx, &json, 0, why, sizeof why) < 0 ? ser_fail(c, "%s", why) : 0;
    }
    if (rc == 0) ser_base64(out, json.data, json.len);
    buf_free(&json);
    return rc;
}

static int header_member(ser_ctx *c, int idx, const member *mb, http_request *req)
{
    buf value = {0};
    lua_Integer n = 1;
    int rc;
    if (mb->shape->type == SHAPE_LIST) {
        rc = ser_list_length(c, idx, &n);
        if (rc == 0 && n > 0) rc = list_header(c, idx, mb, &value);
    } else if (mb->json_value) {
        rc = json_header(c, idx, &value);
    } else {
        rc = ser_scalar_text(c, idx, mb, "rfc822", &value);
    }
    if (rc == 0 && n > 0) rc = set_header(c, req, ser_wire_name(mb), &value);   /* [] sends no header */
    buf_free(&value);
    return rc;
}

/* A "headers" map: prefix + key for each entry. */
static int header_map(ser_ctx *c, int idx, const member *mb, http_request *req)
{
    lua_Integer n;
    if (ser_map_keys(c, idx, &n) < 0) return -1;
    int keys = lua_gettop(c->L), rc = 0;
    for (lua_Integer i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(c->L, keys, i);
        const char *k = lua_tostring(c->L, -1);
        lua_getfield(c->L, idx, k);
        if (!ser_absent(c->L, -1)) {
            size_t path = ser_path_key(c, k);
            buf name = {0}, value = {0};
            buf_printf(&name, "%s%s", mb->location_name ? mb->location_name : "", k);
            rc = ser_scalar_text(c, lua_gettop(c->L), &mb->shape->value, "rfc822", &value);
            if (rc == 0) rc = set_header(c, req, name.data, &value);
            buf_free(&name);
            buf_free(&value);
            ser_path_pop(c, path);
        }
        lua_pop(c->L, 2);
    }
    lua_pop(c->L, 1);
    return rc;
}

static int render_headers(ser_ctx *c, int idx, http_request *req)
{
    const shape *in = c->op->input;
    for (size_t i = 0; i < in->nmembers; i++) {
        const member *mb = &in->members[i];
        if (mb->location != LOC_HEADER && mb->location != LOC_HEADERS) continue;
        if (!ser_push_member(c, idx, mb)) continue;
        size_t path = ser_path_member(c, mb->name);
        int v = lua_gettop(c->L);
        int rc = mb->location == LOC_HEADER ? header_member(c, v, mb, req) : header_map(c, v, mb, req);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- the body ---- */

static int is_body(const member *mb)
{
    return mb->location == LOC_BODY;
}

static const member *payload_member(const shape *in)
{
    for (size_t i = 0; in->payload && i < in->nmembers; i++)
        if (strcmp(in->members[i].name, in->payload) == 0) return &in->members[i];
    return NULL;
}

static int is_raw(const member *mb)
{
    return mb && (mb->shape->type == SHAPE_BLOB || mb->shape->type == SHAPE_STRING);
}

/* The payload member alone is the body: raw bytes, or one JSON value / XML
 * element. An absent structure payload is "{}" in JSON, nothing in XML. */
static int payload_body(ser_ctx *c, int idx, const member *mb, int xml, buf *out)
{
    if (!ser_push_member(c, idx, mb)) {
        if (!is_raw(mb) && !xml) buf_puts(out, "{}");
        return 0;
    }
    int v = lua_gettop(c->L), rc;
    size_t path = ser_path_member(c, mb->name);
    if (is_raw(mb)) {
        const char *s;
        size_t n;
        rc = ser_string(c, v, &s, &n);
        if (rc == 0) buf_append(out, s, n);
    } else {
        rc = xml ? ser_xml_element(c, v, mb, ser_wire_name(mb), out) : ser_json_value(c, v, mb, out);
    }
    ser_path_pop(c, path);
    lua_pop(c->L, 1);
    return rc;
}

static int render_body(ser_ctx *c, int idx, buf *out)
{
    const shape *in = c->op->input;
    int xml = c->m->protocol == PROTO_REST_XML;
    const member *payload = payload_member(in);
    if (payload) return payload_body(c, idx, payload, xml, out);
    if (ser_any_present(c, idx, in, is_body))
        return xml ? ser_xml_root(c, idx, in, out) : ser_json_structure(c, idx, in, 1, out);
    /* rest-json sends "{}" whenever the input has body members at all */
    for (size_t i = 0; !xml && i < in->nmembers; i++) {
        if (is_body(&in->members[i])) {
            buf_puts(out, "{}");
            break;
        }
    }
    return 0;
}

/* S3 refuses some operations (PutBucketTagging, DeleteObjects,
 * PutPublicAccessBlock) without a body checksum: botocore sends Content-MD5. */
static void content_md5(http_request *req)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (headers_get(&req->headers, "Content-MD5") ||
        !EVP_Digest(req->body.data ? req->body.data : "", req->body.len, md, &n, EVP_md5(), NULL))
        return;
    buf b64 = {0};
    ser_base64(&b64, md, n);
    headers_set(&req->headers, "Content-MD5", buf_cstr(&b64));
    buf_free(&b64);
}

int serialize_rest(ser_ctx *c, int idx, http_request *req)
{
    const char *uri = c->op->request_uri, *q = strchr(uri, '?');
    buf path = {0}, body = {0};
    int rc = render_path(c, idx, uri, q ? (size_t)(q - uri) : strlen(uri), &path);
    if (rc == 0) {
        request_set(&req->method, c->op->http_method);
        request_set(&req->path, path.len ? path.data : "/");
        request_set(&req->query, q ? q + 1 : "");
    }
    if (rc == 0 && idx) rc = render_query(c, idx, req);
    if (rc == 0 && idx) rc = render_headers(c, idx, req);
    if (rc == 0 && idx) rc = render_body(c, idx, &body);
    if (rc == 0) {
        buf_clear(&req->body);
        buf_append(&req->body, body.data, body.len);
        /* botocore's rule: JSON bodies say so, raw payloads say nothing */
        const member *payload = idx ? payload_member(c->op->input) : NULL;
        if (c->m->protocol == PROTO_REST_JSON && body.len && !is_raw(payload) &&
            !headers_get(&req->headers, "Content-Type"))
            headers_set(&req->headers, "Content-Type", "application/json");
        if (c->op->http_checksum_required) content_md5(req);
    }
    buf_free(&path);
    buf_free(&body);
    return rc;
}
