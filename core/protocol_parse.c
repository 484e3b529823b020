/* protocol_parse.c -- AWS responses into Lua tables (see protocol.h).
 *
 * This file is the dispatcher and the part every protocol shares: it picks
 * the body parser by protocol (parse_xml.c for query / ec2 / rest-xml,
 * parse_json.c for json / rest-json), binds the rest-* outputs that live
 * outside the body (headers, prefixed header maps, the status code, raw
 * payloads), and reads error responses into an aws_error.
 *
 * Every parse runs inside lua_pcall: a Lua error raised while building
 * tables (out of memory, stack overflow) becomes a -1 return with a message
 * instead of a longjmp past our buffers.
 */
#include "protocol.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "luajson.h"
#include "parse_internal.h"

/* ---- the member indexes (see parse_internal.h) ---- */

/* Shape pointer -> its index. One per model, kept with it (aws_model's
 * parse_cache), so a call's answer does not rebuild the index of the shapes
 * it meets and the size hints carry from one answer to the next; one per
 * parse when there is no model (generic JSON). */
struct index_cache {
    size_t cap, len;          /* open addressing; cap is a power of two */
    shape_index **slots;
};

static void index_cache_free(void *p)
{
    index_cache *t = p;
    if (!t) return;
    for (size_t i = 0; i < t->cap; i++) {
        shape_index *ix = t->slots[i];
        if (!ix) continue;
        free(ix->entries);
        free(ix);
    }
    free(t->slots);
    free(t);
}

static index_cache *index_cache_new(void)
{
    index_cache *t = xcalloc(1, sizeof *t);
    t->cap = 64;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
    return t;
}

static index_cache *cache_of(parse_ctx *c)
{
    if (!c->m) return c->indexes ? c->indexes : (c->indexes = index_cache_new());
    aws_model *m = (aws_model *)c->m;          /* the memo only; see model.h */
    if (!m->parse_cache) {
        m->parse_cache = index_cache_new();
        m->parse_cache_free = index_cache_free;
    }
    return m->parse_cache;
}

void parse_ctx_init(parse_ctx *c, lua_State *L, const aws_model *m, const operation *op,
                    char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    c->m = m;
    c->op = op;
    c->err = err;
    c->errlen = errlen;
    if (errlen) err[0] = '\0';
}

void parse_ctx_free(parse_ctx *c)
{
    index_cache_free(c->indexes);
    c->indexes = NULL;
    buf_free(&c->text);
}

static int compare_entries(const void *a, const void *b)
{
    const index_entry *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return memcmp(x->name, y->name, x->len);
}

/* Members bound to headers or the status code never come from a body. */
static int in_body(const member *m)
{
    return m->location != LOC_HEADER && m->location != LOC_HEADERS &&
           m->location != LOC_STATUS_CODE;
}

static void add_entry(shape_index *ix, const char *name, const member *m)
{
    ix->entries[ix->n++] = (index_entry){ name, strlen(name), m };
}

static shape_index *build_index(const shape *s)
{
    shape_index *ix = xcalloc(1, sizeof *ix);
    ix->s = s;
    ix->entries = xmalloc((2 * s->nmembers + 1) * sizeof *ix->entries);
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *m = &s->members[i];
        if (!in_body(m)) continue;
        const char *wire = m->location_name ? m->location_name : m->name;
        add_entry(ix, wire, m);
        const char *elem = m->shape->element.location_name;
        if (m->shape->type == SHAPE_LIST && parse_xml_flattened(m) && elem && strcmp(elem, wire) != 0)
            add_entry(ix, elem, m);
        if (m->xml_attribute) ix->has_attributes = 1;
    }
    qsort(ix->entries, ix->n, sizeof *ix->entries, compare_entries);
    return ix;
}

static size_t ptr_hash(const void *p)
{
    size_t h = (size_t)p;
    return (h >> 4) ^ (h >> 12) ^ (h >> 20);
}

static void cache_put(index_cache *t, shape_index *ix)
{
    size_t i = ptr_hash(ix->s) & (t->cap - 1);
    while (t->slots[i]) i = (i + 1) & (t->cap - 1);
    t->slots[i] = ix;
    t->len++;
}

shape_index *shape_index_get(parse_ctx *c, const shape *s)
{
    index_cache *t = cache_of(c);
    for (size_t i = ptr_hash(s) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (t->slots[i]->s == s) return t->slots[i];
    if (2 * (t->len + 1) > t->cap) {              /* grow, keeping the load under 1/2 */
        index_cache old = *t;
        t->cap *= 2;
        t->len = 0;
        t->slots = xcalloc(t->cap, sizeof *t->slots);
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i]) cache_put(t, old.slots[i]);
        free(old.slots);
    }
    shape_index *ix = build_index(s);
    cache_put(t, ix);
    return ix;
}

