/* lua_api.c -- the primitives behind ctx (see lua_api.h).
 *
 * Each primitive is a C closure whose first upvalue is the lua_host. The two
 * that wait (call, each) park their task through the scheduler and finish in
 * a continuation that runs in the task again.
 */
#include "lua_api.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "luajson.h"
#include "paginate.h"
#include "scheduler.h"

static lua_host *host_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* P.call(service, op, params, region) */
static int l_call(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *service = luaL_checkstring(L, 1);
    const char *op = luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    const char *region = luaL_optstring(L, 4, NULL);
    if (!h->client) return luaL_error(L, "no AWS client in this run (replay without a recorded response?)");
    h->calls++;
    return client_call(h->client, L, service, region, op, lua_istable(L, 3) ? 3 : 0);
}

/* P.replayed(): a call answered from recorded responses (counted like a call) */
static int l_replayed(lua_State *L)
{
    host_of(L)->calls++;
    return 0;
}

/* A deep copy of the value at idx, metatables kept (replayed responses are
 * handed out as copies: a mapping may change what it is given). */
static void push_copy(lua_State *L, int idx, int depth)
{
    if (lua_type(L, idx) != LUA_TTABLE) {
        lua_pushvalue(L, idx);
        return;
    }
    if (depth > LUAJSON_MAX_DEPTH) luaL_error(L, "table nested too deep to copy");
    luaL_checkstack(L, 6, "table nested too deep to copy");
    idx = lua_absindex(L, idx);
    lua_createtable(L, (int)lua_rawlen(L, idx), 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        push_copy(L, lua_gettop(L) - 1, depth + 1);
        lua_rawset(L, -5);
        lua_pop(L, 1);
    }
    if (lua_getmetatable(L, idx)) lua_setmetatable(L, -2);
}

/* P.copy(value) */
static int l_copy(lua_State *L)
{
    luaL_checkany(L, 1);
    push_copy(L, 1, 0);
    return 1;
}

/* P.next_params(service, op, params, page, seen) */
static int l_next_params(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *service = luaL_checkstring(L, 1);
    const char *opname = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TTABLE);
    char err[512];
    const aws_model *m = model_registry_get(h->models, service, err, sizeof err);
    if (!m) return luaL_error(L, "%s", err);
    const operation *op = model_operation(m, opname);
    if (!op) return luaL_error(L, "%s has no operation %s", service, opname);
    if (!op->paginator) return 0;   /* not paginated: one page */
    return paginate_next(L, op->paginator, 3, 4, 5) ? 1 : 0;
}

/* P.paginator(service, op) -> { result_keys = {...}, output_tokens = {...},
 * input_tokens, non_aggregate_keys, limit_key, more_results } or nil */
static int l_paginator(lua_State *L)
{
    lua_host *h = host_of(L);
    char err[512];
    const aws_model *m = model_registry_get(h->models, luaL_checkstring(L, 1), err, sizeof err);
    if (!m) return luaL_error(L, "%s", err);
    const operation *op = model_operation(m, luaL_checkstring(L, 2));
    if (!op || !op->paginator) return 0;
    const paginator *p = op->paginator;
    struct { const char *name; const char **list; } lists[] = {
        { "result_keys", p->result_keys },
        { "output_tokens", p->output_tokens },
        { "input_tokens", p->input_tokens },
        { "non_aggregate_keys", p->non_aggregate_keys },
    };
    lua_newtable(L);
    if (p->limit_key) {
        lua_pushstring(L, p->limit_key);
        lua_setfield(L, -2, "limit_key");
    }
    if (p->more_results) {
        lua_pushstring(L, p->more_results);
        lua_setfield(L, -2, "more_results");
    }
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++) {
        lua_newtable(L);
        for (int i = 0; lists[k].list && lists[k].list[i]; i++) {
            lua_pushstring(L, lists[k].list[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, lists[k].name);
    }
    return 1;
}

/* ---- P.each: child tasks ---- */

/* ctx.each runs at most this many items at a time (a lane sends 16 calls at
 * once): a page of 1,000 items is not 1,000 live coroutines, each a stack
 * the garbage collector walks and a request waiting in a lane. */
#define EACH_AT_ONCE 32

typedef struct group {
    lua_State *parent;
    sched *s;
    int pending;            /* children running */
    int error_ref;          /* first child error, LUA_NOREF when none */
    int list_ref, fn_ref;   /* the list and the function (registry) */
    lua_Integer next, n;    /* the next item to start; the item count */
} group;

typedef struct child {
    group *g;
    int thread_ref;         /* keeps the child's thread alive */
} child;

void lua_api_annotate_error(lua_State *co)
{
    if (!lua_istable(co, -1)) return;
    if (lua_getfield(co, -1, "where") != LUA_TNIL) {
        lua_pop(co, 1);
        return;
    }
    lua_pop(co, 1);
    lua_Debug ar;
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        lua_getinfo(co, "Sl", &ar);
        if (ar.currentline <= 0 || strcmp(ar.short_src, "engine.lua") == 0) continue;
        lua_pushfstring(co, "%s:%d", ar.short_src, ar.currentline);
        lua_setfield(co, -2, "where");
        return;
    }
}

