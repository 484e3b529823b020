/* serialize_value.c -- reading Lua values by shape, formatting them for the wire.
 *
 * Every serializer reads params through these functions, so a wrong value
 * is reported the same way whatever the protocol: the operation, the path
 * to the value and what was expected ("expected an integer, got string").
 * Maps are read in a fixed order (sorted keys) so that the same params
 * always make the same request.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luajson.h"
#include "serialize.h"
#include "timestamp.h"
#include "util.h"

/* ---- reading params ---- */

static const char *type_name(lua_State *L, int idx)
{
    return lua_typename(L, lua_type(L, idx));
}

int ser_absent(lua_State *L, int idx)
{
    if (lua_isnil(L, idx)) return 1;
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) return 0;
    luajson_push_null(L);
    int is_null = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return is_null;
}

int ser_push_member(ser_ctx *c, int idx, const member *mb)
{
    lua_getfield(c->L, idx, mb->name);
    if (ser_absent(c->L, -1)) {
        lua_pop(c->L, 1);
        return 0;
    }
    return 1;
}

int ser_any_present(ser_ctx *c, int idx, const shape *s, int (*want)(const member *))
{
    for (size_t i = 0; i < s->nmembers; i++) {
        if (want && !want(&s->members[i])) continue;
        if (ser_push_member(c, idx, &s->members[i])) {
            lua_pop(c->L, 1);
            return 1;
        }
    }
    return 0;
}

static const member *find_member(const shape *s, const char *name)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0) return &s->members[i];
    return NULL;
}

/* "unknown parameter Foo (valid: A, B, C)": the list makes typos obvious. */
static int fail_unknown(ser_ctx *c, const shape *s, const char *key)
{
    buf valid = {0};
    for (size_t i = 0; i < s->nmembers; i++)
        buf_printf(&valid, "%s%s", i ? ", " : "", s->members[i].name);
    ser_fail(c, "unknown parameter %s (valid: %s)", key, s->nmembers ? valid.data : "none");
    buf_free(&valid);
    return -1;
}

static int check_keys(ser_ctx *c, int idx, const shape *s)
{
    lua_pushnil(c->L);
    while (lua_next(c->L, idx)) {
        lua_pop(c->L, 1);
        if (lua_type(c->L, -1) != LUA_TSTRING) {
            const char *t = type_name(c->L, -1);
            lua_pop(c->L, 1);
            return ser_fail(c, "expected a structure (a table with string keys), got a %s key", t);
        }
        const char *key = lua_tostring(c->L, -1);
        if (!find_member(s, key)) {
            int rc = fail_unknown(c, s, key);
            lua_pop(c->L, 1);
            return rc;
        }
    }
    return 0;
}

int ser_check_structure(ser_ctx *c, int idx, const shape *s)
{
    if (!lua_istable(c->L, idx))
        return ser_fail(c, "expected a structure (table), got %s", type_name(c->L, idx));
    if (check_keys(c, idx, s) < 0) return -1;
    int present = 0;
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        if (ser_push_member(c, idx, mb)) {
            lua_pop(c->L, 1);
            present++;
        } else if (mb->required) {
            size_t mark = ser_path_member(c, mb->name);
            snprintf(c->err, c->errlen, "%s: missing required parameter %s", c->op->name, c->path.data);
            ser_path_pop(c, mark);
            return -1;
        }
    }
    if (s->is_union && present != 1)
        return ser_fail(c, "a union takes exactly one member, got %d", present);
    return 0;
}

int ser_list_length(ser_ctx *c, int idx, lua_Integer *n)
{
    if (!lua_istable(c->L, idx))
        return ser_fail(c, "expected a list (table), got %s", type_name(c->L, idx));
    lua_Integer len = (lua_Integer)lua_rawlen(c->L, idx), count = 0;
    lua_pushnil(c->L);
    while (lua_next(c->L, idx)) {
        lua_pop(c->L, 1);
        lua_Integer k = lua_isinteger(c->L, -1) ? lua_tointeger(c->L, -1) : 0;
        if (k < 1 || k > len) {
            lua_pop(c->L, 1);
            return ser_fail(c, "expected a list (a sequence table), got a table with other keys");
        }
        count++;
    }
    if (count != len) return ser_fail(c, "expected a list, got a table with holes");
    *n = len;
    return 0;
}