const member *shape_index_find(const shape_index *ix, const char *name, size_t len)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const index_entry *e = &ix->entries[mid];
        int cmp = e->len != len ? (e->len < len ? -1 : 1) : memcmp(e->name, name, len);
        if (cmp == 0) return e->m;
        if (cmp < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

int parse_xml_flattened(const member *m)
{
    shape_type t = m->shape->type;
    return (t == SHAPE_LIST || t == SHAPE_MAP) && (m->flattened || m->shape->flattened);
}

/* ---- messages ---- */

const char *parse_service_label(const parse_ctx *c)
{
    if (!c->m) return "AWS";
    if (c->m->service_id) return c->m->service_id;
    return c->m->service ? c->m->service : "?";
}

int parse_fail(parse_ctx *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s %s: %s", parse_service_label(c), c->op ? c->op->name : "?", msg);
    return -1;
}

/* ---- scalars ---- */

int parse_push_timestamp(lua_State *L, double t)
{
    char out[TIMESTAMP_MAX];
    if (!(t >= -62135596800.0 && t <= 253402300799.0)) return 0;   /* also NaN */
    timestamp_format_output(t, out);
    lua_pushstring(L, out);
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

/* Copies a short token into out as a C string; 0 if it does not fit. */
static int copy_token(const char *s, size_t n, char *out, size_t size)
{
    if (n == 0 || n >= size) return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

static int push_integer_text(lua_State *L, const char *s, size_t n)
{
    char tok[64], *end;
    if (!copy_token(s, n, tok, sizeof tok)) return 0;
    errno = 0;
    long long v = strtoll(tok, &end, 10);
    if (*end == '\0' && errno == 0) {
        lua_pushinteger(L, (lua_Integer)v);
        return 1;
    }
    double d = strtod(tok, &end);               /* "1.0", "1e3" */
    if (*end != '\0' || !isfinite(d)) return 0;
    if (d == floor(d) && fabs(d) < 9.2e18) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
    return 1;
}

static int push_float_text(lua_State *L, const char *s, size_t n)
{
    char tok[64], *end;
    if (!copy_token(s, n, tok, sizeof tok)) return 0;
    if (strcmp(tok, "NaN") == 0 || strcmp(tok, "Infinity") == 0 || strcmp(tok, "-Infinity") == 0) {
        lua_pushstring(L, tok);                 /* JSON has no NaN: keep the wire spelling */
        return 1;
    }
    double d = strtod(tok, &end);
    if (*end != '\0' || !isfinite(d)) return 0;
    lua_pushnumber(L, d);
    return 1;
}

int parse_push_scalar(lua_State *L, const shape *sh, const char *text, size_t n)
{
    char tok[64];
    double t;
    if (sh->type == SHAPE_STRING) {
        lua_pushlstring(L, text, n);
        return 1;
    }
    trim(&text, &n);
    switch (sh->type) {
    case SHAPE_BLOB:                            /* base64 stays base64, without line breaks */
        if (memchr(text, '\n', n) || memchr(text, ' ', n) || memchr(text, '\r', n)) {
            luaL_Buffer b;
            luaL_buffinitsize(L, &b, n);
            for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char)text[i])) luaL_addchar(&b, text[i]);
            luaL_pushresult(&b);
        } else {
            lua_pushlstring(L, text, n);
        }
        return 1;
    case SHAPE_INTEGER:
    case SHAPE_LONG:
        return push_integer_text(L, text, n);
    case SHAPE_FLOAT:
    case SHAPE_DOUBLE:
        return push_float_text(L, text, n);
    case SHAPE_BOOLEAN:
        if (n == 4 && strncasecmp(text, "true", 4) == 0) lua_pushboolean(L, 1);
        else if (n == 5 && strncasecmp(text, "false", 5) == 0) lua_pushboolean(L, 0);
        else return 0;
        return 1;
    case SHAPE_TIMESTAMP:
        if (!copy_token(text, n, tok, sizeof tok) || timestamp_parse(tok, &t) < 0) return 0;
        return parse_push_timestamp(L, t);
    default:
        return 0;
    }
}

/* ---- base64 (jsonvalue headers) ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 (padding optional) into out; -1 on a bad character. */
static int base64_decode(const char *s, size_t n, buf *out)
{
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '=' || isspace(ch)) continue;
        int v = b64_value(ch);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    return 0;
}

/* ---- rest-* bindings outside the body ---- */

