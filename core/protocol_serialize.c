/* protocol_serialize.c -- turning a boto3-shaped params table into a request.
 *
 * protocol_serialize() does what every protocol shares -- filling absent
 * idempotency tokens, checking the params against the input shape,
 * expanding the endpoint's hostPrefix -- and dispatches on the model's
 * protocol to serialize_query.c, serialize_json.c or serialize_rest.c.
 * It also keeps the parameter path that every message names, so a mapping
 * that passes a wrong value learns which one, e.g.
 *   "DescribeInstances: parameter MaxResults: expected an integer, got string"
 *   "DescribeInstances: missing required parameter Filters[1].Name".
 */
#include "protocol.h"

#include <lauxlib.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialize.h"

/* ---- errors and the parameter path ---- */

int ser_fail(ser_ctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->path.len)
        snprintf(c->err, c->errlen, "%s: parameter %s: %s", c->op->name, c->path.data, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", c->op->name, msg);
    return -1;
}

size_t ser_path_member(ser_ctx *c, const char *name)
{
    size_t mark = c->path.len;
    if (mark) buf_putc(&c->path, '.');
    buf_puts(&c->path, name);
    return mark;
}

size_t ser_path_index(ser_ctx *c, lua_Integer i)
{
    size_t mark = c->path.len;
    buf_putc(&c->path, '[');
    buf_putll(&c->path, (long long)i);
    buf_putc(&c->path, ']');
    return mark;
}

size_t ser_path_key(ser_ctx *c, const char *key)
{
    size_t mark = c->path.len;
    buf_printf(&c->path, "[\"%s\"]", key);
    return mark;
}

void ser_path_pop(ser_ctx *c, size_t mark)
{
    c->path.len = mark;
    if (c->path.data) c->path.data[mark] = '\0';
}

int ser_enter(ser_ctx *c)
{
    if (++c->depth > SER_MAX_DEPTH || !lua_checkstack(c->L, 8)) {
        c->depth--;
        return ser_fail(c, "nested more than %d levels deep (a table that contains itself?)",
                        SER_MAX_DEPTH);
    }
    return 0;
}

void ser_leave(ser_ctx *c)
{
    c->depth--;
}

/* ---- idempotency tokens ---- */

/* A random (version 4) UUID, as the SDKs put in absent idempotency tokens. */
static void uuid4(char out[37])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)rand();
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
             r[13], r[14], r[15]);
}

static int missing_token(ser_ctx *c, int idx, const member *mb)
{
    if (!mb->idempotency_token || mb->shape->type != SHAPE_STRING) return 0;
    if (ser_push_member(c, idx, mb)) {
        lua_pop(c->L, 1);
        return 0;
    }
    return 1;
}

/* Absent idempotency tokens are filled with fresh UUIDs, as boto3 does, in
 * a shallow copy of the params: the caller's table is left alone. Returns
 * the index of the table to serialize. */
static int fill_idempotency_tokens(ser_ctx *c, int idx)
{
    const shape *in = c->op->input;
    int copy = 0;
    for (size_t i = 0; i < in->nmembers; i++) {
        if (!missing_token(c, idx, &in->members[i])) continue;
        if (!copy) {
            lua_newtable(c->L);
            copy = lua_gettop(c->L);
            lua_pushnil(c->L);
            while (lua_next(c->L, idx)) {
                lua_pushvalue(c->L, -2);
                lua_insert(c->L, -2);
                lua_rawset(c->L, copy);
            }
        }
        char token[37];
        uuid4(token);
        lua_pushstring(c->L, token);
        lua_setfield(c->L, copy, in->members[i].name);
    }
    return copy ? copy : idx;
}

/* ---- hostPrefix ---- */

/* Host labels become part of a DNS name: letters, digits, '-' and '.'. */
static int valid_host_label(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Appends the value of host label `name` (a member name) to out. */
static int host_label(ser_ctx *c, int idx, const char *name, size_t len, buf *out)
{
    const shape *in = c->op->input;
    for (size_t i = 0; in && i < in->nmembers; i++) {
        const member *mb = &in->members[i];
        if (!mb->host_label || strlen(mb->name) != len || strncmp(mb->name, name, len) != 0) continue;
        size_t mark = ser_path_member(c, mb->name);
        const char *s = NULL;
        size_t n;
        int ok = ser_push_member(c, idx, mb);
        int rc = !ok ? ser_fail(c, "missing (it is part of the host name)")
                     : ser_string(c, lua_gettop(c->L), &s, &n);
        if (rc == 0 && !valid_host_label(s))
            rc = ser_fail(c, "\"%s\" cannot be part of a host name (letters, digits, '-' and '.' only)", s);
        if (rc == 0) buf_puts(out, s);
        if (ok) lua_pop(c->L, 1);
        ser_path_pop(c, mark);
        return rc;
    }
    return ser_fail(c, "hostPrefix refers to unknown host label %.*s", (int)len, name);
}

/* "foo.{label}." with label = "bar" -> "foo.bar.". Caller frees *out. */
static int expand_host_prefix(ser_ctx *c, int idx, char **out)
{
    buf b = {0};
    for (const char *p = c->op->host_prefix; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            buf_putc(&b, *p++);
            continue;
        }
        if (host_label(c, idx, p + 1, (size_t)(close - p - 1), &b) < 0) {
            buf_free(&b);
            return -1;
        }
        p = close + 1;
    }
    *out = buf_steal(&b);
    if (!*out) *out = xstrdup("");
    return 0;
}

/* ---- the entry point ---- */

static int dispatch(ser_ctx *c, int idx, http_request *req)
{
    switch (c->m->protocol) {
    case PROTO_QUERY:
    case PROTO_EC2:
        return serialize_query(c, idx, req);
    case PROTO_JSON:
        return serialize_json(c, idx, req);
    case PROTO_REST_JSON:
    case PROTO_REST_XML:
        return serialize_rest(c, idx, req);
    }
    return ser_fail(c, "unsupported protocol");
}

/* An operation without input takes no parameters at all. */
static int check_no_params(ser_ctx *c, int idx)
{
    if (!idx) return 0;
    lua_pushnil(c->L);
    if (!lua_next(c->L, idx)) return 0;
    lua_pop(c->L, 1);
    const char *key = lua_type(c->L, -1) == LUA_TSTRING ? lua_tostring(c->L, -1) : "?";
    ser_fail(c, "unknown parameter %s (the operation takes no parameters)", key);
    lua_pop(c->L, 1);
    return -1;
}

int protocol_serialize(lua_State *L, int idx, const aws_model *m, const operation *op,
                       http_request *req, char **host_prefix, char *err, size_t errlen)
{
    ser_ctx c = { L, m, op, {0}, 0, err, errlen };
    int top = lua_gettop(L);
    *host_prefix = NULL;
    idx = idx && !lua_isnoneornil(L, idx) ? lua_absindex(L, idx) : 0;
    int rc = 0;
    if (idx && !lua_istable(L, idx)) {
        rc = ser_fail(&c, "parameters must be a table, got %s", luaL_typename(L, idx));
    } else if (!op->input) {
        rc = check_no_params(&c, idx);
    } else {
        if (!idx) {
            lua_newtable(L);
            idx = lua_gettop(L);
        }
        idx = fill_idempotency_tokens(&c, idx);
        rc = ser_check_structure(&c, idx, op->input);
    }
    if (rc == 0) rc = dispatch(&c, op->input ? idx : 0, req);
    if (rc == 0 && op->host_prefix) rc = expand_host_prefix(&c, idx, host_prefix);
    lua_settop(L, top);
    buf_free(&c.path);
    return rc;
}
