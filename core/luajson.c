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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_swar.h"

static char null_sentinel;   /* its address is json.null */
static char array_mt_key;    /* the array metatable again, under a light key */

void luajson_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, &null_sentinel);
}

/* The metatable is registered under its name (LUAJSON_ARRAY_MT) and found
 * by the address of array_mt_key: every array a parse builds and every
 * table an encode meets looks it up, and a light key is one pointer hash,
 * where the name is a string interned again and compared each time. */
static void push_array_mt(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    if (luaL_newmetatable(L, LUAJSON_ARRAY_MT)) {
        lua_pushstring(L, "array");
        lua_setfield(L, -2, "__name");
    }
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);
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
    push_array_mt(L);
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
            if (cJSON_IsNull(c)) luajson_push_null(L);   /* nulls inside arrays keep their place */
            else push_cjson(L, c, keep_null);
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
    if (root) {          /* only whitespace may follow the value */
        while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
        if (end < text + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
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
    int array_mt;         /* stack slot of the array metatable */
    int indent;
    int depth;
    char *err;
    size_t errlen;
} encoder;

static int encode_value(encoder *e, int idx);

/* Most strings (ids, names, ARNs) have nothing to escape: found 8 bytes at a
 * time and copied in one go. The others are copied in runs between the
 * characters that need escaping. */
static void encode_string(buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    size_t clean = json_plain_len(s, n);
    char *d = out->data + out->len;
    d[0] = '"';
    memcpy(d + 1, s, clean);
    out->len += clean + 1;
    if (clean == n) {
        out->data[out->len++] = '"';
        out->data[out->len] = '\0';
        return;
    }
    size_t run = clean;
    for (size_t i = clean; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': buf_append(out, "\\\"", 2); break;
        case '\\': buf_append(out, "\\\\", 2); break;
        case '\n': buf_append(out, "\\n", 2); break;
        case '\r': buf_append(out, "\\r", 2); break;
        case '\t': buf_append(out, "\\t", 2); break;
        case '\b': buf_append(out, "\\b", 2); break;
        case '\f': buf_append(out, "\\f", 2); break;
        default: {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            buf_append(out, u, 6);
        }
        }
    }
    buf_append(out, s + run, n - run);
    buf_putc(out, '"');
}

/* A whole number below 1e15 kept as a double: "%.1f" without printf
 * ("3.0", "-0.0"). */
