/* test_paginate.c -- next-page parameters from paginators (paginate.c).
 *
 * Pages and params are written as Lua source so that each case reads like
 * the response it stands for. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "paginate.h"
#include "testlib.h"

static lua_State *L;

/* Pushes the value of a Lua expression. */
static void push_expr(const char *expr)
{
    char src[2048];
    snprintf(src, sizeof src, "return %s", expr);
    if (luaL_dostring(L, src) != LUA_OK) {
        printf("bad test expression %s: %s\n", expr, lua_tostring(L, -1));
        exit(2);
    }
}

/* The value at idx rendered as sorted "k=v;" pairs (flat tables only). */
static const char *flat(int idx)
{
    static char out[1024];
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    lua_setglobal(L, "__t");
    if (luaL_dostring(L, "local ks = {} for k in pairs(__t) do ks[#ks + 1] = tostring(k) end table.sort(ks) "
                     "local s = '' for _, k in ipairs(ks) do s = s .. k .. '=' .. tostring(__t[k]) .. ';' end "
                     "return s") != LUA_OK)
        return lua_tostring(L, -1);
    snprintf(out, sizeof out, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}

/* paginate_next runs inside a C function called with lua_pcall, so that a
 * repeated token's Lua error can be caught: l_step(params, page, seen)
 * returns the next params or nil. */
typedef struct step_args {
    const paginator *p;
    int with_params;
} step_args;

static int l_step(lua_State *Ls)
{
    const step_args *a = lua_touserdata(Ls, lua_upvalueindex(1));
    /* args: params, page, seen */
    int more = paginate_next(Ls, a->p, a->with_params ? 1 : 0, 2, 3);
    if (!more) lua_pushnil(Ls);
    return 1;
}

/* Pushes the next params (or nil) for the Lua expressions params (NULL: no
 * params table) and page; returns the status of the protected call (the
 * error message on top when not LUA_OK). */
static int next_page(const paginator *p, const char *params, const char *page, int seen_idx)
{
    seen_idx = lua_absindex(L, seen_idx);
    step_args a = { p, params != NULL };
    lua_pushlightuserdata(L, &a);
    lua_pushcclosure(L, l_step, 1);
    if (params) push_expr(params); else lua_pushnil(L);
    push_expr(page);
    lua_pushvalue(L, seen_idx);
    return lua_pcall(L, 3, 1, 0);
}

static const char *NEXT_TOKEN[] = { "NextToken", NULL };
static const char *MARKER[] = { "Marker", NULL };
static const char *NEXT_MARKER[] = { "NextMarker", NULL };
static const char *S3_MARKER[] = { "NextMarker || Contents[-1].Key", NULL };
static const char *R53_IN[] = { "StartRecordName", "StartRecordType", "StartRecordIdentifier", NULL };
static const char *R53_OUT[] = { "NextRecordName", "NextRecordType", "NextRecordIdentifier", NULL };
static const char *TRUNCATED = "IsTruncated";

static void test_next_token(void)
{
    paginator p = { .input_tokens = NEXT_TOKEN, .output_tokens = NEXT_TOKEN };
    lua_newtable(L);   /* seen */
    int seen = lua_gettop(L);

    CHECK(next_page(&p, "{ MaxResults = 5 }", "{ Items = {1, 2}, NextToken = 'abc' }", seen) == LUA_OK, "page 1");
    CHECK_STR(flat(-1), "MaxResults=5;NextToken=abc;");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{ MaxResults = 5, NextToken = 'abc' }", "{ Items = {3}, NextToken = 'def' }", seen) == LUA_OK,
          "page 2");
    CHECK_STR(flat(-1), "MaxResults=5;NextToken=def;");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{ NextToken = 'def' }", "{ Items = {4} }", seen) == LUA_OK, "last page");
    CHECK(lua_isnil(L, -1), "no token: no next page");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{}", "{ NextToken = '' }", seen) == LUA_OK, "empty token");
    CHECK(lua_isnil(L, -1), "empty-string token: last page");
    lua_pop(L, 1);

    /* no params at all (params_idx 0) */
    CHECK(next_page(&p, NULL, "{ NextToken = 'xyz' }", seen) == LUA_OK, "no params");
    CHECK_STR(flat(-1), "NextToken=xyz;");
    lua_pop(L, 2);
}

