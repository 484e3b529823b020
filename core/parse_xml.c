/* parse_xml.c -- XML response bodies (query, ec2, rest-xml) into Lua tables.
 *
 * xml_scan.c reads the body as a stream of start / text / end events, and we
 * build the Lua values as the events arrive, walking the output shape at the
 * same time: there is no DOM in between. A 10 MB DescribeInstances page thus
 * costs one pass and the Lua tables it produces, nothing more.
 *
 * The walk keeps a stack of frames, one per open element. A frame knows the
 * shape of the value the element holds, what kind of element it is (a
 * structure, a list or map wrapper, a map entry, a scalar, something we
 * skip), where its table sits on the Lua stack, and how its finished value
 * goes into its parent (dest). The Lua stack mirrors the frames: an open
 * structure / list / map has its table pushed; a scalar pushes its value
 * only when its element ends, from the text gathered in the shared text buffer.
 *
 *   <Reservation>              F_STRUCT  table pushed
 *     <groupSet>               F_LIST    array pushed, dest D_FIELD
 *       <item>                 F_STRUCT  table pushed, dest D_ITEM
 *         <groupId>sg-1</..>   F_SCALAR  "sg-1" pushed at its end, set as GroupId
 *
 * A flattened list has no wrapper: its items are repeated elements of the
 * structure itself. The list is fetched from (or created in) the structure
 * and pushed under the item's frame (dest D_FLAT); flattened maps do the same
 * with their entries. Map entries collect their key and value on the Lua
 * stack and store the pair when the entry ends.
 *
 * xml_scan.c checks that the document is well-formed XML; here only its
 * meaning is looked at.
 *
 * Element names are matched without their namespace prefix; namespaces are
 * otherwise ignored, as are unknown elements (skipped with their children).
 */
#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "luajson.h"
#include "parse_internal.h"
#include "xml_scan.h"

#define MAX_DEPTH 512

typedef enum frame_kind {
    F_STRUCT, F_LIST, F_MAP, F_ENTRY, F_SCALAR, F_SKIP,
    F_WRAP       /* an element around the result: <OpResponse>, <Errors>, ... */
} frame_kind;

typedef enum frame_dest {
    D_NONE,
    D_FIELD,     /* parent structure: t[member name] = value */
    D_ITEM,      /* parent list wrapper: append */
    D_FLAT,      /* flattened list pushed just above base: append */
    D_KEY,       /* parent map entry: the key */
    D_VALUE,     /* parent map entry: the value */
    D_ROOT,      /* the result table (given by the caller, never pushed by us) */
    D_ROOT_FIELD /* a scalar root element that is a member: result[member name] = value */
} frame_dest;

typedef struct xframe {
    const shape *shape;       /* structure / list / map / scalar shape; map shape for entries */
    const member *mem;        /* the member this element is (D_FIELD, D_FLAT) */
    shape_index *idx;         /* F_STRUCT: member lookup */
    unsigned char kind, dest;
    int base;                 /* Lua stack top before this element pushed anything */
    int tab;                  /* F_STRUCT/F_LIST/F_MAP: its table; F_ENTRY: the map */
    lua_Integer n;            /* F_LIST: items so far; F_STRUCT: members set */
    int key, val;             /* F_ENTRY: stack slots of key and value, 0 = not seen */
} xframe;

typedef struct xml_parser {
    parse_ctx *c;
    lua_State *L;
    xml_scanner scan;
    xframe *frames;
    size_t depth, cap;
    const shape *root_shape;
    xml_root root;
    const char *wrapper;      /* XML_ROOT_WRAPPED: the result element */
    int into;                 /* the table the root structure fills */
    int failed;               /* c->err already says why */
} xml_parser;

/* name[0..*len) without its namespace prefix; *len becomes the local part's length. */
static const char *local_name(const char *name, size_t *len)
{
    const char *colon = memrchr(name, ':', *len);
    if (!colon) return name;
    *len -= (size_t)(colon + 1 - name);
    return colon + 1;
}

/* A numeric member whose text parse_push_scalar could not use (99999999999999999999
 * for an integer, 1e999): left out, the field would be missing without a word. */
static int unusable_number(const shape *sh, const buf *text)
{
    if (sh->type != SHAPE_INTEGER && sh->type != SHAPE_LONG && sh->type != SHAPE_FLOAT && sh->type != SHAPE_DOUBLE)
        return 0;
    for (size_t i = 0; i < text->len; i++)
        if (!isspace((unsigned char)text->data[i])) return 1;
    return 0;
}

static void fail(xml_parser *x, const char *msg)
{
    if (x->failed) return;
    x->failed = 1;
    parse_fail(x->c, "XML response at line %lu: %s", xml_scan_line(&x->scan), msg);
}

