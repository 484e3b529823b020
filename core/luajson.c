/* luajson.c -- JSON <-> Lua values (see luajson.h for the rules).
 *
 * Decoding goes through cJSON's tree; encoding writes straight into a buf.
 * Object keys are sorted when encoding so that output is stable: golden files,
 * diffs and `awstopo call` output do not depend on Lua's hash order.
 */
#include "luajson.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200

static char null_sentinel;   /* its address is json.null */

void luajson_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, &null_sentinel);
}

static void push_array_mt(lua_State *L)
{
    if (luaL_newmetatable(L, LUAJSON_ARRAY_MT)) {
        lua_pushstring(L, "array");
        lua_setfield(L, -2, "__name");
    }
}

void luajson_new_array(lua_State *L, int narr)
{
    lua_createtable(L, narr, 0);
    push_array_mt(L);
    lua_setmetatable(L, -2);
}

void luajson_mark_array(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    push_array_mt(L);
    lua_setmetatable(L, idx);
}

int luajson_is_array(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, LUAJSON_ARRAY_MT);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

/* ---- decoding ---- */

static void push_cjson(lua_State *L, const cJSON *j, int keep_null)
{
    luaL_checkstack(L, 4, "JSON nesting too deep");
    if (cJSON_IsObject(j)) {
        lua_newtable(L);
        for (const cJSON *c = j->child; c; c = c->next) {
            if (cJSON_IsNull(c) && !keep_null) continue;
            push_cjson(L, c, keep_null);
            lua_setfield(L, -2, c->string);
        }
    } else if (cJSON_IsArray(j)) {
        luajson_new_array(L, cJSON_GetArraySize(j));
        lua_Integer i = 1;
        for (const cJSON *c = j->child; c; c = c->next) {
            push_cjson(L, c, 1); /* nulls inside arrays keep their place */
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        /* cJSON keeps only a double: integral values within 2^53 become integers. */
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else {
        luajson_push_null(L);
    }
}

int luajson_decode(lua_State *L, const char *text, size_t len, int keep_null, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - text) : 0;
        snprintf(err, errlen, "invalid JSON at byte %zu of %zu", at, len);
        return -1;
    }
    push_cjson(L, root, keep_null);
    cJSON_Delete(root);
    return 0;
}

/* ---- encoding ---- */

typedef struct encoder {
    lua_State *L;
    buf *out;
    int indent;
    int depth;
    char *err;
    size_t errlen;
} encoder;

static int encode_value(encoder *e, int idx);

static void encode_string(buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_puts(out, "\\\""); break;
        case '\\': buf_puts(out, "\\\\"); break;
        case '\n': buf_puts(out, "\\n"); break;
        case '\r': buf_puts(out, "\\r"); break;
        case '\t': buf_puts(out, "\\t"); break;
        case '\b': buf_puts(out, "\\b"); break;
        case '\f': buf_puts(out, "\\f"); break;
        default:
            if (c < 0x20) {
                char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
                buf_puts(out, u);
            } else {
                buf_putc(out, (char)c);
            }
        }
    }
    buf_putc(out, '"');
}

static void newline(encoder *e)
{
    if (e->indent <= 0) return;
    buf_putc(e->out, '\n');
    for (int i = 0; i < e->depth * e->indent; i++) buf_putc(e->out, ' ');
}

static int fail(encoder *e, const char *msg)
{
    snprintf(e->err, e->errlen, "cannot encode as JSON: %s", msg);
    return -1;
}

/* Is the table at idx a sequence 1..n with n > 0 and nothing else? */
static lua_Integer sequence_length(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n == 0) return 0;
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) { lua_pop(L, 1); return 0; }
        count++;
    }
    return count == n ? n : 0;
}

static int encode_array(encoder *e, int idx, lua_Integer n)
{
    buf_putc(e->out, '[');
    e->depth++;
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) buf_putc(e->out, ',');
        newline(e);
        lua_rawgeti(e->L, idx, i);
        if (encode_value(e, lua_gettop(e->L)) < 0) return -1;
        lua_pop(e->L, 1);
    }
    e->depth--;
    if (n) newline(e);
    buf_putc(e->out, ']');
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the table's keys as strings, sorted. The strings stay alive in a
 * table pushed on the stack (caller pops it). */
