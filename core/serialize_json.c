/* serialize_json.c -- JSON request bodies: the json protocol (1.0 and 1.1)
 * and the bodies of rest-json.
 *
 * The body is written straight into a buf while walking the input shape,
 * so every value is checked against its shape on the way. Keys are the
 * members' locationName (else their name); timestamps are epoch seconds
 * (a JSON number) unless the model says otherwise; blobs are base64;
 * floats are written in their shortest exact form, and NaN / Infinity as
 * the strings AWS expects. A document member (free-form JSON) is encoded
 * from whatever Lua value it holds, with luajson.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_swar.h"
#include "luajson.h"
#include "serialize.h"

/* Plain runs (most strings are one: names, ids, URLs) found 8 bytes at a
 * time and copied whole; the bytes that need escaping one by one. */
static void put_string(buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        size_t run = json_plain_len(s + i, n - i);
        buf_append(out, s + i, run);
        i += run;
        if (i == n) break;
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)ch);
        } else {                            /* a control character */
            char esc[7] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], 0 };
            buf_puts(out, esc);
        }
    }
    buf_putc(out, '"');
}

static int put_number(ser_ctx *c, int idx, const shape *s, buf *out)
{
    if ((s->type == SHAPE_FLOAT || s->type == SHAPE_DOUBLE) && lua_type(c->L, idx) == LUA_TNUMBER &&
        !isfinite(lua_tonumber(c->L, idx))) {
        char text[32];
        ser_format_double(lua_tonumber(c->L, idx), text);   /* "NaN" etc. go as strings */
        put_string(out, text, strlen(text));
        return 0;
    }
    member m = { .shape = (shape *)s };
    return ser_scalar_text(c, idx, &m, NULL, out);
}

static int put_timestamp(ser_ctx *c, int idx, const member *mb, buf *out)
{
    const char *fmt = ser_timestamp_format(mb, "unixTimestamp");
    if (strcmp(fmt, "unixTimestamp") == 0) return ser_scalar_text(c, idx, mb, fmt, out);
    buf text = {0};
    int rc = ser_scalar_text(c, idx, mb, fmt, &text);
    if (rc == 0) put_string(out, buf_cstr(&text), text.len);
    buf_free(&text);
    return rc;
}

static int put_list(ser_ctx *c, int idx, const member *mb, buf *out)
{
    lua_Integer n;
    if (ser_list_length(c, idx, &n) < 0) return -1;
    buf_putc(out, '[');
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) buf_putc(out, ',');
        size_t path = ser_path_index(c, i);
        lua_rawgeti(c->L, idx, i);
        int rc = ser_absent(c->L, -1) ? (buf_puts(out, "null"), 0)
                                      : ser_json_value(c, lua_gettop(c->L), &mb->shape->element, out);
        lua_pop(c->L, 1);
        ser_path_pop(c, path);
        if (rc < 0) return -1;
    }
    buf_putc(out, ']');
    return 0;
}

static int put_map(ser_ctx *c, int idx, const member *mb, buf *out)
{
    lua_Integer n;
    if (ser_map_keys(c, idx, &n) < 0) return -1;
    int keys = lua_gettop(c->L), rc = 0, first = 1;
    buf_putc(out, '{');
    for (lua_Integer i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(c->L, keys, i);
        size_t klen;
        const char *k = lua_tolstring(c->L, -1, &klen);
        lua_getfield(c->L, idx, k);
        if (!ser_absent(c->L, -1)) {
            if (!first) buf_putc(out, ',');
            first = 0;
            put_string(out, k, klen);
            buf_putc(out, ':');
            size_t path = ser_path_key(c, k);
            rc = ser_json_value(c, lua_gettop(c->L), &mb->shape->value, out);
            ser_path_pop(c, path);
        }
        lua_pop(c->L, 2);
    }
    buf_putc(out, '}');
    lua_pop(c->L, 1);
    return rc;
}

static int put_document(ser_ctx *c, int idx, buf *out)
{
    char why[256];
    if (luajson_encode(c->L, idx, out, 0, why, sizeof why) < 0) return ser_fail(c, "%s", why);
    return 0;
}

int ser_json_structure(ser_ctx *c, int idx, const shape *s, int body_only, buf *out)
{
    if (ser_check_structure(c, idx, s) < 0) return -1;
    buf_putc(out, '{');
    int first = 1;
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        if (body_only && mb->location != LOC_BODY) continue;
        if (!ser_push_member(c, idx, mb)) continue;
        if (!first) buf_putc(out, ',');
        first = 0;
        const char *name = ser_wire_name(mb);
        put_string(out, name, strlen(name));
        buf_putc(out, ':');
        size_t path = ser_path_member(c, mb->name);
        int rc = ser_json_value(c, lua_gettop(c->L), mb, out);
        ser_path_pop(c, path);
        lua_pop(c->L, 1);
        if (rc < 0) return -1;
    }
    buf_putc(out, '}');
    return 0;
}

static int put_value(ser_ctx *c, int idx, const member *mb, buf *out)
{
    const shape *s = mb->shape;
    const char *str;
    size_t n;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        if (s->document) return put_document(c, idx, out);
        return ser_json_structure(c, idx, s, 0, out);
    case SHAPE_LIST:
        return put_list(c, idx, mb, out);
    case SHAPE_MAP:
        return put_map(c, idx, mb, out);
    case SHAPE_STRING:
        if (ser_string(c, idx, &str, &n) < 0) return -1;
        put_string(out, str, n);
        return 0;
    case SHAPE_BLOB: {
        if (ser_string(c, idx, &str, &n) < 0) return -1;
        buf b64 = {0};
        ser_base64(&b64, str, n);
        put_string(out, buf_cstr(&b64), b64.len);
        buf_free(&b64);
        return 0;
    }
    case SHAPE_TIMESTAMP:
        return put_timestamp(c, idx, mb, out);
    default:   /* numbers and booleans read the same in JSON as in text */
        return put_number(c, idx, s, out);
    }
}

int ser_json_value(ser_ctx *c, int idx, const member *mb, buf *out)
{
    if (ser_enter(c) < 0) return -1;
    int rc = put_value(c, idx, mb, out);
    ser_leave(c);
    return rc;
}

int serialize_json(ser_ctx *c, int idx, http_request *req)
{
    buf_clear(&req->body);
    int rc = 0;
    if (idx) rc = ser_json_structure(c, idx, c->op->input, 0, &req->body);
    else buf_puts(&req->body, "{}");   /* an operation without input still sends a JSON object */
    if (rc < 0) {
        buf_clear(&req->body);
        return rc;
    }
    request_set(&req->method, c->op->http_method);
    request_set(&req->path, c->op->request_uri);
    buf header = {0};                  /* (buf_puts, not buf_printf: this runs for every call) */
    buf_puts(&header, "application/x-amz-json-");
    buf_puts(&header, c->m->json_version);
    headers_set(&req->headers, "Content-Type", header.data);
    if (c->m->target_prefix) {
        buf_clear(&header);
        buf_puts(&header, c->m->target_prefix);
        buf_putc(&header, '.');
        buf_puts(&header, c->op->name);
        headers_set(&req->headers, "X-Amz-Target", header.data);
    }
    buf_free(&header);
    return 0;
}