/* The element's attributes, as the start tag gave them. */
typedef struct xml_atts {
    const xml_attr *a;
    size_t n;
} xml_atts;

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Sets the xmlAttribute members of f's structure from the element's attributes:
 * an attribute matches by its full name, or else by its local part. */
static void read_attributes(xml_parser *x, xframe *f, xml_atts atts)
{
    const shape *s = f->shape;
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *m = &s->members[i];
        if (!m->xml_attribute) continue;
        const char *want = m->location_name ? m->location_name : m->name;
        size_t want_len = strlen(want), want_local_len = want_len;
        const char *want_local = local_name(want, &want_local_len);
        for (const xml_attr *a = atts.a; a < atts.a + atts.n; a++) {
            size_t local_len = a->name_len;
            const char *local = local_name(a->name, &local_len);
            if (!same_name(a->name, a->name_len, want, want_len) &&
                !same_name(local, local_len, want_local, want_local_len)) continue;
            if (parse_push_scalar(x->L, m->shape, a->value, a->value_len)) lua_setfield(x->L, f->tab, m->name);
            break;
        }
    }
}

static void open_struct(xml_parser *x, xframe *f, const shape *s, xml_atts atts)
{
    f->kind = F_STRUCT;
    f->shape = s;
    f->idx = shape_index_get(x->c, s);
    if (f->dest == D_ROOT) {
        f->tab = x->into;
    } else {
        lua_createtable(x->L, 0, f->idx->size_hint);
        f->tab = lua_gettop(x->L);
    }
    if (f->idx->has_attributes) read_attributes(x, f, atts);
}

/* Opens the frame of an element holding a value of shape s. */
static void open_value(xml_parser *x, xframe *f, const shape *s, xml_atts atts)
{
    f->shape = s;
    if (!s) {
        f->kind = F_SKIP;
        return;
    }
    switch (s->type) {
    case SHAPE_STRUCTURE:
        if (s->document || s->event_stream) f->kind = F_SKIP;
        else open_struct(x, f, s, atts);
        return;
    case SHAPE_LIST:
        f->kind = F_LIST;
        luajson_new_array(x->L, 0);
        f->tab = lua_gettop(x->L);
        return;
    case SHAPE_MAP:
        f->kind = F_MAP;
        lua_newtable(x->L);
        f->tab = lua_gettop(x->L);
        return;
    default:
        f->kind = F_SCALAR;
        buf_clear(&x->c->text);
        return;
    }
}

/* Pushes t[name] of the structure at tab, creating it (array or not) if absent. */
static void push_member_table(lua_State *L, int tab, const char *name, int array)
{
    if (lua_getfield(L, tab, name) == LUA_TTABLE) return;
    lua_pop(L, 1);
    if (array) luajson_new_array(L, 0); else lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, tab, name);
}

static void open_member(xml_parser *x, xframe *f, const xframe *parent, const char *name, size_t len,
                        xml_atts atts)
{
    const member *m = shape_index_find(parent->idx, name, len);
    if (!m) {
        f->kind = F_SKIP;
        return;
    }
    f->mem = m;
    if (!parse_xml_flattened(m)) {
        f->dest = D_FIELD;
        open_value(x, f, m->shape, atts);
    } else if (m->shape->type == SHAPE_LIST) {
        push_member_table(x->L, parent->tab, m->name, 1);
        f->dest = D_FLAT;
        open_value(x, f, m->shape->element.shape, atts);
    } else {
        push_member_table(x->L, parent->tab, m->name, 0);
        f->kind = F_ENTRY;
        f->shape = m->shape;
        f->tab = lua_gettop(x->L);
    }
}

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

static void open_entry_part(xml_parser *x, xframe *f, const xframe *entry, const char *name, size_t len,
                            xml_atts atts)
{
    const shape *map = entry->shape;
    const char *kname = map->key.location_name ? map->key.location_name : "key";
    const char *vname = map->value.location_name ? map->value.location_name : "value";
    if (name_is(name, len, kname)) {
        f->dest = D_KEY;
        open_value(x, f, map->key.shape, atts);
    } else if (name_is(name, len, vname)) {
        f->dest = D_VALUE;
        open_value(x, f, map->value.shape, atts);
    } else {
        f->kind = F_SKIP;
    }
}