static void child_done(void *ud, lua_State *co, int status);

/* Starts item g->next as a task, fn(item, i), on co (a new thread, or one
 * whose last item returned: its stack is empty again and it can be resumed
 * anew, which spares a thread, a registry slot and their collection an item). */
static void run_item(group *g, lua_State *co, child *c)
{
    lua_Integer i = g->next++;
    lua_settop(co, 0);
    lua_rawgeti(co, LUA_REGISTRYINDEX, g->fn_ref);
    lua_rawgeti(co, LUA_REGISTRYINDEX, g->list_ref);
    lua_rawgeti(co, -1, i);
    lua_remove(co, -2);
    lua_pushinteger(co, i);
    g->pending++;
    sched_spawn(g->s, co, 2, child_done, c);
}

static void start_child(group *g)
{
    lua_State *L = g->parent;
    lua_State *co = lua_newthread(L);
    child *c = xmalloc(sizeof *c);
    c->g = g;
    c->thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    run_item(g, co, c);
}

static void child_done(void *ud, lua_State *co, int status)
{
    child *c = ud;
    group *g = c->g;
    if (status != LUA_OK && g->error_ref == LUA_NOREF) {
        /* keep the error value itself (an aws error is a table) */
        lua_api_annotate_error(co);
        g->error_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    }
    g->pending--;
    /* every item runs, even after another's error (as when all started at once) */
    if (g->next <= g->n && status == LUA_OK) {
        run_item(g, co, c);                 /* the next item on the same thread */
        return;
    }
    luaL_unref(co, LUA_REGISTRYINDEX, c->thread_ref);
    free(c);
    if (g->next <= g->n) {
        start_child(g);
        return;
    }
    if (g->pending == 0) {
        luaL_unref(co, LUA_REGISTRYINDEX, g->list_ref);
        luaL_unref(co, LUA_REGISTRYINDEX, g->fn_ref);
        sched_wake(g->s, g->parent, 0);
    }
}

static int each_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    group *g = (group *)ctx;
    if (g->error_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->error_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, g->error_ref);
        g->error_ref = LUA_NOREF;
        return lua_error(L);
    }
    return 0;
}

/* P.each(list, fn): fn(item, i) for every item, each in its own task,
 * EACH_AT_ONCE at a time. */
static int l_each(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    sched *s = sched_of(L);
    if (!s) return luaL_error(L, "ctx.each can only run inside a task");
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n == 0) return 0;
    group *g = lua_newuserdatauv(L, sizeof *g, 0);   /* lives on the parked stack */
    *g = (group){ L, s, 0, LUA_NOREF, LUA_NOREF, LUA_NOREF, 1, n };
    lua_pushvalue(L, 1);
    g->list_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 2);
    g->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    while (g->next <= n && g->pending < EACH_AT_ONCE) start_child(g);
    return sched_park(L, (lua_KContext)g, each_done);
}

/* ---- P.spawn / P.await: a call started now, its result taken later ---- */

#define FUTURE_MT "awstopo.future"

typedef struct future {
    sched *s;
    int done;
    int ok;
    int result_ref;         /* {n = count, ...values} or the error value */
    int anchor_ref;         /* keeps the future alive while its task runs */
    int thread_ref;
    lua_State *waiter;      /* the task parked in P.await, or NULL */
} future;