/* Header lists are comma-separated; items may be "quoted" (with \" and \\
 * escapes), and an RFC 822 date has a comma of its own ("Mon, 16 Dec ..."),
 * so a bare weekday joins the piece after it when the items are dates. */
static void push_header_list(parse_ctx *c, const shape *list, const char *v)
{
    lua_State *L = c->L;
    const shape *el = list->element.shape;
    luajson_new_array(L, 0);
    lua_Integer n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        buf_clear(&c->text);
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                buf_putc(&c->text, *p);
            }
            if (*p == '"') p++;
            while (*p && *p != ',') p++;
        } else {
            const char *start = p;
            while (*p && *p != ',') p++;
            if (el->type == SHAPE_TIMESTAMP && *p == ',' && p - start <= 3) {
                for (p++; *p && *p != ','; p++) {}
            }
            size_t len = (size_t)(p - start);
            trim(&start, &len);
            buf_append(&c->text, start, len);
        }
        if (*p == ',') p++;
        if (parse_push_scalar(L, el, buf_cstr(&c->text), c->text.len)) lua_rawseti(L, -2, ++n);
    }
}

/* Pushes the value of one header-bound member; 0 when it yields none. */
static int push_header_value(parse_ctx *c, const member *mb, const char *v)
{
    lua_State *L = c->L;
    const shape *s = mb->shape;
    if (s->type == SHAPE_LIST) {
        push_header_list(c, s, v);
        return 1;
    }
    if (s->type == SHAPE_STRING && (mb->json_value || s->document)) {
        buf json = {0};
        char jerr[64];
        int ok = base64_decode(v, strlen(v), &json) == 0 &&
                 luajson_decode(L, buf_cstr(&json), json.len, 0, jerr, sizeof jerr) == 0;
        buf_free(&json);
        if (ok) return 1;
        lua_pushstring(L, v);                 /* not base64 JSON after all: keep it */
        return 1;
    }
    return parse_push_scalar(L, s, v, strlen(v));
}

static void push_prefixed_headers(parse_ctx *c, const member *mb, const http_headers *h)
{
    lua_State *L = c->L;
    const char *prefix = mb->location_name ? mb->location_name : "";
    size_t plen = strlen(prefix);
    const shape *vs = mb->shape->type == SHAPE_MAP ? mb->shape->value.shape : NULL;
    lua_newtable(L);
    for (size_t i = 0; vs && i < h->len; i++) {
        const http_header *hd = &h->items[i];
        if (strncasecmp(hd->name, prefix, plen) != 0) continue;
        lua_pushstring(L, hd->name + plen);              /* the rest of the name, as received */
        if (parse_push_scalar(L, vs, hd->value, strlen(hd->value))) lua_rawset(L, -3);
        else lua_pop(L, 1);
    }
}

/* Sets the header, prefixed-header and status-code members of s into the
 * table at idx. */
static void bind_rest_outputs(parse_ctx *c, const shape *s, const http_response *r, int idx)
{
    lua_State *L = c->L;
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        const char *wire = mb->location_name ? mb->location_name : mb->name;
        const char *v;
        switch (mb->location) {
        case LOC_HEADER:
            if (!(v = headers_get(&r->headers, wire))) continue;
            if (!push_header_value(c, mb, v)) continue;
            break;
        case LOC_HEADERS:
            push_prefixed_headers(c, mb, &r->headers);
            break;
        case LOC_STATUS_CODE:
            lua_pushinteger(L, (lua_Integer)r->status);
            break;
        default:
            continue;
        }
        lua_setfield(L, idx, mb->name);
    }
}

/* ---- bodies ---- */

static int is_blank(const buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!isspace((unsigned char)b->data[i])) return 0;
    return 1;
}

static const member *find_member(const shape *s, const char *name)
{
    for (size_t i = 0; name && i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0) return &s->members[i];
    return NULL;
}

/* A body (not a payload member) as structure s, into the table at idx. */
static int parse_body_into(parse_ctx *c, const buf *body, const shape *s, int idx)
{
    if (is_blank(body)) return 0;
    switch (c->m->protocol) {
    case PROTO_QUERY: {
        char wrapper[256];
        if (c->op->result_wrapper) snprintf(wrapper, sizeof wrapper, "%s", c->op->result_wrapper);
        else snprintf(wrapper, sizeof wrapper, "%sResult", c->op->name);
        return xml_parse_into(c, body->data, body->len, s, XML_ROOT_WRAPPED, wrapper, idx);
    }
    case PROTO_EC2:
    case PROTO_REST_XML:
        return xml_parse_into(c, body->data, body->len, s, XML_ROOT_SHAPE, NULL, idx);
    case PROTO_JSON:
    case PROTO_REST_JSON:
        return json_parse_value(c, body->data, body->len, s, idx, NULL);
    }
    return 0;
}