/* Collects the keys of an ordered table through its __pairs metamethod
 * into the sequence at `keys`. Errors in that Lua code are caught: they
 * must not unwind through our buffers. */
static int ordered_keys(ser_ctx *c, int idx, int keys, lua_Integer *n)
{
    lua_State *L = c->L;
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 3, 0) != LUA_OK) {   /* __pairs(t) -> f, s, control */
        ser_fail(c, "__pairs failed: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    for (;;) {
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) {   /* f(s, control) -> key */
            ser_fail(c, "__pairs iterator failed: %s", lua_tostring(L, -1));
            lua_pop(L, 4);
            return -1;
        }
        if (lua_isnil(L, -1)) {
            lua_pop(L, 4);
            return 0;
        }
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 4);
            return ser_fail(c, "expected a map with string keys");
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++*n);
        lua_replace(L, -2);            /* the key becomes the new control value */
    }
}

/* Collects the keys of a plain table into the sequence at `keys`, sorted:
 * Lua's own order changes from run to run, and requests should not. The
 * key strings stay alive because the map itself is on the stack. */
static int sorted_keys(ser_ctx *c, int idx, int keys, lua_Integer *n)
{
    lua_State *L = c->L;
    size_t count = 0, cap = 16;
    const char **names = xmalloc(cap * sizeof *names);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            const char *t = type_name(L, -1);
            free(names);
            lua_pop(L, 1);
            return ser_fail(c, "expected a map with string keys, got a %s key", t);
        }
        if (count == cap) names = xrealloc(names, (cap *= 2) * sizeof *names);
        names[count++] = lua_tostring(L, -1);
    }
    qsort(names, count, sizeof *names, compare_strings);
    for (size_t i = 0; i < count; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, keys, ++*n);
    }
    free(names);
    return 0;
}

int ser_map_keys(ser_ctx *c, int idx, lua_Integer *n)
{
    if (!lua_istable(c->L, idx))
        return ser_fail(c, "expected a map (table), got %s", type_name(c->L, idx));
    lua_newtable(c->L);
    int keys = lua_gettop(c->L);
    *n = 0;
    int rc = luaL_getmetafield(c->L, idx, "__pairs") != LUA_TNIL ? ordered_keys(c, idx, keys, n)
                                                                  : sorted_keys(c, idx, keys, n);
    if (rc < 0) lua_pop(c->L, 1);
    return rc;
}

/* ---- scalars ---- */

int ser_string(ser_ctx *c, int idx, const char **s, size_t *len)
{
    if (lua_type(c->L, idx) != LUA_TSTRING)
        return ser_fail(c, "expected a string, got %s", type_name(c->L, idx));
    *s = lua_tolstring(c->L, idx, len);
    return 0;
}

int ser_integer(ser_ctx *c, int idx, lua_Integer *v)
{
    int ok = 0;
    if (lua_type(c->L, idx) == LUA_TNUMBER) *v = lua_tointegerx(c->L, idx, &ok);
    if (ok) return 0;
    if (lua_type(c->L, idx) == LUA_TNUMBER)
        return ser_fail(c, "expected an integer, got %g", lua_tonumber(c->L, idx));
    return ser_fail(c, "expected an integer, got %s", type_name(c->L, idx));
}

static int ser_double(ser_ctx *c, int idx, double *v)
{
    if (lua_type(c->L, idx) != LUA_TNUMBER)
        return ser_fail(c, "expected a number, got %s", type_name(c->L, idx));
    *v = lua_tonumber(c->L, idx);
    return 0;
}

int ser_boolean(ser_ctx *c, int idx, int *v)
{
    if (lua_type(c->L, idx) != LUA_TBOOLEAN)
        return ser_fail(c, "expected a boolean, got %s", type_name(c->L, idx));
    *v = lua_toboolean(c->L, idx);
    return 0;
}

/* Years 1 to 9999: what the wire formats can express. */
#define TIMESTAMP_MIN -62135596800.0
#define TIMESTAMP_LIMIT 253402300800.0