static void future_done(void *ud, lua_State *co, int status)
{
    future *f = ud;
    f->done = 1;
    f->ok = status == LUA_OK;
    if (f->ok) {                          /* pack the results into one table */
        int n = lua_gettop(co);
        lua_createtable(co, n, 1);
        lua_insert(co, 1);
        for (int i = n; i >= 1; i--) lua_rawseti(co, 1, i);
        lua_pushinteger(co, n);
        lua_setfield(co, 1, "n");
    } else {
        lua_api_annotate_error(co);
    }
    f->result_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    luaL_unref(co, LUA_REGISTRYINDEX, f->thread_ref);
    f->thread_ref = LUA_NOREF;
    if (f->waiter) sched_wake(f->s, f->waiter, 0);
    f->waiter = NULL;
    luaL_unref(co, LUA_REGISTRYINDEX, f->anchor_ref);   /* the future may now be collected */
    f->anchor_ref = LUA_NOREF;
}

/* P.spawn(fn, ...) -> future: runs fn(...) in a new task, at once until it
 * first waits. */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    sched *s = sched_of(L);
    if (!s) return luaL_error(L, "P.spawn can only run inside a task");
    int nargs = lua_gettop(L) - 1;
    future *f = lua_newuserdatauv(L, sizeof *f, 0);
    *f = (future){ s, 0, 0, LUA_NOREF, LUA_NOREF, LUA_NOREF, NULL };
    luaL_setmetatable(L, FUTURE_MT);
    lua_pushvalue(L, -1);
    f->anchor_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_State *co = lua_newthread(L);
    f->thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    for (int i = 1; i <= nargs + 1; i++) lua_pushvalue(L, i);
    lua_xmove(L, co, nargs + 1);
    sched_start(s, co, nargs, future_done, f);   /* its request goes out now */
    return 1;                              /* the future */
}

/* Hands out what the future's task returned, or raises its error. */
static int future_take(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    future *f = (future *)ctx;
    if (f->result_ref == LUA_NOREF) return luaL_error(L, "this future was awaited already");
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->result_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, f->result_ref);
    f->result_ref = LUA_NOREF;
    if (!f->ok) return lua_error(L);
    lua_getfield(L, -1, "n");
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_checkstack(L, n, "too many results");
    int t = lua_gettop(L);
    for (int i = 1; i <= n; i++) lua_rawgeti(L, t, i);
    return n;
}

/* P.await(future) -> what the function returned (or its error, raised). */
static int l_await(lua_State *L)
{
    future *f = luaL_checkudata(L, 1, FUTURE_MT);
    if (f->done) return future_take(L, LUA_OK, (lua_KContext)f);
    if (f->waiter) return luaL_error(L, "this future is awaited by another task already");
    f->waiter = L;
    return sched_park(L, (lua_KContext)f, future_take);
}

static int future_gc(lua_State *L)
{
    future *f = luaL_checkudata(L, 1, FUTURE_MT);
    if (f->result_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, f->result_ref);
    f->result_ref = LUA_NOREF;
    return 0;
}

/* ---- P.emit ---- */

static topo_kind parse_kind(lua_State *L, const char *kind)
{
    if (strcmp(kind, "component") == 0) return TOPO_COMPONENT;
    if (strcmp(kind, "relation") == 0) return TOPO_RELATION;
    if (strcmp(kind, "delete") == 0) return TOPO_DELETE;
    luaL_error(L, "unknown kind '%s' (component, relation or delete)", kind);
    return TOPO_DELETE;
}

/* "aws.sqs.queue \"orders\"" of an encoded item, into out. */
static void describe_item(buf *out, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "type"), "name");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "data"), "name");
    buf_printf(out, "%s", cJSON_IsString(type) ? type->valuestring : "?");
    if (cJSON_IsString(name)) buf_printf(out, " \"%s\"", name->valuestring);
    cJSON_Delete(o);
}

/* Two different items with one externalId in a run: the second replaces the
 * first, which is a mapping's mistake (an id that is not unique) more often
 * than not, so it is said. The same item twice (one resource reached by two
 * paths) is not. h->scratch holds the new item's JSON. */
static void warn_if_duplicate(lua_host *h, topo_kind kind, const char *id)
{
    buf old = {0};
    const char *prev = topology_find_json(h->topo, kind, id, &old);
    if (prev && strcmp(prev, h->scratch.data) != 0) {
        buf w = {0};
        buf_printf(&w, "two different %s with the externalId %s: ", kind == TOPO_COMPONENT ? "components" : "relations",
                   id);
        describe_item(&w, prev);
        buf_puts(&w, ", then ");
        describe_item(&w, h->scratch.data);
        buf_puts(&w, " (the second replaces the first)");
        strlist_add(&h->warnings, w.data);
        if (h->verbose) fprintf(stderr, "[%s] warning: %s\n", h->name, w.data);
        buf_free(&w);
    }
    buf_free(&old);
}