static void test_marker(void)
{
    paginator p = { .input_tokens = MARKER, .output_tokens = NEXT_MARKER, .more_results = TRUNCATED };
    lua_newtable(L);
    int seen = lua_gettop(L);

    CHECK(next_page(&p, "{ PageSize = 2 }", "{ IsTruncated = true, NextMarker = 'm1' }", seen) == LUA_OK, "page 1");
    CHECK_STR(flat(-1), "Marker=m1;PageSize=2;");
    lua_pop(L, 1);

    /* more_results false stops even with a token */
    CHECK(next_page(&p, "{ Marker = 'm1' }", "{ IsTruncated = false, NextMarker = 'm2' }", seen) == LUA_OK, "page 2");
    CHECK(lua_isnil(L, -1), "IsTruncated false: last page despite NextMarker");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{}", "{ NextMarker = 'm3' }", seen) == LUA_OK, "no flag");
    CHECK(lua_isnil(L, -1), "IsTruncated missing counts as false");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{}", "{ IsTruncated = true }", seen) == LUA_OK, "truncated without a token");
    CHECK(lua_isnil(L, -1), "IsTruncated without any token: stop rather than loop");
    lua_pop(L, 2);
}

static void test_route53(void)
{
    paginator p = { .input_tokens = R53_IN, .output_tokens = R53_OUT, .more_results = TRUNCATED };
    lua_newtable(L);
    int seen = lua_gettop(L);

    CHECK(next_page(&p, "{ HostedZoneId = 'Z1' }",
                    "{ IsTruncated = true, NextRecordName = 'b.example.com.', NextRecordType = 'A',"
                    "  NextRecordIdentifier = 'eu' }", seen) == LUA_OK, "page 1");
    CHECK_STR(flat(-1), "HostedZoneId=Z1;StartRecordIdentifier=eu;StartRecordName=b.example.com.;StartRecordType=A;");
    lua_pop(L, 1);

    /* the next page has no identifier: the old StartRecordIdentifier must go */
    CHECK(next_page(&p, "{ HostedZoneId = 'Z1', StartRecordName = 'b.example.com.', StartRecordType = 'A',"
                        "  StartRecordIdentifier = 'eu' }",
                    "{ IsTruncated = true, NextRecordName = 'c.example.com.', NextRecordType = 'CNAME' }",
                    seen) == LUA_OK, "page 2");
    CHECK_STR(flat(-1), "HostedZoneId=Z1;StartRecordName=c.example.com.;StartRecordType=CNAME;");
    lua_pop(L, 1);

    /* same name, different type: a different token, not a repeat */
    CHECK(next_page(&p, "{}", "{ IsTruncated = true, NextRecordName = 'c.example.com.', NextRecordType = 'TXT' }",
                    seen) == LUA_OK, "page 3");
    CHECK_STR(flat(-1), "StartRecordName=c.example.com.;StartRecordType=TXT;");
    lua_pop(L, 2);
}

