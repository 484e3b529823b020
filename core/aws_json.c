/* aws_json.c -- one AWS call from C (see aws_json.h): a throwaway Lua state
 * runs P.call as a task on its own scheduler, and the result is encoded
 * back to JSON. */
#include "aws_json.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "lua_api.h"
#include "luajson.h"
#include "scheduler.h"

static const char chunk[] = "local P, service, op, params, region = ...\n"
                            "return P.call(service, op, params, region)\n";

static void error_from(lua_State *co, aws_error *e)
{
    if (lua_istable(co, -1)) {
        lua_getfield(co, -1, "code");
        lua_getfield(co, -2, "message");
        lua_getfield(co, -3, "status");
        lua_getfield(co, -4, "throttling");
        snprintf(e->code, sizeof e->code, "%s", lua_isstring(co, -4) ? lua_tostring(co, -4) : "Error");
        snprintf(e->message, sizeof e->message, "%s", lua_isstring(co, -3) ? lua_tostring(co, -3) : "");
        e->status = (long)lua_tointeger(co, -2);
        e->throttling = lua_toboolean(co, -1);
        lua_pop(co, 4);
    } else {
        snprintf(e->code, sizeof e->code, "Error");
        snprintf(e->message, sizeof e->message, "%s", lua_isstring(co, -1) ? lua_tostring(co, -1) : "error");
    }
}

char *aws_call_json(aws_client *c, model_registry *models, const char *service, const char *op,
                    const char *params_json, const char *region, aws_error *e)
{
    memset(e, 0, sizeof *e);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_host host = { .name = "core", .client = c, .models = models };
    lua_State *co = lua_newthread(L);
    luaL_loadstring(co, chunk);
    lua_api_push(co, &host);
    lua_pushstring(co, service);
    lua_pushstring(co, op);
    char why[256];
    const char *params = params_json ? params_json : "{}";
    if (luajson_decode(co, params, strlen(params), 0, why, sizeof why) < 0) {
        snprintf(e->code, sizeof e->code, "InvalidParameters");
        snprintf(e->message, sizeof e->message, "%s", why);
        lua_close(L);
        return NULL;
    }
    if (region) lua_pushstring(co, region);
    else lua_pushnil(co);
    sched *s = sched_new(client_http(c));
    sched_spawn(s, co, 5, NULL, NULL);
    sched_run(s);
    sched_free(s);
    char *out = NULL;
    if (lua_status(co) == LUA_OK && lua_gettop(co) >= 1) {
        buf b = {0};
        if (luajson_encode(co, -1, &b, 0, why, sizeof why) == 0) {
            out = buf_steal(&b);
        } else {
            buf_free(&b);
            snprintf(e->code, sizeof e->code, "Error");
            snprintf(e->message, sizeof e->message, "cannot encode the result: %s", why);
        }
    } else {
        error_from(co, e);
    }
    lua_close(L);
    strlist_free(&host.warnings);
    buf_free(&host.scratch);
    return out;
}
