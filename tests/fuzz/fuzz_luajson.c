/* fuzz_luajson.c -- JSON <-> Lua (luajson.c), which reads every body the
 * mappings decode and writes every payload.
 * Input: JSON text; the first byte's low bit chooses keep_null. Checks: a
 * failed decode pushes nothing and says why; whatever decodes and encodes
 * encodes to the same text again after another decode (the round trip is
 * stable). */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "luajson.h"

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = luaL_newstate();
    luajson_open(L);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int keep_null = size && (data[0] & 1);
    char err[512] = "";
    if (luajson_decode(L, (const char *)data, size, keep_null, err, sizeof err) != 0) {
        fuzz_check(lua_gettop(L) == 0 && err[0], "a failed decode pushes nothing and says why");
        return 0;
    }
    buf once = {0}, twice = {0};
    if (luajson_encode(L, -1, &once, 0, err, sizeof err) == 0) {
        lua_settop(L, 0);
        fuzz_check(luajson_decode(L, once.data, once.len, keep_null, err, sizeof err) == 0, "encoded JSON decodes");
        fuzz_check(luajson_encode(L, -1, &twice, 0, err, sizeof err) == 0, "a decoded encoding encodes");
        fuzz_check(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0, "the round trip is stable");
    }
    buf_free(&once);
    buf_free(&twice);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