/* The member named by the output's "payload": a raw blob/string, or a
 * structure (or document) that is the whole body. Absent when the body is. */
static int parse_payload(parse_ctx *c, const member *pm, const buf *body, int idx)
{
    lua_State *L = c->L;
    const shape *ps = pm->shape;
    if (body->len == 0 || ps->event_stream) return 0;
    if (ps->type == SHAPE_BLOB || ps->type == SHAPE_STRING) {
        lua_pushlstring(L, body->data, body->len);
    } else if (is_blank(body)) {
        return 0;
    } else if (c->m->protocol == PROTO_REST_XML) {
        if (ps->type != SHAPE_STRUCTURE) return 0;
        lua_newtable(L);
        if (xml_parse_into(c, body->data, body->len, ps, XML_ROOT_SHAPE, NULL, lua_gettop(L)) < 0)
            return -1;
    } else {
        int pushed = 0;
        if (json_parse_value(c, body->data, body->len, ps, 0, &pushed) < 0) return -1;
        if (!pushed) return 0;
    }
    lua_setfield(L, idx, pm->name);
    return 0;
}

static int parse_output(parse_ctx *c, const shape *out, const http_response *r, int idx)
{
    int rest = c->m->protocol == PROTO_REST_JSON || c->m->protocol == PROTO_REST_XML;
    if (!rest) return parse_body_into(c, &r->body, out, idx);
    bind_rest_outputs(c, out, r, idx);
    const member *pm = find_member(out, out->payload);
    if (pm) return parse_payload(c, pm, &r->body, idx);
    return parse_body_into(c, &r->body, out, idx);
}

/* ---- running a parse under lua_pcall ---- */

typedef struct parse_job {
    parse_ctx c;
    const http_response *resp;
    const shape *shape;       /* output or error shape */
    int error_mode;           /* parsing the modeled members of an error */
    int rc;
} parse_job;

static int parse_error_body_into(parse_ctx *c, const shape *s, const buf *body, int idx)
{
    if (is_blank(body)) return 0;
    if (c->m->protocol == PROTO_JSON || c->m->protocol == PROTO_REST_JSON)
        return json_parse_value(c, body->data, body->len, s, idx, NULL);
    return xml_parse_into(c, body->data, body->len, s, XML_ROOT_ERROR, NULL, idx);
}

static int run_job(lua_State *L)
{
    parse_job *job = lua_touserdata(L, 1);
    lua_newtable(L);
    int idx = lua_gettop(L);
    if (!job->shape) {
        job->rc = 0;
    } else if (!job->error_mode) {
        job->rc = parse_output(&job->c, job->shape, job->resp, idx);
    } else {
        job->rc = parse_error_body_into(&job->c, job->shape, &job->resp->body, idx);
        if (job->rc == 0 && (job->c.m->protocol == PROTO_REST_JSON || job->c.m->protocol == PROTO_REST_XML))
            bind_rest_outputs(&job->c, job->shape, job->resp, idx);
    }
    lua_settop(L, idx);
    return 1;
}

/* Bodies from this size up are parsed with the collector paused. */
#define PAUSE_GC_FROM (64 * 1024)

/* Runs job protected; on success leaves the result table pushed.
 *
 * For a large body the collector is paused meanwhile: a parse allocates
 * almost nothing but the result itself, and a collector running during the
 * build would traverse the growing result again and again for no garbage
 * (on a 20 MB DescribeInstances page that is a third of the time). Not for
 * a small one: resuming the collector (LUA_GCRESTART) sets its debt to zero,
 * so the next allocation runs a collection, and after every small answer
 * that was a young collection per API call -- a third of the collector's
 * time in a 10k-resource scan, and objects that live a little longer (a
 * page being worked on) promoted to old, to wait for a major collection. */
static int run_protected(lua_State *L, parse_job *job)
{
    int top = lua_gettop(L);
    int gc_was_running = job->resp->body.len >= PAUSE_GC_FROM && lua_gc(L, LUA_GCISRUNNING);
    job->rc = -1;
    lua_pushcfunction(L, run_job);
    lua_pushlightuserdata(L, job);
    if (gc_was_running) lua_gc(L, LUA_GCSTOP);
    int status = lua_pcall(L, 1, 1, 0);
    if (gc_was_running) lua_gc(L, LUA_GCRESTART);
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        parse_fail(&job->c, "cannot build the result: %s", msg ? msg : "Lua error");
        job->rc = -1;
    }
    if (job->rc != 0) lua_settop(L, top);
    parse_ctx_free(&job->c);
    return job->rc;
}