/* P.emit(kind, id, table) */
static int l_emit(lua_State *L)
{
    lua_host *h = host_of(L);
    topo_kind kind = parse_kind(L, luaL_checkstring(L, 1));
    const char *id = luaL_checkstring(L, 2);
    if (!*id) return luaL_error(L, "%s without an externalId", luaL_checkstring(L, 1));
    if (kind == TOPO_DELETE) {
        topology_add(h->topo, kind, id, NULL, 0);
        return 0;
    }
    luaL_checktype(L, 3, LUA_TTABLE);
    char err[256];
    buf_clear(&h->scratch);
    if (luajson_encode(L, 3, &h->scratch, 0, err, sizeof err) < 0)
        return luaL_error(L, "%s %s: %s", luaL_checkstring(L, 1), id, err);
    warn_if_duplicate(h, kind, id);
    topology_add(h->topo, kind, id, h->scratch.data, h->scratch.len);
    return 0;
}

/* ---- messages ---- */

static int l_log(lua_State *L)
{
    lua_host *h = host_of(L);
    const char *msg = luaL_checkstring(L, 1);
    if (h->verbose) fprintf(stderr, "[%s] %s\n", h->name, msg);
    return 0;
}

static int l_warn(lua_State *L)
{
    lua_host *h = host_of(L);
    strlist_add(&h->warnings, luaL_checkstring(L, 1));
    if (h->verbose) fprintf(stderr, "[%s] warning: %s\n", h->name, luaL_checkstring(L, 1));
    return 0;
}

/* P.error(service, op, region, code, message, status) */
static int l_error(lua_State *L)
{
    aws_error_fields e = { .service = luaL_checkstring(L, 1), .operation = luaL_checkstring(L, 2),
                           .region = luaL_optstring(L, 3, ""), .code = luaL_checkstring(L, 4),
                           .message = luaL_optstring(L, 5, ""), .status = (long)luaL_optinteger(L, 6, 400),
                           .attempts = 1 };
    client_push_error(L, &e);
    return 1;
}

void lua_host_free(lua_host *host)
{
    strlist_free(&host->warnings);
    buf_free(&host->scratch);
}

void lua_api_push(lua_State *L, lua_host *host)
{
    static const luaL_Reg fns[] = {
        { "call", l_call },   { "next_params", l_next_params }, { "each", l_each },
        { "paginator", l_paginator }, { "replayed", l_replayed },
        { "spawn", l_spawn },         { "await", l_await },
        { "copy", l_copy },
        { "emit", l_emit },   { "log", l_log },                 { "warn", l_warn },
        { "error", l_error }, { NULL, NULL },
    };
    if (luaL_newmetatable(L, FUTURE_MT)) {
        lua_pushcfunction(L, future_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, host);
    luaL_setfuncs(L, fns, 1);
}

/* ---- one-off chunks ---- */

typedef struct chunk_outcome {
    int done, ok;
    lua_State *L;
} chunk_outcome;

static void chunk_done(void *ud, lua_State *co, int status)
{
    chunk_outcome *o = ud;
    o->done = 1;
    o->ok = status == LUA_OK;
    lua_xmove(co, o->L, 1);   /* the result, or the error */
}

int lua_api_run_chunk(lua_State *L, lua_host *host, const char *chunk, size_t len, const char *name, int nargs)
{
    lua_State *co = lua_newthread(L);
    lua_insert(L, -(nargs + 1));          /* the thread stays referenced below its arguments */
    if (luaL_loadbufferx(co, chunk, len, name, "t") != LUA_OK) {
        lua_pop(L, nargs);
        lua_xmove(co, L, 1);
        lua_remove(L, -2);
        return -1;
    }
    lua_api_push(co, host);
    lua_xmove(L, co, nargs);
    chunk_outcome out = { 0, 0, L };
    sched *s = sched_new(host->client ? client_http(host->client) : NULL);
    sched_spawn(s, co, nargs + 1, chunk_done, &out);
    sched_run(s);
    sched_free(s);
    if (!out.done) lua_pushfstring(L, "%s did not finish", name + (name[0] == '=' || name[0] == '@'));
    lua_remove(L, -2);                    /* the thread */
    return out.ok ? 0 : -1;
}