/* The root element, or a child of a wrapper around the result. */
static void open_outer(xml_parser *x, xframe *f, const char *name, size_t len, xml_atts atts)
{
    int at_root = x->depth == 1;
    if (x->root == XML_ROOT_SHAPE && at_root) {
        /* S3 GetBucketLocation answers <LocationConstraint>eu-west-1</LocationConstraint>:
         * the root element is a scalar member of the output, not the output. */
        const member *m = shape_index_find(shape_index_get(x->c, x->root_shape), name, len);
        if (m && m->shape->type != SHAPE_STRUCTURE && m->shape->type != SHAPE_LIST &&
            m->shape->type != SHAPE_MAP) {
            f->dest = D_ROOT_FIELD;
            f->mem = m;
            open_value(x, f, m->shape, atts);
            return;
        }
        f->dest = D_ROOT;
        open_struct(x, f, x->root_shape, atts);
    } else if (x->root == XML_ROOT_WRAPPED) {
        if (at_root) {
            f->kind = F_WRAP;
        } else if (name_is(name, len, x->wrapper)) {
            f->dest = D_ROOT;
            open_struct(x, f, x->root_shape, atts);
        } else {
            f->kind = F_SKIP;
        }
    } else if (x->root == XML_ROOT_ERROR) {
        if (name_is(name, len, "Error")) {
            f->dest = D_ROOT;
            open_struct(x, f, x->root_shape, atts);
        } else if (at_root || name_is(name, len, "Errors")) {
            f->kind = F_WRAP;
        } else {
            f->kind = F_SKIP;
        }
    } else {
        f->kind = F_SKIP;
    }
}

static int on_start(void *ud, const char *qname, size_t qlen, const xml_attr *attrs, size_t nattrs)
{
    xml_parser *x = ud;
    if (x->depth >= MAX_DEPTH || !lua_checkstack(x->L, 8)) {
        fail(x, "elements nested too deep");
        return 1;
    }
    if (x->depth == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 32;
        x->frames = xrealloc(x->frames, x->cap * sizeof *x->frames);
    }
    xframe *parent = x->depth ? &x->frames[x->depth - 1] : NULL;
    xframe *f = &x->frames[x->depth++];
    memset(f, 0, sizeof *f);
    f->base = lua_gettop(x->L);
    size_t len = qlen;
    const char *name = local_name(qname, &len);
    xml_atts atts = {attrs, nattrs};

    switch (parent ? parent->kind : F_WRAP) {
    case F_STRUCT:
        open_member(x, f, parent, name, len, atts);
        break;
    case F_LIST:            /* any child of a list wrapper is an item, whatever its name */
        f->dest = D_ITEM;
        open_value(x, f, parent->shape->element.shape, atts);
        break;
    case F_MAP:             /* likewise any child of a map wrapper is an entry */
        f->kind = F_ENTRY;
        f->shape = parent->shape;
        f->tab = parent->tab;
        break;
    case F_ENTRY:
        open_entry_part(x, f, parent, name, len, atts);
        break;
    case F_WRAP:
        open_outer(x, f, name, len, atts);
        break;
    default:                /* inside a scalar or a skipped element */
        f->kind = F_SKIP;
        break;
    }
    return x->failed;
}

static int on_text(void *ud, const char *s, size_t len)
{
    xml_parser *x = ud;
    if (x->depth && x->frames[x->depth - 1].kind == F_SCALAR) buf_append(&x->c->text, s, len);
    return 0;
}

/* Hands the finished value on the stack top to the parent frame. */
static void deliver(xml_parser *x, xframe *f, xframe *parent)
{
    lua_State *L = x->L;
    switch (f->dest) {
    case D_FIELD:
        lua_setfield(L, parent->tab, f->mem->name);
        parent->n++;
        break;
    case D_ITEM:
        lua_rawseti(L, parent->tab, ++parent->n);
        break;
    case D_FLAT:
        lua_rawseti(L, f->base + 1, (lua_Integer)lua_rawlen(L, f->base + 1) + 1);
        lua_settop(L, f->base);
        break;
    case D_KEY:
        parent->key = lua_gettop(L);
        break;
    case D_VALUE:
        parent->val = lua_gettop(L);
        break;
    case D_ROOT:
        break;
    case D_ROOT_FIELD:
        lua_setfield(L, x->into, f->mem->name);
        break;
    default:
        lua_settop(L, f->base);
        break;
    }
}

