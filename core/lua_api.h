/* lua_api.h -- the primitives the C core hands to Lua (like wrk's script.c).
 *
 * They are few on purpose; core/engine.lua builds the friendlier ctx on top:
 *
 *   P.call(service, op, params, region)      -> result   (parks the task)
 *   P.next_params(service, op, params, page, seen) -> params of the next page, or nil
 *   P.paginator(service, op)                  -> { result_keys, output_tokens, ... } or nil
 *   P.each(list, fn)                          runs fn(item, i) in child tasks, waits for all
 *   P.spawn(fn, ...) -> future; P.await(future) -> fn's results (or its error, raised)
 *   P.emit(kind, id, table)                   "component" | "relation" | "delete"
 *   P.copy(value) -> a deep copy (metatables kept)
 *   P.log(msg), P.warn(msg), P.replayed()    (counts a call answered from a recording)
 *   P.error(service, op, region, code, message, status) -> an aws error table
 *
 * A lua_host says where their effects go. The host must outlive the state.
 */
#ifndef AWSTOPO_LUA_API_H
#define AWSTOPO_LUA_API_H

#include <lua.h>
#include <stddef.h>

#include "buf.h"
#include "client.h"
#include "model.h"
#include "topology.h"
#include "util.h"

typedef struct lua_host {
    const char *name;          /* mapping name, for messages */
    aws_client *client;        /* NULL: no live calls (replay) */
    model_registry *models;    /* paginators */
    topology *topo;            /* where emit goes */
    strlist warnings;          /* P.warn, and logs when not verbose */
    int verbose;               /* P.log to stderr */
    size_t calls;              /* P.call count (API calls of this run) */
    buf scratch;               /* reused by P.emit for encoding (freed by the owner) */
} lua_host;

/* Frees what the host owns (warnings, scratch); not the state, client,
 * models or topology it points to. */
void lua_host_free(lua_host *host);

/* Pushes the primitives table P bound to host. */
void lua_api_push(lua_State *L, lua_host *host);

/* Runs a one-off chunk (Lua source; name as for luaL_loadbuffer) as a task,
 * outside any mapping: its arguments are P bound to host, then the nargs
 * values on top of L (taken). Drives a scheduler over the host client's HTTP
 * engine until the task ends. Leaves its first result on L and returns 0, or
 * leaves its error value (an aws error table prints itself with tostring)
 * and returns -1. */
int lua_api_run_chunk(lua_State *L, lua_host *host, const char *chunk, size_t len, const char *name, int nargs);

/* When the error on top of co (a dead task) is an aws error table, records
 * where in the mapping it was raised ("mappings/sqs.lua:23") in its "where". */
void lua_api_annotate_error(lua_State *co);

#endif
