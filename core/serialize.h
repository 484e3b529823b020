/* serialize.h -- private to the request serializers; not a public interface.
 *
 * protocol_serialize() (protocol_serialize.c) checks what is common to every
 * protocol and hands the params table to one of
 *   serialize_query.c  query and ec2: a form-encoded body of flattened key paths
 *   serialize_json.c   json 1.0/1.1 bodies, and the JSON bodies of rest-json
 *   serialize_rest.c   rest-json / rest-xml: URI labels, query string, headers, payload
 *   serialize_xml.c    the XML bodies of rest-xml
 * which read Lua values by shape through serialize_value.c (the type checks
 * and messages every protocol shares) and format scalars with it too.
 *
 * Stack discipline: every function takes absolute stack indices and leaves
 * the Lua stack as it found it, on success and on error.
 */
#ifndef AWSTOPO_SERIALIZE_H
#define AWSTOPO_SERIALIZE_H

#include <lua.h>

#include "buf.h"
#include "model.h"
#include "request.h"

#define SER_MAX_DEPTH 64   /* deeper params are a cycle or a mistake */

/* One serialization in progress. `path` names the value being read, in the
 * caller's terms ("Filters[2].Values[1]"), so that a message says exactly
 * which parameter is wrong. */
typedef struct ser_ctx {
    lua_State *L;
    const aws_model *m;
    const operation *op;
    buf path;
    int depth;
    char *err;
    size_t errlen;
} ser_ctx;

/* ---- errors and the parameter path ---- */

/* Writes "<Operation>: parameter <path>: <message>" (or "<Operation>:
 * <message>" at the top level) into c->err; returns -1. */
int ser_fail(ser_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Each push returns a mark to give back to ser_path_pop. */
size_t ser_path_member(ser_ctx *c, const char *name);
size_t ser_path_index(ser_ctx *c, lua_Integer i);
size_t ser_path_key(ser_ctx *c, const char *key);
void ser_path_pop(ser_ctx *c, size_t mark);
/* Guards recursion into nested values (depth limit, Lua stack room). */
int ser_enter(ser_ctx *c);
void ser_leave(ser_ctx *c);

/* ---- reading params (serialize_value.c) ---- */

/* Is the value at idx absent (nil or json.null)? */
int ser_absent(lua_State *L, int idx);
/* Pushes params[mb->name] and returns 1, or pushes nothing and returns 0
 * when the member is absent. */
int ser_push_member(ser_ctx *c, int idx, const member *mb);
/* Is any member of s that satisfies `want` present in the table at idx?
 * want may be NULL (any member). */
int ser_any_present(ser_ctx *c, int idx, const shape *s, int (*want)(const member *));
/* Checks that the value at idx is a table fit for structure s: no unknown
 * keys, every required member present, at most one member of a union. */
int ser_check_structure(ser_ctx *c, int idx, const shape *s);
/* Checks that the value at idx is a list (a sequence table) and sets *n. */
int ser_list_length(ser_ctx *c, int idx, lua_Integer *n);
/* Checks that the value at idx is a map with string keys and pushes a
 * sequence of its keys in wire order: sorted, or the table's own order when
 * it has a __pairs metamethod (an ordered table). Sets *n. */
int ser_map_keys(ser_ctx *c, int idx, lua_Integer *n);

/* Scalars by type, with "expected a string, got boolean" style messages. */
int ser_string(ser_ctx *c, int idx, const char **s, size_t *len);
int ser_integer(ser_ctx *c, int idx, lua_Integer *v);
int ser_boolean(ser_ctx *c, int idx, int *v);
/* Accepts epoch seconds (a number) or a string timestamp_parse() reads. */
int ser_timestamp(ser_ctx *c, int idx, double *t);

/* ---- formatting (serialize_value.c) ---- */

/* The shortest text that reads back as the same double ("10.8", not
 * "10.800000000000001"); "NaN", "Infinity", "-Infinity" as AWS spells them. */
void ser_format_double(double d, char out[32]);
void ser_base64(buf *out, const void *p, size_t n);
/* The timestamp format of a member: member trait, else shape trait, else dflt. */
const char *ser_timestamp_format(const member *mb, const char *dflt);
/* The wire name of a structure member: locationName, else the member name. */
const char *ser_wire_name(const member *mb);
/* Appends the value at idx, a scalar of mb's shape, as text: strings as they
 * are, numbers, "true"/"false", timestamps in the member's format (else
 * ts_default), blobs base64. Fails for structures, lists and maps. */
int ser_scalar_text(ser_ctx *c, int idx, const member *mb, const char *ts_default, buf *out);

/* ---- the protocols ---- */

int serialize_query(ser_ctx *c, int idx, http_request *req);   /* query and ec2 */
int serialize_json(ser_ctx *c, int idx, http_request *req);    /* json 1.0/1.1 */
int serialize_rest(ser_ctx *c, int idx, http_request *req);    /* rest-json, rest-xml */

/* JSON: any value of mb's shape; a structure's members (only the body
 * members when body_only, as at the top of a rest-json input). */
int ser_json_value(ser_ctx *c, int idx, const member *mb, buf *out);
int ser_json_structure(ser_ctx *c, int idx, const shape *s, int body_only, buf *out);

/* XML: the element `name` for the value at idx of mb's shape; and the
 * root element of a rest-xml input (its body members only). */
int ser_xml_element(ser_ctx *c, int idx, const member *mb, const char *name, buf *out);
int ser_xml_root(ser_ctx *c, int idx, const shape *s, buf *out);

#endif