static int on_end(void *ud, const char *qname, size_t qlen)
{
    (void)qname;
    (void)qlen;
    xml_parser *x = ud;
    lua_State *L = x->L;
    xframe *f = &x->frames[--x->depth];
    xframe *parent = x->depth ? &x->frames[x->depth - 1] : NULL;
    switch (f->kind) {
    case F_SCALAR:     /* (an empty root scalar is absent: <LocationConstraint/> is us-east-1) */
        if (!(f->dest == D_ROOT_FIELD && x->c->text.len == 0) &&
            parse_push_scalar(L, f->shape, buf_cstr(&x->c->text), x->c->text.len)) {
            deliver(x, f, parent);
        } else {
            lua_settop(L, f->base);
            if (unusable_number(f->shape, &x->c->text)) fail(x, "a number out of range, or not a number");
        }
        break;
    case F_STRUCT:
        if (f->n > f->idx->size_hint) f->idx->size_hint = (int)f->n;
        deliver(x, f, parent);
        break;
    case F_LIST:
    case F_MAP:
        deliver(x, f, parent);
        break;
    case F_ENTRY:
        if (f->key && f->val) {
            lua_pushvalue(L, f->key);
            lua_pushvalue(L, f->val);
            lua_rawset(L, f->tab);
        }
        lua_settop(L, f->base);
        break;
    default:
        lua_settop(L, f->base);
        break;
    }
    return x->failed;
}

static const xml_events events = {on_start, on_text, on_end};

int xml_parse_into(parse_ctx *c, const char *body, size_t len, const shape *s, xml_root root,
                   const char *wrapper, int into)
{
    lua_State *L = c->L;
    int top = lua_gettop(L);
    xml_parser x = { .c = c, .L = L, .root_shape = s, .root = root, .wrapper = wrapper,
                     .into = lua_absindex(L, into) };
    int rc = 0;
    if (xml_scan(&x.scan, body, len, &events, &x) == XML_MALFORMED) {
        rc = parse_fail(c, "malformed XML response at line %lu: %s", xml_scan_line(&x.scan), x.scan.error);
    }
    if (x.failed) rc = -1;
    xml_scan_free(&x.scan);
    free(x.frames);
    lua_settop(L, top);
    return rc;
}

/* ---- the common fields of an XML error ----
 *
 *   query     <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *   ec2       <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 *   rest-xml  <ErrorResponse>... as query, or (S3) <Error><Code/><Message/><RequestId/></Error>
 *
 * Code and Message are taken from the first <Error>; the request id from the
 * <Error> or from the root, whichever comes. */

typedef struct err_scan {
    aws_error *out;
    int depth;
    unsigned long error_depths;   /* bit d set: the element at depth d is <Error> */
    int capture_depth;            /* element whose text we are reading, 0 = none */
    char *capture_to;
    size_t capture_size;
    buf text;
} err_scan;

static int err_start(void *ud, const char *qname, size_t qlen, const xml_attr *attrs, size_t nattrs)
{
    (void)attrs;
    (void)nattrs;
    err_scan *e = ud;
    size_t len = qlen;
    const char *name = local_name(qname, &len);
    e->depth++;
    e->capture_depth = 0;                         /* only leaf elements count */
    if (e->depth >= 64) return 0;
    int in_error = e->depth > 1 && (e->error_depths >> (e->depth - 1)) & 1;
    if (name_is(name, len, "Error")) e->error_depths |= 1UL << e->depth;
    char *to = NULL;
    size_t size = 0;
    if (in_error && name_is(name, len, "Code") && !e->out->code[0]) {
        to = e->out->code, size = sizeof e->out->code;
    } else if (in_error && name_is(name, len, "Message") && !e->out->message[0]) {
        to = e->out->message, size = sizeof e->out->message;
    } else if ((in_error || e->depth == 2) && !e->out->request_id[0] &&
               (name_is(name, len, "RequestId") || name_is(name, len, "RequestID"))) {
        to = e->out->request_id, size = sizeof e->out->request_id;
    }
    if (to) {
        e->capture_depth = e->depth;
        e->capture_to = to;
        e->capture_size = size;
        buf_clear(&e->text);
    }
    return 0;
}

static int err_text(void *ud, const char *s, size_t len)
{
    err_scan *e = ud;
    if (e->capture_depth == e->depth) buf_append(&e->text, s, len);
    return 0;
}

static int err_end(void *ud, const char *qname, size_t qlen)
{
    (void)qname;
    (void)qlen;
    err_scan *e = ud;
    if (e->capture_depth && e->capture_depth == e->depth) {
        size_t n = e->text.len < e->capture_size ? e->text.len : e->capture_size - 1;
        memcpy(e->capture_to, buf_cstr(&e->text), n);
        e->capture_to[n] = '\0';
        e->capture_depth = 0;
    }
    if (e->depth < 64) e->error_depths &= ~(1UL << e->depth);
    e->depth--;
    return 0;
}

static const xml_events err_events = {err_start, err_text, err_end};

int xml_error_fields(const char *body, size_t len, aws_error *out)
{
    err_scan e = { .out = out };
    xml_scanner scan = {0};
    int rc = xml_scan(&scan, body, len, &err_events, &e) == XML_DONE ? 0 : -1;
    xml_scan_free(&scan);
    buf_free(&e.text);
    return rc;
}