static void test_expression(void)
{
    paginator p = { .input_tokens = MARKER, .output_tokens = S3_MARKER, .more_results = TRUNCATED };
    lua_newtable(L);
    int seen = lua_gettop(L);

    CHECK(next_page(&p, "{ Bucket = 'b' }",
                    "{ IsTruncated = true, Contents = { { Key = 'a' }, { Key = 'k2' } } }", seen) == LUA_OK,
          "fallback to Contents[-1].Key");
    CHECK_STR(flat(-1), "Bucket=b;Marker=k2;");
    lua_pop(L, 1);

    CHECK(next_page(&p, "{ Bucket = 'b' }",
                    "{ IsTruncated = true, NextMarker = 'nm', Contents = { { Key = 'z' } } }", seen) == LUA_OK,
          "NextMarker preferred");
    CHECK_STR(flat(-1), "Bucket=b;Marker=nm;");
    lua_pop(L, 2);

    /* paginate_eval directly */
    push_expr("{ A = { B = { {C = 1}, {C = 2}, {C = 3} } }, E = {} }");
    int t = lua_gettop(L);
    paginate_eval(L, t, "A.B[0].C");
    CHECK(lua_tointeger(L, -1) == 1, "[0] is the first element");
    paginate_eval(L, t, "A.B[-1].C");
    CHECK(lua_tointeger(L, -1) == 3, "[-1] is the last element");
    paginate_eval(L, t, "A.B[1].C");
    CHECK(lua_tointeger(L, -1) == 2, "[1] is the second element");
    paginate_eval(L, t, "E[-1].C");
    CHECK(lua_isnil(L, -1), "[-1] of an empty list is nil");
    paginate_eval(L, t, "A.X.Y");
    CHECK(lua_isnil(L, -1), "missing path is nil");
    paginate_eval(L, t, "A.B.C");
    CHECK(lua_isnil(L, -1), "field of a list is nil");
    paginate_eval(L, t, "Missing || A.B[1].C");
    CHECK(lua_tointeger(L, -1) == 2, "|| falls back");
    paginate_eval(L, t, "Missing || Gone");
    CHECK(lua_isnil(L, -1), "|| of two missing is nil");
    CHECK(lua_gettop(L) == t + 8, "one value pushed per eval (top %d)", lua_gettop(L) - t);
    lua_settop(L, t - 1);
}

static void test_repeated_token(void)
{
    paginator p = { .input_tokens = NEXT_TOKEN, .output_tokens = NEXT_TOKEN };
    lua_newtable(L);
    int seen = lua_gettop(L);
    CHECK(next_page(&p, "{}", "{ NextToken = 'same' }", seen) == LUA_OK, "first time");
    lua_pop(L, 1);
    int rc = next_page(&p, "{ NextToken = 'same' }", "{ NextToken = 'same' }", seen);
    CHECK(rc == LUA_ERRRUN, "a repeated token is an error (rc %d)", rc);
    CHECK(lua_isstring(L, -1) && strstr(lua_tostring(L, -1), "repeated"), "message: %s", lua_tostring(L, -1));
    lua_pop(L, 1);

    /* another seen table (another paginate loop) may see the same token */
    lua_newtable(L);
    CHECK(next_page(&p, "{}", "{ NextToken = 'same' }", lua_gettop(L)) == LUA_OK, "fresh seen table");
    lua_pop(L, 3);
}

static void test_params_copied(void)
{
    paginator p = { .input_tokens = R53_IN, .output_tokens = R53_OUT };
    push_expr("{ HostedZoneId = 'Z9', StartRecordName = 'old', StartRecordIdentifier = 'gone' }");
    int params = lua_gettop(L);
    push_expr("{ NextRecordName = 'new', NextRecordType = 'AAAA' }");
    int page = lua_gettop(L);
    lua_newtable(L);
    int seen = lua_gettop(L);
    CHECK(paginate_next(L, &p, params, page, seen) == 1, "next page");
    CHECK(lua_gettop(L) == seen + 1, "exactly the new params pushed");
    CHECK(!lua_rawequal(L, -1, params), "a new table");
    CHECK_STR(flat(-1), "HostedZoneId=Z9;StartRecordName=new;StartRecordType=AAAA;");
    CHECK_STR(flat(params), "HostedZoneId=Z9;StartRecordIdentifier=gone;StartRecordName=old;");
    lua_pop(L, 1);

    push_expr("{ }");
    CHECK(paginate_next(L, &p, params, lua_gettop(L), seen) == 0, "last page");
    CHECK(lua_gettop(L) == seen + 1, "nothing pushed on the last page");
    lua_settop(L, params - 1);
}

int main(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    test_next_token();
    test_marker();
    test_route53();
    test_expression();
    test_repeated_token();
    test_params_copied();
    CHECK(lua_gettop(L) == 0, "stack balanced (%d)", lua_gettop(L));
    lua_close(L);
    return test_summary();
}
