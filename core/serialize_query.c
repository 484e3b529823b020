/* serialize_query.c -- the query and ec2 protocols.
 *
 * Both send a form-encoded POST body, "Action=Op&Version=2016-11-15&" plus
 * one pair per scalar, whose key is the path to it:
 *   Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-123          (ec2)
 *   Tags.member.1.Key=env&Attributes.entry.1.key=Policy     (query)
 * They differ in naming and in lists, as botocore implements them:
 *   query  names are locationName or the member name; lists are
 *          Name.member.N (the member's locationName replaces "member"), or
 *          Name.N when flattened; an empty list is sent as "Name=";
 *          maps are Name.entry.N.key / .value (Name.N.key when flattened).
 *   ec2    names are queryName, else locationName or the member name with
 *          the first letter upper-cased; every list is Name.N; an empty
 *          list is left out.
 * Timestamps go as ISO-8601 unless the model says otherwise.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#include "serialize.h"

typedef struct form {
    ser_ctx *c;
    int ec2;
    buf key;     /* the key path being built, e.g. "Filter.1.Value" */
    buf body;
} form;

static int form_value(form *f, int idx, const member *mb);

static void key_truncate(form *f, size_t len)
{
    f->key.len = len;
    if (f->key.data) f->key.data[len] = '\0';
}

static void key_segment(form *f, const char *s)
{
    if (f->key.len) buf_putc(&f->key, '.');
    buf_puts(&f->key, s);
}

static void key_index(form *f, lua_Integer i)
{
    buf_printf(&f->key, ".%lld", (long long)i);
}

static void put_pair(form *f, const char *value, size_t n)
{
    buf_putc(&f->body, '&');
    uri_encode(&f->body, f->key.data, f->key.len, 0);
    buf_putc(&f->body, '=');
    uri_encode(&f->body, value, n, 0);
}

/* The key segment of a structure member. */
static void member_segment(form *f, const member *mb)
{
    if (!f->ec2) {
        key_segment(f, ser_wire_name(mb));
    } else if (mb->query_name) {
        key_segment(f, mb->query_name);
    } else {
        size_t at = f->key.len + (f->key.len ? 1 : 0);
        key_segment(f, ser_wire_name(mb));
        f->key.data[at] = (char)toupper((unsigned char)f->key.data[at]);
    }
}