static size_t sorted_keys(lua_State *L, int idx, const char ***keys_out)
{
    size_t n = 0, cap = 16;
    const char **keys = xmalloc(cap * sizeof *keys);
    lua_newtable(L);             /* anchor for converted key strings */
    int anchor = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        const char *k = luaL_tolstring(L, -1, NULL);   /* pushes the string */
        lua_rawseti(L, anchor, (lua_Integer)n + 1);
        lua_pop(L, 1);
        if (n == cap) keys = xrealloc(keys, (cap *= 2) * sizeof *keys);
        keys[n++] = k;
    }
    qsort(keys, n, sizeof *keys, compare_keys);
    *keys_out = keys;
    return n;
}

static int encode_object(encoder *e, int idx)
{
    const char **keys;
    size_t n = sorted_keys(e->L, idx, &keys);
    buf_putc(e->out, '{');
    e->depth++;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i) buf_putc(e->out, ',');
        newline(e);
        encode_string(e->out, keys[i], strlen(keys[i]));
        buf_puts(e->out, e->indent > 0 ? ": " : ":");
        lua_pushstring(e->L, keys[i]);
        lua_rawget(e->L, idx);
        if (lua_isnil(e->L, -1)) {   /* the key was not a string: look it up as a number */
            lua_pop(e->L, 1);
            lua_Integer k;
            if (sscanf(keys[i], "%lld", &k) == 1) lua_rawgeti(e->L, idx, k); else lua_pushnil(e->L);
        }
        rc = encode_value(e, lua_gettop(e->L));
        lua_pop(e->L, 1);
    }
    e->depth--;
    if (n && rc == 0) newline(e);
    buf_putc(e->out, '}');
    free(keys);
    lua_pop(e->L, 1); /* the key anchor */
    return rc;
}

static int encode_table(encoder *e, int idx)
{
    if (e->depth >= MAX_DEPTH) return fail(e, "nested too deep (a cycle?)");
    luaL_checkstack(e->L, 8, "JSON nesting too deep");
    if (luajson_is_array(e->L, idx)) return encode_array(e, idx, (lua_Integer)lua_rawlen(e->L, idx));
    lua_Integer n = sequence_length(e->L, idx);
    if (n > 0) return encode_array(e, idx, n);
    return encode_object(e, idx);
}

static int encode_value(encoder *e, int idx)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        buf_puts(e->out, "null");
        return 0;
    case LUA_TBOOLEAN:
        buf_puts(e->out, lua_toboolean(L, idx) ? "true" : "false");
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            buf_printf(e->out, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) return fail(e, "NaN or infinity");
            if (d == floor(d) && fabs(d) < 1e15) buf_printf(e->out, "%.1f", d);
            else buf_printf(e->out, "%.17g", d);
        }
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        encode_string(e->out, s, n);
        return 0;
    }
    case LUA_TTABLE:
        return encode_table(e, idx);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &null_sentinel) {
            buf_puts(e->out, "null");
            return 0;
        }
        return fail(e, "userdata value");
    default:
        return fail(e, lua_typename(L, lua_type(L, idx)));
    }
}

int luajson_encode(lua_State *L, int idx, buf *out, int indent, char *err, size_t errlen)
{
    encoder e = { L, out, indent, 0, err, errlen };
    int top = lua_gettop(L);
    int rc = encode_value(&e, lua_absindex(L, idx));
    lua_settop(L, top);
    return rc;
}

/* ---- the Lua library ---- */

static int l_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char err[128];
    if (luajson_decode(L, s, n, lua_toboolean(L, 2), err, sizeof err) < 0)
        return luaL_error(L, "%s", err);
    return 1;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    int indent = (int)luaL_optinteger(L, 2, 0);
    buf out = {0};
    char err[128];
    if (luajson_encode(L, 1, &out, indent, err, sizeof err) < 0) {
        buf_free(&out);
        return luaL_error(L, "%s", err);
    }
    lua_pushlstring(L, buf_cstr(&out), out.len);
    buf_free(&out);
    return 1;
}

/* json.array(t) marks t (or a new table) as an array and returns it. */
static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        luajson_new_array(L, 0);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
        luajson_mark_array(L, 1);
    }
    return 1;
}

void luajson_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "decode", l_decode },
        { "encode", l_encode },
        { "array", l_array },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    luajson_push_null(L);
    lua_setfield(L, -2, "null");
    lua_setglobal(L, "json");
}
