/* luajson.h -- JSON <-> Lua values.
 *
 * Lua has one table type for both JSON arrays and objects. To keep the
 * difference through a round trip, tables that stand for arrays carry a
 * shared metatable (the "array metatable", registry key LUAJSON_ARRAY_MT).
 * Encoding rules:
 *   - a table with the array metatable -> JSON array (of t[1..#t])
 *   - a non-empty table whose keys are exactly 1..n -> JSON array
 *   - any other table -> JSON object, keys sorted (stable output for golden
 *     files and diffs); non-string keys are converted with tostring
 *   - integers print as integers; floats as the shortest of %.15g..%.17g
 *     that reads back as the same double (integral floats as "1.0");
 *     NaN and infinities are an error
 *   - the light userdata LUAJSON_NULL -> null
 */
#ifndef AWSTOPO_LUAJSON_H
#define AWSTOPO_LUAJSON_H

#include <lua.h>
#include <stddef.h>

#include "buf.h"

#define LUAJSON_ARRAY_MT "awstopo.array"
/* Tables nested deeper than this are refused (a cycle, most likely); P.copy
 * keeps to the same depth. */
#define LUAJSON_MAX_DEPTH 200

/* Pushes a new empty table that carries the array metatable. */
void luajson_new_array(lua_State *L, int narr);
/* Sets the array metatable on the table at idx. */
void luajson_mark_array(lua_State *L, int idx);
/* Is the table at idx marked as an array? */
int luajson_is_array(lua_State *L, int idx);
/* The value encoded as JSON null (a light userdata). */
void luajson_push_null(lua_State *L);

/* Decodes JSON text and pushes the value. null becomes LUAJSON_NULL when
 * keep_null is set, otherwise object members with null values are left out.
 * Returns 0, or -1 with a message in err and nothing pushed. */
int luajson_decode(lua_State *L, const char *text, size_t len, int keep_null, char *err, size_t errlen);

/* Encodes the value at idx and appends it to out. indent > 0 pretty-prints
 * with that many spaces per level. Returns 0, or -1 with a message in err
 * (cycles, functions, NaN). */
int luajson_encode(lua_State *L, int idx, buf *out, int indent, char *err, size_t errlen);

/* Registers the `json` library (json.decode, json.encode, json.null,
 * json.array) in the state's globals. */
void luajson_open(lua_State *L);

#endif
