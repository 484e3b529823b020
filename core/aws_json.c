/* aws_json.c -- one AWS call from C (see aws_json.h): a throwaway Lua state
 * runs core/call.lua as a task (lua_api_run_chunk), and the result is
 * encoded back to JSON. */
#include "aws_json.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embedded.h"
#include "lua_api.h"
#include "luajson.h"

static void error_from(lua_State *co, aws_call_error *e)
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

/* The result on top of L as JSON (caller frees), or NULL with e filled. */
static char *encode_result(lua_State *L, aws_call_error *e)
{
    char why[256];
    buf b = {0};
    if (luajson_encode(L, -1, &b, 0, why, sizeof why) == 0) return buf_steal(&b);
    buf_free(&b);
    snprintf(e->code, sizeof e->code, "Error");
    snprintf(e->message, sizeof e->message, "cannot encode the result: %s", why);
    return NULL;
}

char *aws_call_json(aws_client *c, model_registry *models, const char *service, const char *op,
                    const char *params_json, const char *region, aws_call_error *e)
{
    return aws_call_json_blob(c, models, service, op, params_json, NULL, NULL, 0, region, e);
}

char *aws_call_json_blob(aws_client *c, model_registry *models, const char *service, const char *op,
                         const char *params_json, const char *blob_member, const void *blob, size_t blob_len,
                         const char *region, aws_call_error *e)
{
    memset(e, 0, sizeof *e);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_host host = { .name = "core", .client = c, .models = models };
    char why[256];
    const char *params = params_json ? params_json : "{}";
    char *out = NULL;
    lua_pushstring(L, service);
    lua_pushstring(L, op);
    if (luajson_decode(L, params, strlen(params), 0, why, sizeof why) < 0) {
        snprintf(e->code, sizeof e->code, "InvalidParameters");
        snprintf(e->message, sizeof e->message, "%s", why);
    } else if (blob_member && !lua_istable(L, -1)) {
        snprintf(e->code, sizeof e->code, "InvalidParameters");
        snprintf(e->message, sizeof e->message, "the parameters are not a JSON object");
    } else {
        if (blob_member) {   /* raw bytes, which JSON text cannot carry */
            lua_pushlstring(L, blob, blob_len);
            lua_setfield(L, -2, blob_member);
        }
        if (region) lua_pushstring(L, region);
        else lua_pushnil(L);
        /* call.lua without paginate: P.call(service, op, params, region) */
        if (lua_api_run_chunk(L, &host, call_lua, call_lua_len, "=call.lua", 4) == 0) out = encode_result(L, e);
        else error_from(L, e);
    }
    lua_close(L);
    lua_host_free(&host);
    return out;
}

cJSON *aws_call_cjson(aws_client *c, model_registry *models, const char *service, const char *op,
                      cJSON *params, const char *region, aws_call_error *e)
{
    char *text = params ? cJSON_PrintUnformatted(params) : NULL;
    cJSON_Delete(params);
    char *out = aws_call_json(c, models, service, op, text, region, e);
    if (text) {   /* may hold a secret (ssm PutParameter's Value) */
        memset(text, 0, strlen(text));
        free(text);
    }
    cJSON *doc = out ? cJSON_Parse(out) : NULL;
    if (out && !doc) {
        snprintf(e->code, sizeof e->code, "Error");
        snprintf(e->message, sizeof e->message, "%s %s: the result is not JSON", service, op);
    }
    free(out);
    return doc;
}
