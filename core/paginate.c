/* paginate.c -- next-page parameters from a page (see paginate.h). */
#include "paginate.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Pushes t[key] for one path step "Name" or "Name[-1]" / "Name[0]". */
static void step(lua_State *L, const char *s, size_t n)
{
    const char *bracket = memchr(s, '[', n);
    size_t name_len = bracket ? (size_t)(bracket - s) : n;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_pushlstring(L, s, name_len);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    if (!bracket || !lua_istable(L, -1)) return;
    long i = strtol(bracket + 1, NULL, 10);
    lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
    lua_Integer at = i < 0 ? len + 1 + i : i + 1;   /* JMESPath indexes from 0 */
    lua_rawgeti(L, -1, at);
    lua_remove(L, -2);
}

static void eval_path(lua_State *L, int idx, const char *s, size_t n)
{
    while (n && *s == ' ') s++, n--;
    while (n && s[n - 1] == ' ') n--;
    lua_pushvalue(L, idx);
    while (n) {
        const char *dot = memchr(s, '.', n);
        size_t len = dot ? (size_t)(dot - s) : n;
        step(L, s, len);
        if (!dot) break;
        n -= len + 1;
        s = dot + 1;
    }
}

void paginate_eval(lua_State *L, int idx, const char *expr)
{
    idx = lua_absindex(L, idx);
    for (;;) {
        const char *alt = strstr(expr, "||");
        eval_path(L, idx, expr, alt ? (size_t)(alt - expr) : strlen(expr));
        if (!lua_isnil(L, -1) || !alt) return;
        lua_pop(L, 1);
        expr = alt + 2;
    }
}

static int is_empty_token(lua_State *L, int idx)
{
    if (lua_isnil(L, idx)) return 1;
    if (lua_type(L, idx) == LUA_TSTRING && lua_rawlen(L, idx) == 0) return 1;
    return 0;
}

static void copy_table(lua_State *L, int idx)
{
    lua_newtable(L);
    if (!idx) return;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
}

int paginate_next(lua_State *L, const paginator *p, int params_idx, int page_idx, int seen_idx)
{
    params_idx = params_idx ? lua_absindex(L, params_idx) : 0;
    page_idx = lua_absindex(L, page_idx);
    seen_idx = lua_absindex(L, seen_idx);
    if (p->more_results) {
        paginate_eval(L, page_idx, p->more_results);
        int more = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!more) return 0;
    }
    int any = 0;
    buf key = {0};
    for (int i = 0; p->output_tokens && p->output_tokens[i]; i++) {
        paginate_eval(L, page_idx, p->output_tokens[i]);
        if (!is_empty_token(L, -1)) any = 1;
        buf_puts(&key, luaL_tolstring(L, -1, NULL));
        lua_pop(L, 2);   /* the string and the token */
        buf_putc(&key, '\n');
    }
    if (!any) {
        buf_free(&key);
        return 0;
    }
    lua_pushlstring(L, key.data, key.len);
    buf_free(&key);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, seen_idx) != LUA_TNIL)
        return luaL_error(L, "pagination token repeated: the service returned the same token twice; stopped");
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen_idx);
    /* build the next params: the previous ones with the new tokens */
    int n = 0;
    for (int i = 0; p->output_tokens && p->output_tokens[i]; i++) n++;
    copy_table(L, params_idx);
    for (int i = 0; i < n && p->input_tokens && p->input_tokens[i]; i++) {
        paginate_eval(L, page_idx, p->output_tokens[i]);
        if (is_empty_token(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
        lua_setfield(L, -2, p->input_tokens[i]);
    }
    return 1;
}