static void encode_whole_double(buf *out, double d)
{
    if (d == 0 && signbit(d)) buf_putc(out, '-');
    buf_putll(out, (long long)d);
    buf_puts(out, ".0");
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same double
 * (0.1 stays "0.1", as the AWS CLI prints it, not "0.10000000000000001"). */
static void encode_double(buf *out, double d)
{
    char tmp[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    buf_puts(out, tmp);
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

/* An object member waiting to be written: its key and the stack slot of its
 * value. */
typedef struct member_ref {
    const char *key;
    size_t key_len;
    int value_idx;
} member_ref;

static int compare_members(const void *a, const void *b)
{
    const member_ref *x = a, *y = b;
    /* Most keys differ in their first byte; a Lua string ends in '\0', so
     * an empty key's first byte is 0 and sorts first, as memcmp would. */
    unsigned char cx = (unsigned char)x->key[0], cy = (unsigned char)y->key[0];
    if (cx != cy) return cx < cy ? -1 : 1;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static void insertion_sort(member_ref *m, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        member_ref x = m[i];
        size_t j = i;
        while (j > 0 && compare_members(&m[j - 1], &x) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
}

/* Sorts m[0..n) through tmp (room for n): runs of 16 by insertion, then
 * merged pairwise, back and forth between m and tmp. */
static void merge_sort(member_ref *m, member_ref *tmp, size_t n)
{
    const size_t RUN = 16;
    for (size_t i = 0; i < n; i += RUN) insertion_sort(m + i, n - i < RUN ? n - i : RUN);
    member_ref *from = m, *to = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) to[k++] = compare_members(&from[b], &from[a]) < 0 ? from[b++] : from[a++];
            while (a < mid) to[k++] = from[a++];
            while (b < hi) to[k++] = from[b++];
        }
        member_ref *swap = from;
        from = to;
        to = swap;
    }
    if (from != m) memcpy(m, from, n * sizeof *m);
}

/* Keys are distinct, so any sort gives the same order. Most objects have a
 * handful of members: insertion sort. A resource's own data (an EC2
 * instance has about 50) goes through a merge sort with the comparison
 * inlined: qsort's calls through a pointer and generic copies were 7% of a
 * 10k scan's instructions. */
static void sort_members(member_ref *m, size_t n)
{
    if (n <= 24) {
        insertion_sort(m, n);
        return;
    }
    member_ref small[64];
    member_ref *tmp = n <= 64 ? small : xmalloc(n * sizeof *tmp);
    merge_sort(m, tmp, n);
    if (tmp != small) free(tmp);
}

/* Pushes every value of the table (and, for non-string keys, the key's text)
 * onto the stack, so that the members can be sorted by key and written
 * without looking anything up again. String keys stay valid: the table holds
 * them. The caller pops back to its top. */
static size_t collect_members(lua_State *L, int idx, member_ref **out, member_ref *small, size_t nsmall)
{
    size_t n = 0, cap = nsmall;
    member_ref *m = small;
    lua_pushnil(L);
    while (lua_next(L, idx)) {            /* stack: ... key value */
        /* each member leaves at most two slots (value, key text) and uses
         * two more while it is read: room for 16 members at a time */
        if (n % 16 == 0) luaL_checkstack(L, 2 * 16 + 2, "JSON object too large");
        if (n == cap) {
            cap *= 2;
            member_ref *grown = xmalloc(cap * sizeof *grown);
            memcpy(grown, m, n * sizeof *m);
            if (m != small) free(m);
            m = grown;
        }
        int value_idx = lua_gettop(L);
        if (lua_type(L, -2) == LUA_TSTRING) {
            m[n].key = lua_tolstring(L, -2, &m[n].key_len);
            lua_pushvalue(L, -2);         /* the key again, for lua_next */
        } else {
            lua_pushvalue(L, -2);
            m[n].key = luaL_tolstring(L, -1, &m[n].key_len);   /* anchored on the stack */
            lua_insert(L, -2);            /* ... key value keytext key */
        }
        m[n].value_idx = value_idx;
        n++;
    }
    *out = m;
    return n;
}

static int encode_object(encoder *e, int idx)
{
    member_ref small[32], *m;
    int top = lua_gettop(e->L);
    size_t n = collect_members(e->L, idx, &m, small, 32);
    sort_members(m, n);
    buf_putc(e->out, '{');
    e->depth++;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i) buf_putc(e->out, ',');
        newline(e);
        encode_string(e->out, m[i].key, m[i].key_len);
        if (e->indent > 0) buf_append(e->out, ": ", 2);
        else buf_putc(e->out, ':');
        rc = encode_value(e, m[i].value_idx);
    }
    e->depth--;
    if (n && rc == 0) newline(e);
    buf_putc(e->out, '}');
    if (m != small) free(m);
    lua_settop(e->L, top);
    return rc;
}

static int encode_table(encoder *e, int idx)
{
    if (e->depth >= LUAJSON_MAX_DEPTH) return fail(e, "nested too deep (a cycle?)");
    luaL_checkstack(e->L, 8, "JSON nesting too deep");
    if (lua_getmetatable(e->L, idx)) {
        int array = lua_rawequal(e->L, -1, e->array_mt);
        lua_pop(e->L, 1);
        if (array) return encode_array(e, idx, (lua_Integer)lua_rawlen(e->L, idx));
    }
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
            buf_putll(e->out, (long long)lua_tointeger(L, idx));   /* printf's "%lld" cost 700 instructions */
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) return fail(e, "NaN or infinity");
            if (d == floor(d) && fabs(d) < 1e15) encode_whole_double(e->out, d);
            else encode_double(e->out, d);
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
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    luaL_checkstack(L, 1, "JSON nesting too deep");
    push_array_mt(L);
    encoder e = { L, out, lua_gettop(L), indent, 0, err, errlen };
    int rc = encode_value(&e, idx);
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
