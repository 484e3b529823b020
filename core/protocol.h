/* protocol.h -- turning Lua tables into AWS requests and AWS responses into Lua tables.
 *
 * One entry point per direction; each dispatches on the model's protocol:
 *   requests   protocol_serialize.c and serialize_*.c (see serialize.h)
 *   responses  protocol_parse.c and parse_*.c
 *
 * Input tables are shaped like boto3 parameters: timestamps as epoch seconds
 * or ISO-8601 strings, blobs as Lua strings of raw bytes, lists as sequences,
 * maps as tables (sent with sorted keys, or in the order of a __pairs
 * metamethod), json.null meaning absent. Output tables are shaped
 * exactly like boto3 / `aws ... --output json`: member names as keys, lists
 * unwrapped (flattened or not) as Lua sequences carrying the array metatable
 * (luajson.h), maps as tables, timestamps as ISO-8601 UTC strings
 * ("2015-01-25T08:00:00+00:00", microseconds only when non-zero, as the AWS
 * CLI prints them), blobs as base64 strings, integers as Lua integers, floats
 * as Lua floats, booleans as booleans; absent members are absent.
 */
#ifndef AWSTOPO_PROTOCOL_H
#define AWSTOPO_PROTOCOL_H

#include <lua.h>

#include "model.h"
#include "request.h"
#include "timestamp.h"

/* A structured AWS error: what a failed call raises in Lua. */
typedef struct aws_error {
    char code[128];        /* "ThrottlingException", "AccessDenied", ...; "" when unknown */
    char message[512];
    char request_id[128];
    long status;           /* HTTP status, 0 for transport errors */
} aws_error;

/* Serializes the params table at stack index idx (or no params when idx is 0)
 * into req: method, path, query, headers and body. The host is left for the
 * caller (endpoint resolution), except that a hostPrefix is returned in
 * *host_prefix (caller frees; NULL when none). Absent idempotency tokens are
 * filled with random UUIDs (the params table itself is not changed). Returns
 * 0, or -1 with a message in err naming the operation and the parameter (a
 * missing required parameter, an unknown one, a wrong type); req may then be
 * partly filled and is freed as usual. The Lua stack is left as it was. */
int protocol_serialize(lua_State *L, int idx, const aws_model *m, const operation *op,
                       http_request *req, char **host_prefix, char *err, size_t errlen);

/* Parses a 2xx response of op and pushes the result table. Returns 0, or -1
 * with a message in err (malformed body) and nothing pushed. */
int protocol_parse(lua_State *L, const aws_model *m, const operation *op,
                   const http_response *resp, char *err, size_t errlen);

/* Parses a non-2xx response into *out. Always fills what it can: an
 * unparseable body still yields the status and a code like "HTTP 503". */
void protocol_parse_error(const aws_model *m, const http_response *resp, aws_error *out);

/* The modeled members of an error response (e.g. ComplexError's TopLevel,
 * header-bound members included): finds the error shape of op whose code is
 * e->code (error.code or the shape name) and pushes a table of its members,
 * parsed like an output. Returns 1 with the table pushed, 0 when op declares
 * no such error (nothing pushed), -1 with a message in err (malformed body,
 * nothing pushed). */
int protocol_parse_error_fields(lua_State *L, const aws_model *m, const operation *op,
                                const http_response *resp, const aws_error *e, char *err,
                                size_t errlen);

#endif