static int form_structure(form *f, int idx, const shape *s)
{
    for (size_t i = 0; i < s->nmembers; i++) {
        const member *mb = &s->members[i];
        if (!ser_push_member(f->c, idx, mb)) continue;
        size_t path = ser_path_member(f->c, mb->name), key = f->key.len;
        member_segment(f, mb);
        int rc = form_value(f, lua_gettop(f->c->L), mb);
        key_truncate(f, key);
        ser_path_pop(f->c, path);
        lua_pop(f->c->L, 1);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Where the indexes of a list go: "Name.member" / "Name" (see the top). A
 * flattened list whose element has a locationName is named after it
 * (SQS's AttributeName.1), unless the member itself was renamed. */
static void list_prefix(form *f, const member *mb)
{
    const member *el = &mb->shape->element;
    if (f->ec2) return;
    if (mb->flattened || mb->shape->flattened) {
        if (mb->name && !mb->location_name && el->location_name) {
            char *dot = memrchr(f->key.data, '.', f->key.len);
            key_truncate(f, dot ? (size_t)(dot - f->key.data) : 0);
            key_segment(f, el->location_name);
        }
        return;
    }
    buf_putc(&f->key, '.');
    buf_puts(&f->key, el->location_name ? el->location_name : "member");
}

static int form_list(form *f, int idx, const member *mb)
{
    lua_Integer n;
    if (ser_list_length(f->c, idx, &n) < 0) return -1;
    if (n == 0) {
        if (!f->ec2) put_pair(f, "", 0);   /* query sends empty lists; ec2 does not */
        return 0;
    }
    list_prefix(f, mb);
    size_t base = f->key.len;
    for (lua_Integer i = 1; i <= n; i++) {
        key_index(f, i);
        size_t path = ser_path_index(f->c, i);
        lua_rawgeti(f->c->L, idx, i);
        int rc = ser_absent(f->c->L, -1) ? 0 : form_value(f, lua_gettop(f->c->L), &mb->shape->element);
        lua_pop(f->c->L, 1);
        ser_path_pop(f->c, path);
        key_truncate(f, base);
        if (rc < 0) return -1;
    }
    return 0;
}

/* One map entry: Name.entry.N.key=k and Name.entry.N.value... */
static int form_entry(form *f, int map, const shape *s, const char *k)
{
    size_t base = f->key.len;
    key_segment(f, s->key.location_name ? s->key.location_name : "key");
    put_pair(f, k, strlen(k));
    key_truncate(f, base);
    lua_getfield(f->c->L, map, k);
    int rc = 0;
    if (!ser_absent(f->c->L, -1)) {
        size_t path = ser_path_key(f->c, k);
        key_segment(f, s->value.location_name ? s->value.location_name : "value");
        rc = form_value(f, lua_gettop(f->c->L), &s->value);
        ser_path_pop(f->c, path);
    }
    lua_pop(f->c->L, 1);
    key_truncate(f, base);
    return rc;
}

static int form_map(form *f, int idx, const member *mb)
{
    lua_Integer n;
    if (ser_map_keys(f->c, idx, &n) < 0) return -1;
    int keys = lua_gettop(f->c->L);
    if (!(mb->flattened || mb->shape->flattened)) buf_puts(&f->key, ".entry");
    size_t base = f->key.len;
    int rc = 0;
    for (lua_Integer i = 1; i <= n && rc == 0; i++) {
        key_index(f, i);
        lua_rawgeti(f->c->L, keys, i);
        rc = form_entry(f, idx, mb->shape, lua_tostring(f->c->L, -1));
        lua_pop(f->c->L, 1);
        key_truncate(f, base);
    }
    lua_pop(f->c->L, 1);
    return rc;
}

static int form_scalar(form *f, int idx, const member *mb)
{
    buf text = {0};
    int rc = ser_scalar_text(f->c, idx, mb, "iso8601", &text);
    if (rc == 0) put_pair(f, buf_cstr(&text), text.len);
    buf_free(&text);
    return rc;
}

static int form_value(form *f, int idx, const member *mb)
{
    if (ser_enter(f->c) < 0) return -1;
    int rc;
    switch (mb->shape->type) {
    case SHAPE_STRUCTURE:
        rc = ser_check_structure(f->c, idx, mb->shape);
        if (rc == 0) rc = form_structure(f, idx, mb->shape);
        break;
    case SHAPE_LIST:
        rc = form_list(f, idx, mb);
        break;
    case SHAPE_MAP:
        rc = form_map(f, idx, mb);
        break;
    default:
        rc = form_scalar(f, idx, mb);
    }
    ser_leave(f->c);
    return rc;
}

int serialize_query(ser_ctx *c, int idx, http_request *req)
{
    form f = { c, c->m->protocol == PROTO_EC2, {0}, {0} };
    buf_puts(&f.body, "Action=");
    uri_encode(&f.body, c->op->name, strlen(c->op->name), 0);
    buf_puts(&f.body, "&Version=");
    const char *version = c->m->api_version ? c->m->api_version : "";
    uri_encode(&f.body, version, strlen(version), 0);
    int rc = idx ? form_structure(&f, idx, c->op->input) : 0;
    if (rc == 0) {
        request_set(&req->method, c->op->http_method);
        request_set(&req->path, c->op->request_uri);
        /* botocore's exact header; AWS accepts it and signatures cover it. */
        headers_set(&req->headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        buf_clear(&req->body);
        buf_append(&req->body, f.body.data, f.body.len);
    }
    buf_free(&f.key);
    buf_free(&f.body);
    return rc;
}
