/* fuzz_errors.c -- error responses of the five protocols: protocol_parse_error
 * (code, message, request id) and protocol_parse_error_fields (the modeled
 * members of a declared error) for any operation of models/. Input: the
 * aws_input.h format, status 400 unless the first line gives one.
 * Checks: the aws_error strings stay terminated within their arrays, the
 * status is kept, and the Lua stack is balanced.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "fuzz.h"
#include "aws_input.h"
#include "protocol.h"

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_ops_load(NULL, 0);
    L = luaL_newstate();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_response resp;
    const fuzz_op *o = fuzz_response_read(data, size, 400, &resp);
    aws_error e;
    memset(&e, 0x5a, sizeof e);   /* garbage: every field must be written */
    protocol_parse_error(o->m, &resp, &e);
    fuzz_check(memchr(e.code, 0, sizeof e.code) && memchr(e.message, 0, sizeof e.message) &&
                   memchr(e.request_id, 0, sizeof e.request_id),
               "aws_error strings are terminated");
    fuzz_check(e.status == resp.status, "the status is kept");
    char err[512] = "";
    int top = lua_gettop(L);
    int rc = protocol_parse_error_fields(L, o->m, o->op, &resp, &e, err, sizeof err);
    fuzz_check(rc >= -1 && rc <= 1 && lua_gettop(L) == top + (rc == 1), "error fields: one table or nothing");
    lua_settop(L, top);
    lua_gc(L, LUA_GCCOLLECT, 0);
    response_free(&resp);
    return 0;
}