int protocol_parse(lua_State *L, const aws_model *m, const operation *op,
                   const http_response *resp, char *err, size_t errlen)
{
    parse_job job = { .resp = resp, .shape = op->output };
    parse_ctx_init(&job.c, L, m, op, err, errlen);
    return run_protected(L, &job);
}

/* ---- errors ---- */

static void copy_str(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "aws.protocoltests#FooError:http://internal..." -> "FooError" */
static void strip_json_code(char *code)
{
    char *hash = strrchr(code, '#');
    if (hash) memmove(code, hash + 1, strlen(hash + 1) + 1);
    char *colon = strchr(code, ':');
    if (colon) *colon = '\0';
}

static const char *first_header(const http_headers *h, const char *const *names)
{
    for (; *names; names++) {
        const char *v = headers_get(h, *names);
        if (v && *v) return v;
    }
    return NULL;
}

static void json_error(const aws_model *m, const http_response *resp, aws_error *out, int *parsed)
{
    char code[sizeof out->code] = "";
    if (!is_blank(&resp->body) &&
        json_error_fields(resp->body.data, resp->body.len, code, sizeof code, out->message,
                          sizeof out->message) == 0)
        *parsed = 1;
    const char *hdr = headers_get(&resp->headers, "x-amzn-ErrorType");
    if (hdr && *hdr && (m->protocol == PROTO_REST_JSON || !code[0]))
        copy_str(code, sizeof code, hdr, strlen(hdr));  /* rest-json: the header wins */
    strip_json_code(code);
    copy_str(out->code, sizeof out->code, code, strlen(code));
    const char *qe = m->query_compatible ? headers_get(&resp->headers, "x-amzn-query-error") : NULL;
    if (qe && *qe) {                                      /* "AWS.SimpleQueueService.X;Sender" */
        const char *semi = strchr(qe, ';');
        copy_str(out->code, sizeof out->code, qe, semi ? (size_t)(semi - qe) : strlen(qe));
    }
}

/* A printable excerpt of a body nobody could parse, for the message. */
static void body_excerpt(const buf *b, char *out, size_t size)
{
    size_t n = 0;
    const char *prefix = "unparseable error response: ";
    size_t plen = strlen(prefix);
    if (size <= plen + 4) return;
    memcpy(out, prefix, plen);
    n = plen;
    for (size_t i = 0; i < b->len && i < 200 && n + 4 < size; i++) {
        unsigned char ch = (unsigned char)b->data[i];
        out[n++] = (char)(ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
    if (b->len > 200 && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

void protocol_parse_error(const aws_model *m, const http_response *resp, aws_error *out)
{
    static const char *const request_id_headers[] = { "x-amzn-RequestId", "x-amz-request-id",
                                                      "x-amzn-request-id", NULL };
    memset(out, 0, sizeof *out);
    out->status = resp->status;
    const char *rid = first_header(&resp->headers, request_id_headers);
    if (rid) copy_str(out->request_id, sizeof out->request_id, rid, strlen(rid));

    int parsed = 0;
    if (m->protocol == PROTO_JSON || m->protocol == PROTO_REST_JSON) {
        json_error(m, resp, out, &parsed);
    } else if (!is_blank(&resp->body)) {
        parsed = xml_error_fields(resp->body.data, resp->body.len, out) == 0;
    }
    /* A body without a code (a proxy's HTML page, a bare 503) is described by
     * the status, and an excerpt of it serves as the message. */
    if (!out->code[0] && resp->status) {
        snprintf(out->code, sizeof out->code, "HTTP %ld", resp->status);
        parsed = 0;
    }
    if (!parsed && !out->message[0] && !is_blank(&resp->body))
        body_excerpt(&resp->body, out->message, sizeof out->message);
}

static const shape *error_shape(const operation *op, const char *code)
{
    for (shape **e = op->errors; e && *e; e++) {
        const char *c = (*e)->error_code ? (*e)->error_code : (*e)->name;
        if (strcmp(c, code) == 0 || strcmp((*e)->name, code) == 0) return *e;
    }
    return NULL;
}

int protocol_parse_error_fields(lua_State *L, const aws_model *m, const operation *op,
                                const http_response *resp, const aws_error *e, char *err,
                                size_t errlen)
{
    const shape *s = error_shape(op, e->code);
    if (errlen) err[0] = '\0';
    if (!s) return 0;
    parse_job job = { .resp = resp, .shape = s, .error_mode = 1 };
    parse_ctx_init(&job.c, L, m, op, err, errlen);
    return run_protected(L, &job) < 0 ? -1 : 1;
}
