/* parse_internal.h -- what the response parsers share (not a public API).
 *
 * protocol_parse.c dispatches on the protocol and binds the rest-* headers and
 * status code; parse_xml.c and parse_json.c turn bodies into Lua values while
 * walking the output shape. All three work on one parse_ctx per response.
 *
 * Member lookup: a structure's members are found by their wire name (XML
 * element / JSON key). Each structure shape met during a parse gets a sorted
 * array of (wire name -> member), built on first use and kept in the
 * parse_ctx until the parse ends. The index lives no longer than the parse
 * on purpose: shapes belong to models that may be freed, and a cache that
 * outlived them could be fooled by a new shape at a recycled address.
 */
#ifndef AWSTOPO_PARSE_INTERNAL_H
#define AWSTOPO_PARSE_INTERNAL_H

#include <lua.h>
#include <stddef.h>

#include "buf.h"
#include "model.h"
#include "protocol.h"

typedef struct index_entry {
    const char *name;     /* wire name */
    size_t len;
    const member *m;
} index_entry;

/* The members of one structure that can appear in a body, by wire name.
 * A flattened list member is entered under its own name and under its
 * element's locationName (botocore looks for the latter, Smithy the former). */
typedef struct shape_index {
    const shape *s;
    index_entry *entries; /* sorted by (len, bytes) */
    size_t n;
    int size_hint;        /* structure: most members a table of it got so far; map: entries of the
                           * last one, at most MAP_HINT_MAX. Presizes the next table */
    unsigned has_attributes : 1;   /* some member is an xmlAttribute */
} shape_index;

typedef struct index_cache index_cache;   /* shape pointer -> shape_index */

#define MAP_HINT_MAX 32   /* a map's hint follows its last size: a rare big one does not presize all */

typedef struct parse_ctx {
    lua_State *L;
    const aws_model *m;
    const operation *op;
    char *err;            /* where a failure is described */
    size_t errlen;
    index_cache *indexes; /* only when there is no model (m NULL); see protocol_parse.c */
    buf text;             /* scratch: XML text of the open scalar, JSON escapes */
} parse_ctx;

void parse_ctx_init(parse_ctx *c, lua_State *L, const aws_model *m, const operation *op,
                    char *err, size_t errlen);
void parse_ctx_free(parse_ctx *c);

/* The body-member index of structure s (built on first use). */
shape_index *shape_index_get(parse_ctx *c, const shape *s);
/* The member whose wire name is name[0..len), or NULL. */
const member *shape_index_find(const shape_index *ix, const char *name, size_t len);

/* "EC2 DescribeInstances" -- how error messages name the call. */
const char *parse_service_label(const parse_ctx *c);
/* Writes "<service> <op>: <message>" into c->err; returns -1. */
int parse_fail(parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Pushes the scalar value that text[0..n) stands for as shape sh (string,
 * blob, numbers, boolean, timestamp); text need not be NUL-terminated.
 * Strings are kept verbatim; everything else is trimmed first. Returns 1
 * when a value was pushed, 0 when the text is no value of that shape. */
int parse_push_scalar(lua_State *L, const shape *sh, const char *text, size_t n);

/* Pushes the ISO-8601 output form of epoch time t and returns 1; returns 0
 * (nothing pushed) when t is not a time between the years 1 and 9999. */
int parse_push_timestamp(lua_State *L, double t);

/* Is the member a list or map that XML writes without a wrapper element? */
int parse_xml_flattened(const member *m);

/* ---- parse_xml.c ---- */

typedef enum xml_root {
    XML_ROOT_SHAPE,     /* the root element is the shape (ec2, rest-xml) */
    XML_ROOT_WRAPPED,   /* <OpResponse><OpResult> holds the shape (query) */
    XML_ROOT_ERROR      /* the <Error> element, wherever it is, holds the shape */
} xml_root;

/* Parses an XML body as structure s, setting its members into the table at
 * stack index into. wrapper: the result element name for XML_ROOT_WRAPPED.
 * Returns 0, or -1 with c->err set (malformed XML). */
int xml_parse_into(parse_ctx *c, const char *body, size_t len, const shape *s, xml_root root,
                   const char *wrapper, int into);

/* Fills code, message and request_id from an XML error body, whichever of
 * the AWS layouts it has. Returns 0, or -1 when the body is not XML. */
int xml_error_fields(const char *body, size_t len, aws_error *out);

/* ---- parse_json.c ---- */

/* Parses a JSON body as shape s. When s is a structure and into is not 0,
 * its members are set into the table at into and nothing is pushed;
 * otherwise the value is pushed (*pushed = 1), or nothing for null.
 * Returns 0, or -1 with c->err set (malformed JSON). */
int json_parse_value(parse_ctx *c, const char *body, size_t len, const shape *s, int into,
                     int *pushed);

/* Fills code and message from a JSON error body (code still raw: the
 * caller strips "namespace#" and ":uri"). Returns 0, or -1 when the body is
 * not a JSON object. */
int json_error_fields(const char *body, size_t len, char *code, size_t codelen, char *message,
                      size_t msglen);

#endif