int ser_timestamp(ser_ctx *c, int idx, double *t)
{
    if (lua_type(c->L, idx) == LUA_TNUMBER) {
        *t = lua_tonumber(c->L, idx);
    } else if (lua_type(c->L, idx) != LUA_TSTRING) {
        return ser_fail(c, "expected a timestamp (epoch seconds or ISO-8601 string), got %s",
                        type_name(c->L, idx));
    } else if (timestamp_parse(lua_tostring(c->L, idx), t) < 0) {
        return ser_fail(c, "expected a timestamp, got \"%s\"", lua_tostring(c->L, idx));
    }
    if (!(*t >= TIMESTAMP_MIN && *t < TIMESTAMP_LIMIT))   /* also catches NaN */
        return ser_fail(c, "timestamp %g is out of range (years 1 to 9999)", *t);
    return 0;
}

/* ---- formatting ---- */

void ser_format_double(double d, char out[32])
{
    if (isnan(d)) {
        snprintf(out, 32, "NaN");
    } else if (isinf(d)) {
        snprintf(out, 32, d > 0 ? "Infinity" : "-Infinity");
    } else {
        for (int prec = 1; prec <= 17; prec++) {   /* %.17g always reads back */
            snprintf(out, 32, "%.*g", prec, d);
            if (strtod(out, NULL) == d) break;
        }
    }
}

void ser_base64(buf *out, const void *p, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    buf_reserve(out, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n) v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n) v |= s[i + 2];
        char quad[4] = { alphabet[v >> 18], alphabet[(v >> 12) & 63],
                         i + 1 < n ? alphabet[(v >> 6) & 63] : '=', i + 2 < n ? alphabet[v & 63] : '=' };
        buf_append(out, quad, 4);
    }
}

const char *ser_timestamp_format(const member *mb, const char *dflt)
{
    if (mb->timestamp_format) return mb->timestamp_format;
    if (mb->shape->timestamp_format) return mb->shape->timestamp_format;
    return dflt;
}

const char *ser_wire_name(const member *mb)
{
    return mb->location_name ? mb->location_name : mb->name;
}

/* Integers print as integers even for float shapes: "10", not "10.0". */
static int number_text(ser_ctx *c, int idx, const shape *s, buf *out)
{
    if (s->type == SHAPE_FLOAT || s->type == SHAPE_DOUBLE) {
        double d = 0;
        if (ser_double(c, idx, &d) < 0) return -1;
        char text[32];
        if (lua_isinteger(c->L, idx)) snprintf(text, sizeof text, "%lld", (long long)lua_tointeger(c->L, idx));
        else ser_format_double(d, text);
        buf_puts(out, text);
        return 0;
    }
    lua_Integer v;
    if (ser_integer(c, idx, &v) < 0) return -1;
    buf_putll(out, (long long)v);
    return 0;
}

int ser_scalar_text(ser_ctx *c, int idx, const member *mb, const char *ts_default, buf *out)
{
    const char *s = NULL;
    size_t n = 0;
    int b = 0;
    double t = 0;
    char ts[TIMESTAMP_MAX];
    switch (mb->shape->type) {
    case SHAPE_STRING:
        if (ser_string(c, idx, &s, &n) < 0) return -1;
        buf_append(out, s, n);
        return 0;
    case SHAPE_BLOB:
        if (ser_string(c, idx, &s, &n) < 0) return -1;
        ser_base64(out, s, n);
        return 0;
    case SHAPE_BOOLEAN:
        if (ser_boolean(c, idx, &b) < 0) return -1;
        buf_puts(out, b ? "true" : "false");
        return 0;
    case SHAPE_TIMESTAMP:
        if (ser_timestamp(c, idx, &t) < 0) return -1;
        timestamp_format_wire(t, ser_timestamp_format(mb, ts_default), ts);
        buf_puts(out, ts);
        return 0;
    case SHAPE_INTEGER:
    case SHAPE_LONG:
    case SHAPE_FLOAT:
    case SHAPE_DOUBLE:
        return number_text(c, idx, mb->shape, out);
    default:
        return ser_fail(c, "a %s cannot be serialized here", mb->shape->type == SHAPE_LIST ? "list"
                                                          : mb->shape->type == SHAPE_MAP ? "map"
                                                                                         : "structure");
    }
}
